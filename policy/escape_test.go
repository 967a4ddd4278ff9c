package policy

import (
	"strings"
	"testing"
)

// TestBackslashEscapesInPaths: a Windows path in a double-quoted YAML
// string is read with its backslashes as escapes. Where that makes control
// characters the policy warns with the line; where the escape is invalid
// the error says how to write the path; single quotes and forward slashes
// are quiet.
func TestBackslashEscapesInPaths(t *testing.T) {
	cases := []struct {
		name, yaml string
		warn, err  string
	}{
		{"tab and newline escapes in a key path", "signature:\n  keys: [\"C:\\temp\\new.pub\"]\n", "policy.yaml:2: the double-quoted string", ""},
		{"unknown escape in a trusted root path", "signature:\n  trusted_root: \"C:\\models\\root.json\"\n", "", "single quotes"},
		{"single-quoted Windows path", "signature:\n  keys: ['C:\\temp\\new.pub']\n", "", ""},
		{"forward slashes", "signature:\n  keys: [\"C:/temp/new.pub\"]\n", "", ""},
		{"an ignore pattern with an escape", "ignore:\n  - \"docs\\tnotes\"\n", "policy.yaml:2", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse("/srv/policy.yaml", []byte(c.yaml))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one saying %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(p.Warnings, "\n")
			if (c.warn == "") != (got == "") || !strings.Contains(got, c.warn) {
				t.Errorf("warnings %q, want %q", got, c.warn)
			}
		})
	}
}
