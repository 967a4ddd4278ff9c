package template

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/modelvet/modelvet/formats"
)

// TestRenderTimeNames: names computed at render time and handed to
// something that resolves names (a subscript, |attr, map(attribute=),
// str.format fields). Each attack is one class the value-flow evaluator
// must follow across tags; the old token checks missed every one of these.
// Each has a benign twin below that must stay under Medium.
func TestRenderTimeNames(t *testing.T) {
	cases := []struct {
		name, src string
		min       formats.Severity
	}{
		// Pieces set in one order and used in another: no literal and no
		// in-order concatenation of literals shows the name.
		{"subscript with variables set out of order", `{% set b = 'ss__' %}{% set a = '__cla' %}{{ x[a ~ b] }}`, formats.Critical},
		{"printf format with variables", `{% set b = 'ss__' %}{% set a = '__cla' %}{{ x['%s%s'|format(a, b)] }}`, formats.Critical},
		{"percent operator with a tuple of variables", `{% set b = 'ss__' %}{% set a = '__cla' %}{{ x['%s%s' % (a, b)] }}`, formats.Critical},
		{"str.format with variables", `{% set b = 'ss__' %}{% set a = '__cla' %}{{ x['{0}{1}'.format(a, b)] }}`, formats.Critical},
		{"str.format with keyword variables", `{% set b = 'ss__' %}{% set a = '__cla' %}{{ x['{p}{q}'.format(q=b, p=a)] }}`, formats.Critical},
		{"list reversed and joined in a later tag", `{% set l = ['ss__', '__cla'] %}{% set n = l|reverse|join %}{{ x[n] }}`, formats.Critical},
		{"list built by append then joined", `{% set l = [] %}{% set _ = l.append('ss__') %}{% set _ = l.insert(0, '__cla') %}{{ x[l|join] }}`, formats.High},
		{"namespace fields joined", `{% set ns = namespace(a='__in', b='it__') %}{{ (namespace)[ns.a ~ ns.b] }}`, formats.Critical},
		{"namespace reaching __init__.__globals__ by subscripts", `{% set ns = namespace(p='__') %}{% set ns.i = ns.p ~ 'init' ~ ns.p %}{% set ns.g = ns.p ~ 'globals' ~ ns.p %}{{ namespace[ns.i][ns.g] }}`, formats.Critical},
		{"macro parameter used as a key", `{% macro g(o, n) %}{{ o[n] }}{% endmacro %}{% set b = 'ss__' %}{{ g(x, '__cla' ~ b) }}`, formats.Critical},
		{"loop-accumulated name", `{% set ns = namespace(s='') %}{% for c in ['_','_','c','l','a','s','s','_','_'] %}{% set ns.s = ns.s ~ c %}{% endfor %}{{ x[ns.s] }}`, formats.High},
		{"characters of a string iterated and joined", `{% set ns = namespace(s='') %}{% for c in '__class__' | reverse %}{% set ns.s = c ~ ns.s %}{% endfor %}{{ x[ns.s] }}`, formats.High},
		{"strided slice", `{{ x['____ccllaassss____'[::2]] }}`, formats.Critical},
		{"reversed slice", `{{ x['__ssalc__'[::-1]] }}`, formats.Critical},
		{"index arithmetic with %c", `{% set u = '%c'|format(94 + 1) %}{{ x[u ~ u ~ 'class' ~ u ~ u] }}`, formats.Critical},
		{"str.format fill builds underscores", `{{ x['{:_^9}'.format('class')] }}`, formats.High},
		{"center with fill", `{{ x['class'.center(9, '_')] }}`, formats.Critical},
		{"map with the attr filter and a computed name", `{% set b = 'ss__' %}{{ [x]|map('attr', '__cla' ~ b)|list }}`, formats.Critical},
		{"selectattr with a computed name", `{% set b = 'ss__' %}{{ xs|selectattr('__cla' ~ b)|list }}`, formats.Critical},
		{"attribute= with a computed name", `{% set b = 'ss__' %}{{ xs|map(attribute='__cla' ~ b)|list }}`, formats.Critical},
		{"dict literal value through getattr", `{% set d = {'k': '__cla' ~ 'ss__'} %}{{ x[d.k] }}`, formats.Critical},
		{"tuple unpacking", `{% set a, b = ('__cla', 'ss__') %}{{ x[a ~ b] }}`, formats.Critical},
		{"implicit concatenation of adjacent literals", `{{ x['__cla' 'ss__'] }}`, formats.Critical},
		{"backslash-CR line continuation inside a literal", "{{ x['__cla\\\rss__'] }}", formats.Critical},
		{"backslash-CRLF line continuation inside a literal", "{{ x['__cla\\\r\nss__'] }}", formats.Critical},
		{"named unicode escape", `{{ x['\N{LOW LINE}\N{low line}class\N{LOW LINE}\N{LOW LINE}'] }}`, formats.High},
		{"computed format string", `{% set f = '{0.__cla' %}{% set g = 'ss__}' %}{{ (f ~ g).format(x) }}`, formats.Critical},
		{"with-block variable", `{% with a = '__cla', b = 'ss__' %}{{ x[a ~ b] }}{% endwith %}`, formats.Critical},
		{"block set body used as a key", `{% set n %}__cla{% endset %}{% set m = n ~ 'ss__' %}{{ x[m] }}`, formats.Critical},
		{"macro output used as a key", `{% macro n() %}{{ 'ss__' }}{% endmacro %}{{ x['__cla' ~ n()] }}`, formats.High},
		{"unknown filter on template text used as a key", `{{ x['__CLASS__'|wordwrap(80)] }}`, formats.High},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := Check(c.src)
			got, _ := maxSev(fs)
			if got < c.min {
				t.Fatalf("%s: got %v, want at least %v%s", c.src, got, c.min, describe(fs))
			}
		})
	}
}

