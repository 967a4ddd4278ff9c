package hydra_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestRealNeMoConfigs scans NVIDIA/NeMo's own configs (every example
// config and a NeMo 2 checkpoint context), which testdata/
// fetch_real_configs.sh copies into a cache outside the repository: none
// may come out at High. Skipped, saying so, when the cache is empty.
func TestRealNeMoConfigs(t *testing.T) {
	dir := os.Getenv("MODELVET_REAL_NEMO")
	if dir == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			t.Skipf("no cache folder (%v); run testdata/fetch_real_configs.sh", err)
		}
		dir = filepath.Join(c, "modelvet", "real", "nemo-configs")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("real NeMo configs not found at %s; run testdata/fetch_real_configs.sh to fetch them", dir)
	}
	res := formatstest.ScanDir(t, false, dir)
	if len(res.Files) < 50 {
		t.Fatalf("only %d files in %s; the cache looks incomplete", len(res.Files), dir)
	}
	if got := formatstest.ResultRules(res, formats.High); len(got) > 0 {
		t.Errorf("%d findings at High on real configs: %v%s", len(got), got, formatstest.DescribeResult(res))
	}
	t.Logf("%d real NeMo configs scanned", len(res.Files))
}
