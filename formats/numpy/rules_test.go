package numpy_test

import (
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestNumpyRules: header fields read as numpy.load reads them; where two
// platforms would read a file differently it is refused, and the object
// array's pickle is reported as run by numpy.load(allow_pickle=True).
func TestNumpyRules(t *testing.T) {
	needPickle(t)
	for _, c := range []struct {
		name string
		data []byte
		want string // "" = nothing at High or above
		min  formats.Severity
		msg  string
	}{
		{"'<l' is 8 bytes on Linux and 4 on Windows (numpy < 2)", npy(1, "{'descr': '<l', 'fortran_order': False, 'shape': (2,), }", make([]byte, 8)),
			"numpy/malformed-header", formats.High, "platform"},
		{"long double ('<g') differs by platform", npy(1, "{'descr': '<g', 'fortran_order': False, 'shape': (1,), }", make([]byte, 16)),
			"numpy/malformed-header", formats.High, "platform"},
		{"benign: a bool dimension is an int to numpy (isinstance(True, int))", npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (True, 2), }", make([]byte, 16)),
			"", 0, ""},
		{"data size disagreeing with the computed size", npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", make([]byte, 16)),
			"numpy/size-mismatch", formats.High, ""},
		{"object array pickle run by numpy.load(allow_pickle=True) only", npy(1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", []byte(evilPickle)),
			"pickle/dangerous-import", formats.Critical, "read by numpy.load(allow_pickle=True)]"},
		{"structured dtype with an object field is an object array", npy(1, "{'descr': [('a', '<f4'), ('b', '|O')], 'fortran_order': False, 'shape': (1,), }", []byte(evilPickle)),
			"pickle/dangerous-import", formats.Critical, "numpy.load"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := formatstest.ScanBytes(t, "a.npy", c.data, nil)
			if c.want == "" {
				if got := formatstest.Rules(res, formats.High); len(got) > 0 {
					t.Fatalf("want nothing at high:\n%s", formatstest.Describe(res))
				}
				return
			}
			for _, f := range res.Findings {
				if f.Rule == c.want && f.Severity >= c.min && strings.Contains(f.Message, c.msg) {
					return
				}
			}
			t.Fatalf("want %s at %s (%q):\n%s", c.want, c.min, c.msg, formatstest.Describe(res))
		})
	}
}
