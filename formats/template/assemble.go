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
		if len(vals[name]) < maxCandidates {
			vals[name] = append(vals[name], v)
		}
	}
	for i, t := range tags {
		ts := t.toks
		if !t.stmt || len(ts) < 2 || ts[0].kind != tName || ts[1].kind != tName {
			continue
		}
		switch ts[0].text {
		case "set":
			if len(ts) == 2 || (len(ts) > 2 && ts[2].text == "|") {
				// Block set: the body up to the matching endset.
				if body, ok := setBody(src, tags, i); ok {
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
			if k != 2 {
				continue // tuple unpacking: skip
			}
			for _, e := range ts[k+1:] {
				if e.kind == tString {
					add(ts[1].text, e.text)
				}
			}
		}
	}
	return vals
}

// setBody returns the template text between a block {% set %} at tags[i]
// and its {% endset %}, nested set blocks included.
func setBody(src string, tags []tag, i int) (string, bool) {
	depth := 0
	for j := i + 1; j < len(tags); j++ {
		ts := tags[j].toks
		if !tags[j].stmt || len(ts) == 0 {
			continue
		}
		switch {
		case ts[0].text == "set" && (len(ts) == 2 || (len(ts) > 2 && ts[2].text == "|")):
			depth++
		case ts[0].text == "endset":
			if depth == 0 {
				return src[tags[i].end:tags[j].off], true
			}
			depth--
		}
	}
	return "", false
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
	}
}
