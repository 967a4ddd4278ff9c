package archive

import (
	"bytes"
	"io"

	"github.com/modelvet/modelvet/formats"
)

// Attack class: one file, two formats. The HDF5 library looks for its
// superblock at offset 0, 512, 1024, 2048... (the bytes before it are a
// "user block" it ignores), so an HDF5 file can carry a whole zip or tar
// in front: zip and tar readers (and the sniffer, which sees "PK" or a tar
// header at 0) get the archive, h5py and Keras' load_model("x.h5") get
// the HDF5 model, Lambda layers and all. Every archive is therefore also
// searched where HDF5 would find itself, and what HDF5 finds is analyzed.

var hdf5Magic = []byte("\x89HDF\r\n\x1a\n")

// hdf5At returns where the HDF5 library would find a superblock in the
// file (past offset 0: a file starting with one is no archive), or -1.
func hdf5At(r io.ReaderAt, size int64) int64 {
	var sig [8]byte
	for at := int64(512); at+8 <= size && at > 0; at *= 2 {
		if _, err := r.ReadAt(sig[:], at); err != nil && err != io.EOF {
			return -1
		}
		if bytes.Equal(sig[:], hdf5Magic) {
			return at
		}
	}
	return -1
}

// checkPolyglot reports an archive that is also an HDF5 file and hands the
// same bytes to the HDF5 analyzer. An HDF5 file stored as a member (a tar
// keeps member data 512-aligned) is found at its member's data and is
// scanned as that member: HDF5 opening the outer file reads those very
// bytes, so that is no second view.
func checkPolyglot(s *formats.Scope, kind string, r io.ReaderAt, size int64, a *Archive) {
	at := hdf5At(r, size)
	if at < 0 {
		return
	}
	if a != nil {
		for _, m := range a.Members {
			if m.DataOffset >= 0 && at >= m.DataOffset && at < m.DataOffset+m.Size {
				return
			}
		}
	}
	s.Reportf("archive/polyglot", formats.High, at,
		"the file is a %s archive and also an HDF5 file (superblock at offset %d, behind a user block holding the archive): zip and tar readers see the archive, h5py and Keras' load_model see the HDF5 model; both are scanned", kind, at)
	if a := formats.Lookup("keras-h5"); a != nil {
		c := s.Child("<the same bytes as HDF5>")
		if c != nil {
			a.Analyze(c, r, size)
		}
	}
}
