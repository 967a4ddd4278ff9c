package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"os/signal"
	"strings"

	"github.com/modelvet/modelvet/policy"
	"github.com/modelvet/modelvet/policy/checks"
	"github.com/modelvet/modelvet/report"
)

func init() {
	register(&command{name: "check", summary: "admit or reject a model under a policy: scan, signature and provenance in one verdict", run: runCheck})
}

// newGate is the one place the CLI and the service put the policy and the
// real signature and provenance checks together.
func newGate(p *policy.Policy) *policy.Gate {
	return &policy.Gate{Policy: p, Signature: checks.Signature, Provenance: checks.Provenance, OnePass: checks.OnePass{}, Hash: true}
}

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("check", stderr)
	policyPath := fs.String("policy", "", "the policy file (YAML; see examples/policy.yaml); without it the built-in default applies (strict, fail on high, no signature)")
	format := fs.String("format", "text", "output format: text, json, sarif or html")
	snapshot := fs.String("snapshot", "", "copy the model into this new private folder (created 0700) while reading it once; the verdict is about the copy, and the report lists the digests a loader must see")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: modelvet check MODEL [--policy FILE] [--format text|json|sarif|html] [--snapshot DIR]\n\nScans MODEL (a folder or a file), verifies its signature and provenance as the policy asks, and prints one report with the verdict and the policy entry behind each reason.\nExit 0: admitted; 1: rejected; 2: usage error, unreadable model or policy, missing, unreadable or malformed trust material.\n\nflags:")
		fs.PrintDefaults()
	}
	paths, err := parseArgs(fs, args)
	if err != nil {
		return parseErrExit(err)
	}
	if len(paths) > 1 {
		fmt.Fprintf(stderr, "modelvet check: one MODEL at a time (got %d paths: %s); a folder holds the whole model\n", len(paths), strings.Join(paths, " "))
		return exitUsage
	}
	if len(paths) != 1 {
		fs.Usage()
		return exitUsage
	}
	*format = strings.ToLower(*format)
	switch *format {
	case "text", "json", "sarif", "html":
	default:
		fmt.Fprintf(stderr, "modelvet check: --format %q: want text, json, sarif or html\n", *format)
		return exitUsage
	}
	p := policy.Default()
	if *policyPath != "" {
		if p, err = policy.Load(*policyPath); err != nil {
			fmt.Fprintln(stderr, "modelvet check: policy:", err)
			return exitUsage
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	g := newGate(p)
	// A text report shows no digests: skip hashing unless a signature,
	// provenance or snapshot needs it (the gate decides), so a text check
	// of a 2 GB model without a signature reads headers, not weights.
	g.Hash = *format != "text"
	g.Snapshot = *snapshot
	rep, err := g.Check(ctx, paths[0])
	if err != nil {
		fmt.Fprintln(stderr, "modelvet check:", err)
		if _, serr := os.Stat(paths[0]); serr == nil && errors.Is(err, iofs.ErrNotExist) {
			// The model is there, so a file the policy names is not:
			// say where relative paths are looked up and what to do.
			fmt.Fprintln(stderr, "modelvet check: the policy names a file that does not exist; relative paths in a policy are read from the policy's own folder. Put the file there (for trusted_root.json see docs/airgap.md) or edit the policy's signature section")
		}
		return exitUsage
	}
	if err := report.Write(stdout, rep, *format, *format == "text" && useColor(stdout)); err != nil {
		fmt.Fprintln(stderr, "modelvet check:", err)
		return exitUsage
	}
	if rep.Verdict != policy.Admitted {
		return exitFail
	}
	return exitOK
}
