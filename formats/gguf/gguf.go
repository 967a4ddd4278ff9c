// Package gguf reads GGUF files (llama.cpp's model format, versions 1 to
// 3, either byte order): the header, every metadata key/value, every
// tensor descriptor and the layout of the data section. Tensor data is not
// read. GGUF parsers in C and C++ have had heap overflows from trusting
// counts and lengths (CVE-2024-25664 and siblings), so every count and
// length here is checked against the bytes that remain before anything is
// allocated, and a file that would make a loader misbehave is reported.
// Chat templates stored in the metadata go to formats/template.
package gguf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/modelcard"
	"github.com/modelvet/modelvet/formats/template"
)

func init() {
	formats.Register(&formats.Analyzer{
		Name:       "gguf",
		Extensions: []string{".gguf"},
		Priority:   40,
		Sniff:      func(p *formats.Probe) bool { return bytes.HasPrefix(p.Head, []byte("GGUF")) },
		Analyze:    analyze,
	})
}

// Limits. Real files: a few hundred KV pairs, up to tens of thousands of
// tensors, vocabularies of ~250k strings, templates of tens of KB.
const (
	maxKV        = 1 << 20
	maxTensors   = 1 << 20
	maxKeyLen    = 1 << 16
	maxStringLen = 64 << 20
	// maxTemplateBytes bounds the template text held for checking; real
	// files carry one to a few templates of tens of KB.
	maxTemplateBytes = 16 << 20
	maxArrayDepth    = 3 // llama.cpp reads no nested arrays; gguf-py reads them
	maxDims          = 4 // GGML_MAX_DIMS
	maxReport        = 20
)

type reader struct {
	r    io.ReaderAt
	size int64
	pos  int64
	bo   binary.ByteOrder
	v1   bool // version 1: u32 counts and lengths
	win  []byte
	wOff int64
	s    *formats.Scope
	dead bool
}

// fail reports the first structural error; parsing stops after it.
func (d *reader) fail(rule string, sev formats.Severity, off int64, format string, args ...any) {
	if d.dead {
		return
	}
	d.dead = true
	d.s.Reportf(rule, sev, off, format, args...)
}

func (d *reader) left() int64 { return d.size - d.pos }

// read returns n bytes at the current position, valid until the next call.
func (d *reader) read(n int64, what string) []byte {
	if d.dead {
		return nil
	}
	if n < 0 || n > d.left() {
		d.fail("gguf/truncated", formats.High, d.pos, "%s needs %d bytes but only %d remain in the file; it is truncated or the length is forged", what, n, d.left())
		return nil
	}
	if n > 1<<16 {
		b := make([]byte, n)
		if _, err := d.r.ReadAt(b, d.pos); err != nil && err != io.EOF {
			d.fail("formats/read-error", formats.High, d.pos, "read failed: %v", err)
			return nil
		}
		d.pos += n
		return b
	}
	if d.pos < d.wOff || d.pos+n > d.wOff+int64(len(d.win)) {
		w := min(int64(1<<16), d.left())
		if cap(d.win) < int(w) {
			d.win = make([]byte, w)
		}
		d.win = d.win[:w]
		if _, err := d.r.ReadAt(d.win, d.pos); err != nil && err != io.EOF {
			d.fail("formats/read-error", formats.High, d.pos, "read failed: %v", err)
			return nil
		}
		d.wOff = d.pos
	}
	b := d.win[d.pos-d.wOff : d.pos-d.wOff+n]
	d.pos += n
	return b
}

func (d *reader) skip(n int64, what string) {
	if d.dead {
		return
	}
	if n < 0 || n > d.left() {
		d.fail("gguf/truncated", formats.High, d.pos, "%s needs %d bytes but only %d remain in the file", what, n, d.left())
		return
	}
	d.pos += n
}

func (d *reader) u32(what string) uint32 {
	b := d.read(4, what)
	if b == nil {
		return 0
	}
	return d.bo.Uint32(b)
}

