package oci

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/policy"
	"github.com/modelvet/modelvet/report"
)

// Check is the admission gate for a registry artifact, the one used by
// `modelvet check oci://...` and by serve. It resolves ref to a manifest
// digest (reported, and the name every report path carries:
// oci://repo@sha256:.../NAME), pulls the manifest and layers (bounded,
// each blob checked against its digest), verifies the cosign signatures
// on that digest as the policy's oci.signature asks, and runs the gate on
// the pulled folder, so that the scan, the model's own signature and
// provenance, the manifest's findings and the registry signature make one
// decision (policy/registry-signature for the last).
//
// g is not changed (serve shares one gate between requests); a copy
// carries the artifact. The caller owns the returned Artifact and must
// Close it (serve promotes it first). The error is for what prevents a
// decision: the registry (ErrRegistry), trust material
// (policy.ErrTrustMaterial), limits; the caller maps it to exit 2 / 5xx.
func Check(ctx context.Context, ref string, g *policy.Gate, opts Options) (*report.Report, *Artifact, error) {
	if sig := g.Policy.OCI.Signature; sig.Checked() {
		// Trust material the operator got wrong fails before any byte
		// is pulled.
		if _, err := TrustOf(sig).methods(); err != nil {
			return nil, nil, err
		}
	}
	a, err := Pull(ctx, ref, opts)
	if err != nil {
		return nil, nil, err
	}
	rep, err := a.check(ctx, g, opts)
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return rep, a, nil
}

func (a *Artifact) check(ctx context.Context, g *policy.Gate, opts Options) (*report.Report, error) {
	reg := &policy.Registry{Manifest: a.manifestResult()}
	if sig := g.Policy.OCI.Signature; sig.Checked() {
		sr, err := VerifySignatures(ctx, a, opts, TrustOf(sig))
		if err != nil {
			return nil, err
		}
		reg.Signature = sr.Outcome()
	}
	gg := *g
	gg.DisplayRoot = a.Pinned()
	gg.Registry = reg
	rep, err := gg.Check(ctx, a.Dir)
	if err != nil {
		return nil, err
	}
	// Analyzer messages may name the private folder; the caller knows
	// only the artifact.
	sep := a.Dir + string(filepath.Separator)
	fix := strings.NewReplacer(sep, a.Pinned()+"/", a.Dir, a.Pinned())
	for _, f := range rep.Files {
		for i := range f.Findings {
			f.Findings[i].Message = fix.Replace(f.Findings[i].Message)
		}
	}
	for i := range rep.Reasons {
		rep.Reasons[i].Detail = fix.Replace(rep.Reasons[i].Detail)
	}
	var size int64
	for _, l := range a.Layers {
		size += l.Size
	}
	art := report.Section{Name: "artifact", OK: true, Lines: []string{
		fmt.Sprintf("%s resolved to %s", a.Ref, a.Pinned()),
		fmt.Sprintf("%s artifact, %d layers, %d bytes; this verdict is about that digest: pull it by digest, not by tag", a.Flavor, len(a.Layers), size),
	}}
	rep.Sections = append([]report.Section{art}, rep.Sections...)
	return rep, nil
}

// manifestResult is the report entry for the artifact itself: its own
// findings (layer names, duplicate keys) and facts, at the artifact's
// folder.
func (a *Artifact) manifestResult() *formats.FileResult {
	mf := &formats.FileResult{Path: a.Dir, Format: "oci-manifest", Size: int64(len(a.Manifest)), SHA256: strings.TrimPrefix(a.Digest, "sha256:"),
		Findings: append([]formats.Finding{}, a.Findings...),
		Details: map[string]string{
			"ref":        a.Ref,
			"digest":     a.Digest,
			"flavor":     string(a.Flavor),
			"media_type": a.MediaType,
			"layers":     itoa(len(a.Layers)),
		}}
	if a.ArtifactType != "" {
		mf.Details["artifact_type"] = a.ArtifactType
	}
	if a.ConfigType != "" {
		mf.Details["config_media_type"] = a.ConfigType
	}
	return mf
}
