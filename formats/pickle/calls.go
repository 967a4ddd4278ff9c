package pickle

import (
	"fmt"
	"strings"

	"github.com/modelvet/modelvet/formats"
)

// Calls, judged soundly. Unpickling runs code only by calling something:
// REDUCE, INST, OBJ, NEWOBJ and NEWOBJ_EX call or instantiate a value on
// the stack, BUILD calls the object's __setstate__, and the few
// safe-listed functions that take a callable or a class as an argument
// call it in turn. So a pickle is clean only if every callee is an
// imported name whose import was judged, and every safe-listed function
// is given arguments whose effect is known:
//
//   - a callee that is not an imported name (the result of another call,
//     a value passed through a function, an EXT or out-of-band object) is
//     pickle/opaque-call, High in every profile;
//   - a safe-listed function that calls one of its arguments (an apply:
//     torch._tensor._rebuild_from_type_v2) has that inner call judged
//     exactly like a call the pickle makes itself, recursively;
//   - one that returns an argument unchanged (numpy's scalar with an
//     object dtype) returns that very symbolic value, so whatever it
//     passes on is judged where it is called;
//   - one that imports by name (an import gadget) returns the import,
//     judged like a GLOBAL (an unknown target is High in every profile);
//   - one that instantiates a class argument has that argument judged as
//     a callee.
//
// Values the keep budgets did not keep are still known clean or not
// through ext.taint: when a judgement needs an argument that was not kept
// and the container it sits in holds anything whose call cannot be judged
// by import, the call is pickle/opaque-call (fail closed).

// maxApplyDepth bounds apply functions nested in each other's arguments;
// deeper nesting is reported, never ignored.
const maxApplyDepth = 8

// argList is what a call is given.
type argList struct {
	items []value // the kept arguments, in order
	n     int64   // how many there are; -1 when not even that is known
	taint bool    // some argument, kept or not, is tainted
	kw    *value  // NEWOBJ_EX's keyword arguments; nil for none
}

func tupleArgs(v *value) argList {
	switch v.k {
	case kTuple, kList:
		if v.x == nil {
			return argList{}
		}
		return argList{items: v.x.items, n: v.x.n, taint: v.x.taint}
	case kDict:
		// func(*d) is called with the keys.
		// ext.n counts keys and values alike.
		// Keys must be distinct literal strings: a dict keeps one of
		// each equal key, which the machine does not model.
		// (At most 16 keys, compared pairwise: no call has more
		// arguments worth judging, and the work per call stays small.)
		if v.x != nil && int64(len(v.x.items)) == v.x.n && v.x.n <= 32 {
			keys := make([]value, 0, v.x.n/2)
			for i := 0; i+1 < len(v.x.items); i += 2 {
				s, ok := v.x.items[i].str()
				if !ok {
					return argList{n: -1, taint: v.x.taint}
				}
				for j := range keys {
					if t, _ := keys[j].str(); t == s {
						return argList{n: -1, taint: v.x.taint}
					}
				}
				keys = append(keys, v.x.items[i])
			}
			return argList{items: keys, n: int64(len(keys)), taint: v.x.taint}
		}
		return argList{n: -1, taint: v.tainted()}
	case kSet, kFrozenSet:
		// Iteration order of a set is the hash order: known for one item.
		if v.x != nil && v.x.n <= 1 && int64(len(v.x.items)) == v.x.n {
			return argList{items: v.x.items, n: v.x.n, taint: v.x.taint}
		}
	case kStr, kBytes:
		// Characters or small ints: nothing callable.
		return argList{n: -1}
	case kNone, kBool, kInt, kBigInt, kFloat:
		return argList{n: -1} // not iterable: TypeError before any call
	}
	return argList{n: -1, taint: v.tainted()}
}

// arg returns argument i: have says it was kept; when it was not, known
// says whether the call certainly lacks it (false: it may be there).
func (a *argList) arg(i int) (v value, have, absent bool) {
	if i < len(a.items) {
		return a.items[i], true, false
	}
	if a.n >= 0 && int64(i) >= a.n {
		return value{}, false, true
	}
	return value{}, false, false
}

// callSpec is what a safe-listed function does with its arguments.
type callSpec struct {
	classArgs []int // arguments it instantiates or calls (with arguments of its own)
	apply     int   // argument it calls; -1 none
	applyArgs int   // argument whose items it calls apply with; -1: apply is given (args[0],)
	state     int   // argument set as attributes on what apply returned; -1 none
	through   int   // argument it may return unchanged; -1 none
	hooks     int   // argument holding tensor backward hooks; -1 none
}

