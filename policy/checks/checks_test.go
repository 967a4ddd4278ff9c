package checks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/policy"
)

func parse(t *testing.T, dir, y string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse(filepath.Join(dir, "policy.yaml"), []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTrustMapping(t *testing.T) {
	dir := t.TempDir()
	p := parse(t, dir, "signature:\n  keys: [a.pub, b.pub]\n")
	if tr := Trust(p); len(tr) != 2 || tr[0].KeyPath != filepath.Join(dir, "a.pub") || tr[1].KeyPath != filepath.Join(dir, "b.pub") {
		t.Errorf("keys: %+v", tr)
	}
	p = parse(t, dir, "signature:\n  ca_chains: [root.pem, inter.pem]\n")
	if tr := Trust(p); len(tr) != 1 || len(tr[0].CAChainPaths) != 2 {
		t.Errorf("ca: %+v", tr)
	}
	p = parse(t, dir, "signature:\n  identities: [alice@example.com, bob@example.com]\n  issuers: [https://accounts.google.com]\n  trusted_root: tr.json\n")
	tr := Trust(p)
	if len(tr) != 1 || tr[0].TrustedRootPath != filepath.Join(dir, "tr.json") || tr[0].Identity != "" {
		t.Fatalf("keyless: %+v", tr)
	}
	if _, err := tr[0].Method(); err != nil {
		t.Errorf("verify refuses the mapped options: %v", err)
	}
	id := regexp.MustCompile(tr[0].IdentityRegexp)
	for s, want := range map[string]bool{"alice@example.com": true, "bob@example.com": true, "mallory+alice@example.com": false, "alice@example.com.evil": false, "aliceXexample.com": false} {
		if id.MatchString(s) != want {
			t.Errorf("identity %q matched %v (pattern %s)", s, !want, tr[0].IdentityRegexp)
		}
	}
	if !regexp.MustCompile(tr[0].IssuerRegexp).MatchString("https://accounts.google.com") || regexp.MustCompile(tr[0].IssuerRegexp).MatchString("https://accounts.google.com.evil") {
		t.Errorf("issuer pattern %s", tr[0].IssuerRegexp)
	}
}

func TestSignatureOutcomes(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	os.MkdirAll(model, 0o755)
	os.WriteFile(filepath.Join(model, "w.bin"), []byte("x"), 0o644)

	// Missing trust material is the operator's error, not a rejection.
	p := parse(t, dir, "signature:\n  required: true\n  keys: [missing.pub]\n")
	if _, err := Signature(context.Background(), model, p); err == nil || !strings.Contains(err.Error(), "missing.pub") {
		t.Errorf("missing key: err %v", err)
	}
	// A malformed key, CA file or trusted root is the operator's error
	// too (exit 2 / HTTP 500), never "the signature did not verify".
	os.WriteFile(filepath.Join(dir, "bad.pub"), []byte("not a key"), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.pem"), []byte("not a certificate"), 0o644)
	os.WriteFile(filepath.Join(dir, "trusted_root.json"), []byte("{\"mediaType\": 7}"), 0o644)
	os.WriteFile(filepath.Join(model, "model.sig"), []byte("{}"), 0o644)
	for name, y := range map[string]string{
		"malformed key":          "signature:\n  required: true\n  keys: [bad.pub]\n",
		"malformed CA chain":     "signature:\n  required: true\n  ca_chains: [bad.pem]\n",
		"malformed trusted root": "signature:\n  required: true\n  identities: [a@example.com]\n  issuers: [https://issuer.example]\n  trusted_root: trusted_root.json\n",
		"unreadable key":         "signature:\n  required: true\n  keys: [unreadable.pub]\n",
	} {
		if name == "unreadable key" {
			if os.Getuid() == 0 {
				continue // root reads any file
			}
			os.WriteFile(filepath.Join(dir, "unreadable.pub"), writeKey(t), 0o000)
		}
		_, err := Signature(context.Background(), model, parse(t, dir, y))
		if !errors.Is(err, policy.ErrTrustMaterial) {
			t.Errorf("%s: err %v, want policy.ErrTrustMaterial", name, err)
		}
	}
	os.Remove(filepath.Join(model, "model.sig"))
	// No signature file: an outcome saying so.
	os.WriteFile(filepath.Join(dir, "k.pub"), writeKey(t), 0o644)
	p = parse(t, dir, "signature:\n  required: true\n  keys: [k.pub]\n")
	o, err := Signature(context.Background(), model, p)
	if err != nil || o.Present || o.OK {
		t.Errorf("unsigned: %+v %v", o, err)
	}
	// A garbage signature file: present, not OK, with a reason.
	os.WriteFile(filepath.Join(model, "model.sig"), []byte("{}"), 0o644)
	o, err = Signature(context.Background(), model, p)
	if err != nil || !o.Present || o.OK || len(o.Failures) == 0 {
		t.Errorf("garbage signature: %+v %v", o, err)
	}
	// Provenance: a garbage attestation is the model's fault (refusal).
	p = parse(t, dir, "signature:\n  keys: [k.pub]\nprovenance:\n  required: true\n  builder_ids: [b]\n")
	os.WriteFile(filepath.Join(model, "model.intoto.jsonl"), []byte("garbage\n"), 0o644)
	o, err = Provenance(context.Background(), model, p)
	if err != nil || !o.Present || o.OK || len(o.Failures) == 0 {
		t.Errorf("garbage attestation: %+v %v", o, err)
	}
}

// writeKey returns a fresh PEM P-256 public key.
func writeKey(t *testing.T) []byte {
	_, pub := keyPair(t)
	return pub
}

// keyPair returns a fresh P-256 key and its public key as PEM.
func keyPair(t *testing.T) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
