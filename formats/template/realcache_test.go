package template

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
)

// cachedTemplates reads the real chat templates that
// testdata/realfiles/collect_templates.py copies out of public repositories
// (Hugging Face, Ollama, llama.cpp, vLLM, SGLang, axolotl, TRL, unsloth,
// xinference...) into a cache folder outside the repository:
// $MODELVET_TEMPLATES, else <real-files cache>/templates. It returns nil
// when the cache has not been filled.
func cachedTemplates(t testing.TB) map[string]string {
	dir := os.Getenv("MODELVET_TEMPLATES")
	if dir == "" {
		base := os.Getenv("MODELVET_REALFILES")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil
			}
			base = filepath.Join(home, ".cache", "modelvet-realfiles")
		}
		dir = filepath.Join(base, "templates")
	}
	m := map[string]string{}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".jinja") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		m[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	return m
}

// TestRealTemplatesCache: every real chat template in the collected cache
// (hundreds, see collect_templates.py) passes with nothing above Low.
func TestRealTemplatesCache(t *testing.T) {
	m := cachedTemplates(t)
	if len(m) == 0 {
		t.Skip("no collected templates: run /usr/bin/python3 testdata/realfiles/collect_templates.py (it reads the mirrors the fetch tool leaves)")
	}
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	flagged := 0
	for _, id := range ids {
		fs := Check(m[id])
		if s, ok := maxSev(fs); ok && s >= formats.Medium {
			flagged++
			t.Errorf("%s: real template flagged:%s", id, describe(fs))
		}
	}
	t.Logf("%d real templates checked, %d flagged at medium or above", len(ids), flagged)
}
