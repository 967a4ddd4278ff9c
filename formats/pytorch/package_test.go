package pytorch_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// torchPackage builds a torch.package archive as PackageExporter lays it
// out: records under one folder, .data/ metadata, pickles and sources.
func torchPackage(t testing.TB, files ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for _, f := range append([][2]string{{"pkg/.data/version", "6\n"}, {"pkg/.data/extern_modules", "os\n"}, {"pkg/.data/python_version", "3.11"}}, files...) {
		w, err := z.CreateHeader(&zip.FileHeader{Name: f[0], Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f[1]))
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestTorchPackage: PackageImporter.load_pickle imports the archive's own
// source for every module it holds, before the loading process's.
func TestTorchPackage(t *testing.T) {
	safePickle := "\x80\x02ctorch._utils\n_rebuild_tensor_v2\nq\x00."
	run(t, []tcase{
		{name: "torch.package holding data only", format: "torch-package",
			data: torchPackage(t, [2]string{"pkg/res/model.pkl", "\x80\x03}q\x00X\x01\x00\x00\x00wq\x01K\x01s."})},
		{name: "torch.package shadowing torch._utils (safe-listed name runs archive code)", want: "pytorch/package-shadowed-module", min: formats.Critical,
			data: torchPackage(t, [2]string{"pkg/torch/__init__.py", ""}, [2]string{"pkg/torch/_utils.py", "import os\nos.system('id')\n"},
				[2]string{"pkg/res/model.pkl", safePickle})},
		{name: "torch.package with its own model code", want: "pytorch/package-code", min: formats.High,
			data: torchPackage(t, [2]string{"pkg/mymodel/net.py", "class Net: pass\n"},
				[2]string{"pkg/res/model.pkl", "\x80\x02cmymodel.net\nNet\nq\x00)\x81q\x01."})},
		{name: "torch.package record folder named in another case", want: "pytorch/package-code", min: formats.High,
			data: torchPackage(t, [2]string{"pkg/Evil.py", "import os\n"}, [2]string{"pkg/.DATA/EXTERN_MODULES", "os\n"})},
	})
}

// BenchmarkTorchPackage: a torch.package archive with 200 source modules
// and a pickle (the flavor's member walk plus the pickle scan).
func BenchmarkTorchPackage(b *testing.B) {
	files := [][2]string{{"pkg/res/model.pkl", "\x80\x02cmymodel.net\nNet\nq\x00)\x81q\x01."}}
	for i := 0; i < 200; i++ {
		files = append(files, [2]string{fmt.Sprintf("pkg/mymodel/m%d.py", i), strings.Repeat("x = 1\n", 500)})
	}
	data := torchPackage(b, files...)
	opts := formats.DefaultOptions()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		formatstest.ScanBytes(b, "model.pt", data, &opts)
	}
}