func (d *reader) u64(what string) uint64 {
	b := d.read(8, what)
	if b == nil {
		return 0
	}
	return d.bo.Uint64(b)
}

// count reads a v1 u32 or v2+ u64 count/length.
func (d *reader) count(what string) uint64 {
	if d.v1 {
		return uint64(d.u32(what))
	}
	return d.u64(what)
}

func (d *reader) lenSize() int64 {
	if d.v1 {
		return 4
	}
	return 8
}

// str reads a string of at most max bytes; keep=false skips its bytes.
func (d *reader) str(what string, max uint64, keep bool) (string, int64) {
	off := d.pos
	n := d.count(what + " length")
	if d.dead {
		return "", off
	}
	if n > uint64(d.left()) {
		d.fail("gguf/truncated", formats.High, off, "%s claims %d bytes but only %d remain in the file", what, n, d.left())
		return "", off
	}
	if n > max {
		d.fail("gguf/string-too-long", formats.High, off, "%s is %d bytes, over the %d-byte limit; no real file has one this long", what, n, max)
		return "", off
	}
	if !keep {
		d.skip(int64(n), what)
		return "", off
	}
	b := d.read(int64(n), what)
	return string(b), off
}

type tensorInfo struct {
	name   string
	off    int64 // descriptor offset in the file
	typ    uint32
	dims   []uint64
	offset uint64 // relative to the data section
	nbytes uint64
	sized  bool
}

type parser struct {
	d          *reader
	version    uint32
	keys       map[string]bool
	templates  map[string]string
	cutKeys    map[string]bool // keys with a NUL, cut at the NUL
	tmplBytes  int64           // template text kept so far
	tmplOff    map[string]int64
	alignment  uint64
	alignSet   bool
	arch, name string
	reported   int
}

func analyze(s *formats.Scope, r io.ReaderAt, size int64) {
	d := &reader{r: r, size: size, s: s, bo: binary.LittleEndian}
	p := &parser{d: d, keys: map[string]bool{}, cutKeys: map[string]bool{}, templates: map[string]string{}, tmplOff: map[string]int64{}, alignment: 32}
	p.run()
}

