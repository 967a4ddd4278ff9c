package main

import (
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
	"time"

	intoto "github.com/in-toto/in-toto-golang/in_toto"
	"github.com/modelvet/modelvet/formats/formatstest"
)

func attestKeyPair(t *testing.T, dir, name string) (priv, pub string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	pder, _ := x509.MarshalPKIXPublicKey(k.Public())
	priv, pub = filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
	os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}), 0o644)
	return priv, pub
}

// TestAttestCLI: a pipeline attests a model folder with SLSA v1
// provenance, and "attestation verify" reads it back with the model's
// digest and the expected builder; other keys, digests and builders fail
// with exit 1, usage errors exit 2.
func TestAttestCLI(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	os.MkdirAll(model, 0o755)
	os.WriteFile(filepath.Join(model, "model.safetensors"), []byte("weights"), 0o644)
	os.WriteFile(filepath.Join(model, "config.json"), []byte(`{}`), 0o644)
	priv, pub := attestKeyPair(t, dir, "ci")
	_, otherPub := attestKeyPair(t, dir, "other")
	pred := map[string]any{
		"buildDefinition": map[string]any{
			"buildType":          "https://example.com/train/v1",
			"externalParameters": map[string]any{"source": "git+https://github.com/org/model@refs/heads/main"},
			"resolvedDependencies": []any{
				map[string]any{"uri": "git+https://github.com/org/model@refs/heads/main", "digest": map[string]string{"gitCommit": strings.Repeat("1", 40)}},
			},
		},
		"runDetails": map[string]any{"builder": map[string]any{"id": "https://ci.example.com/trainer"}},
	}
	pb, _ := json.Marshal(pred)
	predPath := filepath.Join(dir, "pred.json")
	os.WriteFile(predPath, pb, 0o644)
	att := filepath.Join(model, "provenance.json")

	code, _, errOut := runCLI(t, "attest", model, "--type", "slsa-v1", "--predicate", predPath, "--key", priv, "--output", att)
	if code != exitOK {
		t.Fatalf("attest exit %d: %s", code, errOut)
	}
	var digest string
	if i := strings.Index(errOut, "(sha256:"); i >= 0 {
		digest = errOut[i+1 : i+1+7+64]
	} else {
		t.Fatalf("attest did not report the digest: %s", errOut)
	}

	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"verified with digest and builder", []string{"attestation", "verify", att, "--key", pub, "--subject-digest", digest, "--builder-id", "https://ci.example.com/trainer", "--source-uri", "https://github.com/org/model"}, exitOK, "built by https://ci.example.com/trainer"},
		{"json output", []string{"attestation", "verify", att, "--key", pub, "--format", "json"}, exitOK, `"verdict": "pass"`},
		{"other key", []string{"attestation", "verify", att, "--key", otherPub}, exitFail, "NOT VERIFIED"},
		{"other digest", []string{"attestation", "verify", att, "--key", pub, "--subject-digest", "sha256:" + strings.Repeat("0", 64)}, exitFail, "the attestation is about model"},
		{"other builder", []string{"attestation", "verify", att, "--key", pub, "--builder-id", "https://evil.example.com"}, exitFail, "not by the required builder"},
		{"no trust given", []string{"attestation", "verify", att}, exitUsage, ""},
		{"bad digest", []string{"attestation", "verify", att, "--key", pub, "--subject-digest", "abc"}, exitUsage, ""},
		{"missing file", []string{"attestation", "verify", filepath.Join(dir, "nope.json"), "--key", pub}, exitUsage, ""},
		{"unknown subcommand", []string{"attestation", "check"}, exitUsage, ""},
		{"attest without key", []string{"attest", model, "--type", "slsa-v1", "--predicate", predPath}, exitUsage, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, c.args...)
			if code != c.code || !strings.Contains(out, c.want) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s\nstderr: %s", code, c.code, c.want, out, errOut)
			}
		})
	}
}

// TestAttestationVerifyPeer is the sigstore-js npm provenance, verified
// from the command line, offline.
func TestAttestationVerifyPeer(t *testing.T) {
	ex := filepath.Join(formatstest.Peers(t), "sigstore-go", "examples")
	if _, err := os.Stat(filepath.Join(ex, "bundle-provenance.json")); err != nil {
		t.Skip("sigstore-go examples absent")
	}
	base := []string{"attestation", "verify", filepath.Join(ex, "bundle-provenance.json"),
		"--trusted-root", filepath.Join(ex, "trusted-root-public-good.json"),
		"--certificate-identity", "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
		"--certificate-oidc-issuer", "https://token.actions.githubusercontent.com",
		"--subject-digest", "sha512:76176ffa33808b54602c7c35de5c6e9a4deb96066dba6533f50ac234f4f1f4c6b3527515dc17c06fbe2860030f410eee69ea20079bd3a2c6f3dcf3b329b10751"}
	code, out, errOut := runCLI(t, append(base, "--builder-id", "https://github.com/actions/runner", "--source-uri", "git+https://github.com/sigstore/sigstore-js@refs/heads/main")...)
	if code != exitOK || !strings.Contains(out, "source: git+https://github.com/sigstore/sigstore-js@refs/heads/main") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, append(base, "--source-uri", "https://github.com/sigstore/sigstore-python")...)
	if code != exitFail || !strings.Contains(out, "not from the required source") {
		t.Fatalf("other source: exit %d\n%s", code, out)
	}
}

