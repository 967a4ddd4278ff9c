// Package flatbuf reads FlatBuffers (TFLite, ExecuTorch .pte, ONNX Runtime
// .ort) straight from an io.ReaderAt, one bounds-checked read at a time.
// FlatBuffers are read in place by their runtimes without validation, so a
// forged offset sends a C++ loader anywhere in memory: every offset here is
// checked against the buffer before it is followed, and a walk that would
// leave the buffer is an error, never a read out of bounds.
package flatbuf

import (
	"encoding/binary"
	"fmt"
	"io"
	"unicode/utf8"
)

// Buf is a FlatBuffer of Size bytes at the start of R.
type Buf struct {
	R    io.ReaderAt
	Size int64
	// Reads counts the reads made; Budget (when > 0) bounds them, so a
	// buffer whose vectors point at each other cannot make a walk spin.
	Reads, Budget int
}

// Error is a structural problem at an offset.
type Error struct {
	Off int64
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("at offset %d: %s", e.Off, e.Msg) }

func bad(off int64, format string, args ...any) error {
	return &Error{off, fmt.Sprintf(format, args...)}
}

func (b *Buf) read(off int64, n int) ([]byte, error) {
	if off < 0 || off > b.Size || int64(n) > b.Size-off {
		return nil, bad(off, "%d bytes at offset %d run past the end of the buffer (%d bytes)", n, off, b.Size)
	}
	b.Reads++
	if b.Budget > 0 && b.Reads > b.Budget {
		return nil, bad(off, "more than %d reads; the buffer's references do not end", b.Budget)
	}
	p := make([]byte, n)
	if _, err := b.R.ReadAt(p, off); err != nil && err != io.EOF {
		return nil, bad(off, "read error: %v", err)
	}
	return p, nil
}

// U32 reads a little-endian uint32.
func (b *Buf) U32(off int64) (uint32, error) {
	p, err := b.read(off, 4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(p), nil
}

// U64 reads a little-endian uint64.
func (b *Buf) U64(off int64) (uint64, error) {
	p, err := b.read(off, 8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(p), nil
}

// Table is a table's position and its vtable.
type Table struct {
	b      *Buf
	Pos    int64
	vtable int64
	vtSize uint16
}

// Root returns the root table (the uoffset at 0).
func (b *Buf) Root() (Table, error) { return b.Deref(0) }

// Deref follows the uoffset stored at off to a table.
func (b *Buf) Deref(off int64) (Table, error) {
	u, err := b.U32(off)
	if err != nil {
		return Table{}, err
	}
	pos := off + int64(u)
	so, err := b.U32(pos)
	if err != nil {
		return Table{}, err
	}
	vt := pos - int64(int32(so))
	p, err := b.read(vt, 4)
	if err != nil {
		return Table{}, err
	}
	vs := binary.LittleEndian.Uint16(p)
	if vs < 4 || vs%2 != 0 {
		return Table{}, bad(vt, "vtable size %d", vs)
	}
	// Bounds only: reading the vtable here would copy up to 64 KiB per
	// table, which a file of many tables with huge vtables turns into a
	// denial of service. Field reads each check their own slot.
	if int64(vs) > b.Size-vt {
		return Table{}, bad(vt, "a vtable of %d bytes runs past the end of the buffer", vs)
	}
	return Table{b: b, Pos: pos, vtable: vt, vtSize: vs}, nil
}

// Field returns the absolute offset of field i, or 0 when it is absent.
func (t Table) Field(i int) (int64, error) {
	slot := 4 + 2*int64(i)
	if slot+2 > int64(t.vtSize) {
		return 0, nil
	}
	p, err := t.b.read(t.vtable+slot, 2)
	if err != nil {
		return 0, err
	}
	fo := binary.LittleEndian.Uint16(p)
	if fo == 0 {
		return 0, nil
	}
	return t.Pos + int64(fo), nil
}

// Uint32 returns field i as a uint32 (def when absent).
func (t Table) Uint32(i int, def uint32) (uint32, error) {
	off, err := t.Field(i)
	if err != nil || off == 0 {
		return def, err
	}
	return t.b.U32(off)
}

// Int8 returns field i as a byte (def when absent).
func (t Table) Int8(i int, def int8) (int8, error) {
	off, err := t.Field(i)
	if err != nil || off == 0 {
		return def, err
	}
	p, err := t.b.read(off, 1)
	if err != nil {
		return def, err
	}
	return int8(p[0]), nil
}

// Uint64 returns field i as a uint64 (def when absent).
func (t Table) Uint64(i int, def uint64) (uint64, error) {
	off, err := t.Field(i)
	if err != nil || off == 0 {
		return def, err
	}
	return t.b.U64(off)
}

// Table returns the sub-table of field i; ok is false when absent.
func (t Table) Table(i int) (Table, bool, error) {
	off, err := t.Field(i)
	if err != nil || off == 0 {
		return Table{}, false, err
	}
	s, err := t.b.Deref(off)
	return s, err == nil, err
}

// Vector returns the element start and length of vector field i (length 0
// when absent). elem is the element size, to check the vector fits.
func (t Table) Vector(i int, elem int64) (start int64, n int, err error) {
	off, err := t.Field(i)
	if err != nil || off == 0 {
		return 0, 0, err
	}
	u, err := t.b.U32(off)
	if err != nil {
		return 0, 0, err
	}
	v := off + int64(u)
	l, err := t.b.U32(v)
	if err != nil {
		return 0, 0, err
	}
	if int64(l)*elem > t.b.Size-v-4 {
		return 0, 0, bad(v, "a vector of %d elements runs past the end of the buffer", l)
	}
	return v + 4, int(l), nil
}

// Tables calls fn for each table of the vector of tables in field i.
func (t Table) Tables(i int, fn func(k int, e Table) error) error {
	start, n, err := t.Vector(i, 4)
	if err != nil {
		return err
	}
	for k := range n {
		e, err := t.b.Deref(start + 4*int64(k))
		if err != nil {
			return err
		}
		if err := fn(k, e); err != nil {
			return err
		}
	}
	return nil
}

// String returns string field i, cut to max bytes ("" when absent); cut
// reports whether it was longer.
func (t Table) String(i int, max int) (s string, cut bool, err error) {
	start, n, err := t.Vector(i, 1)
	if err != nil || n == 0 {
		return "", false, err
	}
	p, err := t.b.read(start, min(n, max))
	if err != nil {
		return "", false, err
	}
	if !utf8.Valid(p) && n <= max {
		return "", false, bad(start, "a string is not UTF-8")
	}
	return string(p), n > max, nil
}