func (p *parser) run() {
	d, s := p.d, p.d.s
	if d.size < 8 {
		s.Reportf("gguf/truncated", formats.High, 0, "the file is %d bytes, too short for a GGUF header", d.size)
		return
	}
	d.read(4, "magic")
	vb := d.read(4, "version")
	if vb == nil {
		return
	}
	v := binary.LittleEndian.Uint32(vb)
	if v == 0 || v > 3 {
		if sw := binary.BigEndian.Uint32(vb); sw >= 1 && sw <= 3 {
			// gguf-py writes big-endian files for s390x; llama.cpp on a
			// little-endian host refuses them. Parse in that order.
			d.bo = binary.BigEndian
			v = sw
			s.Detail("byte_order", "big-endian")
			s.Reportf("gguf/big-endian", formats.Low, 4, "the file is big-endian GGUF (version %d); little-endian loaders refuse it. It was analyzed in big-endian order", v)
		} else {
			s.Reportf("gguf/unsupported-version", formats.High, 4, "GGUF version %d is unknown (1 to 3 exist); the file cannot be analyzed and loaders refuse it", v)
			return
		}
	}
	p.version = v
	d.v1 = v == 1
	s.Detail("version", strconv.Itoa(int(v)))
	nt := d.count("tensor count")
	nkv := d.count("metadata count")
	if d.dead {
		return
	}
	// Minimal encodings: a KV pair is a key length, a type and a 1-byte
	// value; a tensor descriptor is a name length, n_dims, a type and an
	// offset. A count that cannot fit in what remains is forged, and is
	// reported before anything is sized by it.
	minKV := uint64(d.lenSize()) + 4 + 1
	minT := uint64(d.lenSize()) + 4 + 4 + 8
	hi1, need1 := bits.Mul64(nkv, minKV)
	hi2, need2 := bits.Mul64(nt, minT)
	need, carry := bits.Add64(need1, need2, 0)
	if hi1 != 0 || hi2 != 0 || carry != 0 || need > uint64(d.left()) {
		s.Reportf("gguf/bad-count", formats.High, 8, "the header declares %d tensors and %d metadata entries, which need at least %s bytes, but %d remain; the counts are forged (a reader trusting them over-allocates or overflows)", nt, nkv, bigNeed(hi1|hi2|carry, need), d.left())
		return
	}
	if nkv > maxKV || nt > maxTensors {
		s.Reportf("gguf/too-many", formats.High, 8, "the header declares %d tensors and %d metadata entries, over the limits of %d and %d", nt, nkv, maxTensors, maxKV)
		return
	}
	s.Detail("metadata_entries", strconv.FormatUint(nkv, 10))
	s.Detail("tensors", strconv.FormatUint(nt, 10))
	for i := uint64(0); i < nkv && !d.dead; i++ {
		p.kv()
	}
	if d.dead {
		p.templatesCheck()
		return
	}
	tensors := make([]tensorInfo, 0, nt)
	names := map[string]bool{}
	for i := uint64(0); i < nt && !d.dead; i++ {
		t, ok := p.tensor()
		if !ok {
			break
		}
		if names[t.name] {
			p.report("gguf/duplicate-tensor", formats.High, t.off, "tensor %q is described twice; loaders keep one or the other, so what runs depends on the loader", t.name)
		}
		names[t.name] = true
		tensors = append(tensors, t)
	}
	p.templatesCheck()
	if d.dead {
		return
	}
	p.layout(tensors)
	if p.arch != "" {
		s.Detail("architecture", p.arch)
	}
	if p.name != "" {
		s.Detail("name", p.name)
	}
	var params uint64
	for _, t := range tensors {
		e := uint64(1)
		for _, x := range t.dims {
			e *= x
		}
		params += e
	}
	s.Detail("parameters", strconv.FormatUint(params, 10))
}

func bigNeed(overflow uint64, need uint64) string {
	if overflow != 0 {
		return "more than 2^64"
	}
	return strconv.FormatUint(need, 10)
}

// report records a non-fatal finding, at most maxReport of them.
func (p *parser) report(rule string, sev formats.Severity, off int64, format string, args ...any) {
	p.reported++
	if p.reported > maxReport {
		if p.reported == maxReport+1 {
			p.d.s.Reportf("gguf/more-findings", sev, formats.NoOffset, "more problems follow; only the first %d are listed", maxReport)
		}
		return
	}
	p.d.s.Reportf(rule, sev, off, format, args...)
}

