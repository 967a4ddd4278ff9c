package verify

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// Options configure Verify. Trust is required; the rest has defaults.
type Options struct {
	// SignaturePath is the bundle; default model.sig inside the model
	// folder (or beside a single-file model).
	SignaturePath string
	Trust         TrustOptions
	// IgnorePaths are left out of the comparison in addition to the
	// defaults, the signature file and the signature's own ignore_paths.
	IgnorePaths []string
	// IgnoreUnsignedFiles lets files the signature does not list pass
	// (only signed files are hashed and compared).
	IgnoreUnsignedFiles bool
	// AllowSymlinks follows links inside the model (the signature's
	// allow_symlinks also allows them: the signer hashed link targets).
	AllowSymlinks bool
	Workers       int
	Progress      io.Writer
	// SignatureData, when not nil, is the signature's content, already
	// read (by the gate's one pass); SignaturePath then only names it.
	SignatureData []byte
	// Digests, when set, supplies the model's file digests instead of
	// hashing the files again (see HashOptions.Digests).
	Digests Digests
}

// Problem is one reason a model is not verified, in plain words.
type Problem struct {
	Kind     string `json:"kind"` // "signature", "statement", "hashing", "missing", "changed", "unsigned", "unsigned-model", "omitted"
	Resource string `json:"resource,omitempty"`
	Expected string `json:"expected,omitempty"` // signed digest
	Actual   string `json:"actual,omitempty"`   // digest now
	Message  string `json:"message"`
}

// Result is the outcome of Verify. Verified is true only when every check
// passed; otherwise Problems say why.
type Result struct {
	Verified  bool      `json:"verified"`
	Model     string    `json:"model"`
	Signature string    `json:"signature"`
	Signer    *Signer   `json:"signer,omitempty"`
	Signed    *Signed   `json:"signed,omitempty"`
	Manifest  *Manifest `json:"-"`
	Resources int       `json:"resources"` // resources compared
	Bytes     int64     `json:"bytes"`     // bytes hashed
	Problems  []Problem `json:"problems,omitempty"`
	// OmittedProblems counts the problems beyond MaxProblems that are not
	// listed (the last Problem, of kind "omitted", says so too).
	OmittedProblems int    `json:"omitted_problems,omitempty"`
	FormatNote      string `json:"format_note,omitempty"`
	// NotCovered are files (or whole folders) present in the model that
	// the signature's own ignore_paths left out. The reference tool
	// honours those paths too, so they do not fail verification, but
	// nothing vouches for them: a weights file dropped under a path the
	// signer ignored must be visible, never silently accepted.
	NotCovered []string `json:"not_covered,omitempty"`
}

// UsageError is an error in what the caller asked (missing trust files,
// unreadable signature), as opposed to a model that does not verify.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// TrustError says the trust material (a public key, CA certificates, a
// trusted_root.json) cannot be used: missing, unreadable or malformed.
// It is the operator's problem, never the model's: callers map it to exit
// 2 / HTTP 500, not to "the signature did not verify".
type TrustError struct{ Err error }

func (e *TrustError) Error() string { return "trust material: " + e.Err.Error() }
func (e *TrustError) Unwrap() error { return e.Err }

// CheckMaterial loads the trust material t names and returns a
// *TrustError when any of it cannot be used. Verify calls it before
// reading a signature, so a broken key is never reported as a bad model.
func (t TrustOptions) CheckMaterial() error {
	method, err := t.Method()
	if err != nil {
		return &TrustError{err}
	}
	switch method {
	case MethodKey:
		_, err = loadPublicKey(t.KeyPath)
	case MethodCertificate:
		_, _, _, err = loadCAs(t.CAChainPaths)
	case MethodKeyless:
		var data []byte
		if data, err = readSmall(t.TrustedRootPath, "trusted root"); err == nil {
			if _, perr := root.NewTrustedRootFromJSON(data); perr != nil {
				err = fmt.Errorf("trusted root %s: %v", t.TrustedRootPath, perr)
			}
		}
	}
	if err != nil {
		return &TrustError{err}
	}
	return nil
}

// DefaultSignaturePath is where Verify and Sign look by default.
func DefaultSignaturePath(model string) string {
	if st, err := os.Stat(model); err == nil && !st.IsDir() {
		return filepath.Join(filepath.Dir(model), DefaultSignatureName)
	}
	return filepath.Join(model, DefaultSignatureName)
}

