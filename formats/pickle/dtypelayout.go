package pickle

import (
	"fmt"
	"math"
)

// Forged numpy dtype layouts (class: out-of-bounds reads and writes of
// the heap, with safe-listed names only). numpy.dtype's __setstate__
// keeps a version-3 state's fields and subarray as given and never checks
// them against the item size; numpy's constructors always place every
// field (offset + field size) and every subarray (base size x count)
// inside the item. A field at offset 1<<24 of an 8-byte item makes
// ndarray.__setstate__'s list path write the field's value 16 MiB past
// the array's buffer, during pickle.load itself (proven live with numpy
// 1.24: testdata/attacks/redteam/numpy_forged_field_offset_write.pkl
// segfaults pickle.load), and any later read of it reads there. So every
// field and subarray of a BUILD dtype state must be shown inside the
// item; what cannot be shown is reported.

// dtypeSize returns the item size numpy uses for a pickled dtype value.
func dtypeSize(dt *value) (int64, bool) {
	if d, err := numpyDtype(dt); err == "" {
		return d.itemsize, true
	}
	// numpy.dtype(numpy.record) and the like (numpy's reduce of record
	// dtypes): a flexible type whose size is the state's elsize.
	if dt.k != kObj || dt.x == nil || len(dt.x.args) == 0 || !isDtypeCallee(dt.callee()) {
		return 0, false
	}
	if h, k := specHoldsObjects(&dt.x.args[0]); h || !k || dt.x.args[0].k != kGlobal {
		return 0, false
	}
	st := dt.x.state
	if st == nil || st.k != kTuple || st.x == nil || int64(len(st.x.items)) != st.x.n || st.x.n < 8 {
		return 0, false
	}
	n, ok := pyInt(&st.x.items[5])
	return n, ok && n >= 0
}

// noteField records, for field dicts past the keep budget, the furthest
// end of any (dtype, offset[, title]) pair the pickle builds.
func (m *machine) noteField(items []value) {
	if len(items) < 2 || len(items) > 3 || items[0].k != kObj || !isDtypeCallee(items[0].callee()) {
		return
	}
	off, ok := pyInt(&items[1])
	size, ok2 := dtypeSize(&items[0])
	if !ok || !ok2 || off < 0 || off > math.MaxInt64-size {
		m.fieldEndUnknown = true
		return
	}
	m.fieldEnd = max(m.fieldEnd, off+size)
}

// dtypeLayout checks the fields and subarray of a BUILD state on a
// numpy.dtype against the item size numpy will use.
func (m *machine) dtypeLayout(inst, state *value) {
	if !isDtypeCallee(inst.callee()) || state.k != kTuple || state.x == nil ||
		state.x.n < 5 || state.x.n > 9 || int64(len(state.x.items)) != state.x.n {
		return // other layouts: numpy refuses them; unkept: dtypeFlags reports
	}
	items := state.x.items
	if len(items) < 7 {
		// "(iOOii)" and "(iOOOii)" carry fields without names (or a
		// subarray) where the longer layouts do not: nothing real writes
		// them, and their layout is not checked here, so any of those
		// being set is reported.
		for _, it := range items[2 : len(items)-2] {
			if it.k != kNone {
				m.dtypeLayoutReport(fmt.Sprintf("its %d-item state sets fields or a subarray in a layout no numpy writes", len(items)))
				return
			}
		}
		return
	}
	if v, ok := pyInt(&items[0]); !ok && !maybeInt(&items[0]) || ok && v < 3 {
		return // (a padded LONG version may be 3: checked)
	}
	sub, fields := items[2], items[4]
	if sub.k == kNone && fields.k == kNone {
		return
	}
	elsize, ok := dtypeSize(inst)
	if !ok {
		m.dtypeLayoutReport("its item size cannot be known from the file, so its fields or subarray cannot be shown inside it")
		return
	}
	if sub.k != kNone {
		if why := subarrayInside(&sub, elsize); why != "" {
			m.dtypeLayoutReport(why)
			return
		}
	}
	if fields.k == kNone {
		return
	}
	if fields.k != kDict || fields.x == nil {
		m.dtypeLayoutReport("its fields are not a dict modelvet kept")
		return
	}
	for i := 1; i < len(fields.x.items); i += 2 {
		t := &fields.x.items[i]
		if t.k != kTuple || t.x == nil || len(t.x.items) < 2 {
			m.dtypeLayoutReport("a field is not a (dtype, offset) tuple")
			return
		}
		off, ok := pyInt(&t.x.items[1])
		size, ok2 := dtypeSize(&t.x.items[0])
		switch {
		case !ok || !ok2:
			m.dtypeLayoutReport("a field's offset or size cannot be known from the file")
			return
		case off < 0 || off > elsize || size > elsize-off:
			m.dtypeLayoutReport(fmt.Sprintf("a field of %d bytes at offset %d lies outside its %d-byte item: numpy reads and writes it past the array's memory", size, off, elsize))
			return
		}
	}
	if int64(len(fields.x.items)) != fields.x.n {
		// Fields past the keep budget: bounded by every field pair the
		// pickle built (a sound over-approximation).
		if m.fieldEndUnknown {
			m.dtypeLayoutReport("it has more fields than modelvet keeps, and some field built in this pickle has an unknown offset or size")
		} else if m.fieldEnd > elsize {
			m.dtypeLayoutReport(fmt.Sprintf("it has more fields than modelvet keeps, and a field built in this pickle ends at byte %d, past its %d-byte item", m.fieldEnd, elsize))
		}
	}
}

// subarrayInside checks a (base dtype, shape) subarray against the item.
func subarrayInside(sub *value, elsize int64) string {
	if sub.k != kTuple || sub.x == nil || len(sub.x.items) != 2 || int64(len(sub.x.items)) != sub.x.n {
		return "its subarray is not a (dtype, shape) pair modelvet kept"
	}
	size, ok := dtypeSize(&sub.x.items[0])
	if !ok {
		return "its subarray's base size cannot be known from the file"
	}
	count := int64(1)
	shape := &sub.x.items[1]
	var dims []value
	switch shape.k {
	case kInt, kBool:
		dims = []value{*shape}
	case kTuple:
		if shape.x != nil {
			if int64(len(shape.x.items)) != shape.x.n {
				return "its subarray shape was not kept"
			}
			dims = shape.x.items
		}
	default:
		return "its subarray shape is not a tuple of integers"
	}
	for i := range dims {
		d, ok := pyInt(&dims[i])
		if !ok || d < 0 {
			return "its subarray shape is not a tuple of non-negative integers"
		}
		if d != 0 && count > math.MaxInt64/d {
			return "its subarray shape overflows"
		}
		count *= d
	}
	if size != 0 && count > elsize/size {
		return fmt.Sprintf("its subarray (%d items of %d bytes) does not fit its %d-byte item: numpy reads and writes past the array's memory", count, size, elsize)
	}
	return ""
}

func (m *machine) dtypeLayoutReport(why string) {
	// pickle/forged-dtype-layout: a numpy dtype state whose fields or
	// subarray lie outside its item (heap reads and writes out of bounds
	// from safe-listed names alone).
	m.sc.add("pickle/forged-dtype-layout", High, m.opStart, "numpy.dtype",
		fmt.Sprintf("BUILD at offset %d sets the state of a numpy dtype: %s", m.opStart, why))
}
