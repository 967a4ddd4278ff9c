package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

var manyOnce sync.Once
var manyDir string

// manySmallFiles is a model folder of 20,000 small files (and one
// safetensors file), the shape the issue measured hashing cost on.
func manySmallFiles(b *testing.B) string {
	manyOnce.Do(func() {
		dir, err := os.MkdirTemp("", "modelvet-many-")
		if err != nil {
			b.Fatal(err)
		}
		for i := range 20000 {
			d := filepath.Join(dir, fmt.Sprintf("d%03d", i%200))
			os.MkdirAll(d, 0o755)
			os.WriteFile(filepath.Join(d, fmt.Sprintf("f%05d.txt", i)), fmt.Appendf(nil, "hello %d\n", i), 0o644)
		}
		st, _ := os.ReadFile(filepath.Join("..", "..", "testdata", "examples", "clean-model", "model.safetensors"))
		os.WriteFile(filepath.Join(dir, "model.safetensors"), st, 0o644)
		manyDir = dir
	})
	return manyDir
}

// BenchmarkManySmallFiles compares "scan --format text" (no hashing)
// with "check --format json" (every file read once through the one pass:
// scanned, hashed, digests in the report, OMS root digest). Issue 11
// asks check to stay within 2x of the scan. SetBytes counts files, so
// MB/s reads as million files per second.
func BenchmarkManySmallFiles(b *testing.B) {
	dir := manySmallFiles(b)
	b.Cleanup(func() {})
	for _, c := range []struct {
		name string
		args []string
		exit int
	}{
		{"scan-text", []string{"scan", "--format", "text", dir}, 0},
		{"check-json", []string{"check", "--policy", "default", "--format", "json", dir}, 0},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(20001)
			for b.Loop() {
				if code := run(c.args, io.Discard, io.Discard); code != c.exit {
					b.Fatalf("exit %d", code)
				}
			}
		})
	}
}
