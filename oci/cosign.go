package oci

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/modelvet/modelvet/policy"
	"github.com/modelvet/modelvet/report"
	"github.com/modelvet/modelvet/verify"
)

// Trust says whose cosign signatures on an artifact are accepted. Exactly
// one method: Keys (any one of them), CAChains (certificates chaining to
// these CAs, optionally narrowed by identity and issuer), or keyless
// (TrustedRoot plus identity and issuer). Paths are absolute or relative
// to the working folder; the policy resolves its own.
type Trust struct {
	Keys     []string // PEM public keys (cosign.pub)
	CAChains []string // PEM CA certificates, roots and intermediates
	// IdentityRegexp and IssuerRegexp match the signing certificate's SAN
	// and OIDC issuer (cosign's --certificate-identity-regexp semantics).
	// Required for keyless; optional with CAChains.
	IdentityRegexp, IssuerRegexp string
	TrustedRoot                  string // Sigstore trusted_root.json (keyless); never fetched

	keys []crypto.PublicKey // KeyTrust's keys, already loaded
}

// TrustOf is the trust a policy signature section (oci.signature) gives.
func TrustOf(s policy.Signature) Trust {
	return Trust{Keys: s.Keys, CAChains: s.CAChains, IdentityRegexp: s.IdentityPattern(), IssuerRegexp: s.IssuerPattern(), TrustedRoot: s.TrustedRoot}
}

// KeyTrust accepts signatures by one public key (tests, callers holding a
// key in memory).
func KeyTrust(pub crypto.PublicKey) Trust { return Trust{keys: []crypto.PublicKey{pub}} }

// trustMethod is one way of checking that Verify tries: its cosign
// options and how it is named in the report.
type trustMethod struct {
	co   *cosign.CheckOpts
	name string
}

// methods loads the trust material into cosign check options. An error
// is about the material (missing, unreadable, malformed, mixed methods):
// policy.ErrTrustMaterial, the operator's problem, never a verdict.
func (t Trust) methods() ([]trustMethod, error) {
	bad := func(err error) ([]trustMethod, error) {
		return nil, fmt.Errorf("%w: registry signatures: %w", policy.ErrTrustMaterial, err)
	}
	n := 0
	for _, given := range []bool{len(t.Keys)+len(t.keys) > 0, len(t.CAChains) > 0, t.TrustedRoot != ""} {
		if given {
			n++
		}
	}
	if n != 1 {
		return bad(errors.New("give exactly one trust method: public keys, CA certificates, or keyless identity + trusted root"))
	}
	var out []trustMethod
	switch {
	case len(t.Keys)+len(t.keys) > 0:
		if t.IdentityRegexp != "" || t.IssuerRegexp != "" {
			return bad(errors.New("identities narrow certificate signatures; a key signature has none"))
		}
		for _, p := range t.Keys {
			pub, err := verify.LoadPublicKey(p)
			if err != nil {
				return bad(err)
			}
			m, err := keyMethod(pub, "public key "+filepath.Base(p))
			if err != nil {
				return bad(err)
			}
			out = append(out, m)
		}
		for _, pub := range t.keys {
			m, err := keyMethod(pub, "the given public key")
			if err != nil {
				return bad(err)
			}
			out = append(out, m)
		}
	case len(t.CAChains) > 0:
		roots, inter, err := verify.LoadCAs(t.CAChains)
		if err != nil {
			return bad(err)
		}
		if roots.Equal(x509.NewCertPool()) {
			return bad(fmt.Errorf("%s: no self-signed root certificate; a chain must end at a root you trust", strings.Join(t.CAChains, ", ")))
		}
		co := &cosign.CheckOpts{RootCerts: roots,
			// A private CA has no transparency log or CT log: the CA is
			// the trust, as with cosign verify --certificate-chain
			// --insecure-ignore-tlog --insecure-ignore-sct.
			IgnoreTlog: true, IgnoreSCT: true}
		if !inter.Equal(x509.NewCertPool()) {
			// Otherwise cosign completes the chain with the signature's
			// own chain annotation, still ending at one of our roots.
			co.IntermediateCerts = inter
		}
		if t.IdentityRegexp != "" || t.IssuerRegexp != "" {
			co.Identities = []cosign.Identity{{SubjectRegExp: t.IdentityRegexp, IssuerRegExp: t.IssuerRegexp}}
		}
		out = append(out, trustMethod{co, "certificate chaining to " + baseNames(t.CAChains)})
	default:
		if t.IdentityRegexp == "" || t.IssuerRegexp == "" {
			return bad(errors.New("keyless trust needs the signer's identity and the OIDC issuer, or it would accept anyone with a certificate"))
		}
		tr, err := verify.LoadTrustedRoot(t.TrustedRoot)
		if err != nil {
			return bad(err)
		}
		co := &cosign.CheckOpts{TrustedMaterial: tr,
			Identities: []cosign.Identity{{SubjectRegExp: t.IdentityRegexp, IssuerRegExp: t.IssuerRegexp}},
			// Offline: the transparency-log entry must come with the
			// signature (its Rekor bundle, checked against the trusted
			// root's log keys); Rekor and Fulcio are never called.
			Offline: true,
			// As for model signatures: an SCT is required when the
			// trusted root lists CT logs (the public-good one does).
			IgnoreSCT: len(tr.CTLogs()) == 0}
		out = append(out, trustMethod{co, "keyless certificate under " + filepath.Base(t.TrustedRoot)})
	}
	return out, nil
}

