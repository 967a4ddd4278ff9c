package joblib_test

import (
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
