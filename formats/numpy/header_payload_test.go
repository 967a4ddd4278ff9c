package numpy_test

import (
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestPayloadBehindRefusedHeader: numpy reads headers with
// ast.literal_eval, which accepts forms this reader refuses. When such a
// header declares an object array to numpy, np.load(allow_pickle=True)
// unpickles the data: the payload must be found, not only the header
// reported as malformed.
func TestPayloadBehindRefusedHeader(t *testing.T) {
	payload := []byte("\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.")
	for _, c := range []struct{ name, header string }{
		{"repeated descr, the last (object) wins", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'descr': '|O', }"},
		{"comment after the dict", "{'descr': '|O', 'fortran_order': False, 'shape': (1,), } # x"},
		{"implicit string concatenation", "{'descr': '|' 'O', 'fortran_order': False, 'shape': (1,), }"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, v := range []byte{1, 2} {
				res := formatstest.ScanBytes(t, "a.npy", npy(v, c.header, payload), nil)
				var malformed, payloadFound bool
				for _, f := range res.Findings {
					malformed = malformed || f.Rule == "numpy/malformed-header"
					payloadFound = payloadFound || (f.Rule == "pickle/dangerous-import" && f.Severity == formats.Critical)
				}
				if !malformed || !payloadFound {
					t.Errorf("version %d: want the header refused and the payload found: %s", v, formatstest.Describe(res))
				}
			}
		})
	}
}
