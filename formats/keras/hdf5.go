package keras

// A small, bounded HDF5 reader: just enough to find the root group's
// attributes (where Keras 2 keeps model_config and training_config) without
// a full HDF5 library, which Go does not have in pure Go. It reads the
// superblock (versions 0-3), the root object header (versions 1 and 2, with
// continuation blocks), attribute messages stored in the header (compact
// storage, what h5py writes) and variable-length strings from global heap
// collections. Every address and length is checked against the file size
// before it is read; continuation blocks are visited at most once.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

var hdf5Magic = []byte("\x89HDF\r\n\x1a\n")

const (
	maxHeaderBlocks = 64       // object header continuation blocks followed
	maxMessages     = 8192     // header messages examined
	maxAttrValue    = 64 << 20 // largest string attribute read (model configs run to a few MB)
	maxHeapObjects  = 1 << 20  // global heap objects stepped over to find one
)

type h5file struct {
	r    io.ReaderAt
	size int64
	base int64 // absolute offset addresses are relative to
	so   int   // size of offsets
	sl   int   // size of lengths
	// readBytes counts the bytes read, so a walk of every object (whose
	// headers a forged file can make overlap) stays within a budget.
	readBytes int64
}

// h5attr is one attribute of the root group.
type h5attr struct {
	name  string
	value []byte // the string value, when the attribute is a string
	str   bool
	off   int64 // offset of the attribute message
	err   error // why the value could not be read
}

// h5root is what the root group's object header says.
type h5root struct {
	attrs []h5attr
	// problems are parts of the header that could not be read, so an
	// attribute may hide there (dense storage, shared messages).
	problems []string
}

var errH5 = errors.New("hdf5")

func h5err(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errH5}, args...)...)
}

func (h *h5file) read(off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off > h.size || int64(n) > h.size-off {
		return nil, h5err("%d bytes at offset %d lie outside the file (%d bytes)", n, off, h.size)
	}
	h.readBytes += int64(n)
	b := make([]byte, n)
	if _, err := h.r.ReadAt(b, off); err != nil && !(err == io.EOF && n == len(b)) {
		return nil, h5err("read at offset %d: %v", off, err)
	}
	return b, nil
}

