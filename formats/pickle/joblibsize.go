package pickle

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// Array sizes as numpy and joblib compute them, not as the file claims
// (joblib numpy_pickle.py NumpyArrayWrapper.read_array; numpy
// descriptor.c arraydescr_setstate):
//
//   - count: 1 for shape (), else np.multiply.reduce of the dimensions
//     cast to int64, which wraps silently on overflow;
//   - itemsize: for fixed types (bool, ints, floats, complex, datetimes,
//     object) the type's own size, whatever the pickled state says; for
//     flexible ones (S, U, V) the state's elsize;
//   - object: the state's flags & NPY_ITEM_HASOBJECT, flags read as a C
//     int (a bool is 0 or 1, -128..-1 normalized by +128), or for state
//     versions < 3 recomputed from the type;
//   - padding: one length byte and that many bytes when
//     numpy_array_alignment_bytes is present and not None.
//
// When the file's own claim (the spec's kind, the state's elsize) differs
// from what numpy computes, two readers can disagree on where the array
// ends: joblib/size-ambiguous (high). The skip then follows numpy.

// joblibArray skips (or scans) the array data following a wrapper's BUILD.
func (m *machine) joblibArray(inst *value, state *value) error {
	sc := m.sc
	if sc.noHook || m.noHook {
		return nil
	}
	sc.joblib = true
	if legacyWrapperClasses[inst.callee()] {
		return m.sideFile(state, zWrapperClasses[inst.callee()])
	}
	// The wrapper's data starts after the frame the BUILD closes; pure
	// Python's _Unframer (which joblib uses) reads the file handle there.
	if m.r.frameEnd >= 0 && m.r.frameEnd != m.r.pos {
		sc.add("pickle/frame-mismatch", High, m.opStart, "",
			fmt.Sprintf("joblib array data starts at offset %d inside a FRAME that ends at %d: joblib would read frame bytes as array data", m.r.pos, m.r.frameEnd))
	}
	m.r.frameEnd = -1
	dt, ok, sure := wrapperField(state, "dtype")
	if !sure {
		return m.fail("joblib/bad-wrapper", "the joblib array wrapper at offset %d has a state modelvet cannot read in full; where its data ends cannot be known", m.opStart)
	}
	if !ok {
		return m.fail("joblib/bad-wrapper", "the joblib array wrapper at offset %d has no dtype; where its data ends cannot be known", m.opStart)
	}
	d, err := numpyDtype(&dt)
	if err != "" {
		return m.fail("joblib/bad-wrapper", "the joblib array wrapper at offset %d has a dtype (%s) whose size modelvet cannot determine as numpy does (%s); where its data ends cannot be known", m.opStart, describe(&dt), err)
	}
	for _, n := range d.notes {
		// joblib/size-ambiguous: the file claims one size, numpy computes
		// another; a reader trusting the claim skips different bytes.
		sc.add("joblib/size-ambiguous", High, m.opStart, "",
			fmt.Sprintf("the joblib array at offset %d: %s; the bytes joblib skips are taken as numpy computes them", m.opStart, n))
	}
	start := m.r.pos
	if d.object {
		// pickle.load(file_handle): a whole pickle, read by the plain
		// unpickler, so no array hook inside it. The plain view reads the
		// same bytes as opcodes of the outer pickle (its memo, its STOP):
		// the range is where the views part, like skipped data.
		sub := newMachine(sc, m.r)
		sub.quiet = m.quiet
		sub.noHook = true
		err := sub.run()
		m.ops += sub.ops
		if len(sc.skipped) < 1<<16 {
			sc.skipped = append(sc.skipped, [2]int64{start, m.r.pos})
		}
		return err
	}
	shape, ok, sure := wrapperField(state, "shape")
	if !ok || !sure || (shape.k != kTuple && shape.k != kList) || shape.x == nil || int64(len(shape.x.items)) != shape.x.n {
		return m.fail("joblib/bad-wrapper", "the joblib array wrapper at offset %d has no readable shape", m.opStart)
	}
	count, overflow := int64(1), false
	for _, dim := range shape.x.items {
		if dim.k != kInt && dim.k != kBool { // np.int64(x): ints and bools
			return m.fail("joblib/bad-wrapper", "the joblib array wrapper at offset %d has a dimension numpy cannot read as int64 (%s)", m.opStart, describe(&dim))
		}
		hi, lo := bits.Mul64(uint64(abs64(count)), uint64(abs64(dim.i)))
		if hi != 0 || lo > 1<<63-1 {
			overflow = true
		}
		count *= dim.i // int64 wraps, as np.multiply.reduce does
	}
	if overflow {
		sc.add("joblib/size-ambiguous", High, m.opStart, "",
			fmt.Sprintf("the joblib array at offset %d has a shape %s whose element count overflows int64; numpy wraps it to %d, so joblib reads a different amount of data than the shape says", m.opStart, describe(&shape), count))
	}
	if count < 0 {
		return m.fail("joblib/bad-wrapper", "the joblib array at offset %d has %d elements as numpy computes them; joblib.load fails there", m.opStart, count)
	}
	if al, ok, sure := wrapperField(state, "numpy_array_alignment_bytes"); !sure {
		return m.fail("joblib/bad-wrapper", "the joblib array wrapper at offset %d has a state modelvet cannot read in full", m.opStart)
	} else if ok && al.k != kNone {
		pad, err := m.read(1, "joblib padding length")
		if err != nil {
			return err
		}
		if err := m.r.skip(int64(pad[0])); err != nil {
			return m.trunc("joblib array padding")
		}
	}
	hi, n := bits.Mul64(uint64(count), uint64(d.itemsize))
	if hi != 0 || n > uint64(m.r.remaining()) {
		return m.fail("pickle/truncated", "the joblib array at offset %d has %d elements of %d bytes (as numpy computes them) but only %d bytes remain", m.opStart, count, d.itemsize, m.r.remaining())
	}
	_ = m.r.skip(int64(n))
	if len(sc.skipped) < 1<<16 {
		sc.skipped = append(sc.skipped, [2]int64{start, m.r.pos})
	}
	return nil
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// wrapperField returns the attribute key a BUILD state gives an instance:
// a dict updates __dict__ (the last duplicate key wins, as in Python), a
// (dict, slotstate) pair then sets the slot state. sure is false when the
// state was not kept in full, so a later key could override.
func wrapperField(state *value, key string) (value, bool, bool) {
	switch state.k {
	case kNone:
		return value{}, false, true
	case kDict:
		if state.x == nil || int64(len(state.x.items)) != state.x.n {
			return value{}, false, false
		}
		var out value
		found := false
		for i := 0; i+1 < len(state.x.items); i += 2 {
			k, ok := state.x.items[i].str()
			if !ok {
				return value{}, false, false // a key modelvet cannot read might be this one
			}
			if k == key {
				out, found = state.x.items[i+1], true
			}
		}
		return out, found, true
	case kTuple:
		if state.x == nil || len(state.x.items) != 2 || state.x.n != 2 {
			return value{}, false, false
		}
		v1, ok1, s1 := wrapperField(&state.x.items[0], key)
		v2, ok2, s2 := wrapperField(&state.x.items[1], key)
		if !s1 || !s2 {
			return value{}, false, false
		}
		if ok2 {
			return v2, true, true
		}
		return v1, ok1, true
	}
	return value{}, false, false
}

// dtypeInfo is a pickled numpy.dtype as numpy reads it.
type dtypeInfo struct {
	itemsize int64
	object   bool
	notes    []string // where the file's claim differs from numpy's reading
}

// fixedSizes are numpy's fixed-size kinds and the sizes their spec may
// name ("f8"); one-letter codes map to the same (only platform-independent
// ones: 'l' is 4 bytes on Windows, so it is refused).
var fixedSizes = map[byte][]int64{
	'b': {1}, 'i': {1, 2, 4, 8}, 'u': {1, 2, 4, 8}, 'f': {2, 4, 8, 12, 16}, 'c': {8, 16, 24, 32},
	'M': {8}, 'm': {8}, 'O': {8},
}

var charCodes = map[string]int64{
	"?": 1, "b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "q": 8, "Q": 8, "e": 2, "f": 4, "d": 8, "g": 16,
	"F": 8, "D": 16, "G": 32, "O": 8, "M": 8, "m": 8,
}

// numpyDtype reads a pickled numpy.dtype('f8', False, True) + BUILD
// (version, byteorder, subarray, names, fields, elsize, alignment, flags
// [, metadata]) as numpy does. err says why it cannot.
func numpyDtype(dt *value) (dtypeInfo, string) {
	var d dtypeInfo
	if dt.k != kObj || dt.x == nil || len(dt.x.args) == 0 {
		return d, "not a numpy.dtype object"
	}
	c := dt.callee()
	if c != "numpy.dtype" && c != "numpy.core.multiarray.dtype" && !strings.HasPrefix(c, "numpy.dtypes.") {
		return d, "made by " + c + ", not numpy.dtype"
	}
	spec, ok := dt.x.args[0].str()
	if !ok || spec == "" {
		return d, "its type is not a literal string"
	}
	body := strings.TrimLeft(spec, "<>|=")
	if u := strings.IndexByte(body, '['); u > 0 && strings.HasSuffix(body, "]") && (body[0] == 'M' || body[0] == 'm') {
		body = body[:u] // datetime unit: M8[ns]
	}
	if body == "" {
		return d, "empty type"
	}
	kind := body[0]
	flexible := false
	var specSize int64 = -1
	if n, ok := charCodes[body]; ok {
		specSize = n
	} else if sizes, ok := fixedSizes[kind]; ok {
		n, err := strconv.ParseInt(body[1:], 10, 64)
		if err != nil {
			return d, "unknown type " + strconv.Quote(spec)
		}
		for _, s := range sizes {
			if s == n {
				specSize = n
			}
		}
		if specSize < 0 {
			return d, "unknown type " + strconv.Quote(spec)
		}
	} else if kind == 'S' || kind == 'a' || kind == 'U' || kind == 'V' {
		flexible = true
		n, err := strconv.ParseInt(body[1:], 10, 64)
		if body == string(kind) {
			n, err = 0, nil
		}
		if err != nil || n < 0 || n > 1<<30 {
			return d, "unknown type " + strconv.Quote(spec)
		}
		if kind == 'U' {
			n *= 4
		}
		specSize = n
	} else {
		return d, "unknown type " + strconv.Quote(spec)
	}
	d.itemsize = specSize
	d.object = kind == 'O' // numpy's flags for a dtype never BUILT
	st := dt.x.state
	if st == nil {
		return d, ""
	}
	if st.k != kTuple || st.x == nil || int64(len(st.x.items)) != st.x.n || (st.x.n != 8 && st.x.n != 9) {
		return d, "its state is not the 8 or 9 items numpy reads"
	}
	items := st.x.items
	version, ok := pyInt(&items[0])
	if !ok {
		return d, "its state version is not an integer"
	}
	elsize, ok1 := pyInt(&items[5])
	flags, ok2 := pyInt(&items[7])
	if !ok1 || !ok2 {
		return d, "its state elsize or flags are not integers"
	}
	if flexible {
		if elsize != specSize {
			d.notes = append(d.notes, fmt.Sprintf("the dtype %q names %d bytes per item but its state says %d, which numpy uses", spec, specSize, elsize))
		}
		if elsize < 0 {
			return d, "a negative item size"
		}
		d.itemsize = elsize
	} else if elsize != -1 && elsize != specSize {
		d.notes = append(d.notes, fmt.Sprintf("the dtype %q claims %d bytes per item in its state; numpy ignores that for a fixed type and uses %d", spec, elsize, specSize))
	}
	if flags < 0 && flags >= -128 {
		flags += 128 // numpy kept flags in a char
	}
	if flags < 0 || flags > 127 {
		return d, "flags outside a C char (numpy refuses the dtype)"
	}
	hasObject := flags&1 != 0 // NPY_ITEM_HASOBJECT
	if version < 3 {
		if kind == 'V' && items[4].k != kNone {
			return d, "an old-version structured dtype, whose object fields numpy recomputes"
		}
		hasObject = kind == 'O'
	}
	if hasObject != (kind == 'O') && !(kind == 'V' && hasObject) {
		d.notes = append(d.notes, fmt.Sprintf("the dtype %q is %s by its type but its flags (%d) make numpy treat it as %s", spec,
			map[bool]string{true: "an object type", false: "plain data"}[kind == 'O'], flags,
			map[bool]string{true: "holding objects: joblib unpickles the data", false: "plain data"}[hasObject]))
	}
	if kind == 'O' && !hasObject {
		return d, "an object dtype numpy reads as plain data (joblib.load fails on it)"
	}
	d.object = hasObject
	return d, ""
}

// maybeInt reports whether numpy's C int conversion ("i", through
// __index__) may accept v although it is not an int literal: a LONG too
// long to keep, a call's result (builtins.int, a numpy integer scalar), a
// persistent or out-of-band object, or an imported object. Only
// literals of other types are certainly refused.
func maybeInt(v *value) bool {
	switch v.k {
	case kBigInt, kObj, kUnknown, kGlobal:
		return true
	}
	return false
}

// pyInt reads a value as a C int conversion of a Python int or bool does.
func pyInt(v *value) (int64, bool) {
	switch v.k {
	case kInt, kBool:
		return v.i, true
	}
	return 0, false
}
