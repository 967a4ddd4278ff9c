package pickle_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
	"github.com/modelvet/modelvet/formats/pickle"
)

// TestSniffPeers: over every peer file, the pickle sniff claims exactly
// the files that start like pickles; templates, JSON, PNGs, zips and npy
// files are not pickles.
func TestSniffPeers(t *testing.T) {
	root := formatstest.Peers(t)
	claimed := 0
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		head := make([]byte, formats.HeadSize)
		n, _ := f.ReadAt(head, 0)
		head = head[:n]
		if pickle.Sniff(&formats.Probe{Name: d.Name(), Head: head, Size: int64(n), R: f}) {
			claimed++
			ext := filepath.Ext(p)
			if ext == ".json" || ext == ".j2" || ext == ".yaml" || ext == ".jinja" || ext == ".template" || ext == ".pem" || ext == ".sig" || ext == ".zip" || ext == ".npy" || ext == ".h5" {
				t.Errorf("sniffed as pickle: %s", p)
			}
		}
		return nil
	})
	t.Logf("%d peer files sniffed as pickles", claimed)
}
