package policy

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/report"
)

// Verdicts.
const (
	Admitted = "admitted"
	Rejected = "rejected"
)

// Reason rules for causes that are not scan findings. Stable names: users
// grep for them and registries key alerts on them.
const (
	RuleFormat     = "policy/format-not-allowed"
	RuleEmpty      = "policy/no-model-files"
	RuleSignature  = "policy/signature"
	RuleProvenance = "policy/provenance"
	// RuleRegistrySignature stops an artifact pushed to a registry by
	// someone the policy does not trust (or a signature copied from
	// another artifact) from being admitted: the policy's oci.signature
	// asks for cosign signatures on the manifest digest that was checked.
	RuleRegistrySignature = "policy/registry-signature"
)

// Outcome is what a signature or provenance check found.
type Outcome struct {
	// Present is whether the signature (attestation) file was there.
	Present bool
	// OK is whether it verified and met the policy.
	OK bool
	// Failures say why not, in plain words; the first is quoted in the
	// reason (Section.Lines also hold what was established).
	Failures []string
	// Section is the summary for the report; its Name is set by the gate.
	Section report.Section
	// Blame, when set, names what failed instead of a policy entry (the
	// attestation's subject, its signature): the check knows when a
	// failure is not about the policy's builders or sources.
	Blame string
}

// Input is everything a decision is made from.
type Input struct {
	// Scan is the scan of the model folder.
	Scan *formats.Result
	// Root is the folder that was scanned, to place paths relative to it.
	Root string
	// Signature and Provenance are nil when the policy does not check
	// them.
	Signature  *Outcome
	Provenance *Outcome
	// Artifact is set when the model is a registry artifact (oci://),
	// whose registry signature the policy's oci.signature governs.
	Artifact bool
	// Registry is the registry signature check; nil when it was not
	// checked.
	Registry *Outcome
}

// Decision is the verdict and what it rests on.
type Decision struct {
	Verdict string
	Reasons []report.Reason
	// Notes are what the policy changed without it being a reason:
	// suppressed findings, ignored files.
	Notes []string
	// Failing counts findings at or above fail_on that were not suppressed
	// or ignored.
	Failing int
	// Marks are the findings and files the policy set aside, for the
	// report encoders (SARIF suppressions, JSON marks).
	Marks []report.Mark
}

