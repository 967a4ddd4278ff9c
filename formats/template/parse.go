package template

import "fmt"

// This file parses the expressions inside each tag into a small tree, with
// Jinja's own precedence (jinja2/parser.py: condexpr > or > and > not >
// compare > math1 (+ -) > concat (~) > math2 (* / // %) > pow > unary >
// postfix (. [] ()) > filters and tests). The tree feeds the value-flow
// evaluator in flow.go, which is what judges names computed at render time.

type nodeKind uint8

const (
	nConst   nodeKind = iota + 1 // string or number literal (tok)
	nName                        // variable (name)
	nList                        // [a, b] (kids)
	nTuple                       // (a, b) (kids)
	nDict                        // {k: v} (kids: k0, v0, k1, v1...)
	nGetattr                     // kids[0].name
	nGetitem                     // kids[0][kids[1]]
	nSlice                       // kids[0][kids[1]:kids[2]:kids[3]] (nil kids allowed)
	nCall                        // kids[0](kids[1:]..., kw...)
	nFilter                      // kids[0]|name(kids[1:]..., kw...)
	nTest                        // kids[0] is name(...): a boolean
	nUnary                       // name = op; kids[0]
	nBinary                      // name = op; kids[0], kids[1]
	nCond                        // kids[0] if kids[1] else kids[2] (kids[2] may be nil)
)

type kwArg struct {
	name string
	val  *node
	off  int
}

type node struct {
	kind nodeKind
	name string
	tok  token
	kids []*node
	kw   []kwArg
	off  int
}

// maxDepth bounds the parser's recursion: real templates nest a few
// levels; an expression nested deeper is refused (and reported) rather
// than walked with unbounded stack.
const maxDepth = 200

type parser struct {
	ts    []token
	p     int
	depth int
}

type parseError struct {
	off int
	msg string
}

func (e *parseError) Error() string { return e.msg }

func (ps *parser) fail(format string, args ...any) {
	off := -1
	if ps.p < len(ps.ts) {
		off = ps.ts[ps.p].off
	} else if len(ps.ts) > 0 {
		off = ps.ts[len(ps.ts)-1].off
	}
	panic(&parseError{off: off, msg: fmt.Sprintf(format, args...)})
}

func (ps *parser) peek() token {
	if ps.p < len(ps.ts) {
		return ps.ts[ps.p]
	}
	return token{}
}

func (ps *parser) peekN(n int) token {
	if ps.p+n < len(ps.ts) {
		return ps.ts[ps.p+n]
	}
	return token{}
}

func (ps *parser) isOp(s string) bool {
	t := ps.peek()
	return t.kind == tOp && t.text == s
}

func (ps *parser) isName(s string) bool {
	t := ps.peek()
	return t.kind == tName && t.text == s
}

func (ps *parser) next() token {
	t := ps.peek()
	if ps.p >= len(ps.ts) {
		ps.fail("unexpected end of tag")
	}
	ps.p++
	return t
}

func (ps *parser) expectOp(s string) {
	if !ps.isOp(s) {
		ps.fail("expected %q", s)
	}
	ps.p++
}

func (ps *parser) enter() {
	ps.depth++
	if ps.depth > maxDepth {
		ps.fail("expression nested more than %d levels", maxDepth)
	}
}

func (ps *parser) leave() { ps.depth-- }

// grow accounts for one more level of a left-deep chain (a ~ b ~ c...,
// x.a.b..., x|f|g...): each link makes the tree one level deeper, and the
// evaluator recurses once per level, so a 200,000-link chain would
// overflow its stack (a fatal error, not a recoverable panic). The caller
// gives the levels back with ps.depth -= links when the chain ends.
func (ps *parser) grow(links *int) {
	*links++
	ps.enter()
}

// parseTuple parses `expr (, expr)*` as Jinja's parse_tuple does for
// {{ }} bodies and {% set %} values: one expression, or a tuple of several.
func (ps *parser) parseTuple(simple bool) *node {
	off := ps.peek().off
	var items []*node
	for {
		if len(items) > 0 {
			if !ps.isOp(",") {
				break
			}
			ps.p++
		}
		if ps.atEnd() {
			break
		}
		if simple {
			items = append(items, ps.parsePrimaryPostfix())
		} else {
			items = append(items, ps.parseExpr())
		}
		if !ps.isOp(",") {
			break
		}
	}
	if len(items) == 1 && !(ps.p > 0 && ps.ts[ps.p-1].text == ",") {
		return items[0]
	}
	return &node{kind: nTuple, kids: items, off: off}
}

// atEnd says whether the tokens of the tag (or of the current clause) are
// used up.
func (ps *parser) atEnd() bool {
	if ps.p >= len(ps.ts) {
		return true
	}
	t := ps.peek()
	return t.kind == tName && (t.text == "recursive" || t.text == "in")
}

