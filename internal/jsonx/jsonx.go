// Package jsonx is a strict, token-level JSON reader for headers and
// configuration files that modelvet must judge exactly as the loaders that
// read them would, and more strictly where those loaders disagree.
//
// encoding/json silently keeps the last of two equal keys, accepts invalid
// UTF-8 and lone surrogates by replacing them, and decodes numbers loosely.
// Loaders in other languages decide differently (serde_json rejects a
// duplicate struct field, Python keeps the last key, some keep the first), so
// a file that means two different things to two readers must be caught
// here: every duplicate key at any depth is reported, and invalid text is
// an error rather than a repaired value.
package jsonx

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Kind is the JSON type of a value.
type Kind uint8

const (
	Object Kind = iota + 1
	Array
	String
	Number
	Bool
	Null
)

func (k Kind) String() string {
	switch k {
	case Object:
		return "object"
	case Array:
		return "array"
	case String:
		return "string"
	case Number:
		return "number"
	case Bool:
		return "boolean"
	case Null:
		return "null"
	}
	return "invalid"
}

// Value is one node of a parsed document. Members of an object keep their
// order and every occurrence of a duplicated key (Dups says which).
type Value struct {
	Kind Kind
	Off  int    // byte offset of the value's first byte
	Str  string // decoded string, or the number's literal text, or "true"/"false"
	Keys []string
	KOff []int // byte offset of each key
	Vals []*Value
}

// Get returns the last value stored under key (Python's json keeps the
// last one), or nil.
func (v *Value) Get(key string) *Value {
	if v == nil || v.Kind != Object {
		return nil
	}
	for i := len(v.Keys) - 1; i >= 0; i-- {
		if v.Keys[i] == key {
			return v.Vals[i]
		}
	}
	return nil
}

// Dup is one key that appeared twice in the same object.
type Dup struct {
	Path string // JSON pointer of the object holding the key
	Key  string
	Off  int // offset of the second occurrence
}

// Error is a syntax error with the byte offset where it was found.
type Error struct {
	Off int
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("invalid JSON at byte %d: %s", e.Off, e.Msg) }

// Limits bound the work a hostile document can cause.
type Limits struct {
	MaxDepth int // nesting of objects and arrays
	MaxNodes int // values in total (0: no limit beyond the input size)
}

// Parse reads exactly one JSON value from b, followed only by JSON
// whitespace. It returns the value, the duplicate keys found, and the first
// syntax error (the value is nil then).
func Parse(b []byte, lim Limits) (*Value, []Dup, error) {
	return parseDoc(b, lim, false)
}

// ParsePython is Parse for JSON written by Python's json module, which
// reads back two things RFC 8259 does not allow and Parse refuses:
//   - NaN, Infinity and -Infinity, which json.dumps writes for non-finite
//     floats (Keras configs carry them, e.g. clip values). They come back as
//     Number values whose Str is the literal, so Uint refuses them.
//   - \u escapes of unpaired UTF-16 surrogates, which Python keeps in a str.
//     Each becomes U+FFFD here; a name holding one is not a name any
//     importer resolves, so the replacement cannot hide a real one.
//
// Everything else Python's json refuses (control characters in strings,
// invalid UTF-8, leading zeros) is refused here too, so a document this
// accepts is one the Python loader accepts.
func ParsePython(b []byte, lim Limits) (*Value, []Dup, error) {
	return parseDoc(b, lim, true)
}

func parseDoc(b []byte, lim Limits, python bool) (*Value, []Dup, error) {
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = 64
	}
	p := &parser{b: b, lim: lim, python: python}
	p.ws()
	v := p.value(0)
	if p.err != nil {
		return nil, p.dups, p.err
	}
	p.ws()
	if p.i != len(p.b) {
		return nil, p.dups, &Error{p.i, fmt.Sprintf("unexpected %s after the end of the document", p.show())}
	}
	return v, p.dups, nil
}

type parser struct {
	path []string // keys and indices leading to the current value
	idx  []bool   // whether each path element is an array index
	// discard, when set, parses the current member without retaining its
	// children (their strings still go to visit): memory stays flat however
	// large the member.
	discard bool
	visit   func(path []string, idx []bool, v *Value)
	b       []byte
	i       int
	lim     Limits
	nodes   int
	dups    []Dup
	err     error
	python  bool // accept what Python's json module writes (see ParsePython)
}

