package oci

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
)

// VerdictPredicateType is the in-toto predicate type of modelvet's
// admission verdict, attached to a promoted artifact as a cosign
// attestation. Its predicate is Verdict (documented in docs/oci.md).
const VerdictPredicateType = "https://modelvet.dev/attestation/verdict/v1"

// Verdict is the predicate of a verdict attestation: what was decided
// about exactly which bytes, under which policy.
type Verdict struct {
	Verdict      string         `json:"verdict"` // "admitted"
	Source       string         `json:"source"`  // oci://repo@digest that was checked
	PolicyDigest string         `json:"policyDigest,omitempty"`
	Tool         string         `json:"tool"`
	Version      string         `json:"version"`
	CheckedAt    time.Time      `json:"checkedAt"`
	Findings     map[string]int `json:"findings"` // by severity
	Reasons      []string       `json:"reasons,omitempty"`
}

// Promote copies the manifest that was checked (by digest, never by tag:
// the tag may have moved since) and its blobs to dst (registry/repo:tag),
// and attaches the verdict as a signed in-toto attestation, verifiable
// with `cosign verify-attestation --key PUB --insecure-ignore-tlog
// --type https://modelvet.dev/attestation/verdict/v1`. It returns the
// promoted reference pinned by digest.
func Promote(ctx context.Context, a *Artifact, dst string, v Verdict, signer signature.Signer, opts Options) (string, error) {
	opts.defaults()
	ro := opts.remote(ctx)
	dref, err := name.ParseReference(dst, nameOpts(opts)...)
	if err != nil {
		return "", fmt.Errorf("promotion target %q: %v", dst, err)
	}
	src, err := name.ParseReference(a.Repo, nameOpts(opts)...)
	if err != nil {
		return "", err
	}
	var m v1.Manifest
	if err := json.Unmarshal(a.Manifest, &m); err != nil {
		return "", err
	}
	blobs := append([]v1.Descriptor{m.Config}, m.Layers...)
	for _, d := range blobs {
		l, err := remote.Layer(src.Context().Digest(d.Digest.String()), ro...)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrRegistry, err)
		}
		if err := remote.WriteLayer(dref.Context(), l, ro...); err != nil {
			return "", fmt.Errorf("%w: copying %s: %v", ErrRegistry, d.Digest, err)
		}
	}
	if err := remote.Put(dref, rawManifest{a.Manifest, types.MediaType(a.MediaType)}, ro...); err != nil {
		return "", fmt.Errorf("%w: writing the manifest: %v", ErrRegistry, err)
	}
	pinned := dref.Context().Digest(a.Digest)
	if signer != nil {
		if err := attachVerdict(pinned, v, signer, ro); err != nil {
			return "", err
		}
	}
	return Scheme + pinned.String(), nil
}

type rawManifest struct {
	b  []byte
	mt types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.b, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

type statement struct {
	Type          string    `json:"_type"`
	Subject       []subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     Verdict   `json:"predicate"`
}

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// attachVerdict signs an in-toto statement about the digest as DSSE and
// stores it as cosign does for `cosign attest` (the sha256-<hex>.att tag).
func attachVerdict(d name.Digest, v Verdict, signer signature.Signer, ro []remote.Option) error {
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return err
	}
	st := statement{
		Type:          "https://in-toto.io/Statement/v1",
		Subject:       []subject{{Name: d.Context().Name(), Digest: map[string]string{"sha256": h.Hex}}},
		PredicateType: VerdictPredicateType,
		Predicate:     v,
	}
	payload, err := json.Marshal(st)
	if err != nil {
		return err
	}
	env, err := dsse.WrapSigner(signer, ctypes.IntotoPayloadType).SignMessage(bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("signing the verdict: %v", err)
	}
	att, err := static.NewAttestation(env, static.WithLayerMediaType(ctypes.DssePayloadType),
		static.WithAnnotations(map[string]string{"predicateType": VerdictPredicateType}))
	if err != nil {
		return err
	}
	opts := []ociremote.Option{ociremote.WithRemoteOptions(ro...)}
	se, err := ociremote.SignedEntity(d, opts...)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRegistry, err)
	}
	se, err = mutate.AttachAttestationToEntity(se, att)
	if err != nil {
		return err
	}
	if err := ociremote.WriteAttestations(d.Repository, se, opts...); err != nil {
		return fmt.Errorf("%w: writing the attestation: %v", ErrRegistry, err)
	}
	return nil
}

// LoadSigner reads a PEM private key (PKCS#8 or EC) for verdict
// attestations.
func LoadSigner(priv crypto.PrivateKey) (signature.Signer, error) {
	return signature.LoadSigner(priv, crypto.SHA256)
}