var noSpec = callSpec{apply: -1, applyArgs: -1, state: -1, through: -1, hooks: -1}

// callSpecs: the safe-listed functions that are given callables, classes
// or hooks. Sources are the functions' own code (torch/_tensor.py,
// torch/_utils.py, copyreg.py, numpy/random/_pickle.py,
// numpy/_core/multiarray.py, numpy/ma/core.py).
var callSpecs = map[string]callSpec{}

func init() {
	spec := func(f func(*callSpec)) callSpec { s := noSpec; f(&s); return s }
	// _rebuild_from_type_v2(func, new_type, args, state): ret = func(*args);
	// ret.as_subclass(new_type); _set_obj_state(ret, state) (setattr).
	callSpecs["torch._tensor._rebuild_from_type_v2"] = spec(func(s *callSpec) {
		s.apply, s.applyArgs, s.state, s.classArgs = 0, 2, 3, []int{1}
	})
	// Its predecessor (not safe-listed): ret = func(*args);
	// ret.__dict__ = dict.
	callSpecs["torch._tensor._rebuild_from_type"] = callSpecs["torch._tensor._rebuild_from_type_v2"]
	// __generator_ctor(bit_generator_name, bit_generator_ctor) and
	// __randomstate_ctor(...) call bit_generator_ctor(bit_generator_name).
	for _, n := range []string{"numpy.random._pickle.__generator_ctor", "numpy.random._pickle.__randomstate_ctor"} {
		callSpecs[n] = spec(func(s *callSpec) { s.apply = 1 })
	}
	// __bit_generator_ctor(bit_generator): a class is instantiated.
	callSpecs["numpy.random._pickle.__bit_generator_ctor"] = spec(func(s *callSpec) { s.classArgs = []int{0} })
	// copyreg: object.__new__(cls) / base.__new__(cls, state), base.__init__.
	callSpecs["copyreg._reconstructor"] = spec(func(s *callSpec) { s.classArgs = []int{0, 1} })
	callSpecs["copyreg.__newobj__"] = spec(func(s *callSpec) { s.classArgs = []int{0} })
	callSpecs["copyreg.__newobj_ex__"] = spec(func(s *callSpec) { s.classArgs = []int{0} })
	for _, n := range []string{"copy_reg._reconstructor", "copy_reg.__newobj__", "copy_reg.__newobj_ex__"} {
		callSpecs[n] = callSpecs["copyreg"+strings.TrimPrefix(n, "copy_reg")]
	}
	// Tensor subclass and ndarray subclass constructors.
	callSpecs["torch._utils._rebuild_wrapper_subclass"] = spec(func(s *callSpec) { s.classArgs = []int{0} })
	for _, n := range []string{"numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct", "numpy.core._internal._reconstruct"} {
		callSpecs[n] = spec(func(s *callSpec) { s.classArgs = []int{0} })
	}
	callSpecs["numpy.ma.core._mareconstruct"] = spec(func(s *callSpec) { s.classArgs = []int{0, 1} })
	// defaultdict(factory): the factory is called on every missing key.
	callSpecs["collections.defaultdict"] = spec(func(s *callSpec) { s.classArgs = []int{0} })
	// scalar(dtype, obj) returns obj itself when dtype is object.
	for _, n := range []string{"numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar"} {
		callSpecs[n] = spec(func(s *callSpec) { s.through = 1 })
	}
	// Tensors keep backward hooks, called on .backward(); torch.save always
	// writes an empty OrderedDict there.
	for n, i := range map[string]int{"torch._utils._rebuild_tensor_v2": 5, "torch._utils._rebuild_tensor_v3": 5,
		"torch._utils._rebuild_parameter": 2, "torch._utils._rebuild_parameter_with_state": 2,
		"torch._utils._rebuild_qtensor": 6} {
		callSpecs[n] = spec(func(s *callSpec) { s.hooks = i })
	}
}

// tainting reports whether a global's effect depends on its arguments
// beyond what its import verdict says: holding it unkept is holding
// something whose call cannot be judged.
func tainting(name string) bool {
	s, ok := callSpecs[name]
	return ok && (s.apply >= 0 || s.through >= 0) || importGadgets[name] != ""
}

