package gguf

import (
	"encoding/binary"
	"fmt"
	"io"
	"strconv"

	"github.com/modelvet/modelvet/formats"
)

// Legacy ggml files, before GGUF: whisper.cpp models (ggml-*.bin), early
// llama.cpp models (ggml, ggmf, ggjt v1-3) and LoRA adapters (ggla). They
// hold numbers only, no code; the risk is the C loaders, which trust the
// counts and lengths in the file (the same class as GGUF's heap overflows).
// So the file is walked as a loader walks it and every count and length is
// checked against what remains; a file that walks cleanly to its last byte
// is data.
func init() {
	formats.Register(&formats.Analyzer{
		Name:       "ggml",
		Extensions: []string{".bin", ".ggml"},
		Priority:   40,
		Sniff:      sniffGGML,
		Analyze:    analyzeGGML,
	})
}

// ggmlMagics are the little-endian uint32 magics as they appear on disk
// (llama.cpp's llama_file_version history; whisper.cpp's GGML_FILE_MAGIC).
var ggmlMagics = map[string]string{
	"lmgg": "ggml", // 0x67676d6c: unversioned (whisper.cpp, ggml examples, llama.cpp before May 2023)
	"fmgg": "ggmf", // 0x67676d66: versioned llama
	"tjgg": "ggjt", // 0x67676a74: mmap-able llama, versions 1-3
	"algg": "ggla", // 0x67676c61: llama.cpp LoRA adapter
}

func sniffGGML(p *formats.Probe) bool {
	return len(p.Head) >= 8 && ggmlMagics[string(p.Head[:4])] != ""
}

// Bounds for the walk (far above real files).
const (
	ggmlMaxTensors = 1 << 20
	ggmlMaxName    = 4096
	ggmlMaxToken   = 1 << 16
	ggmlMaxVocab   = 1 << 24
)

// errLayout means the bytes do not fit the layout being tried.
type errLayout struct {
	off int64
	msg string
}

func (e *errLayout) Error() string { return fmt.Sprintf("at offset %d: %s", e.off, e.msg) }

type ggmlReader struct {
	r    io.ReaderAt
	size int64
	pos  int64
}

func (g *ggmlReader) bad(format string, args ...any) error {
	return &errLayout{g.pos, fmt.Sprintf(format, args...)}
}

func (g *ggmlReader) u32(what string) (uint32, error) {
	if g.size-g.pos < 4 {
		return 0, g.bad("%s runs past the end of the file", what)
	}
	var b [4]byte
	if _, err := g.r.ReadAt(b[:], g.pos); err != nil {
		return 0, g.bad("cannot read %s: %v", what, err)
	}
	g.pos += 4
	return binary.LittleEndian.Uint32(b[:]), nil
}

func (g *ggmlReader) skip(n int64, what string) error {
	if n < 0 || n > g.size-g.pos {
		return g.bad("%s of %d bytes runs past the end of the file (%d bytes remain)", what, n, g.size-g.pos)
	}
	g.pos += n
	return nil
}

// vocab skips n tokens of (u32 length, bytes[, f32 score]).
func (g *ggmlReader) vocab(n uint32, scores bool) error {
	if n > ggmlMaxVocab {
		return g.bad("the vocabulary claims %d tokens", n)
	}
	for i := uint32(0); i < n; i++ {
		l, err := g.u32("a token length")
		if err != nil {
			return err
		}
		if l > ggmlMaxToken {
			return g.bad("token %d is %d bytes long", i, l)
		}
		if err := g.skip(int64(l), "a token"); err != nil {
			return err
		}
		if scores {
			if err := g.skip(4, "a token score"); err != nil {
				return err
			}
		}
	}
	return nil
}

