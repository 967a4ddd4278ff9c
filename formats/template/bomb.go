package template

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/modelvet/modelvet/formats"
)

// RuleBomb is reported for a template whose rendering is made to cost
// unbounded time or memory by its own constants: every renderer, the
// sandboxed ones included (ImmutableSandboxedEnvironment only caps a
// single range() at 100,000 items), runs the template on every chat
// request, so a template bomb hangs or kills the serving process.
const RuleBomb = "template/resource-bomb" // render-time CPU/memory bombs (DoS of the loader/server)

// Bounds. A chat template renders a few KB from the messages it is given;
// its own constants never need to be this large.
const (
	maxRange     = 100_000 // Jinja's sandbox MAX_RANGE
	maxLoopWork  = 10_000_000
	maxRepeat    = 1 << 20 // string/list repetition factor, padding width
	maxExponent  = 1 << 20
	maxLipsumLen = 1000
)

// widthCalls are the filters and str methods whose first argument is a
// width or count that the output (or the work) grows with.
var widthCalls = map[string]bool{
	"center": true, "indent": true, "ljust": true, "rjust": true, "zfill": true,
	"expandtabs": true, "slice": true, "tojson": true, "batch": true,
}

// nestedWidth matches a format pattern whose width or precision is an
// argument: printf's '*' or a str.format replacement field nested in a
// spec ('{0:>{1}}').
var nestedWidth = regexp.MustCompile(`%[-+ #0]*\*|%[-+ #0]*[0-9]*\.\*|\{[^{}]*:[^{}]*\{`)

// printfWidth and formatWidth find a field width in a printf-style or
// str.format pattern ('%0999999999d', '{:>999999999}').
var (
	printfWidth = regexp.MustCompile(`%(?:\([^)]*\))?[-+ #0]*(?:[0-9]*\.)?([0-9]{7,})`)
	formatWidth = regexp.MustCompile(`\{[^{}]*:[^{}0-9]*0?(?:[0-9]*\.)?([0-9]{7,})[^{}]*\}`)
)

