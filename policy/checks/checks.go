// Package checks connects the policy's signature and provenance sections
// to packages verify (OpenSSF model signatures) and attest (in-toto / SLSA
// provenance). It is the only place the gate meets them, so the policy
// package itself stays testable with fakes.
package checks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/modelvet/modelvet/attest"
	"github.com/modelvet/modelvet/internal/onepass"
	"github.com/modelvet/modelvet/policy"
	"github.com/modelvet/modelvet/report"
	"github.com/modelvet/modelvet/verify"
)

// Trust returns the verify trust options the policy's signature section
// stands for, one per accepted key (a signature from any listed key is
// accepted; verify takes one key at a time). Keyless identities and issuers
// are folded into one anchored regexp each, so a signer must match one
// listed identity exactly (or a listed regexp) and nothing else.
func Trust(p *policy.Policy) []verify.TrustOptions {
	s := p.Signature
	switch s.Method() {
	case policy.MethodKey:
		var out []verify.TrustOptions
		for _, k := range s.Keys {
			out = append(out, verify.TrustOptions{KeyPath: k})
		}
		return out
	case policy.MethodCA:
		return []verify.TrustOptions{{CAChainPaths: append([]string(nil), s.CAChains...)}}
	case policy.MethodKeyless:
		return []verify.TrustOptions{{IdentityRegexp: s.IdentityPattern(), IssuerRegexp: s.IssuerPattern(), TrustedRootPath: s.TrustedRoot}}
	}
	return nil
}

// trustMaterial checks that every key, certificate and trusted root the
// policy names can be loaded: a policy pointing at a missing, unreadable
// or malformed file is the operator's error (exit 2 / HTTP 500,
// policy.ErrTrustMaterial), never "the signature did not verify".
func trustMaterial(p *policy.Policy) error {
	s := p.Signature
	files := append(append([]string{}, s.Keys...), s.CAChains...)
	if s.TrustedRoot != "" {
		files = append(files, s.TrustedRoot)
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%w: named by the policy %s: %w", policy.ErrTrustMaterial, p.Path, err)
		}
	}
	for _, t := range Trust(p) {
		if err := t.CheckMaterial(); err != nil {
			return fmt.Errorf("%w: named by the policy %s: %w", policy.ErrTrustMaterial, p.Path, err)
		}
	}
	return nil
}

// sidecar returns the path of a file the policy names inside the model
// folder (or beside a one-file model).
func sidecar(model, name string) string { return policy.Sidecar(model, name) }

// readSidecar reads a signature or attestation: from the check's one pass
// when there is one (the bytes the scan saw, the bytes copied into a
// snapshot), from the file otherwise (nil data: let the verifier read).
func readSidecar(ctx context.Context, path string, limit int64) ([]byte, error) {
	s := onepass.FromContext(ctx)
	if s == nil {
		return nil, nil
	}
	return s.ReadFile(path, limit)
}

// digests returns the one pass's digests, or nil to hash from disk.
func digests(ctx context.Context) verify.Digests {
	if s := onepass.FromContext(ctx); s != nil {
		return s
	}
	return nil
}

// maxSidecar caps a signature or attestation read into memory.
const maxSidecar = 64 << 20

