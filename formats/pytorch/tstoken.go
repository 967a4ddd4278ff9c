package pytorch

import (
	"fmt"
	"strings"
)

// A tokenizer for the Python subset TorchScript serializes its code in
// (torch/csrc/jit/frontend/lexer.h reads the same shapes: names, numbers,
// strings with prefixes and triple quotes, comments, indentation). The
// code check works on these tokens, never on raw text, so a comment or a
// string cannot hide a call or fake one: "builtins.RuntimeError" inside a
// string literal is a string, and `# )` does not end a call.

type tokKind uint8

const (
	tName tokKind = iota
	tNumber
	tString
	tOp
	tNewline // end of a logical line
)

type token struct {
	kind   tokKind
	text   string // the name, operator, or a string's value (escapes kept)
	off    int    // byte offset in the source
	indent int    // indentation of the logical line the token starts
}

// maxTokens bounds the tokens kept for one source (about 40 MB at most;
// a scripted transformer's whole source is a few hundred thousand).
const maxTokens = 1 << 20

// tokenize splits src into tokens. It fails (fail closed) on what Python's
// tokenizer would refuse: an unterminated string, a stray character,
// unbalanced brackets.
func tokenize(src string) ([]token, error) {
	toks := make([]token, 0, min(len(src)/8+1, maxTokens))
	depth := 0 // bracket depth: newlines inside brackets join lines
	indent := 0
	lineStart := true
	for i := 0; i < len(src); {
		c := src[i]
		if lineStart && depth == 0 {
			// Measure indentation of a new logical line.
			n := 0
			j := i
			for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
				if src[j] == '\t' {
					n = (n/8 + 1) * 8
				} else {
					n++
				}
				j++
			}
			indent = n
			i = j
			lineStart = false
			continue
		}
		switch {
		case c == '\n':
			if depth == 0 && len(toks) > 0 && toks[len(toks)-1].kind != tNewline {
				toks = append(toks, token{kind: tNewline, off: i, indent: indent})
			}
			i++
			if depth == 0 {
				lineStart = true
			}
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\f':
			i++
			continue
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		case c == '\\' && i+1 < len(src) && (src[i+1] == '\n' || src[i+1] == '\r'):
			i += 2 // explicit line continuation
			if i < len(src) && src[i-1] == '\r' && src[i] == '\n' {
				i++
			}
			continue
		}
		if len(toks) >= maxTokens {
			return nil, fmt.Errorf("more than %d tokens", maxTokens)
		}
		if isIdentStart(c) {
			j := i
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			word := src[i:j]
			if j < len(src) && (src[j] == '"' || src[j] == '\'') && isStringPrefix(word) {
				s, end, err := readString(src, j)
				if err != nil {
					return nil, err
				}
				toks = append(toks, token{kind: tString, text: s, off: i, indent: indent})
				i = end
				continue
			}
			toks = append(toks, token{kind: tName, text: word, off: i, indent: indent})
			i = j
			continue
		}
		if c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9' {
			j := i
			for j < len(src) && (isIdentPart(src[j]) || src[j] == '.' ||
				(src[j] == '+' || src[j] == '-') && (src[j-1] == 'e' || src[j-1] == 'E')) {
				j++
			}
			toks = append(toks, token{kind: tNumber, text: src[i:j], off: i, indent: indent})
			i = j
			continue
		}
		if c == '"' || c == '\'' {
			s, end, err := readString(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tString, text: s, off: i, indent: indent})
			i = end
			continue
		}
		op := ""
		for n := 3; n >= 1 && op == ""; n-- {
			if i+n <= len(src) && opSet[src[i:i+n]] {
				op = src[i : i+n]
			}
		}
		if op == "" {
			return nil, fmt.Errorf("unexpected character %q at offset %d", c, i)
		}
		switch op {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			if depth == 0 {
				return nil, fmt.Errorf("unbalanced %q at offset %d", op, i)
			}
			depth--
		}
		toks = append(toks, token{kind: tOp, text: op, off: i, indent: indent})
		i += len(op)
	}
	if depth != 0 {
		return nil, fmt.Errorf("unclosed bracket at the end of the source")
	}
	if len(toks) > 0 && toks[len(toks)-1].kind != tNewline {
		toks = append(toks, token{kind: tNewline, off: len(src), indent: indent})
	}
	return toks, nil
}

// ops3 are Python's operators and delimiters, longest first.
var ops3 = []string{
	"**=", "//=", ">>=", "<<=", "...", "->", ":=",
	"**", "//", ">>", "<<", "<=", ">=", "==", "!=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=",
	"+", "-", "*", "/", "%", "@", "&", "|", "^", "~", "<", ">", "(", ")", "[", "]", "{", "}", ",", ":", ".", ";", "=",
}

var opSet = func() map[string]bool {
	m := map[string]bool{}
	for _, o := range ops3 {
		m[o] = true
	}
	return m
}()

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentPart(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "b", "u", "f", "br", "rb", "fr", "rf":
		return true
	}
	return false
}

// readString reads a string literal starting at the quote at i and
// returns its body (escapes left as written) and the offset after it.
func readString(src string, i int) (string, int, error) {
	q := src[i]
	triple := strings.HasPrefix(src[i:], strings.Repeat(string(q), 3))
	start := i + 1
	if triple {
		start = i + 3
	}
	for j := start; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case '\n':
			if !triple {
				return "", 0, fmt.Errorf("unterminated string at offset %d", i)
			}
		case q:
			if !triple {
				return src[start:j], j + 1, nil
			}
			if strings.HasPrefix(src[j:], strings.Repeat(string(q), 3)) {
				return src[start:j], j + 3, nil
			}
		}
	}
	return "", 0, fmt.Errorf("unterminated string at offset %d", i)
}
