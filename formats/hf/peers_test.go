package hf

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats/formatstest"
	_ "github.com/modelvet/modelvet/formats/template"
)

// TestModelauditTemplates scans the peer corpus's Jinja samples (config
// JSON, YAML and standalone template files) through formats.Scan and
// checks its labels: malicious -> a finding at High or above; benign ->
// nothing at High or above.
func TestModelauditTemplates(t *testing.T) {
	n := 0
	for _, row := range formatstest.Labels(t, "modelaudit") {
		switch strings.ToLower(filepath.Ext(row.Path)) {
		case ".json", ".jinja", ".j2", ".template", ".yaml", ".yml":
		default:
			continue
		}
		n++
		t.Run(row.Path, func(t *testing.T) { formatstest.ExpectLabel(t, row) })
	}
	if n < 40 {
		t.Fatalf("expected ~45 template rows in labels.tsv, found %d", n)
	}
	t.Logf("%d template samples checked", n)
}
