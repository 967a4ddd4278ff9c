package main

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/verify"
)

// newDSSESigner makes a P-256 key and returns its public key's PEM file
// and envelope, which signs an in-toto payload into a DSSE envelope (as a
// JSON object). The tests sign statements modelvet must still refuse.
func newDSSESigner(t *testing.T) (pub string, envelope func(payload []byte) map[string]any) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pder, _ := x509.MarshalPKIXPublicKey(k.Public())
	pub = filepath.Join(t.TempDir(), "pub.pem")
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}), 0o644)
	return pub, func(payload []byte) map[string]any {
		sum := sha256.Sum256(verify.PAE(verify.InTotoPayloadType, payload))
		sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return map[string]any{"payload": base64.StdEncoding.EncodeToString(payload), "payloadType": verify.InTotoPayloadType,
			"signatures": []any{map[string]string{"sig": base64.StdEncoding.EncodeToString(sig), "keyid": ""}}}
	}
}

// keyBundle wraps a DSSE envelope in a v0.3 Sigstore bundle for a public
// key (model.sig as model_signing writes it for key signing).
func keyBundle(env map[string]any, hint string) []byte {
	b, _ := json.Marshal(map[string]any{
		"mediaType":            "application/vnd.dev.sigstore.bundle.v0.3+json",
		"verificationMaterial": map[string]any{"publicKey": map[string]string{"hint": hint}},
		"dsseEnvelope":         env,
	})
	return b
}

// TestKeyErrors: the key mistakes of issue 13 get a message naming what
// the key is and what to do, and exit 2.
func TestKeyErrors(t *testing.T) {
	enc := filepath.Join("testdata", "keys", "encrypted-p256.pem") // openssl genpkey -aes-256-cbc
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(rk)
	rsaKey := filepath.Join(t.TempDir(), "rsa.pem")
	os.WriteFile(rsaKey, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	t.Setenv("COSIGN_PASSWORD", "") // must not be used for a PKCS#8 key
	cases := []struct {
		name    string
		env     map[string]string
		args    []string
		code    int
		want    []string
		notWant string
	}{
		{"encrypted PKCS#8 with --key-password-env", map[string]string{"MV_KEY_PW": "modelvet-test"}, []string{"--key", enc, "--key-password-env", "MV_KEY_PW"}, exitOK, []string{"signed"}, ""},
		{"encrypted PKCS#8 without a password", nil, []string{"--key", enc}, exitUsage, []string{"is encrypted", "--key-password-env NAME"}, ""},
		{"encrypted PKCS#8, wrong password", map[string]string{"MV_KEY_PW": "nope"}, []string{"--key", enc, "--key-password-env", "MV_KEY_PW"}, exitUsage, []string{"cannot decrypt", "MV_KEY_PW"}, ""},
		{"--key-password-env naming an unset variable", nil, []string{"--key", enc, "--key-password-env", "MV_UNSET_PW"}, exitUsage, []string{"MV_UNSET_PW is not set"}, ""},
		{"RSA key", nil, []string{"--key", rsaKey}, exitUsage, []string{"RSA 2048-bit", "ECDSA (P-256, P-384, P-521) or Ed25519"}, "*rsa"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			code, out, errs := runCmd(t, append([]string{"sign", newModelDir(t)}, c.args...)...)
			if code != c.code {
				t.Fatalf("exit %d, want %d: %s %s", code, c.code, out, errs)
			}
			for _, w := range c.want {
				if !strings.Contains(out+errs, w) {
					t.Errorf("%q not in %s%s", w, out, errs)
				}
			}
			if c.notWant != "" && strings.Contains(errs, c.notWant) {
				t.Errorf("%q in %s", c.notWant, errs)
			}
		})
	}
	t.Run("encrypted PKCS#8 signs attestations too", func(t *testing.T) {
		t.Setenv("MV_KEY_PW", "modelvet-test")
		pred := filepath.Join(t.TempDir(), "pred.json")
		os.WriteFile(pred, []byte(slsaV1Pred), 0o644)
		if code, out, errs := runCmd(t, "attest", newModelDir(t), "--type", "slsa-v1", "--predicate", pred, "--key", enc, "--key-password-env", "MV_KEY_PW"); code != exitOK {
			t.Fatalf("exit %d: %s %s", code, out, errs)
		}
	})
}

