package archive

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"strings"

	"github.com/modelvet/modelvet/formats"
)

// The zip reader is written from the specification (APPNOTE) instead of
// using archive/zip because a zip has two indexes, the central directory
// and the local headers, and readers disagree on which they trust:
// PyTorch's miniz reads sizes from the central directory and offsets
// without correcting for prepended bytes, Python's zipfile corrects them,
// streaming readers walk local headers. Every place the two indexes (or
// the readers) could see different content is a finding.

const (
	sigLocal     = 0x04034b50
	sigCentral   = 0x02014b50
	sigEnd       = 0x06054b50
	sigEnd64     = 0x06064b50
	sigLocator64 = 0x07064b50
	sigDataDesc  = 0x08074b50

	eocdLen       = 22
	locator64Len  = 20
	eocd64Len     = 56
	centralLen    = 46
	localLen      = 30
	maxCommentLen = 0xffff

	flagEncrypted  = 1 << 0
	flagDescriptor = 1 << 3
	flagStrongEnc  = 1 << 6
	flagUTF8       = 1 << 11
)

var methodNames = map[uint16]string{
	0: "store", 1: "shrink", 6: "implode", 8: "deflate", 9: "deflate64",
	12: "bzip2", 14: "lzma", 93: "zstd", 95: "xz", 98: "ppmd", 99: "aes",
}

func methodName(m uint16) string {
	if n, ok := methodNames[m]; ok {
		return n
	}
	return fmt.Sprintf("method-%d", m)
}

// zipEntry is one central directory record and what its local header said.
type zipEntry struct {
	m        *Member
	index    int
	cdOff    int64 // where its central directory record starts
	name     []byte
	flags    uint16
	method   uint16
	crc      uint32
	csize    uint64
	usize    uint64
	localOff int64 // as declared (before adding the prepended-data base)
	start    int64 // local header position in the file
	dataOff  int64
	end      int64  // end of data and data descriptor
	ok       bool   // local header read and the data lies inside the file
	bad      bool   // cannot be opened: encrypted, unsupported, inconsistent
	checked  bool   // CRC verified (or verification attempted)
	mode     uint32 // Unix mode from the external attributes, 0 if none
}

type zipReader struct {
	s        *formats.Scope
	r        io.ReaderAt
	size     int64
	base     int64 // bytes prepended before the archive proper
	cdStart  int64
	cdEnd    int64
	eocdOff  int64
	declared uint64
	entries  []*zipEntry
	byM      map[*Member]*zipEntry
	temps    *tempFiles
	// endAt, when >= 0, is the end record this reader must use (a view
	// of another reader, see views.go) instead of searching for one.
	endAt int64
	// base0 makes the reader take offsets as they are, not corrected for
	// prepended bytes (miniz; Go when a directory sits at the raw offset).
	base0 bool
	// hidden are members whose local headers no directory entry points
	// to (streamOnly): what streaming readers extract besides the rest.
	hidden []*Member
	// lastSig is where the last end-record signature with a whole record
	// after it sits (Python's and miniz's choice), -1 if none.
	lastSig int64
}

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

func (z *zipReader) readAt(n int, off int64) ([]byte, bool) {
	if off < 0 || int64(n) > z.size || off > z.size-int64(n) {
		return nil, false
	}
	b := make([]byte, n)
	if _, err := z.r.ReadAt(b, off); err != nil && !(err == io.EOF) {
		return nil, false
	}
	return b, true
}

// OpenZip reads a zip archive's indexes, cross-checks them and reports
// every problem to s. It returns nil when there is no usable central
// directory. Members that cannot be read (encrypted, unsupported method,
// inconsistent headers) are listed but Open on them fails. Call Close on
// the archive to remove temporary files.
func OpenZip(s *formats.Scope, r io.ReaderAt, size int64) *Archive {
	z := newZipReader(s, r, size)
	a := z.archive()
	views := otherViews(s, r, size, z, a)
	if a == nil {
		if len(views) == 0 {
			return nil
		}
		// No end record every reader accepts, but some reader opens one:
		// its view is all there is to scan.
		a = New("zip", nil, z.open)
		a.closers = z.temps
	}
	if len(z.hidden) > 0 {
		// The streaming readers' view: the same reader, its own scope.
		hz := *z
		views = append(views, &view{readers: "streaming readers (local headers only)", a: New("zip", z.hidden, hz.open), z: &hz})
	}
	a.views = views
	return a
}

