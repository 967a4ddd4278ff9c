package verify

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// verifyKeyBundle checks a bundle signed with a long-lived key.
func verifyKeyBundle(b *rawBundle, t TrustOptions) (*Envelope, error) {
	pub, err := loadPublicKey(t.KeyPath)
	if err != nil {
		return nil, err
	}
	vm := &b.VerificationMaterial
	if vm.PublicKey == nil {
		return nil, fmt.Errorf("signature was made with %s, not a public key: verify it with the matching method (--certificate-chain for certificate signatures, --certificate-identity/--certificate-oidc-issuer/--trusted-root for Sigstore keyless ones)", b.describeMaterial())
	}
	if len(b.DsseEnvelope.Signatures) != 1 {
		return nil, fmt.Errorf("bundle's DSSE envelope has %d signatures; a Sigstore bundle holds exactly one", len(b.DsseEnvelope.Signatures))
	}
	hint := keyHint(pub)
	// The hint (OMS v1.1: hex SHA-256 of the PEM key; cosign: base64
	// SHA-256 of the DER key) and the key embedded by older versions are
	// not signed: they may pick a key, never refuse one. Only the
	// signature decides. When it fails, they help say why.
	env, err := verifyEnvelopeWithKey(b.DsseEnvelope, pub, Signer{Method: MethodKey, KeyID: hint, PublicKey: pub})
	if err != nil {
		if named := namedKey(vm.PublicKey.Hint, vm.PublicKey.RawBytes); named != "" && !hintMatches(vm.PublicKey.Hint, vm.PublicKey.RawBytes, pub) {
			return nil, fmt.Errorf("%v (the signature names key %s, the given key is %s)", err, named, hint)
		}
		return nil, err
	}
	return env, nil
}

// namedKey renders what a bundle says about its key, for messages.
func namedKey(hint string, raw []byte) string {
	if hint != "" {
		return hint
	}
	if len(raw) > 0 {
		if emb, err := parsePublicKeyPEM(raw, "key embedded in the signature"); err == nil {
			return keyHint(emb)
		}
	}
	return ""
}

// hintMatches reports whether a bundle's unsigned key hint or embedded
// key names pub in any of the forms writers use: OMS's hex SHA-256 of the
// PEM key, cosign's and sigstore's base64 SHA-256 of the DER key.
func hintMatches(hint string, raw []byte, pub crypto.PublicKey) bool {
	if hint != "" {
		for _, h := range keyHints(pub) {
			if strings.EqualFold(h, hint) || h == hint {
				return true
			}
		}
		return false
	}
	if len(raw) > 0 {
		emb, err := parsePublicKeyPEM(raw, "key embedded in the signature")
		return err == nil && keyHint(emb) == keyHint(pub)
	}
	return true
}

// loadCAs reads the user's CA certificates: self-signed ones become trust
// anchors, the others intermediates that may complete a chain.
func loadCAs(paths []string) (roots, inter *x509.CertPool, all []*x509.Certificate, err error) {
	roots, inter = x509.NewCertPool(), x509.NewCertPool()
	for _, p := range paths {
		data, err := readSmall(p, "CA certificate file")
		if err != nil {
			return nil, nil, nil, err
		}
		found := 0
		for {
			var blk *pem.Block
			blk, data = pem.Decode(data)
			if blk == nil {
				break
			}
			if blk.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("%s: certificate %d: %v", p, found+1, err)
			}
			found++
			all = append(all, c)
			if bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(c) == nil {
				roots.AddCert(c)
			} else {
				inter.AddCert(c)
			}
		}
		if found == 0 {
			return nil, nil, nil, fmt.Errorf("%s holds no PEM certificate", p)
		}
	}
	return roots, inter, all, nil
}

