package template

import (
	"strconv"
	"strings"

	"github.com/modelvet/modelvet/formats"
)

// This file catches attribute names assembled from pieces that no single
// literal shows: '_'*2 ~ 'class' ~ '_'*2, {% set a = '__' %}...x[a~'globals'~a],
// 'class'.center(9,'_'), 'class'.join(['__','__']), and {% set n %}__class__{% endset %}
// (a set block's body is a string value). Jinja's x['name'] falls back to
// getattr, so a subscript with such a key is as good as |attr.

// internalWords are the stems of the dunder attributes used to climb from
// any object to code execution (class -> mro/base -> subclasses -> init ->
// globals -> builtins/import). A literal that is exactly one of them, next to
// underscore material, is half of an assembled dunder.
var internalWords = map[string]bool{
	"class": true, "mro": true, "subclasses": true, "globals": true, "init": true, "base": true,
	"bases": true, "builtins": true, "import": true, "getattribute": true, "dict": true, "code": true,
	"closure": true, "loader": true, "spec": true, "reduce": true, "reduce_ex": true, "getitem": true,
	"subclasshook": true, "self": true, "func": true, "defaults": true, "kwdefaults": true, "module": true,
}

// maxCandidates bounds the values remembered per variable.
const maxCandidates = 16

// boundValues collects the string values a template gives its own
// variables: {% set a = 'x' ~ 'y' %} (the literal pieces joined, with
// 'x'*n repeated), {% set a %}body{% endset %} (the body text), and
// {% for a in ['x', 'y'] %} (each element). Values are candidates, not a
// render: enough to see a name assembled across tags.
func boundValues(src string, tags []tag) map[string][]string {
	vals := map[string][]string{}
	add := func(name, v string) {
		// Long values are followed by the value-flow evaluator (flow.go),
		// which bounds them; here they would make chains of
		// {% set a2 = a1 ~ 'x' %} cost quadratic time.
		if len(v) > maxStrLen {
			v = v[:maxStrLen]
		}
		if len(vals[name]) < maxCandidates {
			vals[name] = append(vals[name], v)
		}
	}
	bodies := setBodies(src, tags)
	for i, t := range tags {
		ts := t.toks
		if !t.stmt || len(ts) < 2 || ts[0].kind != tName || ts[1].kind != tName {
			continue
		}
		switch ts[0].text {
		case "set":
			if len(ts) == 2 || (len(ts) > 2 && ts[2].text == "|") {
				// Block set: the body up to the matching endset.
				if body, ok := bodies[i]; ok {
					add(ts[1].text, body)
				}
				continue
			}
			if len(ts) > 3 && ts[2].text == "=" {
				if v := literalValue(ts[3:], vals); v != "" {
					add(ts[1].text, v)
				}
			}
		case "for":
			k := 1
			for k < len(ts) && ts[k].text != "in" {
				k++
			}
			if k != 2 || k >= len(ts) {
				continue // tuple unpacking, or no "in": skip
			}
			// Only a literal list: for m in messages if m.role == 'x'
			// does not make m the string 'x'.
			if k+1 >= len(ts) || (ts[k+1].text != "[" && ts[k+1].text != "(") {
				continue
			}
			for _, e := range ts[k+2:] {
				if e.kind == tOp && (e.text == "]" || e.text == ")") {
					break
				}
				if e.kind == tString {
					add(ts[1].text, e.text)
				}
			}
		}
	}
	return vals
}

// setBodies maps each block {% set %} tag index to the template text up to
// its matching {% endset %}, nested set blocks included, in one pass (a
// template of many unclosed set blocks costs linear time, not quadratic).
func setBodies(src string, tags []tag) map[int]string {
	out := map[int]string{}
	var open []int
	for j, t := range tags {
		ts := t.toks
		if !t.stmt || len(ts) == 0 {
			continue
		}
		switch {
		case ts[0].text == "set" && (len(ts) == 2 || (len(ts) > 2 && ts[2].text == "|")):
			open = append(open, j)
		case ts[0].text == "endset" && len(open) > 0:
			i := open[len(open)-1]
			open = open[:len(open)-1]
			out[i] = src[tags[i].end:t.off]
		}
	}
	return out
}

// literalValue joins the string pieces of an expression, repeating
// 'x' * n, substituting variables already known, and applying
// replace/reverse/upper/lower. It returns "" when no string is involved.
func literalValue(ts []token, vals map[string][]string) string {
	var b strings.Builder
	any := false
	for k := 0; k < len(ts); k++ {
		tk := ts[k]
		switch tk.kind {
		case tString:
			s := tk.text
			if k+2 < len(ts) && ts[k+1].text == "*" && ts[k+2].kind == tNumber {
				if n, err := strconv.Atoi(ts[k+2].text); err == nil && n > 0 && n <= 64 {
					s = strings.Repeat(s, n)
					k += 2
				}
			}
			b.WriteString(s)
			any = true
		case tName:
			prev := ""
			if k > 0 {
				prev = ts[k-1].text
			}
			if prev == "." || prev == "|" {
				continue
			}
			if v, ok := vals[tk.text]; ok && len(v) > 0 {
				b.WriteString(v[0])
				any = true
			}
		}
	}
	if !any {
		return ""
	}
	return b.String()
}

