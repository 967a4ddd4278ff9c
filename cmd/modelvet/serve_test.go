package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// serve refuses, before listening, a configuration that would expose the
// service or that it cannot honour, and says which flag to give.
func TestServeRefusesUnsafeConfigs(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte("version: 1\nfail_on: high\n"), 0o644)
	open := filepath.Join(dir, "tokens-open")
	os.WriteFile(open, []byte("AAAAAAAAAAAAAAAAAAAAAAAA\n"), 0o644)
	private := filepath.Join(dir, "tokens")
	os.WriteFile(private, []byte("AAAAAAAAAAAAAAAAAAAAAAAA\n"), 0o600)
	shared := filepath.Join(dir, "shared")
	os.Mkdir(shared, 0o777)
	os.Chmod(shared, 0o1777)
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"every interface without TLS or auth", []string{"--addr", ":0"}, "reachable from other machines"},
		{"a LAN address with a token but no TLS", []string{"--addr", "0.0.0.0:0", "--token-file", private}, "reachable from other machines"},
		{"client CA without a server certificate", []string{"--client-ca", filepath.Join(dir, "ca.pem")}, "--client-ca needs --tls-cert"},
		{"certificate without its key", []string{"--tls-cert", filepath.Join(dir, "c.pem")}, "--tls-key"},
		{"token file readable by others", []string{"--token-file", open}, "readable by other users"},
		{"shared temporary folder", []string{"--tmp", shared}, "private to the service"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, append([]string{"serve", "--policy", pol}, c.args...)...)
			if code != exitUsage || !strings.Contains(errOut, c.wantErr) {
				t.Fatalf("exit %d, want 2 with %q:\n%s", code, c.wantErr, errOut)
			}
		})
	}
}

// serve refuses a registry admission it could not run as the policy
// says: no decision log (rejections must be recorded), a promotion
// without a key to sign verdicts, a key with nothing to promote.
func TestServeRegistryAdmissionFlags(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "policy.yaml")
	os.WriteFile(plain, []byte("version: 1\n"), 0o644)
	promo := filepath.Join(dir, "promote.yaml")
	os.WriteFile(promo, []byte("oci:\n  promote:\n    repository: localhost:5000/promoted\n"), 0o644)
	key := filepath.Join(dir, "verdict.key")
	os.WriteFile(key, []byte("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"), 0o600)
	log := filepath.Join(dir, "decisions.jsonl")
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"registry without a decision log", []string{"--policy", plain, "--registry", "localhost:5000"}, "needs --decision-log"},
		{"promotion without a verdict key", []string{"--policy", promo, "--registry", "localhost:5000", "--decision-log", log}, "needs --verdict-key"},
		{"verdict key without promotion", []string{"--policy", plain, "--registry", "localhost:5000", "--decision-log", log, "--verdict-key", key}, "no oci.promote.repository"},
		{"verdict key without registry", []string{"--policy", promo, "--verdict-key", key}, "give --registry"},
		{"unusable verdict key", []string{"--policy", promo, "--registry", "localhost:5000", "--decision-log", log, "--verdict-key", key}, "--verdict-key"},
		{"registry given as a URL", []string{"--policy", plain, "--registry", "http://localhost:5000", "--decision-log", log}, "host[:port]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, append([]string{"serve"}, c.args...)...)
			if code != exitUsage || !strings.Contains(errOut, c.wantErr) {
				t.Fatalf("exit %d, want 2 with %q:\n%s", code, c.wantErr, errOut)
			}
		})
	}
}
