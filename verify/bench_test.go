package verify

import (
	"crypto/rand"
	"crypto/sha256"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// makeBenchModel writes n files of size bytes each (random content, so no
// filesystem can shortcut them).
func makeBenchModel(b *testing.B, n int, size int64) string {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "bench-model")
	os.MkdirAll(dir, 0o755)
	buf := make([]byte, 8<<20)
	rand.Read(buf)
	for i := 0; i < n; i++ {
		f, err := os.Create(filepath.Join(dir, "shard-"+strconv.Itoa(i)+".safetensors"))
		if err != nil {
			b.Fatal(err)
		}
		for w := int64(0); w < size; w += int64(len(buf)) {
			chunk := buf
			if size-w < int64(len(chunk)) {
				chunk = chunk[:size-w]
			}
			if _, err := f.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
	}
	return dir
}

// singleCoreSHA256 measures one core hashing from memory, bytes/second.
func singleCoreSHA256() float64 {
	buf := make([]byte, 64<<20)
	h := sha256.New()
	start := time.Now()
	for i := 0; i < 8; i++ {
		h.Write(buf)
	}
	return float64(8*len(buf)) / time.Since(start).Seconds()
}

// BenchmarkHashModel hashes a 64 MB folder of 8 files (page cache).
func BenchmarkHashModel(b *testing.B) {
	dir := makeBenchModel(b, 8, 8<<20)
	if _, err := HashModel(dir, HashOptions{}); err != nil { // warm the cache
		b.Fatal(err)
	}
	b.SetBytes(64 << 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := HashModel(dir, HashOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashTypes hashes the same 64 MB with each hash type (one
// worker per CPU, from the page cache).
func BenchmarkHashTypes(b *testing.B) {
	dir := makeBenchModel(b, 8, 8<<20)
	for _, ht := range HashTypes() {
		b.Run(ht, func(b *testing.B) {
			if _, err := HashModel(dir, HashOptions{HashType: ht}); err != nil { // warm the cache
				b.Fatal(err)
			}
			b.SetBytes(64 << 20)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := HashModel(dir, HashOptions{HashType: ht}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHash4GB hashes 4 GB in 8 files from the page cache and
// reports the speed against cores x single-core SHA-256. It writes 4 GB,
// so it only runs when MODELVET_BENCH_4GB=1.
func BenchmarkHash4GB(b *testing.B) {
	if os.Getenv("MODELVET_BENCH_4GB") != "1" {
		b.Skip("set MODELVET_BENCH_4GB=1 to write and hash a 4 GB folder")
	}
	const total = 4 << 30
	dir := makeBenchModel(b, 8, total/8)
	if _, err := HashModel(dir, HashOptions{}); err != nil { // warm the cache
		b.Fatal(err)
	}
	// Single-core speed is measured on the same files through the same
	// code with one worker, right before the timed run, so that both see
	// the same machine load (the machine is shared).
	t1 := time.Now()
	if _, err := HashModel(dir, HashOptions{Workers: 1}); err != nil {
		b.Fatal(err)
	}
	one := float64(total) / time.Since(t1).Seconds()
	mem := singleCoreSHA256()
	b.SetBytes(total)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := HashModel(dir, HashOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start).Seconds() / float64(b.N)
	b.StopTimer()
	got := float64(total) / el
	ideal := one * float64(runtime.NumCPU())
	b.ReportMetric(got/1e9, "GB/s")
	b.ReportMetric(one/1e9, "one-worker-GB/s")
	b.ReportMetric(mem/1e9, "sha256-in-memory-GB/s")
	b.ReportMetric(100*got/ideal, "%-of-ideal")
}