func (ps *parser) parseExpr() *node {
	ps.enter()
	defer ps.leave()
	e := ps.parseOr()
	for ps.isName("if") {
		off := ps.next().off
		cond := ps.parseOr()
		var alt *node
		if ps.isName("else") {
			ps.p++
			alt = ps.parseExpr()
		}
		e = &node{kind: nCond, kids: []*node{e, cond, alt}, off: off}
	}
	return e
}

func (ps *parser) binary(sub func() *node, ops ...string) *node {
	links := 0
	defer func() { ps.depth -= links }()
	l := sub()
	for {
		t := ps.peek()
		match := ""
		for _, o := range ops {
			if t.text == o && (t.kind == tOp || t.kind == tName) {
				match = o
				break
			}
		}
		if match == "" {
			return l
		}
		ps.p++
		ps.grow(&links)
		r := sub()
		l = &node{kind: nBinary, name: match, kids: []*node{l, r}, off: t.off}
	}
}

func (ps *parser) parseOr() *node  { return ps.binary(ps.parseAnd, "or") }
func (ps *parser) parseAnd() *node { return ps.binary(ps.parseNot, "and") }

func (ps *parser) parseNot() *node {
	if ps.isName("not") {
		t := ps.next()
		ps.enter()
		defer ps.leave()
		return &node{kind: nUnary, name: "not", kids: []*node{ps.parseNot()}, off: t.off}
	}
	return ps.parseCompare()
}

func (ps *parser) parseCompare() *node {
	links := 0
	defer func() { ps.depth -= links }()
	l := ps.parseMath1()
	for {
		t := ps.peek()
		switch {
		case t.kind == tOp && (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == ">" || t.text == "<=" || t.text == ">="):
			ps.p++
		case t.kind == tName && t.text == "in":
			ps.p++
		case t.kind == tName && t.text == "not" && ps.peekN(1).kind == tName && ps.peekN(1).text == "in":
			ps.p += 2
		default:
			return l
		}
		ps.grow(&links)
		r := ps.parseMath1()
		l = &node{kind: nBinary, name: "cmp", kids: []*node{l, r}, off: t.off}
	}
}

func (ps *parser) parseMath1() *node  { return ps.binary(ps.parseConcat, "+", "-") }
func (ps *parser) parseConcat() *node { return ps.binary(ps.parseMath2, "~") }
func (ps *parser) parseMath2() *node  { return ps.binary(ps.parsePow, "*", "/", "//", "%") }
func (ps *parser) parsePow() *node    { return ps.binary(ps.parseUnary, "**") }

func (ps *parser) parseUnary() *node {
	ps.enter()
	defer ps.leave()
	if ps.isOp("-") || ps.isOp("+") {
		t := ps.next()
		e := ps.parseUnary()
		return ps.parseFilters(&node{kind: nUnary, name: t.text, kids: []*node{e}, off: t.off})
	}
	return ps.parseFilters(ps.parsePrimaryPostfix())
}

func (ps *parser) parsePrimaryPostfix() *node {
	return ps.parsePostfix(ps.parsePrimary())
}

func (ps *parser) parsePrimary() *node {
	ps.enter()
	defer ps.leave()
	t := ps.peek()
	switch t.kind {
	case tName:
		ps.p++
		return &node{kind: nName, name: t.text, tok: t, off: t.off}
	case tString:
		ps.p++
		// Adjacent string literals concatenate, as in Python:
		// '__cla' 'ss__' is one string for Jinja.
		for ps.peek().kind == tString {
			n := ps.next()
			t.text += n.text
			t.raw += n.raw
		}
		return &node{kind: nConst, tok: t, off: t.off}
	case tNumber:
		ps.p++
		return &node{kind: nConst, tok: t, off: t.off}
	case tOp:
		switch t.text {
		case "(":
			ps.p++
			if ps.isOp(")") {
				ps.p++
				return &node{kind: nTuple, off: t.off}
			}
			e := ps.parseTuple(false)
			ps.expectOp(")")
			return e
		case "[":
			ps.p++
			n := &node{kind: nList, off: t.off}
			for !ps.isOp("]") {
				if len(n.kids) > 0 {
					ps.expectOp(",")
					if ps.isOp("]") {
						break
					}
				}
				n.kids = append(n.kids, ps.parseExpr())
			}
			ps.expectOp("]")
			return n
		case "{":
			ps.p++
			n := &node{kind: nDict, off: t.off}
			for !ps.isOp("}") {
				if len(n.kids) > 0 {
					ps.expectOp(",")
					if ps.isOp("}") {
						break
					}
				}
				k := ps.parseExpr()
				ps.expectOp(":")
				v := ps.parseExpr()
				n.kids = append(n.kids, k, v)
			}
			ps.expectOp("}")
			return n
		}
	}
	ps.fail("unexpected %q", t.text)
	return nil
}

