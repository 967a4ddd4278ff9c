package template

import (
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/modelvet/modelvet/formats"
)

// Operators, calls, filters and string methods, each modelled exactly
// where its inputs are exact and as open (unknown template text) or data
// otherwise.

func (f *flow) binary(n *node) aval {
	a := f.eval(n.kids[0])
	b := f.eval(n.kids[1])
	switch n.name {
	case "and", "or":
		return join(a, b)
	case "cmp":
		return vNum
	case "~":
		return strResult(func(s []string) (string, bool) { return s[0] + s[1], true }, a, b)
	case "+":
		if isList(a) || isList(b) {
			ai, aok := a.exactItems()
			bi, bok := b.exactItems()
			if aok && bok {
				return listOf(append(append([]aval(nil), ai...), bi...))
			}
			return iterOf(join(a.elemsOnly(), b.elemsOnly()))
		}
		if isStr(a) || isStr(b) {
			return strResult(func(s []string) (string, bool) { return s[0] + s[1], true }, a, b)
		}
		return intOp(a, b, func(x, y int64) (int64, bool) { return x + y, true })
	case "-":
		return intOp(a, b, func(x, y int64) (int64, bool) { return x - y, true })
	case "*":
		if (maxIntOf(a) > maxRepeat && !numericOnly(b)) || (maxIntOf(b) > maxRepeat && !numericOnly(a)) {
			f.bomb(n.off, "a string or list is repeated %d times (a count the template computes); that exhausts memory", max(maxIntOf(a), maxIntOf(b)))
		}
		if isList(a) || isList(b) {
			return iterOf(join(a.elemsOnly(), b.elemsOnly()))
		}
		if isStr(a) || isStr(b) {
			s, k := a, b
			if isStr(b) {
				s, k = b, a
			}
			return repeat(s, k)
		}
		return intOp(a, b, func(x, y int64) (int64, bool) {
			if x != 0 && (x*y)/x != y {
				return 0, false // overflow: an unknown number
			}
			return x * y, true
		})
	case "**":
		if e := maxIntOf(b); e > maxExponent {
			f.bomb(n.off, "a power with exponent %d (computed by the template): big-integer arithmetic that runs for minutes or exhausts memory", e)
		}
	case "//":
		return intOp(a, b, func(x, y int64) (int64, bool) {
			if y == 0 {
				return 0, false
			}
			return floorDiv(x, y), true
		})
	case "%":
		if isStr(a) {
			return printfVal(a, b)
		}
		return intOp(a, b, func(x, y int64) (int64, bool) {
			if y == 0 {
				return 0, false
			}
			return x - y*floorDiv(x, y), true
		})
	}
	return join(vNum, dataIf(a, b))
}

// maxIntOf is the largest exact integer v may be (0 if none).
func maxIntOf(v aval) int64 {
	var m int64
	for _, x := range v.ints {
		if x > m {
			m = x
		}
	}
	return m
}

// numericOnly says whether v can only be a number (so multiplying it
// repeats nothing).
func numericOnly(v aval) bool {
	return len(v.strs) == 0 && v.items == nil && v.elems == nil && !v.open && !v.data && !v.obj && (len(v.ints) > 0 || v.num)
}

func kwVals(kw map[string]aval) []aval {
	out := make([]aval, 0, len(kw))
	for _, v := range kw {
		out = append(out, v)
	}
	return out
}

// bomb reports a render-time bomb the evaluator found through values
// (variables, namespaces, macro parameters, numbers spelled as text),
// once per template: the token-level checks in bomb.go report the
// literal ones.
func (f *flow) bomb(off int, format string, args ...any) {
	if !f.report {
		return
	}
	for _, x := range f.c.out {
		if x.Rule == RuleBomb {
			return
		}
	}
	f.c.add(RuleBomb, formats.High, off, format, args...)
}

func floorDiv(x, y int64) int64 {
	q := x / y
	if (x%y != 0) && ((x < 0) != (y < 0)) {
		q--
	}
	return q
}

func isList(v aval) bool { return v.items != nil || v.elems != nil }
func isStr(v aval) bool  { return len(v.strs) > 0 || v.open }

