package oci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/internal/jsonx"
)

// Scheme prefixes a registry reference wherever a model path is accepted.
const Scheme = "oci://"

// IsRef says whether a model argument names a registry artifact.
func IsRef(s string) bool { return strings.HasPrefix(s, Scheme) }

// Options bound and direct a pull.
type Options struct {
	// Insecure allows plain HTTP and unverified TLS to the registry; only
	// on the user's request (--insecure-registry).
	Insecure bool
	// Keychain finds credentials; nil means the Docker config file and its
	// credential helpers (authn.DefaultKeychain).
	Keychain authn.Keychain
	// Transport overrides the HTTP transport (tests).
	Transport http.RoundTripper
	// MaxManifest caps the manifest size (default 4 MiB).
	MaxManifest int64
	// MaxLayers caps the number of layers (default 1024).
	MaxLayers int
	// MaxTotal caps the bytes pulled for one artifact (default 256 GiB).
	MaxTotal int64
	// TempDir is where the private artifact folder is made ("" = os.TempDir()).
	TempDir string
}

func (o *Options) defaults() {
	if o.MaxManifest <= 0 {
		o.MaxManifest = 4 << 20
	}
	if o.MaxLayers <= 0 {
		o.MaxLayers = 1024
	}
	if o.MaxTotal <= 0 {
		o.MaxTotal = 256 << 30
	}
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
}

// Layer is one pulled layer.
type Layer struct {
	Digest    string            `json:"digest"`
	MediaType string            `json:"media_type"`
	Size      int64             `json:"size"`
	Name      string            `json:"name"` // path inside the artifact folder
	Kind      string            `json:"kind"` // raw, tar, tar+gzip, tar+zstd
	Annots    map[string]string `json:"annotations,omitempty"`
}

// Artifact is a pulled model artifact.
type Artifact struct {
	Ref          string            `json:"ref"`    // as the user gave it
	Repo         string            `json:"repo"`   // registry/repository
	Digest       string            `json:"digest"` // manifest digest, sha256:...
	MediaType    string            `json:"media_type"`
	ArtifactType string            `json:"artifact_type,omitempty"`
	ConfigType   string            `json:"config_media_type,omitempty"`
	Flavor       Flavor            `json:"flavor"`
	Layers       []Layer           `json:"layers"`
	Manifest     []byte            `json:"-"`
	Config       []byte            `json:"-"`
	Dir          string            `json:"-"` // private folder holding the layers
	Findings     []formats.Finding `json:"findings,omitempty"`
}

// Pinned is the artifact's reference by digest: what a loader must pull
// to get the bytes that were checked.
func (a *Artifact) Pinned() string { return Scheme + a.Repo + "@" + a.Digest }

// Close removes the artifact's private folder.
func (a *Artifact) Close() error {
	if a.Dir == "" {
		return nil
	}
	return os.RemoveAll(a.Dir)
}

// ParseRef reads oci://REGISTRY/REPO[:TAG|@DIGEST]. The registry must be
// named: a bare "library/x" would silently mean Docker Hub.
func ParseRef(s string, insecure bool) (name.Reference, error) {
	rest := strings.TrimPrefix(s, Scheme)
	host, _, ok := strings.Cut(rest, "/")
	if !ok || host == "" || !(strings.ContainsAny(host, ".:") || host == "localhost") {
		return nil, fmt.Errorf("%s: name the registry host (oci://registry.example.com/repo:tag)", s)
	}
	var opts []name.Option
	opts = append(opts, name.StrictValidation)
	if insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(rest, opts...)
	if err != nil {
		// StrictValidation refuses a missing tag; default to latest only
		// when the user wrote none, as docker does.
		ref, err = name.ParseReference(rest, append(opts[1:], name.WithDefaultTag("latest"))...)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", s, err)
		}
	}
	return ref, nil
}

func (o *Options) remote(ctx context.Context) []remote.Option {
	ro := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(o.Keychain)}
	if o.Transport != nil {
		ro = append(ro, remote.WithTransport(o.Transport))
	}
	return ro
}

// RemoteOptions are the go-containerregistry options for these Options
// (used by signature verification and promotion).
func (o Options) RemoteOptions(ctx context.Context) []remote.Option {
	o.defaults()
	return o.remote(ctx)
}

// ErrRegistry wraps failures to reach or read the registry: the artifact
// could not be examined (exit 2), as opposed to a bad artifact.
var ErrRegistry = errors.New("registry")

