package keras

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A small JSON reader for Keras configs. encoding/json would do, except
// that Python's json module writes NaN and Infinity (Keras configs carry
// them, e.g. clip values), and a scanner must read what the loader reads.
// Objects keep every key in order, duplicates included: Python keeps the
// last duplicate, other readers the first, so all of them are checked.

type jsonKV struct {
	Key string
	Val any
}

// jsonObject is a JSON object with its keys in file order.
type jsonObject []jsonKV

// get returns the last value of key (Python's json keeps the last).
func (o jsonObject) get(key string) (any, bool) {
	for i := len(o) - 1; i >= 0; i-- {
		if o[i].Key == key {
			return o[i].Val, true
		}
	}
	return nil, false
}

func (o jsonObject) str(key string) string {
	v, _ := o.get(key)
	s, _ := v.(string)
	return s
}

const (
	maxJSONDepth = 512       // Python's json recursion limit is about 1000
	maxJSONNodes = 5_000_000 // values in one config
)

type jsonParser struct {
	b     []byte
	pos   int
	nodes int
}

type jsonError struct {
	off int
	msg string
}

func (e *jsonError) Error() string { return fmt.Sprintf("at byte %d: %s", e.off, e.msg) }

// parseJSON parses one JSON value filling all of b (trailing spaces allowed).
func parseJSON(b []byte) (v any, err error) {
	p := &jsonParser{b: b}
	v, err = p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.b) {
		return nil, &jsonError{p.pos, "unexpected data after the JSON value"}
	}
	return v, nil
}

func (p *jsonParser) fail(format string, args ...any) error {
	return &jsonError{p.pos, fmt.Sprintf(format, args...)}
}

func (p *jsonParser) space() {
	for p.pos < len(p.b) {
		switch p.b[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) lit(s string) bool {
	if len(p.b)-p.pos >= len(s) && string(p.b[p.pos:p.pos+len(s)]) == s {
		p.pos += len(s)
		return true
	}
	return false
}

func (p *jsonParser) value(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, p.fail("nesting deeper than %d", maxJSONDepth)
	}
	p.nodes++
	if p.nodes > maxJSONNodes {
		return nil, p.fail("more than %d values", maxJSONNodes)
	}
	p.space()
	if p.pos >= len(p.b) {
		return nil, p.fail("unexpected end of JSON")
	}
	switch c := p.b[p.pos]; {
	case c == '{':
		p.pos++
		var o jsonObject
		p.space()
		if p.lit("}") {
			return o, nil
		}
		for {
			p.space()
			if p.pos >= len(p.b) || p.b[p.pos] != '"' {
				return nil, p.fail("expected a string key")
			}
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			p.space()
			if !p.lit(":") {
				return nil, p.fail("expected ':'")
			}
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			o = append(o, jsonKV{k, v})
			p.space()
			if p.lit(",") {
				continue
			}
			if p.lit("}") {
				return o, nil
			}
			return nil, p.fail("expected ',' or '}'")
		}
	case c == '[':
		p.pos++
		a := []any{}
		p.space()
		if p.lit("]") {
			return a, nil
		}
		for {
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
			p.space()
			if p.lit(",") {
				continue
			}
			if p.lit("]") {
				return a, nil
			}
			return nil, p.fail("expected ',' or ']'")
		}
	case c == '"':
		return p.str()
	case p.lit("true"):
		return true, nil
	case p.lit("false"):
		return false, nil
	case p.lit("null"):
		return nil, nil
	case p.lit("NaN"), p.lit("Infinity"), p.lit("-Infinity"):
		return 0.0, nil
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.pos
		p.pos++
		for p.pos < len(p.b) && isNumChar(p.b[p.pos]) {
			p.pos++
		}
		f, err := strconv.ParseFloat(string(p.b[start:p.pos]), 64)
		if err != nil && !isRangeErr(err) {
			return nil, &jsonError{start, "bad number"}
		}
		return f, nil
	}
	return nil, p.fail("unexpected character %q", p.b[p.pos])
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func (p *jsonParser) str() (string, error) {
	p.pos++ // opening quote
	var out []byte
	start := p.pos
	for p.pos < len(p.b) {
		c := p.b[p.pos]
		switch {
		case c == '"':
			if out == nil {
				s := string(p.b[start:p.pos])
				p.pos++
				return s, nil
			}
			p.pos++
			return string(out), nil
		case c == '\\':
			if out == nil {
				out = append([]byte{}, p.b[start:p.pos]...)
			}
			if p.pos+1 >= len(p.b) {
				return "", p.fail("unterminated escape")
			}
			e := p.b[p.pos+1]
			p.pos += 2
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
					return "", p.fail("bad \\u escape")
				}
				if utf16.IsSurrogate(r) && p.pos+6 <= len(p.b) && p.b[p.pos] == '\\' && p.b[p.pos+1] == 'u' {
					save := p.pos
					p.pos += 2
					if r2, ok := p.hex4(); ok {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							r = d
						} else {
							p.pos = save
						}
					} else {
						p.pos = save
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				return "", p.fail("bad escape \\%c", e)
			}
		default:
			if out != nil {
				out = append(out, c)
			}
			p.pos++
		}
	}
	return "", p.fail("unterminated string")
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.pos+4 > len(p.b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(p.b[p.pos:p.pos+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.pos += 4
	return rune(v), true
}

func isNumChar(d byte) bool {
	return d >= '0' && d <= '9' || d == '.' || d == 'e' || d == 'E' || d == '+' || d == '-'
}
