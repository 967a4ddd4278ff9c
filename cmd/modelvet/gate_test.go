package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/internal/onepass"
	"github.com/modelvet/modelvet/policy"
	"github.com/modelvet/modelvet/verify"
)

// TestSignatureRequiredSemantics: with required: false an absent
// signature is judged on the scan alone (with a note), and a present one
// must verify, whatever is wrong with it.
func TestSignatureRequiredSemantics(t *testing.T) {
	cases := []struct {
		name     string
		edit     func(t *testing.T, model string)
		exit     int
		reason   string
		required bool
	}{
		{name: "required, model.sig deleted", edit: func(t *testing.T, m string) { os.Remove(filepath.Join(m, "model.sig")) }, exit: 1, reason: policy.RuleSignature, required: true},
		{name: "valid signature", edit: func(*testing.T, string) {}, exit: 0},
		{name: "model.sig deleted: judged on the scan alone", edit: func(t *testing.T, m string) { os.Remove(filepath.Join(m, "model.sig")) }, exit: 0},
		{name: "model.sig corrupted", edit: func(t *testing.T, m string) {
			os.WriteFile(filepath.Join(m, "model.sig"), []byte(`{"mediaType":"x"}`), 0o644)
		}, exit: 1, reason: policy.RuleSignature},
		{name: "signed file changed, model.sig kept", edit: func(t *testing.T, m string) {
			os.WriteFile(filepath.Join(m, "config.json"), []byte(`{"model_type":"bert"}`), 0o644)
		}, exit: 1, reason: policy.RuleSignature},
		{name: "model.sig is a FIFO (never opened)", edit: func(t *testing.T, m string) {
			os.Remove(filepath.Join(m, "model.sig"))
			if err := mkfifo(filepath.Join(m, "model.sig")); err != nil {
				t.Skip("no FIFOs here:", err)
			}
		}, exit: 1, reason: policy.RuleSignature},
		{name: "model.sig is a folder", edit: func(t *testing.T, m string) {
			os.Remove(filepath.Join(m, "model.sig"))
			os.Mkdir(filepath.Join(m, "model.sig"), 0o755)
		}, exit: 1, reason: policy.RuleSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			model, pol, _, _ := swapModel(t, true)
			os.WriteFile(pol, []byte("version: 1\nfail_on: high\nsignature:\n  required: "+fmt.Sprint(c.required)+"\n  keys: [publisher.pub]\n"), 0o644)
			c.edit(t, model)
			code, out, errOut := runCLI(t, "check", model, "--policy", pol, "--format", "json")
			if code != c.exit {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, c.exit, out, errOut)
			}
			var rep struct {
				Reasons []struct{ Rule string } `json:"reasons"`
			}
			json.Unmarshal([]byte(out), &rep)
			if c.reason != "" && (len(rep.Reasons) == 0 || !strings.Contains(out, `"rule": "`+c.reason+`"`)) {
				t.Errorf("reasons %+v, want %s", rep.Reasons, c.reason)
			}
		})
	}
}

// TestTrustMaterialErrorsExit2: unusable trust material is the
// operator's error, never "the signature did not verify".
func TestTrustMaterialErrorsExit2(t *testing.T) {
	for name, setup := range map[string]func(dir string) string{
		"malformed key": func(dir string) string {
			os.WriteFile(filepath.Join(dir, "publisher.pub"), []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), 0o644)
			return "signature:\n  required: true\n  keys: [publisher.pub]\n"
		},
		"malformed trusted_root.json": func(dir string) string {
			os.WriteFile(filepath.Join(dir, "trusted_root.json"), []byte("{\"tlogs\": 5}"), 0o644)
			return "signature:\n  required: true\n  identities: [a@example.com]\n  issuers: [https://accounts.example.com]\n  trusted_root: trusted_root.json\n"
		},
		"trusted_root.json is a folder": func(dir string) string {
			os.Mkdir(filepath.Join(dir, "trusted_root.json"), 0o755)
			return "signature:\n  required: true\n  identities: [a@example.com]\n  issuers: [https://accounts.example.com]\n  trusted_root: trusted_root.json\n"
		},
	} {
		t.Run(name, func(t *testing.T) {
			model, pol, _, _ := swapModel(t, true)
			os.WriteFile(pol, []byte("version: 1\n"+setup(filepath.Dir(pol))), 0o644)
			code, out, errOut := runCLI(t, "check", model, "--policy", pol)
			if code != 2 || !strings.Contains(errOut, "trust material") {
				t.Fatalf("exit %d, want 2 with a trust-material error\n%s\n%s", code, out, errOut)
			}
			p, err := policy.Load(pol)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := newGate(p).Check(context.Background(), model); !errors.Is(err, policy.ErrTrustMaterial) {
				t.Errorf("gate error %v is not policy.ErrTrustMaterial (the service maps it to HTTP 500)", err)
			}
		})
	}
}

