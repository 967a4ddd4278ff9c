package report

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// rulesMarkdown renders docs/rules.md from the catalogue: one section per
// family (the anchors the SARIF help URIs point at), one row per rule.
func rulesMarkdown() string {
	var b strings.Builder
	b.WriteString("# modelvet rules\n\nGenerated from `report/rules.txt` and `report/rules.go` by `MODELVET_UPDATE_DOCS=1 go test ./report -run TestRulesDoc`; do not edit by hand.\n")
	b.WriteString("Each rule name is stable. The severity is the usual one; a finding may be reported higher or lower when the file shows more or less.\n")
	byFamily := map[string][]RuleInfo{}
	for _, r := range Rules() {
		p, _, _ := strings.Cut(r.ID, "/")
		byFamily[p] = append(byFamily[p], r)
	}
	names := make([]string, 0, len(families))
	for p := range families {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		f := families[p]
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n**What to do:** %s\n\n| rule | severity | what it means |\n|---|---|---|\n", p, f.full, f.help)
		for _, r := range byFamily[p] {
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.ID, r.Severity, r.Short)
		}
	}
	return b.String()
}

// TestRulesDocIsCurrent: the page the SARIF help URIs link to documents
// exactly the catalogue.
func TestRulesDocIsCurrent(t *testing.T) {
	path := filepath.Join("..", "docs", "rules.md")
	want := rulesMarkdown()
	if os.Getenv("MODELVET_UPDATE_DOCS") != "" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("docs/rules.md is out of date with the catalogue; run MODELVET_UPDATE_DOCS=1 go test ./report -run TestRulesDoc")
	}
	for _, r := range Rules() {
		p, _, _ := strings.Cut(r.ID, "/")
		if !strings.HasSuffix(r.HelpURI, "/docs/rules.md#"+p) || !strings.Contains(string(got), "\n## "+p+"\n") {
			t.Errorf("%s: help URI %s has no section in docs/rules.md", r.ID, r.HelpURI)
		}
	}
}