func newZipReader(s *formats.Scope, r io.ReaderAt, size int64) *zipReader {
	return &zipReader{s: s, r: r, size: size, byM: map[*Member]*zipEntry{}, temps: &tempFiles{}, endAt: -1, lastSig: -1}
}

// archive reads the indexes from the end record on; nil when there is no
// usable central directory.
func (z *zipReader) archive() *Archive {
	s := z.s
	if !z.readEnd() {
		return nil
	}
	z.readCentral()
	z.readLocals()
	z.checkLayout()
	members := make([]*Member, 0, len(z.entries))
	for _, e := range z.entries {
		members = append(members, e.m)
	}
	z.readLinks()
	checkNames(s, members)
	a := New("zip", members, z.open)
	a.closers = z.temps
	a.Prepended = z.base
	return a
}

// readEnd finds the end of central directory record (and the zip64 one).
func (z *zipReader) readEnd() bool {
	s := z.s
	if z.size < eocdLen {
		s.Reportf("archive/malformed", formats.High, 0, "the file is %d bytes, too short to be a zip (an end record alone is %d bytes)", z.size, eocdLen)
		return false
	}
	// Bounded backward search: the end record is in the last 22+65535 bytes.
	tail := min(z.size, eocdLen+maxCommentLen)
	buf, ok := z.readAt(int(tail), z.size-tail)
	if !ok {
		s.Reportf("formats/read-error", formats.High, z.size-tail, "cannot read the end of the zip")
		return false
	}
	at := -1
	for i := len(buf) - eocdLen; i >= 0; i-- {
		if le32(buf[i:]) == sigEnd {
			if z.lastSig < 0 {
				z.lastSig = z.size - tail + int64(i)
			}
			if clen := int(le16(buf[i+20:])); i+eocdLen+clen <= len(buf) {
				at = i
				break
			}
		}
	}
	if z.endAt >= 0 {
		at = int(z.endAt - (z.size - tail))
		if at < 0 || at+eocdLen > len(buf) || le32(buf[at:]) != sigEnd {
			return false
		}
	}
	if at < 0 {
		s.Reportf("archive/malformed", formats.High, noOff, "no end-of-central-directory record in the last %d bytes: the zip is truncated or not a zip; it cannot be shown safe", tail)
		return false
	}
	e := buf[at:]
	z.eocdOff = z.size - tail + int64(at)
	clen := min(int64(le16(e[20:])), z.size-z.eocdOff-eocdLen) // a view's record may claim more comment than the file holds
	if trailing := z.size - (z.eocdOff + eocdLen + clen); trailing > 0 {
		// Another end record whose comment ends exactly at the end of the
		// file: readers that search for the last signature (Python) and
		// readers that require the comment to fit exactly choose
		// different archives.
		for i := at - 1; i >= 0; i-- {
			if le32(buf[i:]) == sigEnd && i+eocdLen+int(le16(buf[i+20:])) == len(buf) {
				s.Reportf("archive/inconsistent-header", formats.High, z.size-tail+int64(i), "the file holds two end-of-central-directory records (at %d and %d); zip readers disagree on which one, and so on the archive's content", z.size-tail+int64(i), z.eocdOff)
				break
			}
		}
		// Bytes after the archive: some readers ignore them, some search
		// them for another end record; either way nothing indexes them.
		s.Reportf("archive/unaccounted-data", formats.Medium, z.eocdOff+eocdLen+clen, "%d bytes follow the end of the zip that no member accounts for", trailing)
	}
	if le16(e[4:]) != 0 || le16(e[6:]) != 0 {
		s.Reportf("archive/malformed", formats.High, z.eocdOff, "the zip claims to span several disks; multi-volume archives are not supported and cannot be shown safe")
		return false
	}
	count := uint64(le16(e[10:]))
	if le16(e[8:]) != le16(e[10:]) {
		s.Reportf("archive/inconsistent-header", formats.High, z.eocdOff, "the end record counts %d entries on this disk but %d in total", le16(e[8:]), le16(e[10:]))
	}
	cdSize := uint64(le32(e[12:]))
	cdOff := uint64(le32(e[16:]))
	endPos := z.eocdOff // where the central directory should end
	// zip64: Python trusts a locator whenever one sits right before the
	// end record; Go only when a 32-bit field is saturated. Read it
	// whenever present and require both views to agree.
	if loc, ok := z.readAt(locator64Len, z.eocdOff-locator64Len); ok && le32(loc) == sigLocator64 {
		declared := int64(le64(loc[8:]))
		pos := z.eocdOff - locator64Len - eocd64Len // where Python looks for it
		rec, ok := z.readAt(eocd64Len, pos)
		if !ok || le32(rec) != sigEnd64 {
			// Go follows the locator's offset; look there too.
			if rec2, ok2 := z.readAt(eocd64Len, declared); ok2 && le32(rec2) == sigEnd64 {
				rec, pos = rec2, declared
				s.Reportf("archive/inconsistent-header", formats.High, pos, "the zip64 end record is not right before its locator; readers that look there (Python) and readers that follow the locator (Go) see different archives")
			} else {
				s.Reportf("archive/malformed", formats.High, z.eocdOff-locator64Len, "a zip64 locator points to offset %d but no zip64 end record is there", declared)
				return false
			}
		}
		if le32(rec[16:]) != 0 || le32(rec[20:]) != 0 {
			s.Reportf("archive/malformed", formats.High, pos, "the zip64 record claims several disks; multi-volume archives are not supported")
			return false
		}
		c64, cs64, co64 := le64(rec[32:]), le64(rec[40:]), le64(rec[48:])
		if le64(rec[24:]) != c64 {
			s.Reportf("archive/inconsistent-header", formats.High, pos, "the zip64 record counts %d entries on this disk but %d in total", le64(rec[24:]), c64)
		}
		// A 32-bit field that is not saturated must agree with zip64.
		if (count != 0xffff && count != c64) || (cdSize != 0xffffffff && cdSize != cs64) || (cdOff != 0xffffffff && cdOff != co64) {
			s.Reportf("archive/inconsistent-header", formats.High, z.eocdOff, "the end record (%d entries, directory of %d bytes at %d) and the zip64 record (%d entries, %d bytes at %d) disagree; readers that prefer one or the other see different archives", count, cdSize, cdOff, c64, cs64, co64)
		}
		count, cdSize, cdOff = c64, cs64, co64
		endPos = pos
	} else if count == 0xffff || cdSize == 0xffffffff || cdOff == 0xffffffff {
		s.Reportf("archive/malformed", formats.High, z.eocdOff, "the end record has saturated (zip64) fields but no zip64 locator precedes it")
	}
	if cdSize > uint64(endPos) || cdOff > uint64(endPos) {
		s.Reportf("archive/malformed", formats.High, z.eocdOff, "the central directory (%d bytes at offset %d) does not fit before the end record at %d", cdSize, cdOff, endPos)
		return false
	}
	z.base = endPos - int64(cdSize) - int64(cdOff)
	if z.base0 {
		z.base = 0
	}
	if z.base < 0 {
		s.Reportf("archive/malformed", formats.High, z.eocdOff, "the central directory (%d bytes at offset %d) runs past the end record at %d", cdSize, cdOff, endPos)
		return false
	}
	if z.base > 0 {
		// Python's zipfile and Go shift every offset by the prepended
		// bytes; PyTorch's miniz and torch.load's magic check do not, so
		// the file is a different thing to each of them.
		s.Reportf("archive/unaccounted-data", formats.High, 0, "%d bytes precede the zip archive; Python and Go read past them, PyTorch's reader does not, and a loader sniffing the start sees that data instead", z.base)
	}
	z.cdStart, z.cdEnd = int64(cdOff)+z.base, endPos
	if max := z.s.Options().Limits.MaxMembers; max > 0 && count > uint64(max) {
		s.Reportf("archive/too-many-members", formats.High, z.eocdOff, "the zip declares %d members, more than the limit of %d; only the first %d are scanned", count, max, max)
	}
	z.declared = count
	return true
}

