package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/modelvet/modelvet/formats"
	_ "github.com/modelvet/modelvet/formats/all"
	"github.com/modelvet/modelvet/report"
)

func init() {
	register(&command{name: "scan", summary: "scan model files and folders without loading them", run: runScan})
}

func runScan(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("scan", stderr)
	var out outputFlags
	out.register(fs)
	format := &out.format
	failOn := fs.String("fail-on", "high", "exit 1 when a finding is at or above this severity: info, low, medium, high, critical")
	profile := fs.String("profile", "strict", "pickle import profile: strict (unknown imports fail) or permissive (unknown imports are medium)")
	var allow listFlag
	fs.Var(&allow, "allow", "trust this pickle global too, as module.name or module.* (repeatable)")
	insecureReg := fs.Bool("insecure-registry", false, "allow plain HTTP or unverified TLS for oci:// registries")
	noHash := fs.Bool("no-hash", false, "leave out each file's SHA-256 from json and html output (hashing is the only step that reads tensor data)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: modelvet scan [flags] PATH|oci://REGISTRY/REPO[:TAG|@DIGEST]...\n\nScans files and folders (recursively), and model artifacts in OCI registries. Exit 0: nothing at or above --fail-on; 1: findings; 2: usage error or unreadable path.\n\nflags:")
		fs.PrintDefaults()
	}
	paths, err := parseArgs(fs, args)
	if err != nil {
		return parseErrExit(err)
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
	for _, a := range allow {
		if err := checkAllow(a); err != nil {
			fmt.Fprintf(stderr, "modelvet scan: --allow %q: %v\n", a, err)
			return exitUsage
		}
	}
	opts.Allow = allow
	// Only the json and html reports carry digests; hashing reads every
	// byte of every tensor, which the analyzers themselves never do, so
	// a text scan of a 2 GB model costs what its headers cost.
	if !out.valid(stderr, "scan") {
		return exitUsage
	}
	opts.Hash = !*noHash && (*format == "json" || *format == "html" || *format == "cyclonedx")
	prog := newProgress(stderr, out.quiet)
	opts.Progress = prog.callback()
	local, pulls, err := pullOCI(context.Background(), paths, *insecureReg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "modelvet scan:", err)
		return exitUsage
	}
	defer pulls.close()
	res, err := formats.Scan(context.Background(), local, opts)
	prog.done()
	if err != nil {
		fmt.Fprintln(stderr, "modelvet scan:", err)
		return exitUsage
	}
	pulls.relabel(res)
	rep := report.FromScan(res, sev)
	if len(res.Files) == 0 {
		// An empty folder passes, but a user who mistyped a path or
		// pointed at the wrong folder should hear that nothing was read.
		fmt.Fprintf(stderr, "modelvet scan: note: no files found in %s\n", strings.Join(paths, " "))
	}
	if err := out.write(rep, paths, stdout); err != nil {
		fmt.Fprintln(stderr, "modelvet scan:", err)
		return exitUsage
	}
	if !rep.Passed() {
		return exitFail
	}
	return exitOK
}

// checkAllow refuses an --allow entry that can never match a pickle
// global, so a typo is not mistaken for trust that was granted: an entry is
// "module.name" or "module.*", with no empty parts and no spaces.
func checkAllow(a string) error {
	if strings.TrimSpace(a) != a || strings.ContainsAny(a, " \t") {
		return fmt.Errorf("contains spaces; want module.name or module.*")
	}
	if !strings.Contains(a, ".") {
		return fmt.Errorf("names no global; want module.name or module.* (did you mean %s.*?)", a)
	}
	for i, part := range strings.Split(a, ".") {
		if part == "" {
			return fmt.Errorf("has an empty part; want module.name or module.*")
		}
		if strings.Contains(part, "*") && (part != "*" || i != strings.Count(a, ".")) {
			return fmt.Errorf("'*' is allowed only as the last part (module.*)")
		}
	}
	return nil
}
