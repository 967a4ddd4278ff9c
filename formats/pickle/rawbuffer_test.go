package pickle_test

import (
	"testing"

	"github.com/modelvet/modelvet/formats"
)

// TestRawObjectBuffer: numpy.ndarray and numpy.recarray accept a bytes
// buffer for a dtype holding objects, whose bytes then serve as object
// pointers; with a plain dtype a buffer is only data.
func TestRawObjectBuffer(t *testing.T) {
	ndarray := func(dtype func(*op) *op, buf bool) []byte {
		b := &op{}
		b.proto(2).global("numpy", "ndarray")
		intOp(b, 1).tuple1()
		dtype(b)
		if buf {
			b.binbytes([]byte("AAAAAAAA"))
		} else {
			b.raw('N')
		}
		return b.raw(0x87).reduce().stop().bytesOf()
	}
	lit := func(s string) func(*op) *op { return func(b *op) *op { return b.ustr(s) } }
	newobjEx := func(kw string) []byte {
		b := &op{}
		b.proto(4).ustr("numpy").ustr("ndarray").stackGlobal()
		intOp(b, 1).tuple1().tuple1()
		b.mark().ustr("dtype").ustr(kw).ustr("buffer").binbytes([]byte("AAAAAAAA")).raw('d')
		return b.raw(0x92).stop().bytesOf()
	}
	for _, c := range []struct {
		name string
		data []byte
		want bool
	}{
		{"object dtype string over bytes", ndarray(lit("O"), true), true},
		{"'object' spelled out over bytes", ndarray(lit("object"), true), true},
		{"structured string with an object field", ndarray(lit("i4,O"), true), true},
		{"pickled object dtype over bytes", ndarray(func(b *op) *op { return dtypeOp(b, "O8") }, true), true},
		{"builtins.object as the dtype", ndarray(func(b *op) *op { return b.global("builtins", "object") }, true), true},
		{"NEWOBJ_EX keywords dtype=O buffer=bytes", newobjEx("O"), true},
		{"real: float64 over bytes", ndarray(lit("<f8"), true), false},
		{"real: pickled float dtype over bytes", ndarray(func(b *op) *op { return dtypeOp(b, "<f4") }, true), false},
		{"real: object dtype without a buffer", ndarray(lit("O"), false), false},
		{"real: NEWOBJ_EX keywords dtype=f8 buffer=bytes", newobjEx("f8"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := scanBytes(t, "x.pkl", c.data, nil)
			if got := hasRule(res, "pickle/raw-object-buffer", formats.High); got != c.want {
				t.Errorf("pickle/raw-object-buffer = %v, want %v:\n%v", got, c.want, res.Findings)
			}
		})
	}
}