// dataIf is data when any input is data, open when any carries template
// text: what an unmodelled operation on them yields.
func dataIf(vs ...aval) aval {
	var out aval
	for _, v := range vs {
		if v.templateMade() {
			out.open = true
		}
		if v.data || v.obj {
			out.data = true
		}
	}
	return out
}

func intOp(a, b aval, op func(x, y int64) (int64, bool)) aval {
	out := aval{num: a.num || b.num || a.data || b.data}
	if a.templateMade() || b.templateMade() {
		out = join(out, dataIf(a, b))
	}
	if len(a.ints)*len(b.ints) > maxStrs {
		out.num = true
		return out
	}
	for _, x := range a.ints {
		for _, y := range b.ints {
			if r, ok := op(x, y); ok {
				out = join(out, vInt(r))
			} else {
				out.num = true
			}
		}
	}
	if out.isEmpty() {
		return vNum
	}
	return out
}

func repeat(s, k aval) aval {
	out := aval{}
	if k.num || k.data || k.open || len(k.ints) == 0 {
		out.open = s.templateMade()
		out.data = !out.open
	}
	for _, str := range s.strs {
		for _, n := range k.ints {
			if n <= 0 {
				out = join(out, vStr(""))
				continue
			}
			if int64(len(str))*n > maxStrLen {
				out = join(out, vOpen)
				continue
			}
			out = join(out, vStr(strings.Repeat(str, int(n))))
		}
	}
	if s.open {
		out = join(out, vOpen)
	}
	return out
}

// call evaluates a call expression.
func (f *flow) call(n *node) aval {
	callee := n.kids[0]
	args := f.evalAll(n.kids[1:])
	kw := f.evalKw(n.kw)
	switch callee.kind {
	case nName:
		if params, ok := f.macros[callee.name]; ok {
			for i, a := range args {
				if i < len(params) {
					f.bind(params[i], a)
				} else {
					f.bind("varargs", iterOf(a))
				}
			}
			for k, v := range kw {
				f.bind(k, v)
			}
			// A macro's output is its body text with values filled in.
			return vOpen
		}
		switch callee.name {
		case "range":
			for _, a := range args {
				if m := maxIntOf(a); m > maxRange {
					f.bomb(n.off, "range() up to %d, a bound the template computes (the sandbox refuses more than %d; plain Jinja2 builds them all)", m, maxRange)
				}
			}
			return iterOf(vNum)
		case "dict":
			var keys []aval
			var vals aval
			for _, k := range n.kw {
				keys = append(keys, vStr(k.name))
				vals = join(vals, kw[k.name])
			}
			for _, a := range args {
				vals = join(vals, a.valuesOf())
				keys = append(keys, a.iterate())
			}
			d := listOf(keys)
			d.vals = &vals
			return d
		case "namespace":
			return vObj
		case "caller":
			return vOpen
		}
		v := f.lookup(callee.name)
		if v.obj || v.templateMade() {
			return join(vOpen, vData)
		}
		return vData
	case nGetattr:
		return f.method(callee, args, kw)
	}
	v := f.eval(callee)
	if v.data && !v.templateMade() && !v.obj {
		return vData
	}
	return join(vOpen, vData)
}

