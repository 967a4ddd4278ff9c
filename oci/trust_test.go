package oci

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/oci/ocitest"
	"github.com/modelvet/modelvet/policy"
)

// TestVerifyCertificateAndKeyless: registry signatures made with
// certificates, in cosign's format (certificate and chain annotations,
// Rekor bundle for keyless), verify under CA-chain and keyless trust
// offline; a wrong identity, another CA, a signature copied from another
// artifact and a keyless signature without its log entry do not.
func TestVerifyCertificateAndKeyless(t *testing.T) {
	host := ocitest.Registry(t)
	dir := t.TempDir()
	layers := []ocitest.Layer{ocitest.L(ocitest.ModelPackWeight, ocitest.Safetensors(), ocitest.ModelPackPath("model.safetensors"))}
	n := 0
	push := func() (string, string) {
		n++
		repo := host + "/models/m" + itoa(n)
		dg := ocitest.Push(t, repo+":v1", ocitest.ModelPackManifest, ocitest.ModelPackConfig, []byte(`{"n":`+itoa(n)+`}`), layers)
		return repo, dg
	}

	pki := ocitest.NewPKI(t)
	otherPKI := ocitest.NewPKI(t)
	rootPEM := ocitest.WritePEM(t, dir, "root.pem", pki.Root)
	interPEM := ocitest.WritePEM(t, dir, "inter.pem", pki.Inter)
	otherRootPEM := ocitest.WritePEM(t, dir, "other-root.pem", otherPKI.Root)
	const alice, issuer = "alice@example.com", "https://issuer.example.com"

	certRepo, certDg := push()
	leaf, key := pki.Leaf(t, alice, issuer)
	ocitest.CosignSignWith(t, certRepo+"@"+certDg, key, leaf, []*x509.Certificate{pki.Inter, pki.Root}, nil)
	foreignRepo, foreignDg := push()
	fleaf, fkey := otherPKI.Leaf(t, alice, issuer)
	ocitest.CosignSignWith(t, foreignRepo+"@"+foreignDg, fkey, fleaf, []*x509.Certificate{otherPKI.Inter, otherPKI.Root}, nil)
	certCopyRepo, certCopyDg := push()
	copySignature(t, certRepo+"@"+certDg, certCopyRepo+"@"+certCopyDg)

	ks := ocitest.NewKeyless(t)
	otherKS := ocitest.NewKeyless(t)
	trustedRoot := ks.TrustedRoot(t, dir)
	otherRoot := otherKS.TrustedRoot(t, t.TempDir())
	klRepo, klDg := push()
	ks.Sign(t, klRepo+"@"+klDg, alice, issuer)
	klCopyRepo, klCopyDg := push()
	copySignature(t, klRepo+"@"+klDg, klCopyRepo+"@"+klCopyDg)
	// A Fulcio certificate without its Rekor entry: offline there is no
	// proof of when it signed, so it must not verify.
	noLogRepo, noLogDg := push()
	kleaf, kkey, err := ks.VS.GenerateLeafCert(alice, issuer)
	if err != nil {
		t.Fatal(err)
	}
	ocitest.CosignSignWith(t, noLogRepo+"@"+noLogDg, kkey.(crypto.Signer), kleaf, nil, nil)

	exact := func(s string) string { return "^" + regexp.QuoteMeta(s) + "$" }
	chain := Trust{CAChains: []string{rootPEM}}
	keyless := Trust{TrustedRoot: trustedRoot, IdentityRegexp: exact(alice), IssuerRegexp: exact(issuer)}
	cases := []struct {
		name  string
		repo  string
		dg    string
		trust Trust
		want  bool
		why   string // what the refusal must say
	}{
		{"certificate chaining to our root (chain from the signature)", certRepo, certDg, chain, true, ""},
		{"certificate chaining to our root and intermediate files", certRepo, certDg, Trust{CAChains: []string{rootPEM, interPEM}}, true, ""},
		{"certificate with the named identity", certRepo, certDg, Trust{CAChains: []string{rootPEM}, IdentityRegexp: exact(alice)}, true, ""},
		{"certificate with a wrong identity", certRepo, certDg, Trust{CAChains: []string{rootPEM}, IdentityRegexp: exact("bob@example.com")}, false, "expected identities"},
		{"certificate with a wrong issuer", certRepo, certDg, Trust{CAChains: []string{rootPEM}, IssuerRegexp: exact("https://evil.example.com")}, false, "expected identities"},
		{"certificate from another CA", foreignRepo, foreignDg, chain, false, "unknown authority"},
		{"certificate trusting another root", certRepo, certDg, Trust{CAChains: []string{otherRootPEM}}, false, "unknown authority"},
		{"certificate signature copied from another artifact", certCopyRepo, certCopyDg, chain, false, "digest in claim"},
		{"keyless with its Rekor bundle", klRepo, klDg, keyless, true, ""},
		{"keyless with a wrong identity", klRepo, klDg, Trust{TrustedRoot: trustedRoot, IdentityRegexp: exact("bob@example.com"), IssuerRegexp: exact(issuer)}, false, "expected identities"},
		{"keyless with a wrong issuer", klRepo, klDg, Trust{TrustedRoot: trustedRoot, IdentityRegexp: exact(alice), IssuerRegexp: exact("https://evil.example.com")}, false, "expected identities"},
		{"keyless under another trusted root", klRepo, klDg, Trust{TrustedRoot: otherRoot, IdentityRegexp: exact(alice), IssuerRegexp: exact(issuer)}, false, "rekor log public key not found"},
		{"keyless signature copied from another artifact", klCopyRepo, klCopyDg, keyless, false, "digest in claim"},
		{"keyless certificate without a log entry", noLogRepo, noLogDg, keyless, false, "offline verification failed"},
		{"keyless signature checked as a private CA's", klRepo, klDg, chain, false, "unknown authority"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := Pull(context.Background(), Scheme+c.repo+"@"+c.dg, Options{Insecure: true})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			res, err := VerifySignatures(context.Background(), a, Options{Insecure: true}, c.trust)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verified != c.want {
				t.Fatalf("verified=%v, want %v (%v)", res.Verified, c.want, res.Problems)
			}
			if !res.Present {
				t.Errorf("a signature is attached, but Present is false")
			}
			if c.want && len(res.Signers) == 0 {
				t.Errorf("verified without naming the signer")
			}
			if !c.want && !strings.Contains(strings.Join(res.Problems, "; "), c.why) {
				t.Errorf("refused for another reason than %q: %v", c.why, res.Problems)
			}
		})
	}

	// Trust material the operator got wrong is an error, never a verdict.
	for _, tr := range []struct {
		name  string
		trust Trust
	}{
		{"missing key file", Trust{Keys: []string{filepath.Join(dir, "nope.pub")}}},
		{"CA file without a root", Trust{CAChains: []string{interPEM}}},
		{"keyless without identity", Trust{TrustedRoot: trustedRoot, IssuerRegexp: exact(issuer)}},
		{"two methods", Trust{CAChains: []string{rootPEM}, TrustedRoot: trustedRoot, IdentityRegexp: "x", IssuerRegexp: "y"}},
		{"no method", Trust{}},
	} {
		t.Run("trust material: "+tr.name, func(t *testing.T) {
			a := &Artifact{Repo: certRepo, Digest: certDg}
			_, err := VerifySignatures(context.Background(), a, Options{Insecure: true}, tr.trust)
			if !errors.Is(err, policy.ErrTrustMaterial) {
				t.Fatalf("err = %v, want ErrTrustMaterial", err)
			}
		})
	}
}
