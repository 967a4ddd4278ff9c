package torchserve_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/modelvet/modelvet/formats"
	_ "github.com/modelvet/modelvet/formats/all"
	"github.com/modelvet/modelvet/formats/formatstest"
)

type member struct{ name, data string }

func mar(t testing.TB, ms ...member) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range ms {
		w, err := zw.Create(m.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(m.data))
	}
	zw.Close()
	return b.Bytes()
}

// manifest is what torch-model-archiver 0.12 writes.
func manifest(handler, extra string) member {
	return member{"MAR-INF/MANIFEST.json", `{
  "createdOn": "02/12/2026 10:00:00",
  "runtime": "python",
  "model": {
    "modelName": "resnet-18",
    "serializedFile": "model.pt",
    "handler": "` + handler + `",
    "modelVersion": "1.0"` + extra + `
  },
  "archiverVersion": "0.12.0"
}`}
}

func TestMAR(t *testing.T) {
	pt, err := os.ReadFile("testdata/model.pt")
	if err != nil {
		t.Fatal(err)
	}
	weights := member{"model.pt", string(pt)}
	cases := []struct {
		name string
		data []byte
		want []string
	}{
		{"built-in image_classifier handler", mar(t, manifest("image_classifier", ""), weights, member{"index_to_name.json", `{"0": ["n01440764", "tench"]}`}), nil},
		{"custom handler.py is imported on load", mar(t, manifest("handler.py", ""), weights, member{"handler.py", "import os\nos.system('id')\n"}), []string{"torchserve/handler-code"}},
		{"handler module:function form", mar(t, manifest("my_handler:handle", ""), weights, member{"my_handler.py", "def handle(d, c): pass\n"}), []string{"torchserve/handler-code"}},
		{"model definition file and extra native code", mar(t, manifest("image_classifier", `, "modelFile": "model.py"`), weights, member{"model.py", "class Net: pass\n"}, member{"libevil.so", "\x7fELF"}), []string{"torchserve/code-member", "torchserve/code-member"}},
		{"requirements are pip-installed", mar(t, manifest("image_classifier", `, "requirementsFile": "requirements.txt"`), weights, member{"requirements.txt", "evilpkg==1.0\n"}), []string{"torchserve/requirements"}},
		{"handler from the environment", mar(t, manifest("site_handler", ""), weights), []string{"torchserve/handler-code"}},
		// pytorch/serve cpp/test/resources/examples/mnist: the C++ backend.
		{"C++ built-in TorchScriptHandler", mar(t, manifest("TorchScriptHandler", ""), weights), nil},
		{"C++ handler library in the archive", mar(t, manifest("libmnist_handler:MnistHandler", ""), weights, member{"libmnist_handler.so", "\x7fELF"}), []string{"torchserve/handler-code"}},
		{"pickle payload as the serialized model", mar(t, manifest("image_classifier", ""), member{"model.pt", "cos\nsystem\n(S'id'\ntR."}), []string{"pickle/dangerous-import"}},
		{"duplicate handler key", mar(t, member{"MAR-INF/MANIFEST.json", `{"model": {"handler": "image_classifier", "handler": "evil.py", "serializedFile": "model.pt"}}`}, weights), []string{"torchserve/handler-code", "torchserve/invalid-manifest"}},
		{"manifest not JSON", mar(t, member{"MAR-INF/MANIFEST.json", `{"model": `}, weights), []string{"torchserve/invalid-manifest"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := formatstest.ScanBytes(t, "resnet-18.mar", c.data, nil)
			got := formatstest.Rules(r, formats.High)
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("rules = %v, want %v\n%s", got, c.want, formatstest.Describe(r))
			}
			if r.Format != "torchserve" {
				t.Errorf("format %q, want torchserve", r.Format)
			}
		})
	}
}

func FuzzMAR(f *testing.F) {
	f.Add(mar(f, manifest("handler.py", `, "modelFile": "model.py"`), member{"handler.py", "x"}, member{"model.pt", "cos\nsystem\n(S'id'\ntR."}))
	f.Add(mar(f, member{"MAR-INF/MANIFEST.json", `{"model": {"handler": "a:b:c", "extensions": "x.py,,y"}}`}))
	o := formats.DefaultOptions()
	o.Hash = false
	f.Fuzz(func(t *testing.T, b []byte) {
		formats.ScanReader("m.mar", bytes.NewReader(b), int64(len(b)), &o)
	})
}

// BenchmarkMAR scans a .mar with 64 MiB of stored tensor data.
func BenchmarkMAR(b *testing.B) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("MAR-INF/MANIFEST.json")
	w.Write([]byte(`{"model": {"handler": "image_classifier", "serializedFile": "model.pt"}}`))
	w, _ = zw.CreateHeader(&zip.FileHeader{Name: "weights.dat", Method: zip.Store})
	w.Write(make([]byte, 64<<20))
	zw.Close()
	data := buf.Bytes()
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(int64(len(data)))
	for range b.N {
		formats.ScanReader("m.mar", bytes.NewReader(data), int64(len(data)), &o)
	}
}

// TestNoArchiveFolder: torch-model-archiver --archive-format no-archive.
func TestNoArchiveFolder(t *testing.T) {
	pt, err := os.ReadFile("testdata/model.pt")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, handler string
		extra         map[string]string
		want          []string
	}{
		{"built-in handler", "image_classifier", nil, nil},
		{"custom handler", "handler.py", map[string]string{"handler.py": "import os\n"}, []string{"hf/remote-code", "torchserve/handler-code"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "resnet-18")
			os.MkdirAll(filepath.Join(dir, "MAR-INF"), 0o755)
			m := manifest(c.handler, "")
			os.WriteFile(filepath.Join(dir, m.name), []byte(m.data), 0o644)
			os.WriteFile(filepath.Join(dir, "model.pt"), pt, 0o644)
			for n, d := range c.extra {
				os.WriteFile(filepath.Join(dir, n), []byte(d), 0o644)
			}
			res := formatstest.ScanDir(t, false, dir)
			got := formatstest.ResultRules(res, formats.High)
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("rules = %v, want %v%s", got, c.want, formatstest.DescribeResult(res))
			}
		})
	}
}

// TestTgzMAR: torch-model-archiver --archive-format tgz; the gzip layer is
// inflated by the compressed-stream analyzer, the tar is this flavor.
func TestTgzMAR(t *testing.T) {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, m := range []member{manifest("handler.py", ""), {"handler.py", "import os\n"}} {
		tw.WriteHeader(&tar.Header{Name: "resnet-18/" + m.name, Mode: 0o644, Size: int64(len(m.data))})
		tw.Write([]byte(m.data))
	}
	tw.Close()
	var gb bytes.Buffer
	zw := gzip.NewWriter(&gb)
	zw.Write(tb.Bytes())
	zw.Close()
	r := formatstest.ScanBytes(t, "resnet-18.tar.gz", gb.Bytes(), nil)
	if !slices.Contains(formatstest.Rules(r, formats.High), "torchserve/handler-code") {
		t.Errorf("tgz .mar handler not reported\n%s", formatstest.Describe(r))
	}
}