func (p *parser) kv() {
	d := p.d
	key, koff := d.str("metadata key", maxKeyLen, true)
	if d.dead {
		return
	}
	if p.keys[key] {
		p.report("gguf/duplicate-key", formats.High, koff, "the metadata key %q appears twice; llama.cpp refuses the file while other readers keep one of the values, so they disagree on what it says", key)
	}
	p.keys[key] = true
	// llama.cpp looks keys up with strcmp on the C string, so a key with a
	// NUL inside ("tokenizer.chat_template\x00x") answers to the name before
	// the NUL there, while length-aware readers see another key: the two
	// disagree on which value is, say, the chat template.
	if i := strings.IndexByte(key, 0); i >= 0 {
		cut := key[:i]
		p.report("gguf/nul-in-key", formats.High, koff, "the metadata key %q contains a NUL byte; C readers see it as %q and length-aware readers as a different key, so they disagree on what the file says", key, cut)
		if p.keys[cut] || p.cutKeys[cut] {
			p.report("gguf/duplicate-key", formats.High, koff, "the metadata key %q is, up to its NUL byte, the key %q that appears elsewhere; llama.cpp's lookup finds whichever comes first", key, cut)
		}
		p.cutKeys[cut] = true
	} else if p.cutKeys[key] {
		p.report("gguf/duplicate-key", formats.High, koff, "the metadata key %q also appears earlier followed by a NUL byte; llama.cpp's lookup finds whichever comes first", key)
	}
	typ := d.u32("value type of " + key)
	if d.dead {
		return
	}
	// llama.cpp and llama-cpp-python read tokenizer.chat_template and
	// tokenizer.chat_template.<name>; other runtimes and converters use
	// their own keys (chat_template, tokenizer.ggml.chat_template,
	// general.prompt_template). Any string under a key naming a template is
	// checked, so an attack cannot hide under a key we did not list.
	isTemplate := template.IsTemplateKey(key)
	if key == "general.alignment" && (typ == tString || typ == tArray) {
		// llama.cpp asserts a uint32 here and aborts; a reader that
		// ignores the bad value falls back to 32: they place the data
		// section differently.
		p.report("gguf/bad-alignment", formats.High, koff, "general.alignment is a %s, not a uint32; llama.cpp aborts and other readers fall back to the default, so they disagree on where the tensors are", typeNames[typ])
	}
	switch {
	case typ == tString:
		// Template text is kept for checking up to a total budget, so a
		// file of many large "...template..." strings cannot make the scan
		// hold the whole file in memory; past it the template is reported
		// as unchecked.
		keepTmpl := isTemplate && p.tmplBytes < maxTemplateBytes
		if isTemplate && !keepTmpl {
			p.report(template.RuleTooLarge, formats.High, koff, "%s was not checked: the file's templates exceed %d bytes in total", key, maxTemplateBytes)
		}
		val, voff := d.str("value of "+key, maxStringLen, keepTmpl || key == "general.architecture" || key == "general.name" || ggufLicense[key] != "")
		if d.dead {
			return
		}
		switch {
		case keepTmpl:
			p.tmplBytes += int64(len(val))
			p.templates[key] = val
			p.tmplOff[key] = voff + d.lenSize()
		case key == "general.architecture":
			p.arch = trunc(val)
		case key == "general.name":
			p.name = trunc(val)
		case ggufLicense[key] != "":
			// The GGUF spec's licence keys, for the ML-BOM.
			if c := modelcard.Clean(val); c != "" {
				p.d.s.Detail(ggufLicense[key], c)
			}
		}
	case typ == tArray:
		if isTemplate {
			p.report("gguf/bad-template-type", formats.Medium, koff, "%s is an array, not a string; loaders will not use it as a chat template", key)
		}
		p.array(key, 1)
	case typ < uint32(len(typeNames)):
		off := d.pos
		b := d.read(fixedSize(typ), "value of "+key)
		if b == nil {
			return
		}
		if key == "general.alignment" {
			if typ != tU32 {
				p.report("gguf/bad-alignment", formats.High, off, "general.alignment is a %s; llama.cpp requires uint32", typeNames[typ])
				return
			}
			a := uint64(d.bo.Uint32(b))
			if a == 0 || a&(a-1) != 0 {
				d.fail("gguf/bad-alignment", formats.High, off, "general.alignment is %d, not a power of two; the data section's position is undefined", a)
				return
			}
			p.alignment, p.alignSet = a, true
		}
		if typ == tBool && b[0] > 1 {
			p.report("gguf/bad-bool", formats.Medium, off, "%s is a bool with byte value %d (only 0 and 1 are defined)", key, b[0])
		}
	default:
		d.fail("gguf/bad-value-type", formats.High, d.pos-4, "metadata %q has value type %d, which does not exist; the rest of the file cannot be located", key, typ)
	}
}