// judgeCallee returns the imported name a value being called is, or
// reports that it is none.
func (m *machine) judgeCallee(fn *value, how string) bool {
	return m.judgeArgCallee(fn, how, -1, "")
}

// judgeArgCallee is judgeCallee for argument i of the safe-listed function
// name (i < 0: the callee itself); the message is only built when needed.
func (m *machine) judgeArgCallee(fn *value, how string, i int, name string) bool {
	if fn.k == kGlobal {
		return true
	}
	if m.sc.bump("pickle/opaque-call", High, "") {
		return false
	}
	if i >= 0 {
		how = fmt.Sprintf("%s (argument %d of %s)", how, i, name)
	}
	what := "calls"
	if strings.HasPrefix(how, "NEWOBJ") {
		what = "instantiates"
	}
	m.sc.add("pickle/opaque-call", High, m.opStart, "",
		fmt.Sprintf("%s at offset %d %s %s, not an imported name: what that runs cannot be known from the file (a gadget chain hides its target this way)", how, m.opStart, what, describe(fn)))
	return false
}

// unknownArg reports a judgement that needs an argument the keep budgets
// dropped, inside arguments that hold something whose call cannot be
// judged by import.
func (m *machine) unknownArg(name string, i int, what string) {
	if m.sc.bump("pickle/opaque-call", High, name) {
		return
	}
	m.sc.add("pickle/opaque-call", High, m.opStart, name,
		fmt.Sprintf("%s at offset %d is given, as argument %d, %s that modelvet did not keep (past its memory bounds or not a literal), among arguments that hold callables it cannot judge: what it runs cannot be known", name, m.opStart, i, what))
}

// call judges a call (REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ, or one a
// safe-listed function makes) and returns what it evaluates to.
func (m *machine) call(fn value, a argList, how string) value {
	kept := a.items
	if len(kept) > 16 {
		kept = kept[:16]
	}
	kept = append([]value(nil), kept...)
	fnCopy := fn
	obj := value{k: kObj, off: m.opStart, x: &ext{fn: &fnCopy, args: kept, taint: a.taint}}
	if m.quiet {
		obj.x.taint, obj.x.opaque = true, true
		return obj
	}
	if !m.judgeCallee(&fn, how) {
		obj.x.fn = nil
		obj.x.taint, obj.x.opaque = true, true
		return obj
	}
	name := fn.global()
	m.noteDtype(name, a)
	m.sparseRebuild(name)
	m.rawBuffer(name, a, a.kw)
	if mm, nn := mapPy2(fn.x.mod, fn.x.name); nestedLoaders[name] || nestedLoaders[mm+"."+nn] {
		if v, have, _ := a.arg(0); have {
			m.sc.followLoader(name, &v, m.opStart)
		} else if a.n != 0 {
			m.sc.add("pickle/nested-pickle", High, m.opStart, name,
				fmt.Sprintf("%s at offset %d unpickles data modelvet did not keep; what that data holds cannot be scanned", name, m.opStart))
		}
	}
	if g := importGadgets[name]; g != "" {
		return m.gadget(name, g, a, obj)
	}
	s, ok := callSpecs[name]
	if fn.x.verdict != Safe {
		// Reported where it was imported; what it returns can be anything.
		// A known apply still has its inner call judged, for the report.
		if ok && s.apply >= 0 {
			m.apply(name, s, a, obj, how)
		}
		obj.x.taint, obj.x.opaque = true, true
		return obj
	}
	if !ok {
		return obj
	}
	for _, i := range s.classArgs {
		c, have, absent := a.arg(i)
		switch {
		case have:
			if c.k == kNone && (name == "collections.defaultdict" || i == 1) {
				continue // no factory; copyreg's base None is a TypeError
			}
			if c.k == kStr && strings.HasPrefix(name, "numpy.random.") {
				continue // a bit generator named by string, looked up in numpy's table
			}
			if m.judgeArgCallee(&c, how, i, name) && i == 0 &&
				strings.HasPrefix(name, "copy") {
				// The object is an instance of that class (joblib's
				// wrapper hook and BUILD judge it so).
				fnCopy = c
				obj.x.args = classArgsOf(name, a)
				m.noteDtype(c.global(), argList{n: -1})
				m.newobjBuffer(name, c.global(), a)
				if c.x.verdict != Safe {
					obj.x.taint, obj.x.opaque = true, true
				}
			}
		case !absent && a.taint:
			m.unknownArg(name, i, "the class it instantiates")
		}
	}
	if s.hooks >= 0 {
		if h, have, _ := a.arg(s.hooks); have && !emptyHooks(&h) {
			m.sc.add("pickle/tensor-hooks", High, m.opStart, name,
				fmt.Sprintf("%s at offset %d gives the tensor backward hooks (%s): they run when the model is trained; torch.save always writes none", name, m.opStart, describe(&h)))
		}
	}
	if s.through >= 0 {
		v, have, absent := a.arg(s.through)
		switch {
		case have && v.k != kStr && v.k != kBytes:
			return v // the object itself, judged wherever it is used
		case !have && !absent && a.taint:
			obj.x.opaque = true // may be anything it was given
		}
		return obj
	}
	if s.apply >= 0 {
		return m.apply(name, s, a, obj, how)
	}
	return obj
}

