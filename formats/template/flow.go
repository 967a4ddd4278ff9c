package template

import (
	"sort"
	"strings"

	"github.com/modelvet/modelvet/formats"
)

// Value flow. A sandbox escape has to name what it reaches; when the
// name is not written out, the template computes it at render time and
// hands it to something that resolves names: a subscript (Jinja's x[k]
// falls back to getattr for a string k), |attr, the attribute= argument of
// map/sort/sum/..., selectattr, or str.format's {0.name} fields. This file
// evaluates every expression abstractly, across tags ({% set %}, loops,
// macro parameters, namespace fields), to a fixed point, and judges each of
// those sinks by the values that can reach it:
//   - a value that may be the name of a Python internal: Critical;
//   - a string the template builds from its own material in a way the
//     evaluator cannot compute: High (it cannot be shown safe);
//   - numbers and values that come from the render context (messages,
//     tools, loop indices): fine; the template's author does not choose them.
// Nothing is rendered: this is arithmetic on what literals can become.

// RuleComputed is reported for a name computed at render time that cannot
// be shown not to reach Python internals.
const RuleComputed = "template/computed-name"

type stmtKind uint8

const (
	sExpr  stmtKind = iota + 1
	sSet            // targets = value
	sFor            // targets in value
	sMacro          // name(params)
)

type target struct {
	name string // variable, or "ns.field"
}

type stmt struct {
	kind    stmtKind
	targets []target
	value   *node
	exprs   []*node
	params  []string
	defs    []*node
}

type flow struct {
	c       *checker
	env     map[string]aval
	macros  map[string][]string
	widened map[string]bool
	report  bool
}

// analyzeFlow parses every tag and runs the evaluator. Tags it cannot
// parse get the conservative check: any subscript whose key is not a
// literal is High.
func (c *checker) analyzeFlow(src string, tags []tag) {
	bodies := setBodies(src, tags)
	var stmts []stmt
	for i, t := range tags {
		st, err := parseTag(t, bodies[i])
		if err != nil {
			c.unparsedTag(t)
			continue
		}
		stmts = append(stmts, st...)
	}
	f := &flow{c: c, env: map[string]aval{}, macros: map[string][]string{}, widened: map[string]bool{}}
	for _, s := range stmts {
		if s.kind == sMacro {
			f.macros[s.targets[0].name] = s.params
		}
	}
	converged := false
	for pass := 0; pass < 16; pass++ {
		before := f.snapshot()
		for _, s := range stmts {
			f.exec(s)
		}
		changed := f.changed(before)
		if len(changed) == 0 {
			converged = true
			break
		}
		if pass >= 3 {
			// Widening: a value still growing after a few passes (a
			// counter, a string accumulated in a loop) stops being
			// tracked exactly; it keeps what was seen and becomes an
			// unknown number or unknown template text.
			for _, k := range changed {
				f.widened[k] = true
				f.env[k] = widen(f.env[k])
			}
		}
	}
	if !converged {
		// A value that keeps changing (a list nested one level deeper on
		// every pass) is unknown template material.
		for k, v := range f.env {
			f.env[k] = join(v, vOpen)
		}
	}
	f.report = true
	for _, s := range stmts {
		f.exec(s)
	}
}

func (f *flow) snapshot() map[string]uint64 {
	m := make(map[string]uint64, len(f.env))
	for k, v := range f.env {
		m[k] = v.summary()
	}
	return m
}

