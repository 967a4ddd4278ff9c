package template

import (
	"hash"
	"hash/fnv"
	"io"
	"slices"
	"sort"
	"strconv"
)

// aval is what the evaluator knows of a value at render time: a join
// (union) of everything it may be. Strings the template builds from its
// own literals are computed exactly while they stay few and short; past
// those bounds, or through an operation the evaluator does not model, the
// value becomes "open": a string made from template material whose text
// is unknown, which can never be shown not to be "__class__".
type aval struct {
	strs  []string // exact strings it may be (at most maxStrs)
	ints  []int64  // exact integers it may be (at most maxStrs)
	items []aval   // positional elements, when it is a list or tuple of known length
	elems *aval    // what iterating it yields (list, tuple, dict keys, chars), when not positional
	vals  *aval    // for a dict: the join of its values
	num   bool     // may be a number, bool or none whose value is unknown
	data  bool     // may come from the render context (messages, tools...), not the template
	open  bool     // may be a string built from template material, text unknown
	obj   bool     // a template object: namespace, macro, Jinja global, method
	depth int      // nesting of items/elems, bounded by maxNest
}

const (
	maxStrs   = 32
	maxStrLen = 8192
	maxNest   = 6
	maxItems  = 64
)

var (
	vData = aval{data: true}
	vNum  = aval{num: true}
	vOpen = aval{open: true}
	vObj  = aval{obj: true}
)

func vStr(s string) aval {
	if len(s) > maxStrLen {
		return aval{open: true}
	}
	return aval{strs: []string{s}}
}

func vInt(n int64) aval { return aval{ints: []int64{n}} }

// templateMade says whether the value may carry the template's own string
// material (so an attacker who wrote the template may choose its text).
func (v aval) templateMade() bool {
	if v.open || len(v.strs) > 0 {
		return true
	}
	for _, it := range v.items {
		if it.templateMade() {
			return true
		}
	}
	return v.elems != nil && v.elems.templateMade()
}

func (v aval) isEmpty() bool {
	return len(v.strs) == 0 && len(v.ints) == 0 && v.items == nil && v.elems == nil && v.vals == nil && !v.num && !v.data && !v.open && !v.obj
}

func join(a, b aval) aval {
	if a.isEmpty() {
		return b
	}
	if b.isEmpty() {
		return a
	}
	out := aval{num: a.num || b.num, data: a.data || b.data, open: a.open || b.open, obj: a.obj || b.obj}
	out.strs = union(a.strs, b.strs, &out.open)
	out.ints = union(a.ints, b.ints, &out.num)
	switch {
	case a.items != nil && b.items != nil && len(a.items) == len(b.items):
		out.items = make([]aval, len(a.items))
		for i := range a.items {
			out.items[i] = join(a.items[i], b.items[i])
		}
	case a.items != nil || b.items != nil || a.elems != nil || b.elems != nil:
		e := join(a.elemsOnly(), b.elemsOnly())
		out.elems = &e
	}
	if a.vals != nil || b.vals != nil {
		var v aval
		if a.vals != nil {
			v = *a.vals
		}
		if b.vals != nil {
			v = join(v, *b.vals)
		}
		out.vals = &v
	}
	out.depth = max(a.depth, b.depth)
	return out.bound()
}

// elemsOnly is what iterating a list value yields, ignoring other kinds.
func (v aval) elemsOnly() aval {
	var e aval
	for _, it := range v.items {
		e = join(e, it)
	}
	if v.elems != nil {
		e = join(e, *v.elems)
	}
	return e
}

// bound keeps a value within the evaluator's limits; anything cut off
// becomes open (unknown template text) or data, never dropped.
func (v aval) bound() aval {
	if v.depth > maxNest {
		t := v.templateMade()
		return aval{open: t, data: v.data || !t, num: v.num}
	}
	if len(v.items) > maxItems {
		e := v.elemsOnly()
		v.items = nil
		v.elems = &e
	}
	return v
}

// union joins two bounded value sets; past maxStrs the rest is dropped
// and *overflow set (the value becomes open text or an unknown number).
func union[T comparable](a, b []T, overflow *bool) []T {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := append([]T(nil), a...)
	for _, s := range b {
		if slices.Contains(out, s) {
			continue
		}
		if len(out) >= maxStrs {
			*overflow = true
			break
		}
		out = append(out, s)
	}
	return out
}

