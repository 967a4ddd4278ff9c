package joblib_test

import (
	"bytes"
	"compress/zlib"
	"os"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestZlibHeaderCollision: "(S" (MARK, then a protocol-0 STRING) passes
// zlib's two-byte header check, so every protocol-0 pickle of a tuple that
// starts with a Python 2 str begins like zlib. Such files must be read as
// the pickles they are: the malicious ones found dangerous (not just
// "corrupt"), the benign ones clean.
func TestZlibHeaderCollision(t *testing.T) {
	for _, c := range []struct {
		name, file string
		data       string
		rule       string // "" = nothing at Medium or above
		sev        formats.Severity
	}{
		{"INST payload with a string argument", "payload.pkl", "(S'id'\nios\nsystem\n.", "pickle/dangerous-import", formats.Critical},
		{"INST payload named .bin", "model.bin", "(S'id'\nS'x'\nisubprocess\ncheck_output\n.", "pickle/dangerous-import", formats.Critical},
		{"Python 2 protocol-0 tuple of str", "old.pkl", "(S'a'\np0\nS'b'\np1\ntp2\n.", "", 0},
		{"Python 2 protocol-0 tuple with a dict", "old.pickle", "(S'lr'\np0\n(dp1\nS'x'\np2\nF0.5\nstp3\n.", "", 0},
		// Protocol 1 has no PROTO: a str of 9 characters starts "X\x09\0\0\0",
		// another pair that passes the zlib header check.
		{"protocol-1 pickle of a 9-character str", "name.pkl", "X\x09\x00\x00\x00abcdefghiq\x00.", "", 0},
		{"protocol-1 payload whose first op is a 9-character str", "p.pkl", "X\x09\x00\x00\x00ls -la /tq\x00cos\nsystem\nq\x01h\x00\x85R.", "pickle/dangerous-import", formats.Critical},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := scan(t, c.file, []byte(c.data), formats.Strict)
			if c.rule == "" {
				if r := formatstest.Rules(res, formats.Medium); len(r) > 0 || res.Format != "pickle" {
					t.Errorf("want a clean pickle:\n%s", formatstest.Describe(res))
				}
				return
			}
			if !has(res, c.rule, c.sev, "") {
				t.Errorf("want %s %s:\n%s", c.sev, c.rule, formatstest.Describe(res))
			}
		})
	}
}

// TestZlibTrailingData: joblib's zlib reader stops at the end of the first
// stream; bytes after it (a second stream, garbage) are reported, and a
// real compressed dump has none.
func TestZlibTrailingData(t *testing.T) {
	var first, second bytes.Buffer
	w := zlib.NewWriter(&first)
	w.Write([]byte("\x80\x02}q\x00."))
	w.Close()
	w = zlib.NewWriter(&second)
	w.Write([]byte("\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."))
	w.Close()
	res := scan(t, "m.joblib", append(first.Bytes(), second.Bytes()...), formats.Strict)
	if !has(res, "compressed/trailing-data", formats.Medium, "") {
		t.Errorf("second stream not reported:\n%s", formatstest.Describe(res))
	}
	data, err := os.ReadFile("testdata/arrays.joblib.zlib")
	if err != nil {
		t.Fatal(err)
	}
	if res := scan(t, "arrays.joblib", data, formats.Strict); has(res, "compressed/trailing-data", formats.Info, "") {
		t.Errorf("real zlib dump reported as trailing data:\n%s", formatstest.Describe(res))
	}
}

// TestLzmaHeaderLookalikes: the 13-byte LZMA "alone" header has weak
// checks that ordinary binary data passes. Such data is not compressed and
// must not become a "corrupt lzma" finding; a real lzma stream still is
// recognized.
func TestLzmaHeaderLookalikes(t *testing.T) {
	// The first bytes of a MATLAB v4 file (type 0, 1 row, 2 columns,
	// no imaginary part, name length 2, "a\0", two doubles).
	mat4 := []byte{0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 'a', 0,
		0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0xd3, 0x3f}
	res := formatstest.ScanBytes(t, "data.mat", mat4, nil)
	if res.Format == "lzma" || len(formatstest.Rules(res, formats.Medium)) > 0 {
		t.Errorf("MATLAB v4 data taken for lzma:\n%s", formatstest.Describe(res))
	}
}
