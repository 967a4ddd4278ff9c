package fileid

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPinnedBeforeRenameOver: a file looked up, then renamed over by
// another of the same size and time, must not be "the same file" as what
// the path names now. Without Pin, Windows fetched the identity only at
// the comparison, from the path, and said yes (found under Wine by the
// sign red-team test; on Unix this passes either way).
func TestPinnedBeforeRenameOver(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "w.bin")
	os.WriteFile(p, []byte("weights"), 0o644)
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	Pin(before)
	os.WriteFile(p+".new", []byte("WEIGHTS"), 0o644)
	os.Chtimes(p+".new", before.ModTime(), before.ModTime())
	if err := os.Rename(p+".new", p); err != nil {
		t.Skipf("this OS refuses the rename (%v)", err)
	}
	now, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(before, now) {
		t.Fatal("a file renamed over is reported as the same file")
	}
}
