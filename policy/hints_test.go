package policy

import (
	"regexp"
	"testing"
)

// TestCheckHints: the hints other packages write for scan and verify are
// said in policy words under check; no CLI flag survives.
func TestCheckHints(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"unknown pickle import", "imports sklearn.x; allow it with --allow if you trust it", "imports sklearn.x; allow it with the policy's scan.allow_imports if you trust it"},
		{"file not covered by the signature", "x.bin is in the model but not covered by the signature (remove it, pass --ignore-paths, or --ignore-unsigned-files)", "x.bin is in the model but not covered by the signature (remove it, or list it under the policy's ignore:)"},
		{"symbolic link in a signed model", "a is a symbolic link; links are refused unless --allow-symlinks is given", "a is a symbolic link; links are refused (replace the link with the file it points to)"},
		{"keyless trust incomplete", "keyless verification needs the OIDC issuer: --certificate-oidc-issuer or --certificate-oidc-issuer-regexp", "keyless verification needs the OIDC issuer: signature.issuers or signature.issuer_regexps"},
		{"key signature under certificate trust", "signature was made with a key, not a Sigstore certificate: verify it with --key", "signature was made with a key, not a Sigstore certificate: verify it with signature.keys"},
		{"no hint", "model.sig not found", "model.sig not found"},
	}
	flag := regexp.MustCompile(`--[a-z]`)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := CheckHints(c.in)
			if got != c.want || flag.MatchString(got) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}
