package archive

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"unicode/utf16"

	"github.com/bodgit/sevenzip"

	"github.com/modelvet/modelvet/formats"
)

// Open7z lists a 7z archive and reports problems to s. 7z compresses
// members together in solid blocks, so a member's content is always
// inflated (within the scope's budget), never a window on the file.
func Open7z(s *formats.Scope, r io.ReaderAt, size int64) (a *Archive) {
	var zr *sevenzip.Reader
	err := func() (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("the 7z reader failed: %v", v)
			}
		}()
		zr, err = sevenzip.NewReader(r, size)
		return err
	}()
	if err != nil {
		if encrypted7z(err) {
			s.Reportf("archive/encrypted", formats.High, noOff, "the 7z archive is encrypted (its header cannot be read without a password): it cannot be inspected, so it cannot be shown safe")
		} else {
			s.Reportf("archive/malformed", formats.High, noOff, "the 7z archive cannot be read (%v); it cannot be shown safe", err)
		}
		return nil
	}
	max := s.Options().Limits.MaxMembers
	if max <= 0 {
		max = 200_000
	}
	files := zr.File
	if len(files) > max {
		s.Reportf("archive/too-many-members", formats.High, noOff, "the 7z archive lists %d members, more than the limit of %d; only the first %d are scanned", len(files), max, max)
		files = files[:max]
	}
	members := make([]*Member, 0, len(files))
	byM := map[*Member]*sevenzip.File{}
	for _, f := range files {
		fi := f.FileInfo()
		m := &Member{Name: f.Name, Size: int64(f.UncompressedSize), CompressedSize: -1, Method: "7z", DataOffset: -1, CRC32: f.CRC32, IsDir: fi.IsDir()}
		if f.UncompressedSize > 1<<62 {
			s.Report(formats.Finding{Rule: "archive/malformed", Severity: formats.High, Member: safeName(f.Name), Offset: noOff, Message: fmt.Sprintf("the member declares an impossible size %d", f.UncompressedSize)})
			m.Size = -1
		}
		switch mode := fi.Mode(); {
		case mode&fs.ModeSymlink != 0 || f.Attributes&winReparsePoint != 0 && !m.IsDir:
			m.IsLink = true
		case mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket) != 0:
			// Extracting it creates a device node or FIFO: nothing a
			// model needs.
			s.Report(formats.Finding{Rule: "archive/special-member", Severity: formats.Medium, Member: safeName(f.Name), Offset: noOff,
				Message: fmt.Sprintf("the member is a special file (%s), which no model needs", mode.Type())})
		}
		members = append(members, m)
		byM[m] = f
	}
	for _, m := range members {
		if m.IsLink {
			m.LinkTarget = linkTarget7z(s, m, byM[m])
		}
	}
	checkNames(s, members)
	// Attack class: a decompression bomb in a solid block. 7z does not
	// say how many packed bytes each member takes (a solid block packs
	// many), so the ratio is judged for the whole archive: everything its
	// headers declare against the file's size, before anything is
	// inflated, as zip members are judged by their own sizes.
	var declared uint64
	for _, m := range members {
		if m.Size > 0 {
			declared += uint64(m.Size)
		}
	}
	ratioBomb := false
	if lim := s.Options().Limits.MaxRatio; lim > 0 && declared >= ratioFloor && size > 0 && declared/uint64(size) > uint64(lim) {
		ratioBomb = true
		s.Reportf("archive/compression-ratio", formats.High, noOff, "the 7z archive declares %d bytes of content in %d bytes (ratio %d, limit %d): a likely decompression bomb; its members are not inflated", declared, size, declared/uint64(size), lim)
	}
	temps := &tempFiles{}
	open := func(m *Member) (out io.ReaderAt, n int64, err error) {
		f := byM[m]
		if f == nil || m.IsDir || m.Size < 0 || ratioBomb {
			return nil, 0, errUnreadable
		}
		name := safeName(m.Name)
		defer func() {
			if v := recover(); v != nil {
				s.Report(formats.Finding{Rule: "archive/malformed", Severity: formats.High, Member: name, Offset: noOff, Message: fmt.Sprintf("the 7z reader failed on the member: %v", v)})
				out, n, err = nil, 0, errUnreadable
			}
		}()
		if !s.Expand(m.Size, noOff) {
			return nil, 0, errUnreadable
		}
		rc, err := f.Open()
		if err != nil {
			reportOpen7z(s, name, err)
			return nil, 0, errUnreadable
		}
		defer rc.Close()
		// The 7z reader stops at the declared size itself, so only a short
		// stream can be detected here; the CRC covers the content.
		out, n, err = inflateTo(s, temps, name, noOff, &errTap{r: rc, s: s, name: name}, m.Size, m.CRC32, m.CRC32 != 0)
		return out, n, err
	}
	a = New("7z", members, open)
	a.closers = temps
	return a
}