// TestSpecialFilesInModelAreHigh: a FIFO (socket, device) anywhere in a
// model folder is never opened and rejects, including one named like the
// weights a loader opens.
func TestSpecialFilesInModelAreHigh(t *testing.T) {
	for _, name := range []string{"pytorch_model.bin", filepath.Join("sub", "notes.txt")} {
		t.Run(name, func(t *testing.T) {
			model, pol, _, _ := swapModel(t, true)
			p := filepath.Join(model, name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.Remove(p)
			if err := mkfifo(p); err != nil {
				t.Skip("no FIFOs here:", err)
			}
			for _, args := range [][]string{{"check", model, "--policy", pol, "--format", "json"}, {"scan", model, "--format", "json"}} {
				code, out, _ := runCLI(t, args...)
				if code != 1 || !strings.Contains(out, `"rule": "fs/special-file"`) || !strings.Contains(out, `"severity": "high"`) {
					t.Fatalf("%s: exit %d, want 1 with fs/special-file high\n%s", args[0], code, out)
				}
			}
		})
	}
}

// TestCheckSnapshot: the model is copied while it is read once; the
// verdict and the digests are about the copy.
func TestCheckSnapshot(t *testing.T) {
	model, pol, _, _ := swapModel(t, true)
	snap := filepath.Join(t.TempDir(), "snap")
	code, out, errOut := runCLI(t, "check", model, "--policy", pol, "--format", "json", "--snapshot", snap)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	fi, err := os.Stat(snap)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("snapshot folder %v %v", fi, err)
	}
	for _, n := range []string{"config.json", "pytorch_model.bin", "model.sig"} {
		a, _ := os.ReadFile(filepath.Join(model, n))
		b, err := os.ReadFile(filepath.Join(snap, n))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: copy differs (%v)", n, err)
		}
	}
	m, err := verify.HashModel(snap, verify.HashOptions{IgnorePaths: []string{"model.sig", "model.intoto.jsonl"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, m.RootDigest()) {
		t.Errorf("the report does not list the copy's OMS root digest %s:\n%s", m.RootDigest(), out)
	}
	if !strings.Contains(out, filepath.Join(snap, "pytorch_model.bin")) {
		t.Errorf("the report's files are not the copy's")
	}
	// A folder inside the model is refused: the copy would be part of it.
	if code, _, errOut := runCLI(t, "check", model, "--policy", pol, "--snapshot", filepath.Join(model, "snap")); code != 2 || !strings.Contains(errOut, "outside the model") {
		t.Errorf("snapshot inside the model: exit %d %s", code, errOut)
	}
	// An existing folder is refused: it could hold files someone placed.
	if code, _, errOut := runCLI(t, "check", model, "--policy", pol, "--snapshot", snap); code != 2 || !strings.Contains(errOut, "snapshot") {
		t.Errorf("existing snapshot folder: exit %d %s", code, errOut)
	}
}

// TestUnreadableModelFileExit2: a model file the checker may not read is
// an unreadable path (exit 2), not a verdict. Root reads everything, so
// the permission error is injected at the pass's open.
func TestUnreadableModelFileExit2(t *testing.T) {
	for _, c := range []struct {
		name string
		g    func(t *testing.T, pol string) *policy.Gate
	}{
		{"signature required (hashing)", gateFor},
		{"default policy, text report (no hashing)", func(t *testing.T, _ string) *policy.Gate {
			g := newGate(policy.Default())
			g.Hash = false
			return g
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			model, pol, _, _ := swapModel(t, true)
			g := c.g(t, pol)
			g.PassHooks = onepass.Options{OpenHook: func(p string) error {
				if filepath.Base(p) == "pytorch_model.bin" {
					return &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission}
				}
				return nil
			}}
			snap := filepath.Join(t.TempDir(), "snap")
			g.Snapshot = snap
			if _, err := g.Check(context.Background(), model); !errors.Is(err, policy.ErrUnreadable) {
				t.Fatalf("err %v, want policy.ErrUnreadable", err)
			}
			if _, err := os.Stat(snap); err == nil {
				t.Error("a check without a verdict left its partial snapshot behind")
			}
		})
	}
}

// TestRenameDuringTextCheck: a check that hashes nothing (text report,
// no signature) still refuses a file renamed over while it was scanned.
func TestRenameDuringTextCheck(t *testing.T) {
	model, _, _, evil := swapModel(t, true)
	g := newGate(policy.Default())
	g.Hash = false
	var swapErr error
	g.PassHooks = onepass.Options{BeforeHash: func(p string) {
		if filepath.Base(p) == "pytorch_model.bin" {
			os.WriteFile(p+".tmp", evil, 0o644)
			swapErr = os.Rename(p+".tmp", p)
		}
	}}
	rep, err := g.Check(context.Background(), model)
	if err != nil {
		t.Fatal(err)
	}
	if swapErr != nil {
		t.Skipf("this OS refuses to rename over an open file (%v)", swapErr)
	}
	if rep.Verdict == policy.Admitted || !hasReason(rep, policy.RuleFileChanged) {
		t.Fatalf("%s %+v", rep.Verdict, rep.Reasons)
	}
}

