package pickle

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/modelvet/modelvet/formats/archive"
)

// A zip reader finds an archive by the end-of-central-directory record in
// the last 64 KiB of a file, whatever is in front (Python's zipfile, and
// every loader that tests zipfile.is_zipfile). A file that is a pickle to
// pickle.load and torch.load (they read from byte 0) and a zip to such a
// reader is a polyglot: two loaders see two different models. The bytes
// after the pickle are junk to one reader and a whole archive to the
// other, so the archive is opened and scanned, and the ambiguity is High.

const eocdSearch = 22 + 65535

// polyglotZip scans an archive found in the bytes after the last STOP.
func (sc *scanner) polyglotZip(begin int64) {
	if sc.s == nil || sc.quiet || sc.depth > 0 || sc.size-begin < 22 {
		return
	}
	from := max(begin, sc.size-eocdSearch)
	tail := make([]byte, sc.size-from)
	if n, _ := sc.ra.ReadAt(tail, from); n < len(tail) {
		return
	}
	if !zipEndIn(sc.ra, tail, from) {
		return
	}
	sc.add("pickle/polyglot", High, begin, "",
		fmt.Sprintf("the %d bytes after the pickle (from offset %d) hold a zip archive: pickle.load reads the pickle, a zip reader (zipfile.is_zipfile, and loaders built on it) reads the archive; the archive is scanned as member %q", sc.size-begin, begin, "<zip after the pickle>"))
	c := sc.s.Child("<zip after the pickle>")
	if c == nil {
		return
	}
	a := archive.OpenZip(c, io.NewSectionReader(sc.ra, begin, sc.size-begin), sc.size-begin)
	if a == nil {
		return
	}
	defer a.Close()
	archive.Dispatch(c, a)
}

// zipEndIn reports whether tail (read at offset from) holds a zip end
// record whose central directory begins with a central header where the
// record says, as Python's zipfile finds it (the last signature in the
// last 64 KiB); junk that merely contains the four signature bytes does
// not qualify.
func zipEndIn(ra io.ReaderAt, tail []byte, from int64) bool {
	i := bytes.LastIndex(tail, []byte("PK\x05\x06"))
	if i < 0 || len(tail)-i < 22 {
		return false
	}
	cdSize := int64(binary.LittleEndian.Uint32(tail[i+12:]))
	eocd := from + int64(i)
	if cdSize == 0 || cdSize > eocd {
		return false
	}
	var sig [4]byte
	if n, _ := ra.ReadAt(sig[:], eocd-cdSize); n < 4 {
		return false
	}
	return string(sig[:]) == "PK\x01\x02"
}
