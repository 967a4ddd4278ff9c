package oci

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

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
