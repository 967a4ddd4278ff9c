package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/internal/onepass"
	"github.com/modelvet/modelvet/policy"
	"github.com/modelvet/modelvet/verify"
)

// hashTypeModel writes the clean example model (plus extra files) into a
// new folder, signs it with o and returns the model, the policy requiring
// that signature, and the public key.
func hashTypeModel(t *testing.T, extra map[string]string, o verify.HashOptions) (model, pol, pub string) {
	t.Helper()
	dir := t.TempDir()
	model = filepath.Join(dir, "model")
	files := map[string]string{}
	ex := filepath.Join("..", "..", "testdata", "examples", "clean-model")
	for _, n := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(ex, n))
		if err != nil {
			t.Fatal(err)
		}
		files[n] = string(b)
	}
	for n, b := range extra {
		files[n] = b
	}
	for n, b := range files {
		p := filepath.Join(model, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := verify.Sign(model, verify.SignOptions{Key: key, Hash: o}); err != nil {
		t.Fatalf("sign: %v", err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub = filepath.Join(dir, "publisher.pub")
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	pol = filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte("version: 1\nfail_on: high\nformats:\n  allow: [safetensors]\nsignature:\n  required: true\n  keys: [publisher.pub]\n"), 0o644)
	return model, pol, pub
}

// TestCheckVerifiesEachHashTypeInOnePass: check learns the signature's
// hash type (and shard size) before the scan and its one read hashes with
// it, so a model signed with sha256, blake2b or blake3 is admitted with
// each file opened once; the same model is rejected once a byte of its
// weights changed, and when the weights are swapped for other bytes
// between the scan and the hashing pass (the swap's own signature
// digests would match: only the one read catches it).
func TestCheckVerifiesEachHashTypeInOnePass(t *testing.T) {
	cases := []struct {
		name string
		hash verify.HashOptions
		says string
	}{
		{"sha256-files", verify.HashOptions{}, "(files, sha256)"},
		{"blake2b-files", verify.HashOptions{HashType: verify.HashBLAKE2b}, "(files, blake2b)"},
		{"blake3-files", verify.HashOptions{HashType: verify.HashBLAKE3}, "(files, blake3)"},
		{"blake2b-shards-64", verify.HashOptions{HashType: verify.HashBLAKE2b, Method: verify.MethodShards, ShardSize: 64}, "(shards of 64 bytes, blake2b)"},
		{"sha256-shards-64", verify.HashOptions{Method: verify.MethodShards, ShardSize: 64}, "(shards of 64 bytes, sha256)"},
	}
	const weights = "model.safetensors"
	for _, c := range cases {
		t.Run(c.name+"/admitted-each-file-read-once", func(t *testing.T) {
			model, pol, pub := hashTypeModel(t, nil, c.hash)
			if code, out, errOut := runCLI(t, "verify", model, "--key", pub); code != exitOK || !strings.Contains(out, c.says) {
				t.Fatalf("verify: exit %d, want %q\n%s%s", code, c.says, out, errOut)
			}
			if code, out, errOut := runCLI(t, "check", model, "--policy", pol); code != exitOK || !strings.Contains(out+errOut, "signature: ok") {
				t.Fatalf("check: exit %d\n%s%s", code, out, errOut)
			}
			g := gateFor(t, pol)
			opens := countOpens(g)
			rep, err := g.Check(context.Background(), model)
			if err != nil || rep.Verdict != policy.Admitted {
				t.Fatalf("gate: %v %s %+v", err, rep.Verdict, rep.Reasons)
			}
			wantOpenedOnce(t, opens, weights, "config.json", "model.sig")
			// The report (JSON, ML-BOM) still lists each file's sha256,
			// from the same read.
			listed := 0
			for _, f := range rep.Files {
				if b, err := os.ReadFile(f.Path); err == nil {
					listed++
					if f.SHA256 != sha(b) {
						t.Errorf("report sha256 of %s is %q, want %s", f.Path, f.SHA256, sha(b))
					}
				}
			}
			if listed < 2 {
				t.Errorf("the report lists %d files, want the weights and the config", listed)
			}
			// A text check (no report digests) reads only the signature's.
			g.Hash, g.PassHooks = false, onepass.Options{}
			if rep, err := g.Check(context.Background(), model); err != nil || rep.Verdict != policy.Admitted {
				t.Fatalf("gate without report digests: %v %+v", err, rep.Reasons)
			}
		})
		t.Run(c.name+"/rejected-after-a-byte-changed", func(t *testing.T) {
			model, pol, _ := hashTypeModel(t, nil, c.hash)
			p := filepath.Join(model, weights)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)-1] ^= 1 // tensor data: the scan stays clean, the signature fails
			os.WriteFile(p, b, 0o644)
			code, out, errOut := runCLI(t, "check", model, "--policy", pol)
			if code != exitFail || !strings.Contains(out+errOut, weights) || !strings.Contains(out+errOut, "changed") {
				t.Fatalf("check: exit %d, want %d naming the changed %s:\n%s%s", code, exitFail, weights, out, errOut)
			}
		})
		t.Run(c.name+"/rejected-when-swapped-during-the-check", func(t *testing.T) {
			model, pol, _ := hashTypeModel(t, nil, c.hash)
			p := filepath.Join(model, weights)
			orig, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			// Other bytes renamed over the scanned file before its pass.
			other := append([]byte{}, orig...)
			other[len(other)-1] ^= 1
			g := gateFor(t, pol)
			swapped := false
			var swapErr error
			g.PassHooks = onepass.Options{BeforeHash: func(path string) {
				if filepath.Base(path) == weights && !swapped {
					swapped = true
					os.WriteFile(path+".tmp", other, 0o644)
					swapErr = os.Rename(path+".tmp", path)
				}
			}}
			rep, err := g.Check(context.Background(), model)
			if err != nil {
				t.Fatal(err)
			}
			if swapErr != nil {
				t.Skipf("this OS refuses to rename over an open file (%v)", swapErr)
			}
			if !swapped || rep.Verdict == policy.Admitted || !hasReason(rep, policy.RuleFileChanged) {
				t.Fatalf("swapped=%v verdict %s, want a rejection for %s: %+v", swapped, rep.Verdict, policy.RuleFileChanged, rep.Reasons)
			}
		})
	}
}

