package numpy

import (
	"fmt"
	"strconv"
	"strings"
)

// The .npy header is a Python dict literal that numpy reads with
// ast.literal_eval. It is parsed here by a small recursive-descent reader
// of the few literal kinds a header holds (dict, tuple, list, str, int,
// bool, None): nothing is evaluated, and depth and length are bounded.

type tuple []any

// bytesLit is a bytes literal such as b"x": Python 3 reads it as bytes, not str, which
// numpy refuses as a descr.
type bytesLit string

const maxLiteralDepth = 32

type litParser struct {
	s     string
	i     int
	depth int
}

func parseLiteral(s string) (any, error) {
	p := &litParser{s: s}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("unexpected %q after the header dict at byte %d", p.rest(), p.i)
	}
	return v, nil
}

func (p *litParser) rest() string {
	r := p.s[p.i:]
	if len(r) > 20 {
		r = r[:20]
	}
	return r
}

func (p *litParser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\n\r", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *litParser) value() (any, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("the header ends where a value should be")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.container('{', '}')
	case c == '(':
		return p.container('(', ')')
	case c == '[':
		return p.container('[', ']')
	case c == '\'' || c == '"':
		return p.str()
	case c == 'u' && p.i+1 < len(p.s) && (p.s[p.i+1] == '\'' || p.s[p.i+1] == '"'):
		p.i++ // Python 2 headers may carry u'' strings
		return p.str()
	case c == 'b' && p.i+1 < len(p.s) && (p.s[p.i+1] == '\'' || p.s[p.i+1] == '"'):
		p.i++
		s, err := p.str()
		return bytesLit(s), err
	case c == '-' || c >= '0' && c <= '9':
		j := p.i + 1
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		n, err := strconv.ParseInt(p.s[p.i:j], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad integer %q at byte %d", p.s[p.i:j], p.i)
		}
		p.i = j
		if p.i < len(p.s) && (p.s[p.i] == 'L' || p.s[p.i] == 'l') { // Python 2 long
			p.i++
		}
		return n, nil
	default:
		for _, w := range []struct {
			word string
			v    any
		}{{"True", true}, {"False", false}, {"None", nil}} {
			if strings.HasPrefix(p.s[p.i:], w.word) {
				p.i += len(w.word)
				return w.v, nil
			}
		}
	}
	return nil, fmt.Errorf("unexpected %q at byte %d: only dicts, tuples, lists, strings, integers, booleans and None may appear", p.rest(), p.i)
}

func (p *litParser) container(open, close byte) (any, error) {
	p.depth++
	if p.depth > maxLiteralDepth {
		return nil, fmt.Errorf("the header nests deeper than %d levels", maxLiteralDepth)
	}
	defer func() { p.depth-- }()
	p.i++
	var items []any
	dict := map[string]any{}
	var order []string
	commas := 0
	for {
		p.space()
		if p.i < len(p.s) && p.s[p.i] == close {
			p.i++
			break
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		if open == '{' {
			k, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("a header dict key at byte %d is not a string", p.i)
			}
			p.space()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				return nil, fmt.Errorf("expected ':' after key %q at byte %d", k, p.i)
			}
			p.i++
			val, err := p.value()
			if err != nil {
				return nil, err
			}
			if _, dup := dict[k]; dup {
				// literal_eval keeps the last; a reader keeping the first
				// would see another array.
				return nil, fmt.Errorf("key %q appears twice in the header", k)
			}
			dict[k] = val
			order = append(order, k)
		} else {
			items = append(items, v)
		}
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			commas++
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == close {
			p.i++
			break
		}
		return nil, fmt.Errorf("expected ',' or %q at byte %d", close, p.i)
	}
	switch open {
	case '{':
		return dict, nil
	case '(':
		if len(items) == 1 && commas == 0 {
			// "(6)" is the integer 6 in Python, not a tuple: numpy would
			// reject it as a shape, so must we.
			return items[0], nil
		}
		return tuple(items), nil
	}
	return items, nil
}

func (p *litParser) str() (string, error) {
	q := p.s[p.i]
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == q:
			p.i++
			return b.String(), nil
		case c == '\\' && p.i+1 < len(p.s):
			e := p.s[p.i+1]
			p.i += 2
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '\\', '\'', '"':
				b.WriteByte(e)
			case 'x':
				if p.i+2 > len(p.s) {
					return "", fmt.Errorf("bad \\x escape at byte %d", p.i)
				}
				v, err := strconv.ParseUint(p.s[p.i:p.i+2], 16, 8)
				if err != nil {
					return "", fmt.Errorf("bad \\x escape at byte %d", p.i)
				}
				b.WriteByte(byte(v))
				p.i += 2
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		case c == '\n':
			return "", fmt.Errorf("a string runs past the end of a line at byte %d", p.i)
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", fmt.Errorf("unterminated string in the header")
}