// changed lists the variables whose value differs from the snapshot.
func (f *flow) changed(before map[string]uint64) []string {
	var out []string
	for k, v := range f.env {
		if old, ok := before[k]; !ok || old != v.summary() {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (f *flow) bind(name string, v aval) {
	nv := join(f.env[name], v)
	if f.widened[name] {
		nv = widen(nv)
		if old, ok := f.env[name]; ok {
			nv.strs = old.strs
		}
	}
	f.env[name] = nv
}

// widen keeps a value's kinds but forgets its exact integers and list
// positions; strings it may still be stay listed, and it is marked open
// when it carried template text.
func widen(v aval) aval {
	if len(v.ints) > 0 {
		v.ints = nil
		v.num = true
	}
	if len(v.strs) > 0 {
		v.open = true
	}
	if v.items != nil || v.elems != nil {
		e := widen(v.elemsOnly())
		v.items = nil
		v.elems = &e
		v.depth = e.depth + 1
	}
	return v.bound()
}

func (f *flow) exec(s stmt) {
	switch s.kind {
	case sExpr:
		for _, e := range s.exprs {
			f.eval(e)
		}
	case sSet:
		v := f.eval(s.value)
		f.assign(s.targets, v, s.value)
	case sFor:
		v := f.eval(s.value).iterate()
		f.assign(s.targets, v, nil)
		f.bind("loop", vData)
		for _, e := range s.exprs {
			f.eval(e)
		}
	case sMacro:
		for i, d := range s.defs {
			if d != nil {
				f.bind(s.params[i], f.eval(d))
			}
		}
		f.bind("caller", vObj)
		f.bind("varargs", iterOf(vData))
		f.bind("kwargs", vData)
	}
}

// assign binds targets to v; several targets unpack the elements of v.
// A namespace() value also binds its keyword fields as "name.field".
func (f *flow) assign(ts []target, v aval, src *node) {
	if len(ts) == 1 {
		f.bind(ts[0].name, v)
		if src != nil && src.kind == nCall && len(src.kids) > 0 && src.kids[0].kind == nName && src.kids[0].name == "namespace" {
			for _, kw := range src.kw {
				f.bind(ts[0].name+"."+kw.name, f.eval(kw.val))
			}
			if len(src.kids) > 1 {
				// namespace(some_dict): fields come from a mapping whose
				// keys the evaluator does not track.
				f.bind(ts[0].name+".*", f.eval(src.kids[1]).valuesOf())
			}
		}
		return
	}
	items, ok := v.exactItems()
	for i, t := range ts {
		if ok && len(items) == len(ts) {
			f.bind(t.name, items[i])
		} else {
			f.bind(t.name, v.iterate())
		}
	}
}

// valuesOf is what a dict-like value's fields may hold.
func (v aval) valuesOf() aval {
	out := aval{data: v.data, open: v.open}
	if v.vals != nil {
		out = join(out, *v.vals)
	}
	return out
}

// lookup resolves a variable. A name the template never binds comes from
// the render context.
func (f *flow) lookup(name string) aval {
	switch name {
	case "true", "false", "none", "True", "False", "None":
		return vNum
	case "\x00open": // text of a block whose output is not computed
		return vOpen
	}
	if _, ok := f.macros[name]; ok {
		return vObj
	}
	if criticalGlobals[name] || sandboxGlobals[name] {
		return vObj
	}
	v, ok := f.env[name]
	if !ok {
		switch name {
		case "range", "namespace", "dict", "raise_exception", "strftime_now":
			return vObj
		}
		if publisherToken(name) {
			return join(vOpen, iterOf(vOpen))
		}
		return vData
	}
	return v
}

// publisherToken says whether a context variable is a token string the
// model's publisher chose, not chat data: transformers passes the
// tokenizer's special tokens (bos_token, eos_token, pad_token, unk_token,
// sep_token, cls_token, mask_token, additional_special_tokens and any other
// *_token key of tokenizer_config.json), llama.cpp and llama-cpp-python the
// vocabulary's bos/eos tokens. The same file that carries the template sets
// them, so a bos_token of "__globals__" is the template author's text: a
// name built from one is judged like one built from template literals.
func publisherToken(name string) bool {
	return strings.HasSuffix(name, "_token") || strings.HasSuffix(name, "_tokens")
}

// sink judges a value used as an attribute name.
func (f *flow) sink(v aval, off int, how string) {
	if !f.report {
		return
	}
	for _, s := range v.strs {
		if internal(s) || findInternal(s) != "" {
			f.c.add(RuleEscape, formats.Critical, off, "%s is computed at render time and can be %q, a Python internal; this is how templates break out to run commands", how, shorten(s))
			return
		}
	}
	if v.open {
		f.c.add(RuleComputed, formats.High, off, "%s is a string the template computes at render time from its own text in a way that cannot be followed here; it cannot be shown not to name a Python internal (real templates use literals, numbers or message fields)", how)
	}
}

// built reports a computed string that spells a Python internal even
// where no sink is visible: its only use is as an attribute name.
func (f *flow) built(v aval, off int) {
	if !f.report {
		return
	}
	for _, s := range v.strs {
		if m := findInternal(s); m != "" {
			f.c.add(RuleEscape, formats.Critical, off, "an expression evaluates to %q, the name of a Python internal, assembled at render time", shorten(m))
			return
		}
	}
}

func (f *flow) evalAll(ns []*node) []aval {
	out := make([]aval, len(ns))
	for i, n := range ns {
		out[i] = f.eval(n)
	}
	return out
}

func (f *flow) eval(n *node) aval {
	if n == nil {
		return vNum // none
	}
	switch n.kind {
	case nConst:
		if n.tok.kind == tString {
			return vStr(n.tok.text)
		}
		if v, ok := parseInt(n.tok.text); ok {
			return vInt(v)
		}
		return vNum
	case nName:
		return f.lookup(n.name)
	case nList, nTuple:
		return listOf(f.evalAll(n.kids))
	case nDict:
		var keys []aval
		var vals aval
		for i := 0; i+1 < len(n.kids); i += 2 {
			keys = append(keys, f.eval(n.kids[i]))
			vals = join(vals, f.eval(n.kids[i+1]))
		}
		d := listOf(keys)
		d.vals = &vals
		return d
	case nGetattr:
		return f.getattr(n)
	case nGetitem:
		base := f.eval(n.kids[0])
		key := f.eval(n.kids[1])
		if n.kids[1].kind != nConst {
			f.sink(key, n.kids[1].off, "a subscript key")
		}
		v := f.index(base, key)
		f.built(v, n.off)
		return v
	case nSlice:
		base := f.eval(n.kids[0])
		bounds := make([]aval, 3)
		for i, k := range n.kids[1:] {
			if k != nil {
				bounds[i] = f.eval(k)
			}
		}
		v := slice(base, bounds)
		f.built(v, n.off)
		return v
	case nCall:
		v := f.call(n)
		f.built(v, n.off)
		return v
	case nFilter:
		v := f.filter(n)
		f.built(v, n.off)
		return v
	case nTest:
		f.evalAll(n.kids)
		f.evalKw(n.kw)
		return vNum
	case nUnary:
		f.eval(n.kids[0])
		return vNum
	case nCond:
		a := f.eval(n.kids[0])
		f.eval(n.kids[1])
		return join(a, f.eval(n.kids[2]))
	case nBinary:
		v := f.binary(n)
		f.built(v, n.off)
		return v
	}
	return vOpen
}

func (f *flow) evalKw(kw []kwArg) map[string]aval {
	out := map[string]aval{}
	for _, k := range kw {
		out[k.name] = f.eval(k.val)
	}
	return out
}

func (f *flow) getattr(n *node) aval {
	base := n.kids[0]
	if base.kind == nName {
		if v, ok := f.env[base.name+"."+n.name]; ok {
			return join(v, f.env[base.name+".*"])
		}
		if v, ok := f.env[base.name+".*"]; ok {
			return v
		}
	}
	b := f.eval(base)
	var out aval
	if b.data || b.num {
		out = vData
	}
	if b.templateMade() || b.obj {
		// An attribute of a template string or list is a method (or
		// undefined): not a string, so not a name to resolve.
		out = join(out, vObj)
	}
	if b.vals != nil {
		// Jinja's getattr falls back to a subscript: {'a': x}.a is x.
		out = join(out, *b.vals)
	}
	if out.isEmpty() {
		return vData
	}
	return out
}

// index is base[key].
func (f *flow) index(base, key aval) aval {
	var out aval
	if base.data || base.num || base.obj {
		out = join(out, vData)
	}
	if base.open {
		out = join(out, vOpen)
	}
	if base.vals != nil {
		out = join(out, *base.vals)
	}
	exactKey := len(key.ints) > 0 && !key.num && !key.data && !key.open && len(key.strs) == 0
	if base.items != nil || base.elems != nil {
		if items, ok := base.exactItems(); ok && exactKey && base.vals == nil {
			for _, k := range key.ints {
				if i, ok := pyIndex(k, len(items)); ok {
					out = join(out, items[i])
				}
			}
		} else if base.vals == nil {
			out = join(out, base.elemsOnly())
		}
	}
	for _, s := range base.strs {
		if exactKey {
			r := []rune(s)
			for _, k := range key.ints {
				if i, ok := pyIndex(k, len(r)); ok {
					out = join(out, vStr(string(r[i])))
				}
			}
		} else {
			out = join(out, chars(s))
		}
	}
	if out.isEmpty() {
		return vData
	}
	return out
}

func pyIndex(k int64, n int) (int, bool) {
	if k < 0 {
		k += int64(n)
	}
	if k < 0 || k >= int64(n) {
		return 0, false
	}
	return int(k), true
}

// slice is base[a:b:c] with Python's rules for exact strings and lists.
func slice(base aval, bounds []aval) aval {
	var ints [3]*int64
	exact := true
	for i, b := range bounds {
		switch {
		case b.isEmpty():
			// omitted
		case len(b.ints) == 1 && !b.num && !b.data && !b.open && len(b.strs) == 0 && b.items == nil && b.elems == nil:
			v := b.ints[0]
			ints[i] = &v
		default:
			exact = false
		}
	}
	var out aval
	if base.data || base.obj {
		out = join(out, vData)
	}
	if base.open {
		out = join(out, vOpen)
	}
	if base.items != nil || base.elems != nil {
		if items, ok := base.exactItems(); ok && exact {
			idx := pySlice(len(items), ints)
			sub := make([]aval, 0, len(idx))
			for _, i := range idx {
				sub = append(sub, items[i])
			}
			out = join(out, listOf(sub))
		} else {
			out = join(out, iterOf(base.elemsOnly()))
		}
	}
	for _, s := range base.strs {
		if !exact {
			out = join(out, vOpen)
			continue
		}
		r := []rune(s)
		var b strings.Builder
		for _, i := range pySlice(len(r), ints) {
			b.WriteRune(r[i])
		}
		out = join(out, vStr(b.String()))
	}
	return out
}

// pySlice returns the indices Python's slice(start, stop, step) picks
// from a sequence of length n.
func pySlice(n int, b [3]*int64) []int {
	step := int64(1)
	if b[2] != nil {
		step = *b[2]
	}
	if step == 0 {
		return nil
	}
	norm := func(p *int64, def int64, lo, hi int64) int64 {
		if p == nil {
			return def
		}
		v := *p
		if v < 0 {
			v += int64(n)
			if v < lo {
				v = lo
			}
		} else if v > hi {
			v = hi
		}
		return v
	}
	var out []int
	if step > 0 {
		start := norm(b[0], 0, 0, int64(n))
		stop := norm(b[1], int64(n), 0, int64(n))
		for i := start; i < stop && len(out) < maxStrLen; i += step {
			out = append(out, int(i))
		}
	} else {
		start := norm(b[0], int64(n)-1, -1, int64(n)-1)
		stop := norm(b[1], -1, -1, int64(n)-1)
		if b[1] != nil && *b[1] < 0 && *b[1]+int64(n) < 0 {
			stop = -1
		}
		for i := start; i > stop && len(out) < maxStrLen; i += step {
			out = append(out, int(i))
		}
	}
	return out
}

func parseInt(s string) (int64, bool) {
	s = strings.ReplaceAll(s, "_", "")
	var v int64
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int64(s[i]-'0')
	}
	return v, true
}
