package template

import (
	"math"
	"strconv"
	"strings"
)

// Constant arithmetic over tokens, for the bomb checks (bomb.go): the
// sizes a template fixes itself, with its own variables set to constants.

// rangeLen is the length of range(...) whose '(' is at ts[k] when its
// arguments are constants, else 1 (a size from the render context).
func (c *checker) rangeLen(ts []token, k int) float64 {
	var args []float64
	j := k + 1
	for j < len(ts) {
		v, end, ok := c.constExpr(ts, j)
		if !ok {
			return 1
		}
		args = append(args, v)
		if len(args) > 3 {
			return 1
		}
		j = end
		if j < len(ts) && ts[j].text == "," {
			j++
			continue
		}
		break
	}
	if j >= len(ts) || ts[j].text != ")" {
		return 1
	}
	switch len(args) {
	case 1:
		return math.Max(args[0], 0)
	case 2:
		return math.Max(args[1]-args[0], 0)
	case 3:
		if args[2] == 0 {
			return 1
		}
		return math.Max((args[1]-args[0])/args[2], 0)
	}
	return 1
}

// constBefore evaluates the constant operand (a number, a power, a
// product or a parenthesized expression) that ends just before ts[k]. It
// walks back over at most maxConstTokens tokens to where that operand
// starts and parses once from there, so each operator costs O(window).
func (c *checker) constBefore(ts []token, k int) (float64, bool) {
	s, depth := k, 0
	for s > 0 && s > k-maxConstTokens {
		t := ts[s-1]
		switch {
		case t.kind == tNumber:
		case t.kind == tOp && t.text == ")":
			depth++
		case t.kind == tOp && t.text == "(":
			if depth == 0 {
				goto found
			}
			depth--
			if s-2 >= 0 && ts[s-2].kind == tName && depth == 0 {
				return 0, false // f(...): a call's result
			}
		case t.kind == tOp && (t.text == "**" || t.text == "*" || t.text == "/" || t.text == "//" || t.text == "%"):
		case t.kind == tOp && (t.text == "+" || t.text == "-") && depth > 0:
		default:
			goto found
		}
		s--
	}
found:
	if s == k || depth != 0 {
		return 0, false
	}
	v, end, ok := c.constExpr(ts, s)
	if !ok || end != k {
		return 0, false
	}
	return v, true
}

// constExpr evaluates the arithmetic constant expression starting at
// ts[i] (numbers, parentheses, unary minus, + - * / // % **), returning its
// value, the index after it and whether it was one. Values are floats:
// only their magnitude matters, and an overflow is +Inf ("huge").
func (c *checker) constExpr(ts []token, i int) (float64, int, bool) {
	p := constParser{ts: ts, i: i, lim: i + maxConstTokens, vars: c.consts}
	v, ok := p.sum(0)
	return v, p.i, ok
}

type constParser struct {
	ts   []token
	i    int
	lim  int                // tokens past lim are not read: the work per sink is bounded
	vars map[string]float64 // variables the template sets to constants
}

// maxConstTokens bounds one constant expression; a real bomb needs a
// handful of tokens, and a long chain (1*1*1*...) must not cost n^2.
const maxConstTokens = 64

func (p *constParser) peek() string {
	if p.i < len(p.ts) && p.i < p.lim && p.ts[p.i].kind == tOp {
		return p.ts[p.i].text
	}
	return ""
}

func (p *constParser) sum(depth int) (float64, bool) {
	v, ok := p.product(depth)
	for ok {
		switch p.peek() {
		case "+", "-":
			at, op := p.i, p.peek()
			p.i++
			w, ok2 := p.product(depth)
			if !ok2 {
				// a constant followed by a non-constant: the constant ends here
				p.i = at
				return v, true
			}
			if op == "+" {
				v += w
			} else {
				v -= w
			}
		default:
			return v, true
		}
	}
	return 0, false
}

func (p *constParser) product(depth int) (float64, bool) {
	v, ok := p.power(depth)
	for ok {
		switch p.peek() {
		case "*", "/", "//", "%":
			at, op := p.i, p.peek()
			p.i++
			w, ok2 := p.power(depth)
			if !ok2 {
				p.i = at
				return v, true
			}
			if op == "*" {
				v *= w
				continue
			}
			if w == 0 {
				return 0, false
			}
			switch op {
			case "%":
				v = math.Mod(v, w)
			case "//":
				v = math.Floor(v / w)
			default:
				v = v / w
			}
			ok = ok2
		default:
			return v, true
		}
	}
	return 0, false
}

// power: Jinja's ** is left-associative ((9 ** 9) ** 9).
func (p *constParser) power(depth int) (float64, bool) {
	v, ok := p.unary(depth)
	for ok && p.peek() == "**" {
		at := p.i
		p.i++
		w, ok2 := p.unary(depth)
		if !ok2 {
			p.i = at
			return v, true
		}
		v = math.Pow(v, w)
	}
	return v, ok
}

func (p *constParser) unary(depth int) (float64, bool) {
	if depth > 64 || p.i >= len(p.ts) || p.i >= p.lim {
		return 0, false
	}
	t := p.ts[p.i]
	switch {
	case t.kind == tOp && t.text == "-":
		p.i++
		v, ok := p.unary(depth + 1)
		return -v, ok
	case t.kind == tOp && t.text == "(":
		p.i++
		v, ok := p.sum(depth + 1)
		if !ok || p.peek() != ")" {
			return 0, false
		}
		p.i++
		return v, true
	case t.kind == tNumber:
		p.i++
		v, err := strconv.ParseFloat(strings.ReplaceAll(t.text, "_", ""), 64)
		return v, err == nil
	case t.kind == tName:
		if v, ok := p.vars[t.text]; ok && !(p.i+1 < len(p.ts) && p.ts[p.i+1].text == ".") {
			p.i++
			return v, true
		}
	}
	return 0, false
}
