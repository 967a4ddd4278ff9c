package formatstest

import (
	"slices"
	"testing"

	"github.com/modelvet/modelvet/formats"
)

// ExpectRule is the check of one table row of a format's analyzer test:
// data is scanned as a file called name (no hashing) and must be read as
// format ("" to accept any format, for rows that expect the file to be
// refused as unrecognized), then hold a finding of rule at exactly sev,
// or, when rule is "", nothing at Low or above (a real-shaped file:
// no false alarm).
func ExpectRule(t *testing.T, name, format string, data []byte, rule string, sev formats.Severity) *formats.FileResult {
	t.Helper()
	o := formats.DefaultOptions()
	o.Hash = false
	res := ScanBytes(t, name, data, &o)
	if format != "" && res.Format != format {
		t.Fatalf("read as %q, want %q: %s", res.Format, format, Describe(res))
	}
	if rule == "" {
		if len(Rules(res, formats.Low)) > 0 {
			t.Errorf("real-shaped file flagged: %s", Describe(res))
		}
		return res
	}
	for _, f := range res.Findings {
		if f.Rule == rule && f.Severity == sev {
			return res
		}
	}
	t.Errorf("want %v %s: %s", sev, rule, Describe(res))
	return res
}

// NoAnalyzerFailure is the body of the format fuzz targets: whatever the
// bytes, scanning them as a file called name must end in findings, never
// in a panic (recovered by formats as formats/analyzer-failure).
func NoAnalyzerFailure(t *testing.T, name string, data []byte) {
	t.Helper()
	o := formats.DefaultOptions()
	o.Hash = false
	res := ScanBytes(t, name, data, &o)
	for _, x := range res.Findings {
		if x.Rule == "formats/analyzer-failure" {
			t.Fatal(x.Message)
		}
	}
}

// AtLeast is the table check of analyzers whose cases name a rule and its
// lowest severity: rule "" means nothing at medium or above (a real-shaped
// file); otherwise rule must be among the findings at sev or above.
func AtLeast(t *testing.T, res *formats.FileResult, rule string, sev formats.Severity) {
	t.Helper()
	if rule == "" {
		if len(Rules(res, formats.Medium)) > 0 {
			t.Fatalf("false alarm:\n%s", Describe(res))
		}
		return
	}
	if !slices.Contains(Rules(res, sev), rule) {
		t.Fatalf("want %s at %s:\n%s", rule, sev, Describe(res))
	}
}
