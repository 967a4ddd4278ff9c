package numpy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// descrVerdict is what a descr fixture must produce.
type descrVerdict int

const (
	clean    descrVerdict = iota // nothing at Medium or above
	objects                      // an object array: numpy/object-array, nothing at Medium or above
	runs                         // numpy.load(allow_pickle=True) runs the payload: Critical
	refusedH                     // numpy refuses the descr: malformed-header High, the payload flagged but not Critical
)

// TestDescrSpellings: the descr spellings numpy.lib.format.descr_to_dtype
// accepts, written by real numpy (testdata/descr/make_descr_fixtures.py),
// are read as numpy reads them: benign ones clean, object fields an object
// array whose payload numpy.load runs, and descrs numpy refuses malformed
// but not Critical (numpy.load raises before it reads the data).
func TestDescrSpellings(t *testing.T) {
	needPickle(t)
	cases := []struct {
		name, file string
		want       descrVerdict
	}{
		{"np.save '<U10'", "save_U10.npy", clean},
		{"np.save 'S5' (written '|S5')", "save_S5.npy", clean},
		{"np.save 'V16'", "save_V16.npy", clean},
		{"np.save 'M8[ns]'", "save_M8_ns.npy", clean},
		{"np.save 'm8[s]'", "save_m8_s.npy", clean},
		{"np.save 'c16'", "save_c16.npy", clean},
		{"np.save '?' (written '|b1')", "save_bool.npy", clean},
		{"np.save 'b1'", "save_b1.npy", clean},
		{"np.save big-endian '>f4'", "save_f4_big_endian.npy", clean},
		{"np.save '|O'", "save_object.npy", objects},
		{"np.save 'f8,O' (written as fields f0, f1)", "save_comma_f8_O.npy", objects},
		{"np.save '3f4' (folded into the shape)", "save_repeat_3f4.npy", clean},
		{"np.save ('f8', (2,3)) (folded into the shape)", "save_subarray_f8_2x3.npy", clean},
		{"np.save nested structured with an object field", "save_nested_structured_object.npy", objects},
		{"np.save dict dtype with offsets (padding fields)", "save_dict_with_offsets.npy", objects},
		{"header 'f8,O' comma string", "raw_comma_f8_O.npy", objects},
		{"header 'f8, O' comma string with a space", "raw_comma_spaced.npy", objects},
		{"header '1O' repeat count", "raw_repeat_1O.npy", objects},
		{"header '3f4' repeat count", "raw_repeat_3f4.npy", clean},
		{"header '(2,3)O' shape prefix", "raw_shape_prefix_2x3_O.npy", objects},
		{"header 'i4,(2,3)f8' comma string with a subarray", "raw_comma_with_subarray.npy", clean},
		{"header ('f8', (2, 3)) tuple subarray", "raw_tuple_subarray.npy", clean},
		{"header ('|O', (2,)) object subarray", "raw_tuple_object_subarray.npy", objects},
		{"header nested structured with an object field", "raw_nested_structured_object.npy", objects},
		{"header (title, name) field", "raw_titled_field.npy", clean},
		{"header ['xd']: a two-character string is a field", "raw_two_char_string_field.npy", clean},
		{"header '<U10'", "raw_U10.npy", clean},
		{"header 'S5'", "raw_S5.npy", clean},
		{"header 'V16'", "raw_V16.npy", clean},
		{"header 'M8[ns]'", "raw_M8_ns.npy", clean},
		{"header 'm8[s]'", "raw_m8_s.npy", clean},
		{"header 'c16'", "raw_c16.npy", clean},
		{"header '?'", "raw_bool.npy", clean},
		{"header 'b1'", "raw_b1.npy", clean},
		{"header '>f4'", "raw_f4_big_endian.npy", clean},
		{"header '|O'", "raw_object.npy", objects},
		{"payload behind 'f8,O'", "evil_comma_f8_O.npy", runs},
		{"payload behind '1O'", "evil_repeat_1O.npy", runs},
		{"payload behind ('|O', (2,))", "evil_tuple_object_subarray.npy", runs},
		{"payload behind ['xO'] (field x of objects)", "evil_two_char_string_field.npy", runs},
		{"payload behind a nested object field", "evil_nested_structured_object.npy", runs},
		{"payload behind descr b'|O' (bytes: numpy refuses)", "refused_bytes_literal_O.npy", refusedH},
		{"payload behind an np.dtype-style dict descr (numpy refuses)", "refused_dict_descr.npy", refusedH},
		{"payload behind a list of type strings (numpy refuses)", "refused_list_of_type_strings.npy", refusedH},
		{"payload behind a negative subarray shape (numpy refuses)", "refused_negative_subarray.npy", refusedH},
	}
	listed := map[string]bool{}
	for _, c := range cases {
		listed[c.file] = true
		t.Run(c.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata/descr", c.file))
			if err != nil {
				t.Fatal(err)
			}
			checkDescrVerdict(t, formatstest.ScanBytes(t, c.file, b, nil), c.want)
		})
	}
	all, _ := filepath.Glob("testdata/descr/*.npy")
	for _, f := range all {
		if !listed[filepath.Base(f)] {
			t.Errorf("fixture %s has no case", f)
		}
	}
}