func (p *parser) fail(off int, format string, args ...any) {
	if p.err == nil {
		p.err = &Error{off, fmt.Sprintf(format, args...)}
	}
}

func (p *parser) show() string {
	if p.i >= len(p.b) {
		return "end of input"
	}
	return strconv.QuoteRune(rune(p.b[p.i]))
}

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

const maxDups = 100

// pointer renders the current path as a JSON pointer (only when needed).
// key reads an object key after optional white space and says where it
// starts; with no quoted key there, p.err is set.
func (p *parser) key() (k string, koff int) {
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		p.fail(p.i, "expected a quoted key, found %s", p.show())
		return "", p.i
	}
	koff = p.i
	return p.str(), koff
}

// colon reads the ':' after the key k and the white space around it;
// false (p.err set) when it is missing.
func (p *parser) colon(k string) bool {
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != ':' {
		p.fail(p.i, "expected ':' after key %q, found %s", k, p.show())
		return false
	}
	p.i++
	p.ws()
	return true
}

// sep reads what follows a member of an array or object: ',' (another
// member follows: true) or the closer (the container ends: false, p.err
// nil); anything else is an error (false, p.err set).
func (p *parser) sep(closer byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ',' {
		p.i++
		return true
	}
	if p.i < len(p.b) && p.b[p.i] == closer {
		p.i++
		return false
	}
	what := "array"
	if closer == '}' {
		what = "object"
	}
	p.fail(p.i, "expected ',' or '%c' in %s, found %s", closer, what, p.show())
	return false
}

func (p *parser) pointer() string {
	var b strings.Builder
	for _, k := range p.path {
		b.WriteByte('/')
		b.WriteString(escapePointer(k))
	}
	return b.String()
}

// isDup reports whether key k was already seen in object v: a linear scan
// for the small objects that make up almost all of a header, a map beyond.
func isDup(v *Value, k string, seen map[string]bool) bool {
	if seen != nil {
		return seen[k]
	}
	for _, x := range v.Keys {
		if x == k {
			return true
		}
	}
	return false
}

func (p *parser) value(depth int) *Value {
	if p.err != nil {
		return nil
	}
	if !p.discard {
		p.nodes++
	}
	if p.lim.MaxNodes > 0 && p.nodes > p.lim.MaxNodes {
		p.fail(p.i, "more than %d values", p.lim.MaxNodes)
		return nil
	}
	if p.i >= len(p.b) {
		p.fail(p.i, "unexpected end of input, a value was expected")
		return nil
	}
	start := p.i
	switch c := p.b[p.i]; {
	case c == '{':
		if depth >= p.lim.MaxDepth {
			p.fail(p.i, "nested deeper than %d levels", p.lim.MaxDepth)
			return nil
		}
		p.i++
		v := &Value{Kind: Object, Off: start, Keys: make([]string, 0, 4), KOff: make([]int, 0, 4), Vals: make([]*Value, 0, 4)}
		var seen map[string]bool
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return v
		}
		for {
			k, koff := p.key()
			if p.err != nil {
				return nil
			}
			if isDup(v, k, seen) {
				if len(p.dups) < maxDups {
					p.dups = append(p.dups, Dup{Path: p.pointer(), Key: k, Off: koff})
				}
			}
			if seen == nil && len(v.Keys) >= 16 {
				seen = make(map[string]bool, 32)
				for _, x := range v.Keys {
					seen[x] = true
				}
			}
			if seen != nil {
				seen[k] = true
			}
			if !p.colon(k) {
				return nil
			}
			p.path, p.idx = append(p.path, k), append(p.idx, false)
			child := p.value(depth + 1)
			p.path, p.idx = p.path[:len(p.path)-1], p.idx[:len(p.idx)-1]
			if p.err != nil {
				return nil
			}
			if p.discard {
				// Keys are still compared for duplicates; values are not kept.
				child = nil
			}
			v.Keys = append(v.Keys, k)
			v.KOff = append(v.KOff, koff)
			v.Vals = append(v.Vals, child)
			if p.sep('}') {
				continue
			}
			if p.err != nil {
				return nil
			}
			return v
		}
	case c == '[':
		if depth >= p.lim.MaxDepth {
			p.fail(p.i, "nested deeper than %d levels", p.lim.MaxDepth)
			return nil
		}
		p.i++
		v := &Value{Kind: Array, Off: start}
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return v
		}
		for n := 0; ; n++ {
			p.ws()
			p.path, p.idx = append(p.path, strconv.Itoa(n)), append(p.idx, true)
			child := p.value(depth + 1)
			p.path, p.idx = p.path[:len(p.path)-1], p.idx[:len(p.idx)-1]
			if p.err != nil {
				return nil
			}
			if !p.discard {
				v.Vals = append(v.Vals, child)
			}
			if p.sep(']') {
				continue
			}
			if p.err != nil {
				return nil
			}
			return v
		}
	case c == '"':
		s := p.str()
		if p.err != nil {
			return nil
		}
		v := &Value{Kind: String, Off: start, Str: s}
		if p.visit != nil {
			p.visit(p.path, p.idx, v)
		}
		return v
	case p.python && c == 'N':
		return p.lit("NaN", Number, start)
	case p.python && c == 'I':
		return p.lit("Infinity", Number, start)
	case p.python && c == '-' && p.i+1 < len(p.b) && p.b[p.i+1] == 'I':
		return p.lit("-Infinity", Number, start)
	case c == '-' || (c >= '0' && c <= '9'):
		s := p.num()
		if p.err != nil {
			return nil
		}
		return &Value{Kind: Number, Off: start, Str: s}
	case c == 't':
		return p.lit("true", Bool, start)
	case c == 'f':
		return p.lit("false", Bool, start)
	case c == 'n':
		return p.lit("null", Null, start)
	}
	p.fail(p.i, "unexpected %s, a value was expected", p.show())
	return nil
}

