//go:build !windows

package formats

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// findings returns rule names by report path.
func findings(res *Result) map[string][]string {
	m := map[string][]string{}
	for _, f := range res.Files {
		for _, x := range f.Findings {
			m[filepath.Base(f.Path)] = append(m[filepath.Base(f.Path)], x.Rule)
		}
		if _, ok := m[filepath.Base(f.Path)]; !ok {
			m[filepath.Base(f.Path)] = nil
		}
	}
	return m
}

func TestWalk(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "shadow"), []byte("secret"), 0o644)
	root := t.TempDir()
	model := filepath.Join(root, "model")
	os.MkdirAll(filepath.Join(model, ".git", "objects"), 0o755)
	os.MkdirAll(filepath.Join(model, "sub"), 0o755)
	os.WriteFile(filepath.Join(model, ".git", "objects", "weights.bin"), []byte("zz"), 0o644)
	os.WriteFile(filepath.Join(model, "README.md"), []byte("# hi"), 0o644)
	os.WriteFile(filepath.Join(model, "sub", "weights.pt"), []byte("not a model"), 0o644)
	os.Symlink(filepath.Join(outside, "shadow"), filepath.Join(model, "escape.bin"))
	os.Symlink("README.md", filepath.Join(model, "inside.md"))
	os.Symlink("missing", filepath.Join(model, "dangling"))
	if err := syscall.Mkfifo(filepath.Join(model, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "link")
	os.Symlink(model, link)

	// The relative starts are what a user types ("modelvet scan model"):
	// links inside a folder named relatively once looked outside it,
	// compared with the absolute root.
	for _, c := range []struct{ name, start, cwd string }{
		{"absolute folder", model, ""},
		{"absolute link to the folder", link, ""},
		{"relative folder", "model", root},
		{"relative link to the folder", "link", root},
		{"relative folder named ..", "..", filepath.Join(model, "sub")},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.cwd != "" {
				t.Chdir(c.cwd)
			}
			opts := DefaultOptions()
			res, err := Scan(context.Background(), []string{c.start}, opts)
			if err != nil {
				t.Fatal(err)
			}
			got := findings(res)
			want := map[string]string{
				"escape.bin": "fs/symlink-escape",    // a link out of the folder: the loader reads a file nobody shipped
				"weights.pt": "formats/unrecognized", // a model name with content nothing can read fails closed
				"dangling":   "fs/broken-symlink",
				"pipe":       "fs/special-file", // never opened: reading a FIFO would hang
			}
			for name, rule := range want {
				if len(got[name]) != 1 || got[name][0] != rule {
					t.Errorf("%s: got %v, want [%s]", name, got[name], rule)
				}
			}
			if rules, ok := got["inside.md"]; !ok || len(rules) != 0 {
				t.Errorf("a link inside the folder should be scanned clean, got %v (present %v)", rules, ok)
			}
			if _, ok := got["weights.bin"]; ok {
				t.Errorf(".git was walked")
			}
		})
	}
}

func TestScanMissingPathIsError(t *testing.T) {
	if _, err := Scan(context.Background(), []string{filepath.Join(t.TempDir(), "nope")}, DefaultOptions()); err == nil {
		t.Fatal("a path that cannot be read must be an error (exit 2), not a finding")
	}
}
