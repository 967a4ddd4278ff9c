// Package safetensors reads safetensors files: an 8-byte little-endian
// header length N, N bytes of JSON describing every tensor, then the data
// buffer. Only the header is read, so a 10 GB file costs what its header
// costs. Every rule below is a place where a loader would fail, or where two
// loaders (the Rust crate behind safetensors' Python API, a hand-written
// reader, a browser viewer) could see different tensors in the same bytes.
package safetensors

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"sort"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/internal/jsonx"
)

// MaxHeader is the reference implementation's cap (MAX_HEADER_SIZE in
// safetensors/src/tensor.rs): a larger header is refused by every real
// loader, so a file declaring one is malformed or a memory-exhaustion trap.
const MaxHeader = 100_000_000

// maxEntryNodes caps the JSON values in one header entry (a tensor's
// shape dimensions, __metadata__'s pairs). Real entries have a handful; a
// shape of millions of dimensions is only a way to spend memory.
const maxEntryNodes = 1 << 20

// dtypeBits is the element width in bits of every dtype the reference
// crate knows (huggingface/safetensors safetensors/src/tensor.rs, enum
// Dtype and Dtype::bitsize, checked at commit 24b0b28). F4 and F6 are
// sub-byte. A dtype missing here is reported high, so the table must follow
// the crate: a real model in a new dtype would otherwise be a false alarm.
var dtypeBits = map[string]uint64{
	"BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8,
	"F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8,
	"I16": 16, "U16": 16,
	"F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "C64": 64,
	"F64": 64, "I64": 64, "U64": 64,
}

// Tensor is one entry of the header.
type Tensor struct {
	Name       string
	Dtype      string
	Shape      []uint64
	Begin, End uint64
	Elements   uint64 // product of Shape; valid when SizeOK
	SizeOK     bool
	Off        int64 // file offset of the entry's key
}

// Header is what a header says, as far as it could be read.
type Header struct {
	N        uint64 // JSON length
	Tensors  []Tensor
	Metadata map[string]string
	Valid    bool // the header parsed; Tensors is complete
}

// DataStart is the file offset of the data buffer.
func (h *Header) DataStart() int64 { return 8 + int64(h.N) }

type reporter func(rule string, sev formats.Severity, member string, off int64, format string, args ...any)

