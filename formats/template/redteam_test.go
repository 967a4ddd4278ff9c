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

// TestSSTIVariants: server-side template injection payloads from the
// CVE-2024-34359 family and public SSTI cheat sheets, beyond the visible
// corpora. Each must come out at High or above.
func TestSSTIVariants(t *testing.T) {
	cases := map[string]string{
		"self-init-globals":            `{{ self.__init__.__globals__ }}`,
		"cycler-popen":                 `{{ cycler.__init__.__globals__.os.popen('id').read() }}`,
		"lipsum-globals-subscript":     `{{ lipsum.__globals__['os'] }}`,
		"mro-subclasses":               `{{ ''.__class__.__mro__[1].__subclasses__() }}`,
		"attr-hex-escape":              `{{ ()|attr('\x5f\x5fclass\x5f\x5f') }}`,
		"attr-join-list":               `{{ request|attr(['_'*2,'class','_'*2]|join) }}`,
		"attr-join-list-norequest":     `{{ x|attr(['_'*2,'class','_'*2]|join) }}`,
		"set-concat-attr":              `{% set x = '__cla' ~ 'ss__' %}{{ ''|attr(x) }}`,
		"subscript-class":              `{{ ''['__class__'] }}`,
		"joiner-globals":               `{{ joiner.__init__.__globals__ }}`,
		"namespace-globals":            `{{ namespace.__init__.__globals__ }}`,
		"for-subclasses":               `{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}`,
		"getattribute-concat":          `{{ x.__getattribute__('__cla'+'ss__') }}`,
		"format-c":                     `{{ x|attr('%c%cclass%c%c'|format(95,95,95,95)) }}`,
		"string-list-underscore":       `{% set u = (x|string|list)[5] %}{{ x|attr(u*2~'class'~u*2) }}`,
		"reverse-join":                 `{{ x|attr('__ssalc__'|reverse) }}`,
		"replace":                      `{{ x|attr('__clXss__'|replace('X','a')) }}`,
		"config-items":                 `{{ config.items() }}`,
		"unicode-escape":               `{{ x|attr('\u005f\u005fclass\u005f\u005f') }}`,
		"octal-escape":                 `{{ x|attr('\137\137class\137\137') }}`,
		"dict-key-first":               `{{ x|attr(dict(__class__=1)|first) }}`,
		"dict-key-list":                `{{ x|attr((dict(__cla=1,ss__=2)|list)|join) }}`,
		"include":                      `{% include 'other.j2' %}`,
		"import":                       `{% import 'macros.j2' as m %}`,
		"extends":                      `{% extends 'base.j2' %}`,
		"from-import":                  `{% from 'x.j2' import y %}`,
		"lipsum-no-attr":               `{{ lipsum|attr('__globals__') }}`,
		"map-attribute":                `{{ [x]|map(attribute='__class__')|list }}`,
		"selectattr-globals":           `{{ x|selectattr('__globals__')|list }}`,
		"range-globals":                `{{ range.__globals__ }}`,
		"dict-globals":                 `{{ dict.__init__.__globals__ }}`,
		"chr-construct":                `{% set c = x.__class__ %}`,
		"getitem-join-name":            `{{ x[['__cla','ss__']|join] }}`,
		"tilde-subscript":              `{{ x['__cla' ~ 'ss__'] }}`,
		"filter-block-attr":            `{% filter attr('__class__') %}{% endfilter %}`,
		"set-block":                    `{% set n %}__class__{% endset %}{{ x|attr(n) }}`,
		"set-block-split":              `{% set n %}__cla{% endset %}{% set m %}ss__{% endset %}{{ x|attr(n~m) }}`,
		"raw-text-join":                `{% set p = '_' %}{{ x|attr(p~p~'class'~p~p) }}`,
		"underscore-mult":              `{{ x|attr('_'*2~'class'~'_'*2) }}`,
		"format-s-percent":             `{{ x|attr('%s%sclass%s%s' % ('_','_','_','_')) }}`,
		"urlencode-unescape":           `{{ x|attr('%5f%5fclass%5f%5f'|urldecode) }}`,
		"string-format-method":         `{{ '{0.__class__}'.format(x) }}`,
		"format-method-keyword":        `{{ '{a.__class__}'.format(a=x) }}`,
		"builtins-getattr":             `{{ __builtins__ }}`,
		"request-application":          `{{ request.application.__self__._get_data_for_json.__globals__['json'].JSONEncoder.default.__init__.__globals__['current_app'] }}`,
		"gguf-whitespace-ctrl":         `{%- for m in messages -%}{{- m.__class__ -}}{%- endfor -%}`,
		"loop-cycle-globals":           `{% for m in messages %}{{ loop.cycle.__globals__ }}{% endfor %}`,
		"subscript-underscore-mult":    `{{ x['_'*2~'class'~'_'*2] }}`,
		"subscript-set-block":          `{% set n %}__class__{% endset %}{{ x[n] }}`,
		"subscript-center":             `{{ x['class'|center(9,'_')] }}`,
		"subscript-format-c":           `{{ x['%c%cclass%c%c'|format(95,95,95,95)] }}`,
		"subscript-join-chars":         `{{ x[('_','_','class','_','_')|join] }}`,
		"subscript-lower":              `{{ x['__CLASS__'|lower] }}`,
		"attr-upper-lower":             `{{ x|attr('__CLASS__'|lower) }}`,
		"subscript-map-chr":            `{% set u = '%c'|format(95) %}{{ x[u~u~'globals'~u~u] }}`,
		"for-loop-var-pieces":          `{% for a in ['__','class'] %}{% endfor %}{{ x[a~'class'~a] }}`,
		"concat-split-strings":         `{% set a = '__' %}{% set b = 'globals' %}{{ f[a~b~a] }}`,
		"mult-string":                  `{{ f['_'*2 ~ 'globals' ~ '_'*2]['os'] }}`,
		"namespace-setattr":            `{% set ns = namespace() %}{{ ns.__setattr__('x', 1) }}`,
		"invalid utf8 splits a dunder": "{{ x|attr('__cl\xffass__') }}",
		"invalid utf8 splits a global": "{{ cyc\xfeler.x }}{{ x|attr('__glo\xc0bals__') }}",
		"underscore from a kwarg name": "{% set u = (dict(a_b=1)|first)[1] %}{{ x[u*2~'class'~u*2] }}",
		"stem in a joined list":        "{% set u = (dict(a_b=1)|first)[1] %}{{ x[[u,u,'globals',u,u]|join] }}",
		"macro body as a name":         "{% macro n() %}__class__{% endmacro %}{{ x[n()] }}",
		"macro body split":             "{% macro n() %}__glo{{ '' }}bals__{% endmacro %}{{ f[n()] }}",
		"env-global":                   `{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('id').read() }}`,
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			fs := Check(src)
			if m, ok := maxSev(fs); !ok || m < formats.High {
				t.Errorf("%s: want >= High, got%s", src, describe(fs))
			}
		})
	}
}

