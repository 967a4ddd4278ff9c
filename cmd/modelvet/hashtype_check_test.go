package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/verify"
)

// TestCheckAndVerifyAgreeOnWhatOnePassCannotRead: check reads every file
// once and hashes it with SHA-256, and its scan skips .git folders. A
// signature that needs more (another hash type; a signed .git folder, as
// model_signing --no-ignore-git-paths writes) is refused by check with a
// message naming modelvet verify, which verifies the same model.
func TestCheckAndVerifyAgreeOnWhatOnePassCannotRead(t *testing.T) {
	cases := []struct {
		name      string
		extra     map[string]string
		hash      verify.HashOptions
		checkCode int
		checkSays string
	}{
		{name: "control/sha256-signature", checkCode: exitOK, checkSays: "signature: ok"},
		{name: "blake2b-signature", hash: verify.HashOptions{HashType: verify.HashBLAKE2b}, checkCode: exitFail, checkSays: "this signature uses blake2b; check verifies sha256 signatures"},
		{name: "blake3-signature", hash: verify.HashOptions{HashType: verify.HashBLAKE3}, checkCode: exitFail, checkSays: "this signature uses blake3"},
		{name: "signed-git-folder-no-ignore-git-paths", extra: map[string]string{".git/HEAD": "ref: refs/heads/main\n"}, hash: verify.HashOptions{NoDefaultIgnores: true},
			checkCode: exitFail, checkSays: "covers .git/HEAD, inside a .git folder"},
		{name: "control/unsigned-git-folder-left-out", extra: map[string]string{".git/HEAD": "ref: refs/heads/main\n"}, checkCode: exitOK, checkSays: "signature: ok"},
	}
	ex := filepath.Join("..", "..", "testdata", "examples", "clean-model")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			model := filepath.Join(dir, "model")
			files := map[string]string{}
			for _, n := range []string{"config.json", "model.safetensors"} {
				b, err := os.ReadFile(filepath.Join(ex, n))
				if err != nil {
					t.Fatal(err)
				}
				files[n] = string(b)
			}
			for n, b := range c.extra {
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
			if _, _, err := verify.Sign(model, verify.SignOptions{Key: key, Hash: c.hash}); err != nil {
				t.Fatalf("sign: %v", err)
			}
			der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
			pub := filepath.Join(dir, "publisher.pub")
			os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
			pol := filepath.Join(dir, "policy.yaml")
			os.WriteFile(pol, []byte("version: 1\nfail_on: high\nformats:\n  allow: [safetensors]\nsignature:\n  required: true\n  keys: [publisher.pub]\n"), 0o644)

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
