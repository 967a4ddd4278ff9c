// Package policy reads the admission policy (one YAML file) and turns a
// scan, a signature check and a provenance check into one verdict with
// reasons, each traced to the policy entry behind it.
//
// The decision (Decide) is a pure function of the policy and the three
// outcomes; the gate (Gate) runs the checks. The signature and provenance
// checks are plain functions given to the gate, so this package knows
// nothing of how signatures are verified.
package policy

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/modelvet/modelvet/formats"
)

// Policy is a parsed, validated policy file. The zero value is not usable;
// use Load, Parse or Default.
type Policy struct {
	// Path is the file the policy was read from ("" for Default).
	Path string
	// Dir is the folder relative paths in the policy (keys, trusted root)
	// are resolved against: the policy's own folder, so a policy and its
	// trust material can be copied together.
	Dir string

	Profile      formats.Profile
	AllowImports []string
	FailOn       formats.Severity
	// Formats are the allowed top-level formats; nil allows any.
	Formats    []string
	Signature  Signature
	Provenance Provenance
	// OCI is what the policy asks of models read from OCI registries
	// (oci:// references); it does not apply to a local folder.
	OCI      OCI
	Ignore   []Pattern
	Suppress []Suppression

	// Warnings are what the policy file says that is valid but probably
	// not meant (a control character from a backslash escape), each with
	// its line; the CLI prints them.
	Warnings []string

	entries map[string]entry
}

// Signature says whether a signature is required and whose is accepted.
// Exactly one trust method may be given: Keys, CAChains, or keyless
// (identities + issuers + TrustedRoot).
type Signature struct {
	Required bool
	// File is the signature's name inside the model folder (model.sig).
	File string

	Identities      []string // keyless: certificate SAN, exact
	IdentityRegexps []string // keyless: certificate SAN, regexp (anchored)
	Issuers         []string // keyless: OIDC issuer, exact
	IssuerRegexps   []string // keyless: OIDC issuer, regexp (anchored)
	TrustedRoot     string   // keyless: trusted_root.json (absolute path after Load)
	Keys            []string // public key files (absolute paths after Load)
	CAChains        []string // CA certificate files (absolute paths after Load)
}

// Trust methods, as Signature.Method names them.
const (
	MethodNone    = ""
	MethodKey     = "key"
	MethodCA      = "certificate"
	MethodKeyless = "keyless"
)

// Method names the one trust method the policy gives, or MethodNone.
// Parse has already refused a policy giving several.
func (s Signature) Method() string {
	switch {
	case len(s.Keys) > 0:
		return MethodKey
	case len(s.CAChains) > 0:
		return MethodCA
	case s.keyless():
		return MethodKeyless
	}
	return MethodNone
}

func (s Signature) keyless() bool {
	return len(s.Identities)+len(s.IdentityRegexps)+len(s.Issuers)+len(s.IssuerRegexps) > 0 || s.TrustedRoot != ""
}

// Checked reports whether the signature is to be checked at all: when it
// is required, or when trust is given (then a signature that is present
// must verify, and an absent one is not a reason by itself).
func (s Signature) Checked() bool { return s.Required || s.Method() != MethodNone }

// IdentityPattern folds the exact identities and the regexps into one
// anchored regular expression ("" when none), so a verifier taking one
// identity matcher accepts any listed identity and nothing else.
func (s Signature) IdentityPattern() string { return anyOf(s.Identities, s.IdentityRegexps) }

// IssuerPattern is IdentityPattern for issuers.
func (s Signature) IssuerPattern() string { return anyOf(s.Issuers, s.IssuerRegexps) }

func anyOf(exact, res []string) string {
	var alts []string
	for _, e := range exact {
		alts = append(alts, regexp.QuoteMeta(e))
	}
	for _, r := range res {
		alts = append(alts, "(?:"+r+")")
	}
	if len(alts) == 0 {
		return ""
	}
	return "^(?:" + strings.Join(alts, "|") + ")$"
}

// OCI is the policy's oci: section: what a model artifact read from an
// OCI registry must show beyond its files. A struct so that further keys
// (promotion) sit beside the signature.
type OCI struct {
	// Signature says whose cosign signatures, attached to the artifact's
	// manifest digest in the registry, are accepted; same keys and the
	// same one-trust-method rule as the top-level signature section
	// (File is unused: the signature is in the registry, not a file),
	// except that identities and issuers may narrow ca_chains.
	Signature Signature
	// Promote is where serve copies admitted artifacts (promote.go).
	Promote Promote
}

// Provenance says what the model's build provenance must show.
type Provenance struct {
	Required bool
	// Attestation is the attestation file's name inside the model folder.
	Attestation string
	BuilderIDs  []string // accepted SLSA builder IDs (exact)
	SourceURIs  []string // accepted source repositories (exact)
}

// Checked reports whether provenance is checked at all.
func (p Provenance) Checked() bool {
	return p.Required || len(p.BuilderIDs)+len(p.SourceURIs) > 0
}

// Suppression silences one rule, optionally only under some paths.
type Suppression struct {
	Rule   string  // a rule name, or a family "pickle/*"
	Paths  Pattern // where (relative to the model folder); zero = anywhere
	Reason string  // why, for the report
	Line   int
	ref    string
}

// Matches reports whether the suppression covers rule at rel.
func (s Suppression) Matches(rule, rel string) bool {
	if ok, _ := filepath.Match(s.Rule, rule); !ok && s.Rule != rule {
		return false
	}
	return s.Paths.raw == "" || s.Paths.Match(rel)
}

// entry is where a policy setting came from, for reasons.
type entry struct {
	text string // "fail_on: high"
	line int    // 0 when it is a default
}

// Ref renders the policy entry behind a setting for a reason:
// "fail_on: high (policy.yaml:3)", or "... (default)" when the file did not
// set it.
func (p *Policy) Ref(key string) string {
	e, ok := p.entries[key]
	if !ok {
		return key + " (default)"
	}
	if e.line == 0 || p.Path == "" {
		return e.text + " (default)"
	}
	return fmt.Sprintf("%s (%s:%d)", e.text, filepath.Base(p.Path), e.line)
}

// Line returns the line a setting was given on, 0 when it was not.
func (p *Policy) Line(key string) int { return p.entries[key].line }

// ScanOptions returns the scan options the policy asks for.
func (p *Policy) ScanOptions() formats.Options {
	o := formats.DefaultOptions()
	o.Profile = p.Profile
	o.Allow = append([]string(nil), p.AllowImports...)
	return o
}

// Default is the policy used when none is given: the strict profile,
// fail on high, any format, no signature or provenance requirement.
func Default() *Policy {
	p := &Policy{Profile: formats.Strict, FailOn: formats.High, entries: map[string]entry{}}
	p.Signature.File = "model.sig"
	p.Provenance.Attestation = "model.intoto.jsonl"
	p.entries["fail_on"] = entry{text: "fail_on: high"}
	p.entries["scan.profile"] = entry{text: "scan.profile: strict"}
	return p
}