// Decide applies the policy.
//
// Signatures and provenance follow one rule each (policy/signature,
// policy/provenance): when the policy checks them, a file that is present
// must verify and meet the policy, whether or not it is required — a
// corrupted, unreadable, non-file or foreign model.sig rejects; an absent
// one rejects only when required, and is otherwise a note (optional means
// "judged on the scan alone", and deleting the file is all it takes to get
// there, so only required: true protects against tampering).
//
// It is pure: the same inputs always give the
// same decision, and it reads nothing but its arguments. Anything it
// cannot account for rejects: a model is admitted only when every check
// the policy asks for passed.
func Decide(p *Policy, in Input) Decision {
	d := Decision{Verdict: Admitted}
	reject := func(rule, ref, detail string) {
		d.Reasons = append(d.Reasons, report.Reason{Rule: rule, Policy: ref, Detail: detail})
	}
	// rejectAt is reject about one file, which SARIF places the alert on.
	rejectAt := func(path, rule, ref, detail string) {
		reject(rule, ref, detail)
		d.Reasons[len(d.Reasons)-1].Path = path
	}
	var files []*formats.FileResult
	if in.Scan != nil {
		files = in.Scan.Files
	}
	models := 0
	for _, f := range files {
		rel := Rel(in.Root, f.Path)
		// A file that changed while it was checked rejects whatever the
		// policy says (fail_on, suppress, ignore): the verdict, the
		// digests and a snapshot would be about bytes nobody scanned.
		for _, x := range f.Findings {
			if x.Rule == RuleFileChanged {
				reject(RuleFileChanged, "(built-in: a file that changed during the check is never admitted)", fmt.Sprintf("%s at %s: %s", x.Severity, where(rel, x), x.Message))
			}
		}
		if pat, ok := p.ignored(rel); ok && f.Format != "folder-check" {
			d.Notes = append(d.Notes, fmt.Sprintf("%s is ignored by %s; its %d findings do not count", rel, pat.ref, len(f.Findings)))
			d.Marks = append(d.Marks, report.Mark{Path: f.Path, Index: -1, Kind: report.MarkIgnored, Policy: pat.ref})
			continue
		}
		if !contains(SupportFormats, f.Format) {
			models++
			if p.Formats != nil && !contains(p.Formats, f.Format) {
				rejectAt(f.Path, RuleFormat, p.Ref("formats.allow"), fmt.Sprintf("%s is %s, which the policy does not allow", rel, f.Format))
			}
		}
		for i, x := range f.Findings {
			s, suppressed := p.suppressed(x.Rule, rel)
			if suppressed {
				// Marked at any severity: a report must not show a finding
				// the policy set aside as if it were live.
				d.Marks = append(d.Marks, report.Mark{Path: f.Path, Index: i, Kind: report.MarkSuppressed, Policy: s.ref, Reason: s.Reason})
			}
			if x.Severity < p.FailOn || x.Rule == RuleFileChanged {
				continue
			}
			if suppressed {
				d.Notes = append(d.Notes, fmt.Sprintf("%s %s at %s suppressed by %s: %s", x.Severity, x.Rule, where(rel, x), s.ref, s.Reason))
				continue
			}
			d.Failing++
			reject(x.Rule, p.Ref("fail_on"), fmt.Sprintf("%s at %s: %s", x.Severity, where(rel, x), x.Message))
		}
	}
	// An empty folder, or one whose every file is ignored, carries nothing
	// that was shown safe; admitting it would let a loader fetch weights
	// from elsewhere under an "admitted" label.
	if models == 0 {
		reject(RuleEmpty, "(built-in: a model with no model files is never admitted)", "no model file was found to scan")
	}
	if p.Signature.Checked() {
		ref := p.Ref("signature.required")
		if !p.Signature.Required {
			ref = p.trustRef()
		}
		switch o := in.Signature; {
		case o == nil:
			reject(RuleSignature, ref, "the signature was not checked")
		case p.Signature.Required && !o.Present:
			rejectAt(filepath.Join(in.Root, p.Signature.File), RuleSignature, ref, "no signature ("+p.Signature.File+") was found"+firstLine(o))
		case o.Present && !o.OK:
			rejectAt(filepath.Join(in.Root, p.Signature.File), RuleSignature, ref, "the signature did not verify"+firstLine(o))
		case o.Present && o.OK:
		case !o.Present && !p.Signature.Required:
			// Optional means "judged on the scan alone when absent": the
			// report says so, since deleting model.sig is all it takes.
			d.Notes = append(d.Notes, fmt.Sprintf("no signature (%s): admitted on the scan alone because the signature is not required (%s); anyone who can change the model can delete its signature, so set signature.required: true to depend on it", p.Signature.File, p.Ref("signature.required")))
		default:
			reject(RuleSignature, ref, "the signature check gave no result")
		}
	}
	if p.Provenance.Checked() {
		ref := p.Ref("provenance.required")
		if !p.Provenance.Required {
			ref = p.Ref("provenance.builder_ids")
		}
		switch o := in.Provenance; {
		case o == nil:
			reject(RuleProvenance, ref, "the provenance was not checked")
		case p.Provenance.Required && !o.Present:
			rejectAt(filepath.Join(in.Root, p.Provenance.Attestation), RuleProvenance, ref, "no provenance attestation ("+p.Provenance.Attestation+") was found"+firstLine(o))
		case o.Present && !o.OK:
			rejectAt(filepath.Join(in.Root, p.Provenance.Attestation), RuleProvenance, p.provenanceRef(o), "the provenance does not meet the policy"+firstLine(o))
		case !o.Present:
			d.Notes = append(d.Notes, fmt.Sprintf("no provenance (%s): admitted without it because provenance is not required (%s)", p.Provenance.Attestation, p.Ref("provenance.required")))
		}
	}
	decideRegistry(p, in, &d)
	if len(d.Reasons) > 0 {
		d.Verdict = Rejected
	}
	return d
}

// decideRegistry applies oci.signature (policy/registry-signature) the
// way signature: is applied to model.sig: a signature that is present
// must verify under the policy's trust; an absent one rejects only when
// required. It governs registry artifacts only: a local folder has no
// registry signature, which the report notes.
func decideRegistry(p *Policy, in Input, d *Decision) {
	s := p.OCI.Signature
	if !s.Checked() {
		return
	}
	if !in.Artifact {
		d.Notes = append(d.Notes, fmt.Sprintf("oci.signature (%s) applies to models read from a registry (oci://...); this model was not, so it has no registry signature to check", p.Ref("oci.signature.required")))
		return
	}
	ref := p.Ref("oci.signature.required")
	if !s.Required {
		ref = p.trustRefOf("oci.signature")
	}
	reject := func(detail string) {
		d.Reasons = append(d.Reasons, report.Reason{Rule: RuleRegistrySignature, Policy: ref, Detail: detail})
	}
	switch o := in.Registry; {
	case o == nil:
		reject("the registry signature was not checked")
	case s.Required && !o.Present:
		reject("the registry holds no cosign signature for this artifact's digest" + firstLine(o))
	case o.Present && !o.OK:
		reject("no registry signature verified under the policy's trust" + firstLine(o))
	case o.Present && o.OK:
	case !o.Present && !s.Required:
		d.Notes = append(d.Notes, fmt.Sprintf("no registry signature: admitted on the scan alone because oci.signature is not required (%s)", p.Ref("oci.signature.required")))
	default:
		reject("the registry signature check gave no result")
	}
}

