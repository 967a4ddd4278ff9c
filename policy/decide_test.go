package policy

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/report"
)

func mustMatch(t *testing.T, re, s string) bool {
	t.Helper()
	return regexp.MustCompile(re).MatchString(s)
}

func mustParse(t *testing.T, y string) *Policy {
	t.Helper()
	p, err := Parse("/srv/policy.yaml", []byte(y))
	if err != nil {
		t.Fatalf("policy:\n%s\n%v", y, err)
	}
	return p
}

var root = filepath.FromSlash("/models/m")

func file(name, format string, fs ...formats.Finding) *formats.FileResult {
	return &formats.FileResult{Path: filepath.Join(root, filepath.FromSlash(name)), Format: format, Findings: fs}
}

func finding(rule string, sev formats.Severity) formats.Finding {
	return formats.Finding{Rule: rule, Severity: sev, Message: "m", Offset: formats.NoOffset}
}

func scan(files ...*formats.FileResult) *formats.Result { return &formats.Result{Files: files} }

var (
	signedOK   = &Outcome{Present: true, OK: true, Section: report.Section{OK: true, Lines: []string{"signed by me"}}}
	signedBad  = &Outcome{Present: true, OK: false, Section: report.Section{Lines: []string{"digest mismatch for model.safetensors"}}}
	unsigned   = &Outcome{Present: false, OK: false, Section: report.Section{Lines: []string{"model.sig not found"}}}
	provOK     = &Outcome{Present: true, OK: true}
	provBadBld = &Outcome{Present: true, OK: false, Section: report.Section{Lines: []string{"builder https://evil is not accepted"}}}
)

const keyPolicy = "fail_on: high\nsignature:\n  required: true\n  keys: [k.pub]\nprovenance:\n  required: true\n  builder_ids: [https://builder]\n"

