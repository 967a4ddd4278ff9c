package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/modelvet/modelvet/formats"
)

const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
	ansiDim   = "\x1b[2m"
)

var sevColor = map[formats.Severity]string{
	formats.Critical: "\x1b[1;31m",
	formats.High:     "\x1b[31m",
	formats.Medium:   "\x1b[33m",
	formats.Low:      "\x1b[36m",
	formats.Info:     "\x1b[2m",
}

// WriteText writes a report for people: a line per file, its findings
// indented under it, the other checks, and a summary line. Colour is for
// terminals only; the caller decides.
func WriteText(w io.Writer, r *Report, color bool) error {
	bw := bufio.NewWriter(w)
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	for _, f := range r.Files {
		status := "ok"
		if m, ok := f.Max(); ok {
			status = m.String()
			if m >= r.FailOn {
				status = paint(sevColor[m], strings.ToUpper(m.String()))
			}
		}
		fmt.Fprintf(bw, "%s  %s  [%s]\n", paint(ansiBold, f.Path), paint(ansiDim, f.Format), status)
		for _, x := range f.Findings {
			where := x.Where()
			if where != "" {
				where = " (" + where + ")"
			}
			fmt.Fprintf(bw, "    %s %s%s: %s\n", paint(sevColor[x.Severity], fmt.Sprintf("%-8s", x.Severity)), x.Rule, where, x.Message)
		}
	}
	for _, s := range r.Sections {
		state := paint("\x1b[32m", "ok")
		if !s.OK {
			state = paint("\x1b[31m", "FAILED")
		}
		fmt.Fprintf(bw, "%s: %s\n", s.Name, state)
		for _, l := range s.Lines {
			fmt.Fprintf(bw, "    %s\n", l)
		}
	}
	for _, x := range r.Reasons {
		fmt.Fprintf(bw, "reason: %s (%s): %s\n", x.Rule, x.Policy, x.Detail)
	}
	verdict := strings.ToUpper(r.Verdict)
	if r.Passed() {
		verdict = paint("\x1b[1;32m", verdict)
	} else {
		verdict = paint("\x1b[1;31m", verdict)
	}
	var checked []string
	if r.Summary.Files > 0 || len(r.Sections) == 0 {
		checked = append(checked, fmt.Sprintf("%d files, %d findings (%d at or above %s)", r.Summary.Files, r.Summary.Findings, r.Summary.Failing, r.FailOn))
	}
	for _, s := range r.Sections {
		state := "ok"
		if !s.OK {
			state = "failed"
		}
		checked = append(checked, s.Name+" "+state)
	}
	fmt.Fprintf(bw, "%s: %s\n", verdict, strings.Join(checked, "; "))
	return bw.Flush()
}
