package verify

import (
	"crypto/elliptic"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// TestRedTeamKeylessIdentities issues keyless certificates from a Fulcio
// CA the test holds (logged in the virtual Rekor), with each kind of
// identity Fulcio writes (e-mail, URI of a GitHub workflow, otherName
// username) and both forms of the OIDC issuer extension, and checks exact
// and regexp matching against lookalikes, and that certificates whose
// identity two verifiers could read differently are refused.
func TestRedTeamKeylessIdentities(t *testing.T) {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	interKey := newECKey(t, elliptic.P384())
	interCert := newCert(t, &x509.Certificate{
		SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "red-team fulcio intermediate"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}, rootCert, interKey.Public(), rootKey)
	tm := &ownFulcio{VirtualSigstore: vs, cas: []root.CertificateAuthority{&root.FulcioCertificateAuthority{
		Root: rootCert, Intermediates: []*x509.Certificate{interCert},
		ValidityPeriodStart: time.Now().Add(-2 * time.Hour), ValidityPeriodEnd: time.Now().Add(2 * time.Hour),
	}}}
	_, st := statementFor(t, map[string]string{"w.bin": "weights"})

	const (
		gh       = "https://token.actions.githubusercontent.com"
		workflow = "https://github.com/org/models/.github/workflows/release.yml@refs/heads/main"
		google   = "https://accounts.google.com"
	)
	issuerV1 := func(v string) pkix.Extension {
		return pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}, Value: []byte(v)}
	}
	issuerV2 := func(v string) pkix.Extension {
		der, _ := asn1.MarshalWithParams(v, "utf8")
		return pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}, Value: der}
	}
	uri := func(s string) []*url.URL { u, _ := url.Parse(s); return []*url.URL{u} }
	otherName := func(name string) pkix.Extension {
		e, err := cryptoutils.MarshalOtherNameSAN(name, true)
		if err != nil {
			t.Fatal(err)
		}
		return *e
	}
	// entity signs the statement with a fresh key certified by tmpl.
	entity := func(tmpl *x509.Certificate) *expiredEntity {
		leafKey := newECKey(t, elliptic.P256())
		now := time.Now().Truncate(time.Second)
		tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Minute), now.Add(10*time.Minute)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
		leaf := newCert(t, tmpl, interCert, leafKey.Public(), interKey)
		return signedEntity(t, vs, leaf, leafKey, st, now)
	}
	emailCert := func() *x509.Certificate {
		return &x509.Certificate{EmailAddresses: []string{"modeler@example.com"}, ExtraExtensions: []pkix.Extension{issuerV1(google), issuerV2(google)}}
	}
	workflowCert := func(id string, ext ...pkix.Extension) *x509.Certificate {
		return &x509.Certificate{URIs: uri(id), ExtraExtensions: ext}
	}
	cases := []struct {
		name  string
		cert  *x509.Certificate
		trust TrustOptions
		want  string // "" = must verify
	}{
		{"control/email-exact", emailCert(), TrustOptions{Identity: "modeler@example.com", Issuer: google}, ""},
		{"control/workflow-uri-issuer-v2-only", workflowCert(workflow, issuerV2(gh)), TrustOptions{Identity: workflow, Issuer: gh}, ""},
		{"control/workflow-uri-issuer-v1-only", workflowCert(workflow, issuerV1(gh)), TrustOptions{Identity: workflow, Issuer: gh}, ""},
		{"control/workflow-anchored-regexp-any-tag", workflowCert("https://github.com/org/models/.github/workflows/release.yml@refs/tags/v1.2", issuerV1(gh), issuerV2(gh)),
			TrustOptions{IdentityRegexp: `^https://github\.com/org/models/\.github/workflows/release\.yml@refs/tags/v[0-9.]+$`, Issuer: gh}, ""},
		{"control/othername-username", &x509.Certificate{ExtraExtensions: []pkix.Extension{otherName("modeler!example.com"), issuerV2("https://oidc.example")}},
			TrustOptions{Identity: "modeler!example.com", Issuer: "https://oidc.example"}, ""},
		{"email/case-differs", emailCert(), TrustOptions{Identity: "Modeler@example.com", Issuer: google}, "expected SAN value"},
		{"email/regexp-anchored-other-domain", emailCert(), TrustOptions{IdentityRegexp: `^modeler@example\.co$`, Issuer: google}, "expected SAN value"},
		{"workflow/repository-lookalike", workflowCert("https://github.com/org/models-evil/.github/workflows/release.yml@refs/heads/main", issuerV2(gh)), TrustOptions{Identity: workflow, Issuer: gh}, "expected SAN value"},
		{"workflow/other-branch", workflowCert("https://github.com/org/models/.github/workflows/release.yml@refs/heads/evil", issuerV2(gh)), TrustOptions{Identity: workflow, Issuer: gh}, "expected SAN value"},
		{"workflow/anchored-regexp-fork-with-prefix", workflowCert("https://github.com/evil/x/.github/workflows/a.yml?https://github.com/org/models/.github/workflows/release.yml@refs/tags/v1", issuerV2(gh)),
			TrustOptions{IdentityRegexp: `^https://github\.com/org/models/\.github/workflows/release\.yml@refs/tags/v[0-9.]+$`, Issuer: gh}, "expected SAN value"},
		{"workflow/other-issuer", workflowCert(workflow, issuerV2("https://gitlab.com")), TrustOptions{Identity: workflow, Issuer: gh}, "expected issuer value"},
		{"othername/as-email", &x509.Certificate{ExtraExtensions: []pkix.Extension{otherName("modeler!example.com"), issuerV2("https://oidc.example")}},
			TrustOptions{Identity: "modeler@example.com", Issuer: "https://oidc.example"}, "expected SAN value"},
		{"ambiguous/issuer-v1-and-v2-disagree", workflowCert(workflow, issuerV1(gh), issuerV2("https://evil.example")), TrustOptions{Identity: workflow, Issuer: gh}, "two OIDC issuers"},
		{"ambiguous/issuer-v2-then-v1-disagree", workflowCert(workflow, issuerV2("https://evil.example"), issuerV1(gh)), TrustOptions{Identity: workflow, Issuer: gh}, "two OIDC issuers"},
		{"ambiguous/uri-and-email", &x509.Certificate{URIs: uri(workflow), EmailAddresses: []string{"mallory@evil.example"}, ExtraExtensions: []pkix.Extension{issuerV2(gh)}},
			TrustOptions{Identity: workflow, Issuer: gh}, "names 2 identities"},
		{"ambiguous/two-uris", &x509.Certificate{URIs: append(uri(workflow), uri("https://github.com/evil/x/.github/workflows/a.yml@refs/heads/main")...), ExtraExtensions: []pkix.Extension{issuerV2(gh)}},
			TrustOptions{Identity: workflow, Issuer: gh}, "names 2 identities"},
		{"issuer/missing", workflowCert(workflow), TrustOptions{Identity: workflow, Issuer: gh}, "issuer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := c.trust
			o.TrustedRootPath = "virtual"
			_, err := verifyKeylessWith(entity(c.cert), tm, o)
			if c.want == "" {
				if err != nil {
					t.Fatalf("control refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("VERIFIED")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("refused, but not for %q: %v", c.want, err)
			}
		})
	}
}

// TestKeylessRekorV2Entry: a bundle logged in a Rekor v2 log (no
// integrated time; the signing time comes from a timestamp authority)
// verifies, and still only for its own identity.
func TestKeylessRekorV2Entry(t *testing.T) {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	_, st := statementFor(t, map[string]string{"w.bin": "weights"})
	ent, err := vs.AttestHashedRekordV2(vsIdentity, vsIssuer, st)
	if err != nil {
		t.Fatal(err)
	}
	good := TrustOptions{Identity: vsIdentity, Issuer: vsIssuer, TrustedRootPath: "virtual"}
	env, err := verifyKeylessWith(ent, noCT{vs}, good)
	if err != nil {
		t.Fatalf("Rekor v2 entry refused: %v", err)
	}
	if env.Signer.SignedAt.IsZero() {
		t.Error("no verified signing time")
	}
	other := good
	other.Identity = "mallory@example.com"
	if _, err := verifyKeylessWith(ent, noCT{vs}, other); err == nil {
		t.Fatal("Rekor v2 entry accepted for another identity")
	}
}