// TestCheckAndVerifyAgreeOnWhatOnePassCannotRead: check's scan skips
// .git folders, so a signature covering one (model_signing
// --no-ignore-git-paths) is refused by check with a message naming
// modelvet verify, which verifies the same model. A hash type nobody
// supports is refused by both.
func TestCheckAndVerifyAgreeOnWhatOnePassCannotRead(t *testing.T) {
	cases := []struct {
		name      string
		extra     map[string]string
		hash      verify.HashOptions
		checkCode int
		checkSays string
	}{
		{name: "control/sha256-signature", checkCode: exitOK, checkSays: "signature: ok"},
		{name: "control/blake2b-signature", hash: verify.HashOptions{HashType: verify.HashBLAKE2b}, checkCode: exitOK, checkSays: "signature: ok"},
		{name: "control/blake3-signature", hash: verify.HashOptions{HashType: verify.HashBLAKE3}, checkCode: exitOK, checkSays: "signature: ok"},
		{name: "signed-git-folder-no-ignore-git-paths", extra: map[string]string{".git/HEAD": "ref: refs/heads/main\n"}, hash: verify.HashOptions{NoDefaultIgnores: true},
			checkCode: exitFail, checkSays: "covers .git/HEAD, inside a .git folder"},
		{name: "control/unsigned-git-folder-left-out", extra: map[string]string{".git/HEAD": "ref: refs/heads/main\n"}, checkCode: exitOK, checkSays: "signature: ok"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			model, pol, pub := hashTypeModel(t, c.extra, c.hash)
			if code, out, errOut := runCLI(t, "verify", model, "--key", pub); code != exitOK {
				t.Fatalf("verify: exit %d\n%s%s", code, out, errOut)
			}
			code, out, errOut := runCLI(t, "check", model, "--policy", pol)
			if code != c.checkCode || !strings.Contains(out+errOut, c.checkSays) {
				t.Fatalf("check: exit %d, want %d and %q:\n%s%s", code, c.checkCode, c.checkSays, out, errOut)
			}
			if c.checkCode != exitOK && !strings.Contains(out+errOut, "modelvet verify "+model) {
				t.Fatalf("check's refusal does not name the command that verifies it:\n%s%s", out, errOut)
			}
		})
	}
	t.Run("unsupported-hash-type-sha3_256-refused-by-both", func(t *testing.T) {
		model, pol, _ := hashTypeModel(t, nil, verify.HashOptions{})
		m, err := verify.HashModel(model, verify.HashOptions{IgnorePaths: []string{"model.sig"}})
		if err != nil {
			t.Fatal(err)
		}
		m.HashType = "sha3_256"
		for i := range m.Resources {
			m.Resources[i].Algorithm = "sha3_256"
		}
		payload, err := verify.StatementJSON(m)
		if err != nil {
			t.Fatal(err)
		}
		pub, envelope := newDSSESigner(t)
		os.WriteFile(filepath.Join(model, "model.sig"), keyBundle(envelope(payload), "x"), 0o644)
		b, _ := os.ReadFile(pub)
		os.WriteFile(filepath.Join(filepath.Dir(pol), "publisher.pub"), b, 0o644)
		const says = `hash type "sha3_256" is not supported`
		if code, out, errOut := runCLI(t, "verify", model, "--key", pub); code != exitFail || !strings.Contains(out+errOut, says) {
			t.Fatalf("verify: exit %d, want %d and %q:\n%s%s", code, exitFail, says, out, errOut)
		}
		if code, out, errOut := runCLI(t, "check", model, "--policy", pol); code != exitFail || !strings.Contains(out+errOut, says) {
			t.Fatalf("check: exit %d, want %d and %q:\n%s%s", code, exitFail, says, out, errOut)
		}
	})
}

