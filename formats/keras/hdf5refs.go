package keras

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// HDF5 can make a dataset's bytes come from another file: an external link
// (a group member that is a path into another HDF5 file), external raw
// storage (a dataset whose data is a byte range of any file), and virtual
// datasets (a dataset mapped from datasets in other files). h5py follows
// all three transparently, so Keras' weight loading reads them into the
// model's weights: /etc/shadow, a private model, or \\host\share\x.h5 (on
// Windows, an SMB connection that sends the user's credentials). Keras and
// h5py never write them for a model. walkRefs visits every object reachable
// from the root through hard links and reports each such reference; parts
// it cannot visit (dense link storage, unreadable headers) are reported as
// problems, because an unvisited group may hold one.

const (
	maxObjects  = 1 << 16 // object headers visited
	maxTreeNode = 1 << 16 // B-tree and symbol-table nodes visited
	// maxNodeEntries bounds one node's entries: HDF5's defaults are 32
	// per group B-tree node and 8 per symbol-table node; 1024 leaves room
	// for tuned files while keeping every read small.
	maxNodeEntries = 1024
)

// h5ref is one reference out of the file.
type h5ref struct {
	kind string // "an external link", "external storage", "virtual dataset", "user-defined link"
	what string // the file or link target, when readable
	off  int64
}

type refWalker struct {
	h        *h5file
	seen     map[int64]bool // object headers visited
	nodeSeen map[int64]bool // B-tree and symbol-table nodes visited: each once, so a node shared or looping costs nothing
	nodes    int
	queue    []int64
	refs     []h5ref
	problems []string
}

// walkRefs returns the references out of the file found from root.
func (h *h5file) walkRefs(root int64) ([]h5ref, []string) {
	// Distinct objects never share bytes, so an honest file is read about
	// once; overlapping headers are a forged file.
	budget := h.readBytes + 4*h.size + 64<<20
	w := &refWalker{h: h, seen: map[int64]bool{}, nodeSeen: map[int64]bool{}, queue: []int64{root}}
	for len(w.queue) > 0 {
		a := w.queue[0]
		w.queue = w.queue[1:]
		if w.seen[a] {
			continue
		}
		if len(w.seen) >= maxObjects {
			w.problems = append(w.problems, fmt.Sprintf("more than %d objects", maxObjects))
			break
		}
		w.seen[a] = true
		if h.readBytes > budget {
			w.problems = append(w.problems, fmt.Sprintf("object headers overlap: more than %d bytes read", budget))
			break
		}
		if err := h.walkHeader(a, w.message); err != nil {
			w.problems = append(w.problems, err.Error())
		}
	}
	return w.refs, w.problems
}

func (w *refWalker) problem(format string, args ...any) {
	if len(w.problems) < 16 {
		w.problems = append(w.problems, fmt.Sprintf(format, args...))
	}
}

func (w *refWalker) message(typ int, _ byte, msg []byte, off int64) {
	h := w.h
	switch typ {
	case 0x02: // link info: a defined fractal heap address means dense links
		if len(msg) < 2 {
			w.problem("link info message at %d truncated", off)
			return
		}
		pos := 2
		if msg[1]&1 != 0 {
			pos += 8
		}
		if len(msg) < pos+h.so {
			w.problem("link info message at %d truncated", off)
			return
		}
		if len(msg) < pos+2*h.so {
			w.problem("link info message at %d truncated", off)
			return
		}
		if !undefined(msg[pos : pos+h.so]) {
			w.denseLinks(h.addr(msg[pos:]), h.addr(msg[pos+h.so:]), off)
		}
	case 0x06:
		w.link(msg, off)
	case 0x07: // external data files
		w.external(msg, off)
	case 0x08: // data layout: version 4, class 3 is a virtual dataset
		if len(msg) >= 2 && msg[0] == 4 && msg[1] == 3 {
			w.refs = append(w.refs, h5ref{kind: "a virtual dataset", off: off})
		}
	case 0x11: // symbol table: v1 B-tree of symbol-table nodes
		if len(msg) < 2*h.so {
			w.problem("symbol table message at %d truncated", off)
			return
		}
		w.btree(h.addr(msg), 0)
	}
}

