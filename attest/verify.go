package attest

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/modelvet/modelvet/report"
	"github.com/modelvet/modelvet/verify"
)

// MaxSignatures caps the signatures of one DSSE envelope tried.
const MaxSignatures = 64

// Options say what an attestation must satisfy.
type Options struct {
	// Trust says whose signatures count (key, CA chain, or keyless with a
	// trusted root on disk); it is package verify's, used as is.
	Trust verify.TrustOptions
	// Require is what the SLSA provenance must claim; when not empty, at
	// least one verified statement must be SLSA provenance.
	Require Requirements
	// SubjectDigest, when set, must be the digest of a subject of every
	// statement (attestation verify --subject-digest).
	SubjectDigest Digest
	// Model, when set, every statement must be about (VerifyForModel).
	Model *Model
}

// Checked is one attestation of the file and what was established.
type Checked struct {
	Item       Item
	OK         bool
	Failure    string // why not, when !OK
	Signer     *verify.Signer
	SigsOK     int // signatures that verified (DSSE with several)
	SigsTotal  int
	Statement  *Statement
	Binding    *Binding
	Provenance *Provenance
}

// Result is the outcome for a whole attestation file.
type Result struct {
	OK       bool
	Checked  []*Checked
	Failures []string // each reason for refusal, in plain words
	Lines    []string // what was verified and what it claims
}

// Section renders the result as a report section named "provenance".
func (r *Result) Section() report.Section {
	lines := append([]string{}, r.Lines...)
	for _, f := range r.Failures {
		lines = append(lines, "REFUSED: "+f)
	}
	return report.Section{Name: "provenance", OK: r.OK, Lines: lines}
}

// Reasons returns one report reason per refusal, for a report that
// combines the provenance with other checks (modelvet verify, check).
func (r *Result) Reasons() []report.Reason {
	var out []report.Reason
	for _, f := range r.Failures {
		out = append(out, report.Reason{Rule: "provenance/attestation", Policy: "attestations must verify and be about this model", Detail: f})
	}
	return out
}

// VerifyFile reads an attestation file and verifies every attestation in
// it. The error is a *ReadError for a file that cannot be read (a usage
// problem); a file that is read but malformed, oversized or hostile is a
// refusal in the Result, as a verification failure is.
func VerifyFile(path string, o Options) (*Result, error) {
	items, err := ReadFile(path)
	if err != nil {
		return unreadable(err)
	}
	return VerifyItems(items, o), nil
}

// unreadable turns a ReadFile error into a refusal, unless the file could
// not be read at all.
func unreadable(err error) (*Result, error) {
	var re *ReadError
	if errors.As(err, &re) {
		return nil, err
	}
	return &Result{Failures: []string{err.Error()}}, nil
}

// VerifyItems verifies attestations. Policy, fail closed:
//   - every attestation in the file must verify (signature, statement,
//     binding, requirements); one bad line refuses the file, since a
//     reader that skips it and one that does not would decide differently;
//   - a DSSE envelope with several signatures passes when at least one
//     is from the trusted signer (the count is reported);
//   - when requirements are given, at least one statement must be SLSA
//     provenance, and every provenance statement must meet them.
func VerifyItems(items []Item, o Options) *Result {
	r := &Result{OK: true}
	sawProvenance := false
	for _, it := range items {
		c := checkItem(it, o)
		r.Checked = append(r.Checked, c)
		if c.Provenance != nil {
			sawProvenance = true
		}
		r.Lines = append(r.Lines, c.lines()...)
		if !c.OK {
			r.OK = false
			r.Failures = append(r.Failures, it.Name()+": "+c.Failure)
		}
	}
	if !o.Require.Empty() && !sawProvenance && r.OK {
		r.OK = false
		r.Failures = append(r.Failures, "no SLSA provenance (v0.2 or v1) statement in the file, so the required builder/source cannot be checked")
	}
	if len(items) == 0 {
		r.OK = false
		r.Failures = append(r.Failures, "no attestation")
	}
	return r
}

