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
	ids, err := h.btreeHeapIDs(btAddr, btreeAttrNames, maxDenseAttrs)
	if err != nil {
		return nil, err
	}
	var out []h5attr
	for _, id := range ids {
		m, pos, err := h.fractalObject(fh, id)
		if err != nil {
			return out, err
		}
		out = append(out, h.attribute(m, pos))
	}
	return out, nil
}

// fractalObject returns the bytes of the fractal heap object a heap ID names
// and where they start in the file: a managed object (in a direct block,
// found through the indirect blocks), or a tiny one (inside the ID itself,
// at offset -1). Huge objects (kept through yet another B-tree) are not
// followed: the caller reports them unread.
func (h *h5file) fractalObject(fh *fractalHeap, id []byte) ([]byte, int64, error) {
	if len(id) < 1 {
		return nil, 0, h5err("empty heap ID")
	}
	switch (id[0] >> 4) & 3 {
	case 0: // managed
		if len(id) < 1+fh.offsetBytes+fh.lengthBytes {
			return nil, 0, h5err("heap ID too short")
		}
		off := uintN(id[1:], fh.offsetBytes)
		n := uintN(id[1+fh.offsetBytes:], fh.lengthBytes)
		if n > 1<<16 || n > uint64(h.size) {
			return nil, 0, h5err("a heap object of %d bytes is larger than a header message can be", n)
		}
		pos, err := h.heapLocate(fh, fh.rootAddr, fh.rootRows, 0, off, 0)
		if err != nil {
			return nil, 0, err
		}
		m, err := h.read(pos, int(n))
		return m, pos, err
	case 2: // tiny: length-1 in the low nibble, the bytes follow
		n := int(id[0]&0x0f) + 1
		if 1+n > len(id) {
			return nil, 0, h5err("tiny heap object longer than its ID")
		}
		return id[1 : 1+n], -1, nil
	}
	return nil, 0, h5err("an entry is stored as a huge fractal heap object, which this reader does not follow")
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
		return nil, h5err("the fractal heap at %d is filtered (compressed), which this reader does not decode", addr)
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

// B-tree types whose records name fractal heap objects: a group's link
// name index (type 5: name hash (4), heap ID) and an object's attribute
// name index (type 8: heap ID (8), flags (1), creation order (4), hash (4)).
const (
	btreeLinkNames = 5
	btreeAttrNames = 8
	maxBtreeDepth  = 8
)

// btreeHeapIDs returns the heap IDs of the records of a version 2 B-tree
// of type typ, walking internal nodes to any depth up to maxBtreeDepth and
// at most limit records: every read is bounded by the node size
// the header declares (at most 1 MiB) and checked against the file.
func (h *h5file) btreeHeapIDs(addr int64, typ byte, limit int) ([][]byte, error) {
	b, err := h.read(addr, 4+1+1+4+2+2+1+1+h.so+2+h.sl+4)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(b[:4], []byte("BTHD")) {
		return nil, h5err("no B-tree header at offset %d", addr)
	}
	nodeSize := int(binary.LittleEndian.Uint32(b[6:]))
	recSize := int(binary.LittleEndian.Uint16(b[10:]))
	depth := int(binary.LittleEndian.Uint16(b[12:]))
	root := h.addr(b[16:])
	rootN := int(binary.LittleEndian.Uint16(b[16+h.so:]))
	idAt, idLen := 0, 8
	if typ == btreeLinkNames {
		idAt, idLen = 4, recSize-4
	}
	if b[5] != typ || recSize < idAt+idLen || idLen < 1 || recSize < 8 || nodeSize < 16 || nodeSize > 1<<20 || root < 0 {
		return nil, h5err("name index B-tree at %d is not one this reader knows (type %d)", addr, b[5])
	}
	if rootN == 0 {
		return nil, nil
	}
	if depth > maxBtreeDepth {
		return nil, fmt.Errorf("%w: name index B-tree of depth %d (more entries than this reader follows)", errH5, depth)
	}
	// Field widths of internal nodes (HDF5's H5B2__hdr_init): a child's
	// record count takes as many bytes as a leaf's maximum count needs;
	// above depth 1 a child's total count follows, as wide as the most
	// records a subtree one level down can hold.
	maxLeaf := (nodeSize - 10) / recSize
	cw := bytesFor(uint64(maxLeaf))
	cum := make([]uint64, depth+1) // most records a subtree of each depth holds
	cum[0] = uint64(maxLeaf)
	for d := 1; d <= depth; d++ {
		ptr := h.so + cw
		if d > 1 {
			ptr += bytesFor(cum[d-1])
		}
		per := uint64(max(0, (nodeSize-10-ptr)/(recSize+ptr)))
		cum[d] = min((per+1)*cum[d-1]+per, 1<<56)
	}
	var ids [][]byte
	var walk func(at int64, n, d int) error
	walk = func(at int64, n, d int) error {
		if n*recSize > nodeSize {
			return h5err("B-tree node at %d claims %d records", at, n)
		}
		sig, tw := "BTLF", 0
		if d > 0 {
			sig = "BTIN"
		}
		if d > 1 {
			tw = bytesFor(cum[d-1])
		}
		need := 6 + n*recSize
		if d > 0 {
			need += (n + 1) * (h.so + cw + tw)
		}
		if need > nodeSize+64 {
			return h5err("B-tree node at %d is larger than its declared node size", at)
		}
		nd, err := h.read(at, need)
		if err != nil {
			return err
		}
		if !bytes.Equal(nd[:4], []byte(sig)) {
			return h5err("no B-tree node (%s) at offset %d", sig, at)
		}
		for i := 0; i < n; i++ {
			r := nd[6+i*recSize:]
			ids = append(ids, r[idAt:idAt+idLen])
		}
		if len(ids) > limit {
			return h5err("more than %d dense entries", limit)
		}
		if d == 0 {
			return nil
		}
		p := 6 + n*recSize
		for i := 0; i <= n; i++ {
			child := h.addr(nd[p:])
			cn := int(uintN(nd[p+h.so:], cw))
			p += h.so + cw + tw
			if child < 0 {
				return h5err("B-tree child pointer outside the file")
			}
			if err := walk(child, cn, d-1); err != nil {
				return err
			}
		}
		return nil
	}
	return ids, walk(root, rootN, depth)
}
