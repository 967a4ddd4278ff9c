// Command modelvet decides whether an ML model may be loaded: it scans
// model files without executing them, verifies OpenSSF model signatures
// and provenance, and applies one policy to all of it.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// Exit statuses shared by every command.
const (
	exitOK    = 0 // passed, verified, admitted
	exitFail  = 1 // findings at or above the threshold, not verified, rejected
	exitUsage = 2 // bad flags, unreadable input, internal error
)

// command is one subcommand. Each lives in its own file and registers
// itself from init.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	// "modelvet help scan" is what people type for a command's flags.
	if len(args) == 2 && args[0] == "help" && commands[args[1]] != nil {
		return commands[args[1]].run([]string{"-h"}, stdout, stderr)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(stdout, "modelvet", version())
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "modelvet: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: modelvet COMMAND [flags] ARGS\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "  %-12s %s\n", "version", "print the version")
	fmt.Fprintln(w, "\nRun 'modelvet COMMAND -h' (or 'modelvet help COMMAND') for a command's flags.")
	fmt.Fprintln(w, "Exit status: 0 passed/verified/admitted; 1 findings at or above --fail-on/not verified/rejected; 2 usage error or unreadable input.")
}