func checkDescrVerdict(t *testing.T, res *formats.FileResult, want descrVerdict) {
	t.Helper()
	rule := func(name string, sev formats.Severity, msg string) bool {
		for _, f := range res.Findings {
			if f.Rule == name && f.Severity == sev && strings.Contains(f.Message, msg) {
				return true
			}
		}
		return false
	}
	switch want {
	case clean, objects:
		if got := formatstest.Rules(res, formats.Medium); len(got) > 0 {
			t.Fatalf("benign dtype flagged:\n%s", formatstest.Describe(res))
		}
		if (want == objects) != rule("numpy/object-array", formats.Info, "") {
			t.Fatalf("object array: want %v:\n%s", want == objects, formatstest.Describe(res))
		}
	case runs:
		if !rule("pickle/dangerous-import", formats.Critical, "read by numpy.load(allow_pickle=True)]") {
			t.Fatalf("payload numpy.load runs not Critical:\n%s", formatstest.Describe(res))
		}
	case refusedH:
		if !rule("numpy/malformed-header", formats.High, "numpy.load refuses") {
			t.Fatalf("refused descr not malformed:\n%s", formatstest.Describe(res))
		}
		if !rule("pickle/dangerous-import", formats.High, "read by no loader") {
			t.Fatalf("payload behind a refused header not reported:\n%s", formatstest.Describe(res))
		}
		if len(formatstest.Rules(res, formats.Critical)) > 0 {
			t.Fatalf("numpy refuses the header, yet a finding says it runs:\n%s", formatstest.Describe(res))
		}
	}
}

// TestDescrEdges: descrs built here for what the fixtures do not show:
// caps, and spellings this reader cannot vouch for, which stay High with
// the payload judged as numpy.load would run it (fail closed).
func TestDescrEdges(t *testing.T) {
	needPickle(t)
	hdr := func(descr string) []byte {
		return npy(1, "{'descr': "+descr+", 'fortran_order': False, 'shape': (1,), }", []byte(evilPickle))
	}
	for _, c := range []struct {
		name string
		data []byte
		rule string
		sev  formats.Severity
		msg  string
	}{
		{"tuple subarrays nested past the cap", hdr(strings.Repeat("(", 20) + "'|O'" + strings.Repeat(", 1)", 20)),
			"numpy/malformed-header", formats.High, "nests deeper"},
		{"subarray of 33 dimensions (numpy's cap is 32)", hdr("('|O', (" + strings.Repeat("1, ", 33) + "))"),
			"numpy/malformed-header", formats.High, "numpy.load refuses"},
		{"mixed byte orders in one comma item (numpy refuses)", hdr("'<3>f4'"),
			"numpy/malformed-header", formats.High, "numpy.load refuses"},
		{"three-character string field: not vouched for, payload judged as run", hdr("['xOz']"),
			"pickle/dangerous-import", formats.Critical, "read by numpy.load(allow_pickle=True)]"},
		{"second pickle after the object array's STOP: np.load reads one", npy(1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", []byte("\x80\x02K\x01.\x80\x02K\x02.")),
			"numpy/trailing-data", formats.Medium, "reads that one pickle"},
		{"os.system pickle after the object array's STOP", npy(1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", []byte("\x80\x02K\x01."+evilPickle)),
			"pickle/dangerous-import", formats.High, "read by no loader: it is past the first pickle's STOP"},
		{"duplicate field names (numpy refuses)", hdr("[('a', '<f8'), ('a', '|O')]"),
			"numpy/malformed-header", formats.High, "used twice"},
		{"unknown datetime unit", npy(1, "{'descr': '<M8[xs]', 'fortran_order': False, 'shape': (1,), }", make([]byte, 8)),
			"numpy/malformed-header", formats.High, "datetime unit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := formatstest.ScanBytes(t, "a.npy", c.data, nil)
			for _, f := range res.Findings {
				if f.Rule == c.rule && f.Severity == c.sev && strings.Contains(f.Message, c.msg) {
					return
				}
			}
			t.Fatalf("want %s at %s (%q):\n%s", c.rule, c.sev, c.msg, formatstest.Describe(res))
		})
	}
}
