package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// The README's first command scans the bundled examples: the clean model
// must pass on its own, the malicious twin must fail, and the JSON has the
// documented shape.
func TestScanExamples(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "examples")
	cases := []struct {
		name     string
		args     []string
		wantCode int
		wantText string
	}{
		{"clean model passes", []string{"scan", filepath.Join(root, "clean-model")}, exitOK, "PASS"},
		{"malicious twin fails", []string{"scan", filepath.Join(root, "malicious-model")}, exitFail, "os.system"},
		{"flags after paths", []string{"scan", filepath.Join(root, "malicious-model"), "--fail-on", "critical", "--format", "text"}, exitFail, "FAIL"},
		{"unreadable path is a usage error", []string{"scan", filepath.Join(root, "does-not-exist")}, exitUsage, ""},
		{"bad severity is a usage error", []string{"scan", "--fail-on", "severe", root}, exitUsage, ""},
		{"no path is a usage error", []string{"scan"}, exitUsage, ""},
		{"unknown command", []string{"scna"}, exitUsage, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, c.args...)
			if code != c.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.wantCode, out, errOut)
			}
			if !strings.Contains(out, c.wantText) {
				t.Errorf("output lacks %q:\n%s", c.wantText, out)
			}
		})
	}
}

func TestScanJSONShape(t *testing.T) {
	code, out, _ := runCLI(t, "scan", "--format", "json", filepath.Join("..", "..", "testdata", "examples", "malicious-model"))
	if code != exitFail {
		t.Fatalf("exit %d, want 1", code)
	}
	var doc struct {
		Files []struct {
			Path     string `json:"path"`
			Format   string `json:"format"`
			SHA256   string `json:"sha256"`
			Findings []struct {
				Rule     string `json:"rule"`
				Severity string `json:"severity"`
				Message  string `json:"message"`
				Offset   *int64 `json:"offset"`
			} `json:"findings"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
	}
	found := false
	for _, f := range doc.Files {
		// A folder-level check (pickle weights beside safetensors) is
		// about the folder, which has no digest.
		if len(f.SHA256) != 64 && f.Format != "folder-check" {
			t.Errorf("%s: sha256 %q", f.Path, f.SHA256)
		}
		for _, x := range f.Findings {
			if x.Rule == "" || x.Severity == "" || x.Message == "" || x.Offset == nil {
				t.Errorf("%s: incomplete finding %+v", f.Path, x)
			}
			if strings.HasSuffix(f.Path, "pytorch_model.bin") && x.Severity == "critical" {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no critical finding on the malicious pytorch_model.bin:\n%s", out)
	}
}

func TestScanSARIF(t *testing.T) {
	code, out, _ := runCLI(t, "scan", "--format", "sarif", filepath.Join("..", "..", "testdata", "examples", "malicious-model"))
	if code != exitFail {
		t.Fatalf("exit %d, want 1", code)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
				Level  string `json:"level"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil || log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) == 0 {
		t.Fatalf("not a SARIF 2.1.0 log with results (%v):\n%s", err, out)
	}
}

func TestMain(m *testing.M) {
	os.Setenv("NO_COLOR", "1")
	os.Exit(m.Run())
}