// readCentral walks the central directory within its declared bounds.
func (z *zipReader) readCentral() {
	s := z.s
	max := s.Options().Limits.MaxMembers
	if max <= 0 {
		max = 200_000
	}
	br := bufio.NewReaderSize(io.NewSectionReader(z.r, z.cdStart, z.cdEnd-z.cdStart), 64<<10)
	pos := z.cdStart
	var hdr [centralLen]byte
	for pos < z.cdEnd {
		if len(z.entries) >= max {
			if uint64(len(z.entries)) >= z.declared { // already reported by declared count otherwise
				s.Reportf("archive/too-many-members", formats.High, pos, "the central directory holds more than %d members; the rest are not scanned", max)
			}
			return
		}
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			s.Reportf("archive/malformed", formats.High, pos, "the central directory record %d is truncated", len(z.entries))
			return
		}
		if le32(hdr[:]) != sigCentral {
			s.Reportf("archive/malformed", formats.High, pos, "bad signature %#08x where central directory record %d should start; the directory is corrupt or padded with hidden data", le32(hdr[:]), len(z.entries))
			return
		}
		nl, xl, cl := int(le16(hdr[28:])), int(le16(hdr[30:])), int(le16(hdr[32:]))
		rest := make([]byte, nl+xl+cl) // at most 3*64 KiB
		if _, err := io.ReadFull(br, rest); err != nil || pos+int64(centralLen+len(rest)) > z.cdEnd {
			s.Reportf("archive/malformed", formats.High, pos, "central directory record %d runs past the end of the directory", len(z.entries))
			return
		}
		e := &zipEntry{
			index: len(z.entries), cdOff: pos,
			flags: le16(hdr[8:]), method: le16(hdr[10:]), crc: le32(hdr[16:]),
			csize: uint64(le32(hdr[20:])), usize: uint64(le32(hdr[24:])),
			localOff: int64(le32(hdr[42:])),
			name:     rest[:nl],
		}
		if hdr[5] == 3 { // made by Unix: the high half of the attributes is st_mode
			e.mode = le32(hdr[38:]) >> 16
		}
		if le16(hdr[34:]) != 0 {
			s.Reportf("archive/malformed", formats.High, pos, "member %q claims to start on disk %d; multi-volume archives are not supported", e.name, le16(hdr[34:]))
			e.bad = true
		}
		if !z.zip64Extra(e, rest[nl:nl+xl], le32(hdr[24:]) == 0xffffffff, le32(hdr[20:]) == 0xffffffff, le32(hdr[42:]) == 0xffffffff, pos) {
			e.bad = true
		}
		pos += int64(centralLen + len(rest))
		z.entries = append(z.entries, e)
	}
	if uint64(len(z.entries)) != z.declared && uint64(len(z.entries)) < uint64(max) {
		s.Reportf("archive/inconsistent-header", formats.High, z.eocdOff, "the end record declares %d members but the central directory holds %d; readers that trust the count see a different archive", z.declared, len(z.entries))
	}
}

