// Package flax reads Flax checkpoints (flax.serialization.to_bytes:
// msgpack maps of parameters, arrays stored as msgpack ext types). msgpack
// itself runs nothing; what matters is what Flax's restore hook builds from
// the ext types: ndarray (code 1: shape, dtype name, raw buffer), native
// complex (2) and numpy scalar (3). The walk is bounded (depth, counts,
// every length checked against what remains), each array's dtype must be a
// plain numeric one and its buffer must hold exactly shape x itemsize
// bytes, and ext codes Flax does not define are reported.
package flax

import (
	"io"
	"strconv"

	"github.com/modelvet/modelvet/formats"
)

func init() {
	formats.Register(&formats.Analyzer{
		Name:       "flax-msgpack",
		Extensions: []string{".msgpack"},
		Priority:   6,
		Sniff:      sniff,
		Analyze:    analyze,
	})
}

// Flax's _MsgpackExtType.
const (
	extNdarray = 1
	extComplex = 2
	extScalar  = 3
)

// sniff: a map with a string key first, and, unless the name says
// msgpack, an ndarray ext type in the head (msgpack has no magic; a map of
// strings alone is too common to claim).
func sniff(p *formats.Probe) bool {
	if len(p.Head) < 2 {
		return false
	}
	c := p.Head[0]
	if !((c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf) {
		return false
	}
	d := &reader{r: &headReader{p.Head}, size: int64(len(p.Head))}
	first, err := d.next()
	if err != nil || first.k != kMap {
		return false
	}
	k, err := d.next()
	if err != nil || k.k != kStr {
		return false
	}
	if p.Ext() == ".msgpack" {
		return true
	}
	if d.skip(k.n) != nil {
		return false
	}
	for range 256 {
		t, err := d.next()
		if err != nil {
			return false
		}
		switch t.k {
		case kExt:
			return t.ext == extNdarray
		case kStr, kBin:
			if d.skip(t.n) != nil {
				return false
			}
		}
	}
	return false
}

type headReader struct{ b []byte }

func (h *headReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(h.b)) {
		return 0, io.EOF
	}
	n := copy(p, h.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

const (
	maxDepth   = 64
	maxTokens  = 50_000_000
	maxPerRule = 25
)

// numericDtypes are the numpy dtype names Flax writes for arrays
// (np.dtype(x).name); anything else (object, void, structured) is not a
// parameter array.
var numericDtypes = map[string]int64{
	"bool": 1, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "float16": 2, "bfloat16": 2,
	"int32": 4, "uint32": 4, "float32": 4, "int64": 8, "uint64": 8, "float64": 8,
	"complex64": 8, "complex128": 16, "float8_e4m3fn": 1, "float8_e5m2": 1,
	"float8_e4m3fnuz": 1, "float8_e5m2fnuz": 1, "float8_e4m3b11fnuz": 1, "int4": 1, "uint4": 1,
}

type walker struct {
	s      *formats.Scope
	d      *reader
	tokens int
	arrays int
	capped *formats.PerRule
}

func (w *walker) report(rule string, sev formats.Severity, off int64, format string, args ...any) {
	w.capped.Reportf(rule, sev, off, format, args...)
}

func analyze(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("flax-msgpack")
	w := &walker{s: s, d: &reader{r: r, size: size}, capped: &formats.PerRule{S: s, Max: maxPerRule}}
	err := w.value(0)
	if err == nil && w.d.pos != size {
		err = w.d.bad("%d bytes follow the checkpoint's value", size-w.d.pos)
	}
	if err != nil {
		off := int64(formats.NoOffset)
		if e, ok := err.(*errAt); ok {
			off = e.off
		}
		// flax/malformed: a checkpoint msgpack readers would reject or
		// read differently (trailing data, cut lengths).
		s.Reportf("flax/malformed", formats.High, off, "the msgpack data is broken (%v); what follows was not checked", err)
	}
	w.capped.Close()
	s.Detail("arrays", strconv.Itoa(w.arrays))
}

func (w *walker) value(depth int) error {
	if depth > maxDepth {
		return w.d.bad("values nest more than %d deep", maxDepth)
	}
	if w.tokens++; w.tokens > maxTokens {
		return w.d.bad("more than %d values", maxTokens)
	}
	t, err := w.d.next()
	if err != nil {
		return err
	}
	switch t.k {
	case kStr, kBin:
		return w.d.skip(t.n)
	case kArray, kMap:
		n := t.n
		if t.k == kMap {
			n *= 2
		}
		if n > w.d.size-w.d.pos { // each value takes at least one byte
			return w.d.bad("a container of %d values cannot fit in the %d bytes left", n, w.d.size-w.d.pos)
		}
		for range n {
			if err := w.value(depth + 1); err != nil {
				return err
			}
		}
	case kExt:
		return w.ext(t, depth)
	}
	return nil
}

func (w *walker) ext(t token, depth int) error {
	end := w.d.pos + t.n
	if t.n < 0 || t.n > w.d.size-w.d.pos {
		return w.d.bad("an ext value of %d bytes runs past the end", t.n)
	}
	switch t.ext {
	case extNdarray:
		w.arrays++
		// payload: [shape (array of ints), dtype name (str), buffer (bin)]
		sub := &reader{r: w.d.r, size: end, pos: w.d.pos}
		if err := w.ndarray(sub, t.off); err != nil {
			// flax/bad-array: an array whose payload Flax would misread
			// (a buffer that does not match its shape reads other bytes).
			w.report("flax/bad-array", formats.High, t.off, "an array's ext payload is broken (%v); Flax's restore hook would fail or misread it", err)
		}
	case extComplex, extScalar:
	default:
		// flax/unknown-ext: an ext code Flax never writes; other msgpack
		// readers' ext hooks may build objects from it.
		w.report("flax/unknown-ext", formats.Medium, t.off, "ext type %d is not one Flax writes (1 ndarray, 2 complex, 3 numpy scalar)", t.ext)
	}
	w.d.pos = end
	return nil
}

func (w *walker) ndarray(d *reader, off int64) error {
	h, err := d.next()
	if err != nil || h.k != kArray || h.n != 3 {
		return d.bad("not a 3-element array (shape, dtype, buffer)")
	}
	sh, err := d.next()
	if err != nil || sh.k != kArray || sh.n > 64 {
		return d.bad("the shape is not a short array")
	}
	elems := int64(1)
	for range sh.n {
		v, err := d.next()
		if err != nil || v.k != kInt || v.i < 0 {
			return d.bad("a dimension is not a non-negative integer")
		}
		if v.i != 0 && elems > (1<<58)/v.i { // x itemsize (<= 16) stays below 2^63
			return d.bad("the shape's element count overflows")
		}
		elems *= v.i
	}
	dt, err := d.next()
	if err != nil || dt.k != kStr || dt.n > 64 {
		return d.bad("the dtype is not a short string")
	}
	nb, err := d.bytes(dt.n)
	if err != nil {
		return err
	}
	name := string(nb)
	item, ok := numericDtypes[name]
	if !ok {
		// flax/odd-dtype: an array of a non-numeric dtype (object,
		// structured) is not a parameter, and numpy treats such dtypes
		// very differently from raw numbers.
		w.report("flax/odd-dtype", formats.Medium, off, "an array has the dtype %q, not a numeric one", name)
		return nil
	}
	buf, err := d.next()
	if err != nil || buf.k != kBin {
		return d.bad("the buffer is not a bin value")
	}
	want := elems * item // ml_dtypes' int4/uint4 take a byte each in numpy
	if buf.n != want {
		return d.bad("the buffer holds %d bytes but shape x %s needs %d", buf.n, name, want)
	}
	return d.skip(buf.n)
}
