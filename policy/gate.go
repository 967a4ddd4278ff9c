package policy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/report"
)

// Checker checks a model folder's signature or provenance against the
// policy. It returns an error only when the check itself cannot run
// (unreadable trust material); a missing or bad signature is an Outcome.
type Checker func(ctx context.Context, modelDir string, p *Policy) (*Outcome, error)

// Gate runs every check the policy asks for and decides.
type Gate struct {
	Policy     *Policy
	Signature  Checker // nil: a policy that checks signatures rejects ("not checked")
	Provenance Checker // likewise
	// DisplayRoot, when set, replaces the model folder's path in the
	// report (an upload's temporary folder means nothing to the caller).
	DisplayRoot string
	// Progress, when set, is told how far the scan is (formats.Options).
	Progress func(formats.Progress)
}

// Check scans modelDir and decides. The error is for what prevents a
// decision (the folder cannot be read, trust material is missing); the
// caller maps it to exit 2 or HTTP 500.
func (g *Gate) Check(ctx context.Context, modelDir string) (*report.Report, error) {
	p := g.Policy
	fi, err := os.Stat(modelDir)
	if err != nil {
		return nil, fmt.Errorf("cannot read the model: %w", err)
	}
	opts := p.ScanOptions()
	opts.Progress = g.Progress
	res, err := formats.Scan(ctx, []string{modelDir}, opts)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("the check was stopped before it finished: %w", err)
	}
	root := modelDir
	if !fi.IsDir() {
		root = filepath.Dir(modelDir)
	}
	in := Input{Scan: res, Root: root}
	if p.Signature.Checked() && g.Signature != nil {
		o, err := g.Signature(ctx, modelDir, p)
		if err != nil {
			return nil, fmt.Errorf("signature check: %w", err)
		}
		o.Section.Name = "signature"
		in.Signature = o
	}
	if p.Provenance.Checked() && g.Provenance != nil {
		o, err := g.Provenance(ctx, modelDir, p)
		if err != nil {
			return nil, fmt.Errorf("provenance check: %w", err)
		}
		o.Section.Name = "provenance"
		in.Provenance = o
	}
	d := Decide(p, in)
	rep := Build(p, in, d)
	if g.DisplayRoot != "" {
		for _, f := range rep.Files {
			f.Path = displayPath(g.DisplayRoot, root, f.Path)
		}
		for i := range rep.Marks {
			rep.Marks[i].Path = displayPath(g.DisplayRoot, root, rep.Marks[i].Path)
		}
		for i := range rep.Reasons {
			if rep.Reasons[i].Path != "" {
				rep.Reasons[i].Path = displayPath(g.DisplayRoot, root, rep.Reasons[i].Path)
			}
		}
	}
	return rep, nil
}

// Build turns a decision into the report every output format encodes.
func Build(p *Policy, in Input, d Decision) *report.Report {
	res := in.Scan
	if res == nil {
		res = &formats.Result{}
	}
	rep := report.FromScan(res, p.FailOn)
	rep.Summary.Failing = d.Failing
	rep.Verdict = d.Verdict
	rep.Reasons = d.Reasons
	rep.Marks = d.Marks
	// Findings and checks speak the scan's and verify's language ("allow
	// it with --allow"); the report of a policy decision names policy keys.
	for _, f := range rep.Files {
		for i := range f.Findings {
			f.Findings[i].Message = CheckHints(f.Findings[i].Message)
		}
	}
	for i := range rep.Reasons {
		rep.Reasons[i].Detail = CheckHints(rep.Reasons[i].Detail)
	}
	for _, o := range []*Outcome{in.Signature, in.Provenance} {
		if o != nil {
			sec := o.Section
			sec.Lines = append([]string(nil), sec.Lines...)
			for i := range sec.Lines {
				sec.Lines[i] = CheckHints(sec.Lines[i])
			}
			rep.Sections = append(rep.Sections, sec)
		}
	}
	lines := []string{"policy: " + policyName(p)}
	if !p.Signature.Checked() {
		lines = append(lines, "signature: not checked (the policy gives no trust)")
	}
	if !p.Provenance.Checked() {
		lines = append(lines, "provenance: not checked (the policy asks for none)")
	}
	rep.Sections = append(rep.Sections, report.Section{Name: "policy", OK: d.Verdict == Admitted, Lines: append(lines, d.Notes...)})
	return rep
}

func policyName(p *Policy) string {
	if p.Path == "" {
		return "(built-in default)"
	}
	return p.Path
}

func displayPath(display, root, path string) string {
	rel := Rel(root, path)
	if rel == "." {
		return display
	}
	if strings.HasPrefix(rel, "../") || filepath.IsAbs(filepath.FromSlash(rel)) {
		return rel
	}
	return strings.TrimSuffix(display, "/") + "/" + rel
}