// bombs looks for the ways a template's own constants make rendering
// unbounded: a range over more than the sandbox allows, loops nested to
// more than maxLoopWork iterations, a string or list repeated (x * n) or
// padded (center, indent, '%0Nd', '{:>N}') past maxRepeat, a power whose
// result does not fit any sane size, lipsum asked for a book, a value that
// doubles on every loop iteration (ns.s = ns.s ~ ns.s), and a macro that
// calls itself more than once per level with a counter (2^n calls).
// Sizes that come from the render context (messages|length) are bounded
// by the request and are not judged here.
func (c *checker) bombs(tags []tag) {
	c.constVars(tags)
	var loops []float64
	var recursive []bool   // per open loop: {% for ... recursive %}
	var loopSets [][]token // {% set %} tags inside the current outermost loop
	work := 1.0
	var macro string
	var macroCalls int
	var macroCounter, macroInLoop bool
	macroOff, macroLoops := 0, 0
	var macroParams map[string]bool
	for _, t := range tags {
		ts := t.toks
		if t.stmt && len(ts) > 0 && ts[0].kind == tName {
			switch ts[0].text {
			case "for":
				n := c.loopLen(ts)
				loops = append(loops, n)
				recursive = append(recursive, ts[len(ts)-1].kind == tName && ts[len(ts)-1].text == "recursive")
				work *= n
				if work > maxLoopWork {
					c.add(RuleBomb, formats.High, ts[0].off, "nested loops over ranges the template fixes itself run about %.3g times; rendering never ends in practice", work)
				}
			case "endfor":
				if len(loops) > 0 {
					work /= loops[len(loops)-1]
					loops = loops[:len(loops)-1]
					recursive = recursive[:len(recursive)-1]
				}
			case "macro":
				if len(ts) > 1 {
					macro, macroCalls, macroCounter, macroOff = ts[1].text, 0, false, ts[0].off
					macroInLoop, macroLoops = false, len(loops)
					macroParams = map[string]bool{}
					for j := 3; j < len(ts); j++ {
						if ts[j].kind == tName && j+1 < len(ts) && (ts[j+1].text == "," || ts[j+1].text == ")" || ts[j+1].text == "=") {
							macroParams[ts[j].text] = true
						}
					}
				}
			case "endmacro":
				if (macroCalls >= 2 || macroInLoop) && macroCounter {
					c.add(RuleBomb, formats.High, macroOff, "the macro %q calls itself more than once per level (%d call sites, or inside a loop) with a counter argument: 2^n or n! calls, a render-time bomb", macro, macroCalls)
				}
				macro = ""
			case "set":
				if len(loops) > 0 {
					loopSets = append(loopSets, ts)
				}
			}
			if ts[0].text == "endfor" && len(loops) == 0 && len(loopSets) > 0 {
				c.loopGrowth(loopSets)
				loopSets = nil
			}
		}
		for k := 0; k < len(ts); k++ {
			tk := ts[k]
			switch {
			case macro != "" && tk.kind == tName && tk.text == macro && k+1 < len(ts) && ts[k+1].text == "(" && !(t.stmt && k == 1 && ts[0].text == "macro"):
				macroCalls++
				macroInLoop = macroInLoop || len(loops) > macroLoops
				if counterCall(ts, k+1, macroParams) {
					macroCounter = true
				}
			case tk.kind == tName && tk.text == "loop" && k+1 < len(ts) && ts[k+1].text == "(" && slices.Contains(recursive, true) && templateArgs(ts, k+1):
				// {% for x in range(40) recursive %}{{ loop(range(x)) }}:
				// the recursion walks lists the template makes, not the
				// request's data (loop(item.children)), so nothing bounds it
				c.add(RuleBomb, formats.High, tk.off, "a recursive loop recurses into sequences the template builds itself (range, list literals, numbers): the call tree grows exponentially")
			case tk.kind == tName && tk.text == "range" && k+1 < len(ts) && ts[k+1].text == "(":
				if n := c.rangeLen(ts, k+1); n > maxRange {
					c.add(RuleBomb, formats.High, tk.off, "range() over about %.3g numbers (the sandbox refuses more than %d; plain Jinja2 builds them all)", n, maxRange)
				}
			case tk.kind == tName && tk.text == "lipsum" && k+1 < len(ts) && ts[k+1].text == "(":
				if v, _, ok := c.constExpr(ts, k+2); ok && v > maxLipsumLen {
					c.add(RuleBomb, formats.High, tk.off, "lipsum(%.3g) generates that many paragraphs of filler at render time", v)
				}
			case tk.kind == tName && widthCalls[tk.text] && k+1 < len(ts) && ts[k+1].text == "(" && k > 0 && (ts[k-1].text == "|" || ts[k-1].text == "."):
				if v, ok := c.bigArg(ts, k+1); ok {
					c.add(RuleBomb, formats.High, tk.off, "%s(%.3g) pads, indents or fills to a size no chat needs; rendering exhausts memory or time", tk.text, v)
				}
			case tk.kind == tName && (tk.text == "format" || tk.text == "format_map") && k+1 < len(ts) && ts[k+1].text == "(" && k > 1 && ts[k-2].kind == tString && nestedWidth.MatchString(ts[k-2].text):
				// '%*d'|format(10**9, 1), '{0:>{1}}'.format('a', 10**9):
				// the width is an argument
				if v, ok := c.bigArg(ts, k+1); ok {
					c.add(RuleBomb, formats.High, tk.off, "the format string %s takes its field width from an argument, here %.3g; rendering exhausts memory or time", shorten(ts[k-2].raw), v)
				}
			case tk.kind == tOp && tk.text == "*":
				if v, _, ok := c.constExpr(ts, k+1); ok && v > maxRepeat {
					c.add(RuleBomb, formats.High, tk.off, "a value is multiplied by %.3g: repeating a string or list that often exhausts memory", v)
				} else if v, ok := c.constBefore(ts, k); ok && v > maxRepeat {
					c.add(RuleBomb, formats.High, tk.off, "a value is multiplied by %.3g: repeating a string or list that often exhausts memory", v)
				}
			case tk.kind == tOp && tk.text == "**":
				e, _, ok := c.constExpr(ts, k+1)
				b, bok := c.constBefore(ts, k)
				if ok && (e > maxExponent || (bok && math.IsInf(math.Pow(math.Abs(b), e), 1))) {
					c.add(RuleBomb, formats.High, tk.off, "a power with exponent %.3g: big-integer arithmetic that runs for minutes or exhausts memory", e)
				}
			case tk.kind == tString && strings.ContainsAny(tk.text, "%{"):
				for _, re := range []*regexp.Regexp{printfWidth, formatWidth} {
					if m := re.FindStringSubmatch(tk.text); m != nil {
						if w, err := strconv.ParseFloat(m[1], 64); err == nil && w > maxRepeat {
							c.add(RuleBomb, formats.High, tk.off, "the format string %s pads a field to %s characters; rendering exhausts memory or time", shorten(tk.raw), m[1])
						}
					}
				}
			}
		}
	}
}

