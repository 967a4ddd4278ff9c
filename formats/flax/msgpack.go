package flax

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// A bounded msgpack reader over an io.ReaderAt: every length is checked
// against what remains before it is used, and payloads (bin, ext data) are
// skipped by length, not read, unless the caller asks.

type errAt struct {
	off int64
	msg string
}

func (e *errAt) Error() string { return fmt.Sprintf("at offset %d: %s", e.off, e.msg) }

type reader struct {
	r    io.ReaderAt
	size int64
	pos  int64
}

func (d *reader) bad(format string, args ...any) error {
	return &errAt{d.pos, fmt.Sprintf(format, args...)}
}

func (d *reader) bytes(n int64) ([]byte, error) {
	if n < 0 || n > d.size-d.pos {
		return nil, d.bad("%d bytes run past the end of the data (%d remain)", n, d.size-d.pos)
	}
	b := make([]byte, n)
	if _, err := d.r.ReadAt(b, d.pos); err != nil && err != io.EOF {
		return nil, d.bad("read error: %v", err)
	}
	d.pos += n
	return b, nil
}

func (d *reader) skip(n int64) error {
	if n < 0 || n > d.size-d.pos {
		return d.bad("%d bytes run past the end of the data (%d remain)", n, d.size-d.pos)
	}
	d.pos += n
	return nil
}

func (d *reader) uint(n int) (uint64, error) {
	b, err := d.bytes(int64(n))
	if err != nil {
		return 0, err
	}
	switch n {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(b)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(b)), nil
	}
	return binary.BigEndian.Uint64(b), nil
}

// kind of a msgpack token.
type kind int

const (
	kNil kind = iota
	kBool
	kInt
	kFloat
	kStr
	kBin
	kArray
	kMap
	kExt
)

// token is one msgpack header: for str/bin/ext, n is the payload length
// (not yet consumed) and ext the ext type; for array/map, n is the count.
type token struct {
	k   kind
	n   int64
	i   int64
	ext int8
	off int64
}

func (d *reader) next() (token, error) {
	t := token{off: d.pos}
	cb, err := d.uint(1)
	if err != nil {
		return t, err
	}
	c := byte(cb)
	sized := func(k kind, w int) (token, error) {
		n, err := d.uint(w)
		t.k, t.n = k, int64(n)
		return t, err
	}
	switch {
	case c <= 0x7f:
		t.k, t.i = kInt, int64(c)
	case c >= 0xe0:
		t.k, t.i = kInt, int64(int8(c))
	case c >= 0x80 && c <= 0x8f:
		t.k, t.n = kMap, int64(c&0x0f)
	case c >= 0x90 && c <= 0x9f:
		t.k, t.n = kArray, int64(c&0x0f)
	case c >= 0xa0 && c <= 0xbf:
		t.k, t.n = kStr, int64(c&0x1f)
	case c == 0xc0:
		t.k = kNil
	case c == 0xc2 || c == 0xc3:
		t.k = kBool
	case c == 0xc4:
		return sized(kBin, 1)
	case c == 0xc5:
		return sized(kBin, 2)
	case c == 0xc6:
		return sized(kBin, 4)
	case c == 0xc7 || c == 0xc8 || c == 0xc9:
		w := map[byte]int{0xc7: 1, 0xc8: 2, 0xc9: 4}[c]
		n, err := d.uint(w)
		if err != nil {
			return t, err
		}
		e, err := d.uint(1)
		t.k, t.n, t.ext = kExt, int64(n), int8(e)
		return t, err
	case c == 0xca:
		t.k = kFloat
		return t, d.skip(4)
	case c == 0xcb:
		t.k = kFloat
		return t, d.skip(8)
	case c >= 0xcc && c <= 0xd3:
		w := []int{1, 2, 4, 8, 1, 2, 4, 8}[c-0xcc]
		v, err := d.uint(w)
		t.k = kInt
		if c <= 0xcf {
			if v > math.MaxInt64 {
				v = math.MaxInt64
			}
			t.i = int64(v)
		} else {
			switch w {
			case 1:
				t.i = int64(int8(v))
			case 2:
				t.i = int64(int16(v))
			case 4:
				t.i = int64(int32(v))
			default:
				t.i = int64(v)
			}
		}
		return t, err
	case c >= 0xd4 && c <= 0xd8:
		e, err := d.uint(1)
		t.k, t.n, t.ext = kExt, int64(1)<<(c-0xd4), int8(e)
		return t, err
	case c == 0xd9:
		return sized(kStr, 1)
	case c == 0xda:
		return sized(kStr, 2)
	case c == 0xdb:
		return sized(kStr, 4)
	case c == 0xdc:
		return sized(kArray, 2)
	case c == 0xdd:
		return sized(kArray, 4)
	case c == 0xde:
		return sized(kMap, 2)
	case c == 0xdf:
		return sized(kMap, 4)
	default: // 0xc1 is never used
		return t, d.bad("byte 0x%02x is not a msgpack type", c)
	}
	return t, nil
}