// TestBenignTemplatesMore: chat templates in the style of published model
// families beyond the peer corpus (testdata/make_benign.py): Phi-3, Falcon,
// Vicuna, Alpaca, Zephyr, OpenChat, Yi, InternLM2, Baichuan2, ChatGLM3,
// GLM-4, StarCoder2, Granite (strftime_now, tools), OLMo, Aya, Llama 3.1 and
// Qwen2.5 tool calling (namespace, tojson), Mistral (selectattr), DeepSeek
// R1, Gemma (macro). None may produce a finding at Medium or above.
func TestBenignTemplatesMore(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "benign_templates.json"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m) < 20 {
		t.Fatalf("expected at least 20 templates, found %d", len(m))
	}
	for name, src := range m {
		t.Run(name, func(t *testing.T) {
			fs := Check(src)
			if s, ok := maxSev(fs); ok && s >= formats.Medium {
				t.Errorf("false alarm on a benign template:%s", describe(fs))
			}
		})
	}
}

// TestComputedAttributeArguments: attribute names given to map/selectattr/
// sort at render time, and str.format patterns that build underscores.
func TestComputedAttributeArguments(t *testing.T) {
	bad := map[string]string{
		"map attribute variable":    `{{ [x]|map(attribute=n)|list }}`,
		"map attribute concat":      `{{ [x]|map(attribute='a'~n)|list }}`,
		"selectattr variable":       `{{ xs|selectattr(n)|list }}`,
		"sort attribute variable":   `{{ xs|sort(attribute=request.args.a) }}`,
		"format c code":             `{{ x|attr('{0:c}{0:c}class{0:c}{0:c}'.format(95)) }}`,
		"format c code subscript":   `{{ x['{0:c}{0:c}class{0:c}{0:c}'.format(95)] }}`,
		"format underscore fill":    `{{ x['{:_^9}'.format('class')] }}`,
		"center with underscores":   `{{ x['class'.center(9,'_')] }}`,
		"join with underscore list": `{{ x['_'.join(['','','class','',''])] }}`,
	}
	for name, src := range bad {
		t.Run(name, func(t *testing.T) {
			fs := Check(src)
			if m, ok := maxSev(fs); !ok || m < formats.High {
				t.Errorf("%s: want >= High, got%s", src, describe(fs))
			}
		})
	}
	good := map[string]string{
		"map literal":         `{{ tools|map(attribute='function')|list|tojson }}`,
		"selectattr literal":  `{{ messages|selectattr('role', 'equalto', 'user')|list }}`,
		"sort literal":        `{{ items|sort(attribute='name') }}`,
		"format placeholders": `{{ '{}: {}'.format(a, b) }}`,
		"format width":        `{{ '{:>8}'.format(a) }}`,
		// A multimodal placeholder shaped like a dunder names no attribute.
		"media placeholder": `{% set img = '<__media__>' %}{{ message['content']|replace(img, '') ~ '<__image__>' }}`,
	}
	for name, src := range good {
		t.Run(name, func(t *testing.T) {
			fs := Check(src)
			if m, ok := maxSev(fs); ok && m >= formats.Medium {
				t.Errorf("%s: false alarm%s", src, describe(fs))
			}
		})
	}
}

// BenchmarkCheck measures the checker over the benign templates.
func BenchmarkCheck(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("testdata", "benign_templates.json"))
	if err != nil {
		b.Fatal(err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(raw, &m); err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, s := range m {
		n += len(s)
	}
	b.SetBytes(int64(n))
	for i := 0; i < b.N; i++ {
		for _, s := range m {
			Check(s)
		}
	}
}

// TestPathologicalTemplatesStayLinear: shapes that would make a naive
// checker quadratic (unclosed set blocks each scanning to the end, nested
// filter calls each rescanning their arguments) finish in bounded time.
// The bound is generous for a shared machine; quadratic work on these
// megabytes would take minutes.
func TestPathologicalTemplatesStayLinear(t *testing.T) {
	for name, src := range map[string]string{
		"unclosed set blocks": strings.Repeat("{% set a %}x", 200000),
		"nested map calls":    "{{ " + strings.Repeat("x|map(", 100000) + strings.Repeat(")", 100000) + " }}",
		"many small tags":     strings.Repeat("{{ '_' ~ 'class' }}", 100000),
		"unclosed macros":     strings.Repeat("{% macro m() %}ab{{ 'c' }}", 100000),
	} {
		start := time.Now()
		Check(src)
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%s: %d bytes took %v", name, len(src), d)
		}
	}
}
