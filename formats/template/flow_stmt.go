package template

import "github.com/modelvet/modelvet/formats"

// parseTag turns one tag into the statements the evaluator runs.
// body is the text of a block {% set %} (from setBodies), if this is one.
func parseTag(t tag, body string) ([]stmt, error) {
	ts := t.toks
	if !t.stmt {
		var e *node
		if err := parse(ts, func(ps *parser) { e = ps.parseTuple(false) }); err != nil {
			return nil, err
		}
		return []stmt{{kind: sExpr, exprs: []*node{e}}}, nil
	}
	if len(ts) == 0 || ts[0].kind != tName {
		return nil, nil
	}
	rest := ts[1:]
	switch ts[0].text {
	case "set":
		eq := -1
		depth := 0
		for k, tk := range rest {
			if tk.kind == tOp {
				switch tk.text {
				case "(", "[", "{":
					depth++
				case ")", "]", "}":
					depth--
				case "=":
					if depth == 0 && eq < 0 {
						eq = k
					}
				}
			}
		}
		if eq < 0 {
			// Block set: {% set name %}body{% endset %}, maybe filtered.
			if len(rest) == 0 || rest[0].kind != tName {
				return nil, &parseError{off: t.off, msg: "set without a target"}
			}
			val := &node{kind: nConst, tok: token{kind: tString, text: body}, off: t.end}
			if hasMarker([]byte(body)) {
				val = &node{kind: nName, name: "\x00open", off: t.end}
			}
			var e *node
			if err := parse(rest[1:], func(ps *parser) { e = ps.parseFilters(val) }); err != nil {
				return nil, err
			}
			return []stmt{{kind: sSet, targets: []target{{name: rest[0].text}}, value: e}}, nil
		}
		targets, err := parseTargets(rest[:eq])
		if err != nil {
			return nil, err
		}
		var e *node
		if err := parse(rest[eq+1:], func(ps *parser) { e = ps.parseTuple(false) }); err != nil {
			return nil, err
		}
		return []stmt{{kind: sSet, targets: targets, value: e}}, nil
	case "for":
		in := -1
		for k, tk := range rest {
			if tk.kind == tName && tk.text == "in" {
				in = k
				break
			}
		}
		if in < 0 {
			return nil, &parseError{off: t.off, msg: "for without in"}
		}
		targets, err := parseTargets(rest[:in])
		if err != nil {
			return nil, err
		}
		var iter *node
		var conds []*node
		if err := parse(rest[in+1:], func(ps *parser) {
			iter = ps.parseIterable()
			if ps.isName("if") {
				ps.p++
				conds = append(conds, ps.parseExpr())
			}
			if ps.isName("recursive") {
				ps.p++
			}
		}); err != nil {
			return nil, err
		}
		return []stmt{{kind: sFor, targets: targets, value: iter, exprs: conds}}, nil
	case "if", "elif", "do", "call", "filter", "print":
		var e *node
		if err := parse(rest, func(ps *parser) {
			switch ts[0].text {
			case "call":
				if ps.isOp("(") { // {% call(args) m() %}: caller's params
					depth := 0
					for ps.p < len(ps.ts) {
						tk := ps.next()
						if tk.text == "(" {
							depth++
						} else if tk.text == ")" {
							depth--
							if depth == 0 {
								break
							}
						}
					}
				}
				e = ps.parseExpr()
			case "filter":
				name := ps.next()
				f := &node{kind: nFilter, name: name.text, kids: []*node{{kind: nName, name: "\x00open", off: name.off}}, off: name.off}
				if ps.isOp("(") {
					ps.p++
					f = ps.parseCall(f)
				}
				e = ps.parseFilters(f)
			default:
				e = ps.parseTuple(false)
			}
		}); err != nil {
			return nil, err
		}
		return []stmt{{kind: sExpr, exprs: []*node{e}}}, nil
	case "with":
		var out []stmt
		err := parse(rest, func(ps *parser) {
			for ps.p < len(ps.ts) {
				if len(out) > 0 {
					ps.expectOp(",")
				}
				name := ps.next()
				if name.kind != tName {
					ps.fail("expected a name in with")
				}
				ps.expectOp("=")
				out = append(out, stmt{kind: sSet, targets: []target{{name: name.text}}, value: ps.parseExpr()})
			}
		})
		return out, errOrNil(err)
	case "macro":
		if len(rest) < 1 || rest[0].kind != tName {
			return nil, &parseError{off: t.off, msg: "macro without a name"}
		}
		st := stmt{kind: sMacro, targets: []target{{name: rest[0].text}}}
		err := parse(rest[1:], func(ps *parser) {
			if !ps.isOp("(") {
				return
			}
			ps.p++
			for !ps.isOp(")") {
				if len(st.params) > 0 {
					ps.expectOp(",")
				}
				p := ps.next()
				if p.kind != tName {
					ps.fail("expected a parameter name")
				}
				st.params = append(st.params, p.text)
				var def *node
				if ps.isOp("=") {
					ps.p++
					def = ps.parseExpr()
				}
				st.defs = append(st.defs, def)
			}
			ps.expectOp(")")
		})
		if err != nil {
			return nil, err
		}
		return []stmt{st}, nil
	}
	// Other statements (include/import/extends are reported elsewhere;
	// block, end tags, else, break, continue, raw, generation...) carry no
	// expression that can compute a name, or one that a later tag uses.
	return nil, nil
}