// Verify checks that the model at path (a folder or one file) is exactly
// what a trusted signer signed. The returned error is a *UsageError for
// problems with the request itself; a model that fails verification
// returns a Result with Verified false and the reasons.
func Verify(model string, o Options) (*Result, error) {
	defaulted := o.SignaturePath == ""
	if defaulted {
		o.SignaturePath = DefaultSignaturePath(model)
	}
	r := &Result{Model: model, Signature: o.SignaturePath}
	if _, err := o.Trust.Method(); err != nil {
		return nil, &UsageError{err}
	}
	if err := o.Trust.CheckMaterial(); err != nil {
		return nil, &UsageError{err}
	}
	if _, err := os.Stat(model); err != nil {
		return nil, &UsageError{fmt.Errorf("model: %v", err)}
	}
	data := o.SignatureData
	if data == nil {
		st, err := os.Stat(o.SignaturePath)
		if err != nil {
			if defaulted && errors.Is(err, fs.ErrNotExist) {
				// No signature where one belongs: the model is not signed,
				// which is a verdict (exit 1), not a mistake in the request.
				r.fail("unsigned-model", "", fmt.Sprintf("%s is not signed: no %s (use --signature FILE if its signature is stored elsewhere)", model, DefaultSignatureName))
				return r, nil
			}
			return nil, &UsageError{fmt.Errorf("signature: %v", err)}
		}
		if !st.Mode().IsRegular() {
			return nil, &UsageError{fmt.Errorf("signature %s is not a regular file", o.SignaturePath)}
		}
		if st.Size() > maxBundleSize {
			r.fail("signature", "", fmt.Sprintf("signature file is %d bytes, more than the %d allowed", st.Size(), maxBundleSize))
			return r, nil
		}
		if data, err = os.ReadFile(o.SignaturePath); err != nil {
			return nil, &UsageError{fmt.Errorf("signature: %v", err)}
		}
	}
	env, err := VerifyBundle(data, o.Trust)
	if err != nil {
		r.fail("signature", "", err.Error())
		return r, nil
	}
	r.Signer = &env.Signer
	signed, err := ParseStatement(env.PayloadType, env.Payload)
	if err != nil {
		r.fail("statement", "", err.Error())
		return r, nil
	}
	r.Signed = signed
	if signed.PredicateType == PredicateTypeV0_2 {
		r.FormatNote = "signature written by model_signing v0.2.0 (per-file subjects, no root digest)"
	}

	ho := HashOptions{
		Method:        signed.Method,
		HashType:      signed.HashType,
		ShardSize:     signed.ShardSize,
		AllowSymlinks: o.AllowSymlinks || signed.AllowSymlinks,
		Workers:       o.Workers,
		Progress:      o.Progress,
		Digests:       o.Digests,
	}
	// own are the ignores that do not come from the signature: the
	// caller's and the signature file itself.
	own := append([]string{}, o.IgnorePaths...)
	if rel, ok := relInside(model, o.SignaturePath); ok {
		own = append(own, rel)
	}
	signerIgnores, dropped := applicableSignerIgnores(signed.IgnorePaths)
	ho.IgnorePaths = append(append([]string{}, own...), signerIgnores...)
	// The git paths are left out by default, as the reference tool does,
	// except one the signature lists a resource under: its signer hashed
	// it (model_signing --no-ignore-git-paths, e.g. a Hugging Face
	// repository's .gitattributes), and leaving it out would report a
	// signed file as missing. Checking it is more checking, never less.
	ho.NoDefaultIgnores = true
	for _, g := range DefaultIgnores {
		if !signsUnder(signed, g) {
			ho.IgnorePaths = append(ho.IgnorePaths, g)
		}
	}
	if o.Digests != nil {
		// The one pass (modelvet check) read the files; what it did not
		// read or hash cannot be checked here without a second read.
		if msg := onePassGap(signed, model); msg != "" {
			r.fail("hashing", "", msg)
			return r, nil
		}
	}
	if o.IgnoreUnsignedFiles {
		ho.Only = map[string]bool{}
		for _, res := range signed.Resources {
			ho.Only[resourcePath(res.Name, signed.Method)] = true
		}
	}
	m, err := HashModel(model, ho)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			// A file the verifier may not read is the caller's problem
			// (exit 2, as for any unreadable path), not a bad model.
			return nil, &UsageError{fmt.Errorf("model: %w", err)}
		}
		r.fail("hashing", "", err.Error())
		return r, nil
	}
	nameSingleFile(m, signed, model)
	r.Manifest = m
	r.Bytes = m.Bytes
	r.NotCovered = hiddenBySigner(m.Skipped, signerIgnores, own)
	compare(r, signed, m, o.IgnoreUnsignedFiles)
	if len(dropped) > 0 && len(r.Problems) > 0 {
		// Say why a file the signer meant to leave out is not left out.
		r.fail("statement", "", fmt.Sprintf("the signature's ignore_paths %s are not relative POSIX paths inside the model, so they are not applied (as the reference tool on POSIX does not apply them); files under them must be signed", ListSome(quoteAll(dropped), 5)))
	}
	r.Verified = len(r.Problems) == 0
	r.capProblems()
	return r, nil
}

