package oci

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/modelvet/modelvet/oci/ocitest"
)

// counter is a RoundTripper that counts, per request, the response bytes
// the client actually read.
type counter struct {
	mu   sync.Mutex
	reqs []*served
}

type served struct {
	method, path string
	n            int64
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	s := &served{method: r.Method, path: r.URL.Path}
	c.mu.Lock()
	c.reqs = append(c.reqs, s)
	c.mu.Unlock()
	resp.Body = &countBody{resp.Body, s, &c.mu}
	return resp, nil
}

type countBody struct {
	io.ReadCloser
	s  *served
	mu *sync.Mutex
}

func (b *countBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.mu.Lock()
	b.s.n += int64(n)
	b.mu.Unlock()
	return n, err
}

// bigSafetensors is a valid safetensors file of about size bytes.
func bigSafetensors(size int) []byte {
	n := size / 4
	hdr := []byte(`{"w":{"dtype":"F32","shape":[` + itoa(n) + `],"data_offsets":[0,` + itoa(n*4) + `]}}`)
	for len(hdr)%8 != 0 {
		hdr = append(hdr, ' ')
	}
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(hdr)))
	b.Write(hdr)
	b.Write(make([]byte, n*4))
	return b.Bytes()
}

// TestCheckReadsOnlyWhatItNeeds counts what the registry serves for one
// check: every blob is read once and in full (no second fetch of a layer
// for the scan, the hashing or the signature check), the manifest body is
// read once, and beyond blobs and the manifest only the signature
// manifests are read (when the policy asks for a signature).
func TestCheckReadsOnlyWhatItNeeds(t *testing.T) {
	host := ocitest.Registry(t)
	signer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	weights := bigSafetensors(4 << 20)
	cfg := []byte(`{"descriptor":{"name":"m"}}`)
	ref := host + "/models/big:v1"
	dg := ocitest.Push(t, ref, ocitest.ModelPackManifest, ocitest.ModelPackConfig, cfg, []ocitest.Layer{
		ocitest.L(ocitest.ModelPackWeight, weights, ocitest.ModelPackPath("model.safetensors")),
		ocitest.L("application/vnd.cncf.model.doc.v1.raw", []byte("# model card\n"), ocitest.ModelPackPath("README.md")),
	})
	ocitest.CosignSign(t, host+"/models/big@"+dg, signer)
	blobBytes := int64(len(weights) + len("# model card\n") + len(cfg))

	cases := []struct {
		name  string
		yaml  string
		files map[string][]byte
		// requests: one API ping, the manifest's HEAD and GET, the three
		// blobs; with a signature, the .sig manifest and its payload blob,
		// the .att probe, and a ping for each of the two cosign lookups.
		requests int
	}{
		{"no signature asked", "version: 1\n", nil, 6},
		{"registry signature required", "version: 1\noci:\n  signature:\n    required: true\n    keys: [cosign.pub]\n", map[string][]byte{"cosign.pub": pubPEM(t, signer)}, 11},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := gateFor(t, c.yaml, c.files)
			cnt := &counter{}
			rep, a, err := Check(context.Background(), Scheme+ref, g, Options{Insecure: true, Transport: cnt})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if rep.Verdict != "admitted" {
				t.Fatalf("verdict %s: %+v", rep.Verdict, rep.Reasons)
			}
			own := map[string]bool{}
			var m v1.Manifest
			if err := json.Unmarshal(a.Manifest, &m); err != nil {
				t.Fatal(err)
			}
			for _, d := range append([]v1.Descriptor{m.Config}, m.Layers...) {
				own[d.Digest.String()] = true
			}
			blobs := map[string]int{}
			var blobRead, manifestRead, other int64
			manifestGets := 0
			var log []string
			for _, s := range cnt.reqs {
				log = append(log, fmt.Sprintf("%s %s %d", s.method, s.path[strings.LastIndexByte(s.path, '/')+1:], s.n))
				i := strings.Index(s.path, "/blobs/")
				switch {
				case i >= 0 && own[s.path[i+len("/blobs/"):]]:
					blobs[s.path]++
					blobRead += s.n
				case strings.HasSuffix(s.path, "/manifests/v1") || strings.HasSuffix(s.path, "/manifests/"+dg):
					if s.method == http.MethodGet {
						manifestGets++
					}
					manifestRead += s.n
				default:
					other += s.n
				}
			}
			for p, n := range blobs {
				if n != 1 {
					t.Errorf("blob %s fetched %d times", p, n)
				}
			}
			if len(blobs) != 3 {
				t.Errorf("%d blobs fetched, want the config and 2 layers", len(blobs))
			}
			if blobRead != blobBytes {
				t.Errorf("read %d blob bytes, the artifact has %d", blobRead, blobBytes)
			}
			if manifestGets != 1 || manifestRead != int64(len(a.Manifest)) {
				t.Errorf("manifest fetched %d times, %d bytes read; want once, %d bytes", manifestGets, manifestRead, len(a.Manifest))
			}
			if len(cnt.reqs) > c.requests {
				t.Errorf("%d requests to the registry, want at most %d", len(cnt.reqs), c.requests)
			}
			t.Logf("%s: %d requests; artifact blobs %d bytes (artifact %d), manifest %d bytes in %d GET, other (signatures, API probes) %d bytes\n%s",
				c.name, len(cnt.reqs), blobRead, blobBytes, manifestRead, manifestGets, other, strings.Join(log, "\n"))
		})
	}
}
