package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/cosign/v2/pkg/cosign"

	"github.com/modelvet/modelvet/formats/formatstest"
	"github.com/modelvet/modelvet/report"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func mtFixtures(t *testing.T) string {
	d := filepath.Join(formatstest.Peers(t), "model-transparency")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("model-transparency fixtures not found at %s; skipping", d)
	}
	return d
}

func TestVerifyCommandOnReferenceFixtures(t *testing.T) {
	mt := mtFixtures(t)
	keys := filepath.Join(mt, "keys", "certificate")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"key-v1.1.0", []string{"verify", filepath.Join(mt, "v1.1.0-elliptic-key"), "--key", filepath.Join(keys, "signing-key-pub.pem"), "--ignore-paths", "ignore-me"}, exitOK, "verified: all 2 resources match"},
		{"key-v0.3.1-single-file", []string{"verify", filepath.Join(mt, "v0.3.1-elliptic-key", "signme-1"), "--key", filepath.Join(keys, "signing-key-pub.pem")}, exitOK, "verified"},
		{"chain-v0.2.0", []string{"verify", filepath.Join(mt, "v0.2.0-certificate"), "--certificate-chain", filepath.Join(keys, "ca-cert.pem")}, exitOK, "v0.2.0"},
		{"flags-after-model", []string{"verify", "--certificate-chain", filepath.Join(keys, "ca-cert.pem"), filepath.Join(mt, "v1.0.1-certificate"), "--ignore-paths", "ignore-me"}, exitOK, "verified"},
		{"wrong-method-key-for-chain", []string{"verify", filepath.Join(mt, "v1.0.1-certificate"), "--key", filepath.Join(keys, "signing-key-pub.pem"), "--ignore-paths", "ignore-me"}, exitFail, "not a public key"},
		{"unsigned-file-not-ignored", []string{"verify", filepath.Join(mt, "v1.0.1-elliptic-key"), "--key", filepath.Join(keys, "signing-key-pub.pem")}, exitFail, "ignore-me is in the model but not covered"},
		{"unsigned-file-allowed", []string{"verify", filepath.Join(mt, "v1.0.1-elliptic-key"), "--key", filepath.Join(keys, "signing-key-pub.pem"), "--ignore-unsigned-files"}, exitOK, "verified"},
		{"no-trust", []string{"verify", filepath.Join(mt, "v1.1.0-elliptic-key")}, exitUsage, "no trust given"},
		{"two-methods", []string{"verify", filepath.Join(mt, "v1.1.0-elliptic-key"), "--key", "a.pem", "--certificate-chain", "b.pem"}, exitUsage, "several trust methods"},
		{"keyless-without-root", []string{"verify", filepath.Join(mt, "v1.1.0-sigstore"), "--certificate-identity", "x", "--certificate-oidc-issuer", "y"}, exitUsage, "trusted root"},
		{"missing-model", []string{"verify", filepath.Join(t.TempDir(), "nope"), "--key", filepath.Join(keys, "signing-key-pub.pem")}, exitUsage, "model"},
		{"missing-key-file", []string{"verify", filepath.Join(mt, "v1.1.0-elliptic-key"), "--key", filepath.Join(t.TempDir(), "nope.pem")}, exitUsage, "trust material"},
		{"no-model", []string{"verify", "--key", "k.pem"}, exitUsage, "usage"},
	}
	if root := filepath.Join(formatstest.Peers(t), "sigstore-go", "trusted-roots", "public-good.json"); fileExists(root) {
		cases = append(cases,
			struct {
				name string
				args []string
				code int
				want string
			}{"keyless-v1.1.0", []string{"verify", filepath.Join(mt, "v1.1.0-sigstore"), "--certificate-identity", "stefanb@us.ibm.com", "--certificate-oidc-issuer", "https://sigstore.verify.ibm.com/oauth2", "--trusted-root", root, "--ignore-paths", "ignore-me"}, exitOK, "stefanb@us.ibm.com"},
			struct {
				name string
				args []string
				code int
				want string
			}{"keyless-wrong-identity", []string{"verify", filepath.Join(mt, "v1.1.0-sigstore"), "--certificate-identity", "mallory@example.com", "--certificate-oidc-issuer", "https://sigstore.verify.ibm.com/oauth2", "--trusted-root", root, "--ignore-paths", "ignore-me"}, exitFail, "mallory@example.com"},
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCmd(t, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, out, errs)
			}
			if !strings.Contains(out+errs, c.want) {
				t.Errorf("output does not mention %q:\n%s%s", c.want, out, errs)
			}
		})
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestVerifyCommandJSON(t *testing.T) {
	mt := mtFixtures(t)
	code, out, errs := runCmd(t, "verify", filepath.Join(mt, "v1.1.0-elliptic-key"), "--key", filepath.Join(mt, "keys", "certificate", "signing-key-pub.pem"), "--ignore-paths", "ignore-me", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != "pass" || len(rep.Sections) != 1 || rep.Sections[0].Name != "signature" || !rep.Sections[0].OK {
		t.Errorf("report %+v", rep)
	}
}

func TestHashCommandMatchesFixtureSubject(t *testing.T) {
	mt := mtFixtures(t)
	code, out, errs := runCmd(t, "hash", filepath.Join(mt, "v1.1.0-elliptic-key"), "--ignore-paths", "ignore-me")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	// The subject digest in that fixture's signed statement.
	if !strings.Contains(out, "root sha256:92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4") {
		t.Errorf("root digest not the signed one:\n%s", out)
	}
	code, out, _ = runCmd(t, "hash", filepath.Join(mt, "v1.1.0-elliptic-key"), "--method", "shards", "--shard-size", "4", "--ignore-paths", "ignore-me", "--format", "json")
	if code != exitOK || !strings.Contains(out, `"signme-1:8:9"`) {
		t.Errorf("shards output (exit %d):\n%s", code, out)
	}
	if code, _, _ := runCmd(t, "hash", filepath.Join(mt, "v1.1.0-elliptic-key"), "--method", "tensors"); code != exitUsage {
		t.Errorf("unknown method: exit %d", code)
	}
}

func writeKeyPair(t *testing.T) (priv, pub string) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	der, _ := x509.MarshalECPrivateKey(k)
	priv = filepath.Join(dir, "key.pem")
	os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
	pder, _ := x509.MarshalPKIXPublicKey(k.Public())
	pub = filepath.Join(dir, "pub.pem")
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}), 0o644)
	return priv, pub
}

