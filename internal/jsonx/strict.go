package jsonx

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Decode is the one reader of signed JSON documents (Sigstore bundles,
// DSSE envelopes, in-toto statements, OMS and SLSA predicates, in-toto
// layouts and links). It validates data against the Go type of v before
// encoding/json fills v, so that what Go reads is what every other
// verifier (Python's json, protobuf JSON) reads from the same bytes:
//
//   - keys are matched exactly: a key that Unicode-case-folds to one of
//     the struct's json names without being it ("reſources", "K" Kelvin
//     for "k", "Resources") is refused, because encoding/json would fill
//     the field from it while Python and protobuf readers would not;
//   - two keys of one object that are equal, or equal after case folding,
//     are refused (readers keep the first, the last, or both);
//   - invalid UTF-8 and unpaired \u surrogates are refused (repaired as
//     U+FFFD by Go, kept or rejected elsewhere);
//   - a value of the wrong JSON type is refused where the type matters:
//     a number field (including json.Number, which encoding/json also
//     fills from a string) needs a JSON number, a string field a string,
//     a []byte field a (base64) string;
//   - nothing may follow the document, and nesting is bounded.
//
// Keys the type does not know are allowed (in-toto and Sigstore tell
// consumers to ignore unknown fields) but are still checked for
// duplicates and folding twins. json.RawMessage and interface values are
// checked for syntax, duplicates and twins only; whoever decodes them
// later must call Decode again with their own type.
//
// The validation streams over the bytes and keeps no tree, so memory is
// bounded by nesting depth and the widest object.
func Decode(data []byte, v any) error {
	if err := Check(data, reflect.TypeOf(v)); err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("invalid document: %v", err)
	}
	return nil
}

// Check is Decode without the decoding: it validates data against type t
// (nil: any JSON value, checked for syntax, duplicates and twins only).
func Check(data []byte, t reflect.Type) error {
	p := &parser{b: data, lim: Limits{MaxDepth: maxStrictDepth}}
	p.ws()
	p.typed(t, 0)
	if p.err != nil {
		return p.err
	}
	p.ws()
	if p.i != len(p.b) {
		return &Error{p.i, fmt.Sprintf("unexpected %s after the end of the document", p.show())}
	}
	return nil
}

// maxStrictDepth bounds nesting of signed documents (a recursion level
// per container).
const maxStrictDepth = 64

var (
	rawMessageType      = reflect.TypeFor[json.RawMessage]()
	numberType          = reflect.TypeFor[json.Number]()
	timeType            = reflect.TypeFor[time.Time]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// typed reads one value at p.i, checking it against t.
func (p *parser) typed(t reflect.Type, depth int) {
	if p.err != nil {
		return
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (t == rawMessageType || t.Kind() == reflect.Interface || reflect.PointerTo(t).Implements(jsonUnmarshalerType)) && t != timeType {
		// Read by someone else (later, with its own type, or by the
		// type's own UnmarshalJSON): only syntax, duplicates and twins
		// are checked here.
		t = nil
	}
	if p.i >= len(p.b) {
		p.fail(p.i, "unexpected end of input, a value was expected")
		return
	}
	start, c := p.i, p.b[p.i]
	if c == 'n' {
		// null leaves a Go field at its zero value, and is None to
		// Python: both read "absent".
		p.lit("null", Null, start)
		return
	}
	want := expectedKind(t)
	got := kindAt(c)
	if got == 0 {
		p.fail(p.i, "unexpected %s, a value was expected", p.show())
		return
	}
	if want != 0 && got != want {
		p.refuse(start, "%s: %s where the document format has %s", p.where(), article(got), article(want))
		return
	}
	switch c {
	case '{':
		p.object(t, depth)
	case '[':
		if depth >= p.lim.MaxDepth {
			p.fail(p.i, "nested deeper than %d levels", p.lim.MaxDepth)
			return
		}
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		p.i++
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return
		}
		for n := 0; ; n++ {
			p.ws()
			p.path = append(p.path, strconv.Itoa(n))
			p.typed(elem, depth+1)
			p.path = p.path[:len(p.path)-1]
			if p.err != nil {
				return
			}
			if p.sep(']') {
				continue
			}
			return
		}
	case '"':
		p.str()
	case 't':
		p.lit("true", Bool, start)
	case 'f':
		p.lit("false", Bool, start)
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			p.num()
			return
		}
		p.fail(p.i, "unexpected %s, a value was expected", p.show())
	}
}