// TestRenderTimeNamesBenign: the shapes real templates use for computed
// keys (message fields, loop indices, literal lists, type maps) stay clean.
func TestRenderTimeNamesBenign(t *testing.T) {
	cases := []struct{ name, src string }{
		{"message field by literal", `{% for m in messages %}{{ m['role'] }}{% endfor %}`},
		{"loop index arithmetic", `{% for m in messages %}{{ messages[loop.index0 - 1]['content'] }}{% endfor %}`},
		{"key from a data loop", `{% for k, v in tool.parameters.properties.items() %}{{ tool.parameters.properties[k] }}{% endfor %}`},
		{"key from a literal list", `{% for f in ['name', 'description'] %}{{ tool[f] }}{% endfor %}`},
		{"type map keyed by a data field", `{% set m = {'string': 'str', 'number': 'float'} %}{{ m[spec.type] }}`},
		{"namespace index", `{% set ns = namespace(i=0) %}{% for m in messages %}{% set ns.i = loop.index0 %}{% endfor %}{{ messages[ns.i] }}`},
		{"negative index and slices", `{{ messages[-1]['content'] }}{{ messages[1:] }}{{ text[::-1] }}`},
		{"macro parameter from data", `{% macro f(spec) %}{{ m[spec.type] }}{% endmacro %}{{ f(tool.parameters) }}{{ f(spec['items'] if spec['items'] else 'Any') }}`},
		{"string building for output only", `{% set p = '<|' ~ m.role ~ '|>' %}{{ p ~ m.content }}`},
		{"format for output", `{{ '%s: %s'|format(m.role, m.content) }}{{ '{0}:{1}'.format(a, b) }}`},
		{"dict get", `{{ m.get('content', '') }}{{ tools|map(attribute='function')|list|tojson }}`},
		{"counter by namespace", `{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ messages[ns.n - 1] }}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := Check(c.src)
			if got, any := maxSev(fs); any && got >= formats.Medium {
				t.Fatalf("%s: benign template flagged%s", c.src, describe(fs))
			}
		})
	}
}

// TestFlowBounded: hostile shapes for the evaluator (long chains of
// variables, values that double on every tag, mutually recursive macros,
// values that never stop growing) finish quickly.
func TestFlowBounded(t *testing.T) {
	var chain, blow, macros, grow strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&chain, "{%% set a%d = a%d ~ 'x%d' %%}", i+1, i, i)
	}
	chain.WriteString("{{ x[a5000] }}")
	blow.WriteString("{% set a = 'q' %}")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&blow, "{%% set a%d = a ~ a ~ a ~ a %%}{%% set a = a%d if x else a ~ '%d' %%}", i, i, i)
	}
	blow.WriteString("{{ x[a] }}")
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&macros, "{%% macro m%d(p) %%}{{ x[p] }}{{ m%d(p ~ p) }}{%% endmacro %%}", i, (i+1)%2000)
	}
	macros.WriteString("{{ m0('_') }}")
	for i := 0; i < 500; i++ {
		grow.WriteString("{% set a = [a, a ~ 'y'] %}")
	}
	grow.WriteString("{{ x[a|join] }}")
	for name, src := range map[string]string{"chain": chain.String(), "doubling": blow.String(), "recursive macros": macros.String(), "nesting": grow.String()} {
		start := time.Now()
		fs := Check(src)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s: %v for %d bytes", name, d, len(src))
		}
		// Each ends with a key built from template text that cannot be
		// followed exactly: it must not pass.
		if got, _ := maxSev(fs); got < formats.High {
			t.Errorf("%s: got %v, want a computed-name finding%s", name, got, describe(fs))
		}
	}
}
