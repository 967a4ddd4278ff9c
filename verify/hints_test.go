package verify

import (
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeyHintsNeverRefuse: publicKey.hint and an embedded rawBytes key are
// not signed, so they cannot decide: a valid signature verifies whatever
// they say (cosign writes base64 SHA-256 of the DER key, OMS v1.1 hex
// SHA-256 of the PEM key, an attacker anything), and a wrong key fails on
// the signature, with the named key in the message.
func TestKeyHintsNeverRefuse(t *testing.T) {
	k := newECKey(t, elliptic.P256())
	pubPath := writePublicKey(t, k.Public())
	other := writePublicKey(t, newECKey(t, elliptic.P256()).Public())
	dir := makeModel(t, "m", map[string]string{"w.bin": "weights"})
	sig := filepath.Join(t.TempDir(), "model.sig")
	if _, _, err := Sign(dir, SignOptions{Key: k, SignaturePath: sig}); err != nil {
		t.Fatal(err)
	}
	orig, _ := os.ReadFile(sig)
	der, _ := x509.MarshalPKIXPublicKey(k.Public())
	sum := sha256.Sum256(der)
	cosignHint := base64.StdEncoding.EncodeToString(sum[:])
	otherPEM, _ := os.ReadFile(other)
	hint := `"hint":"` + keyHint(k.Public()) + `"`
	cases := []struct {
		name     string
		material string // replaces the hint member
		key      string
		ok       bool
		want     string
	}{
		{"OMS hint", hint, pubPath, true, ""},
		{"cosign-style hint (base64 SHA-256 of DER)", `"hint":"` + cosignHint + `"`, pubPath, true, ""},
		{"hint naming another key", `"hint":"` + strings.Repeat("0", 64) + `"`, pubPath, true, ""},
		{"embedded rawBytes of another key", `"rawBytes":"` + base64.StdEncoding.EncodeToString(otherPEM) + `"`, pubPath, true, ""},
		{"wrong key, hint names the signer", hint, other, false, "the signature names key " + keyHint(k.Public())},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "model.sig")
			os.WriteFile(p, []byte(strings.Replace(string(orig), hint, c.material, 1)), 0o644)
			r, err := Verify(dir, Options{SignaturePath: p, Trust: TrustOptions{KeyPath: c.key}})
			if err != nil {
				t.Fatal(err)
			}
			if r.Verified != c.ok {
				t.Fatalf("verified=%v, want %v: %+v", r.Verified, c.ok, r.Problems)
			}
			if c.want != "" && !strings.Contains(r.Problems[0].Message, c.want) {
				t.Fatalf("message %q lacks %q", r.Problems[0].Message, c.want)
			}
		})
	}
}

// TestProblemsCapped: a validly signed statement listing 50,000 files
// (a 5 MB signature) that are not there fails with the first MaxProblems and a count, not a
// problem per file.
func TestProblemsCapped(t *testing.T) {
	k := newECKey(t, elliptic.P256())
	dir := makeModel(t, "m", map[string]string{"w.bin": "weights"})
	m, err := HashModel(dir, HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50000
	for i := 0; i < n; i++ {
		m.Resources = append(m.Resources, Resource{Name: fmt.Sprintf("x%d", i), Algorithm: "sha256", Digest: strings.Repeat("a", 64)})
	}
	st, err := StatementJSON(m)
	if err != nil {
		t.Fatal(err)
	}
	sig := filepath.Join(t.TempDir(), "model.sig")
	os.WriteFile(sig, signedBundle(t, k, InTotoPayloadType, st), 0o644)
	r, err := Verify(dir, Options{SignaturePath: sig, Trust: TrustOptions{KeyPath: writePublicKey(t, k.Public())}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Verified || len(r.Problems) != MaxProblems+1 || r.OmittedProblems != n-MaxProblems {
		t.Fatalf("verified=%v, %d problems, %d omitted: %.300v", r.Verified, len(r.Problems), r.OmittedProblems, r.Problems)
	}
	if last := r.Problems[MaxProblems]; last.Kind != "omitted" || !strings.Contains(last.Message, fmt.Sprint(n-MaxProblems)) {
		t.Fatalf("last problem %+v", last)
	}
}
