package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

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

// safe makes text from the model (file names, member names, import
// names, messages quoting them) harmless on a terminal: control
// characters (ESC, CR, newline, C1) and bidirectional overrides are
// shown escaped. Stops a file or pickle name that carries
// "\x1b[1A\x1b[2K" or "\r" from erasing the CRITICAL line above it, or a
// newline from forging a "verified" line, in the report a person reads.
func safe(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafeRune(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == utf8.RuneError
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
		fmt.Fprintf(bw, "%s  %s  [%s]\n", paint(ansiBold, safe(f.Path)), paint(ansiDim, safe(f.Format)), status)
		for _, x := range f.Findings {
			where := x.Where()
			if where != "" {
				where = " (" + safe(where) + ")"
			}
			fmt.Fprintf(bw, "    %s %s%s: %s\n", paint(sevColor[x.Severity], fmt.Sprintf("%-8s", x.Severity)), safe(x.Rule), where, safe(x.Message))
		}
	}
	for _, s := range r.Sections {
		state := paint("\x1b[32m", "ok")
		if !s.OK {
			state = paint("\x1b[31m", "FAILED")
		}
		fmt.Fprintf(bw, "%s: %s\n", safe(s.Name), state)
		for _, l := range s.Lines {
			fmt.Fprintf(bw, "    %s\n", safe(l))
		}
	}
	for _, x := range r.Reasons {
		// A section already printed the failure in its own words; the
		// reason adds only the rule and policy behind it.
		if shownInSection(r.Sections, x.Detail) {
			continue
		}
		fmt.Fprintf(bw, "reason: %s (%s): %s\n", safe(x.Rule), safe(x.Policy), safe(x.Detail))
	}
	verdict := strings.ToUpper(r.Verdict)
	if r.Passed() {
		verdict = paint("\x1b[1;32m", verdict)
	} else {
		verdict = paint("\x1b[1;31m", verdict)
	}
	var checked []string
	if r.Summary.Files > 0 || len(r.Sections) == 0 {
		checked = append(checked, fmt.Sprintf("%s, %s (%d at or above %s)", count(r.Summary.Files, "file"), count(r.Summary.Findings, "finding"), r.Summary.Failing, r.FailOn))
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

// count says "1 file" and "3 files": the summary line is read by people.
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func shownInSection(sections []Section, detail string) bool {
	for _, s := range sections {
		for _, l := range s.Lines {
			if strings.HasSuffix(l, detail) {
				return true
			}
		}
	}
	return false
}