func newModelDir(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "model")
	os.MkdirAll(filepath.Join(dir, ".cache"), 0o755)
	os.WriteFile(filepath.Join(dir, "weights.safetensors"), []byte("weights"), 0o644)
	os.WriteFile(filepath.Join(dir, ".cache", "x"), []byte("hidden folder content"), 0o644)
	return dir
}

func TestSignThenVerifyCommand(t *testing.T) {
	t.Run("pem-key", func(t *testing.T) {
		priv, pub := writeKeyPair(t)
		dir := newModelDir(t)
		if code, out, errs := runCmd(t, "sign", dir, "--key", priv); code != exitOK {
			t.Fatalf("sign exit %d: %s %s", code, out, errs)
		}
		if code, out, errs := runCmd(t, "verify", dir, "--key", pub); code != exitOK {
			t.Fatalf("verify exit %d: %s %s", code, out, errs)
		}
		os.WriteFile(filepath.Join(dir, ".cache", "x"), []byte("changed"), 0o644)
		code, out, _ := runCmd(t, "verify", dir, "--key", pub)
		if code != exitFail || !strings.Contains(out, ".cache/x changed") {
			t.Errorf("tampered hidden file: exit %d\n%s", code, out)
		}
	})
	t.Run("cosign-key-pair", func(t *testing.T) {
		const pw = "correct horse battery staple"
		kp, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(pw), nil })
		if err != nil {
			t.Fatal(err)
		}
		kdir := t.TempDir()
		priv, pub := filepath.Join(kdir, "cosign.key"), filepath.Join(kdir, "cosign.pub")
		os.WriteFile(priv, kp.PrivateBytes, 0o600)
		os.WriteFile(pub, kp.PublicBytes, 0o644)
		dir := newModelDir(t)
		t.Setenv("COSIGN_PASSWORD", "wrong")
		if code, _, errs := runCmd(t, "sign", dir, "--key", priv); code != exitUsage || !strings.Contains(errs, "COSIGN_PASSWORD") {
			t.Fatalf("wrong password: exit %d: %s", code, errs)
		}
		t.Setenv("COSIGN_PASSWORD", pw)
		if code, out, errs := runCmd(t, "sign", dir, "--key", priv); code != exitOK {
			t.Fatalf("sign exit %d: %s %s", code, out, errs)
		}
		if code, out, errs := runCmd(t, "verify", dir, "--key", pub); code != exitOK {
			t.Fatalf("verify exit %d: %s %s", code, out, errs)
		}
	})
	t.Run("fixture-certificate", func(t *testing.T) {
		mt := mtFixtures(t)
		keys := filepath.Join(mt, "keys", "certificate")
		dir := newModelDir(t)
		sig := filepath.Join(t.TempDir(), "elsewhere.sig")
		if code, out, errs := runCmd(t, "sign", dir, "--signature", sig, "--key", filepath.Join(keys, "signing-key.pem"),
			"--certificate", filepath.Join(keys, "signing-key-cert.pem"), "--certificate-chain", filepath.Join(keys, "int-ca-cert.pem")); code != exitOK {
			t.Fatalf("sign exit %d: %s %s", code, out, errs)
		}
		if code, out, errs := runCmd(t, "verify", dir, "--signature", sig, "--certificate-chain", filepath.Join(keys, "ca-cert.pem")); code != exitOK {
			t.Fatalf("verify exit %d: %s %s", code, out, errs)
		}
		if code, out, _ := runCmd(t, "verify", dir, "--signature", sig, "--key", filepath.Join(keys, "signing-key-pub.pem")); code != exitFail {
			t.Errorf("certificate bundle accepted as a key one: exit %d\n%s", code, out)
		}
	})
	t.Run("keyless-without-token", func(t *testing.T) {
		t.Setenv("SIGSTORE_ID_TOKEN", "") // never the network from a test (see sign_keyless_test.go)
		code, _, errs := runCmd(t, "sign", newModelDir(t), "--keyless")
		if code != exitUsage || !strings.Contains(errs, "SIGSTORE_ID_TOKEN") {
			t.Errorf("exit %d: %s", code, errs)
		}
	})
	t.Run("empty-model", func(t *testing.T) {
		priv, _ := writeKeyPair(t)
		code, _, errs := runCmd(t, "sign", t.TempDir(), "--key", priv)
		if code != exitFail || !strings.Contains(errs, "no regular files") {
			t.Errorf("exit %d: %s", code, errs)
		}
	})
}
