package template

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/modelvet/modelvet/formats"
)

// MaxSource is the largest template analyzed. Real chat templates are a
// few KB to ~30 KB; megabytes of template are not a chat template.
const MaxSource = 4 << 20

// Rule names.
const (
	RuleEscape     = "template/sandbox-escape"    // reaches Python internals: Critical
	RuleAttrFilter = "template/attr-filter"       // |attr(...) with a name not visible
	RulePrivate    = "template/private-attribute" // ._name: the sandbox forbids it
	RuleGlobal     = "template/sandbox-global"    // cycler/joiner/lipsum/self: doors to __globals__
	RuleCall       = "template/dangerous-call"    // .system(, .popen(, .environ
	RuleBuilt      = "template/obfuscated-name"   // identifier pieces hidden in strings/escapes
	RuleLoad       = "template/loads-template"    // import/include/extends read other files
	RuleUnparsable = "template/unparseable"       // cannot be tokenized as Jinja
	RuleTooLarge   = "template/too-large"         // not analyzed
)

// criticalGlobals are names that, referenced as variables, only make sense
// as a way out of the template: Flask/Jinja objects whose attributes lead to
// module globals (config, request, url_for, get_flashed_messages), or
// Python builtins and modules that are not Jinja at all. A chat template is
// rendered with messages, tools and token strings; it never needs these.
var criticalGlobals = map[string]bool{
	"config": true, "request": true, "url_for": true, "get_flashed_messages": true, "session": true,
	"os": true, "subprocess": true, "sys": true, "builtins": true, "importlib": true, "posix": true,
	"eval": true, "exec": true, "execfile": true, "compile": true, "getattr": true, "setattr": true,
	"delattr": true, "globals": true, "locals": true, "vars": true, "open": true, "breakpoint": true,
	"__import__": true, "__builtins__": true, "__loader__": true, "__spec__": true, "popen": true,
	"pty": true, "socket": true, "shutil": true, "pickle": true, "marshal": true, "ctypes": true,
}

// sandboxGlobals are Jinja's own default globals whose function objects
// carry __globals__ (the classic cycler.__init__.__globals__.os route) or,
// for self, the template's internals. Real chat templates do not use them.
var sandboxGlobals = map[string]bool{"cycler": true, "joiner": true, "lipsum": true, "self": true}

// internalAttrs are non-dunder attribute names that lead to frames, code or
// module globals (Python 2 and 3 spellings), or Jinja internals.
var internalAttrs = map[string]bool{
	"mro": true, "func_globals": true, "func_code": true, "func_closure": true, "f_globals": true,
	"f_locals": true, "f_back": true, "f_builtins": true, "f_code": true, "gi_frame": true,
	"gi_code": true, "cr_frame": true, "cr_code": true, "ag_frame": true, "tb_frame": true,
	"tb_next": true, "co_code": true, "co_consts": true, "im_func": true, "im_self": true,
	"_TemplateReference__context": true, "_module": true, "_load_template": true,
}

// dangerousCalls are methods that run commands or read the environment.
var dangerousCalls = map[string]bool{
	"system": true, "popen": true, "spawn": true, "spawnv": true, "check_output": true,
	"getoutput": true, "getstatusoutput": true, "load_module": true, "environ": true,
	"execv": true, "execve": true, "fork": true, "urlopen": true,
}

var dunderRe = regexp.MustCompile(`__[A-Za-z_]*[A-Za-z][A-Za-z0-9_]*__|_TemplateReference__context|func_globals|f_globals|gi_frame`)

// formatSpecRe matches a str.format replacement field whose spec makes
// characters: the type c (code point to character) or an underscore fill.
var formatSpecRe = regexp.MustCompile(`\{[A-Za-z0-9_.\[\]]*:(?:(?:.?[<>^=])?[-+ ]?#?0?[0-9]*[,_]?(?:\.[0-9]+)?c|_[<>^=][0-9]*)\}`)

var identPath = regexp.MustCompile(`^\s*[A-Za-z0-9_.]+\s*$`)

// findInternal returns the first internal name in s, skipping the regular
// expression for the common case of text without any candidate. Only the
// dunder names Python objects actually have count: a string like
// "<__media__>" (a multimodal placeholder token) names no attribute, so
// getattr with it fails and it is no way out of the template.
func findInternal(s string) string {
	if !strings.Contains(s, "__") && !strings.Contains(s, "_globals") && !strings.Contains(s, "gi_frame") {
		return ""
	}
	for _, m := range dunderRe.FindAllString(s, 16) {
		if !strings.HasPrefix(m, "__") || knownDunder(m) {
			return m
		}
	}
	return ""
}

