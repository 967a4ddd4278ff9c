package onepass

import (
	"crypto/rand"
	"crypto/sha256"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/modelvet/modelvet/verify"
)

// bigFiles writes n files of size random bytes (page cache afterwards).
func bigFiles(b *testing.B, n int, size int64) []string {
	b.Helper()
	dir := b.TempDir()
	buf := make([]byte, 8<<20)
	rand.Read(buf)
	var out []string
	for i := range n {
		p := filepath.Join(dir, "w"+strconv.Itoa(i)+".bin")
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		for w := int64(0); w < size; w += int64(len(buf)) {
			f.Write(buf[:min(int64(len(buf)), size-w)])
		}
		f.Close()
		out = append(out, p)
	}
	return out
}

// sha256InMemory is one core hashing from memory, bytes per second: the
// ceiling of one file's pass (SHA-256 of one stream is sequential).
func sha256InMemory() float64 {
	buf := make([]byte, 64<<20)
	h := sha256.New()
	start := time.Now()
	for range 4 {
		h.Write(buf)
	}
	return float64(4*len(buf)) / time.Since(start).Seconds()
}

// passAll runs the pass of every file on its own goroutine, as the walk's
// workers do (each file is hashed when its scan closes it), after a
// header read.
func passAll(b *testing.B, paths []string, o Options) {
	s := New(o)
	var wg sync.WaitGroup
	for _, p := range paths {
		wg.Go(func() {
			h, err := s.Open(p)
			if err != nil {
				b.Error(err)
				return
			}
			h.ReadAt(make([]byte, 4096), 0)
			h.Close()
		})
	}
	wg.Wait()
	for _, f := range s.Files() {
		if f.Changed != nil || f.Err != nil || f.SHA256 == "" && f.Digest == "" && len(f.Shards) == 0 {
			b.Fatalf("%s: %v %v", f.Path, f.Changed, f.Err)
		}
	}
}

// BenchmarkPassLarge measures the hashing pass on large files from the
// page cache: one file (files method: one SHA-256 stream, so at best one
// core), and one file per core (the walk hashes files in parallel). It
// reports GB/s and the share of the ideal (files x one core's in-memory
// SHA-256, measured in the same run so both see the same machine load).
func BenchmarkPassLarge(b *testing.B) {
	const size = 256 << 20
	for _, n := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run("files-"+strconv.Itoa(n), func(b *testing.B) {
			paths := bigFiles(b, n, size)
			passAll(b, paths, Options{Root: filepath.Dir(paths[0])}) // warm the cache
			mem := sha256InMemory()
			b.SetBytes(int64(n) * size)
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				passAll(b, paths, Options{Root: filepath.Dir(paths[0])})
			}
			el := time.Since(start).Seconds() / float64(b.N)
			got := float64(n) * size / el
			b.ReportMetric(got/1e9, "GB/s")
			b.ReportMetric(mem/1e9, "sha256-1core-GB/s")
			b.ReportMetric(100*got/(mem*float64(n)), "%-of-ideal")
		})
	}
}

// BenchmarkPassOneLargeFile measures the pass of one 2 GiB file (from the
// page cache), per digest a check can need: the whole-file SHA-256 (files
// method, a report's digests, provenance: one stream, so at best one core)
// and shard digests alone (a shards-method signature: OMS's 1 GB shards
// hashed side by side), and the same for blake2b and blake3 signatures. The bar is 0.8 x cores x one core's in-memory
// SHA-256 for shards alone, and one core's for the whole-file stream; the
// metric "%-of-bar" is measured against the SHA-256 speed of this run.
func BenchmarkPassOneLargeFile(b *testing.B) {
	const size = 2 << 30
	paths := bigFiles(b, 1, size)
	for _, c := range []struct {
		name string
		o    Options
		bar  float64 // cores the bar counts
	}{
		{"whole-file-sha256", Options{}, 1},
		{"shards-only", Options{ShardSize: verify.DefaultShardSize, SignatureOnly: true}, 0.8 * float64(runtime.GOMAXPROCS(0))},
		// A files-method signature of another hash type (check --format
		// text): that stream alone, no SHA-256; with report digests, both
		// streams side by side, one core each.
		{"blake2b-files-only", Options{HashType: verify.HashBLAKE2b, SignatureOnly: true}, 1},
		{"blake3-files-only", Options{HashType: verify.HashBLAKE3, SignatureOnly: true}, 1},
		{"blake2b-files-and-sha256", Options{HashType: verify.HashBLAKE2b}, 1},
		{"blake2b-shards-only", Options{HashType: verify.HashBLAKE2b, ShardSize: verify.DefaultShardSize, SignatureOnly: true}, 0.8 * float64(runtime.GOMAXPROCS(0))},
	} {
		b.Run(c.name, func(b *testing.B) {
			c.o.Root = filepath.Dir(paths[0])
			passAll(b, paths, c.o) // warm the cache
			mem := sha256InMemory()
			b.SetBytes(size)
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for b.Loop() {
				passAll(b, paths, c.o)
			}
			el := time.Since(start).Seconds() / float64(b.N)
			cpu := (cpuTime() - cpu0).Seconds() / float64(b.N)
			got := size / el
			b.ReportMetric(got/1e9, "GB/s")
			b.ReportMetric(mem/1e9, "sha256-1core-GB/s")
			b.ReportMetric(100*got/(mem*c.bar), "%-of-bar")
			// CPU seconds per GB, and the cores the pass kept busy: what
			// the speed would be with the cores to itself, when the
			// machine is shared.
			if cpu > 0 {
				b.ReportMetric(cpu/(size/1e9), "cpu-s/GB")
				b.ReportMetric(cpu/el, "cores-used")
			}
		})
	}
}