// Pull resolves ref to a manifest digest and pulls its layers into a new
// private folder. Findings about the artifact itself (unsafe layer names,
// duplicate names, an image index) are in Artifact.Findings.
func Pull(ctx context.Context, refStr string, opts Options) (*Artifact, error) {
	opts.defaults()
	ref, err := ParseRef(refStr, opts.Insecure)
	if err != nil {
		return nil, err
	}
	ro := opts.remote(ctx)
	// One puller for the manifest and every blob: the registry is pinged
	// and authenticated once, not once per request.
	if pl, err := remote.NewPuller(ro...); err == nil {
		ro = append(ro, remote.Reuse(pl))
	}
	// HEAD first: the manifest's size is known before any of it is read.
	if d, err := remote.Head(ref, ro...); err == nil && d.Size > opts.MaxManifest {
		return nil, fmt.Errorf("%s: the manifest is %d bytes, over the %d-byte limit", refStr, d.Size, opts.MaxManifest)
	}
	desc, err := remote.Get(ref, ro...)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrRegistry, refStr, err)
	}
	if int64(len(desc.Manifest)) > opts.MaxManifest {
		return nil, fmt.Errorf("%s: the manifest is %d bytes, over the %d-byte limit", refStr, len(desc.Manifest), opts.MaxManifest)
	}
	a := &Artifact{Ref: refStr, Repo: ref.Context().Name(), Digest: desc.Digest.String(), MediaType: string(desc.MediaType), Manifest: desc.Manifest}
	// The digest names exactly these bytes (go-containerregistry checks a
	// digest reference; a tag is resolved to the digest of what came).
	sum := sha256.Sum256(desc.Manifest)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != a.Digest {
		return nil, fmt.Errorf("%s: the manifest's bytes hash to %s, not %s", refStr, got, a.Digest)
	}
	if _, dups, err := jsonx.Parse(desc.Manifest, jsonx.Limits{}); err != nil {
		return nil, fmt.Errorf("%s: the manifest is not valid JSON: %v", refStr, err)
	} else if len(dups) > 0 {
		a.Findings = append(a.Findings, formats.Finding{Rule: "oci/duplicate-key", Severity: formats.High, Offset: formats.NoOffset,
			Message: fmt.Sprintf("the manifest repeats the key %q; registries and clients may read different layers from it", dups[0].Key)})
	}
	if desc.MediaType.IsIndex() {
		return nil, fmt.Errorf("%s is an image index (several manifests); name one manifest by digest (oci://%s@sha256:...)", refStr, a.Repo)
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return nil, fmt.Errorf("%s: the manifest cannot be read: %v", refStr, err)
	}
	if len(m.Layers) > opts.MaxLayers {
		return nil, fmt.Errorf("%s: the manifest lists %d layers, over the limit of %d", refStr, len(m.Layers), opts.MaxLayers)
	}
	a.ArtifactType = m.ArtifactType
	a.ConfigType = string(m.Config.MediaType)
	var types []string
	for _, l := range m.Layers {
		types = append(types, string(l.MediaType))
	}
	a.Flavor = flavorOf(a.ArtifactType, a.ConfigType, types)

	dir, err := os.MkdirTemp(opts.TempDir, "modelvet-oci-")
	if err != nil {
		return nil, err
	}
	a.Dir = dir
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	var total int64
	repo := ref.Context()
	// The config blob: small JSON the ML-BOM and the policy read.
	if m.Config.Size > 0 && m.Config.Size <= 1<<20 {
		if b, err := fetchBlob(repo, m.Config, ro); err == nil {
			a.Config = b
		} else {
			return nil, fmt.Errorf("%w: %s: config blob: %v", ErrRegistry, refStr, err)
		}
	} else if m.Config.Size > 1<<20 {
		a.Findings = append(a.Findings, formats.Finding{Rule: "oci/large-config", Severity: formats.Medium, Offset: formats.NoOffset,
			Message: fmt.Sprintf("the config blob is %d bytes, over 1 MiB; it was not read", m.Config.Size)})
	}
	used := map[string]bool{}
	for i, l := range m.Layers {
		if l.Size < 0 {
			return nil, fmt.Errorf("%s: layer %d declares a negative size", refStr, i)
		}
		total += l.Size
		if total > opts.MaxTotal {
			return nil, fmt.Errorf("%s: the layers add up to more than %d bytes, the limit for one artifact", refStr, opts.MaxTotal)
		}
		raw := layerName(a.Flavor, string(l.MediaType), l.Annotations, i, l.Digest.Hex)
		nm, why := cleanName(raw)
		if why != "" {
			// A title a naive unpacker (oras pull, a model runtime) would
			// write outside its folder: the attack is the name itself.
			a.Findings = append(a.Findings, formats.Finding{Rule: "oci/layer-path-escape", Severity: formats.Critical, Offset: formats.NoOffset,
				Member: l.Digest.String(), Message: fmt.Sprintf("layer %d is named %q, which %s; a client that unpacks the artifact by its titles writes outside its folder", i, raw, why)})
			nm = "layer-" + itoa(i) + "-" + l.Digest.Hex[:12] + ".unsafe-name"
		}
		key := strings.ToLower(nm)
		if used[key] {
			// Two layers with one name (or names equal but for case, one
			// file on Windows and macOS): which one a client keeps depends
			// on the client.
			a.Findings = append(a.Findings, formats.Finding{Rule: "oci/duplicate-layer-name", Severity: formats.High, Offset: formats.NoOffset,
				Member: l.Digest.String(), Message: fmt.Sprintf("layer %d is named %q like an earlier layer (case ignored); clients disagree on which one they keep", i, nm)})
			nm = nm + ".dup-" + itoa(i)
			key = strings.ToLower(nm)
		}
		used[key] = true
		dst := filepath.Join(dir, filepath.FromSlash(nm))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return nil, err
		}
		if err := spool(repo, l, dst, ro); err != nil {
			return nil, fmt.Errorf("%w: %s: layer %d (%s): %v", ErrRegistry, refStr, i, l.Digest, err)
		}
		a.Layers = append(a.Layers, Layer{Digest: l.Digest.String(), MediaType: string(l.MediaType), Size: l.Size, Name: nm, Kind: string(kindOf(string(l.MediaType))), Annots: l.Annotations})
	}
	ok = true
	return a, nil
}