// uint reads a little-endian unsigned integer of width n from b.
func uintN(b []byte, n int) uint64 {
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// addr turns a file address into an absolute offset, or -1 for the
// undefined address (all ones) and anything outside the file.
func (h *h5file) addr(b []byte) int64 {
	v := uintN(b, h.so)
	if h.so < 8 && v == 1<<(8*uint(h.so))-1 || v == ^uint64(0) {
		return -1
	}
	if v > uint64(h.size) {
		return -1
	}
	a := h.base + int64(v)
	if a < 0 || a >= h.size {
		return -1
	}
	return a
}

// openHDF5 finds the superblock (at 0, 512, 1024, 2048... after a user
// block) and returns the reader and the root group's object header offset.
func openHDF5(r io.ReaderAt, size int64) (*h5file, int64, error) {
	sig := make([]byte, 8)
	for at := int64(0); at+8 <= size; {
		if _, err := r.ReadAt(sig, at); err != nil && err != io.EOF {
			return nil, 0, h5err("read at %d: %v", at, err)
		}
		if bytes.Equal(sig, hdf5Magic) {
			return parseSuperblock(r, size, at)
		}
		if at == 0 {
			at = 512
		} else {
			at *= 2
		}
	}
	return nil, 0, h5err("no HDF5 signature found")
}

func parseSuperblock(r io.ReaderAt, size, at int64) (*h5file, int64, error) {
	h := &h5file{r: r, size: size}
	b, err := h.read(at, int(min(int64(128), size-at)))
	if err != nil {
		return nil, 0, err
	}
	if len(b) < 12 {
		return nil, 0, h5err("superblock truncated")
	}
	ver := b[8]
	switch ver {
	case 0, 1:
		if len(b) < 24 {
			return nil, 0, h5err("superblock truncated")
		}
		h.so, h.sl = int(b[13]), int(b[14])
		pos := 24
		if ver == 1 {
			pos = 28
		}
		if !validWidth(h.so) || !validWidth(h.sl) {
			return nil, 0, h5err("superblock declares %d-byte offsets and %d-byte lengths", h.so, h.sl)
		}
		// base, free-space, EOF, driver addresses, then the root group
		// symbol table entry: link name offset, object header address.
		need := pos + 4*h.so + 2*h.so
		if len(b) < need {
			return nil, 0, h5err("superblock truncated")
		}
		h.base = int64(uintN(b[pos:], h.so))
		if h.base < 0 || h.base > size {
			return nil, 0, h5err("base address %d outside the file", h.base)
		}
		root := h.addr(b[pos+5*h.so:])
		if root < 0 {
			return nil, 0, h5err("root group object header address is outside the file")
		}
		return h, root, nil
	case 2, 3:
		h.so, h.sl = int(b[9]), int(b[10])
		if !validWidth(h.so) || !validWidth(h.sl) {
			return nil, 0, h5err("superblock declares %d-byte offsets and %d-byte lengths", h.so, h.sl)
		}
		need := 12 + 4*h.so
		if len(b) < need {
			return nil, 0, h5err("superblock truncated")
		}
		h.base = int64(uintN(b[12:], h.so))
		if h.base < 0 || h.base > size {
			return nil, 0, h5err("base address %d outside the file", h.base)
		}
		root := h.addr(b[12+3*h.so:])
		if root < 0 {
			return nil, 0, h5err("root group object header address is outside the file")
		}
		return h, root, nil
	}
	return nil, 0, h5err("superblock version %d is not supported", ver)
}

func validWidth(n int) bool { return n == 2 || n == 4 || n == 8 }

// block is a run of header messages.
type block struct {
	start, end int64
	v2         bool
}

// rootAttributes reads the attribute messages of the object header at addr.
func (h *h5file) rootAttributes(addr int64) (*h5root, error) {
	out := &h5root{}
	err := h.walkHeader(addr, func(typ int, flags byte, msg []byte, moff int64) {
		switch typ {
		case 0x0C: // attribute
			if flags&0x02 != 0 {
				out.problems = append(out.problems, fmt.Sprintf("a shared attribute message at offset %d", moff))
				break
			}
			out.attrs = append(out.attrs, h.attribute(msg, moff))
		case 0x15: // attribute info: dense storage in a fractal heap
			if len(msg) >= 2+h.so {
				p := 2
				if msg[1]&1 != 0 {
					p += 2
				}
				if len(msg) >= p+2*h.so && h.addr(msg[p:]) >= 0 {
					dense, err := h.denseAttributes(h.addr(msg[p:]), h.addr(msg[p+h.so:]))
					out.attrs = append(out.attrs, dense...)
					if err != nil {
						out.problems = append(out.problems, fmt.Sprintf("attributes kept in dense storage (attribute info at offset %d) could not all be read: %v", moff, err))
					}
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// walkHeader calls fn for every message of the object header at addr
// (versions 1 and 2), following continuation blocks, each at most once.
func (h *h5file) walkHeader(addr int64, fn func(typ int, flags byte, msg []byte, moff int64)) error {
	var queue []block
	var v2Flags byte
	if addr < 0 || addr >= h.size {
		return h5err("object header address %d lies outside the file", addr)
	}
	head, err := h.read(addr, int(min(int64(48), h.size-addr)))
	if err != nil {
		return err
	}
	switch {
	case len(head) >= 16 && head[0] == 1:
		hsize := int64(binary.LittleEndian.Uint32(head[8:]))
		queue = append(queue, block{addr + 16, addr + 16 + hsize, false})
	case len(head) >= 8 && bytes.Equal(head[:4], []byte("OHDR")) && head[4] == 2:
		v2Flags = head[5]
		pos := 6
		if v2Flags&0x20 != 0 {
			pos += 16
		}
		if v2Flags&0x10 != 0 {
			pos += 4
		}
		w := 1 << (v2Flags & 3)
		if len(head) < pos+w {
			return h5err("object header truncated")
		}
		n := int64(uintN(head[pos:], w))
		start := addr + int64(pos+w)
		queue = append(queue, block{start, start + n, true})
	default:
		return h5err("object header at %d has an unknown version/signature", addr)
	}
	seen := map[int64]bool{}
	msgs := 0
	for len(queue) > 0 {
		bl := queue[0]
		queue = queue[1:]
		if seen[bl.start] {
			return h5err("object header continuation loops back to offset %d", bl.start)
		}
		seen[bl.start] = true
		if len(seen) > maxHeaderBlocks {
			return h5err("object header has more than %d continuation blocks", maxHeaderBlocks)
		}
		if bl.start < 0 || bl.end < bl.start || bl.end > h.size {
			return h5err("object header block [%d, %d) lies outside the file", bl.start, bl.end)
		}
		data, err := h.read(bl.start, int(bl.end-bl.start))
		if err != nil {
			return err
		}
		hdr := 8
		if bl.v2 {
			hdr = 4
			if v2Flags&0x04 != 0 {
				hdr = 6
			}
		}
		for pos := 0; pos+hdr <= len(data); {
			msgs++
			if msgs > maxMessages {
				return h5err("object header has more than %d messages", maxMessages)
			}
			var typ, size int
			var flags byte
			if bl.v2 {
				typ, size, flags = int(data[pos]), int(binary.LittleEndian.Uint16(data[pos+1:])), data[pos+3]
			} else {
				typ, size, flags = int(binary.LittleEndian.Uint16(data[pos:])), int(binary.LittleEndian.Uint16(data[pos+2:])), data[pos+4]
			}
			mstart := pos + hdr
			if mstart+size > len(data) {
				return h5err("header message at offset %d runs past its block", bl.start+int64(pos))
			}
			msg := data[mstart : mstart+size]
			moff := bl.start + int64(mstart)
			if typ == 0x10 { // continuation
				if len(msg) < h.so+h.sl {
					return h5err("continuation message at %d truncated", moff)
				}
				a := h.addr(msg)
				l := int64(uintN(msg[h.so:], h.sl))
				if a < 0 || l < 0 || l > h.size-a {
					return h5err("continuation block at %d points outside the file", moff)
				}
				if bl.v2 {
					sig, err := h.read(a, 4)
					if err != nil || !bytes.Equal(sig, []byte("OCHK")) || l < 8 {
						return h5err("continuation block at %d has no OCHK signature", a)
					}
					queue = append(queue, block{a + 4, a + l - 4, true})
				} else {
					queue = append(queue, block{a, a + l, false})
				}
			} else {
				fn(typ, flags, msg, moff)
			}
			pos = mstart + size
		}
	}
	return nil
}

// committedDatatype resolves a shared datatype (an attribute whose type is
// a named, "committed" datatype object, as h5py writes for
// attrs.create(..., dtype=f["some_type"])): the shared message holds the
// address of an object header whose Datatype message (0x03) is the type.
// Shared message versions 1 and 2 always hold an address; version 3 holds
// one when its type is 2 (the heap-stored kinds are not supported).
func (h *h5file) committedDatatype(shared []byte, off int64) ([]byte, error) {
	if len(shared) < 2 {
		return nil, h5err("shared datatype at %d truncated", off)
	}
	var p int
	switch shared[0] {
	case 1:
		p = 8
	case 2:
		p = 2
	case 3:
		if shared[1] != 2 {
			return nil, h5err("shared datatype at %d is kept in the shared-message heap, which this reader does not follow", off)
		}
		p = 2
	default:
		return nil, h5err("shared datatype at %d has unknown version %d", off, shared[0])
	}
	if len(shared) < p+h.so {
		return nil, h5err("shared datatype at %d truncated", off)
	}
	addr := h.addr(shared[p:])
	if addr < 0 {
		return nil, h5err("shared datatype at %d points outside the file", off)
	}
	var dt []byte
	n := 0
	err := h.walkHeader(addr, func(typ int, _ byte, msg []byte, _ int64) {
		if typ == 0x03 {
			n++
			dt = msg
		}
	})
	if err != nil {
		return nil, err
	}
	if n != 1 {
		// Zero or several types: readers could disagree on which applies.
		return nil, h5err("the committed datatype object at %d holds %d datatype messages", addr, n)
	}
	if len(dt) < 8 {
		return nil, h5err("the committed datatype at %d is truncated", addr)
	}
	return dt, nil
}

// attribute parses an attribute message (versions 1-3). Only string
// values are decoded; others keep their name only.
func (h *h5file) attribute(m []byte, off int64) h5attr {
	a := h5attr{off: off}
	if len(m) < 8 {
		a.err = h5err("attribute message at %d truncated", off)
		return a
	}
	ver := m[0]
	nameLen := int(binary.LittleEndian.Uint16(m[2:]))
	dtLen := int(binary.LittleEndian.Uint16(m[4:]))
	dsLen := int(binary.LittleEndian.Uint16(m[6:]))
	pos := 8
	pad := func(n int) int { return n }
	switch ver {
	case 1:
		pad = func(n int) int { return (n + 7) &^ 7 }
	case 2:
	case 3:
		pos = 9
	default:
		a.err = h5err("attribute message at %d has unknown version %d", off, ver)
		return a
	}
	// Flag bit 0: the datatype is shared (committed); bit 1: the
	// dataspace is shared, which h5py never writes.
	if ver >= 2 && m[1]&0x02 != 0 {
		a.err = h5err("attribute at %d uses a shared dataspace", off)
	}
	sharedType := ver >= 2 && m[1]&0x01 != 0
	if pos+pad(nameLen) > len(m) {
		a.err = h5err("attribute name at %d runs past the message", off)
		return a
	}
	a.name = string(bytes.TrimRight(m[pos:pos+nameLen], "\x00"))
	pos += pad(nameLen)
	if pos+pad(dtLen) > len(m) || dtLen < 8 && !sharedType {
		a.err = h5err("attribute %q datatype runs past the message", a.name)
		return a
	}
	dt := m[pos : pos+dtLen]
	if sharedType && a.err == nil {
		var err error
		if dt, err = h.committedDatatype(dt, off); err != nil {
			a.err = fmt.Errorf("attribute %q: %w", a.name, err)
			return a
		}
	}
	pos += pad(dtLen)
	if pos+pad(dsLen) > len(m) {
		a.err = h5err("attribute %q dataspace runs past the message", a.name)
		return a
	}
	ds := m[pos : pos+dsLen]
	pos += pad(dsLen)
	if a.err != nil {
		return a
	}
	data := m[min(pos, len(m)):]
	if n, ok := elements(ds); !ok || n < 1 {
		a.err = h5err("attribute %q has an unreadable or empty dataspace", a.name)
		return a
	}
	switch dt[0] & 0x0f {
	case 3: // fixed-length string: the first element's bytes
		n := int(binary.LittleEndian.Uint32(dt[4:]))
		if n > len(data) {
			a.err = h5err("attribute %q string of %d bytes runs past the message", a.name, n)
			return a
		}
		a.value, a.str = bytes.TrimRight(data[:n], "\x00 "), true
	case 9: // variable-length: a string (or byte sequence) in a global heap
		if len(data) < 4+h.so+4 {
			a.err = h5err("attribute %q variable-length reference truncated", a.name)
			return a
		}
		n := int64(binary.LittleEndian.Uint32(data))
		heap := h.addr(data[4:])
		idx := binary.LittleEndian.Uint32(data[4+h.so:])
		if heap < 0 {
			a.err = h5err("attribute %q points at a global heap outside the file", a.name)
			return a
		}
		v, err := h.heapObject(heap, idx, n)
		if err != nil {
			a.err = fmt.Errorf("attribute %q: %w", a.name, err)
			return a
		}
		a.value, a.str = bytes.TrimRight(v, "\x00"), true
	}
	return a
}

// elements returns how many elements a dataspace message describes.
func elements(ds []byte) (uint64, bool) {
	if len(ds) < 4 {
		return 0, false
	}
	ver, rank, flags := ds[0], int(ds[1]), ds[2]
	pos := 8
	switch ver {
	case 1:
	case 2:
		pos = 4
		if ds[3] == 2 { // null dataspace
			return 0, true
		}
	default:
		return 0, false
	}
	_ = flags
	if rank == 0 {
		return 1, true
	}
	n := uint64(1)
	for i := 0; i < rank; i++ {
		if pos+8 > len(ds) {
			return 0, false
		}
		d := binary.LittleEndian.Uint64(ds[pos:])
		if d != 0 && n > (1<<62)/d {
			return 0, false
		}
		n *= d
		pos += 8
	}
	return n, true
}

// heapObject returns object idx of the global heap collection at addr.
func (h *h5file) heapObject(addr int64, idx uint32, want int64) ([]byte, error) {
	hd, err := h.read(addr, 8+h.sl)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(hd[:4], []byte("GCOL")) {
		return nil, h5err("no global heap collection at offset %d", addr)
	}
	csize := int64(uintN(hd[8:], h.sl))
	if csize < int64(8+h.sl) || csize > h.size-addr {
		return nil, h5err("global heap collection at %d declares %d bytes, past the end of the file", addr, csize)
	}
	end := addr + csize
	pos := addr + int64(8+h.sl)
	ohdr := 8 + h.sl
	for i := 0; i < maxHeapObjects && pos+int64(ohdr) <= end; i++ {
		b, err := h.read(pos, ohdr)
		if err != nil {
			return nil, err
		}
		oi := binary.LittleEndian.Uint16(b)
		osz := int64(uintN(b[8:], h.sl))
		if oi == 0 {
			break // free space: the rest of the collection is unused
		}
		if osz < 0 || osz > end-pos-int64(ohdr) {
			return nil, h5err("global heap object %d at %d runs past its collection", oi, pos)
		}
		if uint32(oi) == idx {
			if want > osz || want < 0 {
				return nil, h5err("global heap object %d holds %d bytes, not the %d the attribute claims", oi, osz, want)
			}
			if want > maxAttrValue {
				return nil, h5err("string of %d bytes is larger than the %d-byte limit", want, maxAttrValue)
			}
			return h.read(pos+int64(ohdr), int(want))
		}
		pos += int64(ohdr) + (osz+7)&^7
	}
	return nil, h5err("global heap collection at %d has no object %d", addr, idx)
}
