package archive_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/archive"
	"github.com/modelvet/modelvet/formats/formatstest"
)

func setFlag(bit uint16, where string) func(rec []byte, local bool) {
	return func(rec []byte, local bool) {
		if local && where != "central" {
			binary.LittleEndian.PutUint16(rec[6:], binary.LittleEndian.Uint16(rec[6:])|bit)
		}
		if !local && where != "local" {
			binary.LittleEndian.PutUint16(rec[8:], binary.LittleEndian.Uint16(rec[8:])|bit)
		}
	}
}

func setMethod(m uint16) func(rec []byte, local bool) {
	return func(rec []byte, local bool) {
		if local {
			binary.LittleEndian.PutUint16(rec[8:], m)
		} else {
			binary.LittleEndian.PutUint16(rec[10:], m)
		}
	}
}

func nest(t testing.TB, depth int) []byte {
	b := buildZip(t, file{name: "leaf.txt", data: []byte("leaf")})
	for range depth {
		b = buildZip(t, file{name: "inner.zip", data: b})
	}
	return b
}

func TestZip(t *testing.T) {
	hello := []byte("hello world, this is a member")
	two := buildZip(t, file{name: "a.txt", data: hello}, file{name: "b.txt", data: []byte("second member")})
	zeros := make([]byte, 16<<20)
	random := make([]byte, 100<<10)
	for i := range random {
		random[i] = byte(i*7919 + i>>5)
	}
	withComment := func() []byte {
		var buf bytes.Buffer
		w := zip.NewWriter(&buf)
		f, _ := w.Create("x.txt")
		f.Write([]byte("x"))
		w.SetComment("a comment")
		w.Close()
		return buf.Bytes()
	}
	deflated := func() []byte {
		var buf bytes.Buffer
		w := zip.NewWriter(&buf)
		f, _ := w.CreateHeader(&zip.FileHeader{Name: "notes.txt", Method: zip.Deflate})
		f.Write(bytes.Repeat([]byte("deflate me "), 100))
		w.Close()
		return buf.Bytes()
	}()
	small := formats.DefaultOptions()
	small.Limits.MaxExpand = 1000
	fewMembers := formats.DefaultOptions()
	fewMembers.Limits.MaxMembers = 3
	shallow := formats.DefaultOptions()
	shallow.Limits.MaxDepth = 4

	cases := []struct {
		name string
		data []byte
		opts *formats.Options
		want string // rule expected at High or above; "" = no finding at Medium or above
		min  formats.Severity
	}{
		{name: "stored zip of two members", data: two},
		{name: "deflated zip with data descriptor", data: deflated},
		{name: "empty zip", data: buildZip(t)},
		{name: "zip with a comment", data: withComment()},
		{name: "zip inside a zip", data: nest(t, 2)},
		{name: "stored member with tampered CRC", data: replaceFirst(two, "hello", "HELLO"), want: "archive/crc-mismatch"},
		{name: "deflated member with wrong CRC", data: rawMember(t, "m.bin", random, uint64(len(random)), 1234), want: "archive/crc-mismatch"},
		{name: "zip with local header name differing from central directory", data: replaceFirst(two, "a.txt", "z.txt"), want: "archive/inconsistent-header"},
		// Info-ZIP Unicode Path field: unzip and 7-Zip extract under it.
		{name: "unicode path field naming a climbing path", data: unicodePathZip(t, "model.bin", "../../.bashrc", true), want: "archive/inconsistent-header"},
		{name: "unicode path field naming another file", data: unicodePathZip(t, "model.bin", "evil.pkl", true), want: "archive/inconsistent-header"},
		{name: "unicode path field with a stale CRC is ignored by readers", data: unicodePathZip(t, "model.txt", "evil.pkl", false)},
		{name: "unicode path field repeating the name", data: unicodePathZip(t, "model.txt", "model.txt", true)},
		{name: "unicode path field spelling a CP437 name in UTF-8", data: unicodePathZip(t, "mod\x8al.txt", "modèl.txt", true)},
		{name: "unicode path field changing an ASCII letter of a CP437 name", data: unicodePathZip(t, "mod\x8al.txt", "modèx.txt", true), want: "archive/inconsistent-header"},
		{name: "duplicate member names", data: buildZip(t, file{name: "data.pkl", data: []byte("one")}, file{name: "data.pkl", data: []byte("two")}), want: "archive/duplicate-name"},
		{name: "path traversal with ..", data: buildZip(t, file{name: "../../etc/cron.d/x", data: hello}), want: "archive/path-escape"},
		{name: "absolute member path", data: buildZip(t, file{name: "/etc/passwd", data: hello}), want: "archive/path-escape"},
		{name: "backslash traversal for Windows", data: buildZip(t, file{name: `..\..\Windows\x.dll`, data: hello}), want: "archive/path-escape"},
		{name: "drive letter", data: buildZip(t, file{name: "C:/Windows/x.dll", data: hello}), want: "archive/path-escape"},
		{name: "Windows device name", data: buildZip(t, file{name: "model/con.txt", data: hello}), want: "archive/path-escape"},
		{name: "NUL byte in name", data: buildZip(t, file{name: "model.pkl\x00.txt", data: hello}), want: "archive/path-escape"},
		{name: "encrypted member", data: patchHeaders(two, setFlag(1, "both")), want: "archive/encrypted"},
		{name: "encrypted flag in local header only", data: patchHeaders(two, setFlag(1, "local")), want: "archive/inconsistent-header"},
		{name: "data descriptor flag in central directory only", data: patchHeaders(two, setFlag(8, "central")), want: "archive/inconsistent-header"},
		{name: "unsupported compression method (lzma)", data: patchHeaders(two, setMethod(14)), want: "archive/unsupported-method"},
		{name: "deflate bomb (ratio)", data: rawMember(t, "bomb.bin", zeros, uint64(len(zeros)), crc32.ChecksumIEEE(zeros)), want: "archive/compression-ratio"},
		{name: "deflate past the expansion budget", data: rawMember(t, "big.bin", random, uint64(len(random)), crc32.ChecksumIEEE(random)), opts: &small, want: "archive/expansion-limit"},
		{name: "member inflating past its declared size", data: rawMember(t, "lie.bin", random, 1000, crc32.ChecksumIEEE(random[:1000])), want: "archive/inconsistent-header"},
		{name: "member inflating short of its declared size", data: rawMember(t, "short.bin", random, uint64(len(random))+50, crc32.ChecksumIEEE(random)), want: "archive/truncated"},
		{name: "truncated archive", data: two[:len(two)-30], want: "archive/malformed"},
		{name: "end record count lies", data: func() []byte {
			b := bytes.Clone(two)
			binary.LittleEndian.PutUint16(b[len(b)-12:], 3)
			binary.LittleEndian.PutUint16(b[len(b)-14:], 3)
			return b
		}(), want: "archive/inconsistent-header"},
		{name: "overlapping members", data: func() []byte {
			b := bytes.Clone(two)
			cd := bytes.LastIndex(b, []byte("PK\x01\x02"))
			binary.LittleEndian.PutUint32(b[cd+42:], 0)
			return b
		}(), want: "archive/overlapping-members"},
		{name: "bytes after the end record", data: append(bytes.Clone(two), bytes.Repeat([]byte{'x'}, 100)...), want: "archive/unaccounted-data", min: formats.Medium},
		{name: "second end record hidden in the comment", data: func() []byte {
			// The real end record's comment holds a fake end record
			// followed by 10 bytes: the last signature is the fake one.
			b := bytes.Clone(two)
			fake := bytes.Clone(b[len(b)-22:])
			comment := append(fake, bytes.Repeat([]byte{'z'}, 10)...)
			binary.LittleEndian.PutUint16(b[len(b)-2:], uint16(len(comment)))
			return append(b, comment...)
		}(), want: "archive/inconsistent-header"},
		{name: "symlink member pointing outside", data: func() []byte {
			var buf bytes.Buffer
			w := zip.NewWriter(&buf)
			h := &zip.FileHeader{Name: "model/weights.bin", Method: zip.Store}
			h.SetMode(os.ModeSymlink | 0o777)
			f, _ := w.CreateHeader(h)
			f.Write([]byte("../../../../home/user/.ssh/id_rsa"))
			w.Close()
			return buf.Bytes()
		}(), want: "archive/path-escape"},
		{name: "names differing only in case", data: buildZip(t, file{name: "model/Data.pkl", data: hello}, file{name: "model/data.pkl", data: hello}), want: "archive/duplicate-name", min: formats.Medium},
		{name: "zstd-compressed member (method 93)", data: func() []byte {
			enc, _ := zstd.NewWriter(nil)
			c := enc.EncodeAll(hello, nil)
			var buf bytes.Buffer
			w := zip.NewWriter(&buf)
			fw, _ := w.CreateRaw(&zip.FileHeader{Name: "z.txt", Method: 93, CRC32: crc32.ChecksumIEEE(hello), CompressedSize64: uint64(len(c)), UncompressedSize64: uint64(len(hello))})
			fw.Write(c)
			w.Close()
			return buf.Bytes()
		}()},
		{name: "nested zips past the depth limit", data: nest(t, 6), opts: &shallow, want: "archive/nesting-limit"},
		{name: "more members than allowed", data: buildZip(t, file{name: "1", data: hello}, file{name: "2", data: hello}, file{name: "3", data: hello}, file{name: "4", data: hello}), opts: &fewMembers, want: "archive/too-many-members"},
		{name: "data descriptor disagrees with central directory", data: func() []byte {
			b := bytes.Clone(deflated)
			i := bytes.Index(b, []byte("PK\x07\x08"))
			b[i+4] ^= 0xff
			return b
		}(), want: "archive/inconsistent-header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := scan(t, "test.zip", c.data, c.opts)
			if c.want == "" {
				if got := formatstest.Rules(res, formats.Medium); len(got) > 0 {
					t.Fatalf("want no finding, got %s", formatstest.Describe(res))
				}
				return
			}
			min := c.min
			if min == 0 {
				min = formats.High
			}
			if !has(res, c.want, min) {
				t.Fatalf("want %s at %s or above, got %s", c.want, min, formatstest.Describe(res))
			}
		})
	}
}

