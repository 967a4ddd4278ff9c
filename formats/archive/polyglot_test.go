package archive_test

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/modelvet/modelvet/formats"
)

// TestArchiveHDF5Polyglot: an archive in an HDF5 user block is two files
// (h5py finds the superblock at 512, 1024, 2048...); an HDF5 file stored
// as a member, found at its own data, is one.
func TestArchiveHDF5Polyglot(t *testing.T) {
	superblock := append([]byte("\x89HDF\r\n\x1a\n"), make([]byte, 120)...)
	inUserBlock := func(front []byte, at int, zipComment bool) []byte {
		out := make([]byte, at+len(superblock))
		copy(out, front)
		copy(out[at:], superblock)
		if zipComment { // the end record's comment covers the HDF5 part
			binary.LittleEndian.PutUint16(out[len(front)-2:], uint16(len(out)-len(front)))
		}
		return out
	}
	var tb bytes.Buffer
	w := tar.NewWriter(&tb)
	pad := make([]byte, 1000) // the next member's data lands at 2048
	w.WriteHeader(&tar.Header{Name: "pad", Size: int64(len(pad)), Mode: 0o644, Typeflag: tar.TypeReg})
	w.Write(pad)
	w.WriteHeader(&tar.Header{Name: "weights.h5", Size: int64(len(superblock)), Mode: 0o644, Typeflag: tar.TypeReg})
	w.Write(superblock)
	w.Close()
	cases := []struct {
		name string
		file string
		data []byte
		want bool
	}{
		{"zip in the user block of an HDF5 file", "m.h5", inUserBlock(zipAt(t, 0, file{name: "notes.txt", data: []byte("hi")}), 4096, true), true},
		{"tar in the user block of an HDF5 file", "m.h5", inUserBlock(buildTar(t, tarEntry{name: "notes.txt", data: []byte("hi")}), 2048, false), true},
		{"HDF5 file stored as a tar member at a power-of-two offset", "m.tar", tb.Bytes(), false},
		{"plain zip", "m.zip", zipAt(t, 0, file{name: "notes.txt", data: []byte("hi")}), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := scan(t, c.file, c.data, nil)
			if got := has(res, "archive/polyglot", formats.High); got != c.want {
				t.Fatalf("archive/polyglot %v, want %v:\n%v", got, c.want, res.Findings)
			}
		})
	}
}
