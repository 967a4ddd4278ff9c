package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHelpExitsZero: "modelvet help" exits 0, so "modelvet COMMAND -h"
// must too (a script that prints help is not a failure), and the usage
// must go out; a flag that does not exist stays a usage error.
func TestHelpExitsZero(t *testing.T) {
	for _, name := range []string{"scan", "verify", "sign", "hash", "attest", "check", "serve"} {
		for _, h := range []string{"-h", "--help"} {
			t.Run(name+" "+h, func(t *testing.T) {
				code, _, errOut := runCLI(t, name, h)
				if code != exitOK {
					t.Fatalf("exit %d, want 0\n%s", code, errOut)
				}
				if !strings.Contains(errOut, "usage: modelvet "+name) {
					t.Errorf("no usage line:\n%s", errOut)
				}
			})
		}
	}
	t.Run("attestation verify -h", func(t *testing.T) {
		if code, _, errOut := runCLI(t, "attestation", "verify", "-h"); code != exitOK {
			t.Fatalf("exit %d, want 0\n%s", code, errOut)
		}
	})
	t.Run("help COMMAND shows that command's flags", func(t *testing.T) {
		code, _, errOut := runCLI(t, "help", "scan")
		if code != exitOK || !strings.Contains(errOut, "usage: modelvet scan") || !strings.Contains(errOut, "-fail-on") {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
	})
	t.Run("unknown flag is still a usage error", func(t *testing.T) {
		if code, _, _ := runCLI(t, "scan", "--bogus", "."); code != exitUsage {
			t.Fatalf("exit %d, want 2", code)
		}
	})
}

// TestUsageMistakesSayWhatToDo: plausible mistakes a new user makes get
// exit 2 and a message naming the flag or argument at fault.
func TestUsageMistakesSayWhatToDo(t *testing.T) {
	examples := filepath.Join("..", "..", "testdata", "examples")
	clean := filepath.Join(examples, "clean-model")
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"allow without a name can never match", []string{"scan", "--allow", "sklearn", clean}, "did you mean sklearn.*"},
		{"allow with an empty part", []string{"scan", "--allow", "numpy..dtype", clean}, "empty part"},
		{"allow with a star in the middle", []string{"scan", "--allow", "torch.*.x", clean}, "last part"},
		{"allow with a space", []string{"scan", "--allow", "numpy. dtype", clean}, "spaces"},
		{"attest names each missing required flag", []string{"attest", clean, "--type", "slsa-v1"}, "missing --predicate, --key"},
		{"check takes one model", []string{"check", clean, examples}, "one MODEL at a time"},
		{"mixed trust methods name the flags", []string{"verify", clean, "--key", "a.pem", "--certificate-chain", "b.pem"}, "--key and --certificate-chain"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, c.args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want 2\n%s", code, errOut)
			}
			if !strings.Contains(errOut, c.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", c.wantErr, errOut)
			}
			if strings.Contains(errOut, "%!") || strings.Contains(errOut, "[key ") {
				t.Errorf("Go formatting noise in message:\n%s", errOut)
			}
		})
	}
}

// TestScanAcceptsWellFormedAllow: the documented --allow forms are accepted.
func TestScanAcceptsWellFormedAllow(t *testing.T) {
	clean := filepath.Join("..", "..", "testdata", "examples", "clean-model")
	for _, a := range []string{"sklearn.*", "collections.OrderedDict", "torch._utils._rebuild_tensor_v2"} {
		if code, _, errOut := runCLI(t, "scan", "--allow", a, clean); code != exitOK {
			t.Errorf("--allow %s: exit %d\n%s", a, code, errOut)
		}
	}
}

// TestScanFormatIgnoresCase: --fail-on HIGH is accepted, so --format JSON
// must be too, and print JSON.
func TestScanFormatIgnoresCase(t *testing.T) {
	clean := filepath.Join("..", "..", "testdata", "examples", "clean-model")
	code, out, errOut := runCLI(t, "scan", "--format", "JSON", clean)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if !json.Valid([]byte(out)) {
		t.Fatalf("not JSON:\n%s", out)
	}
}

// TestScanEmptyFolderSaysSo: an empty folder passes (nothing to reject) but
// says on stderr that nothing was read, so a wrong path is noticed.
func TestScanEmptyFolderSaysSo(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "scan", dir)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "no files found in "+dir) {
		t.Errorf("stderr lacks the note:\n%s", errOut)
	}
	if !strings.Contains(out, "0 files, 0 findings") {
		t.Errorf("summary:\n%s", out)
	}
}

// TestSummaryIsGrammatical: "1 file, 1 finding", not "1 files, 1 findings".
func TestSummaryIsGrammatical(t *testing.T) {
	bin := filepath.Join("..", "..", "testdata", "examples", "malicious-model", "pytorch_model.bin")
	_, out, _ := runCLI(t, "scan", "--fail-on", "critical", bin)
	if !strings.Contains(out, ": 1 file, ") || strings.Contains(out, "1 files") {
		t.Errorf("summary line:\n%s", out)
	}
}

// TestCheckPolicyMissingTrustMaterialSaysWhatToDo: the README's example
// policy names a trusted_root.json beside it; when it is absent, check
// says where relative paths are read from and what to do.
func TestCheckPolicyMissingTrustMaterialSaysWhatToDo(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte("version: 1\nsignature:\n  required: true\n  keys: [publisher.pub]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	clean := filepath.Join("..", "..", "testdata", "examples", "clean-model")
	code, _, errOut := runCLI(t, "check", clean, "--policy", pol)
	if code != exitUsage {
		t.Fatalf("exit %d, want 2\n%s", code, errOut)
	}
	for _, want := range []string{"publisher.pub", "policy's own folder"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

// TestSignSaysWhenItReplacesASignature: signing one file of a signed folder
// writes model.sig beside it, over the folder's signature; that must be
// said, and a model that does not exist is a usage error (exit 2).
func TestSignSaysWhenItReplacesASignature(t *testing.T) {
	priv, _ := writeKeyPair(t)
	dir := newModelDir(t)
	code, out, errOut := runCLI(t, "sign", dir, "--key", priv)
	if code != exitOK || strings.Contains(errOut, "replaced") {
		t.Fatalf("first signature: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, " 1 resources") {
		t.Errorf("ungrammatical: %s", out)
	}
	one := filepath.Join(dir, "weights.safetensors") // newModelDir writes it
	code, _, errOut = runCLI(t, "sign", one, "--key", priv)
	if code != exitOK || !strings.Contains(errOut, "replaced the signature that was already in") {
		t.Errorf("second signature: exit %d, stderr:\n%s", code, errOut)
	}
	if code, _, _ := runCLI(t, "sign", filepath.Join(dir, "missing"), "--key", priv); code != exitUsage {
		t.Errorf("missing model: exit %d, want 2", code)
	}
}
