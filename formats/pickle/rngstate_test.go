package pickle_test

import (
	"testing"

	"github.com/modelvet/modelvet/formats"
)

// TestRNGStateBounds: numpy copies a bit generator's pickled pos /
// buffer_pos into C unchecked; outside [0, 624] / [0, 4] the first draw
// reads outside the state. numpy's own states are always inside.
func TestRNGStateBounds(t *testing.T) {
	// __randomstate_ctor("MT19937") + BUILD {"bit_generator": "MT19937",
	// "state": {"pos": pos}, "buffer_pos": bpos}
	rng := func(pos, bpos int32) []byte {
		b := &op{}
		b.proto(2).global("numpy.random._pickle", "__randomstate_ctor").ustr("MT19937").tuple1().reduce()
		b.mark().ustr("bit_generator").ustr("MT19937").ustr("state").mark().ustr("pos")
		intOp(b, pos).raw('d').ustr("buffer_pos")
		intOp(b, bpos).raw('d', 'b')
		return b.stop().bytesOf()
	}
	legacy := func(pos int32) []byte {
		b := &op{}
		b.proto(2).global("numpy.random.mtrand", "RandomState").emptyTuple().reduce()
		b.mark().ustr("MT19937").raw('N')
		intOp(b, pos)
		intOp(b, 0)
		return b.raw('G', 0, 0, 0, 0, 0, 0, 0, 0, 't', 'b').stop().bytesOf()
	}
	for _, c := range []struct {
		name string
		data []byte
		want bool
	}{
		{"MT19937 pos past its 624-word key", rng(10_000_000, 4), true},
		{"MT19937 pos negative", rng(-1, 4), true},
		{"Philox buffer_pos negative", rng(0, -1<<31), true},
		{"legacy set_state tuple with pos past the key", legacy(625), true},
		{"real: fresh state (pos 624, buffer_pos 4)", rng(624, 4), false},
		{"real: used state", rng(17, 2), false},
		{"real: legacy tuple", legacy(624), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := scanBytes(t, "x.pkl", c.data, nil)
			if got := hasRule(res, "pickle/rng-state-bounds", formats.High); got != c.want {
				t.Errorf("pickle/rng-state-bounds = %v, want %v:\n%v", got, c.want, res.Findings)
			}
		})
	}
}
