package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// signedBundle signs payload (as payloadType) with k into a key bundle.
func signedBundle(t testing.TB, k *ecdsa.PrivateKey, payloadType string, payload []byte) []byte {
	t.Helper()
	sig, err := signPAE(k, pae(payloadType, payload))
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundleJSON(payload, sig, k.Public(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if payloadType != InTotoPayloadType {
		b = []byte(strings.Replace(string(b), `"payloadType":"`+InTotoPayloadType+`"`, `"payloadType":"`+payloadType+`"`, 1))
	}
	return b
}

// TestMalformedSignaturesRefused: each case is a signature that is
// correctly signed (or deliberately broken) but does not describe a model
// the way OMS does; every one must fail with a reason naming the defect.
func TestMalformedSignaturesRefused(t *testing.T) {
	k := newECKey(t, elliptic.P256())
	pubPath := writePublicKey(t, k.Public())
	dir := makeModel(t, "m", map[string]string{"w.bin": "weights"})
	m, err := HashModel(dir, HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good, err := StatementJSON(m)
	if err != nil {
		t.Fatal(err)
	}
	var base map[string]any
	json.Unmarshal(good, &base)
	edit := func(f func(map[string]any)) []byte {
		var v map[string]any
		json.Unmarshal(good, &v)
		f(v)
		out, _ := json.Marshal(v)
		return out
	}
	pred := func(v map[string]any) map[string]any { return v["predicate"].(map[string]any) }
	resource := func(name string) func(map[string]any) {
		return func(v map[string]any) {
			r := pred(v)["resources"].([]any)[0].(map[string]any)
			r["name"] = name
			// keep the root digest consistent so only the name is at fault
		}
	}
	cases := []struct {
		name, payloadType string
		payload           []byte
		raw               []byte // used instead of a signed bundle
		want              string
	}{
		{name: "no-subject", payload: edit(func(v map[string]any) { v["subject"] = []any{} }), want: "0 subjects"},
		{name: "two-subjects", payload: edit(func(v map[string]any) {
			s := v["subject"].([]any)
			v["subject"] = append(s, s[0])
		}), want: "2 subjects"},
		{name: "empty-resource-list", payload: edit(func(v map[string]any) { pred(v)["resources"] = []any{} }), want: "no resources"},
		{name: "wrong-statement-type", payload: edit(func(v map[string]any) { v["_type"] = "https://in-toto.io/Statement/v0.1" }), want: "statement type"},
		{name: "wrong-predicate-type", payload: edit(func(v map[string]any) { v["predicateType"] = "https://slsa.dev/provenance/v1" }), want: "predicate type"},
		{name: "wrong-payload-type", payloadType: "application/json", payload: good, want: "payload type"},
		{name: "root-digest-inconsistent", payload: edit(func(v map[string]any) {
			v["subject"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha256": strings.Repeat("0", 64)}
		}), want: "inconsistent"},
		{name: "resource-dotdot", payload: edit(resource("../etc/passwd")), want: "'..'"},
		{name: "resource-absolute", payload: edit(resource("/etc/passwd")), want: "absolute"},
		{name: "resource-backslash", payload: edit(resource(`sub\..\..\x`)), want: "backslash"},
		{name: "resource-drive-letter", payload: edit(resource("C:/Windows/x")), want: "drive letter"},
		{name: "unknown-method", payload: edit(func(v map[string]any) { pred(v)["serialization"].(map[string]any)["method"] = "tensors" }), want: "unknown serialization"},
		{name: "unsupported-hash", payload: edit(func(v map[string]any) { pred(v)["serialization"].(map[string]any)["hash_type"] = "md5" }), want: "hash type"},
		{name: "duplicate-json-key", payload: []byte(strings.Replace(string(good), `"_type": "https://in-toto.io/Statement/v1",`, `"_type": "https://in-toto.io/Statement/v1", "_type": "x",`, 1)), want: "duplicate"},
		{name: "key-differs-by-case", payload: []byte(strings.Replace(string(good), `"predicateType":`, `"PredicateType": "x", "predicateType":`, 1)), want: "only by case"},
		{name: "truncated-bundle", raw: signedBundle(t, k, InTotoPayloadType, good)[:200], want: "not a readable"},
		{name: "not-json", raw: []byte("\x00\x01binary"), want: "not a readable"},
		{name: "no-envelope", raw: []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}}}`), want: "no DSSE envelope"},
		{name: "wrong-media-type", raw: []byte(strings.Replace(string(signedBundle(t, k, InTotoPayloadType, good)), "bundle.v0.3+json", "bundle.v9+json", 1)), want: "media type"},
	}
	corrupt := signedBundle(t, k, InTotoPayloadType, good)
	var cb map[string]any
	json.Unmarshal(corrupt, &cb)
	sigs := cb["dsseEnvelope"].(map[string]any)["signatures"].([]any)
	sigs[0].(map[string]any)["sig"] = "MEUCIQDlJ1kZ0dAQ0+/fX6bO0CrG9jE6y0x9lGQmGzmY+9vqjAIgDc2M2p5b4Y0wXG2dT0D8oX5Q5l3y1s6Xy9Jk9w0x2ss="
	corrupt, _ = json.Marshal(cb)
	cases = append(cases, struct {
		name, payloadType string
		payload           []byte
		raw               []byte
		want              string
	}{name: "corrupted-signature", raw: corrupt, want: "does not verify"})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.raw
			if b == nil {
				pt := c.payloadType
				if pt == "" {
					pt = InTotoPayloadType
				}
				b = signedBundle(t, k, pt, c.payload)
			}
			sig := filepath.Join(t.TempDir(), "model.sig")
			writeFile(t, sig, b)
			r, err := Verify(dir, Options{SignaturePath: sig, Trust: TrustOptions{KeyPath: pubPath}})
			if err != nil {
				t.Fatal(err)
			}
			if r.Verified {
				t.Fatal("verified")
			}
			if !strings.Contains(r.Problems[0].Message, c.want) {
				t.Errorf("reason %q does not mention %q", r.Problems[0].Message, c.want)
			}
		})
	}
	// The unmodified statement verifies, so each refusal above is due to
	// its one defect.
	sig := filepath.Join(t.TempDir(), "model.sig")
	writeFile(t, sig, signedBundle(t, k, InTotoPayloadType, good))
	mustVerify(t, dir, Options{SignaturePath: sig, Trust: TrustOptions{KeyPath: pubPath}})
}

func TestTrustOptionsMethod(t *testing.T) {
	cases := []struct {
		name string
		t    TrustOptions
		want string // method or error substring
	}{
		{"none", TrustOptions{}, "no trust given"},
		{"key", TrustOptions{KeyPath: "k"}, MethodKey},
		{"chain", TrustOptions{CAChainPaths: []string{"c"}}, MethodCertificate},
		{"keyless", TrustOptions{Identity: "a", Issuer: "b", TrustedRootPath: "r"}, MethodKeyless},
		{"key-and-chain", TrustOptions{KeyPath: "k", CAChainPaths: []string{"c"}}, "several trust methods"},
		{"keyless-no-root", TrustOptions{Identity: "a", Issuer: "b"}, "trusted root"},
		{"keyless-no-issuer", TrustOptions{Identity: "a", TrustedRootPath: "r"}, "OIDC issuer"},
		{"keyless-no-identity", TrustOptions{Issuer: "b", TrustedRootPath: "r"}, "identity"},
		// A broken pattern is a usage error (exit 2) caught up front, not
		// a "not verified" model (exit 1) found after reading the bundle.
		{"keyless-bad-identity-regexp", TrustOptions{IdentityRegexp: "[", Issuer: "b", TrustedRootPath: "r"}, "--certificate-identity-regexp \"[\" is not a valid regular expression"},
		{"keyless-bad-issuer-regexp", TrustOptions{Identity: "a", IssuerRegexp: "(", TrustedRootPath: "r"}, "--certificate-oidc-issuer-regexp"},
	}
	for _, c := range cases {
		m, err := c.t.Method()
		got := m
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

// TestCertificateValidityAtSigningTime follows the reference tool: the
// chain is checked at the leaf's NotBefore; a leaf expired or not yet
// valid now is refused (OMS v1.0 8.2), and a leaf that may not sign is
// refused.
func TestCertificateValidityAtSigningTime(t *testing.T) {
	dir := makeModel(t, "m", map[string]string{"w": "x"})
	cases := []struct {
		name      string
		nb, na    time.Time
		ku        x509.KeyUsage
		eku       []x509.ExtKeyUsage
		ok        bool
		wantInMsg string
	}{
		{"valid-now", time.Now().Add(-time.Hour), time.Now().Add(time.Hour), x509.KeyUsageDigitalSignature, nil, true, ""},
		// OMS v1.0 8.2: the leaf MUST be within its validity period
		// (model_signing, checking at NotBefore, would accept it).
		{"expired-leaf", time.Now().Add(-48 * time.Hour), time.Now().Add(-24 * time.Hour), x509.KeyUsageDigitalSignature, nil, false, "expired on"},
		{"not-yet-valid", time.Now().Add(24 * time.Hour), time.Now().Add(48 * time.Hour), x509.KeyUsageDigitalSignature, nil, false, "not valid before"},
		{"code-signing-eku-only", time.Now().Add(-time.Hour), time.Now().Add(time.Hour), x509.KeyUsageKeyEncipherment, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, true, ""},
		{"tls-server-cert", time.Now().Add(-time.Hour), time.Now().Add(time.Hour), x509.KeyUsageKeyEncipherment, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, false, "may not be used for signing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pki := newPKI(t, c.nb, c.na, c.ku, c.eku)
			sig := filepath.Join(t.TempDir(), "model.sig")
			if _, _, err := Sign(dir, SignOptions{Key: pki.leafKey, Certificate: pki.leaf.Raw, Chain: [][]byte{pki.inter.Raw}, SignaturePath: sig}); err != nil {
				t.Fatal(err)
			}
			r, err := Verify(dir, Options{SignaturePath: sig, Trust: TrustOptions{CAChainPaths: []string{writeCertPEM(t, pki.root)}}})
			if err != nil {
				t.Fatal(err)
			}
			if r.Verified != c.ok {
				t.Fatalf("verified=%v, want %v: %+v", r.Verified, c.ok, r.Problems)
			}
			if c.wantInMsg != "" {
				all := ""
				for _, p := range r.Problems {
					all += p.Message
				}
				if r.Signer != nil {
					all += strings.Join(r.Signer.Notes, " ")
				}
				if !strings.Contains(all, c.wantInMsg) {
					t.Errorf("%q not in %q", c.wantInMsg, all)
				}
			}
		})
	}
}
