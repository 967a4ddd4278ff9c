package numpy_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	_ "github.com/modelvet/modelvet/formats/archive"
	"github.com/modelvet/modelvet/formats/formatstest"
	_ "github.com/modelvet/modelvet/formats/numpy"
	"github.com/modelvet/modelvet/formats/pickle"
)

func needPickle(t testing.TB) {
	t.Helper()
	res := &formats.FileResult{}
	o := formats.DefaultOptions()
	r := pickle.Scan(formats.NewScope("probe", &o, res), bytes.NewReader([]byte("\x80\x02K\x01.")), 6)
	if r == nil || r.Pickles == 0 {
		t.Skip("the pickle opcode reader (formats/pickle) has not landed: its stub reports nothing")
	}
}

// npy builds a .npy file from a header literal and data.
func npy(major byte, header string, data []byte) []byte {
	h := []byte(header)
	pre := 10
	if major > 1 {
		pre = 12
	}
	pad := 64 - (pre+len(h)+1)%64
	h = append(h, bytes.Repeat([]byte(" "), pad%64)...)
	h = append(h, '\n')
	out := []byte("\x93NUMPY")
	out = append(out, major, 0)
	if major == 1 {
		out = binary.LittleEndian.AppendUint16(out, uint16(len(h)))
	} else {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(h)))
	}
	return append(append(out, h...), data...)
}

const evilPickle = "\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."

func TestNpyFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.np?")
	if len(files) < 20 {
		t.Fatalf("only %d fixtures", len(files))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			b, _ := os.ReadFile(f)
			evil := strings.Contains(name, "evil")
			if evil || strings.HasPrefix(name, "object") {
				needPickle(t)
			}
			res := formatstest.ScanBytes(t, name, b, nil)
			if !strings.HasPrefix(res.Format, "n") { // numpy, npz
				t.Fatalf("format %s", res.Format)
			}
			if evil {
				if len(formatstest.Rules(res, formats.Critical)) == 0 {
					t.Fatalf("payload not found: %s", formatstest.Describe(res))
				}
				return
			}
			if got := formatstest.Rules(res, formats.Medium); len(got) > 0 {
				t.Fatalf("benign array flagged: %s", formatstest.Describe(res))
			}
		})
	}
}

func TestNpyHeaders(t *testing.T) {
	f4 := make([]byte, 24)
	cases := []struct {
		name string
		data []byte
		want string // "" = no finding at Medium or above
	}{
		{"version 2 header", npy(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f4), ""},
		{"version 3 utf-8 header", npy(3, "{'descr': [('é', '<f4')], 'fortran_order': False, 'shape': (6,), }", f4), ""},
		{"python 2 long and double quotes", npy(1, `{"descr": "<f4", "fortran_order": False, "shape": (6L,)}`, f4), ""},
		{"data shorter than the shape", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (7,), }", f4), "numpy/size-mismatch"},
		{"data longer than the shape (hidden bytes)", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", f4), "numpy/size-mismatch"},
		{"shape overflowing 64 bits", npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }", f4), "numpy/malformed-header"},
		{"element count times itemsize overflowing", npy(1, "{'descr': '<c16', 'fortran_order': False, 'shape': (4294967296, 4294967295), }", f4), "numpy/size-mismatch"},
		{"parenthesized integer is not a tuple", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", f4), "numpy/malformed-header"},
		{"negative dimension", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", f4), "numpy/malformed-header"},
		{"code in the header", npy(1, "{'descr': __import__('os').system('id'), 'fortran_order': False, 'shape': (6,), }", f4), "numpy/malformed-header"},
		{"extra key", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}", f4), "numpy/malformed-header"},
		{"missing key", npy(1, "{'descr': '<f4', 'shape': (6,), }", f4), "numpy/malformed-header"},
		{"duplicate key", npy(1, "{'descr': '<f4', 'descr': '|O', 'fortran_order': False, 'shape': (6,), }", f4), "numpy/malformed-header"},
		{"unknown dtype", npy(1, "{'descr': '<z4', 'fortran_order': False, 'shape': (6,), }", f4), "numpy/malformed-header"},
		{"fortran_order not a bool", npy(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (6,), }", f4), "numpy/malformed-header"},
		{"header length past the end", []byte("\x93NUMPY\x01\x00\xff\xff{}"), "numpy/malformed-header"},
		{"unknown version", npy(9, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", f4), "numpy/malformed-header"},
		{"deeply nested structured dtype", npy(1, "{'descr': "+strings.Repeat("[('a', ", 40)+"'<f4'"+strings.Repeat(")]", 40)+", 'fortran_order': False, 'shape': (6,), }", f4), "numpy/malformed-header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := formatstest.ScanBytes(t, "a.npy", c.data, nil)
			if c.want == "" {
				if got := formatstest.Rules(res, formats.Medium); len(got) > 0 {
					t.Fatalf("want no finding, got %s", formatstest.Describe(res))
				}
				return
			}
			found := false
			for _, r := range formatstest.Rules(res, formats.High) {
				found = found || r == c.want
			}
			if !found {
				t.Fatalf("want %s, got %s", c.want, formatstest.Describe(res))
			}
		})
	}
}

// An object array whose pickle calls os.system, hand-built, and the same
// inside an npz: the payload must be found both ways.
func TestObjectArrayPayload(t *testing.T) {
	needPickle(t)
	evil := npy(1, "{'descr': [('a', '<i4'), ('b', '|O')], 'fortran_order': False, 'shape': (1,), }", []byte(evilPickle))
	for name, data := range map[string][]byte{"structured.npy": evil} {
		res := formatstest.ScanBytes(t, name, data, nil)
		if len(formatstest.Rules(res, formats.Critical)) == 0 {
			t.Fatalf("%s: payload not found: %s", name, formatstest.Describe(res))
		}
	}
}
