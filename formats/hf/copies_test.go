package hf

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestCacheRootListsEachFileOnce: scanning the cache root reaches each
// weight twice, as a blob and through its snapshot link; the report lists
// it once, under the snapshot name, and still verifies the blob.
func TestCacheRootListsEachFileOnce(t *testing.T) {
	root, _, big, small := cache(t)
	res := formatstest.ScanDir(t, false, root)
	var scanned []string
	for _, f := range res.Files {
		if f.Format != "folder-check" {
			scanned = append(scanned, filepath.Base(f.Path))
		}
	}
	for _, name := range []string{big, small} {
		if slices.Contains(scanned, name) {
			t.Errorf("blob %s scanned besides its snapshot link: %v", name, scanned)
		}
	}
	for _, name := range []string{"model.safetensors", "config.json"} {
		if !slices.Contains(scanned, name) {
			t.Errorf("snapshot file %s not scanned: %v", name, scanned)
		}
	}
}

// TestCopiedSnapshots: a cache made without symbolic links (Windows) holds
// copies in snapshots/. Copies that still hash to a blob are verified;
// a tampered copy, or a cache with no blobs at all, gets a note naming the
// files whose integrity could not be checked, never silence.
func TestCopiedSnapshots(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(repo string)
		want   string // the file the note names; "" = no note
	}{
		{"copies that match their blobs", func(string) {}, ""},
		{"a tampered copy", func(repo string) {
			write(t, repo, "snapshots/abc123/model.safetensors", "replaced weights")
		}, "model.safetensors"},
		{"copies with no blobs folder", func(repo string) { os.RemoveAll(filepath.Join(repo, "blobs")) }, "config.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, repo, big, small := cache(t)
			snap := filepath.Join(repo, "snapshots", "abc123")
			// Replace the links with copies, as the cache does without links.
			for name, blob := range map[string]string{"model.safetensors": big, "config.json": small} {
				b, err := os.ReadFile(filepath.Join(repo, "blobs", blob))
				if err != nil {
					t.Fatal(err)
				}
				os.Remove(filepath.Join(snap, name))
				os.WriteFile(filepath.Join(snap, name), b, 0o644)
			}
			c.tamper(repo)
			for _, scanned := range []string{root, snap} {
				res := formatstest.ScanDir(t, false, scanned)
				var notes []string
				for _, f := range res.Files {
					for _, x := range f.Findings {
						if x.Rule == "hf/snapshot-not-verified" && x.Severity >= formats.Low {
							notes = append(notes, x.Message)
						}
					}
				}
				switch {
				case c.want == "" && len(notes) > 0:
					t.Errorf("scanning %s: intact copies flagged: %v", scanned, notes)
				case c.want != "" && (len(notes) != 1 || !strings.Contains(notes[0], c.want)):
					t.Errorf("scanning %s: notes %v, want one naming %s%s", scanned, notes, c.want, formatstest.DescribeResult(res))
				}
			}
		})
	}
}
