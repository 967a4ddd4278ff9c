// Package verify checks and makes OpenSSF model signatures (OMS v1.0, the
// format of the reference `model_signing` tool) and verifies Sigstore
// bundles and bare DSSE envelopes for the rest of modelvet.
//
// Verification is offline: trust material (public keys, CA certificates,
// trusted_root.json) is read from files the caller names and is never
// fetched. The one network path is keyless signing (keyless_sign.go),
// which talks to Fulcio and Rekor only when the caller asks for it.
//
// API, in the order a caller meets it:
//   - TrustOptions: whose signatures are accepted (key, CA chain or keyless).
//   - Verify(model, Options) (*Result, error): the whole check of a model
//     folder against its model.sig; Result says Verified and, if not, why
//     (Problems). The error is a *UsageError for bad requests only.
//   - VerifyBundle / VerifyDSSE: signature checks alone, returning the
//     verified Envelope (used by attest/ for in-toto attestations).
//   - ParseStatement: an OMS statement from a verified payload.
//   - HashModel / ModelDigest: the OMS manifest and root digest of a model.
//   - Sign: writes an OMS v1.0 bundle (key or certificate method).
//
// Files: trust.go (contract), bundle.go (lenient bundle reading for every
// version the reference tool wrote), dsse.go (PAE and the v0.2.0 compat
// encoding), keys.go, material.go (key and certificate-chain methods),
// keyless.go (sigstore-go), statement.go, hash.go, verify.go, sign.go.
package verify

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Trust methods, as reported in Signer.Method.
const (
	MethodKey         = "key"
	MethodCertificate = "certificate"
	MethodKeyless     = "keyless"
)

// TrustOptions say whose signatures are accepted. Exactly one method: key,
// CA chain, or keyless (identity/issuer plus a trusted root).
type TrustOptions struct {
	KeyPath      string   // PEM public key (ECDSA P-256/384/521, ed25519, RSA; cosign public keys are PEM too)
	CAChainPaths []string // CA certificates (root and intermediates) for certificate-chain signatures

	Identity, IdentityRegexp string // keyless certificate SAN (exact or regexp)
	Issuer, IssuerRegexp     string // keyless OIDC issuer (exact or regexp)
	TrustedRootPath          string // trusted_root.json for keyless (transparency log, CAs, timestamps)

	// Now, when set, replaces the current time in certificate checks
	// (tests, replaying an old decision). Zero means time.Now().
	Now time.Time
}

// Method names the trust method the options select, or an error saying
// what is missing or conflicting. Mixing methods is refused: a signature
// must satisfy the one method the user chose, never "any of them".
func (t TrustOptions) Method() (string, error) {
	var got []string
	if t.KeyPath != "" {
		got = append(got, MethodKey)
	}
	if len(t.CAChainPaths) > 0 {
		got = append(got, MethodCertificate)
	}
	keyless := t.Identity != "" || t.IdentityRegexp != "" || t.Issuer != "" || t.IssuerRegexp != "" || t.TrustedRootPath != ""
	if keyless {
		got = append(got, MethodKeyless)
	}
	switch len(got) {
	case 0:
		return "", errors.New("no trust given: pass a public key (--key), CA certificates (--certificate-chain), or a keyless identity (--certificate-identity, --certificate-oidc-issuer, --trusted-root)")
	case 1:
	default:
		return "", fmt.Errorf("several trust methods given (%v): choose exactly one", got)
	}
	if got[0] == MethodKeyless {
		if t.Identity == "" && t.IdentityRegexp == "" {
			return "", errors.New("keyless verification needs the signer's identity: --certificate-identity or --certificate-identity-regexp")
		}
		if t.Issuer == "" && t.IssuerRegexp == "" {
			return "", errors.New("keyless verification needs the OIDC issuer: --certificate-oidc-issuer or --certificate-oidc-issuer-regexp")
		}
		if t.TrustedRootPath == "" {
			return "", errors.New("keyless verification needs a trusted root file (--trusted-root trusted_root.json); trust material is never fetched")
		}
		// A pattern that does not compile is the caller's mistake (exit
		// 2), found before any signature is read, not a model that
		// "does not verify" (exit 1).
		for _, re := range []struct{ flag, v string }{{"--certificate-identity-regexp", t.IdentityRegexp}, {"--certificate-oidc-issuer-regexp", t.IssuerRegexp}} {
			if re.v == "" {
				continue
			}
			if _, err := regexp.Compile(re.v); err != nil {
				return "", fmt.Errorf("%s %q is not a valid regular expression: %v", re.flag, re.v, err)
			}
		}
	}
	return got[0], nil
}