// zip64Extra reads the zip64 extended information field of a central
// record: the saturated 32-bit values are replaced, in the fixed order
// the specification gives.
func (z *zipReader) zip64Extra(e *zipEntry, extra []byte, needU, needC, needOff bool, pos int64) bool {
	for len(extra) >= 4 {
		id, n := le16(extra), int(le16(extra[2:]))
		if 4+n > len(extra) {
			z.s.Reportf("archive/malformed", formats.High, pos, "member %q has a truncated extra field", e.name)
			return false
		}
		body := extra[4 : 4+n]
		if id == 0x7075 {
			z.unicodePath(e, body, pos)
		}
		if id == 0x0001 {
			if needU {
				if len(body) < 8 {
					break
				}
				e.usize, body, needU = le64(body), body[8:], false
			}
			if needC {
				if len(body) < 8 {
					break
				}
				e.csize, body, needC = le64(body), body[8:], false
			}
			if needOff {
				if len(body) < 8 {
					break
				}
				e.localOff, needOff = int64(le64(body)), false
			}
		}
		extra = extra[4+n:]
	}
	if needU || needC || needOff {
		z.s.Reportf("archive/malformed", formats.High, pos, "member %q has saturated 32-bit sizes or offset but no zip64 field giving the real values", e.name)
		return false
	}
	if e.localOff < 0 || e.csize > 1<<62 || e.usize > 1<<62 {
		z.s.Reportf("archive/malformed", formats.High, pos, "member %q declares impossible sizes or offset", e.name)
		return false
	}
	return true
}

