package verify

import (
	"fmt"
	"regexp/syntax"
	"strings"
)

// UnanchoredRegexp says what is wrong with an identity or issuer pattern
// that is not anchored at both ends, or "" when it is. Matching keeps
// cosign's and sigstore-go's semantics (Go's regexp.MatchString, which
// finds the pattern anywhere), so a pattern such as "ibm" or
// "@example.com" also accepts "attacker@ibm.evil.example" or
// "me@example.com.evil.io": a certificate anyone can obtain from a
// public OIDC provider. The CLI prints the returned text as a warning for
// its --certificate-*-regexp flags. Policy files do not call it: they
// match each pattern against the whole value (policy.Signature's
// IdentityPattern wraps it in ^(?:...)$), so there "not anchored" is no
// hole and the warning would be false.
//
// A pattern counts as anchored when its parse begins with ^ or \A and
// ends with $ or \z, at the top level (not inside one branch of an
// alternation: "^a|b$" is unanchored on both sides).
func UnanchoredRegexp(field, pattern string) string {
	if pattern == "" {
		return ""
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "" // refused elsewhere as invalid
	}
	start, end := anchors(re)
	var missing []string
	if !start {
		missing = append(missing, "^ at the start")
	}
	if !end {
		missing = append(missing, "$ at the end")
	}
	if len(missing) == 0 {
		return ""
	}
	return fmt.Sprintf("%s '%s' is not anchored (no %s): like cosign, it matches anywhere in the value, so it also accepts identities that merely contain a match; write ^...$ around it (e.g. '%s')",
		field, pattern, strings.Join(missing, " nor "), suggestAnchored(pattern))
}

func anchors(re *syntax.Regexp) (start, end bool) {
	isStart := func(r *syntax.Regexp) bool { return r.Op == syntax.OpBeginText || r.Op == syntax.OpBeginLine }
	isEnd := func(r *syntax.Regexp) bool { return r.Op == syntax.OpEndText || r.Op == syntax.OpEndLine }
	switch re.Op {
	case syntax.OpConcat:
		if len(re.Sub) == 0 {
			return false, false
		}
		return isStart(re.Sub[0]), isEnd(re.Sub[len(re.Sub)-1])
	case syntax.OpCapture:
		return anchors(re.Sub[0])
	}
	return isStart(re), isEnd(re)
}

func suggestAnchored(p string) string {
	p = strings.TrimSuffix(strings.TrimPrefix(p, "^"), "$")
	if strings.Contains(p, "|") {
		p = "(?:" + p + ")"
	}
	return "^" + p + "$"
}
