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

// fromFieldsFlags are the flag bits every dtype holding objects carries
// in numpy (NPY_FROM_FIELDS: NPY_ITEM_HASOBJECT 0x01, NPY_LIST_PICKLE
// 0x02, NPY_NEEDS_INIT 0x08, NPY_NEEDS_PYAPI 0x10: 27, what a structured
// dtype with an object field has), and objectTypeFlags what the object
// type itself has (NPY_OBJECT_DTYPE_FLAGS, 63). Each bit matters: without
// NPY_NEEDS_INIT numpy leaves a new object array unzeroed and the list
// path's OBJECT_setitem decrefs heap garbage (flags 3 or 55 segfault
// pickle.load: testdata/attacks/redteam2/numpy_dtype_flags_no_needs_init.pkl),
// so an object-holding dtype must carry all that numpy gives it.
const (
	fromFieldsFlags = 0x01 | 0x02 | 0x08 | 0x10
	objectTypeFlags = 0x3f
)

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
	// numpy parses a state tuple of 5 to 9 items ("(iOOii)" to
	// "(iOOOOiiiO)"); below 8 items there are no flags and a version-3+
	// state leaves them at 0 (arraydescr_setstate: int_dtypeflags = 0),
	// which numpy then keeps: a 7-item state on an object dtype is a
	// forged-flags state without a flags field at all.
	if state.k != kTuple || state.x == nil || state.x.n < 7 || state.x.n > 9 {
		// Other layouts numpy refuses, and its 5- and 6-item ones carry
		// no names, which it refuses unless fields are given (the
		// layout check reports those: dtypelayout.go).
		return
	}
	if int64(len(state.x.items)) != state.x.n {
		m.dtypeFlagsReport("its state was not kept in full, so its flags cannot be checked against its type")
		return
	}
	items := state.x.items
	// A LONG longer than 8 bytes may still hold a small value (zero
	// padding), and a call's result (builtins.int("0"), a numpy integer
	// scalar) is taken by numpy's "i" conversion through __index__: only
	// a value numpy certainly refuses as an int ends the check (class:
	// state integers computed at load time).
	version, ok := pyInt(&items[0])
	if !ok && !maybeInt(&items[0]) || ok && version < 3 {
		return // numpy refuses a non-integer version; below 3 it recomputes
	}
	var flags int64
	computed := false
	if len(items) >= 8 {
		flags, ok = pyInt(&items[7])
		if !ok && !maybeInt(&items[7]) {
			return // numpy refuses non-integer flags
		}
		computed = !ok
	}
	// The object type itself (or a type that cannot be told) needs all
	// of numpy's object flags; a structured or subarray type the flags
	// numpy derives from its fields.
	need := int64(objectTypeFlags)
	if len(inst.x.args) > 0 {
		if h, k := specHoldsObjects(&inst.x.args[0]); !h && k {
			need = fromFieldsFlags
		}
	}
	if !computed && flags&need == need {
		return
	}
	desc := fmt.Sprintf("its flags (%d)", flags)
	switch {
	case computed:
		desc = "its flags (computed at load time, not a literal)"
	case len(items) < 8:
		desc = fmt.Sprintf("its %d-item state (no flags field: numpy sets them to 0)", len(items))
	}
	holds, known := m.dtypeHoldsObjects(inst, 0)
	switch {
	case !known:
		m.dtypeFlagsReport(fmt.Sprintf("%s may deny Python objects, and what its type, subarray and fields hold cannot be known from the file", desc))
	case holds:
		m.dtypeFlagsReport(fmt.Sprintf("it holds Python objects but %s may lack flags numpy gives every object dtype (%d): numpy then reads raw bytes as object pointers or leaves object slots uninitialised (a crash, or code run through a forged object)", desc, need))
	}
}

// dtypeReuse: numpy.dtype's __setstate__ changes the descriptor in
// place, and arrays, scalars and other dtypes hold that same descriptor.
// A state given after the dtype was used (placed in a container or a
// call: an array's state, another dtype's fields) or after a first state
// changes what was already checked -- a V8 dtype whose array took raw
// bytes becomes an object dtype over those bytes (proven live:
// testdata/attacks/redteam2/numpy_dtype_mutated_after_array.pkl). numpy's
// pickles give each dtype one state, right after it is made.
func (m *machine) dtypeReuse(inst *value) {
	if !isDtypeCallee(inst.callee()) || !inst.x.used && inst.x.builds == 0 {
		return
	}
	// pickle/dtype-state-after-use: a numpy dtype's state changed after
	// it was used or set (in-place mutation past the checks).
	m.sc.add("pickle/dtype-state-after-use", High, m.opStart, "numpy.dtype",
		fmt.Sprintf("BUILD at offset %d changes the state of a numpy dtype that was already used or given a state: numpy changes it in place under the arrays and dtypes that hold it, so raw data checked as plain can become object pointers", m.opStart))
}

// freezeFields marks the fields dict of a dtype state: numpy's
// arraydescr_setstate keeps that very dict as the descriptor's fields, so
// a SETITEM on it afterwards (through the memo) turns a checked plain
// field into an object or moves it out of the item, under flags and a
// layout already judged (proven live:
// testdata/attacks/redteam2/numpy_dtype_fields_mutated.pkl).
func (m *machine) freezeFields(inst, state *value) {
	if !isDtypeCallee(inst.callee()) || state.k != kTuple || state.x == nil || len(state.x.items) < 7 {
		return
	}
	if f := state.x.items[4]; f.k == kDict && f.x != nil {
		f.x.frozen = true
	}
}

func (m *machine) fieldsMutated() {
	m.sc.add("pickle/dtype-state-after-use", High, m.opStart, "numpy.dtype",
		fmt.Sprintf("%s at offset %d changes a dict that is already a numpy dtype's fields: numpy keeps that dict, so the dtype's checked fields change under it", opName(m.lastOp), m.opStart))
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
		// "O" is numpy's only type code with a capital O and "object"
		// (object_, object0) its only object names; a subarray ("2O",
		// "(2,)O") or comma list ("f8,O") may put one anywhere.
		return strings.Contains(s, "O") || strings.Contains(s, "object"), true
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
