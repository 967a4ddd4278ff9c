// Package protowalk walks protobuf messages field by field straight from an
// io.ReaderAt, without unmarshalling them.
//
// It exists because two formats modelvet checks are protobufs that can be
// gigabytes long: an ONNX ModelProto and a TensorFlow SavedModel
// (saved_model.pb). Unmarshalling either would copy every raw tensor into
// memory; walking the wire format lets an analyzer read only the tags,
// varints and short strings it judges, and skip tensor bytes by length.
// Every length is checked against the end of its enclosing message before
// anything is read, so a hostile length can neither allocate nor read past
// the message.
package protowalk

import (
	"errors"
	"fmt"
	"io"

	"github.com/modelvet/modelvet/formats"
	"google.golang.org/protobuf/encoding/protowire"
)

// Window is a small read-ahead buffer over an io.ReaderAt. A protobuf walk
// moves forward through the file and only ever needs tags, varints and short
// strings, so a 64 KiB window keeps memory flat however large the model is:
// raw tensor bytes are skipped by length, never read.
type Window struct {
	r    io.ReaderAt
	size int64
	buf  []byte
	off  int64 // file offset of buf[0]
	n    int   // valid bytes in buf
}

const windowSize = 64 << 10

// NewWindow returns a Window over the first size bytes of r.
func NewWindow(r io.ReaderAt, size int64) *Window {
	return &Window{r: r, size: size, buf: make([]byte, windowSize)}
}

// At returns up to want bytes starting at off, fewer only at the end of
// the file (and never more than the window holds). The slice is valid until
// the next call.
func (w *Window) At(off int64, want int) ([]byte, error) {
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

// CopyAt returns a fresh copy of n bytes at off (n is capped by callers).
func (w *Window) CopyAt(off int64, n int) ([]byte, error) {
	out := make([]byte, 0, n)
	for len(out) < n {
		b, err := w.At(off+int64(len(out)), n-len(out))
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

// Malformed is a structural error in the protobuf encoding at an offset.
// Analyzers turn it into a <format>/malformed finding at Off.
type Malformed struct {
	Off int64
	Msg string
}

func (e *Malformed) Error() string { return fmt.Sprintf("at offset %d: %s", e.Off, e.Msg) }

// Where returns the offset and text of err for a malformed finding: those
// of a *Malformed, else formats.NoOffset and err's text.
func Where(err error) (int64, string) {
	var m *Malformed
	if errors.As(err, &m) {
		return m.Off, m.Msg
	}
	return formats.NoOffset, err.Error()
}

// Bad returns a *Malformed at off.
func Bad(off int64, format string, args ...any) error {
	return &Malformed{Off: off, Msg: fmt.Sprintf(format, args...)}
}

// Field is one protobuf field as found on the wire. For length-delimited
// fields Start/End delimit the payload; for varints Val holds the value.
type Field struct {
	Num   protowire.Number
	Typ   protowire.Type
	Off   int64 // offset of the tag
	Val   uint64
	Start int64
	End   int64
}

// IsLen reports whether f is length-delimited (a string, bytes, a nested
// message or a packed repeated field).
func (f Field) IsLen() bool { return f.Typ == protowire.BytesType }

// Fields walks the fields of the message encoded in [start, end) and calls
// fn for each, stopping at the first error. Lengths are checked against end
// before anything is read, so a hostile length can neither allocate nor
// read past the message.
func (w *Window) Fields(start, end int64, fn func(f Field) error) error {
	pos := start
	for pos < end {
		b, err := w.At(pos, int(min(end-pos, 20)))
		if err != nil {
			return Bad(pos, "%v", err)
		}
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return Bad(pos, "invalid field tag (%v)", protowire.ParseError(n))
		}
		// Attack class: a parser differential on the tag. protowire
		// decodes field numbers up to 2^61, but protobuf's C++ and upb
		// readers (onnxruntime, onnx, TensorFlow) read a tag as 32 bits and
		// refuse numbers past 2^29-1: bytes this walk would skip as an
		// unknown field are a broken model to the loader, and a reader that
		// truncates the tag sees a known field there instead.
		if num > protowire.MaxValidNumber {
			return Bad(pos, "field number %d is past protobuf's limit of %d; protobuf readers refuse the message", num, protowire.MaxValidNumber)
		}
		f := Field{Num: num, Typ: typ, Off: pos}
		pos += int64(n)
		switch typ {
		case protowire.VarintType:
			b, err := w.At(pos, int(min(end-pos, 10)))
			if err != nil {
				return Bad(pos, "%v", err)
			}
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return Bad(pos, "field %d: bad varint (%v)", num, protowire.ParseError(m))
			}
			f.Val = v
			pos += int64(m)
		case protowire.Fixed32Type:
			if end-pos < 4 {
				return Bad(pos, "field %d: fixed32 runs past the end of its message", num)
			}
			pos += 4
		case protowire.Fixed64Type:
			if end-pos < 8 {
				return Bad(pos, "field %d: fixed64 runs past the end of its message", num)
			}
			pos += 8
		case protowire.BytesType:
			b, err := w.At(pos, int(min(end-pos, 10)))
			if err != nil {
				return Bad(pos, "%v", err)
			}
			l, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return Bad(pos, "field %d: bad length varint (%v)", num, protowire.ParseError(m))
			}
			pos += int64(m)
			if l > uint64(end-pos) {
				return Bad(f.Off, "field %d: length %d runs past the end of its message (%d bytes left)", num, l, end-pos)
			}
			f.Start, f.End = pos, pos+int64(l)
			pos = f.End
		default:
			// Groups are obsolete proto2 encoding that neither ONNX nor
			// TensorFlow writers use; an end-group without a start, or a
			// start-group, means the bytes are not what a loader would
			// parse them as.
			return Bad(f.Off, "field %d: unexpected wire type %d (groups are not used by this format)", num, typ)
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// Str reads a length-delimited field as a string of at most max bytes; it
// reports whether the value was cut.
func (w *Window) Str(f Field, max int) (string, bool, error) {
	n := f.End - f.Start
	cut := n > int64(max)
	if cut {
		n = int64(max)
	}
	if b, err := w.At(f.Start, int(n)); err == nil && len(b) == int(n) {
		return string(b), cut, nil // one allocation: the string itself
	}
	b, err := w.CopyAt(f.Start, int(n))
	if err != nil {
		return "", false, Bad(f.Start, "%v", err)
	}
	return string(b), cut, nil
}

// Want checks the wire type of a known field. Repeated numeric fields may
// be packed (length-delimited) or not, as protobuf parsers accept both.
func Want(f Field, t protowire.Type, packable bool) error {
	if f.Typ == t || (packable && f.Typ == protowire.BytesType) {
		return nil
	}
	return Bad(f.Off, "field %d has wire type %d where the schema needs %d; a loader would reject or misread it", f.Num, f.Typ, t)
}