// sparseRebuilders build sparse tensors with torch's unchecked
// constructors (_sparse_coo_tensor_unsafe, _sparse_csr_tensor_unsafe)
// and leave the index check to torch.load, which runs
// _validate_loaded_sparse_tensors after unpickling (torch/_utils.py,
// torch/serialization.py).
var sparseRebuilders = map[string]bool{
	"torch._utils._rebuild_sparse_tensor": true, "torch._utils._rebuild_sparse_csr_tensor": true,
}

// sparseRebuild: read by anything but torch.load (pickle.load, joblib,
// numpy), nothing validates a rebuilt sparse tensor's indices, and a
// column index past its size writes out of bounds at to_dense() (proven
// live with torch 1.13: testdata/attacks/redteam2/torch_sparse_csr_oob.pkl).
// Indices are tensor data, never provable from the pickle, so the
// rebuild itself is reported outside torch.load.
func (m *machine) sparseRebuild(name string) {
	if !sparseRebuilders[name] || m.sc.torchLoadOnly() {
		return
	}
	// pickle/unvalidated-sparse-tensor: sparse indices no loader checks
	// (out-of-bounds writes at to_dense and sparse ops).
	m.sc.add("pickle/unvalidated-sparse-tensor", High, m.opStart, name,
		fmt.Sprintf("%s at offset %d rebuilds a sparse tensor without checking its indices; only torch.load validates them afterwards, and this stream is read by other loaders too: indices past the size write out of bounds at to_dense()", name, m.opStart))
}

// torchLoadOnly reports whether only torch.load (directly, or through
// torch.storage._load_from_bytes) reads this stream.
func (sc *scanner) torchLoadOnly() bool {
	return sc.loaders != nil && !sc.loaders.Joblib &&
		(sc.loaders.Plain == "torch.load" || sc.loaders.Plain == "torch.storage._load_from_bytes")
}

// classArgsOf returns what copyreg's reconstructors pass the class they
// instantiate, so the object reads as made by that class with those
// arguments (a numpy.dtype's type spec is then its first argument, as
// for a direct call): __newobj__(cls, *args) gives args,
// __newobj_ex__(cls, args, kwargs) the items of args, and
// _reconstructor(cls, base, state) base.__new__(cls, state). nil when
// they were not kept: what reads them then treats them as unknown
// (class: a dtype built through copyreg, whose spec was read from the
// wrong argument).
func classArgsOf(name string, a argList) []value {
	switch strings.TrimPrefix(strings.TrimPrefix(name, "copyreg."), "copy_reg.") {
	case "__newobj__":
		if int64(len(a.items)) == a.n && len(a.items) > 1 {
			return append([]value(nil), a.items[1:min(len(a.items), 17)]...)
		}
	case "__newobj_ex__":
		if v, have, _ := a.arg(1); have && v.k == kTuple && v.x != nil && int64(len(v.x.items)) == v.x.n {
			return append([]value(nil), v.x.items[:min(len(v.x.items), 16)]...)
		}
	case "_reconstructor":
		if v, have, _ := a.arg(2); have {
			return []value{v}
		}
	}
	return nil
}