// Signature verifies the model's OpenSSF model signature under the policy.
func Signature(ctx context.Context, model string, p *policy.Policy) (*policy.Outcome, error) {
	if err := trustMaterial(p); err != nil {
		return nil, err
	}
	sigPath := sidecar(model, p.Signature.File)
	o := &policy.Outcome{Section: report.Section{Name: "signature"}}
	if _, err := os.Lstat(sigPath); err != nil {
		o.Section.Lines = []string{fmt.Sprintf("no signature: %s not found", p.Signature.File)}
		return o, nil
	}
	o.Present = true
	vo := verify.Options{SignaturePath: sigPath, Digests: digests(ctx)}
	if vo.Digests != nil {
		// Present but unreadable (a folder, a FIFO, too large) is a
		// present signature that does not verify, never an absent one.
		data, err := readSidecar(ctx, sigPath, maxSidecar)
		if err != nil {
			o.Section.Lines = []string{"the signature cannot be read: " + err.Error()}
			o.Failures = o.Section.Lines
			return o, nil
		}
		vo.SignatureData = data
	}
	// A provenance attestation is added beside the weights after signing
	// and carries its own signature; it is not part of the signed model.
	if p.Provenance.Checked() {
		vo.IgnorePaths = attest.IgnoresInside(model, sidecar(model, p.Provenance.Attestation))
	}
	var lines []string
	for _, t := range Trust(p) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		vo.Trust = t
		r, err := verify.Verify(model, vo)
		if err != nil {
			var te *verify.TrustError
			if errors.As(err, &te) {
				return nil, fmt.Errorf("%w: %w", policy.ErrTrustMaterial, err)
			}
			if errors.Is(err, fs.ErrPermission) {
				return nil, fmt.Errorf("%w: %w", policy.ErrUnreadable, err)
			}
			var ue *verify.UsageError
			if errors.As(err, &ue) {
				lines = append(lines, "cannot verify: "+err.Error())
				continue
			}
			return nil, err
		}
		if r.Verified {
			o.OK = true
			o.Section.OK = true
			o.Section.Lines = append(signerLines(r), fmt.Sprintf("%d files (%d bytes) match the signature", r.Resources, r.Bytes))
			if n := len(r.NotCovered); n > 0 {
				o.Section.Lines = append(o.Section.Lines, fmt.Sprintf("WARNING: %d present but NOT covered by the signature (the signer's ignore_paths left them out; the scan still read them): %s", n, verify.ListSome(r.NotCovered, 10)))
			}
			return o, nil
		}
		method := verify.MethodFiles
		if r.Signed != nil {
			method = r.Signed.Method
		}
		kept, ignored := setAsideIgnored(p, r.Problems, method)
		if len(kept) == 0 && len(ignored) > 0 && r.Signer != nil {
			// Every problem is about a file the policy ignores: the scan
			// ignores it too, so the signature is judged without it.
			o.OK = true
			o.Section.OK = true
			o.Section.Lines = append(signerLines(r), fmt.Sprintf("every signed file matches except %s, which the policy ignores", verify.ListSome(ignored, 10)))
			return o, nil
		}
		for _, pr := range kept {
			lines = append(lines, policy.CheckHints(pr.Message))
		}
	}
	o.Section.Lines = lines
	o.Failures = lines
	return o, nil
}

// setAsideIgnored splits the problems of a verification into those about
// files the policy's ignore: covers (returned by name) and the rest. Only
// per-file problems (missing, changed, unsigned) can be set aside; a bad
// signature never is.
func setAsideIgnored(p *policy.Policy, problems []verify.Problem, method string) (kept []verify.Problem, ignored []string) {
	for _, pr := range problems {
		switch pr.Kind {
		case "missing", "changed", "unsigned":
			name := pr.Resource
			if _, ok := p.IgnoredBy(fileOf(name, method)); ok {
				ignored = append(ignored, name)
				continue
			}
		}
		kept = append(kept, pr)
	}
	return kept, ignored
}

// fileOf is the file a resource names; shard resources are
// "path:start:end". Under the files method a resource is the file itself,
// whatever colons its name holds: cutting "README.md:0:5" to README.md
// would let a file the policy does not ignore pass as an ignored one.
func fileOf(name, method string) string {
	if method != verify.MethodShards {
		return name
	}
	for range 2 {
		i := strings.LastIndexByte(name, ':')
		if i < 0 || strings.Trim(name[i+1:], "0123456789") != "" {
			return name
		}
		name = name[:i]
	}
	return name
}

func signerLines(r *verify.Result) []string {
	if r.Signer == nil {
		return []string{"verified"}
	}
	s := r.Signer
	var l string
	switch s.Method {
	case verify.MethodKeyless:
		l = fmt.Sprintf("signed (keyless) by %s, issuer %s", s.Identity, s.Issuer)
	case verify.MethodCertificate:
		l = fmt.Sprintf("signed by certificate %s issued by %s", s.Identity, s.Issuer)
	default:
		l = "signed by public key " + s.KeyID
	}
	out := []string{l}
	if !s.SignedAt.IsZero() {
		out = append(out, "signed at "+s.SignedAt.UTC().Format("2006-01-02 15:04:05Z"))
	}
	if r.FormatNote != "" {
		out = append(out, r.FormatNote)
	}
	return append(out, s.Notes...)
}