func keyMethod(pub crypto.PublicKey, what string) (trustMethod, error) {
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return trustMethod{}, fmt.Errorf("%s cannot verify cosign signatures: %v", what, err)
	}
	// The key is the trust, offline: cosign verify --key
	// --insecure-ignore-tlog, what an air-gapped registry with its own
	// key has.
	return trustMethod{&cosign.CheckOpts{SigVerifier: v, IgnoreTlog: true, IgnoreSCT: true}, what}, nil
}

func baseNames(paths []string) string {
	var b []string
	for _, p := range paths {
		b = append(b, filepath.Base(p))
	}
	return strings.Join(b, ", ")
}

// SignatureResult is what the registry holds of signatures for an
// artifact, and which of them verified.
type SignatureResult struct {
	Digest string `json:"digest"`
	// Present is whether any cosign signature is attached to the digest.
	Present      bool     `json:"present"`
	Verified     bool     `json:"verified"`
	Signatures   int      `json:"signatures"`   // verified cosign signatures
	Signers      []string `json:"signers"`      // who signed the verified ones
	Attestations []string `json:"attestations"` // predicate types of verified attestations
	Problems     []string `json:"problems,omitempty"`
}

// VerifyCosign checks the artifact's cosign signatures with one public
// key; see VerifySignatures.
func VerifyCosign(ctx context.Context, a *Artifact, opts Options, pub crypto.PublicKey) (*SignatureResult, error) {
	return VerifySignatures(ctx, a, opts, KeyTrust(pub))
}

// VerifySignatures checks the cosign signatures attached to the
// artifact's manifest digest (the sha256-<hex>.sig tag, then OCI 1.1
// referrers) under t, offline. Each signature's payload must name this
// digest (cosign's simple-signing claim), so a signature copied from
// another artifact does not verify. Attestations (.att) are verified the
// same way and their predicate types returned. The error is for what
// prevents an answer: trust material (policy.ErrTrustMaterial) or the
// registry (ErrRegistry); a missing or bad signature is in the result.
func VerifySignatures(ctx context.Context, a *Artifact, opts Options, t Trust) (*SignatureResult, error) {
	opts.defaults()
	ms, err := t.methods()
	if err != nil {
		return nil, err
	}
	d, err := name.NewDigest(a.Repo+"@"+a.Digest, nameOpts(opts)...)
	if err != nil {
		return nil, err
	}
	reg := []ociremote.Option{ociremote.WithRemoteOptions(opts.remote(ctx)...)}
	res := &SignatureResult{Digest: a.Digest}
	for _, m := range ms {
		co := m.co
		co.RegistryClientOpts = reg
		co.ClaimVerifier = cosign.SimpleClaimVerifier
		sigs, present, why, err := verifySigs(ctx, d, co)
		if err != nil {
			return nil, err
		}
		res.Present = res.Present || present
		if len(sigs) == 0 && present {
			res.Problems = append(res.Problems, fmt.Sprintf("no signature verified with %s: %s", m.name, why))
		}
		res.Signatures += len(sigs)
		for _, s := range sigs {
			res.Signers = append(res.Signers, signerOf(s, m.name))
		}
		// Attestations are reported whether or not a signature is there
		// (a promoted artifact carries modelvet's verdict as one); they
		// never stand in for a signature.
		co.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
		atts, _, err := cosign.VerifyImageAttestations(ctx, d, co)
		if err != nil {
			var nf *cosign.ErrNoSignaturesFound
			var nm *cosign.ErrNoMatchingAttestations
			if !errors.As(err, &nf) && !errors.As(err, &nm) {
				res.Problems = append(res.Problems, "attestations: "+err.Error())
			}
		}
		for _, at := range atts {
			p, err := at.Payload()
			if err != nil {
				continue
			}
			res.Attestations = append(res.Attestations, predicateType(p))
		}
	}
	if !res.Present {
		res.Problems = append(res.Problems, "the registry holds no cosign signature for "+a.Digest)
	}
	res.Verified = res.Signatures > 0
	return res, nil
}

