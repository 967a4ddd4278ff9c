package template

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelvet/modelvet/formats"
)

// redTeam2 is one attack of testdata/redteam2.json: a template injection
// class (attribute names built from strings, str.format escapes, Jinja's
// own globals, lexer differentials, loaders, render-time bombs, lookalike
// names, prompt injection) proven live with real Jinja2 by
// testdata/prove_live2.py, plain and sandboxed.
type redTeam2 struct {
	Class string `json:"class"`
	Name  string `json:"name"`
	Src   string `json:"src"`
	// Want is "high" (a finding at High or above), "medium" (exactly
	// Medium: prompt injection, which runs nothing in the loader) or
	// "none-above-medium" (the template cannot run anything: at most a
	// Medium/Low note, never High).
	Want string `json:"want"`
	// Context holds the render variables the live proof passes (the
	// tokenizer's special tokens a publisher sets); Check never sees them.
	Context map[string]any `json:"context,omitempty"`
}

func loadRedTeam2(t testing.TB) []redTeam2 {
	b, err := os.ReadFile(filepath.Join("testdata", "redteam2.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cs []redTeam2
	if err := json.Unmarshal(b, &cs); err != nil {
		t.Fatal(err)
	}
	if len(cs) < 30 {
		t.Fatalf("expected at least 30 attacks, found %d", len(cs))
	}
	return cs
}

// TestRedTeam2 judges each attack of redteam2.json by its class.
func TestRedTeam2(t *testing.T) {
	for _, c := range loadRedTeam2(t) {
		t.Run(c.Class+"/"+c.Name, func(t *testing.T) {
			fs := Check(c.Src)
			m, ok := maxSev(fs)
			switch c.Want {
			case "high":
				if !ok || m < formats.High {
					t.Errorf("%s: want >= High, got%s", c.Src, describe(fs))
				}
			case "medium":
				if !ok || m != formats.Medium {
					t.Errorf("%s: want Medium, got%s", c.Src, describe(fs))
				}
			case "none-above-medium":
				if ok && m > formats.Medium {
					t.Errorf("%s: want nothing above Medium, got%s", c.Src, describe(fs))
				}
			default:
				t.Fatalf("unknown want %q", c.Want)
			}
		})
	}
}

// TestBombScanBounded: the bomb checks read a bounded window around each
// operator, so long operator chains (a scanner DoS) stay linear.
func TestBombScanBounded(t *testing.T) {
	cases := map[string]string{
		"product chain":       "{{ " + strings.Repeat("1*", 200_000) + "1 }}",
		"power chain":         "{{ " + strings.Repeat("2**", 100_000) + "2 }}",
		"parenthesized chain": "{{ " + strings.Repeat("(1)*", 100_000) + "1 }}",
		"unclosed range args": "{{ range(" + strings.Repeat("1,", 200_000),
		"unclosed macro call": "{% macro f(n) %}{{ f(" + strings.Repeat("n-1,", 100_000) + " }}{% endmacro %}",
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			Check(src)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Check took %v on %d bytes", d, len(src))
			}
		})
	}
}

// BenchmarkRealTemplatesCache measures Check over the collected real
// templates (collect_templates.py), in MB/s.
func BenchmarkRealTemplatesCache(b *testing.B) {
	m := cachedTemplates(b)
	if len(m) == 0 {
		b.Skip("no collected templates")
	}
	total := 0
	for _, s := range m {
		total += len(s)
	}
	b.SetBytes(int64(total))
	for range b.N {
		for _, s := range m {
			Check(s)
		}
	}
}
