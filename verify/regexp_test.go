package verify

import (
	"regexp"
	"strings"
	"testing"
)

func TestUnanchoredRegexp(t *testing.T) {
	cases := []struct {
		pattern   string
		warn      bool
		bypass    string // a value the pattern accepts although it is not the intended identity
		intended  string
		suggested string
	}{
		{".*", true, "anyone@evil.example", "", `^.*$`},
		{"ibm", true, "attacker@ibm.evil.example", "stefanb@us.ibm.com", `^ibm$`},
		{"@example\\.com", true, "me@example.com.evil.io", "me@example.com", `^@example\.com$`},
		{"^me@example\\.com", true, "me@example.com.evil.io", "me@example.com", `^me@example\.com$`},
		{"me@example\\.com$", true, "evilme@example.com", "me@example.com", `^me@example\.com$`},
		{"^a@x\\.io|b@x\\.io$", true, "a@x.io.evil", "a@x.io", `^(?:a@x\.io|b@x\.io)$`},
		{"^[a-z]+@example\\.com$", false, "", "me@example.com", ""},
		{"\\A(a|b)@x\\.io\\z", false, "", "a@x.io", ""},
		{"^(?:a|b)@x\\.io$", false, "", "a@x.io", ""},
	}
	for _, c := range cases {
		t.Run(c.pattern, func(t *testing.T) {
			w := UnanchoredRegexp("--certificate-identity-regexp", c.pattern)
			if (w != "") != c.warn {
				t.Fatalf("warning %q, want warn=%v", w, c.warn)
			}
			re := regexp.MustCompile(c.pattern)
			// The semantics stay cosign's: unanchored patterns really do
			// accept the bypass value (which is why there is a warning).
			if c.bypass != "" && !re.MatchString(c.bypass) {
				t.Fatalf("%q does not match %q: the case shows no bypass", c.pattern, c.bypass)
			}
			if c.warn && !strings.Contains(w, c.suggested) {
				t.Fatalf("warning %q does not suggest %q", w, c.suggested)
			}
			if c.suggested != "" && c.intended != "" && c.bypass != "" {
				s := regexp.MustCompile(c.suggested)
				if s.MatchString(c.bypass) && c.pattern != ".*" {
					t.Fatalf("suggested %q still accepts %q", c.suggested, c.bypass)
				}
			}
		})
	}
}