// unicodePath checks an Info-ZIP Unicode Path extra field (0x7075).
// Attack class: two names for one member. Info-ZIP unzip and 7-Zip
// extract under this field's UTF-8 name whenever its CRC matches the
// header name, while Python's zipfile and Go's archive/zip (and this
// scanner's other checks) use the header name: "model.bin" for the
// scanner, "../../.bashrc" for the extractor.
func (z *zipReader) unicodePath(e *zipEntry, body []byte, pos int64) {
	if len(body) < 5 || body[0] != 1 || le32(body[1:]) != crc32.ChecksumIEEE(e.name) {
		return // readers ignore a field whose CRC does not match
	}
	alt := string(body[5:])
	why := nameProblem(alt)
	if why == "" {
		if alt == string(e.name) || sameButNonASCII(e.name, alt) {
			return // the field's purpose: the UTF-8 form of a CP437 name
		}
		why = "the two names differ"
	}
	z.s.Reportf("archive/inconsistent-header", formats.High, pos,
		"member %q carries a Unicode Path extra field naming %s (%s); unzip and 7-Zip extract it under that name while Python and Go readers use the header's",
		e.name, quote(alt), why)
}

// sameButNonASCII: alt is what a legacy (CP437 or other single-byte)
// header name says in UTF-8: one character per header byte, the ASCII
// bytes (every separator, dot and drive colon) identical, only bytes
// above 0x7F spelled differently.
func sameButNonASCII(name []byte, alt string) bool {
	r := []rune(alt)
	if len(r) != len(name) {
		return false
	}
	for i, c := range name {
		if (c < 0x80) != (r[i] < 0x80) || c < 0x80 && rune(c) != r[i] {
			return false
		}
	}
	return true
}

// readLocals reads each member's local header and checks it against the
// central directory.
func (z *zipReader) readLocals() {
	for _, e := range z.entries {
		name := string(e.name)
		m := &Member{Name: name, Size: int64(e.usize), CompressedSize: int64(e.csize), Method: methodName(e.method), DataOffset: -1, CRC32: e.crc, Encrypted: e.flags&(flagEncrypted|flagStrongEnc) != 0}
		m.IsDir = len(name) > 0 && name[len(name)-1] == '/'
		e.m = m
		z.byM[m] = e
		if e.bad {
			continue
		}
		if m.IsDir && (e.usize > 0 || e.csize > 0) {
			// Attack class: bytes behind a directory entry. Extractors
			// make a folder and scanners skip directories, but
			// zipfile.open("x/") returns the data: a loader that reads
			// members by listing gets content nothing checked.
			z.s.Report(formats.Finding{Rule: "archive/inconsistent-header", Severity: formats.High, Member: name, Offset: e.cdOff,
				Message: fmt.Sprintf("the directory entry carries %d bytes of data (%d compressed): extractors create a folder, but readers that open it by name (Python's zipfile) return the bytes", e.usize, e.csize)})
		}
		z.readLocal(e)
		if m.Encrypted {
			// The content cannot be read without the password, so nothing
			// can be said about it: fail closed.
			z.s.Report(formats.Finding{Rule: "archive/encrypted", Severity: formats.High, Member: name, Offset: noOff,
				Message: "the member is encrypted: it cannot be inspected, so it cannot be shown safe"})
			e.bad = true
		} else if !m.IsDir && !supportedMethod(e.method) {
			z.s.Report(formats.Finding{Rule: "archive/unsupported-method", Severity: formats.High, Member: name, Offset: noOff,
				Message: fmt.Sprintf("the member is compressed with %s, which modelvet cannot decompress; it cannot be shown safe", methodName(e.method))})
			e.bad = true
		}
		if e.ok && e.method == 0 && !m.Encrypted { // encryption adds a header to stored data
			m.DataOffset = e.dataOff
			if e.csize != e.usize {
				z.s.Report(formats.Finding{Rule: "archive/inconsistent-header", Severity: formats.High, Member: name, Offset: e.cdOff,
					Message: fmt.Sprintf("the member is stored (not compressed) but its compressed size %d differs from its size %d; readers disagree on where it ends", e.csize, e.usize)})
				e.bad = true
			}
		}
	}
}

