package pickle

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// joblib's NumpyPickler (joblib >= 0.10) pickles a NumpyArrayWrapper in
// place of each array and writes the array's bytes right after the
// wrapper's BUILD, inline in the stream; its NumpyUnpickler reads them
// after that BUILD (numpy_pickle.py read_array). Those bytes are data, not
// opcodes, so the machine skips them exactly as joblib reads them:
//
//	[1 padding-length byte, then that many pad bytes, when the wrapper
//	 has numpy_array_alignment_bytes (joblib >= 1.2)]
//	prod(shape) * dtype.itemsize bytes
//
// For an object dtype the "array" is itself a complete pickle
// (pickle.load of the file handle), which is scanned like any other.
//
// Skipping is what joblib does, but pickle.load on the same file would
// execute those bytes as opcodes: after the scan, the stream is read a
// second time without the skip, and any import found inside skipped
// bytes is reported (pickle/joblib-ambiguous).

var wrapperClasses = map[string]bool{
	"joblib.numpy_pickle.NumpyArrayWrapper":                   true,
	"sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper": true,
}

var legacyWrapperClasses = map[string]bool{
	"joblib.numpy_pickle.NDArrayWrapper":                   true,
	"sklearn.externals.joblib.numpy_pickle.NDArrayWrapper": true,
}

// hookable reports whether BUILD on an instance of cls is joblib's array
// hook.
func hookable(cls string) bool {
	return wrapperClasses[cls] || legacyWrapperClasses[cls]
}

// joblibArray skips (or scans) the array data following a wrapper's BUILD.
func (m *machine) joblibArray(inst *value, state *value) error {
	sc := m.sc
	if sc.noHook || m.noHook {
		return nil
	}
	sc.joblib = true
	if legacyWrapperClasses[inst.callee()] {
		// joblib < 0.10 kept arrays in side files named in the state.
		if fn, ok := state.dictGet("filename"); ok {
			name, _ := fn.str()
			sev, rule := Medium, "joblib/side-file"
			msg := fmt.Sprintf("the array at offset %d is loaded from the side file %q (old joblib format); numpy.load of that file must be scanned too", m.opStart, name)
			if strings.ContainsAny(name, "/\\:") || strings.Contains(name, "..") {
				sev, rule = High, "joblib/side-file-escape"
				msg = fmt.Sprintf("the array at offset %d is loaded from %q, a path outside the model's folder", m.opStart, name)
			}
			sc.add(rule, sev, m.opStart, "", msg)
		}
		return nil
	}
	// The wrapper's data starts after the frame the BUILD closes; pure
	// Python's _Unframer (which joblib uses) reads the file handle there.
	if m.r.frameEnd >= 0 && m.r.frameEnd != m.r.pos {
		sc.add("pickle/frame-mismatch", High, m.opStart, "",
			fmt.Sprintf("joblib array data starts at offset %d inside a FRAME that ends at %d: joblib would read frame bytes as array data", m.r.pos, m.r.frameEnd))
	}
	m.r.frameEnd = -1
	dt, ok := state.dictGet("dtype")
	if !ok {
		return m.fail("joblib/bad-wrapper", "the joblib array wrapper at offset %d has no dtype; where its data ends cannot be known", m.opStart)
	}
	itemsize, object, ok := dtypeSize(&dt)
	if !ok {
		return m.fail("joblib/bad-wrapper", "the joblib array wrapper at offset %d has a dtype (%s) whose size modelvet cannot determine; where its data ends cannot be known", m.opStart, describe(&dt))
	}
	start := m.r.pos
	if object {
		// pickle.load(file_handle): a whole pickle, scanned in place.
		// pickle.load(file_handle): a whole pickle, read by the plain
		// unpickler, so no array hook inside it.
		sub := newMachine(sc, m.r)
		sub.quiet = m.quiet
		sub.noHook = true
		err := sub.run()
		m.ops += sub.ops
		return err
	}
	count := int64(1)
	shape, ok := state.dictGet("shape")
	if !ok || (shape.k != kTuple && shape.k != kList) || shape.x == nil || int64(len(shape.x.items)) != shape.x.n {
		return m.fail("joblib/bad-wrapper", "the joblib array wrapper at offset %d has no readable shape", m.opStart)
	}
	for _, d := range shape.x.items {
		if d.k != kInt || d.i < 0 {
			return m.fail("joblib/bad-wrapper", "the joblib array wrapper at offset %d has a bad dimension (%s)", m.opStart, describe(&d))
		}
		hi, lo := bits.Mul64(uint64(count), uint64(d.i))
		if hi != 0 || lo > 1<<62 {
			return m.fail("joblib/bad-wrapper", "the joblib array at offset %d declares more elements than any file holds", m.opStart)
		}
		count = int64(lo)
	}
	if _, aligned := state.dictGet("numpy_array_alignment_bytes"); aligned {
		pad, err := m.read(1, "joblib padding length")
		if err != nil {
			return err
		}
		if err := m.r.skip(int64(pad[0])); err != nil {
			return m.trunc("joblib array padding")
		}
	}
	hi, n := bits.Mul64(uint64(count), uint64(itemsize))
	if hi != 0 || n > uint64(m.r.remaining()) {
		return m.fail("pickle/truncated", "the joblib array at offset %d declares %d elements of %d bytes but only %d bytes remain", m.opStart, count, itemsize, m.r.remaining())
	}
	_ = m.r.skip(int64(n))
	if len(sc.skipped) < 1<<16 {
		sc.skipped = append(sc.skipped, [2]int64{start, m.r.pos})
	}
	return nil
}