// constVars collects {% set name = <constant expression> %}: a bound
// hidden behind a variable ({% set n = 10**9 %}{{ range(n)|list }}) is
// still the template's own constant. A name set more than once keeps its
// largest value; one also set to something else is not a constant.
func (c *checker) constVars(tags []tag) {
	c.consts = map[string]float64{}
	var other map[string]bool
	for pass := 0; pass < 2; pass++ { // a constant may be built from another
		other = map[string]bool{}
		for _, t := range tags {
			ts := t.toks
			if !t.stmt || len(ts) < 4 || ts[0].text != "set" || ts[1].kind != tName || ts[2].text != "=" {
				continue
			}
			v, end, ok := c.constExpr(ts, 3)
			if !ok || end != len(ts) {
				other[ts[1].text] = true
				continue
			}
			if old, seen := c.consts[ts[1].text]; !seen || v > old {
				c.consts[ts[1].text] = v
			}
		}
	}
	for n := range other {
		delete(c.consts, n)
	}
}

// bigArg reports whether a top-level argument (positional or keyword) of
// the call whose '(' is at ts[k] is a constant above maxRepeat.
func (c *checker) bigArg(ts []token, k int) (float64, bool) {
	depth := 0
	for j := k; j < len(ts) && j < k+maxConstTokens; j++ {
		switch ts[j].text {
		case "(", "[", "{":
			depth++
			if depth == 1 && ts[j].text == "(" && j == k {
				if v, _, ok := c.constExpr(ts, j+1); ok && v > maxRepeat {
					return v, true
				}
			}
			continue
		case ")", "]", "}":
			depth--
			if depth == 0 {
				return 0, false
			}
			continue
		}
		if depth == 1 && (ts[j].text == "," || ts[j].text == "=") && ts[j].kind == tOp {
			if v, _, ok := c.constExpr(ts, j+1); ok && v > maxRepeat {
				return v, true
			}
		}
	}
	return 0, false
}

// loopLen is the number of iterations of {% for ... in X %} when X is
// the template's own constant: range(...), or a string or list repeated
// by a constant (x * n). Anything else iterates over the render context
// and counts as one.
func (c *checker) loopLen(ts []token) float64 {
	in := -1
	for k := 1; k < len(ts); k++ {
		if ts[k].kind == tName && ts[k].text == "in" {
			in = k
			break
		}
	}
	if in < 0 {
		return 1
	}
	n := 1.0
	for k := in + 1; k < len(ts) && k < in+maxConstTokens; k++ {
		switch {
		case ts[k].text == "range" && k+1 < len(ts) && ts[k+1].text == "(":
			n = math.Max(n, c.rangeLen(ts, k+1))
		case ts[k].kind == tOp && ts[k].text == "*":
			if v, _, ok := c.constExpr(ts, k+1); ok {
				n = math.Max(n, v)
			}
		}
	}
	return n
}

// counterCall says whether the recursive call whose '(' is at ts[k]
// is driven by a counter rather than by the request's data: it counts a
// parameter down (f(n - 1)), or every argument is arithmetic on the
// macro's parameters and constants (f(n + 1) under {% if n < 40 %}). A
// call that hands down part of the data (render(v, depth + 1), v from
// the schema it walks) ends where the data ends.
func counterCall(ts []token, k int, params map[string]bool) bool {
	depth := 0
	down, dataArg := false, false
	for j := k; j < len(ts) && j < k+maxConstTokens; j++ {
		t := ts[j]
		switch {
		case t.kind == tOp && (t.text == "(" || t.text == "["):
			if j > k && (t.text == "[" || ts[j-1].kind == tName) {
				dataArg = true // a subscript or a call: not plain arithmetic
			}
			depth++
		case t.kind == tOp && (t.text == ")" || t.text == "]"):
			depth--
			if depth == 0 {
				return down || !dataArg
			}
		case t.kind == tOp && t.text == ".":
			dataArg = true
		case t.kind == tOp && t.text == "-" && j+1 < len(ts) && ts[j+1].kind == tNumber && j > k && ts[j-1].kind == tName && params[ts[j-1].text]:
			down = true
		case t.kind == tName && !params[t.text] && t.text != "true" && t.text != "false" && t.text != "none":
			dataArg = true
		}
	}
	return false
}

