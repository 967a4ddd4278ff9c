package pickle

import (
	"errors"
	"fmt"
	"io"
)

// reader is a forward-only buffered reader over an io.ReaderAt window
// [start, end). It never reads past end and never allocates from a length
// found in the data: callers check lengths against remaining() first.
type reader struct {
	ra     io.ReaderAt
	end    int64
	buf    []byte
	bstart int64 // file offset of buf[0]
	blen   int   // valid bytes in buf
	pos    int64 // absolute offset of the next byte

	// FRAME tracking, as pickle.py's _Unframer sees frames: a read that
	// starts inside a frame must end inside it (the C unpickler does not
	// care). frameEnd is -1 outside frames; straddle is the offset of the
	// first read that crossed a frame's end, or -1.
	frameEnd int64
	straddle int64
}

// framed checks a read of n bytes at pos against the current frame.
func (r *reader) framed(n int64) {
	if r.frameEnd < 0 {
		return
	}
	if r.pos >= r.frameEnd {
		r.frameEnd = -1
		return
	}
	if r.pos+n > r.frameEnd && r.straddle < 0 {
		r.straddle = r.pos
	}
}

const readBufSize = 256 << 10

// errTruncated marks data that ends before an opcode's argument does.
var errTruncated = errors.New("truncated")

func newReader(ra io.ReaderAt, start, end int64) *reader {
	n := int64(readBufSize)
	if end-start < n {
		n = max(end-start, 16)
	}
	return &reader{ra: ra, end: end, buf: make([]byte, n), bstart: start, pos: start, frameEnd: -1, straddle: -1}
}

func (r *reader) remaining() int64 { return r.end - r.pos }

// fill makes at least n bytes (n <= len(buf)) available at pos.
func (r *reader) fill(n int) error {
	if int64(n) > r.end-r.pos {
		return errTruncated
	}
	if r.pos >= r.bstart && r.pos+int64(n) <= r.bstart+int64(r.blen) {
		return nil
	}
	want := int64(len(r.buf))
	if rem := r.end - r.pos; rem < want {
		want = rem
	}
	got, err := r.ra.ReadAt(r.buf[:want], r.pos)
	r.bstart, r.blen = r.pos, got
	if got < n {
		if err == nil || err == io.EOF {
			return errTruncated
		}
		return fmt.Errorf("read error at offset %d: %w", r.pos, err)
	}
	return nil
}

// next returns the next n bytes (n <= len(buf)) and advances. The slice
// is valid until the next call.
func (r *reader) next(n int) ([]byte, error) {
	if err := r.fill(n); err != nil {
		return nil, err
	}
	r.framed(int64(n))
	i := int(r.pos - r.bstart)
	r.pos += int64(n)
	return r.buf[i : i+n], nil
}

// byte1 reads one byte.
func (r *reader) byte1() (byte, error) {
	if r.frameEnd >= 0 && r.pos >= r.frameEnd {
		r.frameEnd = -1
	}
	if r.pos >= r.bstart && r.pos < r.bstart+int64(r.blen) {
		b := r.buf[r.pos-r.bstart]
		r.pos++
		return b, nil
	}
	b, err := r.next(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

// skip advances n bytes without reading them.
func (r *reader) skip(n int64) error {
	if n < 0 || n > r.end-r.pos {
		return errTruncated
	}
	r.framed(n)
	r.pos += n
	return nil
}

// line reads through the next '\n' and returns the line without it, at
// most keep bytes of it (the rest is skipped), and the line's full length.
// A line with no newline before the end is truncated.
func (r *reader) line(keep int) (kept []byte, total int64, err error) {
	if r.frameEnd >= 0 && r.pos >= r.frameEnd {
		r.frameEnd = -1
	}
	start := r.pos
	defer func() {
		if err == nil && r.frameEnd >= 0 && start < r.frameEnd && r.pos > r.frameEnd && r.straddle < 0 {
			r.straddle = start
		}
	}()
	var out []byte
	for {
		if r.pos >= r.end {
			return nil, total, errTruncated
		}
		if err := r.fill(1); err != nil {
			return nil, total, err
		}
		i := int(r.pos - r.bstart)
		chunk := r.buf[i:r.blen]
		for j, c := range chunk {
			if c == '\n' {
				if len(out) < keep {
					out = append(out, chunk[:min(j, keep-len(out))]...)
				}
				r.pos += int64(j + 1)
				return out, total + int64(j), nil
			}
		}
		if len(out) < keep {
			out = append(out, chunk[:min(len(chunk), keep-len(out))]...)
		}
		total += int64(len(chunk))
		r.pos += int64(len(chunk))
	}
}
