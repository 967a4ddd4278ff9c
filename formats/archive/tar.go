package archive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/modelvet/modelvet/formats"
)

// OpenTar lists a tar archive, checking every header, and reports problems
// to s. Member contents are windows on r: tar stores them uncompressed and
// contiguous, so nothing is copied and skipped data is never read.
func OpenTar(s *formats.Scope, r io.ReaderAt, size int64) *Archive {
	sr := io.NewSectionReader(r, 0, size)
	tr := tar.NewReader(sr) // sr is an io.Seeker: skipped data is seeked over
	max := s.Options().Limits.MaxMembers
	if max <= 0 {
		max = 200_000
	}
	var members []*Member
	for {
		hdrPos, _ := sr.Seek(0, io.SeekCurrent)
		h, err := tr.Next()
		if err == io.EOF {
			end, _ := sr.Seek(0, io.SeekCurrent)
			checkAfterEnd(s, sr, end, size)
			break
		}
		if err != nil {
			// Report what was read before the damage; the rest is unknown.
			s.Reportf("archive/malformed", formats.High, hdrPos, "the tar header after member %d cannot be read (%v); the rest of the archive is not scanned and it cannot be shown safe", len(members), err)
			break
		}
		if len(members) >= max {
			s.Reportf("archive/too-many-members", formats.High, hdrPos, "the tar holds more than %d members; the rest are not scanned", max)
			break
		}
		dataOff, _ := sr.Seek(0, io.SeekCurrent)
		m := &Member{Name: h.Name, Size: h.Size, CompressedSize: h.Size, Method: "store", DataOffset: -1}
		sparse := checkRawHeader(s, r, dataOff, h)
		switch h.Typeflag {
		case tar.TypeReg, '\x00', tar.TypeCont:
			if h.Size < 0 || dataOff > size || h.Size > size-dataOff {
				s.Report(formats.Finding{Rule: "archive/truncated", Severity: formats.High, Member: safeName(h.Name), Offset: dataOff,
					Message: fmt.Sprintf("the member declares %d bytes but only %d remain in the archive", h.Size, size-dataOff)})
				members = append(members, m)
				goto done
			}
			if !sparse { // listed for the name checks, never opened
				m.DataOffset = dataOff
			}
		case tar.TypeDir:
			m.IsDir = true
		case tar.TypeSymlink, tar.TypeLink:
			m.IsLink, m.LinkTarget, m.hardLink = true, h.Linkname, h.Typeflag == tar.TypeLink
		case tar.TypeGNUSparse:
			s.Report(formats.Finding{Rule: "archive/unsupported-method", Severity: formats.High, Member: safeName(h.Name), Offset: hdrPos,
				Message: "the member is a GNU sparse file, which modelvet does not reassemble; it cannot be shown safe"})
		default:
			// Devices and FIFOs have no content but extracting them creates
			// device nodes: nothing a model needs.
			s.Report(formats.Finding{Rule: "archive/special-member", Severity: formats.Medium, Member: safeName(h.Name), Offset: hdrPos,
				Message: fmt.Sprintf("the member is a special file (tar type %q), which no model needs", h.Typeflag)})
		}
		members = append(members, m)
	}
done:
	checkNames(s, members)
	open := func(m *Member) (io.ReaderAt, int64, error) {
		if m.DataOffset < 0 {
			return nil, 0, errUnreadable
		}
		return io.NewSectionReader(r, m.DataOffset, m.Size), m.Size, nil
	}
	return New("tar", members, open)
}

