package pickle

import "fmt"

// Random generator states out of bounds (class: out-of-bounds reads of
// native memory from safe-listed names). numpy's bit generators copy a
// pickled state into their C structs without range checks: MT19937's
// "pos" indexes its 624-word key (numpy/random/_mt19937.pyx state
// setter; mt19937_next32 reads key[pos++]), Philox's "buffer_pos" its
// 4-word buffer. A RandomState or Generator from a model file (sklearn
// estimators keep them) with pos = 10**7 loads cleanly and reads far
// outside its state on the first draw (proven live with numpy 1.24:
// testdata/attacks/redteam/numpy_rng_pos_oob.pkl segfaults at the first
// randint). numpy's own states always hold pos in [0, 624] and
// buffer_pos in [0, 4], so those bounds are demanded, and a state that
// cannot be read is reported.

// rngBuilders are the safe-listed names whose objects take a generator
// state through BUILD (__setstate__ sets the bit generator's state).
var rngBuilders = map[string]bool{
	"numpy.random._pickle.__randomstate_ctor": true, "numpy.random._pickle.__generator_ctor": true,
	"numpy.random._pickle.__bit_generator_ctor": true, "numpy.random.__RandomState_ctor": true,
	"numpy.random.mtrand.RandomState": true,
}

// rngState checks BUILD state on a numpy random generator.
func (m *machine) rngState(inst, state *value) {
	if !rngBuilders[inst.callee()] {
		return
	}
	switch state.k {
	case kTuple: // RandomState.set_state's legacy ("MT19937", key, pos, has_gauss, gauss)
		if state.x == nil || int64(len(state.x.items)) != state.x.n {
			m.rngReport("its state was not kept in full")
			return
		}
		if len(state.x.items) >= 3 {
			m.rngBound(&state.x.items[2], "pos", 624)
		}
	case kDict:
		if state.x == nil || int64(len(state.x.items)) != state.x.n {
			m.rngReport("its state was not kept in full")
			return
		}
		if v, ok := state.dictGet("buffer_pos"); ok {
			m.rngBound(&v, "buffer_pos", 4)
		}
		inner, ok := state.dictGet("state")
		if !ok {
			return // numpy refuses a state without one
		}
		if inner.k != kDict || inner.x == nil || int64(len(inner.x.items)) != inner.x.n {
			m.rngReport("its inner state is not a dict modelvet kept")
			return
		}
		if v, ok := inner.dictGet("pos"); ok {
			m.rngBound(&v, "pos", 624)
		}
	default:
		// A mapping object (OrderedDict) passes numpy's isinstance check.
		m.rngReport(fmt.Sprintf("its state is %s, which modelvet cannot read", describe(state)))
	}
}

func (m *machine) rngBound(v *value, name string, hi int64) {
	n, ok := pyInt(v)
	switch {
	case !ok:
		m.rngReport(fmt.Sprintf("its %s is not an integer literal", name))
	case n < 0 || n > hi:
		m.rngReport(fmt.Sprintf("its %s is %d, outside [0, %d]: the first draw reads native memory outside the generator's state", name, n, hi))
	}
}

func (m *machine) rngReport(why string) {
	// pickle/rng-state-bounds: a numpy random generator state whose index
	// fields point outside its buffers (out-of-bounds reads on first use).
	m.sc.add("pickle/rng-state-bounds", High, m.opStart, "numpy.random",
		fmt.Sprintf("BUILD at offset %d sets the state of a numpy random generator: %s", m.opStart, why))
}