// One case per kind of reason, and the admitted cases around them.
func TestDecide(t *testing.T) {
	clean := scan(file("model.safetensors", "safetensors"), file("config.json", "other"))
	cases := []struct {
		name        string
		policy      string
		in          Input
		verdict     string
		rules       []string // reason rules, in order
		policyRefs  []string // the policy entry each reason cites
		noteContain string
	}{
		{name: "clean, signed, with provenance: admitted", policy: keyPolicy,
			in: Input{Scan: clean, Signature: signedOK, Provenance: provOK}, verdict: Admitted},
		{name: "finding at fail_on rejects, citing fail_on", policy: keyPolicy,
			in:      Input{Scan: scan(file("pytorch_model.bin", "pytorch", finding("pickle/dangerous-import", formats.Critical))), Signature: signedOK, Provenance: provOK},
			verdict: Rejected, rules: []string{"pickle/dangerous-import"}, policyRefs: []string{"fail_on: high (policy.yaml:1)"}},
		{name: "finding below fail_on does not reject", policy: "fail_on: critical\n",
			in:      Input{Scan: scan(file("m.pkl", "pickle", finding("pickle/unknown-import", formats.High)))},
			verdict: Admitted},
		{name: "default fail_on is high and cited as default", policy: "version: 1\n",
			in:      Input{Scan: scan(file("m.pkl", "pickle", finding("pickle/unknown-import", formats.High)))},
			verdict: Rejected, rules: []string{"pickle/unknown-import"}, policyRefs: []string{"fail_on: high (default)"}},
		{name: "format not allowed", policy: "formats:\n  allow: [safetensors]\n",
			in:      Input{Scan: scan(file("model.safetensors", "safetensors"), file("pytorch_model.bin", "pytorch"))},
			verdict: Rejected, rules: []string{RuleFormat}, policyRefs: []string{"formats.allow: [safetensors] (policy.yaml:2)"}},
		{name: "support files are not subject to the format list", policy: "formats:\n  allow: [safetensors]\n",
			in: Input{Scan: scan(file("model.safetensors", "safetensors"), file("README.md", "other"), file(".", "folder-check"))}, verdict: Admitted},
		{name: "unsigned model when a signature is required", policy: keyPolicy,
			in: Input{Scan: clean, Signature: unsigned, Provenance: provOK}, verdict: Rejected,
			rules: []string{RuleSignature}, policyRefs: []string{"signature.required: true (policy.yaml:3)"}},
		{name: "signature present but invalid", policy: keyPolicy,
			in: Input{Scan: clean, Signature: signedBad, Provenance: provOK}, verdict: Rejected, rules: []string{RuleSignature}},
		{name: "signature required but never checked fails closed", policy: keyPolicy,
			in: Input{Scan: clean, Provenance: provOK}, verdict: Rejected, rules: []string{RuleSignature}},
		{name: "optional signature absent is fine, with a note saying deletion gets there", policy: "signature:\n  keys: [k.pub]\n",
			in: Input{Scan: clean, Signature: unsigned}, verdict: Admitted, noteContain: "anyone who can change the model can delete its signature"},
		{name: "optional signature present but corrupted (model.sig kept, model edited) rejects like a required one", policy: "signature:\n  required: false\n  keys: [k.pub]\n",
			in: Input{Scan: clean, Signature: signedBad}, verdict: Rejected, rules: []string{RuleSignature}},
		{name: "required signature deleted rejects", policy: "signature:\n  required: true\n  keys: [k.pub]\n",
			in: Input{Scan: clean, Signature: unsigned}, verdict: Rejected, rules: []string{RuleSignature}, policyRefs: []string{"signature.required: true (policy.yaml:2)"}},
		{name: "optional provenance absent is a note", policy: "signature:\n  keys: [k.pub]\nprovenance:\n  builder_ids: [https://builder]\n",
			in: Input{Scan: clean, Signature: signedOK, Provenance: &Outcome{}}, verdict: Admitted, noteContain: "provenance is not required"},
		{name: "optional provenance present but from another builder rejects", policy: "signature:\n  keys: [k.pub]\nprovenance:\n  builder_ids: [https://builder]\n",
			in: Input{Scan: clean, Signature: signedOK, Provenance: provBadBld}, verdict: Rejected, rules: []string{RuleProvenance}},
		{name: "optional signature present but bad rejects, citing the trust entry", policy: "signature:\n  keys: [k.pub]\n",
			in: Input{Scan: clean, Signature: signedBad}, verdict: Rejected, rules: []string{RuleSignature}, policyRefs: []string{"signature.keys (policy.yaml:2)"}},
		{name: "provenance from another builder", policy: keyPolicy,
			in: Input{Scan: clean, Signature: signedOK, Provenance: provBadBld}, verdict: Rejected,
			rules: []string{RuleProvenance}, policyRefs: []string{"provenance.builder_ids (policy.yaml:7)"}},
		{name: "provenance missing", policy: keyPolicy,
			in: Input{Scan: clean, Signature: signedOK, Provenance: &Outcome{}}, verdict: Rejected, rules: []string{RuleProvenance}},
		{name: "empty folder is never admitted", policy: "version: 1\n",
			in: Input{Scan: scan(file("README.md", "other"))}, verdict: Rejected, rules: []string{RuleEmpty}},
		{name: "a model card alone is no model", policy: "formats:\n  allow: [safetensors]\n",
			in: Input{Scan: scan(file("README.md", "model-card"))}, verdict: Rejected, rules: []string{RuleEmpty}},
		{name: "ignoring every model file leaves nothing admitted", policy: "ignore: ['*.bin']\n",
			in:      Input{Scan: scan(file("pytorch_model.bin", "pytorch", finding("pickle/dangerous-import", formats.Critical)))},
			verdict: Rejected, rules: []string{RuleEmpty}, noteContain: "ignored by ignore: *.bin (policy.yaml:1)"},
		{name: "ignored docs do not count", policy: "ignore: ['docs/']\n",
			in:      Input{Scan: scan(file("model.safetensors", "safetensors"), file("docs/example.pkl", "pickle", finding("pickle/dangerous-import", formats.Critical)))},
			verdict: Admitted, noteContain: "docs/example.pkl is ignored"},
		{name: "suppressed rule under its path", policy: "suppress:\n  - rule: formats/extension-mismatch\n    paths: legacy/*.bin\n    reason: reviewed\n",
			in:      Input{Scan: scan(file("legacy/a.bin", "numpy", finding("formats/extension-mismatch", formats.High)))},
			verdict: Admitted, noteContain: "suppressed by suppress: formats/extension-mismatch (policy.yaml:2): reviewed"},
		{name: "suppression does not reach other paths", policy: "suppress:\n  - rule: formats/extension-mismatch\n    paths: legacy/*.bin\n    reason: reviewed\n",
			in:      Input{Scan: scan(file("new/a.bin", "numpy", finding("formats/extension-mismatch", formats.High)))},
			verdict: Rejected, rules: []string{"formats/extension-mismatch"}},
		{name: "suppression by family", policy: "suppress:\n  - rule: gguf/*\n    reason: r\n",
			in: Input{Scan: scan(file("m.gguf", "gguf", finding("gguf/odd", formats.High)))}, verdict: Admitted},
		{name: "a file changed during the check rejects even under fail_on: critical, suppressed and ignored", policy: "fail_on: critical\nignore: ['*.bin']\nsuppress:\n  - rule: check/*\n    reason: r\n",
			in:      Input{Scan: scan(file("model.safetensors", "safetensors"), file("pytorch_model.bin", "pytorch", finding(RuleFileChanged, formats.High)))},
			verdict: Rejected, rules: []string{RuleFileChanged}},
		{name: "every reason is listed, not just the first", policy: keyPolicy + "formats:\n  allow: [safetensors]\n",
			in:      Input{Scan: scan(file("m.pkl", "pickle", finding("pickle/dangerous-import", formats.Critical))), Signature: unsigned, Provenance: provBadBld},
			verdict: Rejected, rules: []string{RuleFormat, "pickle/dangerous-import", RuleSignature, RuleProvenance}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mustParse(t, c.policy)
			c.in.Root = root
			d := Decide(p, c.in)
			if d.Verdict != c.verdict {
				t.Fatalf("verdict %s, want %s; reasons %+v", d.Verdict, c.verdict, d.Reasons)
			}
			var rules []string
			for _, r := range d.Reasons {
				rules = append(rules, r.Rule)
				if r.Policy == "" || r.Detail == "" {
					t.Errorf("reason without a policy entry or detail: %+v", r)
				}
			}
			if strings.Join(rules, " ") != strings.Join(c.rules, " ") {
				t.Errorf("reasons %v, want %v (%+v)", rules, c.rules, d.Reasons)
			}
			for i, ref := range c.policyRefs {
				if i < len(d.Reasons) && d.Reasons[i].Policy != ref {
					t.Errorf("reason %d cites %q, want %q", i, d.Reasons[i].Policy, ref)
				}
			}
			if c.noteContain != "" && !strings.Contains(strings.Join(d.Notes, "\n"), c.noteContain) {
				t.Errorf("notes lack %q: %v", c.noteContain, d.Notes)
			}
			// Pure: deciding again gives the same answer.
			if d2 := Decide(p, c.in); d2.Verdict != d.Verdict || len(d2.Reasons) != len(d.Reasons) {
				t.Errorf("Decide is not deterministic")
			}
		})
	}
}