// method evaluates recv.name(args): Python's str and list/dict methods on
// template values, mutation of template lists included (l.append(x) makes
// x part of l wherever l is used).
func (f *flow) method(callee *node, args []aval, kw map[string]aval) aval {
	name := callee.name
	base := callee.kids[0]
	recv := f.eval(base)
	arg := func(i int) aval {
		if i < len(args) {
			return args[i]
		}
		return aval{}
	}
	if base.kind == nName && (isList(recv) || recv.vals != nil) {
		switch name {
		case "append", "insert", "extend", "update", "setdefault", "__setitem__":
			var added aval
			for _, a := range args {
				added = join(added, a)
				if name == "extend" || name == "update" {
					added = join(added, a.iterate())
				}
			}
			for _, v := range kw {
				added = join(added, v)
			}
			nv := iterOf(join(recv.elemsOnly(), added))
			nv.vals = recv.vals
			if name == "update" || name == "setdefault" {
				vv := join(recv.valuesOf(), added)
				nv.vals = &vv
			}
			f.bind(base.name, nv)
			return vNum
		}
	}
	var out aval
	if recv.data || recv.num {
		out = vData
	}
	if base.kind == nName && base.name == "loop" && name == "cycle" {
		for _, a := range args {
			out = join(out, a)
		}
		return out
	}
	if isList(recv) || recv.vals != nil {
		switch name {
		case "keys":
			out = join(out, iterOf(recv.elemsOnly()))
		case "values":
			out = join(out, iterOf(recv.valuesOf()))
		case "items":
			out = join(out, iterOf(listOf([]aval{recv.elemsOnly(), recv.valuesOf()})))
		case "get", "pop", "setdefault":
			out = join(out, join(recv.valuesOf(), recv.elemsOnly()))
			out = join(out, arg(1))
		case "index", "count":
			out = join(out, vNum)
		case "copy":
			out = join(out, recv)
		default:
			out = join(out, dataIf(recv))
		}
	}
	if isStr(recv) {
		out = join(out, strMethod(f, callee, recv, name, args, kw))
	}
	if recv.obj {
		out = join(out, join(vOpen, vData))
	}
	if out.isEmpty() {
		return vData
	}
	return out
}

func strMethod(f *flow, callee *node, recv aval, name string, args []aval, kw map[string]aval) aval {
	one := func(fn func(s string) string) aval {
		return strResult(func(s []string) (string, bool) { return fn(s[0]), true }, recv)
	}
	with := func(fn func(s []string) (string, bool)) aval {
		return strResult(fn, append([]aval{recv}, args...)...)
	}
	switch name {
	case "upper":
		return one(strings.ToUpper)
	case "lower", "casefold":
		return one(strings.ToLower)
	case "title":
		return one(pyTitle)
	case "capitalize":
		return one(pyCapitalize)
	case "swapcase":
		return one(func(s string) string {
			return strings.Map(func(r rune) rune {
				if unicode.IsUpper(r) {
					return unicode.ToLower(r)
				}
				return unicode.ToUpper(r)
			}, s)
		})
	case "strip", "lstrip", "rstrip":
		return with(func(s []string) (string, bool) {
			cut := " \t\n\r\x0b\x0c"
			if len(s) > 1 {
				cut = s[1]
			}
			switch name {
			case "lstrip":
				return strings.TrimLeft(s[0], cut), true
			case "rstrip":
				return strings.TrimRight(s[0], cut), true
			}
			return strings.Trim(s[0], cut), true
		})
	case "replace":
		return with(func(s []string) (string, bool) {
			if len(s) < 3 {
				return "", false
			}
			n := -1
			if len(s) > 3 {
				v, err := strconv.Atoi(s[3])
				if err != nil {
					return "", false
				}
				n = v
			}
			return strings.Replace(s[0], s[1], s[2], n), true
		})
	case "removeprefix":
		return with(func(s []string) (string, bool) {
			if len(s) < 2 {
				return "", false
			}
			return strings.TrimPrefix(s[0], s[1]), true
		})
	case "removesuffix":
		return with(func(s []string) (string, bool) {
			if len(s) < 2 {
				return "", false
			}
			return strings.TrimSuffix(s[0], s[1]), true
		})
	case "center", "ljust", "rjust":
		return with(func(s []string) (string, bool) { return pad(name, s) })
	case "zfill":
		return with(func(s []string) (string, bool) {
			if len(s) < 2 {
				return "", false
			}
			w, err := strconv.Atoi(s[1])
			if err != nil || w > maxStrLen {
				return "", false
			}
			r := []rune(s[0])
			if len(r) >= w {
				return s[0], true
			}
			return strings.Repeat("0", w-len(r)) + s[0], true
		})
	case "join":
		if len(args) == 0 {
			return vOpen
		}
		return joinList(recv, args[0])
	case "format":
		if recv.open && f.report {
			f.c.add(RuleComputed, formats.High, callee.off, "str.format is called on a string the template computes at render time; its {0.name} fields read attributes, so it cannot be shown not to reach Python internals")
		}
		return strFormatVal(recv, args, kw)
	case "format_map":
		if f.report {
			f.c.add(RuleComputed, formats.High, callee.off, "str.format_map reads attributes through its {name.attr} fields; chat templates do not use it")
		}
		return vOpen
	case "split", "rsplit", "splitlines", "partition", "rpartition":
		parts := strResult(func(s []string) (string, bool) { return s[0], true }, recv)
		return iterOf(join(vOpen, parts))
	case "startswith", "endswith", "find", "rfind", "index", "rindex", "count",
		"isalpha", "isdigit", "isalnum", "isspace", "islower", "isupper", "istitle", "isnumeric", "isdecimal", "isidentifier", "isprintable", "isascii":
		return vNum
	}
	return join(vOpen, dataIf(recv))
}

