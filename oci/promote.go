package oci

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
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

	"github.com/modelvet/modelvet/internal/ocimanifest"
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

// Promote copies the artifact that was checked to dst (registry/repo:tag
// or registry/repo@digest) and attaches the verdict as a signed in-toto
// attestation, verifiable with `cosign verify-attestation --key PUB
// --insecure-ignore-tlog --type https://modelvet.dev/attestation/verdict/v1`.
// It returns the promoted reference pinned by digest.
//
// What is uploaded is the verified local copy (a.Manifest, a.Config and
// the layer files in a.Dir), never a second fetch from the source: the
// source tag may have moved and the source blobs may have been replaced or
// deleted since the check, and a re-fetch would promote bytes nobody
// checked. Each layer file is re-hashed while it is uploaded, so a copy
// altered on disk after the check fails the promotion (the registry also
// refuses a blob that does not match its digest).
func Promote(ctx context.Context, a *Artifact, dst string, v Verdict, signer signature.Signer, opts Options) (string, error) {
	opts.defaults()
	ro := opts.remote(ctx)
	dref, err := name.ParseReference(dst, nameOpts(opts)...)
	if err != nil {
		return "", fmt.Errorf("promotion target %q: %v", dst, err)
	}
	blobs, err := a.localBlobs()
	if err != nil {
		return "", err
	}
	for _, l := range blobs {
		if err := remote.WriteLayer(dref.Context(), l, ro...); err != nil {
			d, _ := l.Digest()
			return "", fmt.Errorf("%w: uploading %s to %s: %v", ErrRegistry, d, dref.Context(), err)
		}
	}
	if err := remote.Put(dref, ocimanifest.Raw{Bytes: a.Manifest, Type: types.MediaType(a.MediaType)}, ro...); err != nil {
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

// Retag adds a tag in a promotion repository to a manifest already
// promoted there by digest (pinned is registry/repo@sha256:...): the same
// digest pushed again under another tag. Nothing is copied from the
// source; the verdict attestation, attached to the digest, covers the tag.
func Retag(ctx context.Context, pinned, tag string, opts Options) (string, error) {
	opts.defaults()
	ro := opts.remote(ctx)
	d, err := name.NewDigest(pinned, nameOpts(opts)...)
	if err != nil {
		return "", err
	}
	t, err := name.NewTag(d.Context().Name()+":"+tag, nameOpts(opts)...)
	if err != nil {
		return "", err
	}
	desc, err := remote.Get(d, ro...)
	if err != nil {
		return "", fmt.Errorf("%w: the promoted manifest %s: %v", ErrRegistry, pinned, err)
	}
	if err := remote.Tag(t, desc, ro...); err != nil {
		return "", fmt.Errorf("%w: tagging %s: %v", ErrRegistry, t, err)
	}
	return Scheme + t.String(), nil
}

// localBlobs are the config and layers of the checked copy as uploadable
// layers. A blob the pull did not keep (a config over 1 MiB, a layer file
// gone from the folder) cannot be promoted from the copy: an error, never
// a silent re-fetch.
func (a *Artifact) localBlobs() ([]v1.Layer, error) {
	var m v1.Manifest
	if err := json.Unmarshal(a.Manifest, &m); err != nil {
		return nil, fmt.Errorf("the checked manifest cannot be read: %v", err)
	}
	if len(m.Layers) != len(a.Layers) || a.Dir == "" {
		return nil, fmt.Errorf("%s: the checked copy holds %d of the manifest's %d layers; it cannot be promoted", a.Pinned(), len(a.Layers), len(m.Layers))
	}
	var out []v1.Layer
	if m.Config.Size > 0 || m.Config.Digest.Hex != "" {
		if int64(len(a.Config)) != m.Config.Size {
			return nil, fmt.Errorf("%s: the config blob (%d bytes) was not kept by the pull; it cannot be promoted from the checked copy", a.Pinned(), m.Config.Size)
		}
		out = append(out, &localBlob{d: m.Config, mem: a.Config})
	}
	for i, d := range m.Layers {
		if a.Layers[i].Digest != d.Digest.String() {
			return nil, fmt.Errorf("%s: layer %d of the checked copy is %s, the manifest names %s", a.Pinned(), i, a.Layers[i].Digest, d.Digest)
		}
		out = append(out, &localBlob{d: d, path: filepath.Join(a.Dir, filepath.FromSlash(a.Layers[i].Name))})
	}
	return out, nil
}

// localBlob is one blob of the checked copy, held in memory (the config)
// or in the artifact's folder (a layer), uploaded as the registry stored
// it (never recompressed).
type localBlob struct {
	d    v1.Descriptor
	mem  []byte
	path string
}

func (l *localBlob) Digest() (v1.Hash, error)             { return l.d.Digest, nil }
func (l *localBlob) DiffID() (v1.Hash, error)             { return l.d.Digest, nil }
func (l *localBlob) Size() (int64, error)                 { return l.d.Size, nil }
func (l *localBlob) MediaType() (types.MediaType, error)  { return l.d.MediaType, nil }
func (l *localBlob) Uncompressed() (io.ReadCloser, error) { return l.Compressed() }

// Compressed opens the blob's bytes; the reader fails at its end when the
// bytes are not exactly the descriptor's size and digest.
func (l *localBlob) Compressed() (io.ReadCloser, error) {
	if l.path == "" {
		return &checkedReader{r: io.NopCloser(bytes.NewReader(l.mem)), d: l.d, h: sha256.New()}, nil
	}
	f, err := os.Open(l.path)
	if err != nil {
		return nil, fmt.Errorf("the checked copy of layer %s: %v", l.d.Digest, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() != l.d.Size {
		f.Close()
		return nil, fmt.Errorf("the checked copy of layer %s is no longer the %d-byte file the pull wrote", l.d.Digest, l.d.Size)
	}
	return &checkedReader{r: f, d: l.d, h: sha256.New()}, nil
}

type checkedReader struct {
	r io.ReadCloser
	d v1.Descriptor
	h hash.Hash
	n int64
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if err == io.EOF {
		if got := hex.EncodeToString(c.h.Sum(nil)); c.n != c.d.Size || c.d.Digest.Algorithm != "sha256" || got != c.d.Digest.Hex {
			return n, fmt.Errorf("the checked copy of %s changed since the check (%d bytes hashing to sha256:%s)", c.d.Digest, c.n, got)
		}
	}
	return n, err
}

func (c *checkedReader) Close() error { return c.r.Close() }

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