func checkItem(it Item, o Options) *Checked {
	c := &Checked{Item: it}
	env, ok, total, err := verifySignatures(it, o.Trust)
	c.SigsOK, c.SigsTotal = ok, total
	if err != nil {
		c.Failure = "signature: " + err.Error()
		return c
	}
	c.Signer = &env.Signer
	st, err := ParseStatement(env.PayloadType, env.Payload)
	if err != nil {
		c.Failure = err.Error()
		return c
	}
	c.Statement = st
	switch {
	case o.Model != nil:
		b, err := Bind(st, *o.Model)
		if err != nil {
			c.Failure = err.Error()
			return c
		}
		c.Binding = &b
	case !o.SubjectDigest.IsZero():
		b, err := BindDigest(st, o.SubjectDigest)
		if err != nil {
			c.Failure = err.Error()
			return c
		}
		c.Binding = &b
	}
	if IsProvenance(st.PredicateType) {
		p, err := ParseProvenance(st)
		if err != nil {
			c.Failure = err.Error()
			return c
		}
		c.Provenance = p
		if fails := p.Check(o.Require); len(fails) > 0 {
			c.Failure = "provenance: " + strings.Join(fails, "; ")
			return c
		}
	}
	c.OK = true
	return c
}

// verifySignatures checks an item with package verify. A bare envelope
// with several signatures is split into one envelope per signature so
// that each is checked and counted (verify.VerifyDSSE stops at the first
// good one); it passes when at least one verifies.
func verifySignatures(it Item, t verify.TrustOptions) (*verify.Envelope, int, int, error) {
	if it.Kind == KindBundle {
		env, err := verify.VerifyBundle(it.Raw, t)
		if err != nil {
			return nil, 0, 1, err
		}
		return env, 1, 1, nil
	}
	raw := it.Raw
	if it.Kind == KindCosignLegacy {
		// The envelope is verified as a bare one, with a key: the
		// certificate and Rekor entry beside it are not checked offline.
		if m, _ := t.Method(); m != verify.MethodKey {
			return nil, 0, 0, errors.New("a cosign legacy bundle (base64Signature) is verified with --key only; for certificates or keyless, re-create it with \"cosign attest-blob --new-bundle-format\"")
		}
		raw = it.Envelope
	}
	var env struct {
		PayloadType string            `json:"payloadType"`
		Payload     string            `json:"payload"`
		Signatures  []json.RawMessage `json:"signatures"`
	}
	if err := decodeStrict(raw, &env); err != nil {
		return nil, 0, 0, fmt.Errorf("DSSE envelope: %v", err)
	}
	n := len(env.Signatures)
	if n == 0 {
		return nil, 0, 0, errors.New("the DSSE envelope has no signatures")
	}
	if n > MaxSignatures {
		return nil, 0, n, fmt.Errorf("the DSSE envelope has %d signatures, more than the %d checked", n, MaxSignatures)
	}
	var first *verify.Envelope
	var firstErr error
	good := 0
	for _, sig := range env.Signatures {
		one, _ := json.Marshal(map[string]any{"payloadType": env.PayloadType, "payload": env.Payload, "signatures": []json.RawMessage{sig}})
		v, err := verify.VerifyDSSE(one, t)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		good++
		if first == nil {
			first = v
		}
	}
	if first == nil {
		if n > 1 {
			return nil, 0, n, fmt.Errorf("none of the envelope's %d signatures is from the trusted signer: %v", n, firstErr)
		}
		return nil, 0, n, firstErr
	}
	return first, good, n, nil
}