// knownDunder says whether m ("__x__", possibly with more underscores
// around it after concatenation) contains a dunder attribute of Python's
// data model or of functions, modules, classes, frames and code objects.
func knownDunder(m string) bool {
	for i := 0; i+4 <= len(m); i++ {
		if m[i] != '_' || m[i+1] != '_' {
			continue
		}
		j := strings.Index(m[i+2:], "__")
		if j < 0 {
			return false
		}
		if pythonDunders[strings.ToLower(m[i+2:i+2+j])] {
			return true
		}
	}
	return false
}

// pythonDunders are the names between the underscores of Python's special
// attributes and methods (object, type, function, module, code, frame,
// descriptor protocols, operators). Attackers can only reach attributes
// that exist, and these are the ones that do on every object.
var pythonDunders = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`class mro base bases subclasses subclasshook init init_subclass new del
		globals builtins import getattribute getattr setattr delattr dict dir code closure func self
		module loader spec package path file name qualname doc defaults kwdefaults annotations wrapped
		objclass reduce reduce_ex getstate setstate getnewargs getnewargs_ex copy deepcopy call
		getitem setitem delitem missing iter next len contains reversed enter exit aenter aexit
		repr str format bytes hash bool sizeof eq ne lt le gt ge add sub mul matmul truediv floordiv mod
		divmod pow lshift rshift and or xor radd rsub rmul iadd isub imul neg pos abs invert int float
		complex index round trunc floor ceil get set delete set_name slots weakref traceback context
		cause suppress_context all version debug main build_class instancecheck subclasscheck
		class_getitem prepare orig_bases type_params await aiter anext length_hint fspath buffer
		release_buffer text_signature self_class func_globals`) {
		m[n] = true
	}
	return m
}()

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// internal says whether an attribute name reaches Python internals.
func internal(name string) bool {
	return strings.HasPrefix(name, "__") || internalAttrs[name]
}

type checker struct {
	out  []formats.Finding
	seen map[string]bool
	// bare: the text is not known to be a template (a config string
	// outside a template key), so no renderer is known to put anything
	// in its context; see checkBare.
	bare bool
	// consts: variables the template sets to constant numbers (bomb.go)
	consts map[string]float64
}

func (c *checker) add(rule string, sev formats.Severity, off int, format string, args ...any) {
	key := rule + "@" + strconv.Itoa(off)
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	c.out = append(c.out, formats.Finding{Rule: rule, Severity: sev, Offset: int64(off), Message: fmt.Sprintf(format, args...)})
}

// Check analyzes a Jinja template without rendering it. Offsets in the
// findings are byte offsets in src; callers set Member.
func Check(src string) []formats.Finding { return check(src, false) }

// checkBare is Check for a string that no loader is known to render as a
// template (a config value outside a template key: a GitHub Actions
// "${{ vars.X }}" expression, a shell snippet with braces). If anything
// renders it with Jinja, it is a renderer with Jinja's own globals only
// (jinja2/defaults.py DEFAULT_NAMESPACE: range, dict, lipsum, cycler,
// joiner, namespace), where criticalGlobals such as vars, config or os are
// Undefined; only what escapes from any value or from those globals
// (dunder and internal attributes, |attr, format strings, command
// methods, obfuscated names, cycler/joiner/lipsum) is an attack there.
func checkBare(src string) []formats.Finding { return check(src, true) }

