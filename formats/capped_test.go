package formats

import (
	"strings"
	"testing"
)

// TestPerRule: a file repeating one problem (a program with 10,000 py_func
// operators) lists Max of them and one Info line with the rest's count;
// rules under the cap are listed whole and get no such line.
func TestPerRule(t *testing.T) {
	cases := []struct {
		name   string
		max    int
		counts map[string]int
		want   []string // rule and message prefix per finding, in order
	}{
		{"one rule repeated past the cap", 3, map[string]int{"x/flood": 4}, []string{"x/flood 0", "x/flood 1", "x/flood 2", "x/flood 1 more findings"}},
		{"under the cap", 2, map[string]int{"x/a": 2}, []string{"x/a 0", "x/a 1"}},
		{"two rules over, summaries in rule order", 2, map[string]int{"x/b": 3, "x/a": 3}, []string{"x/a 0", "x/b 0", "x/a 1", "x/b 1", "x/a 1 more findings", "x/b 1 more findings"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := DefaultOptions()
			res := &FileResult{}
			p := &PerRule{S: NewScope("m.bin", &opts, res), Max: c.max}
			// Interleaved, as a walk meets them.
			for i := 0; i < 4; i++ {
				for _, r := range []string{"x/a", "x/b", "x/flood"} {
					if i < c.counts[r] {
						p.Reportf(r, High, 0, "%d", i)
					}
				}
			}
			p.Close()
			var got []string
			for _, f := range res.Findings {
				got = append(got, f.Rule+" "+f.Message)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
			for i, w := range c.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("finding %d: %q, want %q...", i, got[i], w)
				}
			}
			for _, f := range res.Findings {
				if strings.Contains(f.Message, "more findings") != (f.Severity == Info) {
					t.Errorf("%s %q at %v: only the summary is info", f.Rule, f.Message, f.Severity)
				}
			}
		})
	}
}
