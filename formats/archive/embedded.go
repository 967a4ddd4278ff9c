package archive

import (
	"encoding/binary"
	"io"

	"github.com/modelvet/modelvet/formats"
)

// A zip glued behind data no analyzer recognizes (a self-extractor stub,
// garbage, a polyglot header) is still opened by Python's zipfile, which
// finds the end record from the back: np.load, Keras and any zipfile-based
// loader read its members. When nothing else claims a file, this fallback
// looks for a consistent end record at the end and analyzes the file as a
// zip, so its members are scanned and the prefix is reported, instead of
// the file passing as unrecognized data.
func init() {
	formats.Register(&formats.Analyzer{
		Name: "zip-embedded",
		// The zip analyzer's names: a prefixed zip under them is no mismatch.
		Extensions: []string{".zip", ".npz", ".pt", ".pth", ".ckpt", ".bin", ".mar", ".keras"},
		Priority:   -100, // last resort: every content format sniffs first
		Sniff: func(p *formats.Probe) bool {
			return p.R != nil && trailingEOCD(p.R, p.Size)
		},
		Analyze: func(s *formats.Scope, r io.ReaderAt, size int64) {
			s.SetFormat("zip")
			analyzeZip(s, r, size)
		},
	})
}

// trailingEOCD reports whether the file ends with a zip end record whose
// comment length reaches exactly the end of the file and whose central
// directory starts with a central header signature where it says: random
// data matches all three by chance about never.
func trailingEOCD(r io.ReaderAt, size int64) bool {
	if size < eocdLen {
		return false
	}
	tail := min(size, eocdLen+maxCommentLen)
	buf := make([]byte, tail)
	if _, err := r.ReadAt(buf, size-tail); err != nil && err != io.EOF {
		return false
	}
	for i := len(buf) - eocdLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(buf[i:]) != sigEnd {
			continue
		}
		if i+eocdLen+int(binary.LittleEndian.Uint16(buf[i+20:])) != len(buf) {
			continue
		}
		cdSize := int64(binary.LittleEndian.Uint32(buf[i+12:]))
		eocdAbs := size - tail + int64(i)
		if cdSize == 0 || cdSize > eocdAbs {
			return false
		}
		var sig [4]byte
		if _, err := r.ReadAt(sig[:], eocdAbs-cdSize); err != nil {
			return false
		}
		return binary.LittleEndian.Uint32(sig[:]) == sigCentral
	}
	return false
}
