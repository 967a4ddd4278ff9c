package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/modelvet/modelvet/formats"
)

// compileSchema loads a committed schema file; nothing is fetched.
func compileSchema(t *testing.T, path string) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	url := "file:///" + filepath.ToSlash(path)
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, out []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if err := s.Validate(inst); err != nil {
		t.Fatalf("output does not match the schema: %v\n%.3000s", err, out)
	}
}

// reportCases are the report shapes every encoder must handle: a scan with
// findings in files and members, a check rejected for its signature with
// suppressed and ignored findings, a verify report with no files.
func reportCases(t *testing.T) map[string]*Report {
	root := t.TempDir()
	p := func(s string) string { return filepath.Join(root, filepath.FromSlash(s)) }
	scan := FromScan(&formats.Result{Files: []*formats.FileResult{
		{Path: p("m/pytorch_model.bin"), Format: "pytorch", Size: 589, SHA256: strings.Repeat("ab", 32), Findings: []formats.Finding{
			{Rule: "pickle/dangerous-import", Severity: formats.Critical, Message: "imports os.system", Member: "archive/data.pkl", Offset: 2, Import: "os.system"},
			{Rule: "pickle/dangerous-import", Severity: formats.Critical, Message: "imports os.system again", Member: "archive/data.pkl", Offset: 40, Import: "os.system"},
		}},
		{Path: p("m/model.safetensors"), Format: "safetensors", Size: 100, Findings: []formats.Finding{
			{Rule: "safetensors/trailing-bytes", Severity: formats.High, Message: "3 bytes after the last tensor", Offset: 97}}},
		{Path: p("m/weird name #1.gguf"), Format: "gguf", Findings: []formats.Finding{
			{Rule: "gguf/some-future-rule", Severity: formats.Low, Message: "a rule added after the catalogue", Offset: formats.NoOffset}}},
		{Path: p("m/model.safetensors.index.json"), Format: "json-config", Findings: []formats.Finding{
			{Rule: "shard-index/missing-shard", Severity: formats.High, Message: "b.safetensors is missing", Member: "b.safetensors", Offset: formats.NoOffset}}},
		{Path: p("m/config.json"), Format: "json-config", Findings: []formats.Finding{}},
	}}, formats.High)
	scan.SourceRoot = root

	check := FromScan(&formats.Result{Files: []*formats.FileResult{
		{Path: p("m/a.pkl"), Format: "pickle", Findings: []formats.Finding{
			{Rule: "pickle/unknown-import", Severity: formats.High, Message: "imports sklearn.x", Offset: 10, Import: "sklearn.x"}}},
		{Path: p("m/docs/old.bin"), Format: "pytorch", Findings: []formats.Finding{
			{Rule: "pickle/dangerous-import", Severity: formats.Critical, Message: "imports os.system", Offset: 3, Import: "os.system"}}},
	}}, formats.High)
	check.SourceRoot = root
	check.Verdict = "rejected"
	check.Summary.Failing = 0
	check.Marks = []Mark{
		{Path: p("m/a.pkl"), Index: 0, Kind: MarkSuppressed, Policy: "suppress[0] (policy.yaml:9)", Reason: "reviewed sklearn pipeline"},
		{Path: p("m/docs/old.bin"), Index: -1, Kind: MarkIgnored, Policy: "ignore: docs/** (policy.yaml:12)"},
	}
	check.Sections = []Section{{Name: "signature", OK: false, Lines: []string{"m/a.pkl changed: signed sha256 00, now 11"}}}
	check.Reasons = []Reason{
		{Rule: "policy/signature", Policy: "signature.keys (policy.yaml:4)", Detail: "the signature did not verify: m/a.pkl changed", Path: p("m/model.sig")},
		{Rule: "policy/format-not-allowed", Policy: "formats.allow (policy.yaml:6)", Detail: "a.pkl is pickle, which the policy does not allow", Path: p("m/a.pkl")},
		{Rule: "policy/no-model-files", Policy: "(built-in)", Detail: "no model"},
	}

	verify := &Report{Tool: "modelvet", Version: Version, Verdict: "fail", Summary: Summary{BySeverity: map[string]int{}},
		Reasons: []Reason{{Rule: "signature/unsigned", Policy: "signature must verify", Detail: "x is not signed"}}}
	return map[string]*Report{"scan with findings in members": scan, "check rejected for its signature": check, "verify without files": verify}
}

func TestSARIFMatchesTheSchema(t *testing.T) {
	s := compileSchema(t, "testdata/sarif-schema-2.1.0.json")
	for name, r := range reportCases(t) {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteSARIF(&b, r); err != nil {
				t.Fatal(err)
			}
			validate(t, s, b.Bytes())
			// .ci/run hands these to Microsoft's SARIF Multitool (GitHub rules).
			if dir := os.Getenv("MODELVET_SARIF_DIR"); dir != "" {
				name := strings.ReplaceAll(name, " ", "-") + ".sarif"
				if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestJSONMatchesTheReportSchema(t *testing.T) {
	s := compileSchema(t, "schema/report-v1.json")
	for name, r := range reportCases(t) {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteJSON(&b, r); err != nil {
				t.Fatal(err)
			}
			validate(t, s, b.Bytes())
		})
	}
}

// TestJSONMarksSuppressedAndIgnored: a consumer counting findings must be
// able to tell the ones the policy set aside.
func TestJSONMarksSuppressedAndIgnored(t *testing.T) {
	r := reportCases(t)["check rejected for its signature"]
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		SchemaVersion string `json:"schema_version"`
		Files         []struct {
			Path     string
			Ignored  *Mark
			Findings []struct {
				Rule       string
				Suppressed *Mark
			}
		}
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SchemaVersion != SchemaVersion {
		t.Errorf("schema_version %q", doc.SchemaVersion)
	}
	got := map[string]string{}
	for _, f := range doc.Files {
		if f.Ignored != nil {
			got[filepath.Base(f.Path)] = "file " + f.Ignored.Kind
		}
		for _, x := range f.Findings {
			if x.Suppressed != nil {
				got[filepath.Base(f.Path)+" "+x.Rule] = x.Suppressed.Kind + ": " + x.Suppressed.Reason
			}
		}
	}
	want := map[string]string{
		"a.pkl pickle/unknown-import":     "suppressed: reviewed sklearn pipeline",
		"old.bin":                         "file ignored",
		"old.bin pickle/dangerous-import": "ignored: ",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}
