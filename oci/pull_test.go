package oci

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/oci/ocitest"

	"github.com/modelvet/modelvet/formats"
	_ "github.com/modelvet/modelvet/formats/all"
)

func scanArtifact(t *testing.T, a *Artifact) *formats.Result {
	t.Helper()
	res, err := formats.Scan(context.Background(), []string{a.Dir}, formats.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	a.RelabelResult(res)
	return res
}

func worst(res *formats.Result) (formats.Severity, string) {
	var max formats.Severity
	rule := ""
	for _, f := range res.Files {
		for _, x := range f.Findings {
			if x.Severity > max || rule == "" {
				if x.Severity >= max {
					max, rule = x.Severity, x.Rule
				}
			}
		}
	}
	return max, rule
}

// TestPullFlavors: each convention's artifact is pulled, its layers named
// as its runtime names them, and scanned; malicious twins are caught.
func TestPullFlavors(t *testing.T) {
	host := ocitest.Registry(t)
	const tmplEscape = `{{ cycler.__init__.__globals__.os.popen('id').read() }}`
	cases := []struct {
		name         string
		artifactType string
		configType   string
		layers       []ocitest.Layer
		flavor       Flavor
		wantRule     string // "" = must come out clean (nothing at High or above)
		wantFile     string // a layer file name expected in the report
	}{
		{"modelpack clean safetensors", "application/vnd.cncf.model.manifest.v1+json", "application/vnd.cncf.model.config.v1+json",
			[]ocitest.Layer{ocitest.L("application/vnd.cncf.model.weight.v1.raw", ocitest.Safetensors(), ocitest.ModelPackPath("model.safetensors"))}, ModelPack, "", "model.safetensors"},
		{"modelpack malicious pickle weights", "application/vnd.cncf.model.manifest.v1+json", "application/vnd.cncf.model.config.v1+json",
			[]ocitest.Layer{ocitest.L("application/vnd.cncf.model.weight.v1.raw", ocitest.EvilPickle, ocitest.ModelPackPath("pytorch_model.bin"))}, ModelPack, "pickle/dangerous-import", "pytorch_model.bin"},
		{"oras title escaping the folder", "", "application/vnd.oci.empty.v1+json",
			[]ocitest.Layer{ocitest.L("application/octet-stream", ocitest.Safetensors(), ocitest.Title("../../.bashrc"))}, ORAS, "oci/layer-path-escape", ""},
		{"oras absolute windows title", "", "application/vnd.oci.empty.v1+json",
			[]ocitest.Layer{ocitest.L("application/octet-stream", ocitest.Safetensors(), ocitest.Title(`C:\Windows\x.dll`))}, ORAS, "oci/layer-path-escape", ""},
		{"oras duplicate titles differing by case", "", "application/vnd.oci.empty.v1+json",
			[]ocitest.Layer{ocitest.L("application/octet-stream", ocitest.Safetensors(), ocitest.Title("model.safetensors")), ocitest.L("application/octet-stream", ocitest.EvilPickle, ocitest.Title("Model.safetensors"))}, ORAS, "oci/duplicate-layer-name", ""},
		{"ollama template escaping jinja", "", "application/vnd.docker.container.image.v1+json",
			[]ocitest.Layer{ocitest.L("application/vnd.ollama.image.template", []byte(tmplEscape), nil)}, Ollama, "template/sandbox-escape", "template.jinja"},
		{"docker model gguf clean license", "", "application/vnd.docker.ai.model.config.v0.1+json",
			[]ocitest.Layer{ocitest.L("application/vnd.docker.ai.license", []byte("MIT License\n"), nil)}, DockerModel, "", "LICENSE"},
		{"kitops tarred pickle", "", "application/vnd.kitops.modelkit.config.v1+json",
			[]ocitest.Layer{ocitest.L("application/vnd.kitops.modelkit.model.v1.tar", ocitest.Tar(t, "model/pytorch_model.bin", ocitest.EvilPickle), nil)}, KitOps, "pickle/dangerous-import", ""},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ref := host + "/models/m" + itoa(i) + ":v1"
			dg := ocitest.Push(t, ref, c.artifactType, c.configType, nil, c.layers)
			a, err := Pull(context.Background(), Scheme+ref, Options{Insecure: true})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if a.Digest != dg {
				t.Fatalf("digest %s, pushed %s", a.Digest, dg)
			}
			if a.Flavor != c.flavor {
				t.Errorf("flavor %s, want %s", a.Flavor, c.flavor)
			}
			res := scanArtifact(t, a)
			sev, rule := worst(res)
			if c.wantRule == "" && sev >= formats.High {
				t.Fatalf("clean artifact flagged: %s %s", sev, rule)
			}
			if c.wantRule != "" && !hasRule(res, c.wantRule) {
				t.Fatalf("want %s, got worst %s %s", c.wantRule, sev, rule)
			}
			if c.wantFile != "" && !hasPath(res, a.Pinned()+"/"+c.wantFile) {
				t.Errorf("no report entry %s/%s", a.Pinned(), c.wantFile)
			}
			if res.Files[0].Path != a.Pinned() || res.Files[0].Format != "oci-manifest" {
				t.Errorf("first entry %s %s, want the manifest", res.Files[0].Path, res.Files[0].Format)
			}
		})
	}
}

