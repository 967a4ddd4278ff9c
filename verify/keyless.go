package verify

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// verifyKeylessBundle checks a Sigstore keyless bundle with sigstore-go:
// the Fulcio certificate chains to a CA of the trusted root at a time
// proven by the transparency log (integrated time or inclusion) or a
// timestamp authority, the log entry is included, the certificate's SAN
// and OIDC issuer match, and the DSSE signature verifies. Trust material
// comes only from TrustedRootPath.
func verifyKeylessBundle(data []byte, raw *rawBundle, t TrustOptions) (*Envelope, error) {
	if raw.VerificationMaterial.Certificate == nil && raw.VerificationMaterial.X509CertificateChain == nil {
		return nil, fmt.Errorf("signature was made with %s, not a Sigstore certificate: verify it with --key", raw.describeMaterial())
	}
	if len(raw.VerificationMaterial.TlogEntries) == 0 {
		return nil, fmt.Errorf("signature carries %s but no transparency-log entry, so it is not a Sigstore keyless signature: verify it with --certificate-chain", raw.describeMaterial())
	}
	trJSON, err := readSmall(t.TrustedRootPath, "trusted root")
	if err != nil {
		return nil, err
	}
	tr, err := root.NewTrustedRootFromJSON(trJSON)
	if err != nil {
		return nil, fmt.Errorf("trusted root %s: %v", t.TrustedRootPath, err)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("bundle does not load as a Sigstore bundle: %v", err)
	}
	return verifyKeylessWith(&b, tr, t)
}

// verifyKeylessWith is verifyKeylessBundle after loading; tests pass a
// virtual Sigstore's trusted material.
func verifyKeylessWith(b sgverify.SignedEntity, tm root.TrustedMaterial, t TrustOptions) (*Envelope, error) {
	id, err := sgverify.NewShortCertificateIdentity(t.Issuer, t.IssuerRegexp, t.Identity, t.IdentityRegexp)
	if err != nil {
		return nil, fmt.Errorf("certificate identity: %v", err)
	}
	vopts := []sgverify.VerifierOption{sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1)}
	// When the trusted root lists certificate-transparency logs (the
	// public-good instance does), require an SCT in the certificate, as
	// cosign does: a Fulcio certificate that was never made public is
	// refused even if the log entry verifies.
	if len(tm.CTLogs()) > 0 {
		vopts = append(vopts, sgverify.WithSignedCertificateTimestamps(1))
	}
	if vc, err := b.VerificationContent(); err == nil {
		if c := vc.Certificate(); c != nil {
			if err := unambiguousIdentity(c); err != nil {
				return nil, err
			}
		}
	}
	v, err := sgverify.NewVerifier(tm, vopts...)
	if err != nil {
		return nil, err
	}
	res, err := v.Verify(b, sgverify.NewPolicy(sgverify.WithoutArtifactUnsafe(), sgverify.WithCertificateIdentity(id)))
	if err != nil {
		return nil, fmt.Errorf("keyless verification failed (wanted identity %s from issuer %s): %v", orRe(t.Identity, t.IdentityRegexp), orRe(t.Issuer, t.IssuerRegexp), err)
	}
	sc, err := b.SignatureContent()
	if err != nil || sc == nil || sc.EnvelopeContent() == nil {
		return nil, errNoEnvelope
	}
	rawEnv := sc.EnvelopeContent().RawEnvelope()
	if rawEnv == nil {
		return nil, errNoEnvelope
	}
	payload, err := rawEnv.DecodeB64Payload()
	if err != nil {
		return nil, fmt.Errorf("DSSE payload: %v", err)
	}
	s := Signer{Method: MethodKeyless}
	if res.Signature != nil && res.Signature.Certificate != nil {
		s.Identity = res.Signature.Certificate.SubjectAlternativeName
		s.Issuer = res.Signature.Certificate.Issuer
	}
	if vc, err := b.VerificationContent(); err == nil {
		if c := vc.Certificate(); c != nil {
			s.Certificate = c
			s.PublicKey = c.PublicKey
			s.KeyID = keyHint(c.PublicKey)
		}
	}
	for _, ts := range res.VerifiedTimestamps {
		if s.SignedAt.IsZero() || ts.Timestamp.Before(s.SignedAt) {
			s.SignedAt = ts.Timestamp
		}
		s.Notes = append(s.Notes, fmt.Sprintf("%s timestamp %s (%s)", ts.Type, ts.Timestamp.UTC().Format(time.RFC3339), ts.URI))
	}
	return &Envelope{PayloadType: rawEnv.PayloadType, Payload: payload, Signer: s}, nil
}

func orRe(exact, re string) string {
	if exact != "" {
		return fmt.Sprintf("%q", exact)
	}
	return fmt.Sprintf("matching /%s/", re)
}

// unambiguousIdentity refuses a keyless certificate whose identity two
// verifiers could read differently: more than one subject alternative
// name (sigstore-go matches the first URI, else the first e-mail, else
// the otherName; another reader may take another one), or OIDC issuer
// extensions v1 (1.3.6.1.4.1.57264.1.1, raw string) and v2 (.1.8, DER
// UTF8String) that disagree (sigstore-go keeps whichever comes last).
// Fulcio issues exactly one SAN and equal issuers; anything else is not
// a certificate whose identity the policy can be said to have matched.
func unambiguousIdentity(c *x509.Certificate) error {
	sans := len(c.URIs) + len(c.EmailAddresses) + len(c.DNSNames) + len(c.IPAddresses)
	if other, err := cryptoutils.UnmarshalOtherNameSAN(c.Extensions); err == nil && other != "" {
		sans++
	}
	if sans > 1 {
		return fmt.Errorf("keyless certificate %q names %d identities (subject alternative names); a Sigstore certificate names exactly one, so which one was matched would depend on the verifier", c.Subject, sans)
	}
	var v1, v2 string
	var has1, has2 bool
	for _, e := range c.Extensions {
		switch {
		case e.Id.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}):
			v1, has1 = string(e.Value), true
		case e.Id.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}):
			has2 = true
			if rest, err := asn1.Unmarshal(e.Value, &v2); err != nil || len(rest) > 0 {
				return fmt.Errorf("keyless certificate %q: its OIDC issuer extension (v2) is not a DER string", c.Subject)
			}
		}
	}
	if has1 && has2 && v1 != v2 {
		return fmt.Errorf("keyless certificate %q names two OIDC issuers, %q (v1 extension) and %q (v2 extension); refused as ambiguous", c.Subject, v1, v2)
	}
	return nil
}