// dtypeSize returns the item size of a pickled numpy.dtype and whether it
// holds Python objects. A dtype pickles as numpy.dtype('f8', False, True)
// then BUILD (version, byteorder, subdescr, names, fields, elsize,
// alignment, flags[, metadata]).
func dtypeSize(dt *value) (int64, bool, bool) {
	if dt.k != kObj || dt.x == nil || len(dt.x.args) == 0 {
		return 0, false, false
	}
	c := dt.callee()
	if c != "numpy.dtype" && c != "numpy.core.multiarray.dtype" && !strings.HasPrefix(c, "numpy.dtypes.") {
		return 0, false, false
	}
	spec, ok := dt.x.args[0].str()
	if !ok || spec == "" {
		return 0, false, false
	}
	object := spec[0] == 'O'
	elsize := int64(-1)
	if st := dt.x.state; st != nil && st.k == kTuple && st.x != nil && len(st.x.items) >= 8 {
		if e := st.x.items[5]; e.k == kInt {
			elsize = e.i
		}
		if f := st.x.items[7]; f.k == kInt && f.i&1 != 0 {
			object = true // NPY_ITEM_HASOBJECT: a structured dtype with object fields
		}
	}
	if object {
		return 8, true, true
	}
	if elsize > 0 {
		return elsize, false, true
	}
	digits := strings.TrimLeft(spec[1:], "<>|=")
	switch spec[0] {
	case 'M', 'm':
		return 8, false, true
	case 'U':
		if n, err := strconv.ParseInt(digits, 10, 64); err == nil && n >= 0 {
			return n, false, true // numpy reduces 'U5' as 'U20': bytes
		}
	case 'b', 'i', 'u', 'f', 'c', 'S', 'V':
		if n, err := strconv.ParseInt(digits, 10, 64); err == nil && n >= 0 && n <= 1<<20 {
			return n, false, true
		}
	}
	return 0, false, false
}

// shadow re-reads the stream without the joblib hook, as pickle.load
// would, and reports imports found inside bytes the hook skipped.
func (sc *scanner) shadow(start int64) {
	sh := newScanner(nil, sc.ra, sc.size, sc.depth, &shared{nested: maxNestedScans})
	sh.opts = sc.opts
	sh.noHook = true
	sh.stream(start, false)
	for _, p := range sh.order {
		switch p.f.Rule {
		case "pickle/dangerous-import", "pickle/unknown-import", "pickle/nonliteral-global", "pickle/build-on-global", "pickle/ext-code":
		default:
			continue
		}
		for _, rg := range sc.skipped {
			if p.f.Offset >= rg[0] && p.f.Offset < rg[1] {
				sev := High
				if p.f.Rule == "pickle/dangerous-import" {
					sev = Critical
				}
				sc.add("pickle/joblib-ambiguous", sev, p.f.Offset, p.f.Import,
					fmt.Sprintf("bytes joblib reads as array data (offsets %d-%d) are pickle opcodes to pickle.load: %s", rg[0], rg[1], p.f.Message))
				break
			}
		}
	}
}