func hasRule(res *formats.Result, rule string) bool {
	for _, f := range res.Files {
		for _, x := range f.Findings {
			if x.Rule == rule {
				return true
			}
		}
	}
	return false
}

func hasPath(res *formats.Result, p string) bool {
	for _, f := range res.Files {
		if f.Path == p {
			return true
		}
	}
	return false
}

// tamper rewrites every blob response body to other bytes of the same
// length: a registry (or a proxy) serving what the manifest does not name.
type tamper struct{ rt http.RoundTripper }

func (t tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(r)
	if err != nil || !strings.Contains(r.URL.Path, "/blobs/") || r.Method != http.MethodGet {
		return resp, err
	}
	resp.Body = flip{resp.Body}
	return resp, nil
}

type flip struct {
	rc interface {
		Read([]byte) (int, error)
		Close() error
	}
}

func (f flip) Read(p []byte) (int, error) {
	n, err := f.rc.Read(p)
	for i := 0; i < n; i++ {
		p[i] ^= 0x20
	}
	return n, err
}
func (f flip) Close() error { return f.rc.Close() }

// TestPullRefusesSwappedBlobs: bytes that do not match the digest the
// manifest names are never scanned as if they were the artifact.
func TestPullRefusesSwappedBlobs(t *testing.T) {
	host := ocitest.Registry(t)
	ref := host + "/models/swap:v1"
	ocitest.Push(t, ref, "", "application/vnd.oci.empty.v1+json", nil, []ocitest.Layer{ocitest.L("application/octet-stream", ocitest.Safetensors(), ocitest.Title("model.safetensors"))})
	_, err := Pull(context.Background(), Scheme+ref, Options{Insecure: true, Transport: tamper{http.DefaultTransport}})
	if err == nil {
		t.Fatal("pulled an artifact whose blobs do not match their digests")
	}
}

// TestParseRef: references without a registry host would silently mean
// Docker Hub; they are refused.
func TestParseRef(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"oci://registry.example.com/org/model:v1", true},
		{"oci://localhost:5000/model@sha256:" + strings.Repeat("a", 64), true},
		{"oci://localhost/model", true},
		{"oci://org/model:v1", false},
		{"oci://model", false},
		{"oci://registry.example.com/Org/Model:v1", false},
	} {
		_, err := ParseRef(c.in, false)
		if (err == nil) != c.ok {
			t.Errorf("%s: err=%v, want ok=%v", c.in, err, c.ok)
		}
	}
}