// signsUnder reports whether the signature lists a resource at or under
// the model-relative path p.
func signsUnder(s *Signed, p string) bool {
	for _, r := range s.Resources {
		f := resourcePath(r.Name, s.Method)
		if f == p || strings.HasPrefix(f, p+"/") {
			return true
		}
	}
	return false
}

// nameSingleFile renames the resource of a one-file model from "." (how
// model_signing names it) to the file's name when the signature uses
// that name, as OMS v1.0 (6.1.2) requires of signers ("the resource name
// MUST be the filename"). Either naming of that one file is accepted;
// nothing else is renamed, and the digest comparison is unchanged.
func nameSingleFile(m *Manifest, s *Signed, model string) {
	if len(m.Resources) == 0 || resourcePath(m.Resources[0].Name, m.Method) != "." {
		return
	}
	base := filepath.Base(model)
	if base == "." || base == ".." || base == string(filepath.Separator) || !signsUnder(s, base) || signsUnder(s, ".") {
		return
	}
	for i := range m.Resources {
		m.Resources[i].Name = base + strings.TrimPrefix(m.Resources[i].Name, ".")
	}
}

// applicableSignerIgnores splits a signature's ignore_paths into those
// that name a path inside the model and those that are left unapplied:
// absolute paths, drive letters and backslashes. The reference tool joins
// each to the model folder and drops the ones that are not under it
// (pathlib: model / "/w.bin" is "/w.bin"), and on POSIX a backslash is a
// plain character, so "sub\w.bin" names no file of the model. Applying
// them after cleaning ("/w.bin" to "w.bin") would hide, with a passing
// verdict, a file the reference tool reports as not signed.
func applicableSignerIgnores(paths []string) (apply, dropped []string) {
	for _, p := range paths {
		if p == "" || strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00") || (len(p) >= 2 && p[1] == ':') {
			dropped = append(dropped, p)
			continue
		}
		apply = append(apply, p)
	}
	return apply, dropped
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// hiddenBySigner returns the skipped entries that only the signature's
// ignore_paths left out (not the default git ignores, not the caller's
// --ignore-paths, not the signature file).
func hiddenBySigner(skipped, signerIgnores, own []string) []string {
	if len(signerIgnores) == 0 {
		return nil
	}
	bySigner := normalizeIgnores(HashOptions{IgnorePaths: signerIgnores, NoDefaultIgnores: true})
	byOthers := normalizeIgnores(HashOptions{IgnorePaths: own})
	var out []string
	for _, rel := range skipped {
		if ignored(rel, bySigner) && !ignored(rel, byOthers) {
			out = append(out, rel)
		}
	}
	return out
}