func (p *parser) array(key string, depth int) {
	d := p.d
	off := d.pos
	et := d.u32("array element type of " + key)
	n := d.count("array length of " + key)
	if d.dead {
		return
	}
	if depth > maxArrayDepth {
		d.fail("gguf/nesting-too-deep", formats.High, off, "%s nests arrays %d deep, past the limit of %d; llama.cpp reads no nested arrays at all", key, depth, maxArrayDepth)
		return
	}
	switch {
	case fixedSize(et) > 0:
		hi, total := bits.Mul64(n, uint64(fixedSize(et)))
		if hi != 0 || total > uint64(d.left()) {
			d.fail("gguf/truncated", formats.High, off, "%s claims %d %s elements, more than the %d bytes left can hold; the length is forged", key, n, typeNames[et], d.left())
			return
		}
		d.skip(int64(total), key)
	case et == tString:
		if n > uint64(d.left())/uint64(d.lenSize()) {
			d.fail("gguf/truncated", formats.High, off, "%s claims %d strings, more than the %d bytes left can hold; the length is forged", key, n, d.left())
			return
		}
		for i := uint64(0); i < n && !d.dead; i++ {
			d.str(key+" element", maxStringLen, false)
		}
	case et == tArray:
		if depth == 1 {
			// gguf-py reads arrays of arrays; llama.cpp refuses the file.
			// The two tools disagree on whether it is a model at all.
			p.report("gguf/nested-array", formats.Medium, off, "%s is an array of arrays; llama.cpp refuses such files while gguf-py reads them", key)
		}
		if depth+1 > maxArrayDepth {
			d.fail("gguf/nesting-too-deep", formats.High, off, "%s nests arrays %d deep, past the limit of %d; llama.cpp reads no nested arrays at all", key, depth+1, maxArrayDepth)
			return
		}
		if n > uint64(d.left())/(4+uint64(d.lenSize())) {
			d.fail("gguf/truncated", formats.High, off, "%s claims %d nested arrays, more than the bytes left can hold", key, n)
			return
		}
		for i := uint64(0); i < n && !d.dead; i++ {
			p.array(key, depth+1)
		}
	default:
		d.fail("gguf/bad-value-type", formats.High, off, "array %q has element type %d, which does not exist", key, et)
	}
}

func (p *parser) tensor() (tensorInfo, bool) {
	d := p.d
	name, off := d.str("tensor name", maxKeyLen, true)
	t := tensorInfo{name: name, off: off}
	// GGML_MAX_NAME: llama.cpp refuses names of 64 bytes or more, other
	// readers accept them, so the file loads in one and not the other.
	if len(name) >= 64 {
		p.report("gguf/long-tensor-name", formats.Medium, off, "tensor name %q is %d bytes; llama.cpp refuses names of 64 bytes or more", trunc(name), len(name))
	}
	nd := d.u32("n_dims of " + name)
	if d.dead {
		return t, false
	}
	if nd > maxDims {
		d.fail("gguf/too-many-dims", formats.High, off, "tensor %q has %d dimensions; ggml supports at most %d, and readers sizing an array by it overflow", name, nd, maxDims)
		return t, false
	}
	t.dims = make([]uint64, nd)
	for i := range t.dims {
		t.dims[i] = d.count("dimension of " + name)
	}
	t.typ = d.u32("type of " + name)
	t.offset = d.u64("offset of " + name)
	if d.dead {
		return t, false
	}
	tt, known := ggmlTypes[t.typ]
	if !known {
		p.report("gguf/bad-tensor-type", formats.High, off, "tensor %q has ggml type %d, which is unknown or removed; loaders refuse it and its size cannot be checked", name, t.typ)
		return t, true
	}
	elems := uint64(1)
	for _, x := range t.dims {
		hi, lo := bits.Mul64(elems, x)
		if hi != 0 || lo > math.MaxInt64 {
			p.report("gguf/size-overflow", formats.High, off, "tensor %q has dimensions %v whose element count overflows", name, t.dims)
			return t, true
		}
		elems = lo
	}
	if tt.blck == 0 {
		p.report("gguf/size-unverified", formats.Low, off, "tensor %q uses type %s, whose block size modelvet does not know; its size was not verified", name, tt.name)
		return t, true
	}
	if len(t.dims) > 0 && t.dims[0]%tt.blck != 0 {
		p.report("gguf/bad-shape", formats.High, off, "tensor %q: first dimension %d is not a multiple of the %s block size %d", name, t.dims[0], tt.name, tt.blck)
		return t, true
	}
	hi, nb := bits.Mul64(elems/tt.blck, tt.bytes)
	if hi != 0 {
		p.report("gguf/size-overflow", formats.High, off, "tensor %q's byte size overflows", name)
		return t, true
	}
	t.nbytes, t.sized = nb, true
	return t, true
}

