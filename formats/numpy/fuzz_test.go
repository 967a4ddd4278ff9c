package numpy_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelvet/modelvet/formats/formatstest"
)

func FuzzNpy(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.npy")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add(npy(3, "{'descr': [('x', '<f4', (2,)), (('t', 'y'), '|O')], 'fortran_order': True, 'shape': (1,), }", []byte(evilPickle)))
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
