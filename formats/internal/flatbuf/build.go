package flatbuf

import "encoding/binary"

// T describes a table to Build, field by field (index = field id): nil for
// an absent field, uint32, int8, uint64, string, []byte, T or []T. It
// exists for tests and fixtures: real-shaped files are built in Go instead
// of committed.
type T []any

// Build serializes root with the 4-byte file identifier ident (may be "").
// Children are written after their parents, so every offset is forward, as
// the FlatBuffers format requires of uoffsets.
func Build(ident string, root T) []byte {
	b := &builder{buf: make([]byte, 8)}
	copy(b.buf[4:], ident)
	pos := b.table(root)
	binary.LittleEndian.PutUint32(b.buf, uint32(pos))
	return b.buf
}

type builder struct{ buf []byte }

func (b *builder) align(n int) {
	for len(b.buf)%n != 0 {
		b.buf = append(b.buf, 0)
	}
}

func (b *builder) u32(v uint32) { b.buf = binary.LittleEndian.AppendUint32(b.buf, v) }

func (b *builder) table(t T) int {
	b.align(4)
	vt := len(b.buf)
	size := 4
	offs := make([]int, len(t))
	for i, f := range t {
		if f == nil {
			continue
		}
		offs[i] = size
		switch f.(type) {
		case uint64:
			size += 8
		default:
			size += 4
		}
	}
	b.buf = binary.LittleEndian.AppendUint16(b.buf, uint16(4+2*len(t)))
	b.buf = binary.LittleEndian.AppendUint16(b.buf, uint16(size))
	for _, o := range offs {
		b.buf = binary.LittleEndian.AppendUint16(b.buf, uint16(o))
	}
	b.align(4)
	pos := len(b.buf)
	b.u32(uint32(pos - vt))
	type later struct {
		slot int
		v    any
	}
	var kids []later
	for i, f := range t {
		switch v := f.(type) {
		case nil:
		case uint32:
			b.u32(v)
		case int8:
			b.u32(uint32(uint8(v)))
		case uint64:
			b.buf = binary.LittleEndian.AppendUint64(b.buf, v)
		default:
			kids = append(kids, later{pos + offs[i], v})
			b.u32(0)
		}
	}
	for _, k := range kids {
		c := b.child(k.v)
		binary.LittleEndian.PutUint32(b.buf[k.slot:], uint32(c-k.slot))
	}
	return pos
}

func (b *builder) child(v any) int {
	b.align(4)
	switch v := v.(type) {
	case string:
		p := len(b.buf)
		b.u32(uint32(len(v)))
		b.buf = append(append(b.buf, v...), 0)
		return p
	case []byte:
		p := len(b.buf)
		b.u32(uint32(len(v)))
		b.buf = append(b.buf, v...)
		return p
	case T:
		return b.table(v)
	case []T:
		p := len(b.buf)
		b.u32(uint32(len(v)))
		slots := len(b.buf)
		for range v {
			b.u32(0)
		}
		for i, e := range v {
			c := b.table(e)
			s := slots + 4*i
			binary.LittleEndian.PutUint32(b.buf[s:], uint32(c-s))
		}
		return p
	}
	panic("flatbuf.Build: unsupported field type")
}