// verifySigs runs cosign's verification by tag, then by OCI 1.1
// referrers when the tag holds none. present says whether any signature
// was found at all.
func verifySigs(ctx context.Context, d name.Digest, co *cosign.CheckOpts) (_ []oci.Signature, present bool, why string, _ error) {
	sigs, _, err := cosign.VerifyImageSignatures(ctx, d, co)
	var nf *cosign.ErrNoSignaturesFound
	if errors.As(err, &nf) {
		co.ExperimentalOCI11 = true
		sigs, _, err = cosign.VerifyImageSignatures(ctx, d, co)
		co.ExperimentalOCI11 = false
	}
	if err == nil {
		return sigs, true, "", nil
	}
	var nm *cosign.ErrNoMatchingSignatures
	switch {
	case errors.As(err, &nf):
		return nil, false, "", nil
	case errors.As(err, &nm):
		return nil, true, err.Error(), nil
	}
	// Not a verdict about the artifact: the registry could not be read.
	return nil, false, "", fmt.Errorf("%w: %s: reading its signatures: %v", ErrRegistry, d, err)
}

// signerOf says who made a verified signature.
func signerOf(s oci.Signature, method string) string {
	c, err := s.Cert()
	if err != nil || c == nil {
		return method
	}
	who := strings.Join(cryptoutils.GetSubjectAlternateNames(c), ", ")
	if who == "" {
		who = c.Subject.String()
	}
	return fmt.Sprintf("%s (%s, issued by %s)", who, method, c.Issuer.String())
}

// Outcome turns the result into the policy's registry-signature outcome.
func (r *SignatureResult) Outcome() *policy.Outcome {
	o := &policy.Outcome{Present: r.Present, OK: r.Verified, Section: report.Section{Name: "registry signature", OK: r.Verified}}
	if r.Verified {
		o.Section.Lines = append(o.Section.Lines, fmt.Sprintf("%d cosign signature(s) on %s verified", r.Signatures, r.Digest))
		for _, s := range r.Signers {
			o.Section.Lines = append(o.Section.Lines, "signed by "+s)
		}
	} else {
		o.Failures = append([]string(nil), r.Problems...)
		for _, p := range r.Problems {
			o.Section.Lines = append(o.Section.Lines, "FAILED: "+p)
		}
	}
	for _, pt := range r.Attestations {
		o.Section.Lines = append(o.Section.Lines, "verified attestation: "+pt)
	}
	return o
}

func nameOpts(o Options) []name.Option {
	if o.Insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

// predicateType reads the in-toto predicate type from a DSSE envelope.
func predicateType(env []byte) string {
	var e struct {
		Payload string `json:"payload"`
	}
	if json.Unmarshal(env, &e) != nil {
		return "unknown"
	}
	b, err := base64.StdEncoding.DecodeString(e.Payload)
	if err != nil {
		return "unknown"
	}
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	if json.Unmarshal(b, &st) != nil || st.PredicateType == "" {
		return "unknown"
	}
	return st.PredicateType
}