// lines says in plain words what an attestation established.
func (c *Checked) lines() []string {
	var out []string
	head := c.Item.Name()
	if c.Signer != nil {
		s := head + ": signature verified, " + describeSigner(c.Signer)
		if c.SigsTotal > 1 {
			s += fmt.Sprintf(" (%d of %d signatures verified)", c.SigsOK, c.SigsTotal)
		}
		out = append(out, s)
		if c.Item.Kind == KindCosignLegacy {
			out = append(out, "  cosign legacy bundle: its DSSE envelope verified with the key; its certificate and Rekor entry were not checked")
		}
		for _, n := range c.Signer.Notes {
			out = append(out, "  "+n)
		}
	}
	if st := c.Statement; st != nil {
		out = append(out, fmt.Sprintf("  in-toto Statement %s, predicate %s, about %s", st.Version(), st.PredicateType, st.SubjectNames()))
	}
	if c.Binding != nil {
		if c.Binding.Digest != nil {
			out = append(out, "  bound: "+c.Binding.String())
		} else {
			out = append(out, "  bound to the model: "+c.Binding.String())
		}
	} else if c.Statement != nil && c.OK {
		out = append(out, "  not bound to any artifact (pass --subject-digest, or verify it against the model folder)")
	}
	if c.Provenance != nil {
		for _, l := range c.Provenance.Claims() {
			out = append(out, "  "+l)
		}
	}
	return out
}

func describeSigner(s *verify.Signer) string {
	switch s.Method {
	case verify.MethodKeyless:
		return fmt.Sprintf("keyless: identity %s, issuer %s", s.Identity, s.Issuer)
	case verify.MethodCertificate:
		return fmt.Sprintf("certificate %s issued by %s", s.Identity, s.Issuer)
	}
	return "public key " + s.KeyID
}

// ModelFromManifest makes the binding target from a manifest computed by
// package verify: its root digest and, for the files method, each file's
// SHA-256.
func ModelFromManifest(m *verify.Manifest) Model {
	md := Model{Root: Digest{Alg: "sha256", Hex: m.RootDigest()}, Files: map[string]Digest{}}
	if m.Method == verify.MethodFiles {
		for _, r := range m.Resources {
			md.Files[r.Name] = Digest{Alg: "sha256", Hex: strings.ToLower(r.Digest)}
		}
	}
	return md
}

// ModelOptions say how to verify attestations against a model folder.
type ModelOptions struct {
	Trust   verify.TrustOptions
	Require Requirements
	// Hash says how the model is hashed (ignore paths, symlinks); the
	// attestation file and SignaturePath are added to its ignores when
	// they lie inside the model, as "modelvet attest" does when creating.
	Hash          verify.HashOptions
	SignaturePath string
	// Manifest, when not nil, is used instead of hashing again. It must
	// have been computed with the ignores above.
	Manifest *verify.Manifest
}

// VerifyForModel verifies the attestations in attestationPath and that
// each is about the model at modelPath (its OMS root digest, or all its
// files by name and sha256), and meets o.Require. The error is for
// unreadable input (exit 2); a refusal, including a malformed or hostile
// attestation file, is a Result with OK false.
func VerifyForModel(modelPath, attestationPath string, o ModelOptions) (*Result, error) {
	items, err := ReadFile(attestationPath)
	if err != nil {
		return unreadable(err)
	}
	m := o.Manifest
	if m == nil {
		h := o.Hash
		h.IgnorePaths = append(append([]string{}, h.IgnorePaths...), IgnoresInside(modelPath, attestationPath, o.SignaturePath)...)
		if m, err = verify.HashModel(modelPath, h); err != nil {
			return nil, fmt.Errorf("hashing model %s: %w", modelPath, err)
		}
	}
	model := ModelFromManifest(m)
	r := VerifyItems(items, Options{Trust: o.Trust, Require: o.Require, Model: &model})
	r.Lines = append([]string{fmt.Sprintf("model folder digest %s (%d files)", model.Root, len(m.Resources))}, r.Lines...)
	return r, nil
}

// IgnoresInside returns, relative to the model folder, those of paths
// that lie inside it: a signature or attestation stored beside the
// weights is not part of what it signs.
func IgnoresInside(modelPath string, paths ...string) []string {
	root, err := filepath.Abs(modelPath)
	if err != nil {
		return nil
	}
	var out []string
	for _, p := range paths {
		if p == "" {
			continue
		}
		ap, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		rel, err := filepath.Rel(root, ap)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
			continue
		}
		out = append(out, filepath.ToSlash(rel))
	}
	return out
}