// TestHashTypeFlag: hash and sign take --hash-type; an unknown one, or
// blake3 with shards (which model_signing never writes), is a usage error.
func TestHashTypeFlag(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m")
	os.MkdirAll(model, 0o755)
	os.WriteFile(filepath.Join(model, "w.bin"), []byte("abc"), 0o644)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	keyPath := filepath.Join(dir, "k.pem")
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := filepath.Join(dir, "k.pub")
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	cases := []struct {
		name string
		args []string
		code int
		says string
	}{
		{"hash-default-sha256", []string{"hash", model}, exitOK, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  w.bin"},
		{"hash-blake2b-rfc-7693-abc", []string{"hash", model, "--hash-type", "blake2b"}, exitOK, "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923  w.bin"},
		{"hash-blake3-abc", []string{"hash", model, "--hash-type", "blake3"}, exitOK, "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85  w.bin"},
		{"hash-unknown-type", []string{"hash", model, "--hash-type", "md5"}, exitUsage, `hash type "md5" is not supported`},
		{"sign-blake3-shards-refused", []string{"sign", model, "--key", keyPath, "--hash-type", "blake3", "--method", "shards"}, exitUsage, "blake3 with --method shards"},
		{"sign-blake2b", []string{"sign", model, "--key", keyPath, "--hash-type", "blake2b"}, exitOK, "1 resource, blake2b, root sha256:"},
		{"verify-the-blake2b-signature", []string{"verify", model, "--key", pub}, exitOK, "(files, blake2b)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, c.args...)
			if code != c.code || !strings.Contains(out+errOut, c.says) {
				t.Fatalf("exit %d, want %d and %q:\n%s%s", code, c.code, c.says, out, errOut)
			}
		})
	}
}
