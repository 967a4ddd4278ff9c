package report

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/modelvet/modelvet/formats"
)

// cyclonedxSchema compiles the CycloneDX 1.6 JSON schema shipped with the
// cyclonedx-go module (read from the module cache, not copied here).
func cyclonedxSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/CycloneDX/cyclonedx-go").Output()
	if err != nil {
		t.Skipf("cannot locate the cyclonedx-go module for its schema (%v); skipping schema validation", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "schema")
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for id, file := range map[string]string{
		"http://cyclonedx.org/schema/bom-1.6.schema.json":  "bom-1.6.schema.json",
		"http://cyclonedx.org/schema/spdx.schema.json":     "spdx.schema.json",
		"http://cyclonedx.org/schema/jsf-0.82.schema.json": "jsf-0.82.schemax.json",
	} {
		f, err := os.Open(filepath.Join(dir, file))
		if err != nil {
			t.Skipf("CycloneDX schema file missing (%v); skipping schema validation", err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(id, doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile("http://cyclonedx.org/schema/bom-1.6.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCycloneDXValidates: the ML-BOM of a scan with a model, a config,
// a registry manifest and findings of every severity validates against
// the CycloneDX 1.6 schema, and carries hashes, formats and the verdict.
func TestCycloneDXValidates(t *testing.T) {
	sch := cyclonedxSchema(t)
	r := &Report{Tool: "modelvet", Version: Version, Verdict: "fail", FailOn: formats.High,
		Files: []*formats.FileResult{
			{Path: "oci://registry.example.com/org/model@sha256:" + strings.Repeat("ab", 32), Format: "oci-manifest", Size: 512, SHA256: strings.Repeat("ab", 32), Findings: []formats.Finding{}},
			{Path: "m/model.safetensors", Format: "safetensors", Size: 100, SHA256: strings.Repeat("cd", 32), Findings: []formats.Finding{}, Details: map[string]string{"tensors": "2"}},
			{Path: "m/model.gguf", Format: "gguf", Size: 100, Findings: []formats.Finding{}, Details: map[string]string{"architecture": "llama"}},
			{Path: "m/pytorch_model.bin", Format: "pytorch", Size: 589, SHA256: strings.Repeat("ef", 32), Findings: []formats.Finding{
				{Rule: "pickle/dangerous-import", Severity: formats.Critical, Message: "os.system", Member: "archive/data.pkl", Offset: 2},
				{Rule: "x/low", Severity: formats.Low, Message: "low", Offset: formats.NoOffset},
				{Rule: "x/info", Severity: formats.Info, Message: "info", Offset: formats.NoOffset},
				{Rule: "x/medium", Severity: formats.Medium, Message: "m", Offset: formats.NoOffset},
				{Rule: "x/high", Severity: formats.High, Message: "h", Offset: formats.NoOffset},
			}},
			{Path: "m/tokenizer_config.json", Format: "json-config", Size: 10, Findings: []formats.Finding{}},
		},
		Sections: []Section{{Name: "signature", OK: false}},
		Reasons:  []Reason{{Rule: "signature/missing", Policy: "signature.required", Detail: "no model.sig"}},
	}
	r.Summary = Summarize(r.Files, r.FailOn)
	var buf bytes.Buffer
	if err := Write(&buf, r, "cyclonedx", false); err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Fatalf("the ML-BOM does not validate against CycloneDX 1.6: %v\n%s", err, buf.String())
	}
	// The validator itself can refuse: a component type outside the
	// schema's enumeration must fail.
	bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(strings.Replace(buf.String(), `"type": "machine-learning-model"`, `"type": "not-a-type"`, 1)))
	if sch.Validate(bad) == nil {
		t.Fatal("the schema accepted a component type it does not define; the validation above proves nothing")
	}
	var bom struct {
		SpecVersion string `json:"specVersion"`
		Metadata    struct {
			Component struct {
				Type string `json:"type"`
				Purl string `json:"purl"`
			} `json:"component"`
			Properties []struct{ Name, Value string } `json:"properties"`
		} `json:"metadata"`
		Components []struct {
			Type      string                          `json:"type"`
			Name      string                          `json:"name"`
			Hashes    []struct{ Alg, Content string } `json:"hashes"`
			ModelCard *struct {
				ModelParameters struct {
					ModelArchitecture string `json:"modelArchitecture"`
				} `json:"modelParameters"`
			} `json:"modelCard"`
		} `json:"components"`
		Vulnerabilities []struct {
			ID string `json:"id"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(buf.Bytes(), &bom); err != nil {
		t.Fatal(err)
	}
	if bom.SpecVersion != "1.6" || bom.Metadata.Component.Type != "machine-learning-model" || !strings.HasPrefix(bom.Metadata.Component.Purl, "pkg:oci/model@sha256%3A") {
		t.Errorf("metadata: %+v", bom.Metadata.Component)
	}
	if len(bom.Components) != 5 || bom.Components[1].Type != "machine-learning-model" || bom.Components[4].Type != "data" || len(bom.Components[1].Hashes) != 1 {
		t.Errorf("components: %+v", bom.Components)
	}
	if bom.Components[2].ModelCard == nil || bom.Components[2].ModelCard.ModelParameters.ModelArchitecture != "llama" {
		t.Errorf("gguf model card: %+v", bom.Components[2].ModelCard)
	}
	if len(bom.Vulnerabilities) != 5 || bom.Vulnerabilities[0].ID != "pickle/dangerous-import" {
		t.Errorf("vulnerabilities: %+v", bom.Vulnerabilities)
	}
	verdict := ""
	for _, p := range bom.Metadata.Properties {
		if p.Name == "modelvet:verdict" {
			verdict = p.Value
		}
	}
	if verdict != "fail" {
		t.Errorf("verdict property %q", verdict)
	}
}