func pad(how string, s []string) (string, bool) {
	if len(s) < 2 {
		return "", false
	}
	w, err := strconv.Atoi(s[1])
	if err != nil || w > maxStrLen {
		return "", false
	}
	fill := " "
	if len(s) > 2 {
		if len([]rune(s[2])) != 1 {
			return "", false
		}
		fill = s[2]
	}
	n := len([]rune(s[0]))
	if n >= w {
		return s[0], true
	}
	total := w - n
	switch how {
	case "ljust":
		return s[0] + strings.Repeat(fill, total), true
	case "rjust":
		return strings.Repeat(fill, total) + s[0], true
	}
	// Python's center: the extra character goes left when n is odd and
	// total is odd (left = total/2 + (total & n & 1)).
	left := total/2 + (total & n & 1)
	return strings.Repeat(fill, left) + s[0] + strings.Repeat(fill, total-left), true
}

func pyTitle(s string) string {
	prev := false
	return strings.Map(func(r rune) rune {
		cased := unicode.IsLetter(r)
		var out rune
		if cased && !prev {
			out = unicode.ToUpper(r)
		} else if cased {
			out = unicode.ToLower(r)
		} else {
			out = r
		}
		prev = cased
		return out
	}, s)
}

func pyCapitalize(s string) string {
	r := []rune(strings.ToLower(s))
	if len(r) > 0 {
		r[0] = unicode.ToUpper(r[0])
	}
	return string(r)
}

// joinList is sep.join(list) / list|join(sep).
func joinList(sep, list aval) aval {
	if items, ok := list.exactItems(); ok {
		ins := append([]aval{sep}, items...)
		return strResult(func(s []string) (string, bool) { return strings.Join(s[1:], s[0]), true }, ins...)
	}
	// Elements known only as a set (a loop-built list, a mutated one):
	// any order, any count.
	if list.templateMade() || sep.templateMade() {
		return join(vOpen, dataIf(list))
	}
	return vData
}