func supportedMethod(m uint16) bool { return m == 0 || m == 8 || m == 12 || m == 93 }

func (z *zipReader) readLocal(e *zipEntry) {
	name := string(e.name)
	bad := func(rule string, off int64, format string, args ...any) {
		z.s.Report(formats.Finding{Rule: rule, Severity: formats.High, Member: name, Offset: off, Message: fmt.Sprintf(format, args...)})
	}
	e.start = e.localOff + z.base
	h, ok := z.readAt(localLen, e.start)
	if !ok || e.start+localLen > z.cdStart {
		bad("archive/malformed", e.cdOff, "the central directory places the member's local header at %d, outside the archive's data", e.start)
		e.bad = true
		return
	}
	if le32(h) != sigLocal {
		bad("archive/inconsistent-header", e.start, "no local header where the central directory places the member (found %#08x); readers walking local headers and readers trusting the directory see different archives", le32(h))
		e.bad = true
		return
	}
	lflags, lmethod := le16(h[6:]), le16(h[8:])
	lcrc, lcsize, lusize := le32(h[14:]), uint64(le32(h[18:])), uint64(le32(h[22:]))
	nl, xl := int64(le16(h[26:])), int64(le16(h[28:]))
	// Read only what is compared: the name when its length matches the
	// central one, and the extra field only when it must hold zip64 sizes.
	// Thousands of directory entries aimed at one header with 64 KiB
	// fields must not turn into gigabytes of reads.
	if e.start+localLen+nl+xl > z.size {
		bad("archive/truncated", e.start, "the member's local header runs past the end of the file")
		e.bad = true
		return
	}
	var lname, lextra []byte
	sameLen := nl == int64(len(e.name))
	if sameLen && nl > 0 {
		lname, _ = z.readAt(int(nl), e.start+localLen)
	}
	if xl > 0 && (le32(h[18:]) == 0xffffffff || le32(h[22:]) == 0xffffffff) {
		lextra, _ = z.readAt(int(min(xl, 1024)), e.start+localLen+nl)
	}
	e.dataOff = e.start + localLen + nl + xl
	if !sameLen || !bytes.Equal(lname, e.name) {
		bad("archive/inconsistent-header", e.start, "the local header's name (%d bytes, %s) differs from the central directory's %q; a streaming reader and an indexed reader extract different files", nl, quote(string(lname)), e.name)
		e.bad = true
	}
	if lmethod != e.method {
		bad("archive/inconsistent-header", e.start, "the local header says %s but the central directory says %s", methodName(lmethod), methodName(e.method))
		e.bad = true
	}
	// Bits that change how the bytes are read must agree; others (UTF-8,
	// compression level hints) are cosmetic.
	const meaningful = flagEncrypted | flagDescriptor | flagStrongEnc
	if lflags&meaningful != e.flags&meaningful {
		bad("archive/inconsistent-header", e.start, "the local header flags %#04x and the central directory flags %#04x disagree on encryption or data descriptor", lflags, e.flags)
		e.bad = true
	}
	if lflags&(flagEncrypted|flagStrongEnc) != 0 && e.flags&(flagEncrypted|flagStrongEnc) == 0 {
		e.m.Encrypted = true
	}
	// A streaming extractor reads the local header's Unicode Path field.
	for x := lextra; len(x) >= 4; {
		id, n := le16(x), int(le16(x[2:]))
		if 4+n > len(x) {
			break
		}
		if id == 0x7075 {
			z.unicodePath(e, x[4:4+n], e.start)
		}
		x = x[4+n:]
	}
	// zip64 values in the local extra field.
	local64 := false
	if lusize == 0xffffffff || lcsize == 0xffffffff {
		x := lextra
		for len(x) >= 4 {
			id, n := le16(x), int(le16(x[2:]))
			if 4+n > len(x) {
				break
			}
			if id == 0x0001 && n >= 16 {
				lusize, lcsize, local64 = le64(x[4:]), le64(x[12:]), true
			}
			x = x[4+n:]
		}
	}
	dataEnd := e.dataOff + int64(e.csize)
	if e.csize > uint64(z.size) || dataEnd > z.cdStart {
		bad("archive/truncated", e.dataOff, "the member's %d bytes of data run past the start of the central directory at %d", e.csize, z.cdStart)
		e.bad = true
		return
	}
	e.end = dataEnd
	if e.flags&flagDescriptor != 0 {
		// Sizes and CRC follow the data. The local header's own fields
		// should be zero; if they are not, they must still agree.
		if (lcrc != 0 && lcrc != e.crc) || (lcsize != 0 && lcsize != e.csize) || (lusize != 0 && lusize != e.usize) {
			bad("archive/inconsistent-header", e.start, "the local header (crc %08x, sizes %d/%d) disagrees with the central directory (crc %08x, sizes %d/%d)", lcrc, lcsize, lusize, e.crc, e.csize, e.usize)
			e.bad = true
		}
		d, ok := z.readAt(int(min(24, z.cdStart-dataEnd)), dataEnd)
		if !ok || len(d) < 12 {
			bad("archive/truncated", dataEnd, "the member's data descriptor is missing")
			e.bad = true
			return
		}
		n := int64(0)
		if le32(d) == sigDataDesc && (len(d) >= 16) {
			d, n = d[4:], 4
		}
		var dcrc uint32
		var dc, du uint64
		wide := local64 || e.csize >= 0xffffffff || e.usize >= 0xffffffff
		if wide && len(d) >= 20 {
			dcrc, dc, du, n = le32(d), le64(d[4:]), le64(d[12:]), n+20
		} else {
			dcrc, dc, du, n = le32(d), uint64(le32(d[4:])), uint64(le32(d[8:])), n+12
		}
		if dcrc != e.crc || dc != e.csize || du != e.usize {
			bad("archive/inconsistent-header", dataEnd, "the data descriptor (crc %08x, sizes %d/%d) disagrees with the central directory (crc %08x, sizes %d/%d); streaming and indexed readers see different members", dcrc, dc, du, e.crc, e.csize, e.usize)
			e.bad = true
		}
		e.end = dataEnd + n
	} else if lcrc != e.crc || lcsize != e.csize || lusize != e.usize {
		bad("archive/inconsistent-header", e.start, "the local header (crc %08x, sizes %d/%d) disagrees with the central directory (crc %08x, sizes %d/%d); readers trusting one or the other see different members", lcrc, lcsize, lusize, e.crc, e.csize, e.usize)
		e.bad = true
	}
	e.ok = true
}

