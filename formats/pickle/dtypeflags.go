package pickle

import (
	"fmt"
	"strings"
)

// Forged numpy dtype flags (class: raw bytes read as object pointers,
// with safe-listed names only). numpy.dtype's __setstate__ takes the
// flags from a version-3+ state as they are (numpy descriptor.c
// arraydescr_setstate); it does not recompute them from the type, the
// subarray or the fields. A dtype that holds Python objects but whose
// flags lack NPY_ITEM_HASOBJECT (0x01) or NPY_LIST_PICKLE (0x02) makes
// ndarray.__setstate__ take the array's data as raw bytes instead of a
// list of objects, and every later read of an item dereferences eight
// bytes of the file as a PyObject pointer: numpy.dtype, _reconstruct,
// ndarray and builtins.str alone crash pickle.load (proven live with
// numpy 1.24, testdata/attacks/redteam/numpy_forged_dtype_flags.pkl), and
// a pointer the attacker can aim runs code. numpy's own dtypes always
// carry both bits when they hold objects (NPY_OBJECT_DTYPE_FLAGS, and
// NPY_FROM_FIELDS for structured ones), so demanding them is sound and
// raises nothing on real files. Flags claiming objects on plain data are
// harmless here (numpy then wants a list and never decrefs plain items);
// joblib's sizing of them is joblibsize.go's.

// hasObjectFlags are the flag bits a dtype holding objects must carry.
const hasObjectFlags = 0x01 | 0x02 // NPY_ITEM_HASOBJECT | NPY_LIST_PICKLE

// maxDtypeDepth bounds the walk through nested subarrays and fields;
// deeper nesting is unknown (and so, without the flags, reported).
const maxDtypeDepth = 8

func isDtypeCallee(c string) bool {
	return c == "numpy.dtype" || c == "numpy.core.multiarray.dtype" || c == "numpy._core.multiarray.dtype" ||
		strings.HasPrefix(c, "numpy.dtypes.")
}

// dtypeFlags checks BUILD state on a numpy.dtype (inst already holds it).
func (m *machine) dtypeFlags(inst, state *value) {
	if !isDtypeCallee(inst.callee()) {
		return
	}
	if state.k != kTuple || state.x == nil || (state.x.n != 8 && state.x.n != 9) {
		return // older layouts: numpy recomputes the flags (or refuses)
	}
	if int64(len(state.x.items)) != state.x.n {
		m.dtypeFlagsReport("its state was not kept in full, so its flags cannot be checked against its type")
		return
	}
	items := state.x.items
	// A LONG longer than 8 bytes may still hold a small value (zero
	// padding): its value is unknown here, so assume the worst.
	version, ok := pyInt(&items[0])
	if !ok && items[0].k != kBigInt || ok && version < 3 {
		return // numpy refuses a non-integer version; below 3 it recomputes
	}
	flags, ok := pyInt(&items[7])
	if !ok && items[7].k != kBigInt {
		return // numpy refuses non-integer flags
	}
	if flags&hasObjectFlags == hasObjectFlags {
		return
	}
	holds, known := m.dtypeHoldsObjects(inst, 0)
	switch {
	case !known:
		m.dtypeFlagsReport(fmt.Sprintf("its flags (%d) say it holds no Python objects, and what its type, subarray and fields hold cannot be known from the file", flags))
	case holds:
		m.dtypeFlagsReport(fmt.Sprintf("it holds Python objects but its flags (%d) lack NPY_ITEM_HASOBJECT|NPY_LIST_PICKLE: numpy then reads the array's raw bytes as object pointers (a crash, or code run through a forged object)", flags))
	}
}

func (m *machine) dtypeFlagsReport(why string) {
	// pickle/forged-dtype-flags: a numpy dtype state that makes raw file
	// bytes be used as PyObject pointers (memory corruption from
	// safe-listed names alone).
	m.sc.add("pickle/forged-dtype-flags", High, m.opStart, "numpy.dtype",
		fmt.Sprintf("BUILD at offset %d sets the state of a numpy dtype: %s", m.opStart, why))
}

// dtypeHoldsObjects reports whether a pickled numpy.dtype value holds
// Python objects (its type, subarray base or any field); known is false
// when that cannot be told from the kept values.
func (m *machine) dtypeHoldsObjects(dt *value, depth int) (holds, known bool) {
	if depth > maxDtypeDepth || dt.k != kObj || dt.x == nil || !isDtypeCallee(dt.callee()) || len(dt.x.args) == 0 {
		return false, false
	}
	if h, k := specHoldsObjects(&dt.x.args[0]); h || !k {
		return h, k
	}
	st := dt.x.state
	if st == nil {
		return false, true // numpy.dtype(spec) of a non-object literal spec
	}
	if st.k != kTuple || st.x == nil || int64(len(st.x.items)) != st.x.n || st.x.n < 5 {
		return false, false
	}
	// version, byteorder, subarray, names, fields[, elsize, alignment, flags, metadata]
	items := st.x.items
	if sub := items[2]; sub.k != kNone {
		if sub.k != kTuple || sub.x == nil || len(sub.x.items) < 1 {
			return false, false
		}
		h, k := m.dtypeHoldsObjects(&sub.x.items[0], depth+1)
		if h || !k {
			return h, k
		}
	}
	if f := items[4]; f.k != kNone {
		if f.k != kDict || f.x == nil {
			return false, false
		}
		for i := 1; i < len(f.x.items); i += 2 {
			t := f.x.items[i] // (dtype, offset[, title])
			if t.k != kTuple || t.x == nil || len(t.x.items) < 1 {
				return false, false
			}
			h, k := m.dtypeHoldsObjects(&t.x.items[0], depth+1)
			if h || !k {
				return h, k
			}
		}
		if int64(len(f.x.items)) != f.x.n {
			// Fields past the keep budget (real record dtypes with
			// hundreds of fields): none of them can hold objects unless
			// some dtype that may was made earlier in this pickle.
			return false, !m.objDtype
		}
	}
	return false, true
}

// noteDtype records a call that makes a numpy dtype which may hold
// Python objects: its type is not a literal non-object spec (numpy.dtype
// of builtins.object, of a non-literal, copyreg's __newobj__ of the class).
func (m *machine) noteDtype(callee string, a argList) {
	if m.objDtype || !isDtypeCallee(callee) {
		return
	}
	if v, have, _ := a.arg(0); have {
		if h, k := specHoldsObjects(&v); !h && k {
			return
		}
	}
	m.objDtype = true
}

// specHoldsObjects judges numpy.dtype's first argument: a literal type
// string ("O8", "<f4", "V16"), or a scalar type numpy's own __reduce__
// writes (numpy.record for record arrays, numpy.void); fields and
// subarrays come from the state. Anything else may be an object type.
func specHoldsObjects(spec *value) (holds, known bool) {
	if s, ok := spec.str(); ok {
		body := strings.TrimLeft(s, "<>|=")
		return strings.HasPrefix(body, "O") || body == "object", true
	}
	if spec.k == kGlobal && spec.x != nil {
		switch name := spec.global(); {
		case strings.HasSuffix(name, ".object") || strings.HasSuffix(name, ".object_") || strings.Contains(name, "ObjectDType"):
			return true, true
		case spec.x.verdict == Safe:
			// A safe-listed non-object type (numpy.record, the
			// numpy.core.records names): its instances are plain data.
			return false, true
		}
	}
	return false, false
}
