package keras

// Dense attribute storage: when an object has more attributes than fit
// compactly (h5py with libver="latest" and more than 8 attributes), HDF5
// keeps them as messages in a fractal heap, indexed by name in a version 2
// B-tree. This reads the B-tree's records (depth 0 or 1), takes each
// record's heap ID and finds the attribute message in the heap's direct
// blocks. Huge objects and deeper trees are reported as unreadable.

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

type fractalHeap struct {
	idLen       int
	maxManaged  uint32
	tableWidth  int
	startBlock  uint64
	maxDirect   uint64
	maxHeapBits int
	rootAddr    int64
	rootRows    int
	filtered    bool
	offsetBytes int // bytes of a heap offset (maxHeapBits/8 rounded up)
	lengthBytes int // bytes of a managed object length in a heap ID
}

const (
	maxDenseAttrs  = 4096
	maxIndirectDep = 4
)

// denseAttributes returns the attributes of an Attribute Info message's
// fractal heap (heapAddr) and name index B-tree (btAddr).
func (h *h5file) denseAttributes(heapAddr, btAddr int64) ([]h5attr, error) {
	fh, err := h.readHeap(heapAddr)
	if err != nil {
		return nil, err
	}
	ids, err := h.btreeHeapIDs(btAddr)
	if err != nil {
		return nil, err
	}
	var out []h5attr
	for _, id := range ids {
		if len(id) < 1 {
			continue
		}
		switch (id[0] >> 4) & 3 {
		case 0: // managed
			if len(id) < 1+fh.offsetBytes+fh.lengthBytes {
				return out, h5err("heap ID too short")
			}
			off := uintN(id[1:], fh.offsetBytes)
			n := uintN(id[1+fh.offsetBytes:], fh.lengthBytes)
			if n > 1<<16 || n > uint64(h.size) {
				return out, h5err("dense attribute of %d bytes is larger than an attribute message can be", n)
			}
			pos, err := h.heapLocate(fh, fh.rootAddr, fh.rootRows, 0, off, 0)
			if err != nil {
				return out, err
			}
			m, err := h.read(pos, int(n))
			if err != nil {
				return out, err
			}
			out = append(out, h.attribute(m, pos))
		default:
			return out, h5err("an attribute is stored as a huge or tiny fractal heap object, which this reader does not follow")
		}
	}
	return out, nil
}

func (h *h5file) readHeap(addr int64) (*fractalHeap, error) {
	n := 4 + 1 + 2 + 2 + 1 + 4 + h.sl + h.so + h.sl + h.so + 8*h.sl + 2 + h.sl + h.sl + 2 + 2 + h.so + 2
	b, err := h.read(addr, n)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(b[:4], []byte("FRHP")) || b[4] != 0 {
		return nil, h5err("no fractal heap header at offset %d", addr)
	}
	fh := &fractalHeap{idLen: int(binary.LittleEndian.Uint16(b[5:]))}
	filterLen := int(binary.LittleEndian.Uint16(b[7:]))
	fh.filtered = filterLen > 0
	fh.maxManaged = binary.LittleEndian.Uint32(b[10:])
	p := 14 + h.sl + h.so + h.sl + h.so + 8*h.sl
	fh.tableWidth = int(binary.LittleEndian.Uint16(b[p:]))
	p += 2
	fh.startBlock = uintN(b[p:], h.sl)
	p += h.sl
	fh.maxDirect = uintN(b[p:], h.sl)
	p += h.sl
	fh.maxHeapBits = int(binary.LittleEndian.Uint16(b[p:]))
	p += 2 + 2 // skip starting # rows
	fh.rootAddr = h.addr(b[p:])
	p += h.so
	fh.rootRows = int(binary.LittleEndian.Uint16(b[p:]))
	if fh.filtered {
		return nil, h5err("the attribute heap is filtered (compressed), which this reader does not decode")
	}
	if fh.tableWidth < 1 || fh.tableWidth > 1<<16 || fh.startBlock < 16 || fh.maxDirect < fh.startBlock ||
		fh.maxDirect > 1<<32 || fh.maxHeapBits < 8 || fh.maxHeapBits > 64 || fh.rootAddr < 0 {
		return nil, h5err("fractal heap header at %d has implausible parameters", addr)
	}
	fh.offsetBytes = (fh.maxHeapBits + 7) / 8
	fh.lengthBytes = bytesFor(min(fh.maxDirect, uint64(fh.maxManaged)))
	return fh, nil
}

// bytesFor is how many bytes encode values up to v.
func bytesFor(v uint64) int {
	n := 1
	for v >= 1<<8 && n < 8 {
		v >>= 8
		n++
	}
	return n
}

func blockSize(fh *fractalHeap, row int) uint64 {
	if row <= 1 {
		return fh.startBlock
	}
	return fh.startBlock << (row - 1)
}

