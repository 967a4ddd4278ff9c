package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSignKeylessCLI covers the command line of keyless signing: usage
// errors exit 2 with no network use, the token (flag or
// SIGSTORE_ID_TOKEN) is never printed, and the network is reached only
// with --keyless. The signing itself against fake Fulcio and Rekor
// servers is tested in verify/keyless_sign_test.go (the command cannot
// reach those servers through the network trap used here).
func TestSignKeylessCLI(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	secret := enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(`{"email":"ci@example.com","email_verified":true,"nonce":"s3cr3t-claims"}`)) + "." + enc([]byte("signature-part-of-the-token"))
	dir := t.TempDir()
	model := filepath.Join(dir, "m")
	os.MkdirAll(model, 0o755)
	os.WriteFile(filepath.Join(model, "w.bin"), []byte("weights"), 0o644)
	priv, _ := attestKeyPair(t, dir, "k")
	for _, c := range []struct {
		name     string
		env      string
		args     []string
		code     int
		want     string
		network  bool
		fulcioAt string // the host the network trap must have seen
	}{
		{name: "no-token", args: []string{"--keyless"}, code: exitUsage, want: "SIGSTORE_ID_TOKEN"},
		{name: "keyless-and-key", env: secret, args: []string{"--keyless", "--key", priv}, code: exitUsage, want: "drop --key"},
		{name: "token-without-keyless", args: []string{"--key", priv, "--identity-token", secret}, code: exitUsage, want: "add --keyless"},
		{name: "plain-http-fulcio", env: secret, args: []string{"--keyless", "--fulcio-url", "http://fulcio.example.com"}, code: exitUsage, want: "clear text"},
		{name: "missing-trusted-root", args: []string{"--keyless", "--identity-token", secret, "--trusted-root", filepath.Join(dir, "none.json")}, code: exitUsage, want: "none.json"},
		{name: "env-token-reaches-fulcio", env: secret, args: []string{"--keyless", "--fulcio-url", "https://fulcio.test.invalid"}, code: exitFail, want: "Fulcio", network: true, fulcioAt: "fulcio.test.invalid"},
		{name: "flag-token-reaches-fulcio", args: []string{"--keyless", "--identity-token", secret}, code: exitFail, want: "Fulcio", network: true, fulcioAt: "fulcio.sigstore.dev"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("SIGSTORE_ID_TOKEN", c.env)
			trap := trapNetwork(t)
			code, out, errOut := runCLI(t, append([]string{"sign", model}, c.args...)...)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr %s", code, c.code, errOut)
			}
			if !strings.Contains(errOut, c.want) {
				t.Errorf("stderr %q does not say %q", errOut, c.want)
			}
			if strings.Contains(out+errOut, "s3cr3t") || strings.Contains(out+errOut, secret[len(secret)-10:]) {
				t.Errorf("the identity token was printed: %s%s", out, errOut)
			}
			calls := strings.Join(trap.calls, " ")
			if !c.network && calls != "" {
				t.Errorf("network used: %s", calls)
			}
			if c.network && !strings.Contains(calls, c.fulcioAt) {
				t.Errorf("keyless signing did not go to Fulcio at %s: %q", c.fulcioAt, calls)
			}
			if _, err := os.Stat(filepath.Join(model, "model.sig")); err == nil {
				t.Error("model.sig written after a failure")
			}
		})
	}
	// The key method stays offline.
	trap := trapNetwork(t)
	if code, _, errOut := runCLI(t, "sign", model, "--key", priv); code != exitOK || len(trap.calls) != 0 {
		t.Errorf("key signing: exit %d, network %v, stderr %s", code, trap.calls, errOut)
	}
}
