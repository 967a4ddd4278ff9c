package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/modelvet/modelvet/report"
)

// parseArgs parses flags that may come before, between or after the
// positional arguments ("modelvet scan ./model --format json"), which
// Go's flag package alone does not allow. "--" ends flag parsing.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseErrExit is the exit status for a parseArgs error: asking for
// help (-h, --help) is a success, as "modelvet help" is; the flag package
// has already printed the usage. Anything else is a usage error.
func parseErrExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

// parseOneArg parses the flags of a command that takes exactly one
// positional argument. When it returns false the command stops with code:
// 0 after -h, 2 after a flag error or the wrong number of arguments (the
// usage has been printed).
func parseOneArg(fs *flag.FlagSet, args []string) ([]string, int, bool) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, parseErrExit(err), false
	}
	if len(pos) != 1 {
		fs.Usage()
		return nil, exitUsage, false
	}
	return pos, exitOK, true
}

// textOrJSON checks a --format flag of the commands that print text or
// JSON only, saying what is wrong on stderr.
func textOrJSON(stderr io.Writer, cmd, format string) bool {
	if format == "text" || format == "json" {
		return true
	}
	fmt.Fprintf(stderr, "%s: --format %q: want text or json\n", cmd, format)
	return false
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// newFlagSet makes a flag set that reports errors instead of exiting and
// prints its flags the way the README writes them (--name): Go's flag
// package accepts both -name and --name, but its help shows one dash.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("modelvet "+name, flag.ContinueOnError)
	fs.SetOutput(&doubleDash{w: stderr})
	return fs
}

// doubleDash rewrites the flag lines of flag.PrintDefaults ("  -name
// type") and the flag package's error messages ("-name") to the double-dash
// spelling. It is the one usage printer of every command, so none of them
// needs to change how it prints its help.
type doubleDash struct {
	w       io.Writer
	partial []byte
}

func (d *doubleDash) Write(p []byte) (int, error) {
	d.partial = append(d.partial, p...)
	for {
		i := bytes.IndexByte(d.partial, '\n')
		if i < 0 {
			break
		}
		line := d.partial[:i+1]
		if _, err := d.w.Write(dashLine(line)); err != nil {
			return 0, err
		}
		d.partial = d.partial[i+1:]
	}
	return len(p), nil
}

var (
	defaultsLine = regexp.MustCompile(`^  -([a-zA-Z])`)
	errorFlag    = regexp.MustCompile(`^(flag provided but not defined|flag needs an argument|invalid (?:boolean |value )?.*flag): -([a-zA-Z])`)
)

func dashLine(line []byte) []byte {
	if defaultsLine.Match(line) {
		return append([]byte("  --"), line[3:]...)
	}
	if m := errorFlag.FindSubmatchIndex(line); m != nil {
		at := m[4] - 1 // the '-' before the name
		return append(append(append([]byte{}, line[:at]...), '-'), line[at:]...)
	}
	return line
}

// isTerminal reports whether w is a terminal, where colour and progress
// belong. NO_COLOR turns colour off everywhere.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// useColor: colour only on a terminal that renders it (on Windows,
// virtual-terminal processing is switched on first), and never with
// NO_COLOR set.
func useColor(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" || !isTerminal(w) {
		return false
	}
	f, _ := w.(*os.File)
	return enableVT(f)
}

func version() string { return report.Version }

// plural says "1 resource" and "3 resources" in lines people read.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
