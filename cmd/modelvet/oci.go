package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/oci"
	"github.com/modelvet/modelvet/report"
	"github.com/modelvet/modelvet/verify"
)

// pulled holds the registry artifacts a command pulled for its
// oci://... arguments; their private folders go when the command ends.
type pulled struct {
	arts []*oci.Artifact
}

// pullOCI replaces each oci:// argument with the private folder its
// artifact was pulled into. An artifact that cannot be pulled (registry
// unreachable, digest mismatch, over a limit) is an error: nothing about
// it can be said.
func pullOCI(ctx context.Context, paths []string, insecure bool, stderr io.Writer) ([]string, *pulled, error) {
	p := &pulled{}
	out := make([]string, 0, len(paths))
	for _, a := range paths {
		if !oci.IsRef(a) {
			out = append(out, a)
			continue
		}
		if insecure {
			fmt.Fprintf(stderr, "modelvet: warning: --insecure-registry: %s is read over plain HTTP or unverified TLS\n", a)
		}
		art, err := oci.Pull(ctx, a, oci.Options{Insecure: insecure})
		if err != nil {
			p.close()
			return nil, nil, err
		}
		p.arts = append(p.arts, art)
		out = append(out, art.Dir)
	}
	return out, p, nil
}

// relabel names pulled files by their artifact (oci://repo@digest/name)
// in a scan result.
func (p *pulled) relabel(res *formats.Result) {
	for _, a := range p.arts {
		a.RelabelResult(res)
	}
}

func (p *pulled) close() {
	if p == nil {
		return
	}
	for _, a := range p.arts {
		a.Close()
	}
}

type ociVerifyFlags struct {
	sig            string
	ignore         []string
	ignoreUnsigned bool
	format         string
	insecure       bool
}

// ociTrust turns the trust flags into registry-signature trust: the same
// flags, the same one-method rule as for model signatures. An exact
// identity or issuer is anchored; a regexp keeps cosign's meaning.
func ociTrust(t *trustFlags) (oci.Trust, error) {
	if _, err := t.options(); err != nil {
		return oci.Trust{}, err
	}
	one := func(exact, re string) string {
		if exact != "" {
			return "^" + regexp.QuoteMeta(exact) + "$"
		}
		return re
	}
	ot := oci.Trust{CAChains: append([]string(nil), t.chain...), TrustedRoot: t.trustedRoot,
		IdentityRegexp: one(t.identity, t.identityRe), IssuerRegexp: one(t.issuer, t.issuerRe)}
	if t.key != "" {
		ot.Keys = []string{t.key}
	}
	return ot, nil
}

// runVerifyOCI verifies a registry artifact: the cosign signatures
// attached to its manifest digest (with --key, --certificate-chain, or
// keyless --certificate-identity/--certificate-oidc-issuer/--trusted-root,
// offline), and, when the artifact carries an OpenSSF model signature
// (model.sig), that signature over the pulled files under the same trust.
// Both must hold when both exist.
func runVerifyOCI(ref string, trust *trustFlags, fl ociVerifyFlags, stdout, stderr io.Writer) int {
	ot, err := ociTrust(trust)
	if err != nil {
		fmt.Fprintln(stderr, "modelvet verify:", err)
		return exitUsage
	}
	trust.warnUnanchored(stderr, "modelvet verify")
	ctx := context.Background()
	opts := oci.Options{Insecure: fl.insecure}
	art, err := oci.Pull(ctx, ref, opts)
	if err != nil {
		fmt.Fprintln(stderr, "modelvet verify:", err)
		return exitUsage
	}
	defer art.Close()
	sr, err := oci.VerifySignatures(ctx, art, opts, ot)
	if err != nil {
		fmt.Fprintln(stderr, "modelvet verify:", err)
		return exitUsage
	}
	rep := &report.Report{Tool: "modelvet", Version: report.Version, Verdict: "pass", Summary: report.Summary{BySeverity: map[string]int{}}}
	sec := report.Section{Name: "registry signature", OK: sr.Verified}
	sec.Lines = append(sec.Lines, fmt.Sprintf("artifact %s (%s, %d layers)", art.Pinned(), art.Flavor, len(art.Layers)))
	if sr.Verified {
		sec.Lines = append(sec.Lines, plural(sr.Signatures, "cosign signature")+" verified")
		for _, s := range sr.Signers {
			sec.Lines = append(sec.Lines, "signed by "+s)
		}
	} else {
		rep.Verdict = "fail"
		// oci/not-signed: an artifact pushed by someone the given trust does
		// not name, or carrying a signature copied from another digest.
		rep.Reasons = append(rep.Reasons, report.Reason{Rule: "oci/not-signed", Policy: "the artifact must carry a cosign signature under the given trust", Detail: strings.Join(sr.Problems, "; ")})
		for _, p := range sr.Problems {
			sec.Lines = append(sec.Lines, "FAILED: "+p)
		}
	}
	for _, pt := range sr.Attestations {
		sec.Lines = append(sec.Lines, "verified attestation: "+pt)
	}
	rep.Sections = append(rep.Sections, sec)
	// An OMS signature shipped inside the artifact is checked too: a
	// registry signature does not make a tampered model.sig pass.
	if _, err := os.Stat(filepath.Join(art.Dir, "model.sig")); err == nil || fl.sig != "" {
		to, err := trust.options()
		if err != nil {
			fmt.Fprintln(stderr, "modelvet verify:", err)
			return exitUsage
		}
		res, err := verify.Verify(art.Dir, verify.Options{SignaturePath: fl.sig, Trust: to, IgnorePaths: fl.ignore, IgnoreUnsignedFiles: fl.ignoreUnsigned})
		if err != nil {
			fmt.Fprintln(stderr, "modelvet verify:", err)
			return exitUsage
		}
		oms := signatureReport(res)
		rep.Sections = append(rep.Sections, oms.Sections...)
		if oms.Verdict != "pass" {
			rep.Verdict = "fail"
			rep.Reasons = append(rep.Reasons, oms.Reasons...)
		}
	}
	if err := report.Write(stdout, rep, fl.format, useColor(stdout)); err != nil {
		fmt.Fprintln(stderr, "modelvet verify:", err)
		return exitUsage
	}
	if !rep.Passed() {
		return exitFail
	}
	return exitOK
}
