package policy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/internal/onepass"
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
	// Hash makes the check compute each file's SHA-256 for the report
	// even when no signature or provenance needs the digests.
	Hash bool
	// Snapshot, when set, is a folder that must not exist yet: the check
	// creates it (0700), copies the model into it from the bytes of its
	// one pass, and the verdict is about the copy (see Check).
	Snapshot string
	// OnePass connects the one pass to the signature machinery (set by
	// checks.OnePass); nil still reads each file once, without preparing
	// shard digests or reporting the OMS root digest.
	OnePass OnePass
	// PassHooks are test hooks of the one pass (BeforeHash, DuringHash).
	PassHooks onepass.Options
	// Registry, when set, says the model folder was pulled from a
	// registry artifact (package oci sets it on a copy of the gate): its
	// manifest's findings and its registry signature are decided with
	// the rest, in the one verdict.
	Registry *Registry
}

// Registry is what a registry artifact adds to the check of its files.
type Registry struct {
	// Manifest is the artifact's own result (format "oci-manifest": its
	// findings, such as a layer title escaping the folder, and facts),
	// reported at the model root, so at DisplayRoot.
	Manifest *formats.FileResult
	// Signature is the registry signature check; nil when the policy's
	// oci.signature does not ask for one.
	Signature *Outcome
}

// OnePass is what the gate needs around its one pass from the packages
// that verify signatures, which this package does not know.
type OnePass interface {
	// Prepare reads, before the scan, the small files the checks will
	// need (signature, attestation) through s, and tells s which digests
	// to compute (the shard size a signature names).
	Prepare(ctx context.Context, modelDir string, p *Policy, s *onepass.Session)
	// Digests returns the report section listing what a loader must see:
	// the OMS root digest of the model as read.
	// perFile adds each file's SHA-256 (for a snapshot's text report).
	Digests(modelDir string, p *Policy, s *onepass.Session, perFile bool) report.Section
}

// ErrTrustMaterial marks errors about the policy's trust material (a key,
// certificates, trusted_root.json that is missing, unreadable or
// malformed): the operator's problem, exit 2 / HTTP 500, never a verdict
// about the model.
var ErrTrustMaterial = errors.New("the policy's trust material cannot be used")

// ErrUnreadable marks a model file the check is not permitted to read:
// exit 2 (an unreadable path), as for the model folder itself.
var ErrUnreadable = errors.New("a model file cannot be read")

// Sidecar returns the path of a file the policy names inside the model
// folder (or beside a one-file model): model.sig, the attestation.
func Sidecar(model, name string) string {
	if st, err := os.Stat(model); err == nil && !st.IsDir() {
		return filepath.Join(filepath.Dir(model), name)
	}
	return filepath.Join(model, name)
}

// onePass reports whether the check needs digests: then every file is
// read once, scanned and hashed from the same open file.
func (g *Gate) onePass() bool {
	p := g.Policy
	return g.Hash || g.Snapshot != "" || p.Signature.Checked() || p.Provenance.Checked()
}

