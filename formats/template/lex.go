// Package template analyzes Jinja chat templates (tokenizer_config.json
// chat_template, chat_template.jinja, GGUF tokenizer.chat_template) without
// rendering them. A chat template is code: transformers, llama.cpp bindings
// and inference servers render it for every request, and a template that
// reaches Python internals (”.__class__.__mro__[1].__subclasses__()) runs
// attacker code wherever it is rendered outside a strict sandbox
// (CVE-2024-34359 in llama-cpp-python).
//
// The template is tokenized by a lexer of our own rather than parsed by
// gonja: gonja's parser refuses 6 of 53 real published templates (the
// {% generation %} tag, Python-style slicing and conditional expressions in
// {% set %}), and a scanner that cannot read real templates would either
// fail them all or skip them. The lexer follows Jinja's own rules for tag,
// comment, raw-block and string syntax, which is all the analysis needs:
// every attack has to name what it reaches, by identifier, attribute,
// subscript, filter argument, or string pieces, and those are tokens.
//
// Severity model. One template is rendered by several engines: transformers
// and vLLM (ImmutableSandboxedEnvironment), llama-cpp-python (plain
// Environment before CVE-2024-34359, sandboxed since), llama.cpp's C++
// engine (no Python objects at all), Ollama (converted to Go templates) and
// tools that call jinja2.Template directly. The scanner does not know which
// one will load the file, so:
//   - reaching a Python internal (a dunder or frame/code attribute, a
//     format-string field, a name assembled to one) is Critical even where
//     the sandbox raises SecurityError today: it runs code under every
//     plain-Jinja2 loader, the sandbox itself has been escaped repeatedly
//     (CVE-2016-10745, CVE-2019-10906, CVE-2024-56326, CVE-2025-27516:
//     all str.format), and no real template needs one (0 of 536);
//   - what cannot be shown not to reach one (a name computed from template
//     or publisher text, Jinja's cycler/joiner/lipsum, loaders) is High;
//   - render-time bombs are High for every engine, the sandbox included
//     (it caps one range() at 100,000 and nothing else): template/resource-bomb;
//   - prompt injection carried by the text (invisible characters: Medium;
//     a URL: Low) runs nothing in the loader; whether the model obeys and
//     can reach the network depends on the deployment, so never High.
package template

import (
	"strings"
	"unicode/utf8"
)

type tokKind uint8

const (
	tName tokKind = iota + 1
	tString
	tNumber
	tOp
)

type token struct {
	kind tokKind
	text string // name, decoded string, number literal, operator
	raw  string // source text of a string literal
	off  int
}

// tag is one {{ }} or {% %} with its tokens.
type tag struct {
	stmt bool // {% %}
	off  int
	end  int // offset just after the closing delimiter
	toks []token
}

type lexResult struct {
	tags  []tag
	err   string // why the template is not valid Jinja syntax, "" if it is
	errAt int
}

// maxTokens bounds the work on one template.
const maxTokens = 1 << 20

func lex(src string) lexResult {
	var res lexResult
	fail := func(off int, msg string) lexResult {
		res.err, res.errAt = msg, off
		return res
	}
	i := 0
	ntok := 0
	for i < len(src) {
		j := strings.IndexByte(src[i:], '{')
		if j < 0 {
			break
		}
		i += j
		if i+1 >= len(src) {
			break
		}
		switch src[i+1] {
		case '#':
			end := strings.Index(src[i+2:], "#}")
			if end < 0 {
				return fail(i, "a comment {# is never closed")
			}
			i += 2 + end + 2
			continue
		case '{', '%':
		default:
			i++
			continue
		}
		stmt := src[i+1] == '%'
		closer := "}}"
		if stmt {
			closer = "%}"
		}
		start := i
		i += 2
		if i < len(src) && (src[i] == '-' || src[i] == '+') {
			i++
		}
		t := tag{stmt: stmt, off: start}
		depth := 0
		closed := false
		for i < len(src) {
			c := src[i]
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				i++
				continue
			}
			// Closing delimiter, optionally with whitespace control.
			// Like Jinja, a closing delimiter only counts outside brackets.
			if depth == 0 && (c == '-' || c == '+') && strings.HasPrefix(src[i+1:], closer) {
				i += 3
				closed = true
				break
			}
			if depth == 0 && strings.HasPrefix(src[i:], closer) {
				i += 2
				closed = true
				break
			}
			ntok++
			if ntok > maxTokens {
				return fail(i, "the template has more than a million tokens; it was not analyzed")
			}
			switch {
			case c == '_' || c >= 0x80 || (c|0x20 >= 'a' && c|0x20 <= 'z'):
				k := i
				for k < len(src) {
					r, n := utf8.DecodeRuneInString(src[k:])
					if r == '_' || r >= 0x80 && r != utf8.RuneError || (r|0x20 >= 'a' && r|0x20 <= 'z') || (r >= '0' && r <= '9') {
						k += n
						continue
					}
					break
				}
				if k == i { // invalid UTF-8 byte
					return fail(i, "invalid UTF-8 inside a tag")
				}
				t.toks = append(t.toks, token{kind: tName, text: src[i:k], off: i})
				i = k
			case c >= '0' && c <= '9':
				k := i
				for k < len(src) && (src[k] == '_' || src[k] == '.' || src[k] == 'e' || src[k] == 'E' || src[k] >= '0' && src[k] <= '9' || src[k] == 'x' || src[k] == 'X' || src[k]|0x20 >= 'a' && src[k]|0x20 <= 'f') {
					if src[k] == '.' && (k+1 >= len(src) || src[k+1] < '0' || src[k+1] > '9') {
						break
					}
					k++
				}
				t.toks = append(t.toks, token{kind: tNumber, text: src[i:k], off: i})
				i = k
			case c == '\'' || c == '"':
				k := i + 1
				for k < len(src) && src[k] != c {
					if src[k] == '\\' {
						k++
					}
					k++
				}
				if k >= len(src) {
					return fail(i, "a string literal is never closed")
				}
				raw := src[i : k+1]
				t.toks = append(t.toks, token{kind: tString, text: unescape(raw[1 : len(raw)-1]), raw: raw, off: i})
				i = k + 1
			default:
				op := string(c)
				for _, two := range []string{"**", "//", "==", "!=", "<=", ">="} {
					if strings.HasPrefix(src[i:], two) {
						op = two
						break
					}
				}
				switch op {
				case "(", "[", "{":
					depth++
				case ")", "]", "}":
					depth--
				}
				t.toks = append(t.toks, token{kind: tOp, text: op, off: i})
				i += len(op)
			}
		}
		if !closed {
			return fail(start, "a tag opened here is never closed")
		}
		if depth != 0 {
			res.err, res.errAt = "unbalanced brackets inside a tag", start
		}
		t.end = i
		res.tags = append(res.tags, t)
		// {% raw %} ... {% endraw %}: the body is text, not code.
		if stmt && len(t.toks) == 1 && t.toks[0].kind == tName && t.toks[0].text == "raw" {
			k := findEndraw(src, i)
			if k < 0 {
				return fail(start, "a {% raw %} block is never closed")
			}
			i = k
		}
	}
	return res
}

