package policy

import (
	"strings"
	"testing"
)

// TestPromotePolicy: oci.promote.repository names where serve promotes
// admitted artifacts; every mistake is an error naming the line, and a
// signing key in the policy is refused with where it belongs.
func TestPromotePolicy(t *testing.T) {
	cases := []struct {
		name, yaml string
		repo       string   // accepted value, "" = must fail
		want       []string // substrings of the error
	}{
		{"registry and prefix", "oci:\n  promote:\n    repository: registry.example.com/promoted\n", "registry.example.com/promoted", nil},
		{"registry with port and nested prefix", "oci:\n  promote:\n    repository: localhost:5000/models/admitted\n", "localhost:5000/models/admitted", nil},
		{"beside the registry signature", "oci:\n  signature:\n    keys: [k.pub]\n  promote:\n    repository: reg.example.com/p\n", "reg.example.com/p", nil},
		{"no registry host (would mean Docker Hub)", "oci:\n  promote:\n    repository: library/promoted\n", "", []string{"policy.yaml:3: oci.promote.repository", "not a registry host"}},
		{"a tag", "oci:\n  promote:\n    repository: reg.example.com/p:latest\n", "", []string{"policy.yaml:3:", "tag or digest"}},
		{"a digest", "oci:\n  promote:\n    repository: reg.example.com/p@sha256:00\n", "", []string{"policy.yaml:3:", "tag or digest"}},
		{"upper case path", "oci:\n  promote:\n    repository: reg.example.com/Promoted\n", "", []string{"policy.yaml:3:", "not a repository path"}},
		{"registry only", "oci:\n  promote:\n    repository: reg.example.com\n", "", []string{"names no repository"}},
		{"promote without repository", "oci:\n  promote:\n    {}\n", "", []string{"policy.yaml:3: oci.promote needs repository"}},
		{"signing key in the policy", "oci:\n  promote:\n    repository: reg.example.com/p\n    signing_key: verdict.key\n", "", []string{"policy.yaml:4: oci.promote.signing_key", "--verdict-key"}},
		{"password env in the policy", "oci:\n  promote:\n    repository: reg.example.com/p\n    key_password_env: PW\n", "", []string{"policy.yaml:4:", "--verdict-key-password-env"}},
		{"unknown key", "oci:\n  promote:\n    repository: reg.example.com/p\n    repo: x\n", "", []string{`policy.yaml:4: unknown key "repo"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse("/etc/modelvet/policy.yaml", []byte(c.yaml))
			if c.repo != "" {
				if err != nil {
					t.Fatal(err)
				}
				if p.OCI.Promote.Repository != c.repo {
					t.Fatalf("repository %q, want %q", p.OCI.Promote.Repository, c.repo)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted:\n%s", c.yaml)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}