func firstLine(o *Outcome) string {
	for _, l := range o.Failures {
		if l != "" {
			return ": " + l
		}
	}
	for _, l := range o.Section.Lines {
		if l != "" {
			return ": " + l
		}
	}
	return ""
}

func where(rel string, x formats.Finding) string {
	if w := x.Where(); w != "" {
		return rel + " (" + w + ")"
	}
	return rel
}

// provenanceRef cites what an attestation that is present failed: the
// accepted builders or sources when the policy lists them. An attestation
// about other files (its subject digest is not this model's) or one that
// does not verify failed no builder or source entry: blaming
// provenance.builder_ids would send the operator to edit the wrong line.
func (p *Policy) provenanceRef(o *Outcome) string {
	if o != nil && o.Blame != "" {
		return o.Blame
	}
	for _, k := range []string{"provenance.builder_ids", "provenance.source_uris", "provenance.required"} {
		if p.Line(k) > 0 {
			return p.Ref(k)
		}
	}
	return "provenance (default)"
}

func (p *Policy) trustRef() string { return p.trustRefOf("signature") }

// trustRefOf cites the trust entry of a signature section ("signature"
// or "oci.signature").
func (p *Policy) trustRefOf(where string) string {
	for _, k := range []string{"keys", "ca_chains", "identities", "identity_regexps", "trusted_root"} {
		if p.Line(where+"."+k) > 0 {
			return p.Ref(where + "." + k)
		}
	}
	return where + " (default)"
}

// IgnoredBy reports whether the policy's ignore: covers rel (a
// slash-separated path relative to the model folder), and the entry that
// does, so other checks (the signature) ignore the same files the scan does.
func (p *Policy) IgnoredBy(rel string) (string, bool) {
	pat, ok := p.ignored(rel)
	return pat.ref, ok
}

// cliHints are the CLI flags other packages' messages suggest, and what a
// policy user does instead: check takes no such flags.
var cliHints = strings.NewReplacer(
	"pass --ignore-paths, or --ignore-unsigned-files", "or list it under the policy's ignore:",
	"allow it with --allow if you trust it", "allow it with the policy's scan.allow_imports if you trust it",
	"--ignore-paths", "the policy's ignore:",
	"links are refused unless --allow-symlinks is given", "links are refused (replace the link with the file it points to)",
	"--allow-symlinks", "a model without symbolic links",
	"--ignore-unsigned-files", "the policy's ignore:",
	"--allow", "the policy's scan.allow_imports",
	// Trust flags, longest first: each names the policy's signature key.
	"--certificate-identity-regexp", "signature.identity_regexps",
	"--certificate-oidc-issuer-regexp", "signature.issuer_regexps",
	"--certificate-identity", "signature.identities",
	"--certificate-oidc-issuer", "signature.issuers",
	"--certificate-chain", "signature.ca_chains",
	"--trusted-root", "signature.trusted_root",
	"--keyless", "keyless signing",
	"--key", "signature.keys",
)

// CheckHints rewrites a message written for the scan and verify commands
// so that it names what a policy offers instead of their flags.
func CheckHints(msg string) string {
	if !strings.Contains(msg, "--") {
		return msg
	}
	return cliHints.Replace(msg)
}

func (p *Policy) ignored(rel string) (Pattern, bool) {
	for _, pat := range p.Ignore {
		if pat.Match(rel) {
			return pat, true
		}
	}
	return Pattern{}, false
}

func (p *Policy) suppressed(rule, rel string) (Suppression, bool) {
	for _, s := range p.Suppress {
		if s.Matches(rule, rel) {
			return s, true
		}
	}
	return Suppression{}, false
}

// Rel returns path relative to root with '/' separators, for matching
// policy patterns the same way on every OS. A path not under root is
// returned cleaned, slash-separated.
func Rel(root, path string) string {
	if root != "" {
		if r, err := filepath.Rel(root, path); err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return filepath.ToSlash(r)
		}
	}
	return filepath.ToSlash(filepath.Clean(path))
}
