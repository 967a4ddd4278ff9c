package formats

import (
	"fmt"
	"sort"
)

// PerRule reports findings through a Scope, at most Max of each rule: a
// hostile file repeating one problem thousands of times must not flood
// the report (or the memory holding it). Close then says, per rule that
// went over, how many more there were, so nothing vanishes silently.
type PerRule struct {
	S   *Scope
	Max int
	n   map[string]int
}

// Reportf is Scope.Reportf under the per-rule cap.
func (p *PerRule) Reportf(rule string, sev Severity, offset int64, format string, args ...any) {
	if p.n == nil {
		p.n = map[string]int{}
	}
	p.n[rule]++
	if p.n[rule] <= p.Max {
		p.S.Reportf(rule, sev, offset, format, args...)
	}
}

// Close reports, at Info, how many findings of each rule were not listed.
func (p *PerRule) Close() {
	rules := make([]string, 0, len(p.n))
	for r, n := range p.n {
		if n > p.Max {
			rules = append(rules, r)
		}
	}
	sort.Strings(rules)
	for _, r := range rules {
		p.S.Report(Finding{Rule: r, Severity: Info, Offset: NoOffset, Message: fmt.Sprintf("%d more findings of this rule were not listed", p.n[r]-p.Max)})
	}
}
