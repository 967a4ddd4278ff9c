package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/modelvet/modelvet/report"
)

// outputFlags are the flags of the commands that print a report (scan,
// check): one place, so both spell and check them the same way.
type outputFlags struct {
	format     string
	output     string
	quiet      bool
	sourceRoot string
	formats    []string
}

func (o *outputFlags) register(fs *flag.FlagSet) {
	o.formats = []string{"text", "json", "sarif", "html", "cyclonedx"}
	fs.StringVar(&o.format, "format", "text", "output format: "+strings.Join(o.formats, ", "))
	fs.StringVar(&o.output, "output", "", "write the report to this file (UTF-8) instead of stdout; use it on Windows PowerShell 5.1, whose > writes UTF-16")
	fs.BoolVar(&o.quiet, "quiet", false, "text: print only the findings and the summary line; no progress")
	fs.StringVar(&o.sourceRoot, "source-root", "", "sarif: make file locations relative to this folder (the repository checkout, e.g. $GITHUB_WORKSPACE); default: the current folder when the scanned paths are inside it, else the scanned folder")
}

// valid lower-cases --format (--fail-on HIGH works, so --format JSON
// should too) and refuses an unknown one, saying what is wrong.
func (o *outputFlags) valid(stderr io.Writer, cmd string) bool {
	o.format = strings.ToLower(o.format)
	if slices.Contains(o.formats, o.format) {
		return true
	}
	fmt.Fprintf(stderr, "modelvet %s: --format %q: want %s\n", cmd, o.format, strings.Join(o.formats, ", "))
	return false
}

// write encodes the report to --output or stdout. Colour only for text on
// a terminal; a file never gets escapes.
func (o *outputFlags) write(rep *report.Report, paths []string, stdout io.Writer) (err error) {
	rep.Quiet = o.quiet
	rep.SourceRoot = o.sourceRoot
	if rep.SourceRoot == "" {
		rep.SourceRoot = defaultSourceRoot(paths)
	}
	if o.output == "" {
		return report.Write(stdout, rep, o.format, o.format == "text" && useColor(stdout))
	}
	f, err := os.Create(o.output)
	if err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("--output: %w", cerr)
		}
	}()
	return report.Write(f, rep, o.format, false)
}

// defaultSourceRoot is where SARIF locations are relative to when
// --source-root is not given: the current folder when every scanned path
// lies inside it (a CI job scanning ./models from the checkout), otherwise
// the first scanned folder (a file's folder), so locations are never
// absolute.
func defaultSourceRoot(paths []string) string {
	cwd, err := os.Getwd()
	if err != nil || len(paths) == 0 {
		return ""
	}
	inside := true
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return ""
		}
		if rel, err := filepath.Rel(cwd, abs); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
			inside = false
		}
	}
	if inside {
		return cwd
	}
	root, _ := filepath.Abs(paths[0])
	if fi, err := os.Stat(root); err == nil && !fi.IsDir() {
		root = filepath.Dir(root)
	}
	return root
}