// Read parses and validates the header of a safetensors file of the given
// size, reporting every problem to report. It reads 8+N bytes at most.
func Read(r io.ReaderAt, size int64, report reporter) *Header {
	h := &Header{}
	if size < 8 {
		report("safetensors/truncated", formats.High, "", 0,
			"the file is %d bytes, shorter than the 8-byte header length; it is not a loadable safetensors file", size)
		return h
	}
	var lb [8]byte
	if _, err := r.ReadAt(lb[:], 0); err != nil {
		report("safetensors/truncated", formats.High, "", 0, "cannot read the header length: %v", err)
		return h
	}
	n := binary.LittleEndian.Uint64(lb[:])
	h.N = n
	if n > MaxHeader {
		report("safetensors/header-too-large", formats.High, "", 0,
			"the header length field says %d bytes, over the %d-byte limit every safetensors loader enforces; the file is malformed or built to exhaust memory", n, MaxHeader)
		return h
	}
	if n > uint64(size-8) {
		report("safetensors/truncated", formats.High, "", 0,
			"the header length field says %d bytes but only %d bytes follow it; the file is truncated or the length is forged", n, size-8)
		return h
	}
	if n < 2 {
		report("safetensors/invalid-header", formats.High, "", 8, "the header is %d bytes; even an empty header needs \"{}\"", n)
		return h
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, 8); err != nil && err != io.EOF {
		report("safetensors/truncated", formats.High, "", 8, "cannot read the %d-byte header: %v", n, err)
		return h
	}
	// The reference crate hands the header to serde_json::from_str, which
	// skips JSON whitespace (space, tab, CR, LF) before the object, so such
	// a header is valid to every loader built on it; anything else first is
	// not JSON at all.
	lead := 0
	for lead < len(buf) && isJSONSpace(buf[lead]) {
		lead++
	}
	if lead == len(buf) || buf[lead] != '{' {
		c := byte(0)
		if lead < len(buf) {
			c = buf[lead]
		}
		report("safetensors/bad-header-start", formats.High, "", 8+int64(lead),
			"the header does not start with a JSON object (it starts with %q); no safetensors reader accepts it", c)
		return h
	}
	if lead > 0 {
		// Not a risk (serde_json, the crate's reader, skips it), but no
		// safetensors writer emits it: worth knowing where a file came from.
		report("safetensors/leading-whitespace", formats.Info, "", 8,
			"the header starts with %d bytes of JSON whitespace before '{'; the safetensors crate accepts this, but its writers never produce it", lead)
	}
	// Members are read one at a time: a 100 MB header of a million tiny
	// entries costs the Tensor list, not a million-node JSON tree.
	valid := true
	end, dups, err := jsonx.Members(buf, jsonx.Limits{MaxDepth: 8, MaxNodes: maxEntryNodes}, func(name string, koff int, v *jsonx.Value) {
		off := 8 + int64(koff)
		if name == "__metadata__" {
			h.Metadata = readMetadata(v, off, report)
			return
		}
		t, ok := readTensor(name, v, off, report)
		if !ok {
			valid = false
			return
		}
		h.Tensors = append(h.Tensors, t)
	})
	for _, d := range dups {
		report("safetensors/duplicate-key", formats.High, memberOf(d.Path, d.Key), 8+int64(d.Off),
			"the key %q appears twice in %s; JSON readers disagree on duplicates (serde and Python keep the last, streaming and some C++ readers the first, serde refuses a repeated tensor field), so two loaders can see different tensors", d.Key, where(d.Path))
	}
	if err != nil {
		reportJSON(report, err)
		return h
	}
	// Writers pad the header with spaces to an 8-byte boundary. serde_json
	// accepts any JSON whitespace after the value; anything else after it
	// is data a loader never parses: a place to hide bytes, or garbage.
	for i := end; i < len(buf); i++ {
		switch buf[i] {
		case ' ':
		case '\t', '\n', '\r':
			report("safetensors/odd-padding", formats.Medium, "", 8+int64(i),
				"the header is padded with byte 0x%02x; writers pad with spaces only, so this header was not written by a safetensors library", buf[i])
			i = len(buf)
		default:
			report("safetensors/invalid-header", formats.High, "", 8+int64(i),
				"%d bytes of non-whitespace follow the header's JSON object inside the declared header length; they are hidden from loaders that stop at the object and fail others", len(buf)-i)
			valid = false
			i = len(buf)
		}
	}
	h.Valid = valid && len(dups) == 0
	checkLayout(h, size, report)
	return h
}

func reportJSON(report reporter, err error) {
	off := int64(8)
	if e, ok := err.(*jsonx.Error); ok {
		off += int64(e.Off)
	}
	report("safetensors/invalid-header", formats.High, "", off, "the header is not valid JSON: %v", err)
}

func memberOf(path, key string) string {
	p := strings.TrimPrefix(path, "/")
	if p == "" {
		return "tensor " + key
	}
	if i := strings.IndexByte(p, '/'); i >= 0 {
		p = p[:i]
	}
	if p == "__metadata__" {
		return "__metadata__"
	}
	return "tensor " + p
}

func where(path string) string {
	if path == "" {
		return "the header's top-level object"
	}
	return "the object at " + path
}

func readMetadata(v *jsonx.Value, off int64, report reporter) map[string]string {
	if v.Kind != jsonx.Object {
		report("safetensors/bad-metadata", formats.High, "__metadata__", off,
			"__metadata__ is a JSON %s; the format requires an object of string to string and the Rust loader refuses anything else", v.Kind)
		return nil
	}
	m := make(map[string]string, len(v.Keys))
	for i, k := range v.Keys {
		if v.Vals[i].Kind != jsonx.String {
			report("safetensors/bad-metadata", formats.High, "__metadata__", 8+int64(v.KOff[i]),
				"__metadata__[%q] is a JSON %s; metadata values must be strings and the Rust loader refuses the file", k, v.Vals[i].Kind)
			continue
		}
		m[k] = v.Vals[i].Str
	}
	return m
}

