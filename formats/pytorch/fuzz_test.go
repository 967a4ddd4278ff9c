package pytorch_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// FuzzPyTorchLegacy feeds the legacy stream reader (and, through the
// sniffer, the zip and tar flavors) mutated checkpoints.
func FuzzPyTorchLegacy(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.pt")
	// torch.package archives (package.go) from the round-2 red team.
	pkgs, _ := filepath.Glob("../pickle/testdata/attacks/redteam2/torch_package_*.pt")
	for _, p := range append(files, pkgs...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	opts := formats.DefaultOptions()
	opts.Limits.MaxExpand = 4 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		res := formatstest.ScanBytes(t, "f.pt", data, &opts)
		for _, r := range res.Findings {
			if r.Rule == "formats/analyzer-failure" {
				t.Fatalf("analyzer panicked: %s", r.Message)
			}
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("took %v", d)
		}
		_ = bytes.MinRead
	})
}
