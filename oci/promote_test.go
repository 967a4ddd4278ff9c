package oci

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/modelvet/modelvet/oci/ocitest"
)

// TestPromoteWithVerdict: an admitted artifact is copied by digest to the
// promotion repository and carries a verdict attestation that cosign's
// verifier accepts with the service key, and no other key.
func TestPromoteWithVerdict(t *testing.T) {
	host := ocitest.Registry(t)
	ref := host + "/incoming/model:v1"
	dg := ocitest.Push(t, ref, ocitest.ModelPackManifest, ocitest.ModelPackConfig, nil,
		[]ocitest.Layer{ocitest.L(ocitest.ModelPackWeight, ocitest.Safetensors(), ocitest.ModelPackPath("model.safetensors"))})
	opts := Options{Insecure: true}
	a, err := Pull(context.Background(), Scheme+ref, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := LoadSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	v := Verdict{Verdict: "admitted", Source: a.Pinned(), Tool: "modelvet", Version: "test", CheckedAt: time.Now().UTC(), Findings: map[string]int{}}
	pinned, err := Promote(context.Background(), a, host+"/promoted/model:v1", v, signer, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(pinned, "/promoted/model@"+dg) {
		t.Fatalf("promoted as %s, want the same digest %s", pinned, dg)
	}
	p, err := Pull(context.Background(), Scheme+host+"/promoted/model:v1", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Digest != dg {
		t.Fatalf("promoted digest %s, source %s", p.Digest, dg)
	}
	res, err := VerifyCosign(context.Background(), p, opts, &key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Attestations) != 1 || res.Attestations[0] != VerdictPredicateType {
		t.Fatalf("attestations %v, problems %v", res.Attestations, res.Problems)
	}
	res, err = VerifyCosign(context.Background(), p, opts, &other.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Attestations) != 0 {
		t.Fatalf("the verdict verified with another key: %v", res.Attestations)
	}
}

// TestParseEvents: manifest pushes are taken from a registry notification
// once each; blob pushes, pulls and malformed events are not artifacts;
// duplicate keys are refused.
func TestParseEvents(t *testing.T) {
	d := "sha256:" + strings.Repeat("a", 64)
	env := `{"events":[
	 {"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + d + `","repository":"org/m","tag":"v1"}},
	 {"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + d + `","repository":"org/m","tag":"latest"}},
	 {"action":"push","target":{"mediaType":"application/octet-stream","digest":"` + d + `","repository":"org/m"}},
	 {"action":"pull","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + d + `","repository":"org/x"}},
	 {"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:short","repository":"org/y"}}
	]}`
	ps, err := ParseEvents([]byte(env))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Repository != "org/m" || ps[0].Digest != d || ps[0].Tag != "v1" {
		t.Fatalf("pushes %+v", ps)
	}
	for _, bad := range []string{`{"events":[],"events":[]}`, `{"evnts":[]}`, `[1]`, "{\"events\":[\"\xff\"]}"} {
		if _, err := ParseEvents([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// TestPromoteUploadsCheckedCopy: promotion uploads the bytes that were
// checked, not a second fetch from the source. With the source registry
// gone after the pull, promotion still works; with a layer file of the
// checked copy changed on disk, it fails and nothing is tagged.
func TestPromoteUploadsCheckedCopy(t *testing.T) {
	cases := []struct {
		name    string
		tamper  func(a *Artifact)
		wantErr string
	}{
		{"source registry gone after the check", nil, ""},
		{"checked copy rewritten on disk (same size)", func(a *Artifact) {
			p := filepath.Join(a.Dir, filepath.FromSlash(a.Layers[0].Name))
			b, _ := os.ReadFile(p)
			b[len(b)-1] ^= 1
			os.WriteFile(p, b, 0o600)
		}, "changed since the check"},
		{"checked copy truncated", func(a *Artifact) {
			os.Truncate(filepath.Join(a.Dir, filepath.FromSlash(a.Layers[0].Name)), 3)
		}, "no longer the"},
		{"checked copy deleted", func(a *Artifact) {
			os.Remove(filepath.Join(a.Dir, filepath.FromSlash(a.Layers[0].Name)))
		}, "checked copy of layer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
			srcHost := strings.TrimPrefix(src.URL, "http://")
			dstHost := ocitest.Registry(t)
			dg := ocitest.Push(t, srcHost+"/incoming/model:v1", ocitest.ModelPackManifest, ocitest.ModelPackConfig, []byte(`{"descriptor":{}}`),
				[]ocitest.Layer{ocitest.L(ocitest.ModelPackWeight, ocitest.Safetensors(), ocitest.ModelPackPath("model.safetensors"))})
			opts := Options{Insecure: true}
			a, err := Pull(context.Background(), Scheme+srcHost+"/incoming/model@"+dg, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			src.Close() // nothing may be fetched from the source any more
			if tc.tamper != nil {
				tc.tamper(a)
			}
			_, err = Promote(context.Background(), a, dstHost+"/promoted/model:v1", Verdict{Verdict: "admitted"}, nil, opts)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				p, err := Pull(context.Background(), Scheme+dstHost+"/promoted/model:v1", opts)
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				if p.Digest != dg {
					t.Fatalf("promoted %s, checked %s", p.Digest, dg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("promotion of a changed copy: err %v, want %q", err, tc.wantErr)
			}
			if _, err := Pull(context.Background(), Scheme+dstHost+"/promoted/model:v1", opts); err == nil {
				t.Fatal("a changed copy was tagged in the promotion repository")
			}
		})
	}
}