func check(src string, bare bool) []formats.Finding {
	c := &checker{seen: map[string]bool{}, bare: bare}
	if len(src) > MaxSource {
		c.add(RuleTooLarge, formats.High, 0, "the template is %d bytes, over the %d-byte limit for analysis; it was not checked and cannot be shown safe", len(src), MaxSource)
		return c.out
	}
	if !utf8.ValidString(src) {
		// Loaders that decode with errors="ignore" drop invalid bytes, so
		// '__cl\xffass__' becomes '__class__' for them: judge that text too.
		for _, f := range check(strings.ToValidUTF8(src, ""), bare) {
			if f.Severity >= formats.High {
				f.Message += " (seen once the invalid UTF-8 bytes are dropped, as a lenient decoder does; offset is in that text)"
				c.out = append(c.out, f)
			}
		}
	}
	lr := lex(src)
	bound := boundNames(lr.tags)
	vals := boundValues(src, lr.tags)
	c.blockText(src, lr.tags, vals)
	c.bombs(lr.tags)
	c.analyzeFlow(src, lr.tags)
	if !bare {
		c.promptInjection(src)
	}
	var all []token
	for _, t := range lr.tags {
		n := len(c.out)
		c.tag(t, bound)
		if !c.criticalIn(n) {
			c.assembled(t, vals)
		}
		all = append(all, t.toks...)
	}
	// Pieces spread over several tags ({% set a = '__cla' %}{% set b = a ~ 'ss__' %}).
	if w, off := soupHit(all); w != "" && !c.hasEscape() {
		c.add(RuleBuilt, formats.High, off, "string literals across the template combine into %q; the name of a Python internal may be assembled at render time", w)
	}
	if lr.err != "" {
		// Jinja itself refuses such a template, so it cannot run; but a
		// scanner that cannot read it cannot vouch for it either.
		c.add(RuleUnparsable, formats.Medium, lr.errAt, "the template is not valid Jinja (%s); it was analyzed only up to here and will not load", lr.err)
	}
	return c.out
}

// criticalIn reports whether a Critical finding already points into tag t,
// so a combined-strings finding would only repeat it.
func (c *checker) criticalIn(from int) bool {
	for _, f := range c.out[from:] {
		if f.Severity == formats.Critical {
			return true
		}
	}
	return false
}

func (c *checker) hasEscape() bool {
	for _, f := range c.out {
		if f.Severity >= formats.High {
			return true
		}
	}
	return false
}

// boundNames collects names the template binds itself ({% set %}, {% for %}
// targets, macro parameters, {% with %}): a template's own variable called
// "config" is not Flask's config.
func boundNames(tags []tag) map[string]bool {
	b := map[string]bool{}
	for _, t := range tags {
		if !t.stmt || len(t.toks) == 0 || t.toks[0].kind != tName {
			continue
		}
		ts := t.toks
		switch ts[0].text {
		case "set", "with":
			for k := 1; k < len(ts); k++ {
				if ts[k].kind == tName && (k+1 >= len(ts) || ts[k+1].text == "=" || ts[k+1].text == ",") && (ts[k-1].text != ".") {
					b[ts[k].text] = true
				}
			}
		case "for":
			for k := 1; k < len(ts) && ts[k].text != "in"; k++ {
				if ts[k].kind == tName {
					b[ts[k].text] = true
				}
			}
		case "macro", "call":
			if ts[0].text == "macro" && len(ts) > 1 && ts[1].kind == tName {
				// {% macro __render_tool(tool) %} (GigaChat 3): the name
				// is the template's own macro wherever it is used.
				b[ts[1].text] = true
			}
			for k := 2; k < len(ts); k++ {
				if ts[k].kind == tName && k+1 < len(ts) && (ts[k+1].text == "," || ts[k+1].text == ")" || ts[k+1].text == "=") {
					b[ts[k].text] = true
				}
			}
		}
	}
	return b
}