// templateArgs says whether the call whose '(' is at ts[k] passes
// something the template builds: range(...), a list or tuple literal, or a
// number.
func templateArgs(ts []token, k int) bool {
	depth := 0
	for j := k; j < len(ts) && j < k+maxConstTokens; j++ {
		t := ts[j]
		switch {
		case t.kind == tOp && (t.text == "(" || t.text == "[" || t.text == "{"):
			if j > k && t.text != "(" && !(ts[j-1].kind == tName || ts[j-1].text == "]" || ts[j-1].text == ")") {
				return true // a list or dict literal, not a subscript
			}
			depth++
		case t.kind == tOp && (t.text == ")" || t.text == "]" || t.text == "}"):
			depth--
			if depth == 0 {
				return false
			}
		case t.kind == tNumber, t.kind == tName && t.text == "range":
			return true
		}
	}
	return false
}

// loopGrowth judges the {% set %} statements of one outermost loop. A
// plain alias ({% set ns.b = ns.a %}) is a full copy of what it names,
// so {% set ns.a = ns.a ~ ns.b %} beside it doubles ns.a on every
// iteration just as ns.a ~ ns.a does.
func (c *checker) loopGrowth(sets [][]token) {
	alias := map[string]string{}
	for _, ts := range sets {
		if eq := indexOp(ts, "="); eq > 1 && eq+1 < len(ts) {
			end := eq + 2
			for end+1 < len(ts) && ts[end].text == "." && ts[end+1].kind == tName {
				end += 2
			}
			if ts[eq+1].kind == tName && end == len(ts) {
				alias[joinToks(ts[1:eq])] = joinToks(ts[eq+1 : end])
			}
		}
	}
	resolve := func(p string) string {
		for i := 0; i < 8; i++ {
			a, ok := alias[p]
			if !ok {
				break
			}
			p = a
		}
		return p
	}
	for _, ts := range sets {
		c.doubling(ts, resolve)
	}
}

func indexOp(ts []token, op string) int {
	for k := range ts {
		if ts[k].kind == tOp && ts[k].text == op {
			return k
		}
	}
	return -1
}

// doubling reports {% set x = x ~ x %} (or +, *) inside a loop, x also
// reached through an alias: the value doubles on every iteration, 2^n
// after n.
func (c *checker) doubling(ts []token, resolve func(string) string) {
	eq := -1
	for k := 1; k < len(ts); k++ {
		if ts[k].text == "=" {
			eq = k
			break
		}
	}
	if eq < 2 {
		return
	}
	target := joinToks(ts[1:eq])
	// occurrences of the target in the value, as [start, end) token spans
	var occ [][2]int
	for k := eq + 1; k < len(ts); k++ {
		if ts[k].kind != tName || ts[k-1].text == "." {
			continue
		}
		end := k + 1
		for end+1 < len(ts) && ts[end].text == "." && ts[end+1].kind == tName {
			end += 2
		}
		if p := joinToks(ts[k:end]); p == target || (resolve(p) == target && p != resolve(target)) {
			occ = append(occ, [2]int{k, end})
		}
	}
	concat := func(t token) bool { return t.kind == tOp && (t.text == "~" || t.text == "+") }
	for i, o := range occ {
		e := o[1]
		switch {
		// x ~ x, x ~ 'sep' ~ x: two copies joined
		case i+1 < len(occ) && e < len(ts) && concat(ts[e]) &&
			(occ[i+1][0] == e+1 || (occ[i+1][0] == e+3 && ts[e+1].kind != tName && concat(ts[e+2]))):
		// x * 2
		case e+1 < len(ts) && ts[e].text == "*" && ts[e+1].kind == tNumber:
			if v, err := strconv.ParseFloat(ts[e+1].text, 64); err != nil || v < 2 {
				continue
			}
		default:
			continue
		}
		c.add(RuleBomb, formats.High, ts[0].off, "%s is set to at least two copies of itself on every loop iteration: it grows exponentially (2^n after n iterations)", target)
		return
	}
}

func joinToks(ts []token) string {
	var b strings.Builder
	for _, t := range ts {
		b.WriteString(t.text)
	}
	return b.String()
}
