package hf

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
	_ "github.com/modelvet/modelvet/formats/template"
)

// TestModelauditTemplates scans the peer corpus's Jinja samples (config
// JSON, YAML and standalone template files) through formats.Scan and
// checks its labels: malicious -> a finding at High or above; benign ->
// nothing at High or above.
func TestModelauditTemplates(t *testing.T) {
	root := filepath.Join(formatstest.Peers(t), "modelaudit")
	f, err := os.Open(filepath.Join(root, "labels.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) != 2 {
			continue
		}
		path, want := parts[0], parts[1]
		ext := strings.ToLower(filepath.Ext(path))
		switch ext {
		case ".json", ".jinja", ".j2", ".template", ".yaml", ".yml":
		default:
			continue
		}
		n++
		t.Run(path, func(t *testing.T) {
			opts := formats.DefaultOptions()
			opts.Hash = false
			res, err := formats.Scan(context.Background(), []string{filepath.Join(root, filepath.FromSlash(path))}, opts)
			if err != nil {
				t.Fatal(err)
			}
			bad := res.Count(formats.High) > 0
			if bad != (want == "malicious") {
				var b strings.Builder
				for _, r := range res.Files {
					b.WriteString(formatstest.Describe(r))
				}
				t.Errorf("labelled %s, high-or-above=%v: %s", want, bad, b.String())
			}
		})
	}
	if n < 40 {
		t.Fatalf("expected ~45 template rows in labels.tsv, found %d", n)
	}
	t.Logf("%d template samples checked", n)
}
