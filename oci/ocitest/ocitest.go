// Package ocitest runs an in-process OCI registry on loopback and pushes
// model artifacts and cosign signatures to it, for tests of the oci
// package and of the commands that take oci:// references.
package ocitest

import (
	"archive/tar"
	"bytes"
	"crypto/ecdsa"
	"encoding/binary"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/modelvet/modelvet/internal/ocimanifest"
)

// Registry starts an in-process OCI registry (go-containerregistry's,
// with the OCI 1.1 referrers API) on loopback and returns host:port.
func Registry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Layer is one layer to push.
type Layer struct {
	MediaType string
	Data      []byte
	Ann       map[string]string
}

// Push uploads the blobs and a hand-written OCI manifest (artifactType,
// annotations and all) to ref and returns the manifest digest.
func Push(t testing.TB, ref string, artifactType, configType string, config []byte, layers []Layer) string {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	repo := r.Context()
	desc := func(mt string, b []byte, ann map[string]string) v1.Descriptor {
		l := static.NewLayer(b, types.MediaType(mt))
		if err := remote.WriteLayer(repo, l); err != nil {
			t.Fatal(err)
		}
		d, _ := l.Digest()
		return v1.Descriptor{MediaType: types.MediaType(mt), Size: int64(len(b)), Digest: d, Annotations: ann}
	}
	if config == nil {
		config = []byte("{}")
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: artifactType, Config: desc(configType, config, nil)}
	for _, l := range layers {
		m.Layers = append(m.Layers, desc(l.MediaType, l.Data, l.Ann))
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(r, ocimanifest.Raw{Bytes: b, Type: types.OCIManifestSchema1}); err != nil {
		t.Fatal(err)
	}
	d, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// CosignSign attaches a signature the way `cosign sign --key` does: a
// simple-signing payload naming the digest, signed with the key, stored
// under the sha256-<hex>.sig tag.
func CosignSign(t testing.TB, digestRef string, priv *ecdsa.PrivateKey) {
	t.Helper()
	CosignSignWith(t, digestRef, priv, nil, nil, nil)
}

// Safetensors is a minimal valid safetensors file (one F32 scalar).
func Safetensors() []byte {
	hdr := []byte(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`)
	for len(hdr)%8 != 0 {
		hdr = append(hdr, ' ')
	}
	b := make([]byte, 8, 8+len(hdr)+4)
	binary.LittleEndian.PutUint64(b, uint64(len(hdr)))
	b = append(b, hdr...)
	return append(b, 0, 0, 128, 63)
}

// EvilPickle calls os.system('id') when unpickled (protocol 2).
var EvilPickle = []byte("\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.")

// Tar is a one-member tar archive.
func Tar(t testing.TB, name string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(data)
	tw.Close()
	return buf.Bytes()
}

// Title is the ORAS title annotation.
func Title(n string) map[string]string { return map[string]string{"org.opencontainers.image.title": n} }

// ModelPackPath is ModelPack's file-path annotation.
func ModelPackPath(n string) map[string]string {
	return map[string]string{"org.cncf.model.filepath": n}
}

// ModelPack media types.
const (
	ModelPackManifest = "application/vnd.cncf.model.manifest.v1+json"
	ModelPackConfig   = "application/vnd.cncf.model.config.v1+json"
	ModelPackWeight   = "application/vnd.cncf.model.weight.v1.raw"
)

// L makes a Layer.
func L(mediaType string, data []byte, ann map[string]string) Layer {
	return Layer{MediaType: mediaType, Data: data, Ann: ann}
}