// filter evaluates subject|name(args).
func (f *flow) filter(n *node) aval {
	subj := f.eval(n.kids[0])
	args := f.evalAll(n.kids[1:])
	kw := f.evalKw(n.kw)
	arg := func(i int) aval {
		if i < len(args) {
			return args[i]
		}
		return aval{}
	}
	argNode := func(i int) *node {
		if i+1 < len(n.kids) {
			return n.kids[i+1]
		}
		return nil
	}
	// Sinks: arguments the filter uses as attribute names.
	if a, ok := kw["attribute"]; ok {
		for _, k := range n.kw {
			if k.name == "attribute" && k.val.kind != nConst {
				f.sink(a, k.val.off, "the attribute= argument of |"+n.name)
			}
		}
	}
	if widthCalls[n.name] {
		for _, a := range append(append([]aval(nil), args...), kwVals(kw)...) {
			if m := maxIntOf(a); m > maxRepeat {
				f.bomb(n.off, "|%s(%d) (a size the template computes) pads or fills past any chat's size; rendering exhausts memory or time", n.name, m)
			}
		}
	}
	switch n.name {
	case "int", "float":
		// '999999999'|int: a number spelled as template text is still
		// the template's own constant
		if len(subj.strs) > 0 && !subj.open && !subj.data {
			out := aval{}
			for _, s := range subj.strs {
				v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
				if err != nil || v > 1<<62 || v < -(1<<62) {
					out.num = true
					continue
				}
				out = join(out, vInt(int64(v)))
			}
			return out
		}
	case "attr":
		if an := argNode(0); an != nil && an.kind != nConst {
			f.sink(arg(0), an.off, "the name given to |attr")
		}
	case "selectattr", "rejectattr", "groupby":
		if an := argNode(0); an != nil && an.kind != nConst {
			f.sink(arg(0), an.off, "the attribute name given to |"+n.name)
		}
	case "map", "select", "reject":
		// |map('attr', name) applies |attr; a filter name computed at
		// render time may be 'attr'.
		if an := argNode(0); an != nil {
			name := arg(0)
			mayAttr := name.open
			for _, s := range name.strs {
				if s == "attr" {
					mayAttr = true
				}
			}
			if mayAttr {
				for i := 1; i < len(args); i++ {
					f.sink(args[i], n.kids[i+1].off, "an argument that |"+n.name+" passes to |attr")
				}
				if an.kind != nConst {
					f.sink(name, an.off, "the filter name given to |"+n.name)
				}
			}
		}
	}
	one := func(fn func(s string) string) aval {
		return strResult(func(s []string) (string, bool) { return fn(s[0]), true }, subj)
	}
	switch n.name {
	case "join":
		sep := arg(0)
		if sep.isEmpty() {
			sep = vStr("")
		}
		if _, ok := kw["attribute"]; ok {
			return join(vOpen, dataIf(subj))
		}
		if isStr(subj) && !isList(subj) {
			// a string joins its own characters: the same text
			return strResult(func(s []string) (string, bool) {
				r := []rune(s[1])
				parts := make([]string, len(r))
				for i, c := range r {
					parts[i] = string(c)
				}
				return strings.Join(parts, s[0]), true
			}, sep, subj)
		}
		return joinList(sep, subj)
	case "reverse":
		var out aval
		if items, ok := subj.exactItems(); ok {
			rev := make([]aval, len(items))
			for i := range items {
				rev[len(items)-1-i] = items[i]
			}
			return listOf(rev)
		}
		if isList(subj) {
			out = iterOf(subj.elemsOnly())
		}
		if subj.data {
			out = join(out, vData)
		}
		return join(out, one(reverse))
	case "upper":
		return one(strings.ToUpper)
	case "lower":
		return one(strings.ToLower)
	case "title":
		return one(pyTitle)
	case "capitalize":
		return one(pyCapitalize)
	case "trim":
		chars := arg(0)
		if chars.isEmpty() {
			return one(strings.TrimSpace)
		}
		return strResult(func(s []string) (string, bool) { return strings.Trim(s[0], s[1]), true }, subj, chars)
	case "string", "e", "escape", "forceescape", "safe":
		if isList(subj) {
			return join(vOpen, dataIf(subj))
		}
		return subj
	case "replace":
		ins := append([]aval{subj}, args...)
		return strResult(func(s []string) (string, bool) {
			if len(s) < 3 {
				return "", false
			}
			n := -1
			if len(s) > 3 {
				v, err := strconv.Atoi(s[3])
				if err != nil {
					return "", false
				}
				n = v
			}
			return strings.Replace(s[0], s[1], s[2], n), true
		}, ins...)
	case "format":
		if len(n.kw) > 0 {
			return join(vOpen, dataIf(subj))
		}
		return printfVal(subj, listOf(args))
	case "center":
		w := arg(0)
		if w.isEmpty() {
			w = vInt(80)
		}
		return strResult(func(s []string) (string, bool) { return pad("center", s) }, subj, w)
	case "first", "last", "random", "min", "max":
		if items, ok := subj.exactItems(); ok && len(items) > 0 && n.name != "random" && n.name != "min" && n.name != "max" {
			if n.name == "first" {
				return items[0]
			}
			return items[len(items)-1]
		}
		out := subj.iterate()
		if out.isEmpty() {
			return vData
		}
		return out
	case "list", "sort", "unique", "batch", "slice", "select", "reject", "selectattr", "rejectattr", "dictsort", "items":
		if items, ok := subj.exactItems(); ok && n.name == "list" {
			return listOf(items)
		}
		if n.name == "list" && len(subj.strs) == 1 && !subj.open && !isList(subj) {
			r := []rune(subj.strs[0])
			if len(r) <= maxItems {
				items := make([]aval, len(r))
				for i, c := range r {
					items[i] = vStr(string(c))
				}
				return listOf(items)
			}
		}
		e := subj.iterate()
		if n.name == "batch" || n.name == "slice" || n.name == "dictsort" || n.name == "items" {
			e = iterOf(join(e, subj.valuesOf()))
		}
		return iterOf(e)
	case "map":
		e := subj.iterate()
		if e.templateMade() {
			return iterOf(join(vOpen, dataIf(e)))
		}
		return iterOf(vData)
	case "default", "d":
		return join(subj, arg(0))
	case "length", "count", "int", "float", "abs", "round", "sum", "wordcount", "filesizeformat":
		return join(vNum, func() aval {
			if _, ok := kw["attribute"]; ok {
				return vData
			}
			return aval{}
		}())
	case "tojson", "pprint", "indent", "wordwrap", "truncate", "urlencode", "urlize", "striptags", "xmlattr":
		return join(dataIf(subj), func() aval {
			if subj.data {
				return vData
			}
			return aval{}
		}())
	case "attr":
		if subj.data {
			return vData
		}
		return join(vOpen, vData)
	}
	// A filter the evaluator does not model.
	out := dataIf(subj)
	if subj.data || subj.num {
		out.data = true
	}
	if out.isEmpty() {
		return vData
	}
	return out
}

