package pickle

import (
	"fmt"
	"strings"
)

// Object arrays over raw bytes (class: file bytes used as PyObject
// pointers, with safe-listed names only). numpy.ndarray(shape, dtype,
// buffer) and numpy.recarray(shape, dtype, buf) accept a bytes buffer
// for a dtype holding objects (numpy 1.24 does not refuse it, unlike
// frombuffer), so every item is eight bytes of the file taken as a
// pointer: builtins.str of such an array segfaults pickle.load (proven
// live: testdata/attacks/redteam/numpy_ndarray_object_buffer.pkl). Real
// pickles never call these constructors with a buffer (ndarray.__reduce__
// goes through _reconstruct and __setstate__), so a buffer call is
// accepted only when its dtype is shown to hold no objects.

// bufferCtor says where an array constructor takes its dtype and buffer.
type bufferCtor struct {
	dtype, buf       int    // positional indexes
	dtypeKw, bufKw   string // keyword names (NEWOBJ_EX, __newobj_ex__)
	formats          int    // recarray: formats build the dtype when dtype is None; -1 none
	formatsKw, names string
}

var bufferCtors = map[string]bufferCtor{
	"numpy.ndarray": {dtype: 1, buf: 2, dtypeKw: "dtype", bufKw: "buffer", formats: -1},
}

func init() {
	for _, n := range []string{"numpy.recarray", "numpy.core.records.recarray", "numpy._core.records.recarray"} {
		bufferCtors[n] = bufferCtor{dtype: 1, buf: 2, dtypeKw: "dtype", bufKw: "buf", formats: 5, formatsKw: "formats"}
	}
}

// rawBuffer checks a call of an array constructor; kw is the keyword
// dict NEWOBJ_EX passes (nil for none).
func (m *machine) rawBuffer(name string, a argList, kw *value) {
	c, ok := bufferCtors[name]
	if !ok {
		return
	}
	arg := func(i int, key string) (v value, have, absent bool) {
		if kw != nil && kw.k != kNone {
			if kw.k != kDict || kw.x == nil || int64(len(kw.x.items)) != kw.x.n {
				return value{}, false, false // keywords not kept: may be anything
			}
			if v, ok := kw.dictGet(key); ok {
				return v, true, false
			}
		}
		if i < 0 {
			return value{}, false, true
		}
		return a.arg(i)
	}
	buf, have, absent := arg(c.buf, c.bufKw)
	if absent || (have && buf.k == kNone) {
		return // no buffer: numpy allocates (and zeroes object items)
	}
	dt, have, absent := arg(c.dtype, c.dtypeKw)
	holds, known := false, true
	switch {
	case absent || (have && dt.k == kNone):
		if c.formats >= 0 {
			f, fh, fa := arg(c.formats, c.formatsKw)
			if !fa && !(fh && f.k == kNone) {
				holds, known = m.dtypeArgHolds(&f, fh)
			}
		}
	default:
		holds, known = m.dtypeArgHolds(&dt, have)
	}
	if holds || !known {
		what := "a dtype that holds Python objects"
		if !holds {
			what = "a dtype modelvet cannot show holds no Python objects"
		}
		// pickle/raw-object-buffer: an object array built over bytes of
		// the file, whose items numpy dereferences as pointers.
		m.sc.add("pickle/raw-object-buffer", High, m.opStart, name,
			fmt.Sprintf("%s at offset %d is given a raw buffer with %s: numpy takes the buffer's bytes as object pointers (a crash, or code run through a forged object)", name, m.opStart, what))
	}
}

// dtypeArgHolds judges a dtype-like argument: a literal spec, a pickled
// numpy.dtype, or a safe-listed scalar type.
func (m *machine) dtypeArgHolds(v *value, have bool) (holds, known bool) {
	if !have {
		return false, false
	}
	if s, ok := v.str(); ok {
		// "O", "|O8", "object", "i4,O" (comma-separated structured).
		return strings.Contains(s, "O") || strings.Contains(strings.ToLower(s), "object"), true
	}
	if v.k == kObj {
		return m.dtypeHoldsObjects(v, 0)
	}
	return specHoldsObjects(v)
}

// newobjBuffer applies rawBuffer to copyreg.__newobj__(cls, *args) and
// copyreg.__newobj_ex__(cls, args, kwargs), which call cls.__new__.
func (m *machine) newobjBuffer(via, cls string, a argList) {
	if _, ok := bufferCtors[cls]; !ok {
		return
	}
	switch {
	case strings.HasSuffix(via, "__newobj__"):
		inner := argList{n: -1, taint: a.taint}
		if len(a.items) > 0 {
			inner.items = a.items[1:]
		}
		if a.n > 0 {
			inner.n = a.n - 1
		}
		m.rawBuffer(cls, inner, nil)
	case strings.HasSuffix(via, "__newobj_ex__"):
		inner := argList{n: -1, taint: a.taint}
		if v, have, _ := a.arg(1); have {
			inner = tupleArgs(&v)
		}
		kw := value{k: kUnknown}
		if v, have, absent := a.arg(2); have {
			kw = v
		} else if absent {
			kw = value{k: kNone}
		}
		m.rawBuffer(cls, inner, &kw)
	}
}