func readTensor(name string, v *jsonx.Value, off int64, report reporter) (Tensor, bool) {
	t := Tensor{Name: name, Off: off}
	member := "tensor " + name
	// A NUL or other control character in a name is cut or mangled by C
	// string handling, so two different names can collide in one reader.
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			report("safetensors/odd-name", formats.Medium, member, off, "the tensor name contains control character %U; readers that treat names as C strings or print them see a different name", r)
			break
		}
	}
	if v.Kind != jsonx.Object {
		report("safetensors/bad-tensor-entry", formats.High, member, off, "the entry is a JSON %s, not an object with dtype, shape and data_offsets", v.Kind)
		return t, false
	}
	ok := true
	var dtype, shape, offsets *jsonx.Value
	for i, k := range v.Keys {
		switch k {
		case "dtype":
			dtype = v.Vals[i]
		case "shape":
			shape = v.Vals[i]
		case "data_offsets":
			offsets = v.Vals[i]
		default:
			// The Rust loader ignores unknown fields, so they are inert
			// for it; but no writer emits them, and another reader may
			// honour them (an "offset" beside "data_offsets").
			report("safetensors/unknown-field", formats.Medium, member, 8+int64(v.KOff[i]),
				"the entry has an unknown field %q; only dtype, shape and data_offsets are defined", k)
		}
	}
	for _, f := range []struct {
		name string
		v    *jsonx.Value
	}{{"dtype", dtype}, {"shape", shape}, {"data_offsets", offsets}} {
		if f.v == nil {
			report("safetensors/missing-field", formats.High, member, off, "the entry has no %q field; loaders refuse the file", f.name)
			ok = false
		}
	}
	if !ok {
		return t, false
	}
	var width uint64
	if dtype.Kind != jsonx.String {
		report("safetensors/bad-dtype", formats.High, member, 8+int64(dtype.Off), "dtype is a JSON %s, not a string", dtype.Kind)
		ok = false
	} else if width = dtypeBits[dtype.Str]; width == 0 {
		report("safetensors/bad-dtype", formats.High, member, 8+int64(dtype.Off),
			"unknown dtype %q; the loader refuses it, and a custom reader would have to guess its width", truncate(dtype.Str))
		ok = false
	} else {
		t.Dtype = dtype.Str
	}
	if shape.Kind != jsonx.Array {
		report("safetensors/bad-shape", formats.High, member, 8+int64(shape.Off), "shape is a JSON %s, not an array of dimensions", shape.Kind)
		ok = false
	} else {
		for _, d := range shape.Vals {
			n, good := jsonx.Uint(d)
			if !good {
				report("safetensors/bad-integer", formats.High, member, 8+int64(d.Off),
					"shape dimension %s is not a non-negative integer that fits in 64 bits (no signs, fractions or exponents); readers would disagree on its value", describe(d))
				ok = false
				continue
			}
			t.Shape = append(t.Shape, n)
		}
	}
	if offsets.Kind != jsonx.Array || len(offsets.Vals) != 2 {
		report("safetensors/bad-offsets", formats.High, member, 8+int64(offsets.Off), "data_offsets must be an array of exactly two integers [begin, end]")
		ok = false
	} else {
		b, good1 := jsonx.Uint(offsets.Vals[0])
		e, good2 := jsonx.Uint(offsets.Vals[1])
		for i, g := range []bool{good1, good2} {
			if !g {
				report("safetensors/bad-integer", formats.High, member, 8+int64(offsets.Vals[i].Off),
					"data offset %s is not a non-negative integer that fits in 64 bits (no signs, fractions or exponents); readers would disagree on its value", describe(offsets.Vals[i]))
				ok = false
			}
		}
		if good1 && good2 {
			if e < b {
				report("safetensors/bad-offsets", formats.High, member, 8+int64(offsets.Off), "data_offsets end %d is before begin %d", e, b)
				ok = false
			}
			t.Begin, t.End = b, e
		}
	}
	if !ok {
		return t, false
	}
	// Size: product of the dimensions times the element width, with every
	// multiplication checked: a wrapped product would let a tiny byte range
	// pass for a huge tensor (and a reader trusting the shape overrun it).
	elems := uint64(1)
	for _, d := range t.Shape {
		hi, lo := bits.Mul64(elems, d)
		if hi != 0 {
			report("safetensors/size-overflow", formats.High, member, off, "the shape %v overflows a 64-bit element count", t.Shape)
			return t, false
		}
		elems = lo
	}
	hi, nbits := bits.Mul64(elems, width)
	if hi != 0 {
		report("safetensors/size-overflow", formats.High, member, off, "the shape %v with dtype %s overflows a 64-bit bit count", t.Shape, t.Dtype)
		return t, false
	}
	t.Elements = elems
	if nbits%8 != 0 {
		report("safetensors/misaligned-subbyte", formats.High, member, off,
			"%d elements of the %d-bit dtype %s are %d bits, not a whole number of bytes; the loader refuses the tensor", elems, width, t.Dtype, nbits)
		return t, false
	}
	if want := nbits / 8; t.End-t.Begin != want {
		report("safetensors/size-mismatch", formats.High, member, off,
			"shape %v of %s needs %d bytes but data_offsets [%d, %d] span %d; a reader trusting either one reads the wrong bytes", t.Shape, t.Dtype, want, t.Begin, t.End, t.End-t.Begin)
		return t, false
	}
	t.SizeOK = true
	return t, true
}