func undefined(b []byte) bool {
	for _, c := range b {
		if c != 0xff {
			return false
		}
	}
	return true
}

// link parses a link message (version 1): hard links are followed; soft
// links stay inside the file; every other class leaves it.
func (w *refWalker) link(msg []byte, off int64) {
	h := w.h
	if len(msg) < 2 || msg[0] != 1 {
		w.problem("link message at %d has an unknown version", off)
		return
	}
	flags := msg[1]
	pos := 2
	ltype := byte(0)
	if flags&0x08 != 0 {
		if len(msg) <= pos {
			w.problem("link message at %d truncated", off)
			return
		}
		ltype = msg[pos]
		pos++
	}
	if flags&0x04 != 0 {
		pos += 8
	}
	if flags&0x10 != 0 {
		pos++
	}
	lw := 1 << (flags & 3)
	if len(msg) < pos+lw {
		w.problem("link message at %d truncated", off)
		return
	}
	nlen := int(uintN(msg[pos:], lw))
	pos += lw
	if nlen < 0 || len(msg)-pos < nlen {
		w.problem("link message at %d truncated", off)
		return
	}
	name := string(msg[pos : pos+nlen])
	pos += nlen
	switch ltype {
	case 0: // hard
		if len(msg) < pos+h.so {
			w.problem("link message at %d truncated", off)
			return
		}
		if a := h.addr(msg[pos:]); a >= 0 {
			w.queue = append(w.queue, a)
		} else {
			w.problem("hard link %q at %d points outside the file", name, off)
		}
	case 1: // soft: a path inside this file
	default:
		what := name
		kind := "a user-defined link"
		if ltype == 64 && len(msg) >= pos+2 {
			kind = "an external link"
			l := int(binary.LittleEndian.Uint16(msg[pos:]))
			if v := msg[pos+2:]; l <= len(v) && l > 1 {
				// version/flags byte, then file name and object path, NUL-separated
				parts := bytes.SplitN(v[1:l], []byte{0}, 3)
				what = fmt.Sprintf("%s -> %s:%s", name, clip(parts[0]), clip(bytes.Join(parts[1:], nil)))
			}
		}
		w.refs = append(w.refs, h5ref{kind: kind, what: what, off: off})
	}
}

// denseLinks visits the links of a group kept in dense storage (HDF5
// 1.8+ with libver="latest", or any group past 8 links in such a file):
// link messages in a fractal heap, indexed by name in a version 2 B-tree.
// Each is judged like a compact link message, so an external link hidden
// among many layers is found. What cannot be read stays a problem: an
// unvisited group may hold a link out of the file.
func (w *refWalker) denseLinks(heapAddr, btAddr, off int64) {
	h := w.h
	if heapAddr < 0 || btAddr < 0 || w.nodeSeen[heapAddr] {
		if heapAddr < 0 || btAddr < 0 {
			w.problem("the dense link storage of the group at %d lies outside the file", off)
		}
		return
	}
	w.nodeSeen[heapAddr] = true // two groups sharing one heap are read once
	fh, err := h.readHeap(heapAddr)
	if err != nil {
		w.problem("dense links of the group at %d: %v", off, err)
		return
	}
	ids, err := h.btreeHeapIDs(btAddr, btreeLinkNames, maxObjects)
	if err != nil {
		w.problem("dense links of the group at %d: %v", off, err)
		return
	}
	for _, id := range ids {
		w.nodes++
		if w.nodes > maxTreeNode {
			w.problem("more than %d group entries", maxTreeNode)
			return
		}
		m, pos, err := h.fractalObject(fh, id)
		if err != nil {
			w.problem("dense links of the group at %d: %v", off, err)
			continue
		}
		if pos < 0 {
			pos = off
		}
		w.link(m, pos)
	}
}