// checkLayout verifies members do not overlap each other or the central
// directory, and that no bytes between them are unaccounted for: hidden
// bytes are where a second archive, or a member only a streaming reader
// sees, can live.
func (z *zipReader) checkLayout() {
	ents := make([]*zipEntry, 0, len(z.entries))
	for _, e := range z.entries {
		if e.ok {
			ents = append(ents, e)
		}
	}
	sort.SliceStable(ents, func(i, j int) bool { return ents[i].start < ents[j].start })
	pos := z.base
	var prev *zipEntry
	for _, e := range ents {
		if e.start < pos && prev != nil {
			// Overlapping members: one byte range read as two members, the
			// core of non-recursive zip bombs and of two-faced archives.
			z.s.Report(formats.Finding{Rule: "archive/overlapping-members", Severity: formats.High, Member: string(e.name), Offset: e.start,
				Message: fmt.Sprintf("the member's bytes [%d, %d) overlap those of %q, which end at %d", e.start, e.end, prev.name, prev.end)})
			e.bad = true
		} else if e.start > pos {
			z.gap(pos, e.start)
		}
		if e.end > pos {
			pos, prev = e.end, e
		}
	}
	if len(ents) == len(z.entries) && pos < z.cdStart {
		z.gap(pos, z.cdStart)
	}
}