func errOrNil(e *parseError) error {
	if e == nil {
		return nil
	}
	return e
}

// parseTargets reads assignment targets: a, b / (a, b) / ns.field.
func parseTargets(ts []token) ([]target, error) {
	var out []target
	for k := 0; k < len(ts); k++ {
		tk := ts[k]
		switch {
		case tk.kind == tOp && (tk.text == "," || tk.text == "(" || tk.text == ")"):
		case tk.kind == tName:
			name := tk.text
			if k+2 < len(ts) && ts[k+1].text == "." && ts[k+2].kind == tName {
				name += "." + ts[k+2].text
				k += 2
			}
			out = append(out, target{name: name})
		default:
			return nil, &parseError{off: tk.off, msg: "unexpected token in an assignment target"}
		}
	}
	if len(out) == 0 {
		return nil, &parseError{msg: "no assignment target"}
	}
	return out, nil
}

// parseIterable reads a for loop's iterable: a tuple of expressions
// without conditional expressions (the `if` belongs to the loop).
func (ps *parser) parseIterable() *node {
	off := ps.peek().off
	var items []*node
	for {
		items = append(items, ps.parseOr())
		if !ps.isOp(",") {
			break
		}
		ps.p++
		if ps.p >= len(ps.ts) || ps.isName("if") || ps.isName("recursive") {
			break
		}
	}
	if len(items) == 1 {
		return items[0]
	}
	return &node{kind: nTuple, kids: items, off: off}
}

// unparsedTag is the conservative check for a tag the expression parser
// could not read: any subscript whose key is not a plain literal.
func (c *checker) unparsedTag(t tag) {
	ts := t.toks
	for k := 0; k+1 < len(ts); k++ {
		if ts[k].kind != tOp || ts[k].text != "[" || k == 0 {
			continue
		}
		prev := ts[k-1]
		if prev.kind == tOp && prev.text != ")" && prev.text != "]" {
			continue // a list literal, not a subscript
		}
		if prev.kind == tName && isKeyword(prev.text) {
			continue
		}
		key := ts[k+1]
		if (key.kind == tString || key.kind == tNumber) && k+2 < len(ts) && (ts[k+2].text == "]" || ts[k+2].text == ":") {
			continue
		}
		if key.kind == tOp && (key.text == ":" || key.text == "-") {
			continue
		}
		c.add(RuleComputed, formats.High, key.off, "a subscript key in an expression modelvet could not parse is computed at render time; it cannot be shown not to name a Python internal")
		return
	}
}

func isKeyword(s string) bool {
	switch s {
	case "in", "and", "or", "not", "if", "else", "is":
		return true
	}
	return false
}