// external reads the file names of an External Data Files message from
// its local heap, best effort: the message is the finding either way.
func (w *refWalker) external(msg []byte, off int64) {
	h := w.h
	ref := h5ref{kind: "external raw storage", off: off}
	if len(msg) >= 8+h.so && msg[0] == 1 {
		used := int(binary.LittleEndian.Uint16(msg[6:]))
		heap := h.addr(msg[8:])
		slot := msg[8+h.so:]
		if heap >= 0 && used > 0 && len(slot) >= h.sl {
			if hb, err := h.read(heap, int(min(int64(8+2*h.sl+h.so), h.size-heap))); err == nil && len(hb) >= 8+2*h.sl+h.so && string(hb[:4]) == "HEAP" {
				data := h.addr(hb[8+2*h.sl:])
				if data >= 0 {
					noff := int64(uintN(slot, h.sl))
					if at := data + noff; noff >= 0 && at >= data && at < h.size {
						if nb, err := h.read(at, int(min(int64(256), h.size-at))); err == nil {
							if i := bytes.IndexByte(nb, 0); i >= 0 {
								nb = nb[:i]
							}
							ref.what = clip(nb)
						}
					}
				}
			}
		}
	}
	w.refs = append(w.refs, ref)
}

func clip(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return fmt.Sprintf("%q", b)
}

// btree walks a version 1 group B-tree (type 0) down to its symbol-table
// nodes and queues every member's object header.
func (w *refWalker) btree(a int64, depth int) {
	h := w.h
	w.nodes++
	if w.nodes > maxTreeNode || depth > 64 {
		w.problem("group B-tree larger or deeper than supported")
		return
	}
	if a < 0 {
		w.problem("group B-tree address outside the file")
		return
	}
	if w.nodeSeen[a] {
		return
	}
	w.nodeSeen[a] = true
	head, err := h.read(a, int(min(int64(8+2*h.so), h.size-a)))
	if err != nil || len(head) < 8+2*h.so {
		w.problem("group B-tree node at %d truncated", a)
		return
	}
	if string(head[:4]) == "SNOD" {
		delete(w.nodeSeen, a)
		w.snod(a)
		return
	}
	if string(head[:4]) != "TREE" || head[4] != 0 {
		w.problem("group B-tree node at %d has no TREE signature", a)
		return
	}
	level := head[5]
	n := int(binary.LittleEndian.Uint16(head[6:]))
	if n > maxNodeEntries {
		w.problem("group B-tree node at %d claims %d entries", a, n)
		return
	}
	start := a + 8 + 2*int64(h.so)
	need := int64(n)*int64(h.sl+h.so) + int64(h.sl)
	if need > h.size-start {
		w.problem("group B-tree node at %d runs past the end of the file", a)
		return
	}
	body, err := h.read(start, int(need))
	if err != nil {
		w.problem("group B-tree node at %d unreadable", a)
		return
	}
	for i := 0; i < n; i++ {
		child := h.addr(body[h.sl+i*(h.sl+h.so):])
		if level > 0 {
			w.btree(child, depth+1)
		} else {
			w.snod(child)
		}
	}
}

// snod queues the object headers a symbol-table node names. Cache type 2
// entries are soft links (paths inside this file).
func (w *refWalker) snod(a int64) {
	h := w.h
	w.nodes++
	if w.nodes > maxTreeNode {
		w.problem("more than %d group nodes", maxTreeNode)
		return
	}
	if a < 0 {
		w.problem("symbol-table node address outside the file")
		return
	}
	if w.nodeSeen[a] {
		return
	}
	w.nodeSeen[a] = true
	head, err := h.read(a, int(min(int64(8), h.size-a)))
	if err != nil || len(head) < 8 || string(head[:4]) != "SNOD" {
		w.problem("symbol-table node at %d has no SNOD signature", a)
		return
	}
	n := int(binary.LittleEndian.Uint16(head[6:]))
	if n > maxNodeEntries {
		w.problem("symbol-table node at %d claims %d entries", a, n)
		return
	}
	es := 2*h.so + 24
	if int64(n)*int64(es) > h.size-a-8 {
		w.problem("symbol-table node at %d runs past the end of the file", a)
		return
	}
	body, err := h.read(a+8, n*es)
	if err != nil {
		w.problem("symbol-table node at %d unreadable", a)
		return
	}
	for i := 0; i < n; i++ {
		e := body[i*es:]
		if binary.LittleEndian.Uint32(e[2*h.so:]) == 2 {
			continue // soft link
		}
		if oh := h.addr(e[h.so:]); oh >= 0 {
			w.queue = append(w.queue, oh)
		} else {
			w.problem("symbol-table entry in node at %d points outside the file", a)
		}
	}
}
