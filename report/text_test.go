package report

import (
	"bytes"
	"fmt"
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

// TestTextIsShortAndSaysWhy: a clean folder of 5,000 files is a few lines;
// findings come before the count of clean files; quiet keeps only findings
// and the summary; a model rejected for its signature says so first.
func TestTextIsShortAndSaysWhy(t *testing.T) {
	many := func(findingAt int) *Report {
		var files []*formats.FileResult
		for i := range 5000 {
			f := &formats.FileResult{Path: fmt.Sprintf("m/shard-%04d.safetensors", i), Format: "safetensors", Findings: []formats.Finding{}}
			if i == findingAt {
				f.Findings = []formats.Finding{{Rule: "safetensors/trailing-bytes", Severity: formats.High, Message: "3 bytes after the last tensor", Offset: 90}}
			}
			files = append(files, f)
		}
		return FromScan(&formats.Result{Files: files}, formats.High)
	}
	signed := FromScan(&formats.Result{Files: []*formats.FileResult{{Path: "m/model.safetensors", Format: "safetensors", Findings: []formats.Finding{}}}}, formats.High)
	signed.Verdict = "rejected"
	signed.Sections = []Section{{Name: "signature", Lines: []string{"m/model.safetensors changed"}}}
	signed.Reasons = []Reason{{Rule: "policy/signature", Policy: "signature.required: true (p.yaml:2)", Detail: "the signature did not verify: m/model.safetensors changed"}}
	quiet := many(4999)
	quiet.Quiet = true
	cases := []struct {
		name      string
		r         *Report
		maxLines  int
		first     string // the first line starts with this
		want, not []string
	}{
		{"clean folder of 5,000 files", many(-1), 50, "5000 files with no findings", []string{"PASS: 5000 files, 0 findings (0 at or above high)"}, []string{"shard-0001"}},
		{"one finding among 5,000 files comes first", many(4999), 50, "m/shard-4999.safetensors", []string{"4999 files with no findings", "FAIL: 5000 files, 1 finding (1 at or above high)"}, nil},
		{"quiet: the finding and the summary", quiet, 3, "m/shard-4999.safetensors", []string{"FAIL"}, []string{"with no findings"}},
		{"rejected for its signature", signed, 50, "1 file with no findings", []string{"REJECTED: because of policy/signature; 1 file, 0 findings (none at or above high); signature failed"}, []string{"0 at or above"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteText(&b, c.r, false); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) > c.maxLines {
				t.Errorf("%d lines, want at most %d", len(lines), c.maxLines)
			}
			if !strings.HasPrefix(lines[0], c.first) {
				t.Errorf("first line %q, want it to start with %q", lines[0], c.first)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("lacks %q:\n%s", w, out)
				}
			}
			for _, w := range c.not {
				if strings.Contains(out, w) {
					t.Errorf("has %q:\n%s", w, out)
				}
			}
		})
	}
}
