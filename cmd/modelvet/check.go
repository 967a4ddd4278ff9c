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

	"github.com/modelvet/modelvet/oci"
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
	policyPath := fs.String("policy", "", "required: the policy file (YAML; start from examples/policy.yaml), or \"default\" for the built-in one (strict, fail on high, no signature)")
	insecureReg := fs.Bool("insecure-registry", false, "allow plain HTTP or unverified TLS for an oci:// model")
	snapshot := fs.String("snapshot", "", "copy the model into this new private folder (created 0700) while reading it once; the verdict is about the copy, and the report lists the digests a loader must see")
	var out outputFlags
	out.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: modelvet check MODEL --policy FILE [--format text|json|sarif|html] [--output FILE] [--quiet] [--snapshot DIR]\n\nScans MODEL (a folder, a file, or oci://REGISTRY/REPO[:TAG|@DIGEST]: a registry artifact, resolved to its digest and also judged on its registry signature per the policy's oci.signature), verifies its signature and provenance as the policy asks, and prints one report with the verdict and the policy entry behind each reason.\nExit 0: admitted; 1: rejected; 2: usage error, unreadable model or policy, missing trust material.\n\nflags:")
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
	if !out.valid(stderr, "check") {
		return exitUsage
	}
	if *policyPath == "" {
		fmt.Fprintln(stderr, "modelvet check: --policy FILE is required: the verdict is the policy's (start from examples/policy.yaml, or pass --policy default for the built-in strict policy)")
		return exitUsage
	}
	p := policy.Default()
	if *policyPath != "default" {
		if p, err = policy.Load(*policyPath); err != nil {
			fmt.Fprintln(stderr, "modelvet check: policy:", err)
			return exitUsage
		}
		for _, w := range p.Warnings {
			fmt.Fprintln(stderr, "modelvet check: policy: warning:", w)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	gate := newGate(p)
	// A text report shows no digests: skip hashing unless a signature,
	// provenance or snapshot needs it (the gate decides).
	gate.Hash = out.format != "text"
	gate.Snapshot = *snapshot
	prog := newProgress(stderr, out.quiet)
	gate.Progress = prog.callback()
	var rep *report.Report
	if oci.IsRef(paths[0]) {
		// A registry artifact: pulled by digest, its registry signature
		// (the policy's oci.signature) decided with the rest.
		if *insecureReg {
			fmt.Fprintf(stderr, "modelvet check: warning: --insecure-registry: %s is read over plain HTTP or unverified TLS\n", paths[0])
		}
		var art *oci.Artifact
		rep, art, err = oci.Check(ctx, paths[0], gate, oci.Options{Insecure: *insecureReg})
		if art != nil {
			defer art.Close()
		}
	} else {
		rep, err = gate.Check(ctx, paths[0])
	}
	prog.done()
	if err != nil {
		fmt.Fprintln(stderr, "modelvet check:", err)
		if _, serr := os.Stat(paths[0]); serr == nil && errors.Is(err, iofs.ErrNotExist) {
			// The model is there, so a file the policy names is not:
			// say where relative paths are looked up and what to do.
			fmt.Fprintln(stderr, "modelvet check: the policy names a file that does not exist; relative paths in a policy are read from the policy's own folder. Put the file there (for trusted_root.json see docs/airgap.md) or edit the policy's signature section")
		}
		return exitUsage
	}
	if err := out.write(rep, paths, stdout); err != nil {
		fmt.Fprintln(stderr, "modelvet check:", err)
		return exitUsage
	}
	if rep.Verdict != policy.Admitted {
		return exitFail
	}
	return exitOK
}
