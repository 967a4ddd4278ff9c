package pytorch

import (
	"bytes"
	"os"
	"sort"
	"testing"
)

// The legacy layout is five pickles back to back; frame must find each
// end exactly, or the raw storages would be read as opcodes.
func TestFrameLegacyLayout(t *testing.T) {
	b, err := os.ReadFile("testdata/legacy_state_dict.pt")
	if err != nil {
		t.Fatal(err)
	}
	off := int64(0)
	var last *frameInfo
	for i := range 5 {
		fi, err := frame(bytes.NewReader(b[off:]), int64(len(b))-off)
		if err != nil {
			t.Fatalf("pickle %d at %d: %v", i, off, err)
		}
		if b[off+fi.End-1] != '.' {
			t.Fatalf("pickle %d does not end on STOP", i)
		}
		if i == 1 && (len(fi.Ints) != 1 || fi.Ints[0] != legacyProtocolVersion) {
			t.Fatalf("protocol version pickle read as %v", fi.Ints)
		}
		off += fi.End
		last = fi
	}
	// The model has two Linear layers: four storages, keys sorted.
	if !last.Simple || len(last.Strings) != 4 || !sort.StringsAreSorted(last.Strings) {
		t.Fatalf("storage keys read as %q (simple=%v)", last.Strings, last.Simple)
	}
	if int64(len(b))-off < 4*8 {
		t.Fatalf("no room left for four storages after offset %d", off)
	}
}

func TestFrameErrors(t *testing.T) {
	for name, p := range map[string]string{
		"no STOP":                 "\x80\x02K\x01",
		"BINUNICODE past the end": "\x80\x02X\xff\xff\x00\x00ab.",
		"unknown opcode":          "\x80\x02\xff.",
		"BINBYTES8 huge":          "\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f.",
		"unterminated GLOBAL":     "cos\nsystem",
	} {
		if _, err := frame(bytes.NewReader([]byte(p)), int64(len(p))); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	fi, err := frame(bytes.NewReader([]byte("\x80\x02ctorch\nFloatStorage\nq\x00.trailing")), 33)
	if err != nil || fi.End != 25 || len(fi.Globals) != 1 || fi.Globals[0] != "torch.FloatStorage" {
		t.Fatalf("got %+v, %v", fi, err)
	}
}

// TestFrameKeepsBoundedLiterals: frame kept every integer and GLOBAL name
// of a pickle, so one made of millions of BININT1 or GLOBAL opcodes grew
// memory several times faster than the file; what it keeps is capped.
func TestFrameKeepsBoundedLiterals(t *testing.T) {
	const n = 3 * maxKeptStrings
	cases := []struct {
		name string
		op   []byte
		kept func(*frameInfo) int
	}{
		{"millions of BININT1", []byte("K\x01"), func(fi *frameInfo) int { return len(fi.Ints) }},
		{"millions of BININT2", []byte("M\x01\x02"), func(fi *frameInfo) int { return len(fi.Ints) }},
		{"millions of BININT", []byte("J\x01\x02\x03\x04"), func(fi *frameInfo) int { return len(fi.Ints) }},
		{"millions of GLOBAL", []byte("ca\nb\n"), func(fi *frameInfo) int { return len(fi.Globals) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := append(bytes.Repeat(c.op, n), '.')
			fi, err := frame(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			if fi.End != int64(len(b)) {
				t.Fatalf("end %d, want %d", fi.End, len(b))
			}
			if k := c.kept(fi); k > maxKeptStrings {
				t.Fatalf("kept %d literals of %d, more than the cap of %d", k, n, maxKeptStrings)
			}
		})
	}
}
