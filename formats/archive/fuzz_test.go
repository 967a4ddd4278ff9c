package archive_test

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/archive"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// countingReader counts the bytes an analyzer reads, to assert bounded work.
type countingReader struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

func fuzzOptions() formats.Options {
	o := formats.DefaultOptions()
	o.Limits.MaxExpand = 4 << 20
	o.Limits.MaxMembers = 2000
	o.Limits.MaxDepth = 3
	return o
}

// exercise opens every member of what the reader accepts and reads it.
func exercise(t *testing.T, kind string, data []byte) {
	opts := fuzzOptions()
	res := &formats.FileResult{}
	s := formats.NewScope("fuzz", &opts, res)
	cr := &countingReader{r: bytes.NewReader(data)}
	start := time.Now()
	var a *archive.Archive
	switch kind {
	case "zip":
		a = archive.OpenZip(s, cr, int64(len(data)))
	case "tar":
		a = archive.OpenTar(s, cr, int64(len(data)))
	case "7z":
		a = archive.Open7z(s, cr, int64(len(data)))
	}
	if kind == "zip" && a != nil {
		agreeWithArchiveZip(t, data, a, res)
	}
	if a != nil {
		for _, m := range a.Members {
			r, n, err := a.Open(m)
			if err != nil {
				continue
			}
			if n < 0 || n > opts.Limits.MaxExpand+int64(len(data)) {
				t.Fatalf("member %q opened with size %d", m.Name, n)
			}
			io.Copy(io.Discard, io.NewSectionReader(r, 0, n))
			archive.Release(r)
		}
		a.Close()
	}
	if kind == "7z" {
		// 7z reads are the library's; only time and expansion are bounded.
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("took %v", d)
		}
		return
	}
	// Stored content is read at most twice (CRC check, then the copy
	// above), headers a bounded number of times.
	if got, limit := cr.n.Load(), 4*int64(len(data))+(1<<20); got > limit {
		t.Fatalf("read %d bytes of a %d-byte input", got, len(data))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}

func seeds(f *testing.F, globs ...string) {
	for _, g := range globs {
		files, _ := filepath.Glob(g)
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil && len(b) < 1<<20 {
				f.Add(b)
			}
		}
	}
}

func FuzzZip(f *testing.F) {
	seeds(f, "../pytorch/testdata/*.pt", "../numpy/testdata/*.npz", "../../testdata/redteam2/containers/zip/*")
	f.Add(buildZip(f, file{name: "a.txt", data: []byte("hello")}, file{name: "b/c.bin", data: []byte{1, 2, 3}}))
	f.Add(rawMember(f, "d.bin", bytes.Repeat([]byte("ab"), 500), 1000, 0))
	f.Add(buildZip(f))
	f.Add(unicodePathZip(f, "model.bin", "../x", true))
	f.Fuzz(func(t *testing.T, data []byte) { exercise(t, "zip", data) })
}

func FuzzTar(f *testing.F) {
	seeds(f, "../pytorch/testdata/legacy_tar*.pt", "../../testdata/redteam2/containers/tar/*.tar")
	f.Add(buildTar(f, tarEntry{name: "a", data: []byte("hello")}, tarEntry{name: "l", link: "a", typ: '2'}))
	f.Fuzz(func(t *testing.T, data []byte) { exercise(t, "tar", data) })
}

func Fuzz7z(f *testing.F) {
	seeds(f, "testdata/*.7z")
	f.Fuzz(func(t *testing.T, data []byte) { exercise(t, "7z", data) })
}

// agreeWithArchiveZip is the differential check: when our reader saw
// nothing wrong (no finding at High) and Go's archive/zip opens the
// archive too, both must list the same members with the same sizes.
func agreeWithArchiveZip(t *testing.T, data []byte, a *archive.Archive, res *formats.FileResult) {
	for _, f := range res.Findings {
		if f.Severity >= formats.High {
			return
		}
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return // Go refuses what we accepted: not a disagreement on content
	}
	if len(zr.File) != len(a.Members) {
		t.Fatalf("we list %d members, archive/zip %d", len(a.Members), len(zr.File))
	}
	for i, f := range zr.File {
		m := a.Members[i]
		if f.Name != m.Name || f.UncompressedSize64 != uint64(m.Size) || f.CRC32 != m.CRC32 {
			t.Fatalf("member %d: we see %q/%d/%08x, archive/zip %q/%d/%08x", i, m.Name, m.Size, m.CRC32, f.Name, f.UncompressedSize64, f.CRC32)
		}
	}
}

// FuzzZipBehindData: the whole sniff-and-analyze path on data that may be
// a zip glued behind anything (the zip-embedded fallback): no panic,
// bounded time.
func FuzzZipBehindData(f *testing.F) {
	z := buildZip(f, file{name: "a.txt", data: []byte("hello")})
	f.Add(append([]byte("GARBAGE!"), z...))
	f.Add(append(bytes.Repeat([]byte{0}, 100), z...))
	f.Add([]byte("plain text"))
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		formatstest.ScanBytes(t, "x.dat", data, nil)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("took %v", d)
		}
	})
}