// BenchmarkDecide decides over a 10,000-file scan with a finding in every
// tenth file; SetBytes counts files, so "MB/s" reads as million files/s.
func BenchmarkDecide(b *testing.B) {
	p, err := Parse("/srv/policy.yaml", []byte("fail_on: high\nformats:\n  allow: [safetensors]\nignore: ['docs/']\nsuppress:\n  - rule: x/y\n    reason: r\n"))
	if err != nil {
		b.Fatal(err)
	}
	var files []*formats.FileResult
	for i := range 10000 {
		f := file(filepath.Join("shard", string(rune('a'+i%26)), "m.safetensors"), "safetensors")
		if i%10 == 0 {
			f.Findings = []formats.Finding{finding("safetensors/odd", formats.Medium)}
		}
		files = append(files, f)
	}
	in := Input{Scan: scan(files...), Root: root}
	b.SetBytes(int64(len(files)))
	for b.Loop() {
		Decide(p, in)
	}
}

// TestDecideRegistrySignature: oci.signature (policy/registry-signature)
// follows the rule of signature: for registry artifacts, and is a note
// for a local folder, which has no registry signature.
func TestDecideRegistrySignature(t *testing.T) {
	clean := scan(file("model.safetensors", "safetensors"), file("", "oci-manifest"))
	const required = "oci:\n  signature:\n    required: true\n    keys: [cosign.pub]\n"
	const optional = "oci:\n  signature:\n    keys: [cosign.pub]\n"
	cases := []struct {
		name    string
		policy  string
		in      Input
		verdict string
		ref     string // the policy entry the reason cites; "" = no reason
		note    string
	}{
		{"artifact signed under required trust", required, Input{Scan: clean, Root: root, Artifact: true, Registry: signedOK}, Admitted, "", ""},
		{"artifact unsigned under required trust", required, Input{Scan: clean, Root: root, Artifact: true, Registry: unsigned}, Rejected, "oci.signature.required: true (policy.yaml:3)", ""},
		{"artifact signed by someone else", required, Input{Scan: clean, Root: root, Artifact: true, Registry: signedBad}, Rejected, "oci.signature.required: true (policy.yaml:3)", ""},
		{"artifact whose signature was not checked", required, Input{Scan: clean, Root: root, Artifact: true}, Rejected, "oci.signature.required: true (policy.yaml:3)", ""},
		{"optional: a bad signature still rejects", optional, Input{Scan: clean, Root: root, Artifact: true, Registry: signedBad}, Rejected, "oci.signature.keys (policy.yaml:3)", ""},
		{"optional: unsigned is admitted with a note", optional, Input{Scan: clean, Root: root, Artifact: true, Registry: unsigned}, Admitted, "", "no registry signature"},
		{"local folder under required registry trust", required, Input{Scan: clean, Root: root}, Admitted, "", "applies to models read from a registry"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Decide(mustParse(t, c.policy), c.in)
			if d.Verdict != c.verdict {
				t.Fatalf("verdict %s, want %s: %+v", d.Verdict, c.verdict, d.Reasons)
			}
			if c.ref != "" {
				if len(d.Reasons) != 1 || d.Reasons[0].Rule != RuleRegistrySignature || d.Reasons[0].Policy != c.ref {
					t.Errorf("reasons %+v, want one %s citing %q", d.Reasons, RuleRegistrySignature, c.ref)
				}
			}
			if c.note != "" && !strings.Contains(strings.Join(d.Notes, "\n"), c.note) {
				t.Errorf("notes %q lack %q", d.Notes, c.note)
			}
		})
	}
}