func (ps *parser) parsePostfix(n *node) *node {
	links := 0
	defer func() { ps.depth -= links }()
	for {
		t := ps.peek()
		if t.kind != tOp {
			return n
		}
		if t.text == "." || t.text == "[" || t.text == "(" {
			ps.grow(&links)
		}
		switch t.text {
		case ".":
			ps.p++
			a := ps.next()
			if a.kind != tName && a.kind != tNumber {
				ps.fail("expected an attribute name after '.'")
			}
			n = &node{kind: nGetattr, name: a.text, kids: []*node{n}, tok: a, off: a.off}
		case "[":
			ps.p++
			n = ps.parseSubscript(n, t.off)
		case "(":
			ps.p++
			n = ps.parseCall(&node{kind: nCall, kids: []*node{n}, off: t.off})
		default:
			return n
		}
	}
}

func (ps *parser) parseSubscript(base *node, off int) *node {
	var parts [3]*node
	slice := false
	i := 0
	for !ps.isOp("]") {
		if ps.isOp(":") {
			ps.p++
			slice = true
			i++
			if i > 2 {
				ps.fail("a slice has at most three parts")
			}
			continue
		}
		if ps.isOp(",") { // x[a, b]: a tuple key
			ps.p++
			continue
		}
		if parts[i] != nil {
			ps.fail("expected ']'")
		}
		parts[i] = ps.parseExpr()
	}
	ps.expectOp("]")
	if slice {
		return &node{kind: nSlice, kids: []*node{base, parts[0], parts[1], parts[2]}, off: off}
	}
	if parts[0] == nil {
		ps.fail("empty subscript")
	}
	return &node{kind: nGetitem, kids: []*node{base, parts[0]}, off: off}
}

// parseCall reads arguments up to ')' into n.kids (after the callee or
// filter subject) and n.kw.
func (ps *parser) parseCall(n *node) *node {
	for !ps.isOp(")") {
		if len(n.kids) > 1 || len(n.kw) > 0 {
			ps.expectOp(",")
			if ps.isOp(")") {
				break
			}
		}
		if ps.isOp("*") || ps.isOp("**") {
			ps.p++
			n.kids = append(n.kids, ps.parseExpr())
			continue
		}
		if t := ps.peek(); t.kind == tName && ps.peekN(1).kind == tOp && ps.peekN(1).text == "=" {
			ps.p += 2
			n.kw = append(n.kw, kwArg{name: t.text, val: ps.parseExpr(), off: t.off})
			continue
		}
		n.kids = append(n.kids, ps.parseExpr())
	}
	ps.expectOp(")")
	return n
}

func (ps *parser) parseFilters(n *node) *node {
	links := 0
	defer func() { ps.depth -= links }()
	for {
		if ps.isOp("|") || ps.isName("is") {
			ps.grow(&links)
		}
		switch {
		case ps.isOp("|"):
			ps.p++
			name := ps.next()
			if name.kind != tName {
				ps.fail("expected a filter name after '|'")
			}
			full := name.text
			for ps.isOp(".") && ps.peekN(1).kind == tName {
				full += "." + ps.peekN(1).text
				ps.p += 2
			}
			f := &node{kind: nFilter, name: full, kids: []*node{n}, tok: name, off: name.off}
			if ps.isOp("(") {
				ps.p++
				f = ps.parseCall(f)
			}
			n = f
		case ps.isName("is"):
			ps.p++
			if ps.isName("not") {
				ps.p++
			}
			name := ps.next()
			te := &node{kind: nTest, name: name.text, kids: []*node{n}, off: name.off}
			for ps.isOp(".") && ps.peekN(1).kind == tName {
				ps.p += 2
			}
			switch {
			case ps.isOp("("):
				ps.p++
				te = ps.parseCall(te)
			case ps.startsArg():
				// `x is divisibleby 3`, `x is sameas none`
				te.kids = append(te.kids, ps.parsePrimaryPostfix())
			}
			n = te
		default:
			return n
		}
	}
}

// startsArg says whether the next token can begin a test's single bare
// argument (Jinja: a name that is not a keyword, a literal, or a bracket).
func (ps *parser) startsArg() bool {
	t := ps.peek()
	switch t.kind {
	case tString, tNumber:
		return true
	case tName:
		switch t.text {
		case "else", "or", "and", "is", "in", "if", "not", "recursive":
			return false
		}
		return true
	case tOp:
		return t.text == "[" || t.text == "{"
	}
	return false
}

// parse runs f under the parser's panic-based error handling.
func parse(ts []token, f func(ps *parser)) (err *parseError) {
	ps := &parser{ts: ts}
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(*parseError)
			if !ok {
				panic(r)
			}
			err = pe
		}
	}()
	f(ps)
	if ps.p < len(ps.ts) {
		ps.fail("unexpected %q", ps.peek().text)
	}
	return nil
}