func (c *checker) tag(t tag, bound map[string]bool) {
	ts := t.toks
	first := len(c.out)
	// parens[k] says whether token k is inside an open '(' (a call's
	// arguments), computed in one pass.
	parens := make([]bool, len(ts))
	var stack []byte
	for k, tk := range ts {
		parens[k] = len(stack) > 0 && stack[len(stack)-1] == '('
		if tk.kind == tOp {
			switch tk.text {
			case "(", "[", "{":
				stack = append(stack, tk.text[0])
			case ")", "]", "}":
				if len(stack) > 0 {
					stack = stack[:len(stack)-1]
				}
			}
		}
	}
	if t.stmt && len(ts) > 0 && ts[0].kind == tName {
		switch ts[0].text {
		case "import", "from", "include", "extends":
			c.add(RuleLoad, formats.High, ts[0].off,
				"{%% %s %%} loads another template from the renderer's loader; a chat template is self-contained, and with a file-system loader this reads files the model does not ship", ts[0].text)
		}
	}
	for k, tk := range ts {
		prev := func(n int) token {
			if k-n >= 0 {
				return ts[k-n]
			}
			return token{}
		}
		next := func(n int) token {
			if k+n < len(ts) {
				return ts[k+n]
			}
			return token{}
		}
		switch tk.kind {
		case tName:
			switch {
			case prev(1).kind == tOp && prev(1).text == ".":
				c.attr(tk.text, tk.off, next(1).text == "(", "attribute")
			case prev(1).kind == tOp && prev(1).text == "|",
				// {% filter attr(...) %} applies a filter without a '|'.
				t.stmt && k == 1 && ts[0].text == "filter":
				if tk.text == "attr" {
					c.attrFilter(ts, k)
				}
				c.attrArgs(ts, k)
			case prev(1).kind == tName && prev(1).text == "is":
			case next(1).kind == tOp && next(1).text == "=" && parens[k]:
				// A keyword argument name; dict(__class__=1)|first turns
				// one into the string "__class__".
				if internal(tk.text) {
					c.add(RuleEscape, formats.Critical, tk.off, "the keyword argument name %q is a Python internal; dict(%s=...)|first turns it into an attribute name", tk.text, tk.text)
				}
			case k == 0 && t.stmt:
				// the statement keyword
			case tk.text == "self" && selfBlock(next(1), next(2), next(3)):
				// self.name / self['name']: a block of this template
				// (TemplateReference.__getitem__), or undefined; see
				// selfBlock.
			default:
				c.global(tk, bound)
			}
		case tString:
			if prev(1).text == "[" && next(1).text == "]" {
				c.attr(tk.text, tk.off, next(2).text == "(", "subscript")
			} else if m := findInternal(tk.text); m != "" {
				if identPath.MatchString(tk.text) {
					// A bare internal name as a string is an attribute name
					// waiting to be used (map(attribute=...), selectattr).
					c.add(RuleEscape, formats.Critical, tk.off, "the string %s names the Python internal %q; passed as an attribute name (map(attribute=...), |attr, a subscript) it escapes the template", shorten(tk.raw), m)
				} else if strings.Contains(tk.text, "{") && strings.Contains(tk.text, "}") {
					// '{0.__class__}'.format(x): str.format resolves
					// attributes inside replacement fields.
					c.add(RuleEscape, formats.Critical, tk.off, "the string %s is a format string reaching the Python internal %q; str.format resolves attributes inside {...} fields", shorten(tk.raw), m)
				} else {
					c.add(RuleBuilt, formats.High, tk.off, "the string %s contains the Python internal name %q; chat text has no use for it", shorten(tk.raw), m)
				}
			}
			if hidden(tk.raw) {
				c.add(RuleBuilt, formats.High, tk.off, "the string %s spells identifier characters with escapes (decoded: %q); templates hide attribute names this way", shorten(tk.raw), shorten(tk.text))
			}
		}
	}
	if w, off := soupHit(ts); w != "" && !c.criticalIn(first) {
		c.add(RuleEscape, formats.Critical, off, "string pieces in this tag combine into %q (concatenation, join, reverse, replace or character codes); the template assembles the name of a Python internal", w)
	}
	for k := 0; k < len(ts); k++ {
		if ts[k].kind != tString || !strings.Contains(ts[k].text, "%") {
			continue
		}
		if out, ok := printf(ts, k); ok {
			if m := findInternal(out); m != "" {
				c.add(RuleEscape, formats.Critical, ts[k].off, "the format string %s fills in to %q, the name of a Python internal", shorten(ts[k].raw), shorten(out))
				continue
			}
		}
		if strings.Contains(ts[k].text, "%c") {
			c.add(RuleBuilt, formats.High, ts[k].off, "a %%c format string builds characters from numbers; templates use it to hide attribute names")
		}
	}
	for k := 0; k < len(ts); k++ {
		// str.format specs that make characters: '{0:c}' turns 95 into '_',
		// '{:_^9}' pads 'class' with underscores into '__class__'.
		if ts[k].kind == tString && strings.Contains(ts[k].text, "{") && formatSpecRe.MatchString(ts[k].text) {
			c.add(RuleBuilt, formats.High, ts[k].off, "the string %s is a str.format pattern that builds characters (a :c code or '_' fill); templates use it to hide attribute names", shorten(ts[k].raw))
		}
	}
}

// attrFilters are the filters that read an attribute named by an
// argument through the environment's getattr (which, outside the sandbox,
// allows any name): map(attribute=...), selectattr('name'), sort(attribute=...)...
var attrFilters = map[string]bool{
	"map": true, "selectattr": true, "rejectattr": true, "sort": true, "groupby": true,
	"sum": true, "unique": true, "min": true, "max": true, "dictsort": false,
}

