package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// copyTree copies a fixture folder (or file) into a fresh temp dir so tests
// can change it; the shared corpus is never written.
func copyTree(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		o, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		defer o.Close()
		_, err = io.Copy(o, in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func newECKey(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// writePublicKey writes pub as a PEM file and returns its path.
func writePublicKey(t testing.TB, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "pub.pem")
	writeFile(t, p, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return p
}

func writeCertPEM(t testing.TB, certs ...*x509.Certificate) string {
	t.Helper()
	var data []byte
	for _, c := range certs {
		data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	p := filepath.Join(t.TempDir(), "certs.pem")
	writeFile(t, p, data)
	return p
}

// testPKI is a root CA, an intermediate and a code-signing leaf.
type testPKI struct {
	root, inter, leaf *x509.Certificate
	leafKey           *ecdsa.PrivateKey
}

func newCert(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, priv crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newPKI(t testing.TB, notBefore, notAfter time.Time, leafUsage x509.KeyUsage, leafEKU []x509.ExtKeyUsage) *testPKI {
	rk := newECKey(t, elliptic.P256())
	rt := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test root"}, NotBefore: notBefore.Add(-time.Hour), NotAfter: notAfter.Add(24 * time.Hour * 365),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	root := newCert(t, rt, rt, rk.Public(), rk)
	ik := newECKey(t, elliptic.P256())
	it := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "test intermediate"}, NotBefore: notBefore.Add(-time.Hour), NotAfter: notAfter.Add(24 * time.Hour * 365),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	inter := newCert(t, it, root, ik.Public(), rk)
	lk := newECKey(t, elliptic.P384())
	lt := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "model signer"}, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: leafUsage, ExtKeyUsage: leafEKU}
	leaf := newCert(t, lt, inter, lk.Public(), ik)
	return &testPKI{root: root, inter: inter, leaf: leaf, leafKey: lk}
}

// makeModel writes files into a fresh folder named name.
func makeModel(t testing.TB, name string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, c := range files {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(n)), []byte(c))
	}
	return dir
}

func mustVerify(t testing.TB, model string, o Options) *Result {
	t.Helper()
	r, err := Verify(model, o)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !r.Verified {
		t.Fatalf("not verified: %+v", r.Problems)
	}
	return r
}

func mustFail(t testing.TB, model string, o Options, kind string) *Result {
	t.Helper()
	r, err := Verify(model, o)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if r.Verified {
		t.Fatalf("verified, want a %q failure", kind)
	}
	for _, p := range r.Problems {
		if p.Kind == kind {
			return r
		}
	}
	t.Fatalf("problems %+v, want one of kind %q", r.Problems, kind)
	return r
}

const cryptoSHA256 = crypto.SHA256