// checkRawHeader compares what Go's reader (and Python's, GNU tar) made of
// a member's headers with the member's own ustar header block, which sits
// right before its data. Attack class: one member, two names or sizes. A
// PAX record or GNU long-name block overrides the block's name and size
// for readers that honour it, while ustar-only readers (busybox, old
// tools, hand-written loaders) keep the block's: an honest writer puts the
// same name there (truncated to 100 bytes, or with '?' for what ASCII
// cannot spell) and the same size (or 0 when only PAX can hold it). It
// also reports PAX-described sparse members (GNU.sparse.*), whose data a
// sparse-aware reader reassembles while a plain reader sees the map and
// fragments; it returns true for them, their content cannot be shown.
func checkRawHeader(s *formats.Scope, r io.ReaderAt, dataOff int64, h *tar.Header) bool {
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			s.Report(formats.Finding{Rule: "archive/unsupported-method", Severity: formats.High, Member: safeName(h.Name), Offset: dataOff,
				Message: fmt.Sprintf("the member is a PAX-described sparse file (%s): sparse-aware readers reassemble its data from fragments that a plain reader sees as a map and raw bytes; modelvet does not reassemble it, so it cannot be shown safe", k)})
			return true
		}
	}
	if dataOff < 512 || h.Typeflag == tar.TypeXGlobalHeader || h.Typeflag == tar.TypeGNUSparse {
		// A global PAX header is no member; an old GNU sparse member's
		// block is followed by extension blocks (it is refused anyway).
		return false
	}
	var blk [512]byte
	if _, err := r.ReadAt(blk[:], dataOff-512); err != nil {
		return false
	}
	// Names are C strings: a ustar reader stops at the first NUL.
	raw := cstring(blk[:100])
	if string(blk[257:263]) == "ustar\x00" { // POSIX ustar (and star): a prefix field joins the name
		pre := blk[345:500]
		if string(blk[508:512]) == "tar\x00" { // star keeps times after a shorter prefix
			pre = blk[345:476]
		}
		if p := cstring(pre); p != "" {
			raw = p + "/" + raw
		}
	}
	if raw != h.Name && !nameStandsFor(raw, h.Name) && !(h.Typeflag == tar.TypeDir && raw == h.Name+"/") {
		s.Report(formats.Finding{Rule: "archive/inconsistent-header", Severity: formats.High, Member: safeName(h.Name), Offset: dataOff - 512,
			Message: fmt.Sprintf("the member's header block names it %s but a PAX or GNU long-name record renames it %s: readers that honour the record and ustar-only readers extract different files", quote(raw), quote(h.Name))})
	}
	if h.Typeflag == tar.TypeLink || h.Typeflag == tar.TypeSymlink {
		// The link target too: a PAX linkpath can show the scanner a
		// harmless target while ustar-only extractors link where the
		// block says.
		rawLink := cstring(blk[157:257])
		if rawLink != h.Linkname && !nameStandsFor(rawLink, h.Linkname) {
			s.Report(formats.Finding{Rule: "archive/inconsistent-header", Severity: formats.High, Member: safeName(h.Name), Offset: dataOff - 512,
				Message: fmt.Sprintf("the member's header block links it to %s but a PAX or GNU long-link record says %s: readers that honour the record and ustar-only readers create different links", quote(rawLink), quote(h.Linkname))})
		}
		if p := linkEscapes(h.Name, rawLink, h.Typeflag == tar.TypeSymlink); rawLink != h.Linkname && p != "" {
			s.Report(formats.Finding{Rule: "archive/path-escape", Severity: formats.High, Member: safeName(h.Name), Offset: dataOff - 512,
				Message: "for ustar-only readers the member is a link and " + p + "; extracting or following it reads or writes outside the target folder"})
		}
	}
	size, ok := rawSize(blk[124:136])
	_, paxSize := h.PAXRecords["size"]
	if ok && size != h.Size && !(size == 0 && paxSize) {
		s.Report(formats.Finding{Rule: "archive/inconsistent-header", Severity: formats.High, Member: safeName(h.Name), Offset: dataOff - 512,
			Message: fmt.Sprintf("the member's header block says %d bytes but a PAX record says %d: readers that honour the record and ustar-only readers split the archive into different members", size, h.Size)})
	}
	return false
}