// A zip glued behind other data: Python and Go shift offsets and read it,
// PyTorch's reader does not. The front must be reported and scanned.
func TestZipPrependedData(t *testing.T) {
	z := buildZip(t, file{name: "a.txt", data: []byte("member")})
	data := append([]byte("#!/bin/sh\necho front part\n"), z...)
	res := &formats.FileResult{}
	opts := formats.DefaultOptions()
	s := formats.NewScope("x.zip", &opts, res)
	a := archive.OpenZip(s, bytes.NewReader(data), int64(len(data)))
	if a == nil || a.Prepended != 26 {
		t.Fatalf("want an archive with 26 prepended bytes, got %+v: %s", a, formatstest.Describe(res))
	}
	if !has(res, "archive/unaccounted-data", formats.High) {
		t.Fatalf("prepended data not reported: %s", formatstest.Describe(res))
	}
	r, n, err := a.Open(a.Members[0])
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(io.NewSectionReader(r, 0, n))
	if string(got) != "member" {
		t.Fatalf("member read as %q", got)
	}
}

// A second opinion: on well-formed archives our reader lists exactly what
// Go's archive/zip lists, with the same sizes and CRCs, and the content
// read back is the same.
func TestZipAgreesWithArchiveZip(t *testing.T) {
	files, _ := filepath.Glob("../pytorch/testdata/*.pt")
	more, _ := filepath.Glob("../numpy/testdata/*.npz")
	files = append(files, more...)
	inputs := map[string][]byte{"built": buildZip(t, file{name: "a", data: []byte("x")}, file{name: "d/", data: nil})}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.HasPrefix(b, []byte("PK")) {
			inputs[filepath.Base(f)] = b
		}
	}
	if len(inputs) < 5 {
		t.Fatalf("only %d zip fixtures found", len(inputs))
	}
	for name, b := range inputs {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%s: archive/zip: %v", name, err)
		}
		res := &formats.FileResult{}
		opts := formats.DefaultOptions()
		s := formats.NewScope(name, &opts, res)
		a := archive.OpenZip(s, bytes.NewReader(b), int64(len(b)))
		if a == nil || len(res.Findings) > 0 {
			t.Fatalf("%s: %s", name, formatstest.Describe(res))
		}
		if len(a.Members) != len(zr.File) {
			t.Fatalf("%s: %d members, archive/zip sees %d", name, len(a.Members), len(zr.File))
		}
		for i, f := range zr.File {
			m := a.Members[i]
			if m.Name != f.Name || uint64(m.Size) != f.UncompressedSize64 || m.CRC32 != f.CRC32 {
				t.Fatalf("%s: member %d is %q/%d/%08x, archive/zip says %q/%d/%08x", name, i, m.Name, m.Size, m.CRC32, f.Name, f.UncompressedSize64, f.CRC32)
			}
			if m.IsDir {
				continue
			}
			r, n, err := a.Open(m)
			if err != nil {
				t.Fatalf("%s: open %s: %v", name, m.Name, err)
			}
			got, _ := io.ReadAll(io.NewSectionReader(r, 0, n))
			rc, _ := f.Open()
			want, _ := io.ReadAll(rc)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: %s content differs from archive/zip's", name, m.Name)
			}
			archive.Release(r)
		}
		a.Close()
	}
}