// heapLocate finds the file position of heap offset off inside the block
// at addr (a direct block when rows == 0, else an indirect block with rows
// rows) whose own heap offset is base.
func (h *h5file) heapLocate(fh *fractalHeap, addr int64, rows int, base, off uint64, depth int) (int64, error) {
	if depth > maxIndirectDep {
		return 0, h5err("fractal heap indirect blocks nest too deep")
	}
	if rows == 0 {
		// Direct block: signature, version, heap address, block offset,
		// then data; offsets within the block count from its start.
		hd, err := h.read(addr, 5)
		if err != nil {
			return 0, err
		}
		if !bytes.Equal(hd[:4], []byte("FHDB")) {
			return 0, h5err("no fractal heap direct block at offset %d", addr)
		}
		size := blockSize(fh, 0)
		if depth > 0 {
			size = 0 // size comes from the caller's row; bounds are checked against the file
		}
		rel := off - base
		if off < base || (size > 0 && rel >= size) || rel > uint64(h.size-addr) {
			return 0, h5err("heap offset %d is outside its direct block", off)
		}
		return addr + int64(rel), nil
	}
	if rows > 64 {
		return 0, h5err("fractal heap indirect block has %d rows", rows)
	}
	hdrLen := 4 + 1 + h.so + fh.offsetBytes
	nEntries := rows * fh.tableWidth
	if nEntries > 1<<16 {
		return 0, h5err("fractal heap indirect block too large")
	}
	b, err := h.read(addr, hdrLen+nEntries*h.so)
	if err != nil {
		return 0, err
	}
	if !bytes.Equal(b[:4], []byte("FHIB")) {
		return 0, h5err("no fractal heap indirect block at offset %d", addr)
	}
	pos := base
	for r := 0; r < rows; r++ {
		sz := blockSize(fh, r)
		for c := 0; c < fh.tableWidth; c++ {
			e := hdrLen + (r*fh.tableWidth+c)*h.so
			if off >= pos && off-pos < sz {
				child := h.addr(b[e:])
				if child < 0 {
					return 0, h5err("heap offset %d falls in an unallocated block", off)
				}
				if sz <= fh.maxDirect {
					return h.heapLocate(fh, child, 0, pos, off, depth+1)
				}
				// An indirect child: its rows cover sz bytes.
				childRows := 0
				for s := uint64(0); s < sz && childRows < 64; childRows++ {
					s += blockSize(fh, childRows) * uint64(fh.tableWidth)
				}
				return h.heapLocate(fh, child, childRows, pos, off, depth+1)
			}
			pos += sz
		}
	}
	return 0, h5err("heap offset %d is past the heap", off)
}

// btreeHeapIDs returns the heap IDs of the records of an attribute name
// index (v2 B-tree of type 8). Records are heap ID (8), flags (1),
// creation order (4), name hash (4).
func (h *h5file) btreeHeapIDs(addr int64) ([][]byte, error) {
	b, err := h.read(addr, 4+1+1+4+2+2+1+1+h.so+2+h.sl+4)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(b[:4], []byte("BTHD")) {
		return nil, h5err("no B-tree header at offset %d", addr)
	}
	typ := b[5]
	nodeSize := int(binary.LittleEndian.Uint32(b[6:]))
	recSize := int(binary.LittleEndian.Uint16(b[10:]))
	depth := int(binary.LittleEndian.Uint16(b[12:]))
	root := h.addr(b[16:])
	rootN := int(binary.LittleEndian.Uint16(b[16+h.so:]))
	if typ != 8 || recSize < 8 || nodeSize < 16 || nodeSize > 1<<20 || root < 0 {
		return nil, h5err("attribute name index B-tree at %d is not one this reader knows (type %d)", addr, typ)
	}
	leaf := func(at int64, n int) ([][]byte, error) {
		if n*recSize > nodeSize {
			return nil, h5err("B-tree leaf at %d claims %d records", at, n)
		}
		d, err := h.read(at, 6+n*recSize)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(d[:4], []byte("BTLF")) {
			return nil, h5err("no B-tree leaf at offset %d", at)
		}
		var ids [][]byte
		for i := 0; i < n; i++ {
			ids = append(ids, d[6+i*recSize:6+i*recSize+8])
		}
		return ids, nil
	}
	switch depth {
	case 0:
		return leaf(root, rootN)
	case 1:
		// Internal node: rootN records, then rootN+1 child pointers of
		// address + record count (in as many bytes as a leaf's maximum
		// record count needs).
		maxLeaf := (nodeSize - 10) / recSize
		cw := bytesFor(uint64(maxLeaf))
		d, err := h.read(root, 6+rootN*recSize+(rootN+1)*(h.so+cw))
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(d[:4], []byte("BTIN")) {
			return nil, h5err("no B-tree internal node at offset %d", root)
		}
		var ids [][]byte
		for i := 0; i < rootN; i++ {
			ids = append(ids, d[6+i*recSize:6+i*recSize+8])
		}
		p := 6 + rootN*recSize
		for i := 0; i <= rootN; i++ {
			child := h.addr(d[p:])
			n := int(uintN(d[p+h.so:], cw))
			p += h.so + cw
			if child < 0 {
				return nil, h5err("B-tree child pointer outside the file")
			}
			more, err := leaf(child, n)
			if err != nil {
				return nil, err
			}
			ids = append(ids, more...)
			if len(ids) > maxDenseAttrs {
				return nil, h5err("more than %d dense attributes", maxDenseAttrs)
			}
		}
		return ids, nil
	}
	return nil, fmt.Errorf("%w: attribute index B-tree of depth %d (more attributes than this reader follows)", errH5, depth)
}
