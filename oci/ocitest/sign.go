package ocitest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/modelvet/modelvet/internal/sigstoretest"
	"github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	cstatic "github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// CosignSignWith attaches a signature in cosign's format: a simple-signing
// payload naming the digest, signed by signer, stored under the
// sha256-<hex>.sig tag. With leaf, the signature carries the certificate
// and chain annotations cosign writes for certificate and keyless
// signatures; with rekor, the Rekor bundle annotation (made by rekor from
// the payload, signature and certificate, as Rekor's response is).
func CosignSignWith(t testing.TB, digestRef string, signer crypto.Signer, leaf *x509.Certificate, chain []*x509.Certificate,
	rekor func(payload, sig, certPEM []byte) *bundle.RekorBundle) {
	t.Helper()
	sign(t, digestRef, signer, leaf, chain, rekor, false)
}

// CosignSignReferrer attaches a key signature as an OCI 1.1 referrer of
// the digest (cosign sign --registry-referrers-mode=oci-1-1), not under
// the .sig tag.
func CosignSignReferrer(t testing.TB, digestRef string, signer crypto.Signer) {
	t.Helper()
	sign(t, digestRef, signer, nil, nil, nil, true)
}

func sign(t testing.TB, digestRef string, signer crypto.Signer, leaf *x509.Certificate, chain []*x509.Certificate,
	rekor func(payload, sig, certPEM []byte) *bundle.RekorBundle, referrer bool) {
	t.Helper()
	d, err := name.NewDigest(digestRef, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := (&payload.Cosign{Image: d}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadSigner(signer, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := s.SignMessage(bytes.NewReader(pl))
	if err != nil {
		t.Fatal(err)
	}
	var opts []cstatic.Option
	if leaf != nil {
		certPEM, err := cryptoutils.MarshalCertificatesToPEM([]*x509.Certificate{leaf})
		if err != nil {
			t.Fatal(err)
		}
		chainPEM, err := cryptoutils.MarshalCertificatesToPEM(chain)
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, cstatic.WithCertChain(certPEM, chainPEM))
		if rekor != nil {
			opts = append(opts, cstatic.WithBundle(rekor(pl, raw, certPEM)))
		}
	}
	sig, err := cstatic.NewSignature(pl, base64.StdEncoding.EncodeToString(raw), opts...)
	if err != nil {
		t.Fatal(err)
	}
	se, err := ociremote.SignedEntity(d)
	if err != nil {
		t.Fatal(err)
	}
	se, err = mutate.AttachSignatureToEntity(se, sig)
	if err != nil {
		t.Fatal(err)
	}
	write := func() error { return ociremote.WriteSignatures(d.Repository, se) }
	if referrer {
		write = func() error { return ociremote.WriteSignaturesExperimentalOCI(d, se) }
	}
	if err := write(); err != nil {
		t.Fatal(err)
	}
}

// PKI is a private CA (root and intermediate, ECDSA P-256) that issues
// code-signing certificates, as a company's signing CA does.
type PKI struct {
	Root, Inter       *x509.Certificate
	rootKey, interKey crypto.Signer
}

// NewPKI makes a root and an intermediate CA.
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	r, rk, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	i, ik, err := ca.GenerateFulcioIntermediate(r, rk)
	if err != nil {
		t.Fatal(err)
	}
	return &PKI{Root: r, Inter: i, rootKey: rk, interKey: ik}
}

// Leaf issues a short-lived code-signing certificate for the e-mail
// identity (and OIDC issuer extension) under the intermediate.
func (p *PKI) Leaf(t testing.TB, identity, issuer string) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.GenerateLeafCert(identity, issuer, time.Now().Add(-time.Minute), k, p.Inter, p.interKey)
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

// WritePEM writes certificates as one PEM file in dir and returns its path.
func WritePEM(t testing.TB, dir, file string, certs ...*x509.Certificate) string {
	t.Helper()
	b, err := cryptoutils.MarshalCertificatesToPEM(certs)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, file)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Keyless is a virtual Sigstore (sigstore-go's test CA: a Fulcio-like CA
// and a Rekor log key) for keyless signatures made offline.
type Keyless struct{ VS *ca.VirtualSigstore }

// NewKeyless starts a virtual Sigstore.
func NewKeyless(t testing.TB) *Keyless {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	return &Keyless{vs}
}

// Sign attaches a keyless signature as `cosign sign` makes one: a
// certificate for identity/issuer from the virtual Fulcio, and a Rekor
// bundle (hashedrekord entry and signed entry timestamp by the virtual
// Rekor's key).
func (k *Keyless) Sign(t testing.TB, digestRef, identity, issuer string) {
	t.Helper()
	leaf, priv, err := k.VS.GenerateLeafCert(identity, issuer)
	if err != nil {
		t.Fatal(err)
	}
	inter := k.VS.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority)
	chain := append(append([]*x509.Certificate{}, inter.Intermediates...), inter.Root)
	CosignSignWith(t, digestRef, priv.(crypto.Signer), leaf, chain, func(pl, sig, certPEM []byte) *bundle.RekorBundle {
		sum := sha256.Sum256(pl)
		body, err := json.Marshal(map[string]any{
			"apiVersion": "0.0.1", "kind": "hashedrekord",
			"spec": map[string]any{
				"data":      map[string]any{"hash": map[string]any{"algorithm": "sha256", "value": hex.EncodeToString(sum[:])}},
				"signature": map[string]any{"content": base64.StdEncoding.EncodeToString(sig), "publicKey": map[string]any{"content": base64.StdEncoding.EncodeToString(certPEM)}},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		logID, err := k.VS.RekorLogID()
		if err != nil {
			t.Fatal(err)
		}
		p := tlog.RekorPayload{Body: base64.StdEncoding.EncodeToString(body), IntegratedTime: time.Now().Unix(), LogIndex: 1, LogID: logID}
		set, err := k.VS.RekorSignPayload(p)
		if err != nil {
			t.Fatal(err)
		}
		return &bundle.RekorBundle{SignedEntryTimestamp: set, Payload: bundle.RekorPayload{Body: p.Body, IntegratedTime: p.IntegratedTime, LogIndex: p.LogIndex, LogID: p.LogID}}
	})
}

// TrustedRoot writes the virtual Sigstore's trusted_root.json (its CA and
// Rekor log; no CT log, since its certificates carry no SCT) into dir.
func (k *Keyless) TrustedRoot(t testing.TB, dir string) string {
	t.Helper()
	return sigstoretest.WriteTrustedRoot(t, dir, k.VS.FulcioCertificateAuthorities(), k.VS)
}