func TestVerifyUnsignedModel(t *testing.T) {
	_, pub := writeKeyPair(t)
	dir := newModelDir(t)
	code, out, errs := runCmd(t, "verify", dir, "--key", pub)
	if code != exitFail || !strings.Contains(out, dir+" is not signed: no model.sig (use --signature FILE") || strings.Contains(out+errs, "stat ") {
		t.Fatalf("exit %d:\n%s%s", code, out, errs)
	}
	// A signature path the user names and that is missing stays a usage error.
	if code, _, errs := runCmd(t, "verify", dir, "--key", pub, "--signature", filepath.Join(dir, "nope.sig")); code != exitUsage {
		t.Fatalf("missing --signature: exit %d %s", code, errs)
	}
}

// TestVerifyRefusesFoldedKeysEndToEnd: a validly signed OMS statement
// whose real digests sit under "reſources" (Go's decoder would read them
// there; Python's json reads the wrong ones under "resources") is refused
// with exit 1 and a message naming the key.
func TestVerifyRefusesFoldedKeysEndToEnd(t *testing.T) {
	pub, envelope := newDSSESigner(t)
	dir := newModelDir(t)
	m, err := verify.HashModel(dir, verify.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := verify.StatementJSON(m)
	var doc map[string]any
	json.Unmarshal(st, &doc)
	pred := doc["predicate"].(map[string]any)
	real := pred["resources"]
	wrong, _ := json.Marshal(real)
	wrong = []byte(strings.ReplaceAll(string(wrong), m.Resources[0].Digest, strings.Repeat("0", 64)))
	var wrongV any
	json.Unmarshal(wrong, &wrongV)
	pred["resources"] = wrongV
	pred["reſources"] = real
	payload, _ := json.Marshal(doc)
	os.WriteFile(filepath.Join(dir, "model.sig"), keyBundle(envelope(payload), "x"), 0o644)
	code, out, errs := runCmd(t, "verify", dir, "--key", pub)
	if code != exitFail || !strings.Contains(out, `differ only by case`) || !strings.Contains(out, "reſources") {
		t.Fatalf("exit %d:\n%s%s", code, out, errs)
	}
}

func TestAttestationFileExitCodes(t *testing.T) {
	_, pub := writeKeyPair(t)
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	cases := []struct {
		name string
		path string
		code int
		want string
	}{
		{"truncated JSON", write("trunc.json", `{"payloadType":"x","payload":`), exitFail, "invalid JSON"},
		{"duplicate keys", write("dup.json", `{"payloadType":"a","payloadType":"b","payload":"e30=","signatures":[]}`), exitFail, "duplicate key"},
		{"not an attestation", write("other.json", `{"hello":"world"}`), exitFail, "neither a Sigstore bundle"},
		{"empty file", write("empty.json", ``), exitFail, "no attestation"},
		{"missing path", filepath.Join(dir, "absent.json"), exitUsage, "absent.json"},
		{"a folder", dir, exitUsage, "not a regular file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCmd(t, "attestation", "verify", c.path, "--key", pub)
			if code != c.code || !strings.Contains(out+errs, c.want) {
				t.Fatalf("exit %d (want %d), %q not in:\n%s%s", code, c.code, c.want, out, errs)
			}
		})
	}
	t.Run("verify --attestation with a hostile file", func(t *testing.T) {
		priv, pub := writeKeyPair(t)
		model := newModelDir(t)
		if code, out, errs := runCmd(t, "sign", model, "--key", priv); code != exitOK {
			t.Fatalf("sign: %d %s %s", code, out, errs)
		}
		code, out, errs := runCmd(t, "verify", model, "--key", pub, "--attestation", cases[1].path)
		if code != exitFail || !strings.Contains(out, "duplicate key") {
			t.Fatalf("exit %d:\n%s%s", code, out, errs)
		}
	})
}

func TestUnanchoredRegexpWarning(t *testing.T) {
	dir := newModelDir(t)
	root := filepath.Join(t.TempDir(), "trusted_root.json") // absent: the command stops after the warning
	_, _, errs := runCmd(t, "verify", dir, "--certificate-identity-regexp", "ibm", "--certificate-oidc-issuer", "https://issuer.example", "--trusted-root", root)
	if !strings.Contains(errs, "warning: --certificate-identity-regexp 'ibm' is not anchored") || !strings.Contains(errs, "'^ibm$'") {
		t.Fatalf("no warning:\n%s", errs)
	}
	_, _, errs = runCmd(t, "verify", dir, "--certificate-identity-regexp", "^me@example\\.com$", "--certificate-oidc-issuer-regexp", "^https://issuer\\.example$", "--trusted-root", root)
	if strings.Contains(errs, "not anchored") {
		t.Fatalf("warning for anchored patterns:\n%s", errs)
	}
}

