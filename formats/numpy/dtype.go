package numpy

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
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
	"float64": 8, "complex64": 8, "complex128": 16,
}

const maxFields = 10000

// parseDescr reads a descr: a type string or a structured list of fields.
// Anything numpy might read differently, or not at all, is an error.
func parseDescr(v any, depth int) (dtype, error) {
	if depth > 16 {
		return dtype{}, fmt.Errorf("the structured dtype nests deeper than 16 levels")
	}
	switch d := v.(type) {
	case string:
		return parseTypeString(d)
	case []any:
		if len(d) == 0 {
			return dtype{}, fmt.Errorf("the structured dtype has no fields")
		}
		if len(d) > maxFields {
			return dtype{}, fmt.Errorf("the structured dtype has %d fields, more than %d", len(d), maxFields)
		}
		var total dtype
		for i, f := range d {
			t, ok := f.(tuple)
			if !ok || len(t) < 2 || len(t) > 3 {
				return dtype{}, fmt.Errorf("field %d of the structured dtype is not a (name, type[, shape]) tuple", i)
			}
			switch n := t[0].(type) {
			case string:
			case tuple: // (title, name)
				if len(n) != 2 {
					return dtype{}, fmt.Errorf("field %d has a bad (title, name) pair", i)
				}
			default:
				return dtype{}, fmt.Errorf("field %d has no name", i)
			}
			ft, err := parseDescr(t[1], depth+1)
			if err != nil {
				return dtype{}, fmt.Errorf("field %d: %w", i, err)
			}
			size := ft.itemsize
			if len(t) == 3 {
				var dims []any
				switch sh := t[2].(type) {
				case tuple:
					dims = sh
				case int64:
					dims = []any{sh}
				default:
					return dtype{}, fmt.Errorf("field %d has a shape that is not a tuple of integers", i)
				}
				n, err := product(dims)
				if err != nil {
					return dtype{}, fmt.Errorf("field %d: %w", i, err)
				}
				hi, lo := bits.Mul64(size, n)
				if hi != 0 {
					return dtype{}, fmt.Errorf("field %d is too large", i)
				}
				size = lo
			}
			sum, carry := bits.Add64(total.itemsize, size, 0)
			if carry != 0 {
				return dtype{}, fmt.Errorf("the structured dtype is too large")
			}
			total.itemsize = sum
			total.object = total.object || ft.object
		}
		return total, nil
	}
	return dtype{}, fmt.Errorf("descr is %T, neither a type string nor a list of fields", v)
}

func parseTypeString(s string) (dtype, error) {
	if s == "O" || s == "|O" || s == "<O" || s == ">O" || s == "=O" || s == "O8" || s == "|O8" || s == "object" {
		return dtype{itemsize: 8, object: true}, nil
	}
	if n, ok := named[s]; ok {
		return dtype{itemsize: n}, nil
	}
	body := s
	if len(body) > 0 && strings.IndexByte("<>|=", body[0]) >= 0 {
		body = body[1:]
	}
	if platformSized[body] || platformSized[s] {
		return dtype{}, fmt.Errorf("dtype %q has a size that depends on the platform loading it; two machines would read the array differently", s)
	}
	if n, ok := singleChar[body]; ok {
		return dtype{itemsize: n}, nil
	}
	if len(body) < 2 {
		return dtype{}, fmt.Errorf("unknown dtype %q", s)
	}
	kind, rest := body[0], body[1:]
	unit := ""
	if i := strings.IndexByte(rest, '['); i >= 0 { // datetime unit: M8[ns]
		unit, rest = rest[i:], rest[:i]
		if !strings.HasSuffix(unit, "]") || len(unit) > 12 {
			return dtype{}, fmt.Errorf("unknown dtype %q", s)
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