// assembled checks one tag for an internal name built from pieces. It
// reports Critical when the pieces (variables resolved, repetition
// expanded) join into a dunder name, and Critical when a literal is exactly
// an internal stem (class, globals...) while the same tag holds underscore
// material (a string of only underscores, or character code 95): the only
// use of both together is building "__class__".
func (c *checker) assembled(t tag, vals map[string][]string) {
	ts := t.toks
	if len(ts) == 0 {
		return
	}
	// In {% set a = ... %} and {% for a in ... %} the target's own name is
	// not part of the value.
	if t.stmt && ts[0].kind == tName {
		switch ts[0].text {
		case "set":
			if len(ts) > 2 && ts[2].text == "=" {
				ts = ts[3:]
			}
		case "for":
			for k := range ts {
				if ts[k].kind == tName && ts[k].text == "in" {
					ts = ts[k+1:]
					break
				}
			}
		}
	}
	if len(ts) == 0 {
		return
	}
	joined := literalValue(ts, vals)
	if m := findInternal(joined); m != "" {
		c.add(RuleEscape, formats.Critical, ts[0].off, "the string pieces and template variables in this tag join into %q, the name of a Python internal; the template assembles an attribute name at render time", m)
		return
	}
	// Every candidate of every variable used in the tag, for the
	// stem-and-underscores test.
	var pieces []string
	for k, tk := range ts {
		switch tk.kind {
		case tString:
			pieces = append(pieces, tk.text)
		case tNumber:
			if tk.text == "95" {
				pieces = append(pieces, "_")
			}
		case tName:
			if k > 0 && (ts[k-1].text == "." || ts[k-1].text == "|") {
				continue
			}
			pieces = append(pieces, vals[tk.text]...)
		}
	}
	stem, under := "", false
	for _, p := range pieces {
		if p != "" && strings.Trim(p, "_") == "" {
			under = true
		}
		if w := strings.ToLower(strings.Trim(p, "_")); internalWords[w] && stem == "" {
			stem = w
		}
		if m := findInternal(p); m != "" {
			c.add(RuleEscape, formats.Critical, ts[0].off, "a template variable used here holds %q, the name of a Python internal", m)
			return
		}
	}
	if stem != "" && under {
		c.add(RuleEscape, formats.Critical, ts[0].off, "this tag combines the literal %q with underscore-only strings or character code 95; together they build the dunder name __%s__ at render time", stem, stem)
		return
	}
	// The underscores may come from somewhere no literal shows
	// ((dict(a_b=1)|first)[1], a slice of a string, the request): a
	// literal that is exactly a climbing stem, glued to something else
	// with ~, + or a join list, is still the visible half of a dunder.
	for k, tk := range ts {
		if tk.kind != tString || !climbStems[strings.ToLower(tk.text)] {
			continue
		}
		glued := func(j int) bool {
			return j >= 0 && j < len(ts) && ts[j].kind == tOp && (ts[j].text == "~" || ts[j].text == "+")
		}
		inList := k > 0 && k+1 < len(ts) && (ts[k-1].text == "," || ts[k-1].text == "[" || ts[k-1].text == "(") && (ts[k+1].text == "," || ts[k+1].text == "]" || ts[k+1].text == ")") && joinedLater(ts, k)
		if glued(k-1) || glued(k+1) || inList {
			c.add(RuleBuilt, formats.High, tk.off, "the literal %q (the middle of the dunder __%s__) is concatenated with other values; a template has no use for it except assembling that attribute name", tk.text, strings.ToLower(tk.text))
			return
		}
	}
}

// climbStems are the stems of the attributes an escape climbs through;
// unlike "code" or "self" none of them is a word chat text concatenates.
var climbStems = map[string]bool{
	"class": true, "mro": true, "subclasses": true, "globals": true, "builtins": true, "import": true,
	"getattribute": true, "bases": true, "subclasshook": true, "init": true,
}

// joinedLater says whether the list holding ts[k] goes through |join.
func joinedLater(ts []token, k int) bool {
	for j := k + 1; j+1 < len(ts); j++ {
		if ts[j].text == "|" && ts[j+1].text == "join" {
			return true
		}
		if ts[j].text == "%}" {
			break
		}
	}
	return false
}

// blockText reports Python internal names in template text that becomes a
// value: the body of a block {% set %}, a {% macro %} or {% call %} (whose
// output a caller can use as an attribute name: x[m()]), or a
// {% filter %} block. The body's text pieces and the literals its {{ }}
// tags print are joined, so a name split by an empty {{ ” }} is seen.
// Text outside such blocks is only output.
func (c *checker) blockText(src string, tags []tag, vals map[string][]string) {
	depth, start := 0, 0
	var body strings.Builder
	for i, t := range tags {
		ts := t.toks
		opened := false
		if t.stmt && len(ts) > 0 && ts[0].kind == tName {
			switch ts[0].text {
			case "macro", "call", "filter":
				depth++
				opened = true
			case "set":
				if len(ts) == 2 || (len(ts) > 2 && ts[2].text == "|") {
					depth++
					opened = true
				}
			case "endmacro", "endcall", "endfilter", "endset":
				if depth > 0 {
					depth--
					if depth == 0 {
						if m := findInternal(body.String()); m != "" {
							c.add(RuleEscape, formats.Critical, start, "the text of a set, macro or call block spells %q, the name of a Python internal; the block's output is a string the template can use as an attribute name", m)
						}
						body.Reset()
					}
				}
			}
		}
		if opened && depth == 1 {
			start = t.end
		}
		if depth == 0 || body.Len() > MaxSource {
			continue
		}
		if !t.stmt {
			body.WriteString(literalValue(ts, vals))
		}
		if i+1 < len(tags) && tags[i+1].off >= t.end {
			body.WriteString(src[t.end:tags[i+1].off])
		}
	}
}
