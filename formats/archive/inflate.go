package archive

import (
	"bytes"
	"compress/bzip2"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/zstd"

	"github.com/modelvet/modelvet/formats"
)

const (
	// inMemoryMax is the largest inflated member kept in memory; bigger
	// ones go to a temporary file so memory stays flat.
	inMemoryMax = 32 << 20
	// crcCheckMax is the largest stored member whose CRC is verified on
	// open. Stored members are handed out as windows on the file without
	// reading them; checking a multi-gigabyte tensor blob would cost the
	// full read the design avoids, and its bytes are never executed.
	crcCheckMax = 64 << 20
	// ratioFloor: members inflating to less than this are never bombs,
	// whatever their ratio (a small all-zero array compresses 1000:1).
	ratioFloor = 1 << 20
)

var (
	errUnreadable = errors.New("member cannot be read; see the findings")
	// errReported is returned by a decompressor whose failure was already
	// reported (an encrypted 7z member): no second finding for it.
	errReported = errors.New("already reported")
)

func (z *zipReader) open(m *Member) (io.ReaderAt, int64, error) {
	e := z.byM[m]
	if e == nil || e.bad || !e.ok || m.IsDir {
		return nil, 0, errUnreadable
	}
	name := string(e.name)
	report := func(rule string, off int64, format string, args ...any) {
		z.s.Report(formats.Finding{Rule: rule, Severity: formats.High, Member: name, Offset: off, Message: fmt.Sprintf(format, args...)})
	}
	if e.method == 0 {
		sr := io.NewSectionReader(z.r, e.dataOff, int64(e.csize))
		if !e.checked && e.usize <= crcCheckMax {
			e.checked = true
			h := crc32.NewIEEE()
			if _, err := io.Copy(h, io.NewSectionReader(z.r, e.dataOff, int64(e.csize))); err != nil {
				report("formats/read-error", e.dataOff, "reading the member failed: %v", err)
				return nil, 0, err
			}
			if h.Sum32() != e.crc {
				// Python's zipfile refuses the member; miniz may not check.
				report("archive/crc-mismatch", e.dataOff, "the member's CRC-32 is %08x but the archive declares %08x; it was altered after the archive was written, and readers that check refuse it while others load it", h.Sum32(), e.crc)
			}
		}
		return sr, int64(e.csize), nil
	}
	lim := z.s.Options().Limits
	if e.usize > 0 && e.csize == 0 {
		report("archive/malformed", e.dataOff, "the member claims %d bytes from 0 compressed bytes", e.usize)
		return nil, 0, errUnreadable
	}
	// The ratio and the budget are checked on declared sizes, before a
	// single byte is inflated; inflation then stops at the declared size.
	if lim.MaxRatio > 0 && e.usize >= ratioFloor && e.usize/e.csize > uint64(lim.MaxRatio) {
		report("archive/compression-ratio", e.dataOff, "the member would inflate %d bytes to %d (ratio %d, limit %d): a likely decompression bomb; it is not scanned", e.csize, e.usize, e.usize/e.csize, lim.MaxRatio)
		return nil, 0, errUnreadable
	}
	if !z.s.Expand(int64(e.usize), e.dataOff) {
		return nil, 0, errUnreadable
	}
	raw := io.NewSectionReader(z.r, e.dataOff, int64(e.csize))
	dec, closeDec, err := decompressor(e.method, raw)
	if err != nil {
		report("archive/malformed", e.dataOff, "cannot start decompressing the member: %v", err)
		return nil, 0, errUnreadable
	}
	defer closeDec()
	return inflateTo(z.s, z.temps, name, e.dataOff, dec, int64(e.usize), e.crc, true)
}

// inflateTo reads exactly size bytes from dec into memory or a temporary
// file, checks that the stream ends there and, when checkCRC, that the
// CRC-32 matches. A stream longer or shorter than declared is a finding:
// the index lies about the member.
func inflateTo(s *formats.Scope, temps *tempFiles, name string, off int64, dec io.Reader, size int64, crc uint32, checkCRC bool) (io.ReaderAt, int64, error) {
	report := func(rule string, format string, args ...any) {
		s.Report(formats.Finding{Rule: rule, Severity: formats.High, Member: name, Offset: off, Message: fmt.Sprintf(format, args...)})
	}
	h := crc32.NewIEEE()
	var out io.ReaderAt
	if size <= inMemoryMax {
		buf := make([]byte, size)
		if n, err := io.ReadFull(dec, buf); err != nil {
			if errors.Is(err, errReported) {
				return nil, 0, errUnreadable
			}
			report("archive/truncated", "the member inflates to %d bytes, fewer than the %d declared (%v)", n, size, err)
			return nil, 0, errUnreadable
		}
		h.Write(buf)
		out = bytes.NewReader(buf)
	} else {
		tf, err := temps.create()
		if err != nil {
			report("formats/read-error", "cannot create a temporary file for the %d-byte member: %v", size, err)
			return nil, 0, err
		}
		n, err := io.CopyN(io.MultiWriter(tf, h), dec, size)
		if err != nil {
			tf.Close()
			if errors.Is(err, errReported) {
				return nil, 0, errUnreadable
			}
			report("archive/truncated", "the member inflates to %d bytes, fewer than the %d declared (%v)", n, size, err)
			return nil, 0, errUnreadable
		}
		out = tf
	}
	var one [1]byte
	if n, _ := io.ReadFull(dec, one[:]); n > 0 {
		Release(out)
		report("archive/inconsistent-header", "the member inflates to more than the %d bytes its header declares; readers that trust the stream and readers that trust the header see different content", size)
		return nil, 0, errUnreadable
	}
	if checkCRC && h.Sum32() != crc {
		report("archive/crc-mismatch", "the member's CRC-32 is %08x but the archive declares %08x; it was altered after the archive was written (or is encrypted)", h.Sum32(), crc)
	}
	return out, size, nil
}

func decompressor(method uint16, r io.Reader) (io.Reader, func(), error) {
	switch method {
	case 8:
		fr := flate.NewReader(r)
		return fr, func() { fr.Close() }, nil
	case 12:
		return bzip2.NewReader(r), func() {}, nil
	case 93:
		// Window capped so a header cannot ask for gigabytes of memory.
		d, err := zstd.NewReader(r, zstd.WithDecoderMaxWindow(64<<20), zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, nil, err
		}
		return d, d.Close, nil
	}
	return nil, nil, fmt.Errorf("unsupported method %s", methodName(method))
}
