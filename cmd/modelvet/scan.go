package main

import (
	"context"
	"fmt"
	"io"

	"github.com/modelvet/modelvet/formats"
	_ "github.com/modelvet/modelvet/formats/all"
	"github.com/modelvet/modelvet/report"
)

func init() {
	register(&command{name: "scan", summary: "scan model files and folders without loading them", run: runScan})
}

func runScan(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("scan", stderr)
	format := fs.String("format", "text", "output format: text, json, sarif or html")
	failOn := fs.String("fail-on", "high", "exit 1 when a finding is at or above this severity: info, low, medium, high, critical")
	profile := fs.String("profile", "strict", "pickle import profile: strict (unknown imports fail) or permissive (unknown imports are medium)")
	var allow listFlag
	fs.Var(&allow, "allow", "trust this pickle global too, as module.name or module.* (repeatable)")
	noHash := fs.Bool("no-hash", false, "leave out each file's SHA-256 from json and html output (hashing is the only step that reads tensor data)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: modelvet scan [flags] PATH...\n\nScans files and folders (recursively). Exit 0: nothing at or above --fail-on; 1: findings; 2: usage error or unreadable path.\n\nflags:")
		fs.PrintDefaults()
	}
	paths, err := parseArgs(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(paths) == 0 {
		fs.Usage()
		return exitUsage
	}
	sev, err := formats.ParseSeverity(*failOn)
	if err != nil {
		fmt.Fprintln(stderr, "modelvet scan: --fail-on:", err)
		return exitUsage
	}
	opts := formats.DefaultOptions()
	switch formats.Profile(*profile) {
	case formats.Strict, formats.Permissive:
		opts.Profile = formats.Profile(*profile)
	default:
		fmt.Fprintf(stderr, "modelvet scan: --profile %q: want strict or permissive\n", *profile)
		return exitUsage
	}
	opts.Allow = allow
	// Only the json and html reports carry digests; hashing reads every
	// byte of every tensor, which the analyzers themselves never do, so
	// a text scan of a 2 GB model costs what its headers cost.
	opts.Hash = !*noHash && (*format == "json" || *format == "html")
	if *format != "text" && *format != "json" && *format != "sarif" && *format != "html" {
		fmt.Fprintf(stderr, "modelvet scan: --format %q: want text, json, sarif or html\n", *format)
		return exitUsage
	}
	res, err := formats.Scan(context.Background(), paths, opts)
	if err != nil {
		fmt.Fprintln(stderr, "modelvet scan:", err)
		return exitUsage
	}
	rep := report.FromScan(res, sev)
	if err := report.Write(stdout, rep, *format, useColor(stdout)); err != nil {
		fmt.Fprintln(stderr, "modelvet scan:", err)
		return exitUsage
	}
	if !rep.Passed() {
		return exitFail
	}
	return exitOK
}