// checkLayout checks that the tensors tile the data buffer exactly: sorted
// by offset, contiguous from 0, no gaps, no overlaps, ending at the end of
// the file. Gaps and trailing bytes are space no loader looks at (a place
// to hide a payload a second-stage loader reads); overlaps make two tensors
// alias the same bytes.
func checkLayout(h *Header, size int64, report reporter) {
	data := uint64(size) - 8 - h.N
	ts := append([]Tensor(nil), h.Tensors...)
	sort.SliceStable(ts, func(i, j int) bool {
		if ts[i].Begin != ts[j].Begin {
			return ts[i].Begin < ts[j].Begin
		}
		return ts[i].End < ts[j].End
	})
	var pos uint64
	var prev string
	reported := 0
	for _, t := range ts {
		if reported >= 20 {
			report("safetensors/layout-errors", formats.High, "", formats.NoOffset, "more layout errors follow; only the first 20 are shown")
			break
		}
		member := "tensor " + t.Name
		switch {
		case t.Begin > pos:
			report("safetensors/gap", formats.High, member, int64(8+h.N+t.Begin),
				"%d bytes between %s and this tensor belong to no tensor (data bytes %d to %d); loaders refuse the file and the gap can hide content", t.Begin-pos, name(prev), pos, t.Begin)
			reported++
		case t.Begin < pos:
			report("safetensors/overlapping-offsets", formats.High, member, int64(8+h.N+t.Begin),
				"this tensor's bytes [%d, %d) overlap %s, which ends at %d; two tensors alias the same data", t.Begin, t.End, name(prev), pos)
			reported++
		}
		if t.End > pos {
			pos = t.End
			prev = t.Name
		}
	}
	switch {
	case pos < data:
		report("safetensors/trailing-bytes", formats.High, "", int64(8+h.N+pos),
			"%d bytes after the last tensor's data belong to no tensor; the reference loader refuses the file and the bytes can hide a payload", data-pos)
	case pos > data:
		report("safetensors/truncated", formats.High, member(prev), int64(size),
			"the tensors need %d data bytes but the file holds %d after its header; it is truncated", pos, data)
	}
}

func member(n string) string {
	if n == "" {
		return ""
	}
	return "tensor " + n
}

func name(t string) string {
	if t == "" {
		return "the start of the data buffer"
	}
	return fmt.Sprintf("tensor %q", t)
}

func describe(v *jsonx.Value) string {
	if v.Kind == jsonx.Number || v.Kind == jsonx.Bool || v.Kind == jsonx.Null {
		return truncate(v.Str)
	}
	if v.Kind == jsonx.String {
		return fmt.Sprintf("%q", truncate(v.Str))
	}
	return "(a JSON " + v.Kind.String() + ")"
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// isJSONSpace is JSON's whitespace (RFC 8259), what serde_json skips.
func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