// TestCheckThroughLinkedModelFolder: a model reached through a link (a
// Hugging Face cache snapshot, a "current" link) is listed by its real
// path and read by the link's: the manifest must still find the one
// pass's digests, so a good signature verifies.
func TestCheckThroughLinkedModelFolder(t *testing.T) {
	model, pol, _, _ := swapModel(t, true)
	link := filepath.Join(t.TempDir(), "current")
	if err := os.Symlink(model, link); err != nil {
		t.Skip(err)
	}
	if code, out, errOut := runCLI(t, "check", link, "--policy", pol); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestEachFileOpenedOnce: a sharded safetensors model, whose index check
// reads every shard's header before the shards are scanned, a signature
// read before the scan: under check each file is opened exactly once, so
// the index check, the scan, the hash and the signature see one read.
func TestEachFileOpenedOnce(t *testing.T) {
	model, pol, _, _ := swapModel(t, true)
	os.Remove(filepath.Join(model, "pytorch_model.bin"))
	shard := func(name string) []byte {
		h := `{"` + name + `":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
		for len(h)%8 != 0 {
			h += " "
		}
		b := []byte{byte(len(h)), 0, 0, 0, 0, 0, 0, 0}
		return append(append(b, h...), 0, 0, 128, 63)
	}
	os.WriteFile(filepath.Join(model, "model-00001-of-00002.safetensors"), shard("a"), 0o644)
	os.WriteFile(filepath.Join(model, "model-00002-of-00002.safetensors"), shard("b"), 0o644)
	os.WriteFile(filepath.Join(model, "model.safetensors.index.json"), []byte(`{"metadata":{"total_size":8},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`), 0o644)
	g := gateFor(t, pol)
	opens := countOpens(g)
	rep, err := g.Check(context.Background(), model)
	if err != nil {
		t.Fatal(err)
	}
	wantOpenedOnce(t, opens, "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json", "model.sig", "config.json")
	// The model changed after signing: rejected by the signature, and
	// by nothing else (the shards and index are consistent).
	for _, r := range rep.Reasons {
		if r.Rule != policy.RuleSignature {
			t.Errorf("unexpected reason %+v", r)
		}
	}
}

// TestCheckShardsSignature: a signature made with the shards method
// verifies against the shard digests the one pass computed (the gate
// learns the shard size from the signature before reading the model),
// and a hostile tiny shard size is refused, not a shard per byte.
func TestCheckShardsSignature(t *testing.T) {
	for _, c := range []struct {
		name  string
		shard int64
		// big adds a 3 MiB file: its shards are hashed side by side when
		// the signature alone reads digests (text report), after one
		// whole-file stream too when the report lists digests (json).
		big bool
		// tamper rewrites a byte of the big file's third shard after
		// signing (no analyzer reads it: only its shard digest tells).
		tamper bool
		format string
		exit   int
	}{
		{name: "100-byte shards", shard: 100},
		{name: "1-byte shards on a 1 KB file (within the cap)", shard: 1},
		{name: "1 MiB shards of a 3 MiB file, hashed in parallel", shard: 1 << 20, big: true},
		{name: "1 MiB shards of a 3 MiB file, json report (whole-file digests too)", shard: 1 << 20, big: true, format: "json"},
		{name: "1 MiB shards of a 3 MiB file, third shard rewritten after signing", shard: 1 << 20, big: true, tamper: true, exit: 1},
		{name: "1 MiB shards of a 3 MiB file, third shard rewritten after signing, json report", shard: 1 << 20, big: true, tamper: true, format: "json", exit: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			model, pol, _, _ := swapModel(t, true)
			big := filepath.Join(model, "vocab.txt")
			if c.big {
				os.WriteFile(big, bytes.Repeat([]byte("token\n"), 3<<20/6), 0o644)
			}
			key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := verify.Sign(model, verify.SignOptions{Key: key, Hash: verify.HashOptions{Method: verify.MethodShards, ShardSize: c.shard}}); err != nil {
				t.Fatal(err)
			}
			if c.tamper {
				f, err := os.OpenFile(big, os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.WriteAt([]byte("X"), 2<<20+100)
				f.Close()
			}
			der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
			os.WriteFile(filepath.Join(filepath.Dir(pol), "publisher.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
			args := []string{"check", model, "--policy", pol}
			if c.format != "" {
				args = append(args, "--format", c.format)
			}
			if code, out, errOut := runCLI(t, args...); code != c.exit {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, c.exit, out, errOut)
			}
		})
	}
}