// Provenance verifies the model's provenance attestation: signed under the
// policy's trust, about this model's digest, from an accepted builder and
// source.
func Provenance(ctx context.Context, model string, p *policy.Policy) (*policy.Outcome, error) {
	if err := trustMaterial(p); err != nil {
		return nil, err
	}
	attPath := sidecar(model, p.Provenance.Attestation)
	o := &policy.Outcome{Section: report.Section{Name: "provenance"}}
	if _, err := os.Lstat(attPath); err != nil {
		o.Section.Lines = []string{fmt.Sprintf("no provenance: %s not found", p.Provenance.Attestation)}
		return o, nil
	}
	o.Present = true
	sigPath := ""
	if p.Signature.Checked() {
		sigPath = sidecar(model, p.Signature.File)
	}
	// Hash once; every trust/requirement combination compares against it.
	h := verify.HashOptions{IgnorePaths: attest.IgnoresInside(model, attPath, sigPath), Digests: digests(ctx)}
	var items []attest.Item
	fromPass := h.Digests != nil
	if fromPass {
		data, err := readSidecar(ctx, attPath, maxSidecar)
		if err == nil {
			items, err = attest.Split(data)
		}
		if err != nil {
			o.Section.Lines = []string{"the attestation cannot be read: " + err.Error()}
			o.Failures = o.Section.Lines
			return o, nil
		}
	}
	m, err := verify.HashModel(model, h)
	if err != nil {
		o.Section.Lines = []string{"cannot hash the model: " + err.Error()}
		o.Failures = o.Section.Lines
		return o, nil
	}
	builders := orEmpty(p.Provenance.BuilderIDs)
	sources := orEmpty(p.Provenance.SourceURIs)
	var last *attest.Result
	for _, t := range Trust(p) {
		for _, b := range builders {
			for _, s := range sources {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				var r *attest.Result
				var err error
				if fromPass {
					// The attestation as the one pass read it.
					md := attest.ModelFromManifest(m)
					r = attest.VerifyItems(items, attest.Options{Trust: t, Model: &md, Require: attest.Requirements{BuilderID: b, SourceURI: s}})
					r.Lines = append([]string{fmt.Sprintf("model folder digest %s (%d files)", md.Root, len(m.Resources))}, r.Lines...)
				} else {
					r, err = attest.VerifyForModel(model, attPath, attest.ModelOptions{Trust: t, Hash: h, SignaturePath: sigPath, Manifest: m,
						Require: attest.Requirements{BuilderID: b, SourceURI: s}})
				}
				if err != nil {
					// The publisher shipped an attestation that cannot be read:
					// the model's fault, so a refusal, not an operator error.
					o.Section.Lines = []string{"the attestation cannot be read: " + err.Error()}
					o.Failures = o.Section.Lines
					return o, nil
				}
				if r.OK {
					o.OK = true
					o.Section = r.Section()
					return o, nil
				}
				last = r
			}
		}
	}
	if last != nil {
		o.Section = last.Section()
		o.Section.OK = false
		o.Failures = last.Failures
		o.Blame = blame(last)
	}
	return o, nil
}

// blame names what an attestation failed when it is not the policy's
// builder or source entries: an attestation about other content (a subject
// digest that is not this model's) or one whose signature did not verify
// would be fixed by a new attestation, not by editing builder_ids.
func blame(r *attest.Result) string {
	subject, signature := false, false
	for _, c := range r.Checked {
		switch {
		case c.Provenance != nil:
			return "" // it got as far as the builder and source checks
		case c.Statement != nil && c.Binding == nil && c.Failure != "":
			subject = true
		case c.Signer == nil && c.Failure != "":
			signature = true
		}
	}
	switch {
	case subject:
		return "the attestation's subject (it must name this model's digest)"
	case signature:
		return "the attestation's signature (it must verify under the policy's signature trust)"
	}
	return ""
}

func orEmpty(l []string) []string {
	if len(l) == 0 {
		return []string{""}
	}
	return l
}