// printfVal is fmt % args (and |format(*args)) for exact inputs.
func printfVal(fmtv, args aval) aval {
	items, ok := args.exactItems()
	if !ok {
		if isList(args) {
			return join(vOpen, dataIf(args))
		}
		items = []aval{args}
	}
	ins := append([]aval{fmtv}, items...)
	return strResult(func(s []string) (string, bool) { return pyPercent(s[0], s[1:]) }, ins...)
}

// pyPercent applies Python's %-formatting to text arguments (numbers are
// given as their decimal text).
func pyPercent(f string, args []string) (string, bool) {
	var b strings.Builder
	ai := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		i++
		if i >= len(f) {
			return "", false
		}
		if f[i] == '%' {
			b.WriteByte('%')
			continue
		}
		if f[i] == '(' {
			return "", false // mapping keys: not modelled
		}
		left := false
		zero := false
		for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
			if f[i] == '-' {
				left = true
			}
			if f[i] == '0' {
				zero = true
			}
			i++
		}
		w := 0
		for i < len(f) && f[i] >= '0' && f[i] <= '9' {
			w = w*10 + int(f[i]-'0')
			if w > maxStrLen {
				return "", false
			}
			i++
		}
		prec := -1
		if i < len(f) && f[i] == '.' {
			i++
			prec = 0
			for i < len(f) && f[i] >= '0' && f[i] <= '9' {
				prec = prec*10 + int(f[i]-'0')
				if prec > maxStrLen {
					return "", false
				}
				i++
			}
		}
		for i < len(f) && (f[i] == 'l' || f[i] == 'h' || f[i] == 'L') {
			i++
		}
		if i >= len(f) || ai >= len(args) {
			return "", false
		}
		a := args[ai]
		ai++
		var out string
		switch f[i] {
		case 's', 'r', 'a':
			out = a
			if f[i] != 's' {
				out = "'" + a + "'"
			}
			if prec >= 0 && prec < len([]rune(out)) {
				out = string([]rune(out)[:prec])
			}
		case 'c':
			if r := []rune(a); len(r) == 1 && (a[0] < '0' || a[0] > '9') {
				out = a
			} else {
				v, err := strconv.Atoi(a)
				if err != nil || v < 0 || v > 0x10FFFF {
					return "", false
				}
				out = string(rune(v))
			}
		case 'd', 'i', 'u':
			if _, err := strconv.Atoi(a); err != nil {
				return "", false
			}
			out = a
		case 'x', 'X', 'o':
			v, err := strconv.ParseInt(a, 10, 64)
			if err != nil {
				return "", false
			}
			base := 16
			if f[i] == 'o' {
				base = 8
			}
			out = strconv.FormatInt(v, base)
			if f[i] == 'X' {
				out = strings.ToUpper(out)
			}
		default:
			return "", false
		}
		if n := len([]rune(out)); n < w {
			padc := " "
			if zero && !left && f[i] != 's' && f[i] != 'c' {
				padc = "0"
			}
			if left {
				out += strings.Repeat(" ", w-n)
			} else {
				out = strings.Repeat(padc, w-n) + out
			}
		}
		b.WriteString(out)
	}
	if ai != len(args) {
		return "", false // Python: not all arguments converted
	}
	return b.String(), true
}

