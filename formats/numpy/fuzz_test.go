package numpy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

func FuzzNpy(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.npy")
	descrs, _ := filepath.Glob("testdata/descr/*.npy") // every descr spelling numpy accepts or refuses
	files = append(files, descrs...)
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add(npy(3, "{'descr': [('x', '<f4', (2,)), (('t', 'y'), '|O')], 'fortran_order': True, 'shape': (1,), }", []byte(evilPickle)))
	f.Add(npy(1, "{'descr': '<3>f4, (2,3)O,, M8[ns/2]', 'fortran_order': False, 'shape': (1,), }", []byte(evilPickle)))
	f.Add(npy(1, "{'descr': {'aO': 1, 'b8': 2}, 'fortran_order': False, 'shape': (1,), }", []byte(evilPickle)))
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		res := formatstest.ScanBytes(t, "f.npy", data, nil)
		for _, r := range res.Findings {
			if r.Rule == "formats/analyzer-failure" {
				t.Fatalf("analyzer panicked: %s", r.Message)
			}
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("took %v", d)
		}
	})
}

// BenchmarkNpyDescr measures header parsing on a wide structured descr of
// comma strings, subarrays and nested fields (the data is a few bytes).
func BenchmarkNpyDescr(b *testing.B) {
	var d strings.Builder
	d.WriteString("[")
	for i := range 2000 {
		fmt.Fprintf(&d, "('f%d', [('a', 'f8,3i4'), ('b', ('<f4', (2, 3)))]), ", i)
	}
	d.WriteString("]")
	data := npy(2, "{'descr': "+d.String()+", 'fortran_order': False, 'shape': (0,), }", nil)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		res := formatstest.ScanBytes(b, "a.npy", data, nil)
		if len(formatstest.Rules(res, formats.Medium)) > 0 {
			b.Fatal(formatstest.Describe(res))
		}
	}
}
