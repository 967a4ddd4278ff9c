package report

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var ruleNameRE = regexp.MustCompile(`^([a-z0-9]+(?:-[a-z0-9]+)*)/[a-z0-9]+(-[a-z0-9]+)*$`)

// emittedRules collects every string literal in the module's non-test Go
// code that looks like a rule name of a known family ("pickle/...").
// Import paths ("archive/zip") are not rules.
func emittedRules(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ImportSpec:
				return false
			case *ast.BasicLit:
				if n.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(n.Value)
				if err != nil {
					return true
				}
				if m := ruleNameRE.FindStringSubmatch(s); m != nil {
					if _, ok := families[m[1]]; ok {
						if _, dup := out[s]; !dup {
							out[s] = fset.Position(n.Pos()).String()
						}
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCatalogueCoversEmittedRules: every rule the code emits has words in
// the catalogue. Rules that existed when the catalogue was last brought up
// to date (testdata/catalogued-rules.txt) must keep their entry; a rule
// added since gets a generic description in reports and is listed here so
// the next catalogue update adds it.
func TestCatalogueCoversEmittedRules(t *testing.T) {
	emitted := emittedRules(t)
	if len(emitted) < 100 {
		t.Fatalf("found only %d rule names in the code; the collector is broken", len(emitted))
	}
	frozen := map[string]bool{}
	f, err := os.Open("testdata/catalogued-rules.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			frozen[l] = true
		}
	}
	var missing, pending []string
	for id, where := range emitted {
		if _, ok := catalogue[id]; ok {
			continue
		}
		if frozen[id] {
			missing = append(missing, id+" ("+where+")")
		} else {
			pending = append(pending, id+" ("+where+")")
		}
	}
	sort.Strings(missing)
	sort.Strings(pending)
	if len(pending) > 0 {
		t.Logf("rules without a catalogue entry (reports use their family's generic description; add them to report/rules.txt):\n  %s", strings.Join(pending, "\n  "))
	}
	if len(missing) > 0 {
		t.Errorf("rules lost their catalogue entry (report/rules.txt):\n  %s", strings.Join(missing, "\n  "))
	}
	for id := range frozen {
		if _, ok := catalogue[id]; !ok && emitted[id] == "" {
			t.Logf("%s is catalogued as of the last update but no longer emitted", id)
		}
	}
	for _, r := range Rules() {
		prefix, _, _ := strings.Cut(r.ID, "/")
		if _, ok := families[prefix]; !ok {
			t.Errorf("rule %s: family %q has no description in rules.go", r.ID, prefix)
		}
	}
}
