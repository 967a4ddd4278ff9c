package all_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestRealFiles scans the real model files other projects publish (ONNX
// backend test models and tensors, whisper.cpp ggml files, TF.js models
// and shards, Silero VAD, Core ML bundles, TFLite...), which
// testdata/realfiles/collect.sh copies into a cache folder outside the
// repository, and asserts that none gets a finding at high or above: no
// false alarms on files real people ship. The folder is
// $MODELVET_REALFILES, else $HOME/.cache/modelvet-realfiles.
func TestRealFiles(t *testing.T) {
	dir := os.Getenv("MODELVET_REALFILES")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Skip("no home folder for the real-files cache")
		}
		dir = filepath.Join(home, ".cache", "modelvet-realfiles")
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Skipf("no real files at %s: run testdata/realfiles/collect.sh (it reads the mirrors the fetch tool leaves) to fill it", dir)
	}
	// Files of the sources that are not models (an __init__.py beside a
	// model is rightly reported) are left out by collect.sh itself.
	res := formatstest.ScanDir(t, false, dir)
	byFormat := map[string]int{}
	for _, f := range res.Files {
		byFormat[f.Format]++
		for _, x := range f.Findings {
			if x.Severity >= formats.High {
				t.Errorf("%s (%s): %s %s %s", strings.TrimPrefix(f.Path, dir), f.Format, x.Severity, x.Rule, x.Message)
			}
		}
	}
	var parts []string
	for k, v := range byFormat {
		parts = append(parts, k+":"+itoa(v))
	}
	sort.Strings(parts)
	t.Logf("%d real files scanned from %s; by format: %s", len(res.Files), dir, strings.Join(parts, " "))
}

func itoa(n int) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		n /= 10
		if n == 0 {
			return s
		}
	}
}