// Check scans modelDir and decides. The error is for what prevents a
// decision (the folder cannot be read, trust material is missing); the
// caller maps it to exit 2 or HTTP 500.
func (g *Gate) Check(ctx context.Context, modelDir string) (_ *report.Report, err error) {
	p := g.Policy
	fi, err := os.Stat(modelDir)
	if err != nil {
		return nil, fmt.Errorf("cannot read the model: %w", err)
	}
	root := modelDir
	if !fi.IsDir() {
		root = filepath.Dir(modelDir)
	}
	opts := p.ScanOptions()
	checked := modelDir // what the signature and provenance checks read
	// Every check opens files through a session: never blocking on a
	// FIFO, a file the checker may not read is exit 2, and a file renamed
	// over during the scan is refused. Only when digests are needed does
	// the session hash (and record what the analyzers read).
	po := g.PassHooks
	po.Root = root
	po.NoHash = !g.onePass()
	// A signature alone reads only its own digests (shards, or another
	// hash type than sha256): the report (text), the provenance (files
	// method) and a snapshot's digests section would read the whole-file
	// SHA-256.
	po.SignatureOnly = !g.Hash && g.Snapshot == "" && !p.Provenance.Checked()
	po.Ctx = ctx
	if g.Snapshot != "" {
		// A one-file model only reads that file (and its signature): a
		// snapshot beside it is fine.
		if a, b := abs(modelDir), abs(g.Snapshot); fi.IsDir() && formats.Within(a, b) || formats.Within(b, a) {
			return nil, fmt.Errorf("snapshot folder %s must be outside the model folder %s (and not hold it): the copy would be read as part of the model", g.Snapshot, root)
		}
		if err := makePrivateDir(g.Snapshot); err != nil {
			return nil, err
		}
		// No verdict, no copy: a partial snapshot must not be mistaken
		// for a checked one.
		defer func() {
			if err != nil {
				os.RemoveAll(g.Snapshot)
			}
		}()
		po.SnapshotDir = g.Snapshot
		if fi.IsDir() {
			checked = g.Snapshot
		} else {
			checked = filepath.Join(g.Snapshot, filepath.Base(modelDir))
		}
	}
	sess := onepass.New(po)
	defer sess.Finish()
	if g.OnePass != nil && !po.NoHash {
		g.OnePass.Prepare(ctx, modelDir, p, sess)
	}
	opts.Open = sess.Open
	opts.OpenOther = sess.OpenOther
	opts.Hash = false // the pass hashes, on the same open file
	ctx = onepass.NewContext(ctx, sess)
	opts.Progress = g.Progress
	res, err := formats.Scan(ctx, []string{modelDir}, opts)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("the check was stopped before it finished: %w", err)
	}
	sess.Finish()
	if err := attachPass(res, sess); err != nil {
		return nil, err
	}
	if g.Snapshot != "" {
		moveTo(res, root, checked, fi.IsDir())
		root = g.Snapshot
	}
	in := Input{Scan: res, Root: root}
	if r := g.Registry; r != nil {
		in.Artifact = true
		if r.Manifest != nil {
			mf := *r.Manifest
			mf.Path = root
			res.Files = append([]*formats.FileResult{&mf}, res.Files...)
		}
		if r.Signature != nil {
			o := *r.Signature
			o.Section.Name = "registry signature"
			in.Registry = &o
		}
	}
	if p.Signature.Checked() && g.Signature != nil {
		o, err := g.Signature(ctx, checked, p)
		if err != nil {
			return nil, fmt.Errorf("signature check: %w", err)
		}
		o.Section.Name = "signature"
		in.Signature = o
	}
	if p.Provenance.Checked() && g.Provenance != nil {
		o, err := g.Provenance(ctx, checked, p)
		if err != nil {
			return nil, fmt.Errorf("provenance check: %w", err)
		}
		o.Section.Name = "provenance"
		in.Provenance = o
	}
	d := Decide(p, in)
	rep := Build(p, in, d)
	if g.OnePass != nil && (g.Snapshot != "" || g.Hash) {
		sec := g.OnePass.Digests(checked, p, sess, g.Snapshot != "")
		if g.Snapshot != "" {
			sec.Lines = append([]string{"the model was copied to " + g.Snapshot + " while it was read; this verdict is about that copy, and a loader must see these digests"}, sec.Lines...)
		}
		rep.Sections = append(rep.Sections, sec)
	}
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
	for _, o := range []*Outcome{in.Registry, in.Signature, in.Provenance} {
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
		if in.Artifact {
			// Beside the registry signature: say which signature.
			lines = append(lines, "signature (a model.sig inside the artifact): not checked (the policy's signature section gives no trust)")
		} else {
			lines = append(lines, "signature: not checked (the policy gives no trust)")
		}
	}
	if !p.Provenance.Checked() {
		lines = append(lines, "provenance: not checked (the policy asks for none)")
	}
	if in.Artifact && !p.OCI.Signature.Checked() {
		lines = append(lines, "registry signature: not checked (the policy's oci.signature gives no trust)")
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
