package all_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestRealSpread: a sample of real PyTorch (zip and legacy, protocols 2-5,
// state dicts, optimizer checkpoints, every dtype), NumPy and joblib
// outputs written by formats/pickle/testdata/make_real_spread.py. The
// strict profile must raise nothing above Info on any of them: a sound
// scanner that flags real models is not one anybody keeps running.
func TestRealSpread(t *testing.T) {
	dir := filepath.Join(formatstest.RepoRoot(t), "formats", "pickle", "testdata", "benign", "spread")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) < 10 {
		t.Fatalf("only %d files in %s", len(ents), dir)
	}
	for _, e := range ents {
		t.Run(e.Name(), func(t *testing.T) {
			res := formatstest.ScanDir(t, false, filepath.Join(dir, e.Name()))
			if res.Count(formats.Low) > 0 {
				t.Errorf("real file raised findings:%s", formatstest.DescribeResult(res))
			}
		})
	}
}
