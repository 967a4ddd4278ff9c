package pickle

import (
	"fmt"
	"math"
	"strings"
)

// Object arrays with fewer items than their shape (class: uninitialised
// or foreign pointers used as objects, from the standard ndarray
// pickling path). ndarray.__setstate__ fills an object array from the
// list in its state without checking the list's length against the
// shape (numpy 1.24 _setlist_pkl): _reconstruct(ndarray, (0,), b"b") +
// BUILD (1, (4,), dtype("O"), False, ["x"]) loads, and the three missing
// items are whatever memory follows; str() of it segfaults (proven live:
// testdata/attacks/redteam/numpy_object_short_list.pkl). numpy's own
// pickles always give exactly one item per element, so a list shorter
// than the shape's product, for a dtype that holds or may hold objects,
// is reported. (Raw bytes of the wrong size numpy refuses itself.)

// arrayListState checks BUILD state shaped as numpy's array states:
// (shape, dtype, fortran, data), (version, shape, dtype, fortran, data)
// and MaskedArray's (version, shape, dtype, fortran, data, mask, fill).
func (m *machine) arrayListState(inst, state *value) {
	if !strings.HasPrefix(inst.callee(), "numpy.") || state.k != kTuple || state.x == nil {
		return
	}
	if int64(len(state.x.items)) != state.x.n {
		// Past the keep budgets the state's items are not kept (class:
		// padding a pickle past the bounds). A list can fill an array
		// with objects only if a dtype that may hold them was made in
		// this pickle, so only then is the unchecked state reported.
		if (state.x.n == 4 || state.x.n == 5 || state.x.n == 7) && m.objDtype {
			m.objListReport("its state was not kept (past modelvet's memory bounds) and this pickle makes a dtype that may hold objects, so a list given for it cannot be shown to fill its shape")
		}
		return
	}
	items := state.x.items
	var shape, dt, data *value
	switch len(items) {
	case 4:
		shape, dt, data = &items[0], &items[1], &items[3]
	case 5, 7:
		shape, dt, data = &items[1], &items[2], &items[4]
	default:
		return
	}
	if data.k != kList {
		return
	}
	if holds, known := m.dtypeArgHolds(dt, true); !holds && known {
		return
	}
	var have int64
	if data.x != nil {
		have = data.x.n
	}
	count, ok := shapeCount(shape)
	switch {
	case !ok:
		m.objListReport(fmt.Sprintf("its shape (%s) is not a tuple of integers modelvet kept, so the %d items given cannot be shown to fill it", describe(shape), have))
	case have < count:
		m.objListReport(fmt.Sprintf("its shape holds %d items but the list gives %d: numpy uses whatever memory follows the list as the missing objects", count, have))
	}
}

// shapeCount multiplies a kept shape tuple (capped: past MaxInt64 numpy
// refuses the array anyway).
func shapeCount(shape *value) (int64, bool) {
	if shape.k != kTuple || shape.x == nil || int64(len(shape.x.items)) != shape.x.n {
		return 0, false
	}
	count := int64(1)
	for i := range shape.x.items {
		d, ok := pyInt(&shape.x.items[i])
		if !ok || d < 0 {
			return 0, false
		}
		if d != 0 && count > math.MaxInt64/d {
			return math.MaxInt64, true
		}
		count *= d
	}
	return count, true
}

func (m *machine) objListReport(why string) {
	// pickle/object-array-short-list: an object array given fewer items
	// than its shape (foreign memory used as objects).
	m.sc.add("pickle/object-array-short-list", High, m.opStart, "numpy.ndarray",
		fmt.Sprintf("BUILD at offset %d sets the state of a numpy object array: %s", m.opStart, why))
}
