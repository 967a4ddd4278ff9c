// Package report holds the one report value every command produces and
// its encoders (text, JSON, SARIF). It knows nothing of how the results
// were produced.
package report

import (
	"fmt"
	"io"

	"github.com/modelvet/modelvet/formats"
)

// Version is the modelvet version written into reports.
var Version = "0.1.0-dev"

// SchemaVersion is the version of the JSON report layout
// (report/schema/report-v1.json). It changes only when a field is removed or
// changes meaning; new fields are added without a bump.
const SchemaVersion = "1"

// Report is what a command found.
type Report struct {
	SchemaVersion string                `json:"schema_version"`
	Tool          string                `json:"tool"`
	Version       string                `json:"version"`
	Verdict       string                `json:"verdict"` // "pass" or "fail" for scan; "admitted" or "rejected" for check
	FailOn        formats.Severity      `json:"fail_on"`
	Files         []*formats.FileResult `json:"files"`
	Summary       Summary               `json:"summary"`
	// Sections are the non-scan checks (signature, provenance), each
	// with its own outcome.
	Sections []Section `json:"sections,omitempty"`
	// Reasons explain the verdict, each traced to what caused it.
	Reasons []Reason `json:"reasons,omitempty"`
	// Marks say which findings the policy suppressed and which files it
	// ignored; the encoders show them as such instead of as live findings.
	Marks []Mark `json:"-"`
	// SourceRoot is the folder SARIF locations are made relative to (the
	// repository checkout in CI); "" leaves paths as scanned.
	SourceRoot string `json:"-"`
	// Quiet asks the text encoder for the findings and the summary only.
	Quiet bool `json:"-"`
}

// Mark records that the policy set a finding (or a whole file) aside.
type Mark struct {
	Path   string `json:"-"`      // the file's report path
	Index  int    `json:"-"`      // the finding's index in the file's Findings; -1 for the whole file
	Kind   string `json:"kind"`   // "suppressed" or "ignored"
	Policy string `json:"policy"` // the policy entry behind it
	Reason string `json:"reason,omitempty"`
}

// Mark kinds.
const (
	MarkSuppressed = "suppressed"
	MarkIgnored    = "ignored"
)

// markFor returns the mark on finding i of file path (i == -1: the file),
// a whole-file mark covering each of its findings.
func (r *Report) markFor(path string, i int) *Mark {
	for k := range r.Marks {
		m := &r.Marks[k]
		if m.Path == path && (m.Index == i || m.Index == -1) {
			return m
		}
	}
	return nil
}

// Section is one non-scan check in a report.
type Section struct {
	Name  string   `json:"name"` // "signature", "provenance"
	OK    bool     `json:"ok"`
	Lines []string `json:"lines,omitempty"` // plain-words claims and failures
}

// Reason is one cause of the verdict.
type Reason struct {
	Rule   string `json:"rule"`   // the finding rule or check that caused it
	Policy string `json:"policy"` // the policy entry behind it ("fail_on: high")
	Detail string `json:"detail"`
	// Path is the file the reason is about (the signature file, a model
	// file of a format not allowed), for SARIF locations; "" for the model.
	Path string `json:"path,omitempty"`
}

// Summary counts what was scanned and found.
type Summary struct {
	Files      int            `json:"files"`
	Findings   int            `json:"findings"`
	BySeverity map[string]int `json:"by_severity"`
	Failing    int            `json:"failing"` // findings at or above fail_on
}

// FromScan builds the report of a scan: it fails when any finding is at or
// above failOn.
func FromScan(res *formats.Result, failOn formats.Severity) *Report {
	r := &Report{SchemaVersion: SchemaVersion, Tool: "modelvet", Version: Version, FailOn: failOn, Files: res.Files}
	r.Summary = Summarize(res.Files, failOn)
	r.Verdict = "pass"
	if r.Summary.Failing > 0 {
		r.Verdict = "fail"
	}
	return r
}

// Summarize counts findings.
func Summarize(files []*formats.FileResult, failOn formats.Severity) Summary {
	s := Summary{Files: len(files), BySeverity: map[string]int{}}
	for _, f := range files {
		for _, x := range f.Findings {
			s.Findings++
			s.BySeverity[x.Severity.String()]++
			if x.Severity >= failOn {
				s.Failing++
			}
		}
	}
	return s
}

// Passed reports whether the verdict lets the model through.
func (r *Report) Passed() bool { return r.Verdict == "pass" || r.Verdict == "admitted" }

// Write encodes the report in the named format.
func Write(w io.Writer, r *Report, format string, color bool) error {
	switch format {
	case "text", "":
		return WriteText(w, r, color)
	case "json":
		return WriteJSON(w, r)
	case "sarif":
		return WriteSARIF(w, r)
	}
	if enc, ok := extraEncoders[format]; ok {
		return enc(w, r)
	}
	return fmt.Errorf("unknown output format %q (want text, json, sarif or html)", format)
}

// extraEncoders lets other files of this package add formats (html).
var extraEncoders = map[string]func(io.Writer, *Report) error{}
