package verify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"
)

// Public-good Sigstore endpoints, used when keyless signing is asked for
// without other URLs.
const (
	DefaultFulcioURL = "https://fulcio.sigstore.dev"
	DefaultRekorURL  = "https://rekor.sigstore.dev"
)

// ErrNoIDToken is returned for keyless signing without an OIDC identity
// token. modelvet never opens a browser for an interactive OIDC flow.
var ErrNoIDToken = errors.New("keyless signing needs an OIDC identity token (audience \"sigstore\"): pass --identity-token TOKEN or set SIGSTORE_ID_TOKEN " +
	"(in GitHub Actions grant `permissions: id-token: write` and request the workflow's OIDC token for audience sigstore; " +
	"elsewhere get one from your identity provider); modelvet does not open a browser")

// KeylessOptions configure keyless signing (SignOptions.Keyless).
type KeylessOptions struct {
	// IDToken is the OIDC identity token (JWT) Fulcio turns into a
	// short-lived certificate. It is sent only to FulcioURL and never
	// appears in errors.
	IDToken string
	// FulcioURL and RekorURL default to the public-good instances. They
	// must be https (plain http only to a loopback address, for local
	// test instances): the token is a bearer credential.
	FulcioURL, RekorURL string
	// Timeout per network request; zero means sigstore-go's 30s.
	Timeout time.Duration
	// TrustedRootPath, when set, is a trusted_root.json the new bundle
	// must verify against (certificate chain, log entry, identity of the
	// certificate itself) before it is written. TrustedRoot, when set,
	// is used instead (tests).
	TrustedRootPath string
	TrustedRoot     root.TrustedMaterial

	// Test doubles for the Fulcio and Rekor clients; nil means the real
	// HTTP clients built from the URLs.
	certificateProvider sign.CertificateProvider
	transparencyLog     sign.Transparency
}

// KeylessSigner reads the identity a keyless bundle's certificate was
// issued to (SAN and OIDC issuer), for reporting after signing. It does
// not verify anything.
func KeylessSigner(bundleJSON []byte) (identity, issuer string, err error) {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return "", "", err
	}
	vc, err := b.VerificationContent()
	if err != nil {
		return "", "", err
	}
	c := vc.Certificate()
	if c == nil {
		return "", "", errors.New("bundle has no certificate")
	}
	s, err := certificate.SummarizeCertificate(c)
	if err != nil {
		return "", "", err
	}
	return s.SubjectAlternativeName, s.Issuer, nil
}

