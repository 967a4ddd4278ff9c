package attest

import (
	"fmt"
	"sort"
	"strings"
)

// Model is what a statement must be about: the model folder's root digest
// (the OpenSSF model-signing digest over all its files, from package
// verify) and each file's SHA-256.
type Model struct {
	Root  Digest
	Files map[string]Digest // slash path relative to the folder -> sha256
}

// ErrNotAboutModel is returned (wrapped) when a statement's subjects do
// not match the model: it may be a genuine attestation, of something else.
type ErrNotAboutModel struct{ Msg string }

func (e *ErrNotAboutModel) Error() string { return e.Msg }

// Binding says how a statement was tied to the model.
type Binding struct {
	ByRoot  bool     // a subject carries the folder's root digest
	Files   []string // else: the model files matched by name and sha256
	Subject string   // the matching subject's name (root binding)
	Digest  *Digest  // set for BindDigest: the digest the user asked for
}

func (b Binding) String() string {
	if b.Digest != nil {
		return fmt.Sprintf("subject %q has the required digest %s", b.Subject, *b.Digest)
	}
	if b.ByRoot {
		if b.Subject != "" {
			return fmt.Sprintf("its subject %q carries the model folder's digest", b.Subject)
		}
		return "its subject carries the model folder's digest"
	}
	return fmt.Sprintf("its subjects name all %d files of the model with their sha256", len(b.Files))
}

// Bind checks that st is about the model m. A subject carrying the root
// digest binds it. Otherwise the subjects must cover EVERY file of the
// model by name and sha256: an attestation about config.json alone says
// nothing of the weights beside it, and accepting partial coverage would
// let a provenance for one harmless file vouch for a swapped weights file.
// A subject that names a model file with a different digest is a
// mismatch, reported as such.
func Bind(st *Statement, m Model) (Binding, error) {
	if !m.Root.IsZero() {
		for _, s := range st.Subjects {
			if digestSetHas(s.Digest, m.Root) {
				return Binding{ByRoot: true, Subject: s.Name}, nil
			}
		}
	}
	covered := map[string]bool{}
	var mismatch []string
	for _, s := range st.Subjects {
		name := cleanSubjectName(s.Name)
		if name == "" {
			continue
		}
		want, ok := m.Files[name]
		if !ok {
			continue
		}
		if digestSetHas(s.Digest, want) {
			covered[name] = true
			continue
		}
		got := s.Digest[want.Alg]
		if got == "" {
			mismatch = append(mismatch, fmt.Sprintf("subject %q has no %s digest (it has %s)", s.Name, want.Alg, formatDigestSet(s.Digest)))
		} else {
			mismatch = append(mismatch, fmt.Sprintf("subject %q is %s:%s, the file is %s", s.Name, want.Alg, got, want))
		}
	}
	if len(mismatch) > 0 {
		return Binding{}, &ErrNotAboutModel{Msg: "the attestation is about other content than the model's files: " + joinSome(mismatch, "; ", maxListed)}
	}
	if len(covered) > 0 && len(covered) == len(m.Files) {
		files := make([]string, 0, len(covered))
		for f := range covered {
			files = append(files, f)
		}
		sort.Strings(files)
		return Binding{Files: files}, nil
	}
	if len(covered) > 0 {
		var missing []string
		for f := range m.Files {
			if !covered[f] {
				missing = append(missing, f)
			}
		}
		sort.Strings(missing)
		if len(missing) > 5 {
			missing = append(missing[:5], fmt.Sprintf("and %d more", len(missing)-5))
		}
		return Binding{}, &ErrNotAboutModel{Msg: fmt.Sprintf("the attestation covers %d of the model's %d files; not covered: %s (an attestation must cover the whole model, or carry its root digest %s)",
			len(covered), len(m.Files), strings.Join(missing, ", "), m.Root)}
	}
	return Binding{}, &ErrNotAboutModel{Msg: fmt.Sprintf("the attestation is about %s; the model folder's digest is %s", st.SubjectNames(), rootOrFiles(m))}
}

// BindDigest checks that some subject of st carries d (the
// --subject-digest of "attestation verify").
func BindDigest(st *Statement, d Digest) (Binding, error) {
	for _, s := range st.Subjects {
		if digestSetHas(s.Digest, d) {
			return Binding{ByRoot: true, Subject: s.Name, Digest: &d}, nil
		}
	}
	return Binding{}, &ErrNotAboutModel{Msg: fmt.Sprintf("the attestation is about %s, not %s", st.SubjectNames(), d)}
}

func rootOrFiles(m Model) string {
	if !m.Root.IsZero() {
		return m.Root.String()
	}
	return fmt.Sprintf("(no root digest; %d files)", len(m.Files))
}