// apply judges the call an apply function makes with its arguments.
func (m *machine) apply(name string, s callSpec, a argList, obj value, how string) value {
	f, have, absent := a.arg(s.apply)
	if absent {
		return obj // the default (numpy's own bit generator constructor)
	}
	if !have {
		if a.taint {
			m.unknownArg(name, s.apply, "the function it calls")
			obj.x.opaque = true
		}
		return obj
	}
	inner := argList{n: -1, taint: a.taint}
	var key [2]*ext
	if s.applyArgs >= 0 {
		if v, have, absent := a.arg(s.applyArgs); have {
			inner = tupleArgs(&v)
			if f.k == kGlobal && v.k == kTuple {
				key = [2]*ext{f.x, v.x}
			}
		} else if absent {
			inner = argList{n: -1}
		}
	} else if v, have, _ := a.arg(0); have {
		inner = argList{items: []value{v}, n: 1, taint: v.tainted()}
	}
	if ret, ok := m.applied[key]; ok && key[0] != nil {
		m.applyState(name, s, a, ret)
		if s.state < 0 {
			return obj
		}
		return ret
	}
	if m.applyDepth >= maxApplyDepth {
		m.sc.add("pickle/opaque-call", High, m.opStart, name,
			fmt.Sprintf("%s at offset %d nests calls through apply functions more than %d deep; the innermost is not judged", name, m.opStart, maxApplyDepth))
		obj.x.taint, obj.x.opaque = true, true
		return obj
	}
	m.applyDepth++
	ret := m.call(f, inner, how+" through "+name)
	m.applyDepth--
	if key[0] != nil {
		if m.applied == nil {
			m.applied = map[[2]*ext]value{}
		}
		if len(m.applied) < 4096 {
			m.applied[key] = ret
		}
	}
	m.applyState(name, s, a, ret)
	if s.state < 0 {
		return obj // what apply returns is wrapped in a new object
	}
	return ret
}

// applyState: the state an apply function sets on what its inner call
// returned, when that is an imported object, rewrites loaded code.
func (m *machine) applyState(name string, s callSpec, a argList, ret value) {
	if s.state < 0 {
		return
	}
	if ret.k == kObj && ret.x != nil && !ret.x.opaque {
		// ret.__setstate__(state) or setattr per item: the same checks
		// as BUILD (a RandomState or ndarray state given this way is
		// still one numpy copies unchecked into C).
		if st, have, _ := a.arg(s.state); have {
			m.setState(&ret, st)
		} else if a.taint {
			m.unknownArg(name, s.state, "the state it sets")
		}
		return
	}
	if ret.k != kGlobal {
		return
	}
	if st, have, _ := a.arg(s.state); !have || !emptyState(&st) {
		m.sc.add("pickle/build-on-global", Critical, m.opStart, ret.global(),
			fmt.Sprintf("%s at offset %d sets attributes of the imported %s (its state argument): loading this rewrites loaded code", name, m.opStart, ret.global()))
	}
}

// gadget judges a call to a function that imports by name.
func (m *machine) gadget(name, how string, a argList, obj value) value {
	var mod, attr string
	ok := false
	switch how {
	case "module,name":
		v0, h0, _ := a.arg(0)
		v1, h1, _ := a.arg(1)
		if h0 && h1 {
			var ok0, ok1 bool
			mod, ok0 = v0.str()
			attr, ok1 = v1.str()
			ok = ok0 && ok1
		}
	case "dotted":
		if v, h, _ := a.arg(0); h {
			if s, ok0 := v.str(); ok0 {
				mod, attr, ok = strings.Cut(s, ".")
				if !ok {
					mod, attr, ok = s, "", true
				}
			}
		}
	}
	if !ok {
		m.sc.add("pickle/nonliteral-global", High, m.opStart, name,
			fmt.Sprintf("%s at offset %d imports by name from values that are not literal strings; what it imports cannot be known", name, m.opStart))
		obj.x.taint, obj.x.opaque = true, true
		return obj
	}
	if attr == "" {
		// A whole module: its every attribute is reachable.
		m.sc.add("pickle/dangerous-import", Critical, m.opStart, mod,
			fmt.Sprintf("%s at offset %d imports the module %s itself: everything in it is reachable", name, m.opStart, mod))
		obj.x.taint, obj.x.opaque = true, true
		return obj
	}
	if how == "module,name" && ufuncModules[mod] && identPath(attr) && !strings.ContainsAny(attr, "._") && !isDangerous(mod, attr) {
		// numpy pickles scipy's ufuncs (FunctionTransformer(expit)) this
		// way; those namespaces hold element-wise math only.
		return value{k: kGlobal, off: m.opStart, x: &ext{mod: mod, name: attr, verdict: Safe, literal: true}}
	}
	return m.importBy(mod, attr, name)
}

