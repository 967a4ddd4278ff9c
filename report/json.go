package report

import (
	"encoding/json"
	"io"

	"github.com/modelvet/modelvet/formats"
)

// jsonReport is the JSON layout (report/schema/report-v1.json): the
// report with each finding and file the policy set aside marked as such.
type jsonReport struct {
	*Report
	Files []jsonFile `json:"files"`
}

type jsonFile struct {
	*formats.FileResult
	Findings []jsonFinding `json:"findings"`
	// Ignored is set when the policy's ignore: covered the whole file:
	// its findings are listed but do not count.
	Ignored *Mark `json:"ignored,omitempty"`
}

type jsonFinding struct {
	formats.Finding
	// Suppressed is set when the policy set this finding aside
	// (suppress: or an ignored file); it does not count for the verdict.
	Suppressed *Mark `json:"suppressed,omitempty"`
}

// WriteJSON writes the report as one indented JSON document.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	c := *r
	if c.SchemaVersion == "" {
		c.SchemaVersion = SchemaVersion
	}
	// verify and attestation reports scan no files: "files": [] keeps the
	// field an array for consumers that iterate it, never null.
	doc := jsonReport{Report: &c, Files: []jsonFile{}}
	for _, f := range r.Files {
		jf := jsonFile{FileResult: f, Findings: make([]jsonFinding, len(f.Findings))}
		if m := r.markFor(f.Path, -1); m != nil && m.Index == -1 {
			jf.Ignored = m
		}
		for i, x := range f.Findings {
			jf.Findings[i] = jsonFinding{Finding: x, Suppressed: r.markFor(f.Path, i)}
		}
		doc.Files = append(doc.Files, jf)
	}
	return enc.Encode(doc)
}
