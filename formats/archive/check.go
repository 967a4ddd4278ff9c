package archive

import (
	"fmt"

	"github.com/modelvet/modelvet/formats/fsnames"

	"github.com/modelvet/modelvet/formats"
)

// checkNames reports member names that escape the extraction root and
// names that occur twice. With duplicates, which copy a reader returns
// depends on the reader (Python's zipfile and tarfile take the last,
// miniz and Go's lookups the first), so the scanner and the loader can be
// shown different content under one name.
func checkNames(s *formats.Scope, members []*Member) {
	seen := make(map[string]int, len(members))
	folded := make(map[string]int, len(members))
	for i, m := range members {
		if p := nameProblem(m.Name); p != "" {
			s.Report(formats.Finding{Rule: "archive/path-escape", Severity: formats.High, Member: safeName(m.Name), Offset: noOff,
				Message: fmt.Sprintf("member name %s is unsafe: %s; extracting it can write outside the target folder", quote(m.Name), p)})
		}
		if m.IsLink && m.LinkTarget != "" {
			if p := linkEscapes(m.Name, m.LinkTarget, !m.hardLink); p != "" {
				s.Report(formats.Finding{Rule: "archive/path-escape", Severity: formats.High, Member: safeName(m.Name), Offset: noOff,
					Message: "the member is a link and " + p + "; extracting or following it reads or writes outside the target folder"})
			}
		}
		key := normName(m.Name)
		if j, dup := folded[fsnames.Fold(key)]; dup && normName(members[j].Name) != key {
			// Windows and macOS file systems ignore case: extracted
			// there, one member overwrites the other.
			s.Report(formats.Finding{Rule: "archive/duplicate-name", Severity: formats.Medium, Member: safeName(m.Name), Offset: noOff,
				Message: fmt.Sprintf("members %d and %d (%s and %s) differ only in case or trailing dots; extracted on Windows or macOS one replaces the other", j, i, quote(members[j].Name), quote(m.Name))})
		} else if !dup {
			folded[fsnames.Fold(key)] = i
		}
		if j, dup := seen[key]; dup {
			s.Report(formats.Finding{Rule: "archive/duplicate-name", Severity: formats.High, Member: safeName(m.Name), Offset: noOff,
				Message: fmt.Sprintf("members %d and %d are both named %s; different readers pick different copies, so what is scanned may not be what is loaded", j, i, quote(m.Name))})
			continue
		}
		seen[key] = i
	}
}

// safeName keeps a hostile name printable in a report.
func safeName(n string) string {
	q := quote(n)
	return q[1 : len(q)-1]
}
