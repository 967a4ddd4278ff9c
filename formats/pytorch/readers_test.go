package pytorch_test

import (
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestZipPickleReader: a zip checkpoint's data.pkl, and a legacy file's
// pickles after the first, are read by torch.load alone, which has no
// joblib inline-array skip: bytes behind a joblib array wrapper are
// opcodes there, and the finding says torch.load runs them. The benign
// twin is the unmodified checkpoint.
func TestZipPickleReader(t *testing.T) {
	needPickle(t)
	base := fixture(t, "state_dict_dtypes.pt")
	payload := "cos\nsystem\nX\x02\x00\x00\x00id\x85R0"
	wrapped := "\x80\x02cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(X\x05\x00\x00\x00dtypecnumpy\ndtype\nX\x02\x00\x00\x00u1\x89\x88\x87R" +
		"X\x05\x00\x00\x00shapeK" + string(rune(len(payload))) + "\x85ub" + payload + "."
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"benign: real torch.save checkpoint", base, ""},
		{"legacy .pt whose main pickle is joblib-shaped: only torch.load reads it, and runs the 'array' bytes",
			[]byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19." + "\x80\x02M\xe9\x03." + "\x80\x02}q\x00." + wrapped + "\x80\x02]."),
			"pickle/dangerous-import"},
		{"joblib-shaped data.pkl: torch.load runs the 'array' bytes", rezip(t, base, func(n string, d []byte) (string, []byte, bool) {
			if strings.HasSuffix(n, "/data.pkl") {
				d = []byte(wrapped)
			}
			return n, d, true
		}), "pickle/dangerous-import"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := formatstest.ScanBytes(t, "model.pt", c.data, nil)
			if c.want == "" {
				if got := formatstest.Rules(res, formats.High); len(got) > 0 {
					t.Fatalf("want nothing at high:\n%s", formatstest.Describe(res))
				}
				return
			}
			for _, f := range res.Findings {
				if f.Rule == c.want && f.Severity == formats.Critical && strings.HasSuffix(f.Message, "[read by torch.load]") {
					return
				}
			}
			t.Fatalf("want %s critical read by torch.load:\n%s", c.want, formatstest.Describe(res))
		})
	}
}