// errTap reports an encryption error the first time a read fails with one.
type errTap struct {
	r    io.Reader
	s    *formats.Scope
	name string
	done bool
}

func (t *errTap) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF && !t.done && encrypted7z(err) {
		t.done = true
		reportOpen7z(t.s, t.name, err)
	}
	if t.done {
		return n, errReported
	}
	return n, err
}

func reportOpen7z(s *formats.Scope, name string, err error) {
	if encrypted7z(err) {
		s.Report(formats.Finding{Rule: "archive/encrypted", Severity: formats.High, Member: name, Offset: noOff,
			Message: "the member is encrypted: it cannot be inspected, so it cannot be shown safe"})
		return
	}
	s.Report(formats.Finding{Rule: "archive/malformed", Severity: formats.High, Member: name, Offset: noOff,
		Message: fmt.Sprintf("the member cannot be decompressed (%v); it cannot be shown safe", err)})
}

func encrypted7z(err error) bool {
	var re *sevenzip.ReadError
	if errors.As(err, &re) && re.Encrypted {
		return true
	}
	var rv sevenzip.ReadError
	if errors.As(err, &rv) && rv.Encrypted {
		return true
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "password") || strings.Contains(msg, "aes") || strings.Contains(msg, "encrypt")
}

// winReparsePoint is FILE_ATTRIBUTE_REPARSE_POINT: 7-Zip on Windows (-snl)
// stores a symbolic link or junction as a member with this attribute.
const winReparsePoint = 0x400

// maxLinkTarget caps a link's stored target (PATH_MAX on Linux; a Windows
// reparse buffer is at most 16 KiB).
const maxLinkTarget = 16 << 10

// linkTarget7z reads a link member's target. 7z has no link field: p7zip
// and 7-Zip store the target as the member's content, marked by the Unix
// mode (S_IFLNK) in the high attribute bits or, from Windows, by the
// reparse-point attribute with the reparse buffer as content. Extractors
// create the link, so the target is what the link-escape check judges.
func linkTarget7z(s *formats.Scope, m *Member, f *sevenzip.File) (target string) {
	name := safeName(m.Name)
	bad := func(format string, args ...any) string {
		// Attack class: a link whose target cannot be read could point
		// anywhere once extracted.
		s.Report(formats.Finding{Rule: "archive/path-escape", Severity: formats.High, Member: name, Offset: noOff,
			Message: "the member is a link whose target " + fmt.Sprintf(format, args...) + "; extracted, it could point outside the target folder"})
		return ""
	}
	if f == nil || m.Size < 0 || m.Size > maxLinkTarget {
		return bad("is %d bytes long, more than any path", m.Size)
	}
	if !s.Expand(m.Size, noOff) {
		return ""
	}
	defer func() {
		if v := recover(); v != nil {
			target = bad("cannot be read (the 7z reader failed: %v)", v)
		}
	}()
	rc, err := f.Open()
	if err != nil {
		reportOpen7z(s, name, err)
		return ""
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxLinkTarget+1))
	if err != nil {
		reportOpen7z(s, name, err)
		return ""
	}
	if f.Attributes&winReparsePoint != 0 && f.Attributes&0xf0000000 == 0 {
		t, ok := reparseTarget(b)
		if !ok {
			return bad("is a Windows reparse buffer modelvet cannot decode")
		}
		return t
	}
	return string(b)
}

// reparseTarget decodes the substitute name of a symbolic-link
// (0xA000000C) or mount-point (0xA0000003) reparse buffer.
func reparseTarget(b []byte) (string, bool) {
	if len(b) < 16 {
		return "", false
	}
	le16 := func(i int) int { return int(b[i]) | int(b[i+1])<<8 }
	tag := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	subOff, subLen := le16(8), le16(10)
	var base int
	switch tag {
	case 0xA000000C:
		base = 20 // header (8) + name offsets (8) + flags (4)
	case 0xA0000003:
		base = 16
	default:
		return "", false
	}
	if subLen%2 != 0 || base+subOff+subLen > len(b) {
		return "", false
	}
	u := make([]uint16, subLen/2)
	for i := range u {
		u[i] = uint16(le16(base + subOff + 2*i))
	}
	t := string(utf16.Decode(u))
	t = strings.TrimPrefix(t, `\??\`)
	return t, true
}
