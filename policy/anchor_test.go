package policy

import (
	"strings"
	"testing"

	"github.com/modelvet/modelvet/verify"
)

// Unlike the CLI's --certificate-identity-regexp (cosign's matching:
// anywhere in the value, hence verify.UnanchoredRegexp's warning there), a
// policy's identity_regexps and issuer_regexps are matched against the
// whole value: IdentityPattern wraps each in ^(?:...)$. A pattern written
// without anchors therefore accepts nothing that merely contains a match,
// and the policy gives no "unanchored" warning, which would be false.
func TestPolicyRegexpsMatchTheWholeValue(t *testing.T) {
	cases := []struct {
		name, identityRe, issuerRe string
		identity, issuer           string
		want                       bool
	}{
		{"unanchored domain pattern does not accept a look-alike domain", `.*@example\.com`, `https://accounts\.google\.com`, "me@example.com.evil.io", "https://accounts.google.com", false},
		{"unanchored organisation name does not accept a containing identity", `example-org`, `https://token\.actions\.githubusercontent\.com`, "https://github.com/attacker/example-org", "https://token.actions.githubusercontent.com", false},
		{"unanchored issuer does not accept a longer issuer", `.*@example\.com`, `https://accounts\.google\.com`, "me@example.com", "https://accounts.google.com.evil.io", false},
		{"top-level alternation stays inside the anchors", `a@example\.com|b@example\.com`, `https://accounts\.google\.com`, "b@example.com.evil.io", "https://accounts.google.com", false},
		{"the whole identity is accepted", `.*@example\.com`, `https://accounts\.google\.com`, "me@example.com", "https://accounts.google.com", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mustParse(t, "signature:\n  required: true\n  trusted_root: root.json\n  identity_regexps: ['"+c.identityRe+"']\n  issuer_regexps: ['"+c.issuerRe+"']\n")
			if verify.UnanchoredRegexp("x", c.identityRe) == "" {
				t.Fatalf("test pattern %q should be one the CLI calls unanchored", c.identityRe)
			}
			if len(p.Warnings) != 0 {
				t.Errorf("warnings %v: the policy anchors its patterns, so none is unanchored", p.Warnings)
			}
			got := mustMatch(t, p.Signature.IdentityPattern(), c.identity) && mustMatch(t, p.Signature.IssuerPattern(), c.issuer)
			if got != c.want {
				t.Errorf("identity %q issuer %q: accepted %v, want %v (patterns %s, %s)", c.identity, c.issuer, got, c.want, p.Signature.IdentityPattern(), p.Signature.IssuerPattern())
			}
		})
	}
}

// TestPolicyWarnsIdentityIssuerCrossProduct: identities and issuers are
// matched independently, so with several of each a listed identity is
// accepted from any listed issuer (a lax issuer could mint another
// issuer's identity). The policy stays valid (fail-open changes would
// break deployments) but says so, naming its line; one issuer, or one
// identity, gives no warning.
func TestPolicyWarnsIdentityIssuerCrossProduct(t *testing.T) {
	cases := []struct {
		name, body string
		warn       bool
	}{
		{"two identities, two issuers", "  identities: [a@example.com, https://github.com/o/r/.github/workflows/w.yml@refs/heads/main]\n  issuers: [https://accounts.google.com, https://token.actions.githubusercontent.com]\n", true},
		{"identity and regexp, issuer and regexp", "  identities: [a@example.com]\n  identity_regexps: ['.*@example\\.org']\n  issuers: [https://accounts.google.com]\n  issuer_regexps: ['https://oidc\\.example\\.org']\n", true},
		{"two identities, one issuer", "  identities: [a@example.com, b@example.com]\n  issuers: [https://accounts.google.com]\n", false},
		{"one identity, two issuers", "  identities: [a@example.com]\n  issuers: [https://accounts.google.com, https://oidc.example.org]\n", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mustParse(t, "signature:\n  required: true\n  trusted_root: root.json\n"+c.body)
			got := strings.Join(p.Warnings, "\n")
			if c.warn != strings.Contains(got, "matched independently") {
				t.Errorf("warnings %q, want a cross-product warning: %v", got, c.warn)
			}
		})
	}
}
