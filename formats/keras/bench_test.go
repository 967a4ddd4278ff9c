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
