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
