package pickle_test

import (
	"testing"

	"github.com/modelvet/modelvet/formats"
)

// TestObjectArrayShortList: ndarray.__setstate__ fills an object array
// from its list without checking the length; numpy's own pickles give
// one item per element.
func TestObjectArrayShortList(t *testing.T) {
	arr := func(spec string, dims []int32, items int) []byte {
		b := &op{}
		b.proto(2).global("numpy.core.multiarray", "_reconstruct").global("numpy", "ndarray")
		intOp(b, 0).tuple1().binbytes([]byte("b")).raw(0x87).reduce()
		b.mark()
		intOp(b, 1).mark()
		for _, d := range dims {
			intOp(b, d)
		}
		b.raw('t')
		dtypeOp(b, spec).raw(0x89, ']')
		if items > 0 {
			b.mark()
			for i := 0; i < items; i++ {
				b.ustr("x")
			}
			b.raw('e')
		}
		return b.raw('t', 'b').stop().bytesOf()
	}
	for _, c := range []struct {
		name string
		data []byte
		want bool
	}{
		{"one item for four", arr("O8", []int32{4}, 1), true},
		{"three items for a 2x2 shape", arr("O8", []int32{2, 2}, 3), true},
		{"empty list for a large shape", arr("O8", []int32{1 << 20}, 0), true},
		{"items past the keep budget, still short", arr("O8", []int32{1000}, 999), true},
		{"real: one item per element", arr("O8", []int32{2, 2}, 4), false},
		{"real: 1000 items past the keep budget", arr("O8", []int32{1000}, 1000), false},
		{"real: empty array", arr("O8", []int32{0}, 0), false},
		{"real: plain dtype (numpy checks bytes itself)", arr("<f8", []int32{4}, 1), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := scanBytes(t, "x.pkl", c.data, nil)
			if got := hasRule(res, "pickle/object-array-short-list", formats.High); got != c.want {
				t.Errorf("pickle/object-array-short-list = %v, want %v:\n%v", got, c.want, res.Findings)
			}
		})
	}
}
