package verify

import (
	"crypto/elliptic"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"
)

// TestCertificateMethodRefusesFulcioLeaf: a keyless (Fulcio) certificate
// names an OIDC identity; accepting it under --certificate-chain (which
// checks no identity) would let anyone the CA certified pass, i.e. every
// holder of an e-mail account with the public Fulcio root. It must be
// refused with a pointer to the keyless flags; a plain leaf from the same
// CA still verifies.
func TestCertificateMethodRefusesFulcioLeaf(t *testing.T) {
	now := time.Now()
	pki := newPKI(t, now.Add(-time.Hour), now.Add(time.Hour), x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning})
	issuerV2, _ := asn1.Marshal("https://accounts.google.com")
	lk := newECKey(t, elliptic.P256())
	rk := newECKey(t, elliptic.P256())
	rt := &x509.Certificate{SerialNumber: big.NewInt(10), Subject: pkix.Name{CommonName: "sigstore"}, NotBefore: now.Add(-2 * time.Hour), NotAfter: now.Add(time.Hour * 24),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	root := newCert(t, rt, rt, rk.Public(), rk)
	lt := &x509.Certificate{SerialNumber: big.NewInt(11), NotBefore: now.Add(-time.Minute), NotAfter: now.Add(9 * time.Minute),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		EmailAddresses: []string{"anyone@example.com"},
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}, Value: []byte("https://accounts.google.com")},
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}, Value: issuerV2},
		}}
	leaf := newCert(t, lt, root, lk.Public(), rk)

	cases := []struct {
		name     string
		sign     SignOptions
		caPath   func() string
		wantFail string
	}{
		{"fulcio leaf under the certificate method", SignOptions{Key: lk, Certificate: leaf.Raw}, func() string { return writeCertPEM(t, root) }, "Sigstore keyless (Fulcio) certificate"},
		{"plain code-signing leaf from a private CA", SignOptions{Key: pki.leafKey, Certificate: pki.leaf.Raw, Chain: [][]byte{pki.inter.Raw}}, func() string { return writeCertPEM(t, pki.root) }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := makeModel(t, "m", map[string]string{"model.safetensors": "w"})
			if _, _, err := Sign(dir, c.sign); err != nil {
				t.Fatal(err)
			}
			o := Options{Trust: TrustOptions{CAChainPaths: []string{c.caPath()}}}
			if c.wantFail == "" {
				mustVerify(t, dir, o)
				return
			}
			r := mustFail(t, dir, o, "signature")
			if !strings.Contains(r.Problems[0].Message, c.wantFail) || !strings.Contains(r.Problems[0].Message, "--certificate-identity") {
				t.Errorf("message %q does not explain the refusal", r.Problems[0].Message)
			}
		})
	}
}
