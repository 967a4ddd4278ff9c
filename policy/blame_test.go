package policy

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/report"
)

// TestReasonsBlameWhatFailed: a provenance attestation about other
// content is blamed on its subject, not on provenance.builder_ids (editing
// that line would not help); one from another builder is blamed on
// builder_ids. Suppressed and ignored findings are marked for the report.
func TestReasonsBlameWhatFailed(t *testing.T) {
	p := mustParse(t, "signature:\n  keys: [k.pub]\nprovenance:\n  required: true\n  builder_ids: [https://b]\nignore: [docs/**]\nsuppress:\n  - rule: pickle/unknown-import\n    reason: reviewed\n")
	res := scan(file("model.safetensors", "safetensors"),
		file("a.pkl", "pickle", finding("pickle/unknown-import", formats.Low)),
		file("docs/x.bin", "pytorch", finding("pickle/dangerous-import", formats.Critical)))
	cases := []struct {
		name  string
		blame string
		want  string
	}{
		{"subject digest is another model's", "the attestation's subject (it must name this model's digest)", "the attestation's subject"},
		{"another builder", "", "provenance.builder_ids"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Decide(p, Input{Scan: res, Root: root, Signature: signedOK, Provenance: &Outcome{Present: true, Blame: c.blame, Failures: []string{"x"}}})
			if len(d.Reasons) != 1 || !strings.HasPrefix(d.Reasons[0].Policy, c.want) || d.Reasons[0].Path != filepath.Join(root, "model.intoto.jsonl") {
				t.Fatalf("reasons %+v, want one blaming %q at the attestation", d.Reasons, c.want)
			}
			kinds := map[string]string{}
			for _, m := range d.Marks {
				kinds[m.Path] = m.Kind
			}
			if kinds[filepath.Join(root, "a.pkl")] != report.MarkSuppressed || kinds[filepath.Join(root, "docs", "x.bin")] != report.MarkIgnored {
				t.Errorf("marks %+v", d.Marks)
			}
		})
	}
}
