package joblib_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// FuzzJoblib: joblib pickles and compressed streams, mutated: no panic
// (an analyzer panic becomes formats/analyzer-failure), and inflation
// stays within the ratio cap.
func FuzzJoblib(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	more, _ := filepath.Glob("testdata/*/*.joblib*") // dtypes/, readers/
	files = append(files, more...)
	for _, p := range files {
		if filepath.Ext(p) == ".py" {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add(hiddenInArray())
	f.Fuzz(func(t *testing.T, data []byte) {
		o := formats.DefaultOptions()
		o.Hash = false
		o.Limits.MaxRatio = 50
		res := formatstest.ScanBytes(t, "x.joblib", data, &o)
		for _, fd := range res.Findings {
			if fd.Rule == "formats/analyzer-failure" {
				t.Fatalf("analyzer failure: %s", fd.Message)
			}
		}
	})
}
