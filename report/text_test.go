package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
)

// TestTextEscapesTerminalControls: names and messages come from the model;
// on a terminal an ESC sequence or CR in them could erase the CRITICAL
// line above, a newline could forge a line, a bidi override could reverse
// what is shown. Each must come out escaped, and real text unchanged.
func TestTextEscapesTerminalControls(t *testing.T) {
	cases := []struct{ name, path, msg, wantShown string }{
		{"cursor-up erase in file name", "m/x\x1b[1A\x1b[2K.bin", "calls os.system", `x\x1b[1A\x1b[2K.bin`},
		{"carriage return in import name", "m/a.pkl", "imports os.system\rsafe", `os.system\rsafe`},
		{"newline forging a verdict line", "m/a\nADMITTED: 0 findings.bin", "x", `a\nADMITTED`},
		{"bidi override in member name", "m/model\u202enib.pt", "x", `model\u202enib.pt`},
		{"C1 CSI", "m/a\u009b2J.bin", "x", `a\u009b2J.bin`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := &formats.Result{Files: []*formats.FileResult{{Path: c.path, Format: "pickle",
				Findings: []formats.Finding{{Rule: "pickle/dangerous-import", Severity: formats.Critical, Offset: formats.NoOffset, Message: c.msg}}}}}
			r := FromScan(res, formats.High)
			r.Verdict = "fail"
			r.Sections = []Section{{Name: "signature", Lines: []string{c.msg}}}
			r.Reasons = []Reason{{Rule: "x", Policy: "p", Detail: c.path}}
			var b bytes.Buffer
			if err := WriteText(&b, r, true); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, bad := range []string{"\r", "\u202e", "\u009b", "\x1b[1A", "\x1b[2K", "\nADMITTED"} {
				if strings.Contains(out, bad) {
					t.Errorf("output carries raw %q:\n%s", bad, out)
				}
			}
			if !strings.Contains(out, c.wantShown) {
				t.Errorf("output does not show %q escaped:\n%s", c.wantShown, out)
			}
		})
	}
	if got := safe("model.safetensors — 模型"); got != "model.safetensors — 模型" {
		t.Errorf("plain text changed: %q", got)
	}
}
