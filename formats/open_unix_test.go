//go:build unix

package formats

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestSpecialFilesNeverBlock: a FIFO that replaced a listed file (or is
// named like weights) is never read: opening it must not wait for a
// writer, and it is high.
func TestSpecialFilesNeverBlock(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pytorch_model.bin")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	cases := []struct {
		name string
		run  func() *Result
	}{
		// The walk listed a regular file; a FIFO took its name before
		// the worker opened it.
		{"swapped for a FIFO after listing", func() *Result {
			o := DefaultOptions()
			return &Result{Files: []*FileResult{ScanFile(context.Background(), fifo, fifo, &o)}}
		}},
		{"FIFO named like weights in the folder", func() *Result {
			r, err := Scan(context.Background(), []string{dir}, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			return r
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			done := make(chan *Result, 1)
			go func() { done <- c.run() }()
			select {
			case r := <-done:
				found := false
				for _, f := range r.Files {
					for _, x := range f.Findings {
						if x.Rule == "fs/special-file" && x.Severity == High {
							found = true
						}
					}
				}
				if !found {
					t.Fatalf("no high fs/special-file: %+v", r.Files)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the scan blocked opening a FIFO")
			}
		})
	}
	if _, _, err := OpenRegular(fifo); err == nil {
		t.Fatal("OpenRegular accepted a FIFO")
	}
	if _, err := os.Stat(fifo); err != nil {
		t.Fatal(err)
	}
}