// ufuncModules are the namespaces of scipy's ufuncs, which numpy's
// _ufunc_reconstruct names when pickling them.
var ufuncModules = map[string]bool{"scipy.special": true, "scipy.special._ufuncs": true, "scipy.special._ufuncs_cxx": true}

// emptyHooks reports whether a backward-hooks argument holds none.
func emptyHooks(h *value) bool {
	switch h.k {
	case kNone:
		return true
	case kDict:
		return h.x != nil && h.x.n == 0
	case kObj:
		c := h.callee()
		return (c == "collections.OrderedDict" || c == "builtins.dict") && h.x.n == 0 && h.x.state == nil &&
			len(h.x.args) == 0
	}
	return false
}

// emptyState reports whether _set_obj_state would set nothing.
func emptyState(st *value) bool {
	switch st.k {
	case kNone:
		return true
	case kDict, kTuple:
		return st.x != nil && st.x.n == 0
	}
	return false
}

// mutateCheck: APPEND(S), SETITEM(S) and ADDITEMS call methods of their
// target; on an imported object they rewrite loaded state.
func (m *machine) mutateCheck(target *value) {
	if m.quiet {
		return
	}
	switch target.k {
	case kGlobal:
		m.sc.add("pickle/mutate-global", High, m.opStart, target.global(),
			fmt.Sprintf("%s at offset %d adds items to the imported %s itself, not to a container the pickle built", opName(m.lastOp), m.opStart, target.global()))
	case kUnknown:
		m.sc.add("pickle/opaque-call", High, m.opStart, "",
			fmt.Sprintf("%s at offset %d calls a method of an object modelvet cannot know", opName(m.lastOp), m.opStart))
	}
}

// importBy judges an import a gadget makes at load time. Unlike a GLOBAL,
// an unknown target is High in every profile: nothing in a real model
// imports through a gadget what it could have named directly.
func (m *machine) importBy(mod, attr, via string) value {
	sc := m.sc
	v := Classify(mod, attr, sc.opts)
	imp := mod + "." + attr
	if !sc.globals[imp] && len(sc.res.Globals) < maxGlobals {
		sc.globals[imp] = true
		sc.res.Globals = append(sc.res.Globals, Global{Module: mod, Name: attr, Offset: m.opStart, Verdict: v})
	}
	switch v {
	case Dangerous:
		sc.add("pickle/dangerous-import", Critical, m.opStart, imp,
			fmt.Sprintf("%s at offset %d imports %s at load time%s: loading this pickle can run code, touch files or the network", via, m.opStart, imp, capabilityOf(mod, attr)))
	case Unknown:
		sc.add("pickle/unknown-import", High, m.opStart, imp,
			fmt.Sprintf("%s at offset %d imports %s at load time, which is not known to be safe: an import made through a gadget is High in every profile", via, m.opStart, imp))
	}
	return value{k: kGlobal, off: m.opStart, x: &ext{mod: mod, name: attr, verdict: v, literal: true, taint: tainting(imp)}}
}

// capabilityOf says, for a message, what a denied import lets a pickle do.
func capabilityOf(mod, attr string) string {
	if c := dangerCap(mod, attr); c != "" {
		return " (" + c + ")"
	}
	return ""
}

// tensorStateHooks: Tensor.__setstate__ takes (requires_grad, _,
// backward_hooks) or a 5-tuple ending so; BUILD on a tensor can install
// hooks that torch.save never writes.
func (m *machine) tensorStateHooks(inst, state *value) {
	c := inst.callee()
	if !strings.HasPrefix(c, "torch._utils._rebuild_") && c != "torch.Tensor" && c != "torch.nn.parameter.Parameter" {
		return
	}
	if state.k != kTuple || state.x == nil || (state.x.n != 3 && state.x.n != 5) || int64(len(state.x.items)) != state.x.n {
		return
	}
	if h := state.x.items[len(state.x.items)-1]; !emptyHooks(&h) {
		m.sc.add("pickle/tensor-hooks", High, m.opStart, c,
			fmt.Sprintf("BUILD at offset %d gives a tensor backward hooks (%s): they run when the model is trained; torch.save always writes none", m.opStart, describe(&h)))
	}
}

// bump counts a repeat of a finding already collected and reports whether
// there was one, so hot paths skip building its message again.
func (sc *scanner) bump(rule string, sev formats.Severity, imp string) bool {
	p, ok := sc.found[rule+"\x00"+imp+"\x00"+sev.String()]
	if ok {
		p.count++
	}
	return ok
}