// strFormatVal is fmt.format(*args, **kw) for exact inputs.
func strFormatVal(fmtv aval, args []aval, kw map[string]aval) aval {
	names := make([]string, 0, len(kw))
	for k := range kw {
		names = append(names, k)
	}
	sort.Strings(names)
	ins := append([]aval{fmtv}, args...)
	for _, k := range names {
		ins = append(ins, kw[k])
	}
	np := len(args)
	return strResult(func(s []string) (string, bool) {
		m := map[string]string{}
		for i, k := range names {
			m[k] = s[1+np+i]
		}
		return pyFormat(s[0], s[1:1+np], m)
	}, ins...)
}

// pyFormat applies str.format with fill/align/width and the c type;
// fields that read attributes or items ({0.x}, {0[k]}) are not modelled.
func pyFormat(f string, pos []string, kw map[string]string) (string, bool) {
	var b strings.Builder
	auto := 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c == '}' {
			if i+1 < len(f) && f[i+1] == '}' {
				b.WriteByte('}')
				i++
				continue
			}
			return "", false
		}
		if c != '{' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(f) && f[i+1] == '{' {
			b.WriteByte('{')
			i++
			continue
		}
		end := strings.IndexByte(f[i:], '}')
		if end < 0 {
			return "", false
		}
		field := f[i+1 : i+end]
		i += end
		spec := ""
		if k := strings.IndexByte(field, ':'); k >= 0 {
			field, spec = field[:k], field[k+1:]
		}
		if k := strings.IndexByte(field, '!'); k >= 0 {
			field = field[:k]
		}
		if strings.ContainsAny(field, ".[") {
			return "", false
		}
		var v string
		switch {
		case field == "":
			if auto >= len(pos) {
				return "", false
			}
			v = pos[auto]
			auto++
		case field[0] >= '0' && field[0] <= '9':
			k, err := strconv.Atoi(field)
			if err != nil || k >= len(pos) {
				return "", false
			}
			v = pos[k]
		default:
			s, ok := kw[field]
			if !ok {
				return "", false
			}
			v = s
		}
		out, ok := applySpec(v, spec)
		if !ok {
			return "", false
		}
		b.WriteString(out)
	}
	return b.String(), true
}

func applySpec(v, spec string) (string, bool) {
	if spec == "" {
		return v, true
	}
	r := []rune(spec)
	fill, align := ' ', rune(0)
	i := 0
	if len(r) >= 2 && strings.ContainsRune("<>^=", r[1]) {
		fill, align = r[0], r[1]
		i = 2
	} else if len(r) >= 1 && strings.ContainsRune("<>^=", r[0]) {
		align = r[0]
		i = 1
	}
	for i < len(r) && strings.ContainsRune("+- #0", r[i]) {
		i++
	}
	w := 0
	for i < len(r) && r[i] >= '0' && r[i] <= '9' {
		w = w*10 + int(r[i]-'0')
		if w > maxStrLen {
			return "", false
		}
		i++
	}
	for i < len(r) && (r[i] == ',' || r[i] == '_') {
		i++
	}
	if i < len(r) && r[i] == '.' {
		return "", false
	}
	if i < len(r) {
		switch r[i] {
		case 'c':
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 0x10FFFF {
				return "", false
			}
			v = string(rune(n))
		case 's', 'd':
		default:
			return "", false
		}
	}
	n := len([]rune(v))
	if n >= w {
		return v, true
	}
	padn := w - n
	fs := string(fill)
	switch align {
	case '>', '=':
		return strings.Repeat(fs, padn) + v, true
	case '^':
		return strings.Repeat(fs, padn/2) + v + strings.Repeat(fs, padn-padn/2), true
	}
	return v + strings.Repeat(fs, padn), true
}
