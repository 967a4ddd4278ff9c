package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelvet/modelvet/attest"
	"github.com/modelvet/modelvet/policy"
	"github.com/modelvet/modelvet/verify"
)

const testBuilder = "https://builder.example/slsa/v1"

// signedModel builds a model folder from the clean example, signs it with
// a fresh key (OpenSSF model signing), adds SLSA provenance signed with
// the same key, and writes a policy requiring both. It returns the model
// folder and the policy path.
func signedModel(t *testing.T, policyExtra string) (string, string) {
	t.Helper()
	ex := filepath.Join("..", "..", "testdata", "examples", "clean-model")
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	os.MkdirAll(model, 0o755)
	for _, n := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(ex, n))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(model, n), b, 0o644)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := verify.Sign(model, verify.SignOptions{Key: key}); err != nil {
		t.Fatalf("sign: %v", err)
	}
	m, err := verify.HashModel(model, verify.HashOptions{IgnorePaths: []string{"model.sig", "model.intoto.jsonl"}})
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	pred := `{"buildDefinition":{"buildType":"https://builder.example/type/v1","externalParameters":{}},"runDetails":{"builder":{"id":"` + testBuilder + `"}}}`
	att, err := attest.Create(attest.CreateOptions{PredicateType: "slsa-v1", Predicate: []byte(pred), SubjectName: "model",
		Subject: attest.Digest{Alg: "sha256", Hex: m.RootDigest()}, KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})})
	if err != nil {
		t.Fatalf("attest: %v", err)
	}
	os.WriteFile(filepath.Join(model, "model.intoto.jsonl"), append(att, '\n'), 0o644)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	os.WriteFile(filepath.Join(dir, "publisher.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte("version: 1\nfail_on: high\nformats:\n  allow: [safetensors]\nsignature:\n  required: true\n  keys: [publisher.pub]\nprovenance:\n  required: true\n"+policyExtra), 0o644)
	return model, pol
}

// netTrap replaces the process's default HTTP transport and DNS resolver
// with ones that record any use: a check must make no network call.
type netTrap struct {
	mu    sync.Mutex
	calls []string
}

func (n *netTrap) RoundTrip(r *http.Request) (*http.Response, error) {
	n.mu.Lock()
	n.calls = append(n.calls, "http "+r.URL.String())
	n.mu.Unlock()
	return nil, errors.New("network use during check")
}

func (n *netTrap) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	n.mu.Lock()
	n.calls = append(n.calls, "dial "+network+" "+addr)
	n.mu.Unlock()
	return nil, errors.New("network use during check")
}

func trapNetwork(t *testing.T) *netTrap {
	trap := &netTrap{}
	oldT, oldR := http.DefaultTransport, net.DefaultResolver
	http.DefaultTransport = trap
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: trap.dial}
	t.Cleanup(func() { http.DefaultTransport, net.DefaultResolver = oldT, oldR })
	// The trap must be able to fail the test: prove it sees a call.
	http.Get("http://trap.invalid/")
	if len(trap.calls) != 1 {
		t.Fatalf("the network trap did not see a test call: %v", trap.calls)
	}
	trap.calls = nil
	return trap
}

