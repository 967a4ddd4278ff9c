package formats

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestScanReportsProgress: the callback hears the totals first and ends
// with every file and byte done, so a progress line reaches 100%.
func TestScanReportsProgress(t *testing.T) {
	dir := t.TempDir()
	for i, n := range []string{"a.bin", "b.bin", "sub/c.bin"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(n)), 0o755)
		os.WriteFile(filepath.Join(dir, n), make([]byte, 100*(i+1)), 0o644)
	}
	var seen []Progress
	opts := DefaultOptions()
	opts.Progress = func(p Progress) { seen = append(seen, p) }
	if _, err := Scan(context.Background(), []string{dir}, opts); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 4 {
		t.Fatalf("%d progress reports, want 4: %+v", len(seen), seen)
	}
	first, last := seen[0], seen[len(seen)-1]
	if first != (Progress{Files: 3, Bytes: 600}) || last != (Progress{Files: 3, FilesDone: 3, Bytes: 600, BytesDone: 600}) {
		t.Errorf("first %+v, last %+v", first, last)
	}
}