// attrArgs checks the attribute-name arguments of the filter at ts[k]:
// a name computed at render time (a variable, a concatenation) cannot be
// shown not to be "__class__". Real templates pass string literals.
func (c *checker) attrArgs(ts []token, k int) {
	if !attrFilters[ts[k].text] || k+1 >= len(ts) || ts[k+1].text != "(" {
		return
	}
	depth := 0
	// Bounded: the arguments of nested filter calls are not rescanned
	// without end (map(map(map(...))) costs at most maxArgScan per filter).
	const maxArgScan = 4096
	for j := k + 1; j < len(ts) && j < k+maxArgScan; j++ {
		switch ts[j].text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
		}
		if depth == 0 {
			return
		}
		if depth != 1 {
			continue
		}
		var arg int
		switch {
		case ts[j].kind == tName && ts[j].text == "attribute" && j+2 < len(ts) && ts[j+1].text == "=":
			arg = j + 2
		case j == k+2 && (ts[k].text == "selectattr" || ts[k].text == "rejectattr"):
			arg = j
		default:
			continue
		}
		end := arg + 1
		literal := ts[arg].kind == tString && end < len(ts) && (ts[end].text == ")" || ts[end].text == ",")
		if !literal {
			c.add(RuleAttrFilter, formats.High, ts[arg].off, "|%s reads an attribute whose name is computed at render time; it cannot be shown not to reach Python internals (real templates pass a string literal)", ts[k].text)
			return
		}
	}
}

func (c *checker) attr(name string, off int, called bool, how string) {
	switch {
	case internal(name) && !isASCII(name):
		// __glоbals__ with a Cyrillic o: getattr finds no such attribute
		// (Python normalizes identifiers in source, not in getattr), so it
		// reaches nothing in Jinja2; but it is outside what the sandbox
		// allows, and a renderer or scanner that folds look-alikes (NFKC)
		// reads the real name.
		c.add(RuleBuilt, formats.Medium, off, "the %s %q imitates a Python internal with look-alike characters; it reaches nothing in Jinja2 but is outside what the sandbox allows", how, name)
	case internal(name):
		c.add(RuleEscape, formats.Critical, off, "the %s %q reaches Python internals (class hierarchy, globals, builtins, frames); this is how templates break out to run commands", how, name)
	case strings.HasPrefix(name, "_") && how == "attribute":
		c.add(RulePrivate, formats.High, off, "the attribute %q is private; the Jinja sandbox forbids it and no chat template needs it", name)
	case dangerousCalls[name] && (called || name == "environ"):
		c.add(RuleCall, formats.High, off, "a call to %q (command execution, network or environment access); a chat template never needs one", name)
	}
}

func (c *checker) attrFilter(ts []token, k int) {
	off := ts[k].off
	if k+3 < len(ts) && ts[k+1].text == "(" && ts[k+2].kind == tString && ts[k+3].text == ")" {
		name := ts[k+2].text
		if internal(name) {
			c.add(RuleEscape, formats.Critical, off, "|attr(%q) reaches Python internals; |attr is the usual way around the sandbox's attribute checks", name)
		} else {
			c.add(RuleAttrFilter, formats.Medium, off, "|attr(%q) reads an attribute by name; real chat templates use plain attribute access", name)
		}
		return
	}
	c.add(RuleAttrFilter, formats.High, off, "|attr(...) with a computed attribute name: the name is built at render time, so it cannot be shown not to reach Python internals")
}

func (c *checker) global(tk token, bound map[string]bool) {
	name := tk.text
	if bound[name] {
		return
	}
	switch {
	case c.bare && criticalGlobals[name] && !strings.HasPrefix(name, "__"):
		// A name only the renderer's context could define (checkBare).
	case criticalGlobals[name] || strings.HasPrefix(name, "__"):
		c.add(RuleEscape, formats.Critical, tk.off, "the template refers to %q, which is not chat data but a Python or Flask object; it is a known route to running code", name)
	case sandboxGlobals[name]:
		c.add(RuleGlobal, formats.High, tk.off, "the template uses Jinja's %q, whose function objects lead to module globals; real chat templates do not need it", name)
	}
}

// selfBlock says whether the tokens after "self" name one of the
// template's blocks: self.header or self['header'] with a public literal
// name. Jinja's TemplateReference resolves such a name only among the
// template's blocks (an unknown one is undefined, as llama-cpp-python's
// Llava 1.5 template's self.DEFAULT_SYSTEM_MESSAGE renders empty), and a
// BlockReference's own attributes are super, name and private fields, the
// latter reported where they are used. What stays a door is self itself
// as a value (passed on, |attr, a computed subscript) and
// self._TemplateReference__context, reported as private or internal.
func selfBlock(a, b, c token) bool {
	switch {
	case a.kind == tOp && a.text == "." && b.kind == tName:
		return !strings.HasPrefix(b.text, "_")
	case a.kind == tOp && a.text == "[" && b.kind == tString && c.text == "]":
		return b.text != "" && !strings.HasPrefix(b.text, "_") && identPath.MatchString(b.text) && !strings.Contains(b.text, ".")
	}
	return false
}