func TestCheckCommand(t *testing.T) {
	trap := trapNetwork(t)
	model, pol := signedModel(t, "  builder_ids: ["+testBuilder+"]\n")
	_, otherKey := signedModel(t, "  builder_ids: [https://other-builder.example]\n")
	// The same trust as pol, another accepted builder: only the builder
	// check can fail.
	polText, _ := os.ReadFile(pol)
	wrongBuilder := filepath.Join(filepath.Dir(pol), "other-builder.yaml")
	os.WriteFile(wrongBuilder, []byte(strings.Replace(string(polText), testBuilder, "https://other-builder.example", 1)), 0o644)
	tampered, tamperedPol := signedModel(t, "  builder_ids: ["+testBuilder+"]\n")
	os.WriteFile(filepath.Join(tampered, "config.json"), []byte(`{"model_type":"evil"}`), 0o644)
	unsigned, unsignedPol := signedModel(t, "  builder_ids: ["+testBuilder+"]\n")
	os.Remove(filepath.Join(unsigned, "model.sig"))
	badPolicy := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(badPolicy, []byte("fail_on: high\nsignature:\n  requird: true\n"), 0o644)
	examples := filepath.Join("..", "..", "testdata", "examples")

	cases := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"signed model with provenance is admitted", []string{"check", model, "--policy", pol}, exitOK, []string{"ADMITTED", "signature: ok", "provenance: ok"}},
		{"provenance from another builder is rejected, citing the policy line", []string{"check", model, "--policy", wrongBuilder}, exitFail,
			[]string{"REJECTED", "reason: policy/provenance (provenance.builder_ids (other-builder.yaml:10))"}},
		{"provenance signed by another key is blamed on its signature, not the builders", []string{"check", model, "--policy", otherKey}, exitFail,
			[]string{"REJECTED", "reason: policy/provenance (the attestation's signature"}},
		{"a file changed after signing is rejected", []string{"check", tampered, "--policy", tamperedPol}, exitFail, []string{"reason: policy/signature", "config.json"}},
		{"unsigned model is rejected", []string{"check", unsigned, "--policy", unsignedPol}, exitFail, []string{"reason: policy/signature (signature.required: true (policy.yaml:6))", "model.sig not found"}},
		{"malicious example under the default policy", []string{"check", filepath.Join(examples, "malicious-model"), "--policy", "default"}, exitFail, []string{"pickle/dangerous-import (fail_on: high (default))"}},
		{"format outside the allow list", []string{"check", filepath.Join(examples, "clean-model"), "--policy", pol}, exitFail, []string{"policy/format-not-allowed"}},
		{"html report", []string{"check", model, "--policy", pol, "--format", "html"}, exitOK, []string{"<!DOCTYPE html>", ">ADMITTED<"}},
		{"sarif report", []string{"check", model, "--policy", pol, "--format", "sarif"}, exitOK, []string{`"version": "2.1.0"`}},
		{"policy with an unknown key is a usage error", []string{"check", model, "--policy", badPolicy}, exitUsage, nil},
		{"missing model is a usage error", []string{"check", filepath.Join(model, "nope"), "--policy", pol}, exitUsage, nil},
		{"missing policy is a usage error", []string{"check", model, "--policy", filepath.Join(model, "nope.yaml")}, exitUsage, nil},
		{"bad format is a usage error", []string{"check", model, "--format", "pdf"}, exitUsage, nil},
		{"no model is a usage error", []string{"check", "--policy", pol}, exitUsage, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, out, errOut)
			}
			for _, w := range c.contains {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	if len(trap.calls) != 0 {
		t.Errorf("check used the network: %v", trap.calls)
	}
	code, errOut := 0, ""
	if code, _, errOut = runCLI(t, "check", model, "--policy", badPolicy); !strings.Contains(errOut, "bad.yaml:3") {
		t.Errorf("exit %d; the policy error does not name the line: %s", code, errOut)
	}
}

func TestCheckJSONIsTheServiceReport(t *testing.T) {
	model, pol := signedModel(t, "  builder_ids: ["+testBuilder+"]\n")
	code, out, errOut := runCLI(t, "check", model, "--policy", pol, "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	var doc struct {
		Verdict  string `json:"verdict"`
		Sections []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"sections"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Verdict != policy.Admitted || len(doc.Sections) < 2 {
		t.Fatalf("%v %+v\n%s", err, doc, out)
	}
}

// Every format the scan reports for the bundled examples is one the
// policy knows, as a model format or a supporting file: otherwise an
// allow list would reject (or never mention) it.
func TestPolicyKnowsReportedFormats(t *testing.T) {
	code, out, _ := runCLI(t, "scan", "--format", "json", filepath.Join("..", "..", "testdata", "examples"))
	if code == exitUsage {
		t.Fatal("scan failed")
	}
	var doc struct {
		Files []struct {
			Path, Format string
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	for _, f := range doc.Files {
		known := false
		for _, k := range append(append([]string{}, policy.KnownFormats...), policy.SupportFormats...) {
			known = known || k == f.Format
		}
		if !known {
			t.Errorf("%s: format %q is neither in policy.KnownFormats nor policy.SupportFormats", f.Path, f.Format)
		}
	}
}

// The built binary checks a signed model inside a network namespace with
// no interfaces at all (unshare -n): nothing it needs is online.
func TestCheckOfflineInNetworkNamespace(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("network namespaces are Linux-only")
	}
	if err := exec.Command("unshare", "-n", "true").Run(); err != nil {
		t.Skipf("unshare -n is not available here (%v; it needs root or user namespaces); the in-process network trap in TestCheckCommand still ran", err)
	}
	if testing.Short() {
		t.Skip("-short: skipping the binary build")
	}
	bin := filepath.Join(t.TempDir(), "modelvet")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	model, pol := signedModel(t, "  builder_ids: ["+testBuilder+"]\n")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Prove the namespace really has no network first.
	probe := exec.CommandContext(ctx, "unshare", "-n", "sh", "-c", "cat /proc/net/dev | tail -n +3 | grep -v ' lo:' | wc -l")
	if out, err := probe.Output(); err != nil || strings.TrimSpace(string(out)) != "0" {
		t.Fatalf("the namespace has interfaces besides lo: %q %v", out, err)
	}
	cmd := exec.CommandContext(ctx, "unshare", "-n", bin, "check", model, "--policy", pol, "--format", "json")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("offline check failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"verdict": "admitted"`) {
		t.Errorf("offline check did not admit:\n%s", out)
	}
}