// findEndraw returns the offset just after the {% endraw %} closing a raw
// block whose body starts at i, or -1.
func findEndraw(src string, i int) int {
	for {
		j := strings.Index(src[i:], "{%")
		if j < 0 {
			return -1
		}
		k := i + j + 2
		for k < len(src) && (src[k] == '-' || src[k] == '+' || src[k] == ' ' || src[k] == '\t' || src[k] == '\n' || src[k] == '\r') {
			k++
		}
		if strings.HasPrefix(src[k:], "endraw") {
			// Exactly Jinja's end-of-raw syntax: endraw, whitespace, an
			// optional - or +, whitespace, %}. Anything else is raw text.
			e := k + len("endraw")
			for e < len(src) && (src[e] == ' ' || src[e] == '\t' || src[e] == '\n' || src[e] == '\r') {
				e++
			}
			if e < len(src) && (src[e] == '-' || src[e] == '+') {
				e++
			}
			for e < len(src) && (src[e] == ' ' || src[e] == '\t' || src[e] == '\n' || src[e] == '\r') {
				e++
			}
			if strings.HasPrefix(src[e:], "%}") {
				return e + 2
			}
		}
		i = i + j + 2
	}
}

// unescape decodes a Jinja string literal body the way Jinja does (Python's
// unicode-escape): \x5f, \u005f, \U0000005f, octal \137 and \N{LOW LINE}
// all spell '_', and attackers use them to hide "__globals__".
func unescape(s string) string {
	// Jinja normalizes newlines inside a string literal before decoding
	// escapes, so a backslash before CR or CRLF is a line continuation
	// that disappears, exactly like one before LF: '__cla\<CR>ss__'
	// is "__class__".
	if strings.Contains(s, "\r") {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	}
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '\\', '\'', '"':
			b.WriteByte(e)
		case '\n':
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+1+n <= len(s) {
				if v, ok := hexVal(s[i+1 : i+1+n]); ok {
					b.WriteRune(rune(v))
					i += n
					continue
				}
			}
			b.WriteByte('\\')
			b.WriteByte(e)
		case 'N':
			if i+1 < len(s) && s[i+1] == '{' {
				if end := strings.IndexByte(s[i+1:], '}'); end > 0 {
					name := strings.ToUpper(s[i+2 : i+1+end])
					b.WriteString(namedChar(name))
					i += 1 + end
					continue
				}
			}
			b.WriteString(`\N`)
		default:
			if e >= '0' && e <= '7' {
				v, k := 0, 0
				for k < 3 && i+k < len(s) && s[i+k] >= '0' && s[i+k] <= '7' {
					v = v*8 + int(s[i+k]-'0')
					k++
				}
				b.WriteRune(rune(v))
				i += k - 1
				continue
			}
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return b.String()
}

func hexVal(h string) (int, bool) {
	if h == "" {
		return 0, false
	}
	v := 0
	for i := 0; i < len(h); i++ {
		c := h[i] | 0x20
		switch {
		case h[i] >= '0' && h[i] <= '9':
			v = v*16 + int(h[i]-'0')
		case c >= 'a' && c <= 'f':
			v = v*16 + int(c-'a'+10)
		default:
			return 0, false
		}
		if v > 0x10FFFF {
			return 0, false
		}
	}
	return v, true
}

// namedChar resolves the \N{...} names that spell identifier characters;
// any other name is kept visible as "\N{...}".
func namedChar(name string) string {
	switch name {
	case "LOW LINE":
		return "_"
	case "FULL STOP":
		return "."
	}
	if strings.HasPrefix(name, "LATIN SMALL LETTER ") && len(name) == len("LATIN SMALL LETTER ")+1 {
		return strings.ToLower(name[len(name)-1:])
	}
	if strings.HasPrefix(name, "LATIN CAPITAL LETTER ") && len(name) == len("LATIN CAPITAL LETTER ")+1 {
		return name[len(name)-1:]
	}
	return `\N{` + name + `}`
}
