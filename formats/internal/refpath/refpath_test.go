package refpath

import (
	"testing"

	"github.com/modelvet/modelvet/formats"
)

func TestProblem(t *testing.T) {
	cases := []struct {
		name, loc string
		min       formats.Severity // Info: no problem
	}{
		{"plain file beside the model", "model.onnx_data", formats.Info},
		{"file in a subfolder", "weights/part-00001.bin", formats.Info},
		{"non-ASCII name that maps to nothing special", "gewichte-ü.bin", formats.Info},
		{"percent sign in a name", "w%20a.bin", formats.Info},
		{"dotted folder other than VCS", ".cache/w.bin", formats.Info},
		{"climb", "../x", formats.Critical},
		// WorstFit: Windows' best-fit ANSI conversion.
		{"fullwidth dots", "\uff0e\uff0e/\uff0e\uff0e/etc/passwd", formats.High},
		{"fullwidth solidus", "..\uff0f..\uff0fsecret", formats.High},
		{"yen sign as backslash (cp932)", "..\u00a5secret", formats.High},
		{"won sign as backslash (cp949)", "..\u20a9secret", formats.High},
		// URL decoding of dot segments.
		{"percent-encoded dot-dot", "%2e%2e/secret", formats.Critical},
		{"mixed-case percent dot", ".%2E/secret", formats.Critical},
		// Version-control metadata the publisher did not ship.
		{"git config", ".git/config", formats.High},
		{"git config, folded case", ".Git/config", formats.High},
		{"mercurial", "a/.hg/hgrc", formats.High},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sev, why := Problem(c.loc)
			if c.min == formats.Info {
				if why != "" {
					t.Fatalf("%q: want no problem, got %s: %s", c.loc, sev, why)
				}
				return
			}
			if why == "" || sev < c.min {
				t.Fatalf("%q: want at least %s, got %s %q", c.loc, c.min, sev, why)
			}
		})
	}
}