// ListSome joins up to n names, saying how many more there are.
func ListSome(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

// MaxProblems caps the problems a Result lists. A hostile signature can
// list hundreds of thousands of files that are not there; every report
// (text, JSON, check reasons) shows the first ones and the count, not
// megabytes of lines.
const MaxProblems = 100

// capProblems keeps the first MaxProblems problems and replaces the rest
// by one of kind "omitted" that counts them.
func (r *Result) capProblems() {
	if len(r.Problems) <= MaxProblems {
		return
	}
	n := len(r.Problems) - MaxProblems
	r.OmittedProblems = n
	r.Problems = append(r.Problems[:MaxProblems:MaxProblems], Problem{Kind: "omitted",
		Message: fmt.Sprintf("... and %d more problems not listed (%d in all)", n, n+MaxProblems)})
}

func (r *Result) fail(kind, res, msg string) {
	r.Problems = append(r.Problems, Problem{Kind: kind, Resource: res, Message: msg})
}

// onePassGap says why the gate's one pass cannot check this signature:
// its scan skips git's object store (.git), which a signature made with
// model_signing --no-ignore-git-paths covers. Checking it through a second
// read would verify bytes other than those scanned, so check refuses and
// names the command that can verify them. "" when the pass covers the
// signature. (The pass hashes with the signature's own hash type, learnt
// by PeekHashing before the scan; a pass that hashed with another gives
// no digests, and the check fails.)
func onePassGap(s *Signed, model string) string {
	if f := signedInGitDir(s); f != "" {
		return fmt.Sprintf("this signature covers %s, inside a .git folder (model_signing --no-ignore-git-paths signs the top one; a nested one is signed by default), which check does not read (its scan skips git's object store at any depth); verify this one with: modelvet verify %s", f, model)
	}
	return ""
}

// signedInGitDir returns the first signed file inside a folder named
// .git at any depth, as the scan's walk (formats/walk.go) skips them all.
func signedInGitDir(s *Signed) string {
	for _, r := range s.Resources {
		f := resourcePath(r.Name, s.Method)
		if strings.HasPrefix(f, ".git/") || strings.Contains(f, "/.git/") {
			return f
		}
	}
	return ""
}

// compare checks the computed manifest against the signed one, resource
// by resource. A model whose files all match still fails when the signed
// root digest differs (checked in ParseStatement for v1.0).
func compare(r *Result, s *Signed, m *Manifest, ignoreUnsigned bool) {
	want := make(map[string]string, len(s.Resources))
	for _, x := range s.Resources {
		want[x.Name] = x.Digest
	}
	got := make(map[string]string, len(m.Resources))
	for _, x := range m.Resources {
		got[x.Name] = x.Digest
	}
	r.Resources = len(s.Resources)
	// A v0.2 single-file signature has no "." form; nothing else to map.
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		g, ok := got[n]
		switch {
		case !ok:
			r.Problems = append(r.Problems, Problem{Kind: "missing", Resource: n, Expected: want[n],
				Message: fmt.Sprintf("%s is signed (%s %s) but not found in the model", n, s.HashType, want[n])})
		case g != want[n]:
			r.Problems = append(r.Problems, Problem{Kind: "changed", Resource: n, Expected: want[n], Actual: g,
				Message: fmt.Sprintf("%s changed: signed %s %s, now %s", n, s.HashType, want[n], g)})
		}
	}
	// --ignore-unsigned-files lets unsigned FILES pass, never unsigned
	// parts of a signed file: a shard beyond the signed ones means bytes
	// were appended to a signed file (a zip checkpoint is read from its
	// end, so appended bytes can replace what loads). The reference tool
	// fails such a model too: it compares whole manifests.
	signedFiles := make(map[string]bool, len(want))
	for n := range want {
		signedFiles[resourcePath(n, s.Method)] = true
	}
	var extra []string
	for n := range got {
		if _, ok := want[n]; ok {
			continue
		}
		if ignoreUnsigned && !signedFiles[resourcePath(n, s.Method)] {
			continue
		}
		extra = append(extra, n)
	}
	sort.Strings(extra)
	for _, n := range extra {
		msg := fmt.Sprintf("%s is in the model but not covered by the signature (remove it, pass --ignore-paths, or --ignore-unsigned-files)", n)
		if f := resourcePath(n, s.Method); f != n && signedFiles[f] {
			msg = fmt.Sprintf("%s is a shard of the signed file %s that the signature does not cover: the file grew since it was signed (%s of the extra shard %s)", n, f, s.HashType, got[n])
		}
		r.Problems = append(r.Problems, Problem{Kind: "unsigned", Resource: n, Actual: got[n], Message: msg})
	}
}

// resourcePath is the file a resource names (shards carry offsets).
func resourcePath(name, method string) string {
	if method == MethodShards {
		if p, _, _, ok := splitShard(name); ok {
			return p
		}
	}
	return name
}

// relInside returns p relative to the model folder, POSIX, when p is
// inside it.
func relInside(model, p string) (string, bool) {
	am, err1 := filepath.Abs(model)
	ap, err2 := filepath.Abs(p)
	if err1 != nil || err2 != nil {
		return "", false
	}
	if st, err := os.Stat(am); err != nil || !st.IsDir() {
		return "", false
	}
	rel, err := filepath.Rel(am, ap)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// PeekHashing reads, without verifying anything, how a signature says
// the model was hashed: its hash type and shard size (0 for the files
// method); sha256 and 0 for an unreadable signature. The gate's one pass
// must know which digests to compute before it reads the model; nothing
// read here is trusted, and a wrong answer only makes verification fail
// (the pass then has no digests of the type the signature names).
func PeekHashing(bundle []byte) (hashType string, shardSize int64) {
	b, err := parseBundle(bundle)
	if err != nil || b.DsseEnvelope == nil {
		return HashSHA256, 0
	}
	s, err := ParseStatement(b.DsseEnvelope.PayloadType, b.DsseEnvelope.Payload)
	if err != nil {
		return HashSHA256, 0
	}
	if s.Method != MethodShards {
		return s.HashType, 0
	}
	if s.ShardSize == 0 {
		return s.HashType, DefaultShardSize
	}
	return s.HashType, s.ShardSize
}
