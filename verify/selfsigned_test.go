package verify

import (
	"crypto/elliptic"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSelfSignedLeafAsItsOwnChain: the OMS conformance case of a
// self-signed signing certificate given as its own --certificate-chain.
// The reference accepts it when it is a CA (basicConstraints CA:TRUE) with
// the code-signing EKU; the other rules about chains are unchanged.
func TestSelfSignedLeafAsItsOwnChain(t *testing.T) {
	dir := makeModel(t, "m", map[string]string{"w": "x"})
	now := time.Now()
	cases := []struct {
		name string
		ca   bool
		ku   x509.KeyUsage
		eku  []x509.ExtKeyUsage
		nb   time.Time
		ok   bool
		want string
	}{
		{"CA:TRUE with codeSigning EKU (conformance case)", true, x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, now.Add(-time.Hour), true, ""},
		{"CA:TRUE, digitalSignature without keyCertSign, codeSigning EKU", true, x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, now.Add(-time.Hour), true, ""},
		{"CA:TRUE, keyCertSign only, codeSigning EKU", true, x509.KeyUsageCertSign, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, now.Add(-time.Hour), true, ""},
		{"CA:TRUE without any signing usage", true, x509.KeyUsageCertSign, nil, now.Add(-time.Hour), false, "may not be used for signing"},
		{"CA:TRUE with a TLS server EKU only", true, x509.KeyUsageCertSign, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, now.Add(-time.Hour), false, "may not be used for signing"},
		{"self-signed, not yet valid", true, x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, now.Add(24 * time.Hour), false, "not valid before"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := newECKey(t, elliptic.P256())
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "self-signed model signer"},
				NotBefore: c.nb, NotAfter: c.nb.Add(48 * time.Hour), IsCA: c.ca, BasicConstraintsValid: true, KeyUsage: c.ku, ExtKeyUsage: c.eku}
			cert := newCert(t, tmpl, tmpl, k.Public(), k)
			sig := filepath.Join(t.TempDir(), "model.sig")
			if _, _, err := Sign(dir, SignOptions{Key: k, Certificate: cert.Raw, Chain: [][]byte{cert.Raw}, SignaturePath: sig}); err != nil {
				t.Fatal(err)
			}
			r, err := Verify(dir, Options{SignaturePath: sig, Trust: TrustOptions{CAChainPaths: []string{writeCertPEM(t, cert)}}})
			if err != nil {
				t.Fatal(err)
			}
			if r.Verified != c.ok {
				t.Fatalf("verified=%v, want %v: %+v", r.Verified, c.ok, r.Problems)
			}
			if c.want != "" && (len(r.Problems) == 0 || !strings.Contains(r.Problems[0].Message, c.want)) {
				t.Fatalf("problems %+v, want %q", r.Problems, c.want)
			}
		})
	}
	// The self-signed certificate trusted as a CA does not make another
	// certificate it did not issue acceptable (chains are unchanged).
	t.Run("another self-signed leaf is not trusted", func(t *testing.T) {
		k := newECKey(t, elliptic.P256())
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(8), Subject: pkix.Name{CommonName: "self-signed model signer"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
		cert := newCert(t, tmpl, tmpl, k.Public(), k)
		k2 := newECKey(t, elliptic.P256())
		other := newCert(t, tmpl, tmpl, k2.Public(), k2) // same subject, other key
		sig := filepath.Join(t.TempDir(), "model.sig")
		if _, _, err := Sign(dir, SignOptions{Key: k2, Certificate: other.Raw, SignaturePath: sig}); err != nil {
			t.Fatal(err)
		}
		r, err := Verify(dir, Options{SignaturePath: sig, Trust: TrustOptions{CAChainPaths: []string{writeCertPEM(t, cert)}}})
		if err != nil {
			t.Fatal(err)
		}
		if r.Verified {
			t.Fatal("a certificate the trusted one did not issue verified")
		}
	})
}
