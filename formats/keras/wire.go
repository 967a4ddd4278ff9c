package keras

// This file is a copy of formats/onnx/wire.go (a bounded protobuf field
// walker over an io.ReaderAt); keep the two in step.

import (
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
)

// window is a small read-ahead buffer over an io.ReaderAt. The protobuf walk
// moves forward through the file and only ever needs tags, varints and short
// strings, so a 64 KiB window keeps memory flat however large the model is:
// raw tensor bytes are skipped by length, never read.
type window struct {
	r    io.ReaderAt
	size int64
	buf  []byte
	off  int64 // file offset of buf[0]
	n    int   // valid bytes in buf
}

const windowSize = 64 << 10

func newWindow(r io.ReaderAt, size int64) *window {
	return &window{r: r, size: size, buf: make([]byte, windowSize)}
}

// at returns up to want bytes starting at off, fewer only at the end of
// the file. The slice is valid until the next call.
func (w *window) at(off int64, want int) ([]byte, error) {
	if off < 0 || off > w.size {
		return nil, fmt.Errorf("offset %d outside the file (%d bytes)", off, w.size)
	}
	if want > len(w.buf) {
		want = len(w.buf)
	}
	if rem := w.size - off; int64(want) > rem {
		want = int(rem)
	}
	if off >= w.off && off+int64(want) <= w.off+int64(w.n) {
		s := off - w.off
		return w.buf[s : s+int64(want)], nil
	}
	fill := min(int64(len(w.buf)), w.size-off)
	n, err := w.r.ReadAt(w.buf[:fill], off)
	if int64(n) < fill {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		w.n = 0
		return nil, fmt.Errorf("read at offset %d: %v", off, err)
	}
	w.off, w.n = off, n
	return w.buf[:want], nil
}

// copyAt returns a fresh copy of n bytes at off (n is capped by callers).
func (w *window) copyAt(off int64, n int) ([]byte, error) {
	out := make([]byte, 0, n)
	for len(out) < n {
		b, err := w.at(off+int64(len(out)), n-len(out))
		if err != nil {
			return nil, err
		}
		if len(b) == 0 {
			return nil, fmt.Errorf("unexpected end of file at offset %d", off+int64(len(out)))
		}
		out = append(out, b...)
	}
	return out, nil
}

// malformed is a structural error in the protobuf encoding at an offset.
type malformed struct {
	off int64
	msg string
}

func (e *malformed) Error() string { return fmt.Sprintf("at offset %d: %s", e.off, e.msg) }

func bad(off int64, format string, args ...any) error {
	return &malformed{off: off, msg: fmt.Sprintf(format, args...)}
}

// field is one protobuf field as found on the wire. For length-delimited
// fields start/end delimit the payload; for scalars val holds the value.
type field struct {
	num   protowire.Number
	typ   protowire.Type
	off   int64 // offset of the tag
	val   uint64
	start int64
	end   int64
}

func (f field) isLen() bool { return f.typ == protowire.BytesType }

// fields walks the fields of the message encoded in [start, end) and calls
// fn for each. Lengths are checked against end before anything is read, so
// a hostile length can neither allocate nor read past the message.
func (w *window) fields(start, end int64, fn func(f field) error) error {
	pos := start
	for pos < end {
		b, err := w.at(pos, int(min(end-pos, 20)))
		if err != nil {
			return bad(pos, "%v", err)
		}
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return bad(pos, "invalid field tag (%v)", protowire.ParseError(n))
		}
		f := field{num: num, typ: typ, off: pos}
		pos += int64(n)
		switch typ {
		case protowire.VarintType:
			b, err := w.at(pos, int(min(end-pos, 10)))
			if err != nil {
				return bad(pos, "%v", err)
			}
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return bad(pos, "field %d: bad varint (%v)", num, protowire.ParseError(m))
			}
			f.val = v
			pos += int64(m)
		case protowire.Fixed32Type:
			if end-pos < 4 {
				return bad(pos, "field %d: fixed32 runs past the end of its message", num)
			}
			pos += 4
		case protowire.Fixed64Type:
			if end-pos < 8 {
				return bad(pos, "field %d: fixed64 runs past the end of its message", num)
			}
			pos += 8
		case protowire.BytesType:
			b, err := w.at(pos, int(min(end-pos, 10)))
			if err != nil {
				return bad(pos, "%v", err)
			}
			l, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return bad(pos, "field %d: bad length varint (%v)", num, protowire.ParseError(m))
			}
			pos += int64(m)
			if l > uint64(end-pos) {
				return bad(f.off, "field %d: length %d runs past the end of its message (%d bytes left)", num, l, end-pos)
			}
			f.start, f.end = pos, pos+int64(l)
			pos = f.end
		default:
			// Groups are obsolete proto2 encoding that no ONNX writer uses;
			// an end-group without a start, or a start-group, means the
			// bytes are not what a loader would parse them as.
			return bad(f.off, "field %d: unexpected wire type %d (groups are not used by this format)", num, typ)
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// str reads a length-delimited field as a string of at most max bytes; it
// reports whether the value was cut.
func (w *window) str(f field, max int) (string, bool, error) {
	n := f.end - f.start
	cut := n > int64(max)
	if cut {
		n = int64(max)
	}
	if b, err := w.at(f.start, int(n)); err == nil && len(b) == int(n) {
		return string(b), cut, nil // one allocation: the string itself
	}
	b, err := w.copyAt(f.start, int(n))
	if err != nil {
		return "", false, bad(f.start, "%v", err)
	}
	return string(b), cut, nil
}

// want checks the wire type of a known field. Repeated numeric fields may
// be packed (length-delimited) or not, as protobuf parsers accept both.
func want(f field, t protowire.Type, packable bool) error {
	if f.typ == t || (packable && f.typ == protowire.BytesType) {
		return nil
	}
	return bad(f.off, "field %d has wire type %d where the schema needs %d; a loader would reject or misread it", f.num, f.typ, t)
}