// signKeyless signs the same statement as the key method with an
// ephemeral ECDSA P-256 key: Fulcio certifies the key for the token's
// identity, Rekor logs the DSSE envelope, and the result is a v0.3
// Sigstore bundle (certificate + tlog entry), the form model_signing's
// Sigstore method writes and `modelvet verify --certificate-identity ...`
// checks. Nothing is written unless every step (and the optional
// verification against a trusted root) succeeded. Refusals made before
// any network use are *UsageError.
func signKeyless(model string, o SignOptions) (*Manifest, []byte, error) {
	k := o.KeylessOpts
	if o.Key != nil || len(o.Certificate) > 0 || len(o.Chain) > 0 {
		return nil, nil, &UsageError{errors.New("keyless signing uses an ephemeral key and a Fulcio certificate: do not also give --key or --certificate")}
	}
	token := strings.TrimSpace(k.IDToken)
	if token == "" {
		return nil, nil, &UsageError{ErrNoIDToken}
	}
	// A JWT has three dot-separated parts; catch a pasted file name or a
	// truncated variable before any network use.
	if strings.Count(token, ".") != 2 {
		return nil, nil, &UsageError{errors.New("the identity token is not a JWT (want three dot-separated parts): pass the raw OIDC token, not a file name")}
	}
	fulcioURL, err := serviceURL("Fulcio", k.FulcioURL, DefaultFulcioURL)
	if err != nil {
		return nil, nil, &UsageError{err}
	}
	rekorURL, err := serviceURL("Rekor", k.RekorURL, DefaultRekorURL)
	if err != nil {
		return nil, nil, &UsageError{err}
	}
	// Load the trust material first so a bad file costs no certificate
	// and no public log entry.
	tm := k.TrustedRoot
	if tm == nil && k.TrustedRootPath != "" {
		data, err := readSmall(k.TrustedRootPath, "trusted root")
		if err != nil {
			return nil, nil, &UsageError{err}
		}
		tr, err := root.NewTrustedRootFromJSON(data)
		if err != nil {
			return nil, nil, &UsageError{fmt.Errorf("trusted root %s: %v", k.TrustedRootPath, err)}
		}
		tm = tr
	}
	m, payload, err := signedStatement(model, &o)
	if err != nil {
		return nil, nil, err
	}
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, nil, err
	}
	cp := k.certificateProvider
	if cp == nil {
		cp = sign.NewFulcio(&sign.FulcioOptions{BaseURL: fulcioURL, Timeout: k.Timeout, Retries: 1})
	}
	tl := k.transparencyLog
	if tl == nil {
		tl = sign.NewRekor(&sign.RekorOptions{BaseURL: rekorURL, Timeout: k.Timeout, Retries: 1})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pb, err := sign.Bundle(&sign.DSSEData{Data: payload, PayloadType: InTotoPayloadType}, kp, sign.BundleOptions{
		CertificateProvider:        cp,
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: token},
		TransparencyLogs:           []sign.Transparency{tl},
		Context:                    ctx,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("keyless signing (Fulcio %s, Rekor %s): %s", fulcioURL, rekorURL, redact(err.Error(), token))
	}
	out, err := protojson.Marshal(pb)
	if err != nil {
		return nil, nil, err
	}
	if tm != nil {
		if err := checkKeylessBundle(out, payload, tm); err != nil {
			return nil, nil, fmt.Errorf("the new keyless signature does not verify against the trusted root, so it was not written (a Rekor entry may already exist): %v", err)
		}
	}
	if err := writeFileAtomic(o.SignaturePath, out); err != nil {
		return nil, nil, err
	}
	return m, out, nil
}

// checkKeylessBundle verifies a freshly made bundle exactly as `modelvet
// verify` will (reading it back from its JSON, SCT required when the root
// lists CT logs), for the identity its own certificate names, and checks
// that it carries the statement that was meant to be signed.
func checkKeylessBundle(out, payload []byte, tm root.TrustedMaterial) error {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(out); err != nil {
		return fmt.Errorf("bundle does not load back: %v", err)
	}
	id, iss, err := KeylessSigner(out)
	if err != nil {
		return err
	}
	if id == "" || iss == "" {
		return fmt.Errorf("the Fulcio certificate names no identity (%q) or OIDC issuer (%q)", id, iss)
	}
	env, err := verifyKeylessWith(&b, tm, TrustOptions{Identity: id, Issuer: iss})
	if err != nil {
		return err
	}
	if env.PayloadType != InTotoPayloadType || string(env.Payload) != string(payload) {
		return errors.New("the bundle carries a different statement than the one signed")
	}
	return nil
}

// serviceURL checks a Fulcio or Rekor base URL: https, or http only to a
// loopback host. Stops sending the OIDC bearer token (and the signature
// request) in clear text across a network.
func serviceURL(what, raw, def string) (string, error) {
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%s URL %q is not an absolute URL", what, raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		h := u.Hostname()
		ip := net.ParseIP(h)
		if h != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return "", fmt.Errorf("%s URL %q is plain http to a non-loopback host: use https (the identity token must not travel in clear text)", what, raw)
		}
	default:
		return "", fmt.Errorf("%s URL %q: scheme must be https", what, raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%s URL %q: give the base URL only (no user, query or fragment)", what, raw)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// redact keeps the identity token out of error messages (a server may
// echo the request).
func redact(msg, token string) string {
	if token == "" {
		return msg
	}
	return strings.ReplaceAll(msg, token, "[identity token]")
}