func (z *zipReader) gap(from, to int64) {
	n := to - from
	sev := formats.Medium
	what := "no member accounts for them"
	// A hidden local header is a member only some readers see.
	if n > 64<<10 {
		sev, what = formats.High, "no member accounts for them, and there is room to hide a member"
		z.streamOnly(from, to)
	} else if b, ok := z.readAt(int(n), from); ok && bytes.Contains(b, []byte("PK\x03\x04")) {
		sev, what = formats.High, "they hold a local header no central directory entry points to: a member only streaming readers see"
		z.streamOnly(from, to)
	}
	z.s.Reportf("archive/unaccounted-data", sev, from, "%d bytes between members at offset %d: %s", n, from, what)
}

// maxGapSearch bounds how much of one gap is searched for local headers.
const maxGapSearch = 64 << 20

// streamOnly lists the members whose local headers lie in a gap no
// directory entry covers. Attack class: a member only streaming readers
// see. Readers that walk local headers from the start (Java's
// ZipInputStream, stream-unzip, `unzip -` style tools) extract it; the
// directory hides it from Python, Go and torch. Those members are scanned
// as that view (scanViews); one whose size its header does not give (a
// data descriptor) stays only the gap finding. The gap is read in 64 KiB
// windows, its first 64 MiB at most, at most 64 members.
func (z *zipReader) streamOnly(from, to int64) {
	const win = 64 << 10
	sig := []byte("PK\x03\x04")
	end := min(to, from+maxGapSearch)
	for pos := from; pos < end && len(z.hidden) < 64; {
		b, ok := z.readAt(int(min(win+3, end-pos)), pos)
		if !ok {
			return
		}
		j := bytes.Index(b, sig)
		if j < 0 {
			if int64(len(b)) <= 3 {
				return
			}
			pos += int64(len(b)) - 3 // a signature may straddle windows
			continue
		}
		at := pos + int64(j)
		pos = at + 4
		h, ok := z.readAt(localLen, at)
		if !ok {
			return
		}
		flags, method := le16(h[6:]), le16(h[8:])
		csize, usize := uint64(le32(h[18:])), uint64(le32(h[22:]))
		nl, xl := int64(le16(h[26:])), int64(le16(h[28:]))
		dataAt := at + localLen + nl + xl
		if flags&flagDescriptor != 0 || csize == 0xffffffff || dataAt > to || uint64(to-dataAt) < csize {
			continue
		}
		nb, ok := z.readAt(int(nl), at+localLen)
		if !ok {
			continue
		}
		name := string(nb)
		e := &zipEntry{name: nb, flags: flags, method: method, crc: le32(h[14:]), csize: csize, usize: usize,
			start: at, dataOff: dataAt, end: dataAt + int64(csize), ok: true,
			bad: flags&(flagEncrypted|flagStrongEnc) != 0 || !supportedMethod(method) || method == 0 && csize != usize}
		e.m = &Member{Name: name, Size: int64(usize), CompressedSize: int64(csize), Method: methodName(method), DataOffset: -1, CRC32: e.crc}
		e.m.IsDir = strings.HasSuffix(name, "/")
		if method == 0 {
			e.m.DataOffset = e.dataOff
		}
		z.byM[e.m] = e
		z.hidden = append(z.hidden, e.m)
		pos = e.end
	}
}

const noOff = formats.NoOffset

// readLinks resolves symbolic link members. Python's zipfile extracts them
// as small files, but unzip, bsdtar and Go tools recreate the link, whose
// target (the member's content) can point anywhere on the disk.
func (z *zipReader) readLinks() {
	for _, e := range z.entries {
		if e.mode&0o170000 != 0o120000 || e.m == nil {
			continue
		}
		e.m.IsLink = true
		if e.bad || !e.ok || e.usize > 4096 {
			e.m.LinkTarget = "(unreadable)"
			continue
		}
		r, n, err := z.open(e.m)
		if err != nil {
			continue
		}
		b := make([]byte, n)
		k, _ := r.ReadAt(b, 0)
		Release(r)
		e.m.LinkTarget = string(b[:k])
	}
}
