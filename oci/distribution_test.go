package oci

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/oci/ocitest"
)

// TestDistributionRegistry: against the reference distribution registry
// (v3, in-process on loopback), a clean and a malicious ModelPack model are
// pushed with a client library; the registry's own push notification names
// each manifest, and pulling by that digest scans one clean and the other
// malicious.
func TestDistributionRegistry(t *testing.T) {
	events := make(chan []byte, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		events <- b
	}))
	defer hook.Close()
	host := ocitest.Distribution(t, hook.URL)
	clean := ocitest.Push(t, host+"/org/model:clean", ocitest.ModelPackManifest, ocitest.ModelPackConfig, nil,
		[]ocitest.Layer{ocitest.L(ocitest.ModelPackWeight, ocitest.Safetensors(), ocitest.ModelPackPath("model.safetensors"))})
	bad := ocitest.Push(t, host+"/org/model:bad", ocitest.ModelPackManifest, ocitest.ModelPackConfig, nil,
		[]ocitest.Layer{ocitest.L(ocitest.ModelPackWeight, ocitest.EvilPickle, ocitest.ModelPackPath("pytorch_model.bin"))})

	pushed := map[string]bool{}
	deadline := time.After(20 * time.Second)
	for !pushed[clean] || !pushed[bad] {
		select {
		case b := <-events:
			ps, err := ParseEvents(b)
			if err != nil {
				t.Fatalf("the registry's notification does not parse: %v\n%s", err, b)
			}
			for _, p := range ps {
				pushed[p.Digest] = true
			}
		case <-deadline:
			t.Fatalf("no push notification for both manifests within 20 s (seen %v)", pushed)
		}
	}
	for dg, wantBad := range map[string]bool{clean: false, bad: true} {
		a, err := Pull(context.Background(), Scheme+host+"/org/model@"+dg, Options{Insecure: true})
		if err != nil {
			t.Fatal(err)
		}
		res, err := formats.Scan(context.Background(), []string{a.Dir}, formats.DefaultOptions())
		a.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Count(formats.High) > 0; got != wantBad {
			t.Errorf("%s: flagged=%v, want %v", dg, got, wantBad)
		}
	}
}
