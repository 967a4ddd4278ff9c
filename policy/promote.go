package policy

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Promote is the policy's oci.promote: where `modelvet serve` copies a
// registry artifact it admitted (with a signed verdict attestation).
//
// The key that signs verdicts is not here but a serve flag
// (--verdict-key, --verdict-key-password-env): a policy is shared —
// reviewed in a repository, copied to CI and laptops for `modelvet check`
// — while the signing key is the service's own secret. Naming it in the
// policy would spread where the secret lives, let whoever edits the
// policy choose which key vouches for admissions, and change the policy's
// digest (recorded in every verdict) on each key rotation.
type Promote struct {
	// Repository is REGISTRY/PREFIX: an artifact admitted from REPO is
	// copied to REGISTRY/PREFIX/REPO under the same tag and digest.
	Repository string
}

// repoPath is the distribution reference grammar for a repository path:
// lower-case components joined by separators, components joined by "/".
var repoPath = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)

// registryHost is host[:port] as a reference's first component: it must
// look like a host (a dot, a port, or localhost), or the reference would
// silently mean Docker Hub.
var registryHost = regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$`)

// ValidPromoteRepository says what is wrong with a promotion repository,
// or "".
func ValidPromoteRepository(s string) string {
	host, path, ok := strings.Cut(s, "/")
	switch {
	case s == "":
		return "is empty"
	case strings.ContainsAny(s, "@") || strings.Contains(path, ":"):
		return "names a tag or digest; give the repository only (registry.example.com/promoted): the pushed tag is kept"
	case !ok || path == "":
		return "names no repository; write REGISTRY/REPOSITORY (registry.example.com/promoted)"
	case !registryHost.MatchString(host) || !(strings.ContainsAny(host, ".:[") || host == "localhost"):
		return fmt.Sprintf("starts with %q, which is not a registry host; name the registry (registry.example.com/promoted)", host)
	case !repoPath.MatchString(path):
		return fmt.Sprintf("%q is not a repository path (lower-case letters, digits, '.', '_', '-', components separated by '/')", path)
	}
	return ""
}

// promote reads oci.promote.
func (ps *parser) promote(n *yaml.Node) {
	secret := func(key, flag string) func(*yaml.Node) {
		return func(v *yaml.Node) {
			ps.errf(v.Line, "oci.promote.%s: the verdict signing key is given to the service, not the policy (modelvet serve %s): a policy is shared and reviewed, the key is the service's secret", key, flag)
		}
	}
	ps.mapping(n, "oci.promote", map[string]func(*yaml.Node){
		"repository": func(v *yaml.Node) {
			s, ok := ps.str(v, "oci.promote.repository")
			if !ok {
				return
			}
			if why := ValidPromoteRepository(s); why != "" {
				ps.errf(v.Line, "oci.promote.repository %q %s", s, why)
				return
			}
			ps.p.OCI.Promote.Repository = s
			ps.set("oci.promote.repository", "oci.promote.repository: "+s, v.Line)
		},
		"signing_key":      secret("signing_key", "--verdict-key KEY"),
		"key_password_env": secret("key_password_env", "--verdict-key-password-env NAME"),
	})
	if ps.p.OCI.Promote.Repository == "" && ps.p.Line("oci.promote.repository") == 0 && n.Kind == yaml.MappingNode {
		ps.errf(n.Line, "oci.promote needs repository: REGISTRY/REPOSITORY, where admitted artifacts are copied")
	}
}
