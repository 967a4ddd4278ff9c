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

// WriteText writes the report for people: files with findings first
// (clean files are counted, not listed, so a clean 5,000-file folder is a
// few lines), then the other checks, the reasons, and a summary line that
// says why a rejected model was rejected. Quiet leaves out everything but
// the findings and the summary. Colour is for terminals only; the caller
// decides.
func WriteText(w io.Writer, r *Report, color bool) error {
	bw := bufio.NewWriter(w)
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	clean := 0
	for _, f := range r.Files {
		if len(f.Findings) == 0 {
			clean++
			continue
		}
		status := "ok"
		if m, ok := f.Max(); ok {
			status = m.String()
			if m >= r.FailOn {
				status = paint(sevColor[m], strings.ToUpper(m.String()))
			}
		}
		if fm := r.markFor(f.Path, -1); fm != nil && fm.Index == -1 {
			status += ", " + fm.Kind + " by " + safe(fm.Policy)
		}
		fmt.Fprintf(bw, "%s  %s  [%s]\n", paint(ansiBold, safe(f.Path)), paint(ansiDim, safe(f.Format)), status)
		for i, x := range f.Findings {
			where := x.Where()
			if where != "" {
				where = " (" + safe(where) + ")"
			}
			set := ""
			if m := r.markFor(f.Path, i); m != nil && m.Index == i {
				set = paint(ansiDim, " ["+m.Kind+" by "+safe(m.Policy)+"]")
			}
			fmt.Fprintf(bw, "    %s %s%s: %s%s\n", paint(sevColor[x.Severity], fmt.Sprintf("%-8s", x.Severity)), safe(x.Rule), where, safe(x.Message), set)
		}
	}
	if clean > 0 && !r.Quiet {
		fmt.Fprintf(bw, "%s with no findings%s\n", count(clean, "file"), paint(ansiDim, " (--format json lists every file)"))
	}
	if !r.Quiet {
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
	}
	for _, x := range r.Reasons {
		// A section already printed the failure in its own words; the
		// reason adds only the rule and policy behind it.
		if !r.Quiet && shownInSection(r.Sections, x.Detail) {
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
	fmt.Fprintf(bw, "%s: %s\n", verdict, r.SummaryLine())
	return bw.Flush()
}

// SummaryLine is the one line that says what was checked and, for a model
// that did not pass, what it failed: a model rejected for its signature
// names the signature first instead of reading "0 at or above high".
func (r *Report) SummaryLine() string {
	var parts []string
	if !r.Passed() {
		if rules := r.reasonRules(); len(rules) > 0 {
			parts = append(parts, "because of "+strings.Join(rules, ", "))
		}
	}
	if r.Summary.Files > 0 || len(r.Sections) == 0 {
		s := fmt.Sprintf("%s, %s", count(r.Summary.Files, "file"), count(r.Summary.Findings, "finding"))
		if r.Summary.Failing > 0 || r.Passed() {
			s += fmt.Sprintf(" (%d at or above %s)", r.Summary.Failing, r.FailOn)
		} else {
			s += fmt.Sprintf(" (none at or above %s)", r.FailOn)
		}
		parts = append(parts, s)
	}
	for _, s := range r.Sections {
		state := "ok"
		if !s.OK {
			state = "failed"
		}
		parts = append(parts, s.Name+" "+state)
	}
	return strings.Join(parts, "; ")
}

// reasonRules lists the distinct rules behind the verdict, in order.
func (r *Report) reasonRules() []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range r.Reasons {
		if !seen[x.Rule] {
			seen[x.Rule] = true
			out = append(out, x.Rule)
		}
	}
	if len(out) > 4 {
		out = append(out[:4], fmt.Sprintf("%d more", len(out)-4))
	}
	return out
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
