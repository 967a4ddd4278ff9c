package archive

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

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
		if fi.Mode()&fs.ModeSymlink != 0 {
			m.IsLink = true
		}
		members = append(members, m)
		byM[m] = f
	}
	checkNames(s, members)
	temps := &tempFiles{}
	open := func(m *Member) (out io.ReaderAt, n int64, err error) {
		f := byM[m]
		if f == nil || m.IsDir || m.Size < 0 {
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