func fetchBlob(repo name.Repository, d v1.Descriptor, ro []remote.Option) ([]byte, error) {
	l, err := remote.Layer(repo.Digest(d.Digest.String()), ro...)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, d.Size+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != d.Size {
		return nil, fmt.Errorf("blob %s is %d bytes, the manifest says %d", d.Digest, len(b), d.Size)
	}
	sum := sha256.Sum256(b)
	if d.Digest.Algorithm != "sha256" || hex.EncodeToString(sum[:]) != d.Digest.Hex {
		return nil, fmt.Errorf("blob %s does not match its digest", d.Digest)
	}
	return b, nil
}

// spool copies one layer to dst, reading exactly the declared size and
// checking the digest of the bytes written: a registry that serves other
// bytes than the manifest names fails the pull.
func spool(repo name.Repository, d v1.Descriptor, dst string, ro []remote.Option) error {
	if d.Digest.Algorithm != "sha256" {
		return fmt.Errorf("digest algorithm %q is not supported (sha256 only)", d.Digest.Algorithm)
	}
	l, err := remote.Layer(repo.Digest(d.Digest.String()), ro...)
	if err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(rc, d.Size+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n != d.Size {
		return fmt.Errorf("the registry sent %d bytes, the manifest says %d", n, d.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != d.Digest.Hex {
		return fmt.Errorf("the bytes received hash to sha256:%s, not %s", got, d.Digest)
	}
	return nil
}

// RelabelResult rewrites the report paths of a scan of a.Dir to name the
// artifact (oci://repo@digest/name), and adds a result for the manifest
// itself carrying the artifact's own findings and facts.
func (a *Artifact) RelabelResult(res *formats.Result) {
	prefix := a.Dir
	for _, f := range res.Files {
		if rel, err := filepath.Rel(prefix, f.Path); err == nil && !strings.HasPrefix(rel, "..") {
			if rel == "." {
				f.Path = a.Pinned()
			} else {
				f.Path = a.Pinned() + "/" + filepath.ToSlash(rel)
			}
		}
		for i := range f.Findings {
			f.Findings[i].Message = strings.ReplaceAll(f.Findings[i].Message, prefix+string(filepath.Separator), "")
			f.Findings[i].Message = strings.ReplaceAll(f.Findings[i].Message, prefix, a.Pinned())
		}
	}
	mf := a.manifestResult()
	mf.Path = a.Pinned()
	res.Files = append([]*formats.FileResult{mf}, res.Files...)
}