func TestZipLargeMemberGoesToTempFile(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), (40<<20)/16) // 40 MiB, compresses ~ 200x? no: ratio below limit
	for i := 0; i < len(big); i += 4096 {
		big[i] = byte(i >> 12)
	}
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, _ := w.CreateHeader(&zip.FileHeader{Name: "big.bin", Method: zip.Deflate})
	f.Write(big)
	w.Close()
	opts := formats.DefaultOptions()
	opts.Limits.MaxRatio = 100000
	res := &formats.FileResult{}
	s := formats.NewScope("x.zip", &opts, res)
	a := archive.OpenZip(s, bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	r, n, err := a.Open(a.Members[0])
	if err != nil || n != int64(len(big)) {
		t.Fatalf("open: %v %d %s", err, n, formatstest.Describe(res))
	}
	tf, ok := r.(interface{ Name() string })
	if !ok {
		t.Fatalf("a %d-byte member should be inflated to a temporary file, got %T", n, r)
	}
	name := tf.Name()
	if _, err := os.Stat(name); err != nil {
		t.Fatal(err)
	}
	a.Close()
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Fatalf("temporary file %s not removed by Close: %v", name, err)
	}
	if !strings.Contains(name, "modelvet-member") {
		t.Fatalf("unexpected temp name %s", name)
	}
}

