package onnx

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/modelvet/modelvet/formats"
)

// writeBigModel writes a ModelProto of about total bytes whose graph holds
// initializers with raw_data of chunk bytes each, streaming it to disk so
// the benchmark itself stays small in memory.
func writeBigModel(tb testing.TB, path string, total, chunk int64) int64 {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	n := total / chunk
	zeros := make([]byte, 1<<20)
	tensorHead := func(i int64) []byte {
		var t []byte
		t = protowire.AppendTag(t, 1, protowire.VarintType)
		t = protowire.AppendVarint(t, uint64(chunk/4))
		t = protowire.AppendTag(t, 2, protowire.VarintType)
		t = protowire.AppendVarint(t, 1)
		t = protowire.AppendTag(t, 8, protowire.BytesType)
		t = protowire.AppendString(t, "w"+string(rune('a'+i%26)))
		t = protowire.AppendTag(t, 9, protowire.BytesType)
		t = protowire.AppendVarint(t, uint64(chunk))
		return t
	}
	var graphLen int64
	for i := range n {
		h := tensorHead(i)
		tl := int64(len(h)) + chunk
		graphLen += int64(protowire.SizeTag(5)+protowire.SizeVarint(uint64(tl))) + tl
	}
	var head []byte
	head = protowire.AppendTag(head, 1, protowire.VarintType)
	head = protowire.AppendVarint(head, 8)
	head = protowire.AppendTag(head, 2, protowire.BytesType)
	head = protowire.AppendString(head, "bench")
	head = protowire.AppendTag(head, 7, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(graphLen))
	if _, err := f.Write(head); err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		h := tensorHead(i)
		var t []byte
		t = protowire.AppendTag(t, 5, protowire.BytesType)
		t = protowire.AppendVarint(t, uint64(int64(len(h))+chunk))
		t = append(t, h...)
		if _, err := f.Write(t); err != nil {
			tb.Fatal(err)
		}
		for left := chunk; left > 0; {
			w := min(left, int64(len(zeros)))
			if _, err := f.Write(zeros[:w]); err != nil {
				tb.Fatal(err)
			}
			left -= w
		}
	}
	fi, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	return fi.Size()
}

// BenchmarkWalkLarge walks a ~500 MB model of 8 MB raw_data initializers.
// B/op stays at a few hundred KB: raw_data is skipped by length, not read.
func BenchmarkWalkLarge(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.onnx")
	size := writeBigModel(b, path, 500<<20, 8<<20)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	o := formats.DefaultOptions()
	b.SetBytes(size)
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for range b.N {
		res := &formats.FileResult{}
		analyze(formats.NewScope(path, &o, res), f, size)
		if len(res.Findings) != 0 || res.Details["initializers"] != "62" {
			b.Fatalf("unexpected result %+v", res)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(size), "alloc-bytes/file-byte")
}

// The walk allocates the same for a 4 MB and a 64 MB model.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 64 MB temp file")
	}
	dir := t.TempDir()
	o := formats.DefaultOptions()
	alloc := func(total int64) uint64 {
		p := filepath.Join(dir, "m.onnx")
		size := writeBigModel(t, p, total, 4<<20)
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var a, b runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&a)
		analyze(formats.NewScope(p, &o, &formats.FileResult{}), f, size)
		runtime.ReadMemStats(&b)
		return b.TotalAlloc - a.TotalAlloc
	}
	small, big := alloc(4<<20), alloc(64<<20)
	if big > small+256<<10 {
		t.Fatalf("walking a 64 MB model allocated %d bytes vs %d for 4 MB: memory grows with raw_data", big, small)
	}
}

// BenchmarkWalkManyNodes walks a graph of 200k small nodes (structure,
// not tensor bytes: the walk's real per-byte cost).
func BenchmarkWalkManyNodes(b *testing.B) {
	var g []byte
	for i := range 200_000 {
		var n []byte
		n = protowire.AppendTag(n, 1, protowire.BytesType)
		n = protowire.AppendString(n, "x")
		n = protowire.AppendTag(n, 2, protowire.BytesType)
		n = protowire.AppendString(n, "y")
		n = protowire.AppendTag(n, 3, protowire.BytesType)
		n = protowire.AppendString(n, "node_"+string(rune('a'+i%26)))
		n = protowire.AppendTag(n, 4, protowire.BytesType)
		n = protowire.AppendString(n, "Relu")
		var a []byte
		a = protowire.AppendTag(a, 1, protowire.BytesType)
		a = protowire.AppendString(a, "alpha")
		a = protowire.AppendTag(a, 2, protowire.Fixed32Type)
		a = protowire.AppendFixed32(a, 0)
		n = protowire.AppendTag(n, 5, protowire.BytesType)
		n = protowire.AppendBytes(n, a)
		g = protowire.AppendTag(g, 1, protowire.BytesType)
		g = protowire.AppendBytes(g, n)
	}
	var m []byte
	m = protowire.AppendTag(m, 1, protowire.VarintType)
	m = protowire.AppendVarint(m, 8)
	m = protowire.AppendTag(m, 7, protowire.BytesType)
	m = protowire.AppendBytes(m, g)
	o := formats.DefaultOptions()
	b.SetBytes(int64(len(m)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		res := &formats.FileResult{}
		analyze(formats.NewScope("m.onnx", &o, res), bytes.NewReader(m), int64(len(m)))
		if res.Details["nodes"] != "200000" {
			b.Fatal(res.Details)
		}
	}
}
