package numpy

import (
	"fmt"
	"math/bits"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// dtype is what a header's descr says of one array element.
type dtype struct {
	itemsize uint64
	object   bool // holds Python objects: the data is a pickle
}

// singleChar are numpy's one-letter type codes whose size is the same on
// every platform numpy.load runs on.
var singleChar = map[string]uint64{
	"?": 1, "b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4,
	"q": 8, "Q": 8, "e": 2, "f": 4, "d": 8, "F": 8, "D": 16,
}

// platformSized are codes and names whose item size depends on the
// platform that loads the file (numpy < 2 on Windows: 'l' is 4 bytes;
// long double is 8 bytes with MSVC, 16 elsewhere; 'p' is pointer-sized).
// numpy.save never writes them (it writes '<i8', '<f16'), so a header
// that does is read differently by two machines: refused.
var platformSized = map[string]bool{
	"l": true, "L": true, "p": true, "P": true, "g": true, "G": true, "n": true, "N": true,
	"long": true, "ulong": true, "longdouble": true, "clongdouble": true, "intp": true, "uintp": true,
	"float128": true, "complex256": true, "float96": true, "complex192": true,
}

// named are the dtype names np.dtype() also accepts in a descr.
var named = map[string]uint64{
	"bool": 1, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 4,
	"uint32": 4, "int64": 8, "uint64": 8, "float16": 2, "float32": 4,
	"float64": 8, "complex64": 8, "complex128": 16, "float": 8, "complex": 16,
	"half": 2, "single": 4, "double": 8, "csingle": 8, "cdouble": 16,
	"byte": 1, "ubyte": 1, "short": 2, "ushort": 2, "intc": 4, "uintc": 4,
	"longlong": 8, "ulonglong": 8, "str": 0, "bytes": 0, "void": 0,
	"datetime64": 8, "timedelta64": 8,
	// numpy's zero-sized flexible codes and 'c' (one byte)
	"S": 0, "U": 0, "V": 0, "a": 0, "c": 1,
}

const (
	maxFields     = 10000
	maxDescrDepth = 16
	maxSubDims    = 32 // NPY_MAXDIMS: numpy refuses deeper subarray shapes
)

// refusedError is a descr numpy.lib.format.descr_to_dtype raises on, so
// numpy.load fails before it reads any data. Errors of other kinds are
// descrs this reader cannot vouch for, which numpy may still load.
type refusedError struct{ msg string }

func (e *refusedError) Error() string { return e.msg }

func refused(format string, a ...any) error {
	return &refusedError{fmt.Sprintf(format, a...)}
}

// parseDescr reads a descr the way numpy.lib.format.descr_to_dtype does
// (numpy 1.24): a str goes to np.dtype() (type strings, comma strings,
// repeat counts), a tuple is (base, subarray shape), anything else is
// iterated as a list of fields (name, type[, shape]). Anything numpy
// might read differently is an error; what numpy refuses is a
// *refusedError.
func parseDescr(v any, depth int) (dtype, error) {
	if depth > maxDescrDepth {
		return dtype{}, fmt.Errorf("the dtype nests deeper than %d levels", maxDescrDepth)
	}
	switch d := v.(type) {
	case string:
		return parseDtypeString(d)
	case tuple:
		// descr_to_dtype(descr[0]) with shape descr[1]; numpy ignores
		// descr[2:], and so does this reader.
		if len(d) < 2 {
			return dtype{}, refused("descr %v is a tuple of %d item(s); numpy needs (type, shape)", d, len(d))
		}
		base, err := parseDescr(d[0], depth+1)
		if err != nil {
			return dtype{}, err
		}
		return subarray(base, d[1])
	case []any:
		fields := make([]any, len(d))
		copy(fields, d)
		return parseFields(fields, depth)
	case map[string]any:
		// Iterating a dict yields its keys: numpy reads each key as a
		// field. Keys are not (name, type) pairs unless they are strings
		// of two or three characters ('names' is not: numpy refuses the
		// np.dtype-style {'names': ..., 'formats': ...} descr).
		// The order of the keys changes neither the size nor whether
		// a field holds objects.
		var fields []any
		for k := range d {
			fields = append(fields, k)
		}
		return parseFields(fields, depth)
	case bytesLit:
		return dtype{}, refused("descr %q is a bytes literal; numpy (Python 3) refuses it", string(d))
	}
	return dtype{}, refused("descr is %v (%T), neither a type string, a (type, shape) tuple nor a list of fields", v, v)
}

// parseFields reads a structured descr: numpy unpacks every field as
// (name, type) or (name, type, shape), so a field may be a tuple, a list
// or a two-character string ('aO' is a field "a" of objects).
func parseFields(d []any, depth int) (dtype, error) {
	if len(d) > maxFields {
		return dtype{}, fmt.Errorf("the structured dtype has %d fields, more than %d", len(d), maxFields)
	}
	var total dtype
	seen := map[string]bool{}
	for i, f := range d {
		var t []any
		switch x := f.(type) {
		case tuple:
			t = x
		case []any:
			t = x
		case string:
			rs := []rune(x)
			switch len(rs) {
			case 2:
				t = []any{string(rs[0]), string(rs[1])}
			case 3:
				// np.dtype((type, c)): a letter may name a dtype of the
				// same size (a view), which this reader does not follow;
				// anything else is not a shape, and numpy raises.
				if c := rs[2]; c > unicode.MaxASCII || unicode.IsLetter(c) || c == '?' {
					return dtype{}, fmt.Errorf("field %d is the string %q, whose third character numpy reads as a shape or a dtype", i, x)
				}
				return dtype{}, refused("field %d is the string %q, whose third character is not a shape; numpy refuses it", i, x)
			default:
				return dtype{}, refused("field %d is the string %q; numpy needs (name, type[, shape])", i, x)
			}
		case map[string]any:
			return dtype{}, fmt.Errorf("field %d is a dict", i)
		default:
			return dtype{}, refused("field %d is %v (%T), not a (name, type[, shape]) tuple", i, f, f)
		}
		if len(t) < 2 || len(t) > 3 {
			return dtype{}, refused("field %d has %d items; numpy needs (name, type[, shape])", i, len(t))
		}
		var names []string
		switch n := t[0].(type) {
		case string:
			names = []string{n}
		case tuple: // (title, name)
			if len(n) != 2 {
				return dtype{}, refused("field %d has a bad (title, name) pair", i)
			}
			name, ok := n[1].(string)
			if !ok {
				return dtype{}, refused("field %d has a name that is not a string", i)
			}
			names = []string{name}
			if title, ok := n[0].(string); ok {
				names = append(names, title)
			}
		default:
			return dtype{}, refused("field %d has a name that is not a string", i)
		}
		ft, err := parseDescr(t[1], depth+1)
		if err != nil {
			if _, isRefused := err.(*refusedError); isRefused {
				return dtype{}, refused("field %d: %v", i, err)
			}
			return dtype{}, fmt.Errorf("field %d: %w", i, err)
		}
		if len(t) == 3 {
			if ft, err = subarray(ft, t[2]); err != nil {
				return dtype{}, err
			}
		}
		for _, n := range names {
			if n == "" {
				continue // padding, or a name numpy fills in
			}
			if seen[n] {
				return dtype{}, refused("field name or title %q is used twice; numpy refuses it", n)
			}
			seen[n] = true
		}
		sum, carry := bits.Add64(total.itemsize, ft.itemsize, 0)
		if carry != 0 {
			return dtype{}, fmt.Errorf("the structured dtype is too large")
		}
		total.itemsize = sum
		total.object = total.object || ft.object
	}
	return total, nil
}

// subarray is np.dtype((base, shape)): shape an integer or a sequence of
// integers, none negative (numpy refuses bools and negatives).
func subarray(base dtype, shape any) (dtype, error) {
	var dims []any
	switch sh := shape.(type) {
	case int64:
		dims = []any{sh}
	case tuple:
		dims = sh
	case []any:
		dims = sh
	default:
		return dtype{}, refused("subarray shape %v is not an integer or a tuple of integers", shape)
	}
	if len(dims) > maxSubDims {
		return dtype{}, refused("subarray shape has %d dimensions, more than numpy's %d", len(dims), maxSubDims)
	}
	n := uint64(1)
	for _, x := range dims {
		v, ok := x.(int64)
		if !ok || v < 0 {
			return dtype{}, refused("subarray shape %v has %v, not a non-negative integer", shape, x)
		}
		hi, lo := bits.Mul64(n, uint64(v))
		if hi != 0 {
			return dtype{}, fmt.Errorf("the subarray shape %v overflows", shape)
		}
		n = lo
	}
	hi, lo := bits.Mul64(base.itemsize, n)
	if hi != 0 {
		return dtype{}, fmt.Errorf("the subarray %v is too large", shape)
	}
	return dtype{itemsize: lo, object: base.object}, nil
}

// isCommaString is numpy's _check_for_commastring (descriptor.c): a type
// string starting with a digit (after an optional byte order), with "()",
// or holding a comma outside square brackets goes to _commastring.
func isCommaString(s string) bool {
	order := func(c byte) bool { return strings.IndexByte("<>|=", c) >= 0 }
	digit := func(c byte) bool { return c >= '0' && c <= '9' }
	n := len(s)
	if n > 0 && digit(s[0]) || n > 1 && order(s[0]) && digit(s[1]) {
		return true
	}
	if n > 1 && s[0] == '(' && s[1] == ')' || n > 3 && order(s[0]) && s[1] == '(' && s[2] == ')' {
		return true
	}
	sq := 0
	for i := 0; i < n; i++ {
		switch s[i] {
		case ',':
			if sq == 0 {
				return true
			}
		case '[':
			sq++
		case ']':
			sq--
		}
	}
	return false
}

// numpy.core._internal's format_re, sep_re and space_re (ASCII \s here:
// a Unicode space numpy would skip makes this reader fail, closed).
var (
	formatRe = regexp.MustCompile(`^([<>|=]?)( *[(]?[ ,0-9]*[)]? *)([<>|=]?)([A-Za-z0-9.?]*(?:\[[a-zA-Z0-9,.]+\])?)`)
	sepRe    = regexp.MustCompile(`^\s*,\s*`)
	spaceRe  = regexp.MustCompile(`^\s+$`)
)

// parseDtypeString is np.dtype(s) for a str.
func parseDtypeString(s string) (dtype, error) {
	if !isCommaString(s) {
		return parseTypeString(s)
	}
	// _commastring: items of [order] [repeats] [order] type, separated
	// by commas; one item is that type, several are fields f0, f1, ...
	var items []dtype
	for at := 0; at < len(s); {
		if len(items) >= maxFields {
			return dtype{}, fmt.Errorf("the comma string %q has more than %d items", s, maxFields)
		}
		m := formatRe.FindStringSubmatch(s[at:])
		if m == nil {
			return dtype{}, fmt.Errorf("dtype %q: item %d is not recognized", s, len(items)+1)
		}
		at += len(m[0])
		if at < len(s) {
			if spaceRe.MatchString(s[at:]) {
				at = len(s)
			} else if sep := sepRe.FindString(s[at:]); sep != "" {
				at += len(sep)
			} else {
				return dtype{}, fmt.Errorf("dtype %q: item %d is not recognized", s, len(items)+1)
			}
		}
		o1, o2 := m[1], m[3]
		if o1 == "=" {
			o1 = "<"
		}
		if o2 == "=" {
			o2 = "<"
		}
		order := o1
		if o2 != "" {
			if o1 != "" && o1 != o2 {
				return dtype{}, refused("dtype %q mixes byte orders %s and %s", s, m[1], m[3])
			}
			order = o2
		}
		t, err := parseTypeString(order + m[4])
		if err != nil {
			return dtype{}, err
		}
		if rep := strings.TrimLeft(m[2], " \t"); rep != "" {
			// ast.literal_eval(repeats): "3" is 3, "2,3" is (2, 3).
			lit := rep
			if !strings.HasPrefix(lit, "(") {
				lit = "(" + lit + ")"
			}
			shape, err := parseLiteral(lit)
			if err != nil {
				return dtype{}, fmt.Errorf("dtype %q: repeat count %q: %v", s, m[2], err)
			}
			if t, err = subarray(t, shape); err != nil {
				return dtype{}, err
			}
		}
		items = append(items, t)
	}
	if len(items) == 0 {
		return dtype{}, fmt.Errorf("unknown dtype %q", s)
	}
	var total dtype
	for _, t := range items {
		sum, carry := bits.Add64(total.itemsize, t.itemsize, 0)
		if carry != 0 {
			return dtype{}, fmt.Errorf("dtype %q is too large", s)
		}
		total.itemsize = sum
		total.object = total.object || t.object
	}
	return total, nil
}

// datetimeUnit is what np.dtype accepts in M8[...] and m8[...].
var datetimeUnit = regexp.MustCompile(`^\[[0-9]{0,9}(Y|M|W|D|h|m|s|ms|us|ns|ps|fs|as|generic)(/[0-9]{1,9})?\]$`)

// parseTypeString is np.dtype(s) for a type string without commas.
func parseTypeString(s string) (dtype, error) {
	body := s
	if len(body) > 1 && strings.IndexByte("<>|=", body[0]) >= 0 {
		body = body[1:]
	}
	switch body {
	case "O", "O4", "O8":
		return dtype{itemsize: 8, object: true}, nil
	}
	if s == "object" {
		return dtype{itemsize: 8, object: true}, nil
	}
	if platformSized[body] || platformSized[s] {
		return dtype{}, fmt.Errorf("dtype %q has a size that depends on the platform loading it; two machines would read the array differently", s)
	}
	if n, ok := named[s]; ok {
		return dtype{itemsize: n}, nil
	}
	if n, ok := named[body]; ok && len(body) == 1 { // '|S', '<U'
		return dtype{itemsize: n}, nil
	}
	if n, ok := singleChar[body]; ok {
		return dtype{itemsize: n}, nil
	}
	if len(body) < 2 {
		return dtype{}, fmt.Errorf("unknown dtype %q", s)
	}
	kind, rest := body[0], body[1:]
	if kind == 'M' || kind == 'm' {
		if i := strings.IndexByte(rest, '['); i >= 0 { // datetime unit: M8[ns]
			if !datetimeUnit.MatchString(rest[i:]) {
				return dtype{}, fmt.Errorf("dtype %q has an unknown datetime unit", s)
			}
			rest = rest[:i]
		}
	}
	n, err := strconv.ParseUint(rest, 10, 32)
	if err != nil {
		return dtype{}, fmt.Errorf("unknown dtype %q", s)
	}
	switch kind {
	case 'b':
		if n == 1 {
			return dtype{itemsize: 1}, nil
		}
	case 'i', 'u':
		if n == 1 || n == 2 || n == 4 || n == 8 {
			return dtype{itemsize: n}, nil
		}
	case 'f':
		if n == 2 || n == 4 || n == 8 || n == 12 || n == 16 {
			return dtype{itemsize: n}, nil
		}
	case 'c':
		if n == 8 || n == 16 || n == 24 || n == 32 {
			return dtype{itemsize: n}, nil
		}
	case 'S', 'a', 'V':
		return dtype{itemsize: n}, nil
	case 'U':
		return dtype{itemsize: 4 * n}, nil
	case 'M', 'm':
		if n == 8 {
			return dtype{itemsize: 8}, nil
		}
	}
	return dtype{}, fmt.Errorf("unknown dtype %q", s)
}

// product multiplies shape dimensions, failing on negatives, non-integers
// and overflow instead of wrapping to a small number.
func product(dims []any) (uint64, error) {
	n := uint64(1)
	for i, d := range dims {
		v, ok := d.(int64)
		if b, isBool := d.(bool); isBool {
			// numpy checks isinstance(x, int), which a bool passes.
			v, ok = 0, true
			if b {
				v = 1
			}
		}
		if !ok {
			return 0, fmt.Errorf("shape dimension %d is %v, not an integer", i, d)
		}
		if v < 0 {
			return 0, fmt.Errorf("shape dimension %d is negative (%d)", i, v)
		}
		hi, lo := bits.Mul64(n, uint64(v))
		if hi != 0 {
			return 0, fmt.Errorf("the shape's element count overflows 64 bits")
		}
		n = lo
	}
	return n, nil
}