// TestZipBehindUnknownData: a zip glued behind bytes no analyzer knows
// (garbage, a stub) is what Python's zipfile opens from the back; the scan
// must open it too, report the prefix and scan the members, not pass the
// file as unrecognized data. Plain text with no end record stays text.
func TestZipBehindUnknownData(t *testing.T) {
	z := buildZip(t, file{name: "inner.zip", data: buildZip(t, file{name: "a.txt", data: []byte("x")})}, file{name: "../escape.txt", data: []byte("y")})
	data := append(bytes.Repeat([]byte("GARBAGE!"), 8), z...)
	res := formatstest.ScanBytes(t, "download.zip", data, nil)
	if res.Format != "zip" || !has(res, "archive/unaccounted-data", formats.High) || !has(res, "archive/path-escape", formats.High) {
		t.Fatalf("prefixed zip not analyzed: %s", formatstest.Describe(res))
	}
	for _, f := range res.Findings {
		if f.Rule == "formats/extension-mismatch" {
			t.Fatalf("a prefixed .zip is not an extension mismatch: %s", formatstest.Describe(res))
		}
	}
	res = formatstest.ScanBytes(t, "notes.txt", []byte("the bytes PK\x05\x06 are mentioned in this text, which has no end record at its end"), nil)
	if res.Format == "zip" {
		t.Fatalf("text sniffed as zip: %s", formatstest.Describe(res))
	}
}