func TestVerifyLayoutStripPrefixNeedsModel(t *testing.T) {
	_, pub := writeKeyPair(t)
	dir := t.TempDir()
	lay := filepath.Join(dir, "root.layout")
	os.WriteFile(lay, []byte("{}"), 0o644)
	code, _, errs := runCmd(t, "attestation", "verify-layout", lay, "--layout-key", pub, "--links", dir, "--strip-prefix", "model/")
	if code != exitUsage || !strings.Contains(errs, "--strip-prefix applies to the comparison with --model") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

// TestAttestationRefusesFoldedRunDetails: a validly signed SLSA v1
// statement whose "runDetailſ" names the trusted builder and whose
// "runDetails" (what Python reads) names another is refused, exit 1.
func TestAttestationRefusesFoldedRunDetails(t *testing.T) {
	pub, envelope := newDSSESigner(t)
	digest := strings.Repeat("ab", 32)
	stmt := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"model","digest":{"sha256":"` + digest + `"}}],` +
		`"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"https://example.com/t","externalParameters":{}},` +
		`"runDetails":{"builder":{"id":"https://untrusted.example/builder"}},"runDetailſ":{"builder":{"id":"https://trusted.example/builder"}}}}`)
	env, _ := json.Marshal(envelope(stmt))
	p := filepath.Join(t.TempDir(), "att.json")
	os.WriteFile(p, env, 0o644)
	code, out, errs := runCmd(t, "attestation", "verify", p, "--key", pub, "--subject-digest", "sha256:"+digest, "--builder-id", "https://trusted.example/builder")
	if code != exitFail || !strings.Contains(out, "runDetailſ") || !strings.Contains(out, "differ only by case") {
		t.Fatalf("exit %d:\n%s%s", code, out, errs)
	}
}

// TestVerifyUnusableKeyIsUsageError: a public key that cannot verify
// model signatures is named in words, with what is supported, exit 2.
func TestVerifyUnusableKeyIsUsageError(t *testing.T) {
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	cases := []struct {
		name string
		pub  any
		want string
	}{
		{"ECDSA P-224", &p224.PublicKey, "elliptic curve P-224 is not supported"},
		{"X25519", x.PublicKey(), "X25519/ECDH (a key-agreement key, which cannot sign); supported public keys are ECDSA (P-256, P-384, P-521), Ed25519 and RSA"},
	}
	dir := newModelDir(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			der, err := x509.MarshalPKIXPublicKey(c.pub)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "pub.pem")
			os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
			for _, args := range [][]string{{"verify", dir, "--key", p}, {"attestation", "verify", p, "--key", p}} {
				code, out, errs := runCmd(t, args...)
				if code != exitUsage || !strings.Contains(errs, c.want) || strings.Contains(errs, "*ecd") {
					t.Fatalf("%s: exit %d:\n%s%s", args[0], code, out, errs)
				}
			}
		})
	}
}

// TestVerifyOutputCapped: a validly signed statement naming 300 files
// that are not there prints 50 of them and the count of the rest (text),
// and at most verify.MaxProblems reasons (JSON).
func TestVerifyOutputCapped(t *testing.T) {
	pub, envelope := newDSSESigner(t)
	dir := newModelDir(t)
	m, err := verify.HashModel(dir, verify.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := 0; i < n; i++ {
		m.Resources = append(m.Resources, verify.Resource{Name: "missing/" + strings.Repeat("x", i%7+1) + string(rune('a'+i%26)) + strings.Repeat("y", i/26), Algorithm: "sha256", Digest: strings.Repeat("a", 64)})
	}
	payload, _ := verify.StatementJSON(m)
	os.WriteFile(filepath.Join(dir, "model.sig"), keyBundle(envelope(payload), ""), 0o644)
	code, out, errs := runCmd(t, "verify", dir, "--key", pub)
	if code != exitFail || strings.Count(out, "FAILED:") != 50 || !strings.Contains(out, fmt.Sprintf("... and %d more problems", n-50)) {
		t.Fatalf("exit %d, %d FAILED lines:\n%.2000s%s", code, strings.Count(out, "FAILED:"), out, errs)
	}
	code, out, _ = runCmd(t, "verify", dir, "--key", pub, "--format", "json")
	var rep struct {
		Reasons []any `json:"reasons"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitFail || len(rep.Reasons) != verify.MaxProblems+1 {
		t.Fatalf("exit %d, %d reasons, %v", code, len(rep.Reasons), err)
	}
}