// legacyTypes are ggml tensor types of files written before GGUF whose
// sizes differ from today's table (ggjt v1/v2 and ggmf used f32 block
// scales; Q4_2/Q4_3 were removed in May 2023).
var legacyTypes = map[uint32]ggmlType{
	2: {"Q4_0", 32, 20}, 3: {"Q4_1", 32, 24}, 4: {"Q4_2", 32, 20}, 5: {"Q4_3", 32, 24},
	8: {"Q8_0", 32, 36}, 9: {"Q8_1", 32, 40},
}

// tensors walks tensor records to the end of the file: i32 n_dims, i32
// name length, i32 type, n_dims i32 sizes, the name, (aligned to 32 bytes
// for ggjt/ggla) the data. It returns the tensor count.
func (g *ggmlReader) tensors(align, legacy bool) (int, error) {
	n := 0
	for g.pos < g.size {
		if n >= ggmlMaxTensors {
			return n, g.bad("more than %d tensors", ggmlMaxTensors)
		}
		nd, err := g.u32("a tensor's dimension count")
		if err != nil {
			return n, err
		}
		nl, err := g.u32("a tensor's name length")
		if err != nil {
			return n, err
		}
		tt, err := g.u32("a tensor's type")
		if err != nil {
			return n, err
		}
		if nd < 1 || nd > maxDims {
			return n, g.bad("tensor %d has %d dimensions (ggml allows 1 to %d)", n, int32(nd), maxDims)
		}
		if nl < 1 || nl > ggmlMaxName {
			return n, g.bad("tensor %d has a name of %d bytes", n, int32(nl))
		}
		elems := uint64(1)
		for range nd {
			d, err := g.u32("a tensor dimension")
			if err != nil {
				return n, err
			}
			if int32(d) <= 0 {
				return n, g.bad("tensor %d has dimension %d", n, int32(d))
			}
			elems *= uint64(d)
			if elems > 1<<50 {
				return n, g.bad("tensor %d has more elements than any file can hold", n)
			}
		}
		if err := g.skip(int64(nl), "a tensor name"); err != nil {
			return n, err
		}
		t, ok := ggmlTypes[tt]
		if lt, isOld := legacyTypes[tt]; legacy && isOld {
			t, ok = lt, true
		}
		if !ok || t.blck == 0 {
			return n, g.bad("tensor %d has type %d, which modelvet cannot size", n, tt)
		}
		if elems%t.blck != 0 {
			return n, g.bad("tensor %d has %d elements, not a multiple of its type's block of %d", n, elems, t.blck)
		}
		if align {
			g.pos = (g.pos + 31) &^ 31
		}
		if err := g.skip(int64(elems/t.blck*t.bytes), "tensor data"); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// ggmlLayout is one way a loader reads the bytes after the magic.
type ggmlLayout struct {
	name string
	read func(g *ggmlReader) (int, error)
}

// hparams skips k u32 hyperparameters and returns the first (n_vocab).
func (g *ggmlReader) hparams(k int) (uint32, error) {
	var first uint32
	for i := range k {
		v, err := g.u32("a hyperparameter")
		if err != nil {
			return 0, err
		}
		if i == 0 {
			first = v
		}
	}
	return first, nil
}

func layoutsFor(kind string, version uint32) []ggmlLayout {
	llama := func(scores, align, legacy bool) func(g *ggmlReader) (int, error) {
		return func(g *ggmlReader) (int, error) {
			nv, err := g.hparams(7) // n_vocab n_embd n_mult n_head n_layer n_rot ftype
			if err != nil {
				return 0, err
			}
			if err := g.vocab(nv, scores); err != nil {
				return 0, err
			}
			return g.tensors(align, legacy)
		}
	}
	switch kind {
	case "ggjt":
		return []ggmlLayout{{"llama ggjt v" + strconv.Itoa(int(version)), llama(true, true, version < 3)}}
	case "ggmf":
		return []ggmlLayout{{"llama ggmf", llama(true, false, true)}}
	case "ggla":
		return []ggmlLayout{{"llama LoRA adapter", func(g *ggmlReader) (int, error) {
			if _, err := g.hparams(2); err != nil { // r, alpha
				return 0, err
			}
			return g.tensors(true, false)
		}}}
	}
	out := []ggmlLayout{
		{"whisper.cpp", func(g *ggmlReader) (int, error) {
			if _, err := g.hparams(11); err != nil {
				return 0, err
			}
			nm, err := g.u32("n_mel")
			if err != nil {
				return 0, err
			}
			nf, err := g.u32("n_fft")
			if err != nil {
				return 0, err
			}
			if nm > 1<<12 || nf > 1<<16 { // whisper: 80 or 128 mels, 201 bins
				return 0, g.bad("%d x %d mel filters", nm, nf)
			}
			if err := g.skip(4*int64(nm)*int64(nf), "the mel filters"); err != nil {
				return 0, err
			}
			nv, err := g.u32("the vocabulary size")
			if err != nil {
				return 0, err
			}
			if err := g.vocab(nv, false); err != nil {
				return 0, err
			}
			return g.tensors(false, false)
		}},
		{"llama ggml", llama(false, false, true)},
	}
	// The ggml examples (gpt-2, gpt-j, gpt-neox, mpt, starcoder...) write a
	// model-specific number of hyperparameters, then the vocabulary with
	// its own count, then the tensors.
	for k := 3; k <= 12; k++ {
		out = append(out, ggmlLayout{fmt.Sprintf("ggml example (%d hyperparameters)", k), func(g *ggmlReader) (int, error) {
			if _, err := g.hparams(k); err != nil {
				return 0, err
			}
			nv, err := g.u32("the vocabulary size")
			if err != nil {
				return 0, err
			}
			if err := g.vocab(nv, false); err != nil {
				return 0, err
			}
			return g.tensors(false, false)
		}})
	}
	return out
}

func analyzeGGML(s *formats.Scope, r io.ReaderAt, size int64) {
	var head [8]byte
	if _, err := r.ReadAt(head[:], 0); err != nil {
		s.Reportf("ggml/truncated", formats.High, 0, "cannot read the header: %v", err)
		return
	}
	kind := ggmlMagics[string(head[:4])]
	s.SetFormat("ggml")
	s.Detail("ggml_magic", kind)
	start, version := int64(4), uint32(0)
	if kind != "ggml" {
		version = binary.LittleEndian.Uint32(head[4:])
		start = 8
		s.Detail("ggml_version", strconv.FormatUint(uint64(version), 10))
		max := map[string]uint32{"ggmf": 1, "ggjt": 3, "ggla": 1}[kind]
		if version < 1 || version > max {
			// ggml/bad-version: a version no loader was written for; each
			// reads the rest by its own idea of the layout.
			s.Reportf("ggml/bad-version", formats.High, 4, "%s version %d is not one llama.cpp ever wrote (1 to %d); loaders would misread the file", kind, version, max)
			return
		}
	}
	var firstErr error
	for _, l := range layoutsFor(kind, version) {
		g := &ggmlReader{r: r, size: size, pos: start}
		n, err := l.read(g)
		if err == nil {
			s.Detail("ggml_layout", l.name)
			s.Detail("tensors", strconv.Itoa(n))
			return
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if kind == "ggml" {
		// ggml/unverified-layout: the unversioned magic is shared by many
		// model-specific layouts; one modelvet does not know is not proof
		// of an attack, but its counts could not be checked either.
		s.Reportf("ggml/unverified-layout", formats.Medium, formats.NoOffset,
			"the file fits none of the ggml layouts modelvet knows (whisper.cpp, llama, the ggml examples); its counts and lengths were not bounds-checked (first layout: %v)", firstErr)
		return
	}
	// ggml/malformed: counts or lengths that overrun the file, the class of
	// the heap overflows in C ggml/GGUF loaders.
	off := int64(formats.NoOffset)
	if e, ok := firstErr.(*errLayout); ok {
		off = e.off
	}
	s.Reportf("ggml/malformed", formats.High, off,
		"the %s file does not walk as a loader walks it (%v); a C loader trusting these counts would read out of bounds", kind, firstErr)
}
