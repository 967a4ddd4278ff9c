package safetensors

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
	_ "github.com/modelvet/modelvet/formats/pickle"
	_ "github.com/modelvet/modelvet/formats/pytorch"
)

// The bundled examples' PyTorch checkpoints: a clean one and its twin
// whose pickle imports os.system.
func example(t *testing.T, which string) []byte {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "examples", which, "pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPickleBesideSafetensorsOncePerFolder: the noise the issue measured
// (1,250 findings on 5,000 files, one on the bundled clean example): one
// finding per folder, on the folder; low when every pickle is shown clean,
// medium when one is not (or cannot be read).
func TestPickleBesideSafetensorsOncePerFolder(t *testing.T) {
	cleanPickle, evilPickle := example(t, "clean-model"), example(t, "malicious-model")
	cases := []struct {
		name   string
		pickle []byte
		shards int
		want   formats.Severity
	}{
		{"clean pickle beside safetensors (the bundled clean example)", cleanPickle, 1, formats.Low},
		{"malicious pickle beside safetensors", evilPickle, 1, formats.Medium},
		{"50 clean pickle shards beside safetensors: once, unproven beyond the cap", cleanPickle, 50, formats.Medium},
		{"3 clean pickle shards", cleanPickle, 3, formats.Low},
		{"unparseable pickle weights", []byte("PK"), 1, formats.Medium},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeShard(t, filepath.Join(dir, "model.safetensors"), []string{"x"}, 4)
			for i := range c.shards {
				name := "pytorch_model.bin"
				if c.shards > 1 {
					name = fmt.Sprintf("pytorch_model-%05d-of-%05d.bin", i+1, c.shards)
				}
				os.WriteFile(filepath.Join(dir, name), c.pickle, 0o644)
			}
			res := formatstest.ScanDir(t, false, dir)
			var got []formats.Finding
			var where []string
			for _, f := range res.Files {
				for _, x := range f.Findings {
					if x.Rule == "safetensors/pickle-beside-safetensors" {
						got = append(got, x)
						where = append(where, f.Path)
					}
				}
			}
			if len(got) != 1 || got[0].Severity != c.want || where[0] != dir {
				t.Fatalf("got %d findings %v at %v, want one %s on the folder%s", len(got), got, where, c.want, formatstest.DescribeResult(res))
			}
		})
	}
}
