package sidecar

import (
	"fmt"
	"io"

	"github.com/modelvet/modelvet/formats"
)

// Data is the analyzer of a data file that sniff recognizes by what is
// beside it (a manifest naming it, a bundle holding it): raw numbers no
// loader runs, judged through the manifest's analyzer. It runs only after
// every content format declined the file, so a pickle or zip named like a
// shard is still read as what it is, and reports one Info finding of rule
// with what (a format taking the file's size as %d).
func Data(name string, extensions []string, sniff func(*formats.Probe) bool, rule, what string) *formats.Analyzer {
	return &formats.Analyzer{
		Name:       name,
		Extensions: extensions,
		Priority:   -90,
		Sniff:      sniff,
		Analyze: func(s *formats.Scope, _ io.ReaderAt, size int64) {
			s.SetFormat(name)
			s.Reportf(rule, formats.Info, formats.NoOffset, "%s", fmt.Sprintf(what, size))
		},
	}
}
