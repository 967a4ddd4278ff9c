//go:build unix

package pickle_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/pickle"
)

// floatsPickle builds a protocol 4 pickle of a list of n floats: BINFLOATs
// in APPENDS batches of 1000 (as pickle.dumps writes them), in FRAMEs of
// about 64 KiB (as the protocol 4 framer cuts them).
func floatsPickle(n int) []byte {
	var out bytes.Buffer
	out.Grow(n*9 + n/1000*20 + 1<<16)
	writeFloats(&out, n)
	return out.Bytes()
}

func writeFloats(out io.Writer, n int) {
	var body bytes.Buffer
	body.Write([]byte{']', 0x94})
	out.Write([]byte{0x80, 4})
	flush := func(final bool) {
		if body.Len() >= 64<<10 || final {
			var hdr [9]byte
			hdr[0] = 0x95
			binary.LittleEndian.PutUint64(hdr[1:], uint64(body.Len()))
			out.Write(hdr[:])
			out.Write(body.Bytes())
			body.Reset()
		}
	}
	var f [9]byte
	f[0] = 'G'
	for i := 0; i < n; i += 1000 {
		body.WriteByte('(')
		for j := i; j < min(i+1000, n); j++ {
			binary.BigEndian.PutUint64(f[1:], math.Float64bits(float64(j)*0.5))
			body.Write(f[:])
		}
		body.WriteByte('e')
		flush(false)
	}
	body.WriteByte('.')
	flush(true)
}

// TestPeakMemoryFloats scans the 22-million-float pickle from a file, for
// measuring peak RSS from outside (MODELVET_PEAK=1, run under
// /usr/bin/time -v): the file is streamed to disk, never held in memory.
func TestPeakMemoryFloats(t *testing.T) {
	if os.Getenv("MODELVET_PEAK") == "" {
		t.Skip("set MODELVET_PEAK=1 and run under /usr/bin/time -v to measure peak RSS")
	}
	p := filepath.Join(t.TempDir(), "floats.pkl")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	writeFloats(w, 22_000_000)
	w.Flush()
	f.Close()
	o := formats.DefaultOptions()
	o.Hash = false
	start := time.Now()
	cpu0 := cpuTime()
	res := formats.ScanFile(context.Background(), p, p, &o)
	t.Logf("%d bytes in %v wall, %v cpu; format %s, findings %d", res.Size, time.Since(start), cpuTime()-cpu0, res.Format, len(res.Findings))
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("heap sys %d MiB, total alloc %d MiB", ms.HeapSys>>20, ms.TotalAlloc>>20)
	if len(res.Findings) != 0 {
		t.Errorf("%v", res.Findings)
	}
}

// BenchmarkScanFloats: 22 million floats, ~200 MB of opcodes.
func BenchmarkScanFloats(b *testing.B) {
	data := floatsPickle(22_000_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := &formats.FileResult{}
		o := formats.DefaultOptions()
		s := formats.NewScope("floats.pkl", &o, res)
		pr := pickle.Scan(s, bytes.NewReader(data), int64(len(data)))
		if len(res.Findings) != 0 || pr.Pickles != 1 {
			b.Fatalf("findings %v pickles %d", res.Findings, pr.Pickles)
		}
	}
	b.StopTimer()
	// The machine's cores are shared: CPU time says what one core does.
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(len(data))*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<20), "MiB-alloc/op")
}

var _ = io.EOF

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
