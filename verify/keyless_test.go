package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
	sigdsse "github.com/sigstore/sigstore/pkg/signature/dsse"
)

const (
	vsIdentity = "modeler@example.com"
	vsIssuer   = "https://accounts.example.com"
)

func statementFor(t *testing.T, files map[string]string) (string, []byte) {
	t.Helper()
	dir := makeModel(t, "m", files)
	m, err := HashModel(dir, HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := StatementJSON(m)
	if err != nil {
		t.Fatal(err)
	}
	return dir, st
}

// TestKeylessVirtualSigstore verifies keyless signatures offline against
// sigstore-go's virtual Sigstore (Fulcio CA, Rekor log, TSA in memory).
func TestKeylessVirtualSigstore(t *testing.T) {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	_, st := statementFor(t, map[string]string{"w.bin": "weights"})
	ent, err := vs.Attest(vsIdentity, vsIssuer, st)
	if err != nil {
		t.Fatal(err)
	}
	good := TrustOptions{Identity: vsIdentity, Issuer: vsIssuer, TrustedRootPath: "virtual"}
	// The virtual Fulcio embeds no SCTs, and a root that lists CT logs
	// requires one: refused as is, accepted once CT logs are hidden.
	if _, err := verifyKeylessWith(ent, vs, good); err == nil || !strings.Contains(err.Error(), "signed certificate timestamp") {
		t.Fatalf("certificate without SCT accepted under a root with CT logs (err %v)", err)
	}
	env, err := verifyKeylessWith(ent, noCT{vs}, good)
	if err != nil {
		t.Fatalf("keyless signature refused: %v", err)
	}
	if env.Signer.Identity != vsIdentity || env.Signer.Issuer != vsIssuer || env.Signer.SignedAt.IsZero() {
		t.Errorf("signer %+v", env.Signer)
	}
	if _, err := ParseStatement(env.PayloadType, env.Payload); err != nil {
		t.Errorf("statement: %v", err)
	}
	other, _ := ca.NewVirtualSigstore()
	for _, c := range []struct {
		name string
		tm   root.TrustedMaterial
		mod  func(*TrustOptions)
		want string
	}{
		{"other-identity", noCT{vs}, func(o *TrustOptions) { o.Identity = "mallory@example.com" }, "mallory"},
		{"other-issuer", noCT{vs}, func(o *TrustOptions) { o.Issuer = "https://evil.example" }, "evil"},
		{"identity-regexp", noCT{vs}, func(o *TrustOptions) { o.Identity = ""; o.IdentityRegexp = `^.*@example\.org$` }, "example"},
		{"other-trusted-root", noCT{other}, func(o *TrustOptions) {}, "keyless verification failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := good
			c.mod(&o)
			_, err := verifyKeylessWith(ent, c.tm, o)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

// expiredEntity is a keyless signature whose Fulcio certificate is valid
// only in [notBefore, notBefore+10m], long past, with a log entry at
// logTime. No TSA timestamp, so the log's time is the only evidence.
type expiredEntity struct {
	leaf    *x509.Certificate
	env     *dsse.Envelope
	entries []*tlog.Entry
}

// signedEntity signs statement st with leafKey under the certificate leaf,
// as DSSE, and logs it in vs's Rekor at logTime.
func signedEntity(t *testing.T, vs *ca.VirtualSigstore, leaf *x509.Certificate, leafKey *ecdsa.PrivateKey, st []byte, logTime time.Time) *expiredEntity {
	t.Helper()
	sv, err := signature.LoadECDSASignerVerifier(leafKey, cryptoSHA256)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dsse.NewEnvelopeSigner(&sigdsse.SignerAdapter{SignatureSigner: sv, Pub: leaf.PublicKey.(*ecdsa.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	env, err := ds.SignPayload(context.Background(), InTotoPayloadType, st)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	entry, err := vs.GenerateTlogEntry(leaf, env, sig, logTime.Unix(), false)
	if err != nil {
		t.Fatal(err)
	}
	return &expiredEntity{leaf: leaf, env: env, entries: []*tlog.Entry{entry}}
}

func (e *expiredEntity) VerificationContent() (sgverify.VerificationContent, error) {
	return bundle.NewCertificate(e.leaf), nil
}
func (e *expiredEntity) HasInclusionPromise() bool { return true }
func (e *expiredEntity) HasInclusionProof() bool   { return false }
func (e *expiredEntity) Version() (string, error)  { return "v0.3", nil }
func (e *expiredEntity) SignatureContent() (sgverify.SignatureContent, error) {
	return &bundle.Envelope{Envelope: e.env}, nil
}
func (e *expiredEntity) Timestamps() ([][]byte, error)       { return nil, nil }
func (e *expiredEntity) TlogEntries() ([]*tlog.Entry, error) { return e.entries, nil }

// ownFulcio swaps the virtual Sigstore's Fulcio CA for one whose keys the
// test holds, so it can issue a certificate that expired long ago.
type ownFulcio struct {
	*ca.VirtualSigstore
	cas []root.CertificateAuthority
}

func (o *ownFulcio) FulcioCertificateAuthorities() []root.CertificateAuthority { return o.cas }
func (o *ownFulcio) CTLogs() map[string]*root.TransparencyLog                  { return nil }

// noCT hides the CT logs of a trusted root, so certificates without SCTs
// (all the virtual Fulcio issues) can be tested for everything else.
type noCT struct{ root.TrustedMaterial }

func (noCT) CTLogs() map[string]*root.TransparencyLog { return nil }

func TestKeylessExpiredCertificate(t *testing.T) {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	// ca.GenerateFulcioIntermediate starts its validity 2 minutes ago;
	// this one must cover the old signing time.
	interKey := newECKey(t, elliptic.P384())
	interCert := newCert(t, &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "old fulcio intermediate"},
		NotBefore: time.Now().Add(-4 * time.Hour), NotAfter: time.Now().Add(4 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}, rootCert, interKey.Public(), rootKey)
	tm := &ownFulcio{VirtualSigstore: vs, cas: []root.CertificateAuthority{&root.FulcioCertificateAuthority{
		Root: rootCert, Intermediates: []*x509.Certificate{interCert},
		ValidityPeriodStart: time.Now().Add(-24 * time.Hour), ValidityPeriodEnd: time.Now().Add(24 * time.Hour),
	}}}
	// Valid for 10 minutes from 50 minutes ago: expired now. (The virtual
	// Rekor key is only valid from an hour ago.)
	notBefore := time.Now().Add(-50 * time.Minute).Truncate(time.Second)
	_, st := statementFor(t, map[string]string{"w.bin": "weights"})
	makeEntity := func(logTime time.Time) *expiredEntity {
		leafKey := newECKey(t, elliptic.P256())
		leaf, err := ca.GenerateLeafCert(vsIdentity, vsIssuer, notBefore, leafKey, interCert, interKey)
		if err != nil {
			t.Fatal(err)
		}
		return signedEntity(t, vs, leaf, leafKey, st, logTime)
	}
	good := TrustOptions{Identity: vsIdentity, Issuer: vsIssuer, TrustedRootPath: "virtual"}
	t.Run("expired-now-but-logged-while-valid", func(t *testing.T) {
		env, err := verifyKeylessWith(makeEntity(notBefore.Add(5*time.Minute)), tm, good)
		if err != nil {
			t.Fatalf("refused a signature logged while its certificate was valid: %v", err)
		}
		if !env.Signer.SignedAt.Equal(notBefore.Add(5 * time.Minute).Truncate(time.Second)) {
			t.Errorf("signed at %v", env.Signer.SignedAt)
		}
	})
	t.Run("logged-after-expiry", func(t *testing.T) {
		_, err := verifyKeylessWith(makeEntity(time.Now()), tm, good)
		if err == nil {
			t.Fatal("accepted a signature whose only timestamp is after the certificate expired")
		}
		if !strings.Contains(err.Error(), "certificate validity") && !strings.Contains(err.Error(), "leaf certificate") {
			t.Errorf("refused for another reason than the expired certificate: %v", err)
		}
	})
	t.Run("no-log-entry", func(t *testing.T) {
		e := makeEntity(notBefore.Add(5 * time.Minute))
		e.entries = nil
		if _, err := verifyKeylessWith(e, tm, good); err == nil {
			t.Fatal("accepted an expired certificate with no log timestamp at all")
		}
	})
}