func (p *parser) lit(word string, k Kind, start int) *Value {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		p.fail(p.i, "invalid literal, expected %q", word)
		return nil
	}
	p.i += len(word)
	return &Value{Kind: k, Off: start, Str: word}
}

// num accepts exactly RFC 8259's number grammar.
func (p *parser) num() string {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.i < len(p.b) && p.b[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		p.fail(start, "invalid number")
		return ""
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			p.fail(start, "invalid number: no digits after '.'")
			return ""
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			p.fail(start, "invalid number: no digits in exponent")
			return ""
		}
	}
	return string(p.b[start:p.i])
}

// str reads a string at p.i (which is '"'), rejecting control characters,
// invalid UTF-8 and unpaired surrogates: each of these is repaired
// differently by different decoders, so a name using them is ambiguous.
func (p *parser) str() string {
	start := p.i
	p.i++
	// Fast path: no escapes.
	j := p.i
	for j < len(p.b) && p.b[j] != '"' && p.b[j] != '\\' && p.b[j] >= 0x20 && p.b[j] < 0x80 {
		j++
	}
	if j < len(p.b) && p.b[j] == '"' {
		s := intern(p.b[p.i:j])
		p.i = j + 1
		return s
	}
	var out []byte
	for {
		if p.i >= len(p.b) {
			p.fail(start, "unterminated string")
			return ""
		}
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out)
		case c < 0x20:
			p.fail(p.i, "control character 0x%02x inside a string", c)
			return ""
		case c == '\\':
			if p.i+1 >= len(p.b) {
				p.fail(p.i, "unterminated escape")
				return ""
			}
			e := p.b[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return ""
				}
				if utf16.IsSurrogate(r) && p.python {
					r = p.pythonSurrogate(r)
				} else if utf16.IsSurrogate(r) {
					if r >= 0xDC00 || p.i+1 >= len(p.b) || p.b[p.i] != '\\' || p.b[p.i+1] != 'u' {
						p.fail(p.i-6, "unpaired UTF-16 surrogate \\u%04x", r)
						return ""
					}
					p.i += 2
					r2, ok := p.hex4()
					if !ok {
						return ""
					}
					d := utf16.DecodeRune(r, r2)
					if d == utf8.RuneError {
						p.fail(p.i-12, "invalid UTF-16 surrogate pair")
						return ""
					}
					r = d
				}
				out = utf8.AppendRune(out, r)
			default:
				p.fail(p.i-2, "invalid escape \\%c", e)
				return ""
			}
		case c < 0x80:
			out = append(out, c)
			p.i++
		default:
			r, n := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && n <= 1 {
				p.fail(p.i, "invalid UTF-8 byte 0x%02x inside a string", c)
				return ""
			}
			out = append(out, p.b[p.i:p.i+n]...)
			p.i += n
		}
	}
}

