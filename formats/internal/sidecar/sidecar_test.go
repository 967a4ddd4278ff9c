package sidecar

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
)

// A manifest names files in its folder and below it; only those are
// claimed, and never the manifest itself.
func TestClaims(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, data string) string {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(data), 0o644)
		return p
	}
	write("m.manifest", "a.bin\n./weights//b.bin\n../outside.bin\n")
	idx := New(func(n string) bool { return strings.HasSuffix(n, ".manifest") }, func(opts *formats.Options, path string, _ int64) []string {
		data, _ := opts.ReadSmallFile(path, 1<<20)
		return strings.Fields(string(data))
	})
	for _, c := range []struct {
		rel  string
		want bool
	}{
		{"a.bin", true},
		{"weights/b.bin", true}, // named as ./weights//b.bin
		{"c.bin", false},        // not named
		{"m.manifest", false},   // the manifest itself
	} {
		p := write(c.rel, "x")
		if got := idx.Claims(&formats.Probe{Name: filepath.Base(p), Path: p}); got != c.want {
			t.Errorf("%s: claimed %v, want %v", c.rel, got, c.want)
		}
	}
	// Content with no folder (an upload) is never claimed.
	if idx.Claims(&formats.Probe{Name: "a.bin"}) {
		t.Error("a file without a path was claimed")
	}
}