// hidden reports escapes that spell identifier characters (\x5f, \137,
// \u005f, \N{LOW LINE}): real templates escape newlines and quotes, not
// letters and underscores.
func hidden(raw string) bool {
	for i := 0; i+1 < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		var dec string
		switch raw[i+1] {
		case '\\':
			i++
			continue
		case 'N':
			// \N{name} can spell any character by its Unicode name
			// (aliases and any case included); chat templates never
			// need one.
			return true
		case 'x', 'u', 'U':
			dec = unescape(raw[i:min(len(raw), i+12)])
		default:
			if raw[i+1] >= '0' && raw[i+1] <= '7' {
				dec = unescape(raw[i:min(len(raw), i+4)])
			}
		}
		if dec != "" {
			r := []rune(dec)[0]
			if r == '_' || r == '.' || (r|0x20 >= 'a' && r|0x20 <= 'z') {
				return true
			}
		}
	}
	return false
}

// soupHit joins the tag's string literals (and character codes given as
// numbers) in order, forwards and reversed, after applying replace(a, b)
// pairs, and looks for the name of a Python internal. This catches
// '__cla' ~ 'ss__', ['__glo','bals__']|join, '__ssalc__'|reverse,
// '__clXss__'|replace('X','a') and chr(95)-style construction.
func soupHit(ts []token) (string, int) {
	var b, nums strings.Builder
	type pair struct{ from, to string }
	var pairs []pair
	off := -1
	for k := 0; k < len(ts); k++ {
		tk := ts[k]
		if tk.kind == tName && tk.text == "replace" && k+5 < len(ts) && ts[k+1].text == "(" && ts[k+2].kind == tString && ts[k+3].text == "," && ts[k+4].kind == tString {
			pairs = append(pairs, pair{ts[k+2].text, ts[k+4].text})
			k += 4
			continue
		}
		switch tk.kind {
		case tString:
			if off < 0 {
				off = tk.off
			}
			b.WriteString(tk.text)
		case tNumber:
			if v, err := strconv.Atoi(tk.text); err == nil && v >= 32 && v < 127 {
				if off < 0 {
					off = tk.off
				}
				nums.WriteByte(byte(v))
				b.WriteByte(byte(v))
			}
		}
	}
	if off < 0 {
		return "", 0
	}
	s := b.String()
	for _, p := range pairs {
		if p.from != "" {
			s = strings.ReplaceAll(s, p.from, p.to)
		}
	}
	for _, cand := range []string{s, reverse(s), nums.String(), reverse(nums.String())} {
		if m := findInternal(cand); m != "" {
			return m, off
		}
	}
	return "", 0
}

// printf evaluates a printf-style format applied to literal arguments,
// as in '%c%cclass%c%c'|format(95,95,95,95) or '%s' % ('__class__',).
func printf(ts []token, k int) (string, bool) {
	j := k + 1
	switch {
	case j+2 < len(ts) && ts[j].text == "|" && ts[j+1].text == "format" && ts[j+2].text == "(":
		j += 3
	case j+1 < len(ts) && ts[j].text == "%" && ts[j+1].text == "(":
		j += 2
	case j+1 < len(ts) && ts[j].text == "%":
		j++
	default:
		return "", false
	}
	var args []token
	for ; j < len(ts) && ts[j].text != ")"; j++ {
		if ts[j].kind == tString || ts[j].kind == tNumber {
			args = append(args, ts[j])
		}
		if ts[j-1].text == "%" && ts[j].kind != tOp {
			break // a single argument after a bare %
		}
	}
	f := ts[k].text
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case '%':
			b.WriteByte('%')
		case 'c', 's', 'r', 'd':
			if len(args) == 0 {
				return "", false
			}
			a := args[0]
			args = args[1:]
			if f[i] == 'c' && a.kind == tNumber {
				v, err := strconv.Atoi(a.text)
				if err != nil || v < 0 || v > 0x10FFFF {
					return "", false
				}
				b.WriteRune(rune(v))
			} else {
				b.WriteString(a.text)
			}
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String(), true
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

func shorten(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