func listOf(items []aval) aval {
	d := 0
	for _, it := range items {
		d = max(d, it.depth+1)
	}
	return aval{items: items, depth: d}.bound()
}

func iterOf(e aval) aval {
	return aval{elems: &e, depth: e.depth + 1}.bound()
}

// iterate is what `for x in v` binds x to.
func (v aval) iterate() aval {
	out := v.elemsOnly()
	if v.data {
		out = join(out, vData)
	}
	if v.num {
		out = join(out, vNum)
	}
	if v.open {
		out = join(out, vOpen) // characters of an unknown string
	}
	for _, s := range v.strs {
		out = join(out, chars(s))
	}
	return out
}

// chars is the set of one-character strings of s.
func chars(s string) aval {
	var out aval
	seen := map[rune]bool{}
	for _, r := range s {
		if !seen[r] {
			seen[r] = true
			out = join(out, vStr(string(r)))
		}
	}
	return out
}

// asStrings returns the value's possible texts as Python's str() would
// give them (numbers printed), and whether that list is complete.
func (v aval) asStrings() ([]string, bool) {
	out := append([]string(nil), v.strs...)
	for _, n := range v.ints {
		out = append(out, strconv.FormatInt(n, 10))
	}
	complete := !v.open && !v.num && !v.data && !v.obj && v.items == nil && v.elems == nil
	return out, complete
}

// strResult builds a string value from a function of exact inputs, over
// the cartesian product of the inputs' possible texts, bounded; when an
// input is not exactly known the result is open (if template material is
// involved) or data.
func strResult(f func(args []string) (string, bool), ins ...aval) aval {
	lists := make([][]string, len(ins))
	complete := true
	tmpl := false
	for i, in := range ins {
		s, ok := in.asStrings()
		lists[i] = s
		if !ok {
			complete = false
		}
		if in.templateMade() {
			tmpl = true
		}
	}
	var out aval
	if !complete {
		if tmpl {
			out.open = true
		} else {
			out.data = true
		}
	}
	n := 1
	for _, l := range lists {
		n *= max(len(l), 0)
		if n > maxStrs*4 {
			out.open = true
			return out
		}
	}
	if n == 0 {
		return out
	}
	idx := make([]int, len(lists))
	args := make([]string, len(lists))
	for {
		for i := range lists {
			args[i] = lists[i][idx[i]]
		}
		if s, ok := f(args); ok {
			out = join(out, vStr(s))
		} else {
			out = join(out, vOpen)
		}
		k := len(idx) - 1
		for k >= 0 {
			idx[k]++
			if idx[k] < len(lists[k]) {
				break
			}
			idx[k] = 0
			k--
		}
		if k < 0 {
			break
		}
	}
	return out
}

// exactItems returns the positional elements of a list value when known.
func (v aval) exactItems() ([]aval, bool) {
	if v.items == nil || v.elems != nil || v.open || v.data || v.num || len(v.strs) > 0 {
		return nil, false
	}
	return v.items, true
}

// summary is a stable text of the value, used to see when the
// evaluator's passes stop changing anything.
func (v aval) summary() uint64 {
	h := fnv.New64a()
	v.write(hashWriter{h})
	return h.Sum64()
}

type hashWriter struct{ h hash.Hash64 }

func (w hashWriter) WriteString(s string) (int, error) { return io.WriteString(w.h, s) }

func (v aval) write(b io.StringWriter) {
	s := append([]string(nil), v.strs...)
	sort.Strings(s)
	for _, x := range s {
		b.WriteString(x)
		b.WriteString("\x00")
	}
	b.WriteString("|")
	for _, n := range v.ints {
		b.WriteString(strconv.FormatInt(n, 10) + ",")
	}
	for _, f := range []bool{v.num, v.data, v.open, v.obj} {
		if f {
			b.WriteString("1")
		} else {
			b.WriteString("0")
		}
	}
	if v.items != nil {
		b.WriteString("[")
		for _, it := range v.items {
			it.write(b)
			b.WriteString(";")
		}
		b.WriteString("]")
	}
	if v.elems != nil {
		b.WriteString("<")
		v.elems.write(b)
		b.WriteString(">")
	}
	if v.vals != nil {
		b.WriteString("{")
		v.vals.write(b)
		b.WriteString("}")
	}
}
