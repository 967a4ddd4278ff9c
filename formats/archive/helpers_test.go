package archive_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"slices"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

type file struct {
	name   string
	data   []byte
	method uint16
}

// buildZip writes members with Go's zip writer; stored members carry no
// data descriptor (CreateRaw), like Python's zipfile output.
func buildZip(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range files {
		if f.method == zip.Deflate {
			fw, err := w.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate})
			if err != nil {
				t.Fatal(err)
			}
			fw.Write(f.data)
			continue
		}
		fw, err := w.CreateRaw(&zip.FileHeader{Name: f.name, Method: zip.Store, CRC32: crc32.ChecksumIEEE(f.data),
			CompressedSize64: uint64(len(f.data)), UncompressedSize64: uint64(len(f.data))})
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(f.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawMember returns a one-member zip of deflated data whose header
// declares declaredSize and crc, whatever the data really is.
func rawMember(t testing.TB, name string, data []byte, declaredSize uint64, crc uint32) []byte {
	t.Helper()
	var c bytes.Buffer
	fw, _ := flate.NewWriter(&c, flate.BestCompression)
	fw.Write(data)
	fw.Close()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	raw, err := w.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(c.Len()), UncompressedSize64: declaredSize})
	if err != nil {
		t.Fatal(err)
	}
	raw.Write(c.Bytes())
	w.Close()
	return buf.Bytes()
}

type tarEntry struct {
	name, link string
	typ        byte
	data       []byte
}

func buildTar(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: typ, Size: int64(len(e.data)), Mode: 0o644, Format: tar.FormatPAX}
		if typ != tar.TypeReg {
			h.Size = 0
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			w.Write(e.data)
		}
	}
	w.Close()
	return buf.Bytes()
}

// replaceAll swaps every occurrence of old (same length) in b.
func replaceAll(b []byte, old, new string) []byte {
	if len(old) != len(new) {
		panic("replacement must keep the length")
	}
	return bytes.ReplaceAll(slices.Clone(b), []byte(old), []byte(new))
}

// replaceFirst swaps the first occurrence only (the local header comes first).
func replaceFirst(b []byte, old, new string) []byte {
	out := slices.Clone(b)
	i := bytes.Index(out, []byte(old))
	if i < 0 {
		panic("not found: " + old)
	}
	copy(out[i:], new)
	return out
}

func scan(t testing.TB, name string, data []byte, opts *formats.Options) *formats.FileResult {
	t.Helper()
	return formatstest.ScanBytes(t, name, data, opts)
}

func has(r *formats.FileResult, rule string, min formats.Severity) bool {
	return slices.Contains(formatstest.Rules(r, min), rule)
}

// patchHeaders applies fn to every local header (sig PK\x03\x04) and
// central directory record (PK\x01\x02); off is the flags field offset.
func patchHeaders(b []byte, fn func(rec []byte, local bool)) []byte {
	out := slices.Clone(b)
	for i := 0; i+4 <= len(out); i++ {
		switch string(out[i : i+4]) {
		case "PK\x03\x04":
			fn(out[i:], true)
		case "PK\x01\x02":
			fn(out[i:], false)
		}
	}
	return out
}

// unicodePathZip: one stored member named name whose Info-ZIP Unicode Path
// extra field (0x7075) says alt; the field's CRC of the header name is
// right when crcOK.
func unicodePathZip(t testing.TB, name, alt string, crcOK bool) []byte {
	t.Helper()
	crc := crc32.ChecksumIEEE([]byte(name))
	if !crcOK {
		crc++
	}
	body := append([]byte{1, byte(crc), byte(crc >> 8), byte(crc >> 16), byte(crc >> 24)}, alt...)
	extra := append([]byte{0x75, 0x70, byte(len(body)), byte(len(body) >> 8)}, body...)
	data := []byte("text")
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	fw, err := w.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Store, CRC32: crc32.ChecksumIEEE(data),
		CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data)), Extra: extra})
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