// nameStandsFor reports whether a header block's name is what an honest
// writer puts there for the long name: a part of it (writers keep the
// beginning, the end, or like the one that made CPython's testtar.tar a
// middle chunk; the content is scanned under the long name whatever the
// block says), where characters ASCII cannot spell may be '?'
// (Python's errors="replace"), left out (Go's writer) or bytes of another
// encoding (Latin-1 from older writers): each run of them in the block
// stands for a run of non-ASCII characters in the long name.
func nameStandsFor(raw, long string) bool {
	if raw == "" {
		return true
	}
	if strings.Contains(long, raw) {
		return true
	}
	var drop strings.Builder
	for _, c := range long {
		if c < 0x80 {
			drop.WriteRune(c)
		}
	}
	if strings.Contains(drop.String(), raw) {
		return true
	}
	return strings.Contains(shape(long, false), shape(raw, true))
}

// shape maps a name to its ASCII characters with every run of other
// characters (and, in a header block, '?') folded to one 0x80 byte.
func shape(name string, block bool) string {
	var b strings.Builder
	run := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 0x80 || block && c == '?' {
			if !run {
				b.WriteByte(0x80)
			}
			run = true
			continue
		}
		run = false
		b.WriteByte(c)
	}
	return b.String()
}

// cstring is a header field up to its first NUL.
func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// rawSize parses a ustar size field: octal digits, or base-256 when the
// top bit of the first byte is set. ok is false for a field that does not
// parse or that is saturated (a size only PAX can hold).
func rawSize(f []byte) (int64, bool) {
	if f[0]&0x80 != 0 {
		var v int64
		for i, c := range f {
			if i == 0 {
				c &= 0x7f
			}
			if v > 1<<54 {
				return 0, false
			}
			v = v<<8 | int64(c)
		}
		return v, true
	}
	t := strings.Trim(string(f), " \x00")
	if t == "" {
		return 0, true
	}
	if strings.Trim(t, "7") == "" {
		return 0, false
	}
	v, err := strconv.ParseInt(t, 8, 64)
	return v, err == nil
}

// checkAfterEnd reports anything but zero padding after the two zero
// blocks that end a tar. Go's and Python's readers stop there, but
// `bsdtar --ignore-zeros`, `tar -i` and concatenated-tar tools read on: a
// member hidden behind the end is extracted by some readers and never seen
// by the scan. Only the tail is read, in small blocks, and only up to the
// first non-zero byte.
func checkAfterEnd(s *formats.Scope, r io.ReaderAt, end, size int64) {
	var buf [32 << 10]byte
	for off := end; off < size; {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if i := firstNonZero(buf[:n]); i >= 0 {
			s.Reportf("archive/data-after-end", formats.High, off+int64(i), "%d bytes follow the tar's end-of-archive blocks (at %d) and are not all zero padding; readers that skip zero blocks (bsdtar --ignore-zeros, tar -i) extract members there that the scan never sees", size-end, end)
			return
		}
		if n == 0 || err != nil && err != io.EOF {
			return
		}
		off += int64(n)
	}
}

func firstNonZero(b []byte) int {
	for i, c := range b {
		if c != 0 {
			return i
		}
	}
	return -1
}

// isTar sniffs a tar header: the ustar magic, or an old (v7) header whose
// checksum is right. A checksum over 512 bytes plus octal fields make a
// false match on other content very unlikely.
func isTar(head []byte) bool {
	if len(head) < 512 {
		return false
	}
	h := head[:512]
	if bytes.Equal(h[257:263], []byte("ustar\x00")) || bytes.Equal(h[257:265], []byte("ustar  \x00")) {
		return checksumOK(h)
	}
	if h[0] == 0 {
		return false
	}
	// v7: the size field must be octal digits padded with NUL or space.
	for _, c := range h[124:136] {
		if !(c >= '0' && c <= '7' || c == 0 || c == ' ') {
			return false
		}
	}
	return checksumOK(h)
}

func checksumOK(h []byte) bool {
	field := bytes.Trim(h[148:156], " \x00")
	if len(field) == 0 {
		return false
	}
	want, err := strconv.ParseUint(string(field), 8, 32)
	if err != nil {
		return false
	}
	var sum, ssum int64
	for i, c := range h {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
		ssum += int64(int8(c))
	}
	return uint64(sum) == want || ssum >= 0 && uint64(ssum) == want
}