// TestVerifyLayoutCLI: a layout with an inspection is refused (exit 1)
// and its command does not run; missing flags are usage errors.
func TestVerifyLayoutCLI(t *testing.T) {
	dir := t.TempDir()
	priv, pub := attestKeyPair(t, dir, "owner")
	var owner intoto.Key
	if err := owner.LoadKeyDefaults(priv); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "ran")
	layout := intoto.Layout{Type: "layout", Expires: time.Now().Add(time.Hour).UTC().Format(intoto.ISO8601DateSchema),
		Keys: map[string]intoto.Key{}, Steps: []intoto.Step{},
		Inspect: []intoto.Inspection{{Type: "inspection", Run: []string{"touch", marker},
			SupplyChainItem: intoto.SupplyChainItem{Name: "check", ExpectedMaterials: [][]string{}, ExpectedProducts: [][]string{}}}}}
	mb := &intoto.Metablock{Signed: layout}
	if err := mb.Sign(owner); err != nil {
		t.Fatal(err)
	}
	lp := filepath.Join(dir, "root.layout")
	mb.Dump(lp)
	code, out, errOut := runCLI(t, "attestation", "verify-layout", lp, "--layout-key", pub, "--links", dir)
	if code != exitFail || !strings.Contains(out, "never executes what it verifies") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the inspection ran")
	}
	if code, _, _ := runCLI(t, "attestation", "verify-layout", lp, "--links", dir); code != exitUsage {
		t.Fatalf("missing --layout-key: exit %d", code)
	}
}

// TestSignThenAttestCLI is the pipeline of the issue from the command
// line: sign writes model.sig, attest publishes provenance beside it, and
// the attestation's subject is the digest the signature signed.
func TestSignThenAttestCLI(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	os.MkdirAll(model, 0o755)
	os.WriteFile(filepath.Join(model, "model.safetensors"), []byte("weights"), 0o644)
	priv, pub := attestKeyPair(t, dir, "ci")
	code, out, errOut := runCLI(t, "sign", model, "--key", priv)
	if code != exitOK {
		t.Fatalf("sign: %d %s %s", code, out, errOut)
	}
	i := strings.Index(out, "root sha256:")
	if i < 0 {
		t.Fatalf("sign output lacks the root digest: %s", out)
	}
	digest := out[i+5 : i+5+7+64]
	pred := filepath.Join(dir, "eval.json")
	os.WriteFile(pred, []byte(`{"benchmark":"mmlu","score":0.71}`), 0o644)
	att := filepath.Join(model, "eval.att.json")
	if code, _, errOut := runCLI(t, "attest", model, "--type", "https://example.com/eval/v1", "--predicate", pred, "--key", priv, "--output", att); code != exitOK {
		t.Fatalf("attest: %d %s", code, errOut)
	}
	if code, out, _ := runCLI(t, "attestation", "verify", att, "--key", pub, "--subject-digest", digest); code != exitOK {
		t.Fatalf("the attestation is not about the signed digest %s:\n%s", digest, out)
	}
	if code, out, errOut := runCLI(t, "verify", model, "--key", pub, "--ignore-paths", "eval.att.json"); code != exitOK {
		t.Fatalf("the signature no longer verifies beside the attestation: %d\n%s\n%s", code, out, errOut)
	}
	// Signature and provenance together: the attestation inside the
	// folder is left out of the signed manifest by itself.
	code, out, errOut = runCLI(t, "verify", model, "--key", pub, "--attestation", att)
	if code != exitOK || !strings.Contains(out, "signature: ok") || !strings.Contains(out, "provenance") {
		t.Fatalf("verify --attestation: %d\n%s\n%s", code, out, errOut)
	}
	// A builder requirement the statement cannot meet rejects the model.
	if code, out, _ := runCLI(t, "verify", model, "--key", pub, "--attestation", att, "--builder-id", "https://builder.example/ci"); code != exitFail {
		t.Fatalf("an unmet --builder-id passed: %d\n%s", code, out)
	}
	// An attestation about another model is refused even when the
	// signature verifies.
	other := filepath.Join(dir, "other")
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, "model.safetensors"), []byte("other weights"), 0o644)
	otherAtt := filepath.Join(dir, "other.att.json")
	if code, _, errOut := runCLI(t, "attest", other, "--type", "https://example.com/eval/v1", "--predicate", pred, "--key", priv, "--output", otherAtt); code != exitOK {
		t.Fatalf("attest other: %d %s", code, errOut)
	}
	if code, out, _ := runCLI(t, "verify", model, "--key", pub, "--ignore-paths", "eval.att.json", "--attestation", otherAtt); code != exitFail {
		t.Fatalf("an attestation about another model passed: %d\n%s", code, out)
	}
	if code, _, _ := runCLI(t, "verify", model, "--key", pub, "--builder-id", "x"); code != exitUsage {
		t.Fatalf("--builder-id without --attestation must be a usage error")
	}
}
