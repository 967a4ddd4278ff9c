package archive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"strconv"

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
		switch h.Typeflag {
		case tar.TypeReg, '\x00', tar.TypeCont:
			if h.Size < 0 || dataOff > size || h.Size > size-dataOff {
				s.Report(formats.Finding{Rule: "archive/truncated", Severity: formats.High, Member: safeName(h.Name), Offset: dataOff,
					Message: fmt.Sprintf("the member declares %d bytes but only %d remain in the archive", h.Size, size-dataOff)})
				members = append(members, m)
				goto done
			}
			m.DataOffset = dataOff
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