func (t TrustOptions) now() time.Time {
	if t.Now.IsZero() {
		return time.Now()
	}
	return t.Now
}

// Envelope is a verified DSSE envelope: its payload was signed by Signer.
type Envelope struct {
	PayloadType string
	Payload     []byte
	Signer      Signer
}

// Signer says who signed, as far as the trust method can tell.
type Signer struct {
	Method   string // MethodKey, MethodCertificate or MethodKeyless
	Identity string // certificate SAN (keyless) or leaf subject (certificate)
	Issuer   string // OIDC issuer (keyless) or leaf issuer (certificate)
	KeyID    string // hex SHA-256 of the signer's PEM SubjectPublicKeyInfo (the OMS key hint)

	// Certificate is the leaf certificate (certificate and keyless methods).
	Certificate *x509.Certificate `json:"-"`
	PublicKey   crypto.PublicKey  `json:"-"`
	// SignedAt is the time the signature is known to have existed: a
	// verified log or timestamp-authority time (keyless), or the leaf's
	// NotBefore (certificate method, as the reference tool assumes).
	SignedAt time.Time
	// Compat is set when the signature verified only under the v0.2.0
	// tool's faulty DSSE pre-authentication encoding.
	Compat bool
	// Notes are plain-words facts worth showing (timestamps, log index).
	Notes []string
}

// VerifyBundle checks a Sigstore bundle (JSON, any of the versions the
// reference tool wrote) that carries a DSSE envelope, under t. It returns
// the envelope only when a signature over it verifies under the chosen
// trust method; the payload is not interpreted here.
func VerifyBundle(bundleJSON []byte, t TrustOptions) (*Envelope, error) {
	method, err := t.Method()
	if err != nil {
		return nil, err
	}
	b, err := parseBundle(bundleJSON)
	if err != nil {
		return nil, err
	}
	switch method {
	case MethodKey:
		return verifyKeyBundle(b, t)
	case MethodCertificate:
		return verifyChainBundle(b, t)
	default:
		return verifyKeylessBundle(bundleJSON, b, t)
	}
}

// VerifyDSSE checks a bare DSSE envelope JSON (no bundle) with a key or
// certificate chain; at least one signature must verify. Keyless needs a
// bundle (log entry, certificate), so it is refused here.
func VerifyDSSE(envelopeJSON []byte, t TrustOptions) (*Envelope, error) {
	method, err := t.Method()
	if err != nil {
		return nil, err
	}
	env, err := parseEnvelope(envelopeJSON)
	if err != nil {
		return nil, err
	}
	switch method {
	case MethodKey:
		pub, err := loadPublicKey(t.KeyPath)
		if err != nil {
			return nil, err
		}
		return verifyEnvelopeWithKey(env, pub, Signer{Method: MethodKey, KeyID: keyHint(pub), PublicKey: pub})
	case MethodCertificate:
		return nil, errors.New("a bare DSSE envelope carries no certificate: verify it with --key, or give a Sigstore bundle")
	default:
		return nil, errors.New("keyless verification needs a Sigstore bundle (certificate and transparency-log entry), not a bare DSSE envelope")
	}
}

// ModelDigest is the digest OMS puts in a signature's subject for the
// model at path (a folder or a single file): SHA-256 over the concatenated
// raw resource digests, in manifest order. attest/ uses it to bind
// statements to a model. alg is "sha256". A model.sig inside the folder
// is left out (as when signing), so the digest equals the subject digest
// of the folder's signature made with the same options.
func ModelDigest(path string, opts HashOptions) (alg string, hex string, err error) {
	opts.IgnorePaths = append(append([]string{}, opts.IgnorePaths...), DefaultSignatureName)
	m, err := HashModel(path, opts)
	if err != nil {
		return "", "", err
	}
	return "sha256", m.RootDigest(), nil
}