// intern returns the shared copy of the keys every header repeats.
func intern(b []byte) string {
	switch string(b) { // no allocation: the compiler compares in place
	case "dtype":
		return "dtype"
	case "shape":
		return "shape"
	case "data_offsets":
		return "data_offsets"
	}
	return string(b)
}

// pythonSurrogate completes the surrogate r just read: with the low half
// that follows it into one rune, and as U+FFFD when it has no partner (a
// following escape that does not pair is left to be read on its own).
func (p *parser) pythonSurrogate(r rune) rune {
	if r >= 0xDC00 || p.i+6 > len(p.b) || p.b[p.i] != '\\' || p.b[p.i+1] != 'u' {
		return utf8.RuneError
	}
	save, err := p.i, p.err
	p.i += 2
	r2, ok := p.hex4()
	if ok {
		if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
			return d
		}
	}
	p.i, p.err = save, err // not a pair: read the next escape on its own
	return utf8.RuneError
}

func (p *parser) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		p.fail(p.i, "truncated \\u escape")
		return 0, false
	}
	var r rune
	for k := 0; k < 4; k++ {
		c := p.b[p.i+k]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			p.fail(p.i+k, "invalid hex digit in \\u escape")
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	p.i += 4
	return r, true
}

func escapePointer(k string) string {
	out := make([]byte, 0, len(k))
	for i := 0; i < len(k); i++ {
		switch k[i] {
		case '~':
			out = append(out, '~', '0')
		case '/':
			out = append(out, '~', '1')
		default:
			out = append(out, k[i])
		}
	}
	return string(out)
}

// Uint parses a number value as a non-negative integer that fits in 64
// bits, refusing signs, fractions and exponents (which serde_json refuses
// for an unsigned field, while Python would accept 1e3 or 2.0).
func Uint(v *Value) (uint64, bool) {
	if v == nil || v.Kind != Number || v.Str == "" || v.Str[0] == '-' {
		return 0, false
	}
	for i := 0; i < len(v.Str); i++ {
		if v.Str[i] < '0' || v.Str[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(v.Str, 10, 64)
	return n, err == nil
}

// Members reads one object at the start of b, handing each member's value
// to fn as soon as it is parsed, so a caller that keeps only what it needs
// uses memory for one member at a time rather than for the whole tree.
// Limits.MaxNodes applies to each member separately. It returns the offset
// just after the object (what follows is the caller's to judge), the
// duplicate keys at every level, and the first syntax error, which stops
// the walk.
func Members(b []byte, lim Limits, fn func(key string, keyOff int, v *Value)) (int, []Dup, error) {
	return Stream(b, lim, nil, nil, fn)
}

// Stream is Members for files too large to hold as a tree: the members
// for which keep(key) is false are parsed without retaining their
// children (fn gets an empty container), and every string value anywhere
// is passed to visit with its path (idx marks array indices). Nodes of
// retained members count against Limits.MaxNodes, each member separately.
func Stream(b []byte, lim Limits, keep func(key string) bool, visit func(path []string, idx []bool, v *Value), fn func(key string, keyOff int, v *Value)) (int, []Dup, error) {
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = 64
	}
	p := &parser{b: b, lim: lim, visit: visit}
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return 0, nil, &Error{p.i, "expected an object"}
	}
	p.i++
	seen := map[string]bool{}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
	} else {
		for {
			k, koff := p.key()
			if p.err != nil {
				return p.i, p.dups, p.err
			}
			if seen[k] && len(p.dups) < maxDups {
				p.dups = append(p.dups, Dup{Path: "", Key: k, Off: koff})
			}
			seen[k] = true
			if !p.colon(k) {
				return p.i, p.dups, p.err
			}
			p.nodes = 0
			p.discard = keep != nil && !keep(k)
			p.path, p.idx = append(p.path[:0], k), append(p.idx[:0], false)
			v := p.value(1)
			p.path, p.idx = p.path[:0], p.idx[:0]
			if p.err != nil {
				return p.i, p.dups, p.err
			}
			fn(k, koff, v)
			if p.sep('}') {
				continue
			}
			if p.err != nil {
				return p.i, p.dups, p.err
			}
			break
		}
	}
	return p.i, p.dups, nil
}
