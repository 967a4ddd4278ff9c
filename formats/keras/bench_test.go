package keras

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelvet/modelvet/formats"
)

// BenchmarkHDF5Fixtures reads the root attributes and walks the config of
// every .h5 fixture once per iteration.
func BenchmarkHDF5Fixtures(b *testing.B) {
	files, _ := filepath.Glob("testdata/*.h5")
	var data [][]byte
	var total int64
	for _, p := range files {
		d, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		data = append(data, d)
		total += int64(len(d))
	}
	o := formats.DefaultOptions()
	b.SetBytes(total)
	b.ReportAllocs()
	for range b.N {
		for _, d := range data {
			analyzeH5(formats.NewScope("b.h5", &o, &formats.FileResult{}), bytes.NewReader(d), int64(len(d)))
		}
	}
}

// BenchmarkHDF5DenseLinks walks a Keras file whose groups keep their links
// in dense storage (fractal heap with indirect blocks, two-level v2 B-tree).
func BenchmarkHDF5DenseLinks(b *testing.B) {
	d, err := os.ReadFile("testdata/keras2_dense_links.h5")
	if err != nil {
		b.Fatal(err)
	}
	o := formats.DefaultOptions()
	b.SetBytes(int64(len(d)))
	b.ReportAllocs()
	for range b.N {
		res := &formats.FileResult{}
		analyzeH5(formats.NewScope("b.h5", &o, res), bytes.NewReader(d), int64(len(d)))
		if len(res.Findings) > 0 {
			b.Fatalf("findings on a clean file: %v", res.Findings)
		}
	}
}
