package oci

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/sigstore/pkg/signature"
)

// SignatureResult is what the registry holds of signatures for an
// artifact, and which of them verified.
type SignatureResult struct {
	Digest       string   `json:"digest"`
	Verified     bool     `json:"verified"`
	Signatures   int      `json:"signatures"`   // verified cosign signatures
	Attestations []string `json:"attestations"` // predicate types of verified attestations
	Problems     []string `json:"problems,omitempty"`
}

// VerifyCosign checks the cosign signatures attached to the artifact's
// manifest digest (the sha256-<hex>.sig tag, then OCI 1.1 referrers) with
// a public key, offline: the key is the trust, no transparency log is
// consulted (cosign verify --key --insecure-ignore-tlog semantics, which is
// what an air-gapped registry with its own key has). Each signature's
// payload must name this digest (cosign's simple-signing claim), so a
// signature copied from another artifact does not verify. Attestations
// (.att) are verified the same way and their predicate types returned.
func VerifyCosign(ctx context.Context, a *Artifact, opts Options, pub crypto.PublicKey) (*SignatureResult, error) {
	opts.defaults()
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("the public key cannot verify cosign signatures: %v", err)
	}
	d, err := name.NewDigest(a.Repo+"@"+a.Digest, nameOpts(opts)...)
	if err != nil {
		return nil, err
	}
	co := &cosign.CheckOpts{
		SigVerifier:        v,
		IgnoreTlog:         true,
		IgnoreSCT:          true,
		ClaimVerifier:      cosign.SimpleClaimVerifier,
		RegistryClientOpts: []ociremote.Option{ociremote.WithRemoteOptions(opts.remote(ctx)...)},
	}
	res := &SignatureResult{Digest: a.Digest}
	sigs, _, err := cosign.VerifyImageSignatures(ctx, d, co)
	if err != nil {
		// cosign's "no signatures found" and "no matching signatures" are
		// verdicts about the artifact; anything else (the registry) is not.
		var nf *cosign.ErrNoSignaturesFound
		var nm *cosign.ErrNoMatchingSignatures
		if !errors.As(err, &nf) && !errors.As(err, &nm) {
			// Try OCI 1.1 referrers before giving up on the tag scheme.
			co.ExperimentalOCI11 = true
			sigs, _, err = cosign.VerifyImageSignatures(ctx, d, co)
			co.ExperimentalOCI11 = false
		}
		if err != nil {
			res.Problems = append(res.Problems, "signatures: "+err.Error())
		}
	}
	res.Signatures = len(sigs)
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
	res.Verified = res.Signatures > 0
	return res, nil
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
