package pickle_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/modelvet/modelvet/formats"
)

// dtypeOp appends numpy.dtype(spec, False, True).
func dtypeOp(b *op, spec string) *op {
	return b.global("numpy", "dtype").ustr(spec).raw(0x89, 0x88, 0x87).reduce()
}

func intOp(b *op, n int32) *op {
	var x [4]byte
	binary.LittleEndian.PutUint32(x[:], uint32(n))
	return b.raw('J').raw(x[:]...)
}

// forgedDtypePickle builds numpy.dtype(base) + BUILD (3, "|", subarray,
// names, fields, elsize, 1, flags), as numpy's dtype.__reduce__ writes it
// (fields before the "a" field are f8; "a" has type field), then an
// ndarray of that dtype filled from raw bytes.
func forgedDtypePickle(base, field string, before int, subarray bool, flags int32) []byte {
	b := &op{}
	b.proto(2).global("numpy.core.multiarray", "_reconstruct").global("numpy", "ndarray")
	intOp(b, 0).tuple1().binbytes([]byte("b")).raw(0x87).reduce()
	b.mark()
	intOp(b, 1)
	intOp(b, 1).tuple1()
	dtypeOp(b, base)
	b.mark()
	intOp(b, 3).ustr("|")
	switch {
	case subarray:
		dtypeOp(b, field)
		intOp(b, 1).tuple1().raw(0x86).raw('N', 'N')
	case field == "":
		b.raw('N', 'N', 'N')
	default:
		b.raw('N').mark()
		for i := 0; i < before; i++ {
			b.ustr(fmt.Sprintf("f%d", i))
		}
		b.ustr("a").raw('t').mark()
		for i := 0; i < before; i++ {
			b.ustr(fmt.Sprintf("f%d", i))
			dtypeOp(b, "f8")
			intOp(b, int32(8*i)).raw(0x86)
		}
		b.ustr("a")
		dtypeOp(b, field)
		intOp(b, int32(8*before)).raw(0x86).raw('d')
	}
	size := int32(8 * (before + 1))
	intOp(b, size)
	intOp(b, 1)
	intOp(b, flags).raw('t', 'b')
	raw := make([]byte, size)
	for i := range raw {
		raw[i] = 0x41
	}
	return b.raw(0x89).binbytes(raw).raw('t', 'b').stop().bytesOf()
}

// TestForgedDtypeFlags: numpy keeps a version-3 dtype state's flags as
// given; a dtype holding objects without NPY_ITEM_HASOBJECT|NPY_LIST_PICKLE
// has its array's raw bytes read as object pointers (safe-listed names
// only). numpy's own states always carry both bits (63 for objects).
func TestForgedDtypeFlags(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want bool
	}{
		{"structured dtype with an object field, flags 0", forgedDtypePickle("V8", "O8", 0, false, 0), true},
		{"object dtype itself, flags 0", forgedDtypePickle("|O8", "", 0, false, 0), true},
		{"object dtype, HASOBJECT without LIST_PICKLE", forgedDtypePickle("|O8", "", 0, false, 1), true},
		{"object subarray base, flags 0", forgedDtypePickle("V8", "O8", 0, true, 0), true},
		{"object field past the keep budget, flags 0", forgedDtypePickle("V8", "O8", 200, false, 0), true},
		{"flags as a negative char missing the bits", forgedDtypePickle("V8", "O8", 0, false, -128), true},
		// LONG1 of nine zero bytes is 0 to Python, a big int to the reader.
		{"flags as a zero-padded LONG", func() []byte {
			b := forgedDtypePickle("V8", "O8", 0, false, 0x7ffffff0)
			return bytes.Replace(b, []byte{'J', 0xf0, 0xff, 0xff, 0x7f}, append([]byte{0x8a, 9}, make([]byte, 9)...), 1)
		}(), true},
		{"real: structured with an object field, flags 63", forgedDtypePickle("V8", "O8", 0, false, 63), false},
		{"real: object dtype, flags 63", forgedDtypePickle("|O8", "", 0, false, 63), false},
		{"real: aligned struct with objects, flags -65 (0xbf)", forgedDtypePickle("V8", "O8", 0, false, -65), false},
		{"real: plain struct, flags 0", forgedDtypePickle("V8", "f8", 0, false, 0), false},
		{"real: 300 plain fields past the keep budget, flags 0", forgedDtypePickle("V8", "f4", 299, false, 0), false},
		{"real: plain subarray, flags 0", forgedDtypePickle("V8", "f8", 0, true, 0), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := scanBytes(t, "x.pkl", c.data, nil)
			if got := hasRule(res, "pickle/forged-dtype-flags", formats.High); got != c.want {
				t.Errorf("pickle/forged-dtype-flags = %v, want %v:\n%v", got, c.want, res.Findings)
			}
		})
	}
}

// layoutPickle builds numpy.dtype("V8") + BUILD whose one field of type
// spec sits at offset (or, with sub > 0, a subarray of sub items of spec),
// with flags 63 (numpy's own for objects) so only the layout is forged.
func layoutPickle(spec string, offset int32, sub int32) []byte {
	b := &op{}
	b.proto(2)
	dtypeOp(b, "V8")
	b.mark()
	intOp(b, 3).ustr("|")
	if sub > 0 {
		dtypeOp(b, spec)
		intOp(b, sub).tuple1().raw(0x86).raw('N', 'N')
	} else {
		b.raw('N').ustr("a").tuple1().mark().ustr("a")
		dtypeOp(b, spec)
		intOp(b, offset).raw(0x86).raw('d')
	}
	intOp(b, 8)
	intOp(b, 1)
	intOp(b, 63).raw('t', 'b')
	return b.stop().bytesOf()
}

// TestForgedDtypeLayout: numpy keeps a dtype state's fields and subarray
// without checking them against the item size; outside it, numpy reads
// and writes past the array's memory.
func TestForgedDtypeLayout(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want bool
	}{
		{"field far past the item", layoutPickle("O8", 1<<24, 0), true},
		{"field straddling the item's end", layoutPickle("<f8", 4, 0), true},
		{"negative field offset", layoutPickle("<f8", -8, 0), true},
		{"subarray larger than the item", layoutPickle("O8", 0, 1<<22), true},
		{"real: field filling the item", layoutPickle("<f8", 0, 0), false},
		{"real: two-byte field at the end", layoutPickle("<i2", 6, 0), false},
		{"real: subarray filling the item", layoutPickle("<i4", 0, 2), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := scanBytes(t, "x.pkl", c.data, nil)
			if got := hasRule(res, "pickle/forged-dtype-layout", formats.High); got != c.want {
				t.Errorf("pickle/forged-dtype-layout = %v, want %v:\n%v", got, c.want, res.Findings)
			}
		})
	}
}