// layout checks every tensor's bytes lie in the data section, aligned, and
// that no two tensors share bytes.
func (p *parser) layout(ts []tensorInfo) {
	d, s := p.d, p.d.s
	a := p.alignment
	start := (uint64(d.pos) + a - 1) / a * a
	if start > uint64(d.size) {
		if len(ts) > 0 {
			s.Reportf("gguf/truncated", formats.High, d.pos, "the file ends before its data section (which starts at %d)", start)
		}
		return
	}
	dataLen := uint64(d.size) - start
	s.Detail("data_offset", strconv.FormatUint(start, 10))
	sized := make([]tensorInfo, 0, len(ts))
	for _, t := range ts {
		if t.offset%a != 0 {
			p.report("gguf/misaligned-tensor", formats.High, t.off, "tensor %q starts at data offset %d, not a multiple of the alignment %d; llama.cpp refuses the file", t.name, t.offset, a)
		}
		if !t.sized {
			continue
		}
		if t.offset > dataLen || t.nbytes > dataLen-t.offset {
			p.report("gguf/tensor-out-of-bounds", formats.High, t.off, "tensor %q occupies data bytes [%d, %d) but the data section holds %d bytes; a loader would read past the end of the file", t.name, t.offset, t.offset+t.nbytes, dataLen)
			continue
		}
		sized = append(sized, t)
	}
	sort.Slice(sized, func(i, j int) bool { return sized[i].offset < sized[j].offset })
	var end uint64
	var prev string
	for _, t := range sized {
		if t.offset < end {
			p.report("gguf/overlapping-tensors", formats.High, t.off, "tensor %q [%d, %d) overlaps tensor %q, which ends at %d; two tensors alias the same bytes", t.name, t.offset, t.offset+t.nbytes, prev, end)
		} else if gap := t.offset - end; gap >= a && end > 0 {
			p.report("gguf/gap", formats.Medium, int64(start+end), "%d bytes between tensor %q and tensor %q belong to no tensor (more than alignment padding)", gap, prev, t.name)
		}
		if e := t.offset + t.nbytes; e > end {
			end, prev = e, t.name
		}
	}
	if len(sized) > 0 && dataLen > end && dataLen-end >= a {
		p.report("gguf/trailing-bytes", formats.Medium, int64(start+end), "%d bytes after the last tensor belong to no tensor; loaders ignore them, and they can hide content", dataLen-end)
	}
}

func (p *parser) templatesCheck() {
	keys := make([]string, 0, len(p.templates))
	for k := range p.templates {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, f := range template.Check(p.templates[k]) {
			f.Member = k
			f.Message = fmt.Sprintf("%s (template starts at file offset %d)", f.Message, p.tmplOff[k])
			p.d.s.Report(f)
		}
	}
	if len(keys) > 0 {
		p.d.s.Detail("chat_templates", strings.Join(keys, ","))
	}
}

// ggufLicense maps the GGUF spec's licence metadata (ggml docs/gguf.md,
// "General metadata") to the detail keys a model card's licence uses.
var ggufLicense = map[string]string{
	"general.license":      "license",
	"general.license.name": "license_name",
	"general.license.link": "license_link",
}

func trunc(s string) string {
	if len(s) > 128 {
		return s[:128] + "..."
	}
	return s
}