// verifyChainBundle checks a bundle signed by a certificate that chains to
// the user's CAs. As the reference tool does, the chain is validated at
// the leaf's NotBefore (taken as the signing time, since nothing else in
// such a bundle dates the signature); as OMS v1.0 (8.2) requires, the leaf
// must also be within its validity period now: a leaf not yet valid, or
// expired, is refused.
func verifyChainBundle(b *rawBundle, t TrustOptions) (*Envelope, error) {
	vm := &b.VerificationMaterial
	var ders [][]byte
	switch {
	case vm.X509CertificateChain != nil:
		for _, c := range vm.X509CertificateChain.Certificates {
			ders = append(ders, c.RawBytes)
		}
	case vm.Certificate != nil:
		ders = [][]byte{vm.Certificate.RawBytes}
	default:
		return nil, fmt.Errorf("signature was made with %s, not a certificate: verify it with --key", b.describeMaterial())
	}
	if len(b.DsseEnvelope.Signatures) != 1 {
		return nil, fmt.Errorf("bundle's DSSE envelope has %d signatures; a Sigstore bundle holds exactly one", len(b.DsseEnvelope.Signatures))
	}
	if len(ders) > 10 {
		return nil, fmt.Errorf("bundle's certificate chain has %d certificates; at most 10 are accepted", len(ders))
	}
	roots, inter, given, err := loadCAs(t.CAChainPaths)
	if err != nil {
		return nil, err
	}
	certs := make([]*x509.Certificate, len(ders))
	for i, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, fmt.Errorf("bundle certificate %d: %v", i, err)
		}
		certs[i] = c
	}
	leaf := certs[0]
	if iss, ok := fulcioIssuer(leaf); ok {
		return nil, fmt.Errorf("signing certificate %q is a Sigstore keyless (Fulcio) certificate for an OIDC identity (issuer %s): the certificate method checks no identity, so any holder of such a certificate would pass; verify it with --certificate-identity, --certificate-oidc-issuer and --trusted-root instead", leaf.Subject, iss)
	}
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	now := t.now()
	if now.Before(leaf.NotBefore) {
		return nil, fmt.Errorf("signing certificate %q is not valid before %s", leaf.Subject, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   leaf.NotBefore,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil && selfSignedAnchor(leaf, given) {
		// Go's pool takes a self-signed certificate as a root only when
		// it may sign certificates (keyCertSign); OpenSSL, which the
		// reference tool uses, trusts a certificate in its store as
		// itself whatever its key usage.
		chains, err = [][]*x509.Certificate{{leaf}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("signing certificate %q (issued by %q) does not chain to the given CA certificates: %v", leaf.Subject, leaf.Issuer, err)
	}
	// The leaf must be meant for signing: digitalSignature key usage or
	// the codeSigning extended key usage (the reference tool's rule); a
	// TLS server certificate from the same CA cannot sign models.
	okUse := leaf.KeyUsage&x509.KeyUsageDigitalSignature != 0
	for _, u := range leaf.ExtKeyUsage {
		if u == x509.ExtKeyUsageCodeSigning {
			okUse = true
		}
	}
	if !okUse {
		return nil, fmt.Errorf("signing certificate %q may not be used for signing (no digitalSignature key usage nor codeSigning extended key usage)", leaf.Subject)
	}
	pub, err := checkKey(leaf.PublicKey, "signing certificate")
	if err != nil {
		return nil, err
	}
	s := Signer{
		Method:      MethodCertificate,
		Identity:    leaf.Subject.String(),
		Issuer:      leaf.Issuer.String(),
		KeyID:       keyHint(pub),
		Certificate: leaf,
		PublicKey:   pub,
		SignedAt:    leaf.NotBefore,
	}
	if len(chains) > 0 {
		top := chains[0][len(chains[0])-1]
		s.Notes = append(s.Notes, fmt.Sprintf("certificate chain %d long, anchored at %q", len(chains[0]), top.Subject))
	}
	if now.After(leaf.NotAfter) {
		// OMS v1.0 8.2: "The leaf certificate MUST be within its validity
		// period." Nothing in a certificate signature dates it (no log,
		// no timestamp authority), so a leaf whose key may have leaked
		// after it expired could sign anything, back-dated. model_signing
		// checks the chain at the leaf's start and would accept it; the
		// specification does not.
		return nil, fmt.Errorf("signing certificate %q expired on %s: OMS v1.0 requires the signing certificate to be valid when the signature is verified (a certificate signature carries no trusted signing time); have the model re-signed with a valid certificate", leaf.Subject, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return verifyEnvelopeWithKey(b.DsseEnvelope, pub, s)
}

// selfSignedAnchor reports whether leaf is a self-signed CA certificate
// with the code-signing EKU that the user gave as a trusted certificate
// itself (the OMS conformance case of a signing certificate that is its
// own chain). Nothing else is accepted this way: a certificate merely
// issued by the same name, or a self-signed one without CA:TRUE or the
// code-signing EKU, still needs a chain to a given CA.
func selfSignedAnchor(leaf *x509.Certificate, given []*x509.Certificate) bool {
	if !leaf.IsCA || !leaf.BasicConstraintsValid || !bytes.Equal(leaf.RawSubject, leaf.RawIssuer) {
		return false
	}
	codeSigning := false
	for _, u := range leaf.ExtKeyUsage {
		if u == x509.ExtKeyUsageCodeSigning {
			codeSigning = true
		}
	}
	if !codeSigning {
		return false
	}
	// The signature over itself, without Go's CA key-usage rule.
	if leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) != nil {
		return false
	}
	for _, c := range given {
		if c.Equal(leaf) {
			return true
		}
	}
	return false
}

var errNoEnvelope = errors.New("bundle holds no DSSE envelope")

// fulcioOIDArc is Sigstore's OID arc for Fulcio certificate extensions
// (1.3.6.1.4.1.57264.1.*: OIDC issuer, workflow claims...).
var fulcioOIDArc = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1}

// fulcioIssuer reports whether c carries Fulcio's identity extensions,
// and the OIDC issuer when it can tell. Such a certificate binds a key to
// an OIDC identity for minutes; trusting its CA without naming the
// identity (the certificate-chain method) would accept every signer the
// CA ever certified: anyone with an e-mail account, for the public-good
// instance.
func fulcioIssuer(c *x509.Certificate) (string, bool) {
	found := false
	issuer := "unknown"
	for _, e := range c.Extensions {
		id := e.Id
		if len(id) <= len(fulcioOIDArc) || !id[:len(fulcioOIDArc)].Equal(fulcioOIDArc) {
			continue
		}
		found = true
		switch id[len(fulcioOIDArc)] {
		case 1: // v1 issuer: raw string
			issuer = string(e.Value)
		case 8: // v2 issuer: DER UTF8String
			var v string
			if _, err := asn1.Unmarshal(e.Value, &v); err == nil {
				issuer = v
			}
		}
	}
	return issuer, found
}