// object reads an object whose Go type is t (a struct, a map, or nil).
func (p *parser) object(t reflect.Type, depth int) {
	if depth >= p.lim.MaxDepth {
		p.fail(p.i, "nested deeper than %d levels", p.lim.MaxDepth)
		return
	}
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = structFields(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	p.i++
	// Keys seen so far: a slice compared with EqualFold for the small
	// objects that make up nearly every document, a map of folded keys
	// beyond.
	var few []string
	var seen map[string]string // folded key -> key as written
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return
	}
	for {
		k, koff := p.key()
		if p.err != nil {
			return
		}
		prev, dup := "", false
		if seen != nil {
			prev, dup = seen[foldKey(k)]
		} else {
			for _, x := range few {
				if strings.EqualFold(x, k) {
					prev, dup = x, true
					break
				}
			}
		}
		if dup {
			if prev == k {
				p.refuse(koff, "%s: duplicate key %s (it appears twice; readers disagree on which one counts)", p.where(), showKey(k))
			} else {
				p.refuse(koff, "%s: the keys %s and %s differ only by case (Go reads them as one field, Python as two)", p.where(), showKey(prev), showKey(k))
			}
			return
		}
		if seen == nil && len(few) >= 16 {
			seen = make(map[string]string, 32)
			for _, x := range few {
				seen[foldKey(x)] = x
			}
		}
		if seen != nil {
			seen[foldKey(k)] = k
		} else {
			few = append(few, k)
		}
		var ct reflect.Type
		switch {
		case fields != nil:
			if ft, ok := fields[k]; ok {
				ct = ft
			} else {
				for name := range fields {
					if strings.EqualFold(name, k) {
						p.refuse(koff, "%s: the key %s differs from %q only by case: Go's decoder would read it as that field, Python and protobuf readers would not; refused as ambiguous", p.where(), showKey(k), name)
						return
					}
				}
			}
		case elem != nil:
			ct = elem
		}
		if !p.colon(k) {
			return
		}
		p.path = append(p.path, k)
		p.typed(ct, depth+1)
		p.path = p.path[:len(p.path)-1]
		if p.err != nil {
			return
		}
		if p.sep('}') {
			continue
		}
		return
	}
}

// AmbiguousError is valid JSON that Decode refuses because two readers
// would read it differently: duplicate or case-folded keys, a value of the
// wrong JSON type. (Syntax errors, invalid UTF-8 and lone surrogates are
// *Error.)
type AmbiguousError struct {
	Off int
	Msg string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("ambiguous JSON at byte %d: %s", e.Off, e.Msg)
}

// refuse records valid JSON that Decode will not read.
func (p *parser) refuse(off int, format string, args ...any) {
	if p.err == nil {
		p.err = &AmbiguousError{off, fmt.Sprintf(format, args...)}
	}
}

// showKey quotes a key for a message, adding its ASCII-escaped form when
// it has non-ASCII letters that look like ASCII ones (the Kelvin sign
// U+212A prints as K).
func showKey(k string) string {
	for i := 0; i < len(k); i++ {
		if k[i] >= utf8.RuneSelf {
			return fmt.Sprintf("%q (%+q)", k, k)
		}
	}
	return fmt.Sprintf("%q", k)
}

// where names the current position as a JSON pointer.
func (p *parser) where() string {
	if len(p.path) == 0 {
		return "at the top level"
	}
	return "at " + p.pointer()
}

// expectedKind is the JSON kind a Go type must be read from (0: any).
func expectedKind(t reflect.Type) Kind {
	if t == nil || t == rawMessageType {
		return 0
	}
	switch {
	case t == numberType:
		return Number
	case t == timeType:
		return String
	case reflect.PointerTo(t).Implements(jsonUnmarshalerType) || t.Implements(jsonUnmarshalerType):
		return 0 // the type reads itself; encoding/json calls it
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(jsonUnmarshalerType) && !reflect.PointerTo(t.Elem()).Implements(textUnmarshalerType):
		return String // base64
	case reflect.PointerTo(t).Implements(textUnmarshalerType):
		return String
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return Object
	case reflect.Slice, reflect.Array:
		return Array
	case reflect.String:
		return String
	case reflect.Bool:
		return Bool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return Number
	}
	return 0
}

func kindAt(c byte) Kind {
	switch c {
	case '{':
		return Object
	case '[':
		return Array
	case '"':
		return String
	case 't', 'f':
		return Bool
	case 'n':
		return Null
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return Number
	}
	return 0
}

var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// structFields returns the json names encoding/json fills in struct t
// and the type read under each, following its rules: exported fields,
// the tag's name or else the field name, "-" skipped, untagged embedded
// structs inlined. A field with the ",string" option is read from a JSON
// string whatever its Go type.
func structFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	addFields(t, m, 0)
	fieldCache.Store(t, m)
	return m
}

var stringType = reflect.TypeFor[string]()

func addFields(t reflect.Type, m map[string]reflect.Type, depth int) {
	if depth > 8 {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				inner := map[string]reflect.Type{}
				addFields(et, inner, depth+1)
				for k, v := range inner {
					if _, taken := m[k]; !taken {
						m[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if strings.Contains(","+opts+",", ",string,") {
			ft = stringType
		}
		m[name] = ft
	}
}

// foldKey maps s to a canonical form such that foldKey(a) == foldKey(b)
// exactly when strings.EqualFold(a, b) (and so when encoding/json would
// match a against a field named b): every rune becomes the smallest rune
// of its simple case-folding orbit.
func foldKey(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		// The smallest rune of an ASCII letter's orbit is its upper case.
		return strings.ToUpper(s)
	}
	var b strings.Builder
	for _, r := range s {
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		b.WriteRune(min)
	}
	return b.String()
}

func article(k Kind) string {
	if k == Array || k == Object {
		return "an " + k.String()
	}
	return "a " + k.String()
}
