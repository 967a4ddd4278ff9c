package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/modelvet/modelvet/formats"
)

// TestOutputFlags: --output writes the report as UTF-8 to a file (what
// PowerShell 5.1's > cannot do) and nothing to stdout; --quiet keeps the
// findings and the summary; SARIF locations are relative to --source-root.
func TestOutputFlags(t *testing.T) {
	examples, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "examples"))
	out := filepath.Join(t.TempDir(), "report ü.sarif")
	code, stdout, errOut := runCLI(t, "scan", examples, "--format", "sarif", "--output", out, "--source-root", filepath.Dir(filepath.Dir(examples)))
	if code != exitFail || stdout != "" {
		t.Fatalf("exit %d, stdout %q\n%s", code, stdout, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil || !utf8.Valid(b) || bytes.HasPrefix(b, []byte{0xff, 0xfe}) {
		t.Fatalf("--output file: %v, valid UTF-8 %v", err, utf8.Valid(b))
	}
	var log struct {
		Runs []struct {
			Results []struct {
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI, URIBaseID string } `json:"artifactLocation"`
					}
				}
			}
		}
	}
	if err := json.Unmarshal(b, &log); err != nil || len(log.Runs[0].Results) == 0 {
		t.Fatalf("not a SARIF log with results: %v", err)
	}
	for _, r := range log.Runs[0].Results {
		a := r.Locations[0].PhysicalLocation.ArtifactLocation
		if !strings.HasPrefix(a.URI, "testdata/examples/") || a.URIBaseID != "%SRCROOT%" {
			t.Errorf("location %+v, want testdata/examples/... against %%SRCROOT%%", a)
		}
	}

	code, stdout, _ = runCLI(t, "scan", examples, "--quiet")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != exitFail || strings.Contains(stdout, "with no findings") || !strings.HasPrefix(lines[len(lines)-1], "FAIL: ") {
		t.Errorf("--quiet: exit %d\n%s", code, stdout)
	}
	if code, _, errOut := runCLI(t, "scan", examples, "--output", filepath.Join(t.TempDir(), "no", "such", "dir", "r.txt")); code != exitUsage || !strings.Contains(errOut, "--output") {
		t.Errorf("unwritable --output: exit %d\n%s", code, errOut)
	}
}

// TestProgressLine: nothing is drawn in the first moment, then a line
// with files, bytes and an ETA, redrawn in place and erased at the end.
func TestProgressLine(t *testing.T) {
	var b bytes.Buffer
	now := time.Unix(0, 0)
	p := &progressLine{w: &b, start: now, now: func() time.Time { return now }}
	pr := formats.Progress{Files: 5000, Bytes: 4 << 30}
	p.update(pr)
	if b.Len() != 0 {
		t.Fatalf("drew progress before %v: %q", progressDelay, b.String())
	}
	now = now.Add(2 * time.Second)
	pr.FilesDone, pr.BytesDone = 1000, 1<<30
	p.update(pr)
	if got := b.String(); got != "\rscanning 1000/5000 files, 1.0 GiB of 4.0 GiB, ETA 6s" {
		t.Errorf("progress line %q", got)
	}
	now = now.Add(50 * time.Millisecond)
	p.update(pr)
	if strings.Count(b.String(), "\r") != 1 {
		t.Errorf("redrawn faster than ten times a second: %q", b.String())
	}
	p.done()
	if !strings.HasSuffix(b.String(), "\r"+strings.Repeat(" ", p.width)+"\r") && !strings.HasSuffix(b.String(), "   \r") {
		t.Errorf("the line was not erased: %q", b.String())
	}
	// Not a terminal (a pipe, a CI log): no progress at all.
	if newProgress(&b, false) != nil {
		t.Error("progress on a writer that is not a terminal")
	}
}

// TestCheckSARIFEndToEnd: check's SARIF carries what the policy set aside
// as suppressed results with the policy's reason, and its other reasons
// as results of policy rules, at paths relative to the source root.
func TestCheckSARIFEndToEnd(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m")
	os.MkdirAll(filepath.Join(model, "old"), 0o755)
	ex := filepath.Join("..", "..", "testdata", "examples")
	for src, dst := range map[string]string{"clean-model/model.safetensors": "model.safetensors", "clean-model/config.json": "config.json",
		"clean-model/pytorch_model.bin": "pytorch_model.bin", "malicious-model/pytorch_model.bin": "old/pytorch_model.bin"} {
		b, err := os.ReadFile(filepath.Join(ex, src))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(model, dst), b, 0o644)
	}
	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte("fail_on: low\nformats:\n  allow: [safetensors]\nignore: [old/**]\nsuppress:\n  - rule: safetensors/pickle-beside-safetensors\n    reason: the pickle is the same weights, kept for an old loader\n"), 0o644)
	code, out, errOut := runCLI(t, "check", model, "--policy", pol, "--format", "sarif", "--source-root", dir)
	if code != exitFail {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID    string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string } `json:"artifactLocation"`
					}
				}
				Suppressions []struct{ Justification string }
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range log.Runs[0].Results {
		s := "live"
		if len(r.Suppressions) > 0 {
			s = r.Suppressions[0].Justification
		}
		got[r.RuleID+" "+r.Locations[0].PhysicalLocation.ArtifactLocation.URI] = s
	}
	want := map[string]string{
		"safetensors/pickle-beside-safetensors m":         "suppressed by suppress",
		"pickle/dangerous-import m/old/pytorch_model.bin": "ignored by ignore",
		"policy/format-not-allowed m/pytorch_model.bin":   "live",
	}
	for k, v := range want {
		if !strings.HasPrefix(got[k], v) {
			t.Errorf("%s: %q, want %q...\nall: %v", k, got[k], v, got)
		}
	}
}

// TestJSONOutputMatchesTheSchema: real reports of scan, check and verify
// match the published schema (report/schema/report-v1.json).
func TestJSONOutputMatchesTheSchema(t *testing.T) {
	schemaPath, _ := filepath.Abs(filepath.Join("..", "..", "report", "schema", "report-v1.json"))
	f, err := os.Open(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("file:///report-v1.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("file:///report-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	model, pol := signedModel(t, "  builder_ids: ["+testBuilder+"]\n")
	examples := filepath.Join("..", "..", "testdata", "examples")
	for name, args := range map[string][]string{
		"scan of the examples":         {"scan", examples, "--format", "json"},
		"check of a signed model":      {"check", model, "--policy", pol, "--format", "json"},
		"check of the malicious model": {"check", filepath.Join(examples, "malicious-model"), "--policy", "default", "--format", "json"},
		"verify of a signed model":     {"verify", model, "--key", filepath.Join(filepath.Dir(model), "publisher.pub"), "--ignore-paths", "model.intoto.jsonl", "--format", "json"},
	} {
		t.Run(name, func(t *testing.T) {
			_, out, errOut := runCLI(t, args...)
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
			if err != nil {
				t.Fatalf("not JSON: %v\n%s%s", err, out, errOut)
			}
			if err := schema.Validate(inst); err != nil {
				t.Errorf("does not match the schema: %v\n%.2000s", err, out)
			}
		})
	}
}
