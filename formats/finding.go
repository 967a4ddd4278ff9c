package formats

import "fmt"

// NoOffset marks a finding that is not about one byte position (a missing
// file, a folder-level rule).
const NoOffset int64 = -1

// Finding is the one finding type of the project: every analyzer, the
// folder checks and the gate report through it.
//
// Rule is a stable name ("pickle/dangerous-import") that users can suppress
// and SARIF can index. Member locates the finding inside a container
// ("archive/data.pkl", "tensor model.embed.weight", "config.json#/layers/3");
// nested containers join their members with "!". Offset is the byte offset
// inside Member when Member is set, inside the file otherwise, or NoOffset.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	Member   string   `json:"member,omitempty"`
	Offset   int64    `json:"offset"`
	// Import is the Python global a pickle finding is about, "module.name".
	Import string `json:"import,omitempty"`
}

// Where renders the location part of a finding for people.
func (f Finding) Where() string {
	switch {
	case f.Member != "" && f.Offset >= 0:
		return fmt.Sprintf("%s @%d", f.Member, f.Offset)
	case f.Member != "":
		return f.Member
	case f.Offset >= 0:
		return fmt.Sprintf("@%d", f.Offset)
	}
	return ""
}

// FileResult is what scanning one file (or one folder-level check) found.
type FileResult struct {
	Path     string    `json:"path"`
	Format   string    `json:"format"`
	Size     int64     `json:"size"`
	SHA256   string    `json:"sha256,omitempty"`
	Findings []Finding `json:"findings"`
	// Details are facts for the report, not verdicts: tensor counts, pickle
	// protocol, opset. Keys are short and stable.
	Details map[string]string `json:"details,omitempty"`
}

// Max returns the highest severity among the findings, and false when there
// are none.
func (r *FileResult) Max() (Severity, bool) {
	if len(r.Findings) == 0 {
		return Info, false
	}
	m := r.Findings[0].Severity
	for _, f := range r.Findings[1:] {
		if f.Severity > m {
			m = f.Severity
		}
	}
	return m, true
}

// Result is the outcome of scanning one or more paths.
type Result struct {
	Files []*FileResult `json:"files"`
}

// Count returns how many findings are at or above min.
func (r *Result) Count(min Severity) int {
	n := 0
	for _, f := range r.Files {
		for _, x := range f.Findings {
			if x.Severity >= min {
				n++
			}
		}
	}
	return n
}
