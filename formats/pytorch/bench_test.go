package pytorch_test

import (
	"archive/zip"
	"context"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// sparseWriter turns runs of zeros into seeks, so a 2 GB member costs no
// disk: the file has a hole where the tensor bytes would be.
type sparseWriter struct{ f *os.File }

func (w sparseWriter) Write(p []byte) (int, error) {
	for _, c := range p {
		if c != 0 {
			return w.f.Write(p)
		}
	}
	_, err := w.f.Seek(int64(len(p)), 1)
	return len(p), err
}

// bigCheckpoint writes a PyTorch zip whose one storage holds numel floats.
func bigCheckpoint(tb testing.TB, dir string, numel uint32) string {
	tb.Helper()
	pkl := []byte("\x80\x02}q\x00X\x01\x00\x00\x00wq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02((X\x07\x00\x00\x00storageq\x03ctorch\nFloatStorage\nq\x04X\x01\x00\x00\x000q\x05X\x03\x00\x00\x00cpuq\x06J")
	pkl = binary.LittleEndian.AppendUint32(pkl, numel)
	pkl = append(pkl, "tq\x07QK\x00J"...)
	pkl = binary.LittleEndian.AppendUint32(pkl, numel)
	pkl = append(pkl, "\x85q\x08K\x01\x85q\x09\x89ccollections\nOrderedDict\nq\x0a)Rq\x0btq\x0cRq\x0ds."...)
	path := filepath.Join(dir, "big.pt")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w := zip.NewWriter(sparseWriter{f})
	put := func(name string, size uint64, crc uint32, data []byte) {
		fw, err := w.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Store, CRC32: crc, CompressedSize64: size, UncompressedSize64: size})
		if err != nil {
			tb.Fatal(err)
		}
		if data != nil {
			fw.Write(data)
			return
		}
		zeros := make([]byte, 1<<20)
		for left := size; left > 0; left -= min(left, 1<<20) {
			fw.Write(zeros[:min(left, 1<<20)])
		}
	}
	put("big/data.pkl", uint64(len(pkl)), crc32.ChecksumIEEE(pkl), pkl)
	put("big/version", 1, crc32.ChecksumIEEE([]byte("3")), []byte("3"))
	size := uint64(numel) * 4
	// CRC of the zeros, computed once (the scan never recomputes it).
	h := crc32.NewIEEE()
	zeros := make([]byte, 1<<20)
	for left := size; left > 0; left -= min(left, 1<<20) {
		h.Write(zeros[:min(left, 1<<20)])
	}
	put("big/data/0", size, h.Sum32(), nil)
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkPyTorchZip2GB: a 2 GB checkpoint costs what its pickle costs.
// SetBytes is the file size, so MB/s shows how little of it is read.
func BenchmarkPyTorchZip2GB(b *testing.B) {
	path := bigCheckpoint(b, b.TempDir(), 512<<20) // 512 Mi floats = 2 GiB
	fi, _ := os.Stat(path)
	opts := formats.DefaultOptions()
	opts.Hash = false
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for b.Loop() {
		res := formats.ScanFile(context.Background(), path, "big.pt", &opts)
		if res.Format != "pytorch" || len(formatstest.Rules(res, formats.Medium)) > 0 {
			b.Fatalf("unexpected result: %s", formatstest.Describe(res))
		}
	}
}

// The same file through the sniff-and-analyze path with a counting
// reader: the tensor bytes must not be read, only headers and the pickle.
func TestBigCheckpointReadsLittle(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a sparse 2 GB file")
	}
	path := bigCheckpoint(t, t.TempDir(), 512<<20)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	cr := &countingReader{r: f}
	opts := formats.DefaultOptions()
	res := formats.ScanReader("big.pt", cr, fi.Size(), &opts)
	if res.Format != "pytorch" || len(formatstest.Rules(res, formats.Medium)) > 0 {
		t.Fatalf("unexpected result: %s", formatstest.Describe(res))
	}
	if cr.n > 1<<20 {
		t.Fatalf("read %d bytes of a %d-byte checkpoint; tensor data must not be read", cr.n, fi.Size())
	}
	t.Logf("read %d bytes of %d", cr.n, fi.Size())
}

type countingReader struct {
	r io.ReaderAt
	n int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}
