package template

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

func maxSev(fs []formats.Finding) (formats.Severity, bool) {
	if len(fs) == 0 {
		return formats.Info, false
	}
	m := fs[0].Severity
	for _, f := range fs {
		if f.Severity > m {
			m = f.Severity
		}
	}
	return m, true
}

func describe(fs []formats.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("\n  " + f.Severity.String() + " " + f.Rule + " " + f.Where() + ": " + f.Message)
	}
	return b.String()
}

func realTemplates(t testing.TB) map[string]string {
	p := filepath.Join(formatstest.Peers(t), "chat-templates", "templates.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m) < 50 {
		t.Fatalf("expected the 53 real templates, found %d", len(m))
	}
	return m
}

// TestRealTemplates: every published chat template must pass with nothing
// at or above Medium.
func TestRealTemplates(t *testing.T) {
	m := realTemplates(t)
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fs := Check(m[id])
		if s, ok := maxSev(fs); ok && s >= formats.Medium {
			t.Errorf("%s: real template flagged:%s", id, describe(fs))
		}
	}
	t.Logf("%d real templates checked", len(ids))
}

func TestAttacks(t *testing.T) {
	cases := []struct {
		name, src string
		min       formats.Severity
		rule      string
	}{
		{"dunder attribute chain", `{{ ''.__class__.__mro__[1].__subclasses__() }}`, formats.Critical, RuleEscape},
		{"subscript dunder", `{{ x['__globals__'] }}`, formats.Critical, RuleEscape},
		{"attr filter literal", `{{ ''|attr('__class__') }}`, formats.Critical, RuleEscape},
		{"attr filter computed", `{% set n = foo %}{{ ''|attr(n) }}`, formats.High, RuleAttrFilter},
		{"concatenated name", `{{ ''|attr('__cla' ~ 'ss__') }}`, formats.Critical, RuleEscape},
		{"concatenated name in subscript", `{{ x['__glo' + 'bals__'] }}`, formats.Critical, RuleEscape},
		{"joined list", `{{ x[['__gl','obals__']|join] }}`, formats.Critical, RuleEscape},
		{"reversed string", `{{ x|attr('__ssalc__'|reverse) }}`, formats.Critical, RuleEscape},
		{"replace", `{{ x|attr('__clXss__'|replace('X','a')) }}`, formats.Critical, RuleEscape},
		{"char codes", `{{ x[[95,95,99,108,97,115,115,95,95]|map('chr')|join] }}`, formats.Critical, RuleEscape},
		{"percent-c format", `{{ x|attr('%c%cclass%c%c'|format(95,95,95,95)) }}`, formats.Critical, RuleEscape},
		{"percent-c single", `{{ x|attr(('%c'|format(95))*2 ~ 'class' ~ ('%c'|format(95))*2) }}`, formats.High, RuleAttrFilter},
		{"percent operator", `{{ x|attr('%s%s' % ('__cla', 'ss__')) }}`, formats.Critical, RuleEscape},
		{"os module", `{{ os.system('id') }}`, formats.Critical, RuleEscape},
		{"subprocess module", `{{ subprocess.check_output('id') }}`, formats.Critical, RuleEscape},
		{"exec builtin", `{{ exec('import os') }}`, formats.Critical, RuleEscape},
		{"lipsum alone", `{{ lipsum(1) }}`, formats.High, RuleGlobal},
		{"hex escapes", `{{ request['application']['\x5f\x5fglobals\x5f\x5f'] }}`, formats.Critical, RuleEscape},
		{"octal escapes", `{{ x['\137\137globals\137\137'] }}`, formats.Critical, RuleEscape},
		{"unicode escapes", `{{ x['\u005f\u005fglobals\u005f\u005f'] }}`, formats.Critical, RuleEscape},
		{"named escapes", `{{ x['\N{LOW LINE}\N{LOW LINE}globals\N{LOW LINE}\N{LOW LINE}'] }}`, formats.Critical, RuleEscape},
		{"cycler globals", `{{ cycler.__init__.__globals__.os.popen('id').read() }}`, formats.Critical, RuleEscape},
		{"joiner", `{{ joiner.__init__.__globals__ }}`, formats.Critical, RuleEscape},
		{"lipsum", `{{ lipsum.__globals__['os'].popen('id') }}`, formats.Critical, RuleEscape},
		{"namespace init", `{{ namespace.__init__.__globals__ }}`, formats.Critical, RuleEscape},
		{"template reference context", `{{ self._TemplateReference__context }}`, formats.Critical, RuleEscape},
		{"self alone", `{{ self }}`, formats.High, RuleGlobal},
		{"flask config", `{{ config.items() }}`, formats.Critical, RuleEscape},
		{"request args", `{{ request.args.x }}`, formats.Critical, RuleEscape},
		{"url_for", `{{ url_for.__globals__ }}`, formats.Critical, RuleEscape},
		{"get_flashed_messages", `{{ get_flashed_messages() }}`, formats.Critical, RuleEscape},
		{"getattr builtin", `{{ getattr('', 'x') }}`, formats.Critical, RuleEscape},
		{"eval", `{{ eval('1') }}`, formats.Critical, RuleEscape},
		{"import builtin", `{{ __import__('os') }}`, formats.Critical, RuleEscape},
		{"popen call", `{{ x.popen('id') }}`, formats.High, RuleCall},
		{"map attribute", `{{ xs|map(attribute='__class__')|list }}`, formats.Critical, RuleEscape},
		{"filter block with attr", `{% filter attr(name) %}x{% endfilter %}`, formats.High, RuleAttrFilter},
		{"import tag", `{% import 'os' as os %}`, formats.High, RuleLoad},
		{"include tag", `{% include '/etc/passwd' %}`, formats.High, RuleLoad},
		{"private attribute", `{{ c()._secret }}`, formats.High, RulePrivate},
		{"mro attribute", `{{ x.mro() }}`, formats.Critical, RuleEscape},
		{"split across set tags", `{% set a = '__glo' %}{% set b = a ~ 'bals__' %}{{ y[b] }}`, formats.Critical, RuleEscape},
		{"unclosed tag", `{{ unclosed`, formats.Medium, RuleUnparsable},
		{"str.format attribute field", `{{ '{0.__class__.__mro__}'.format(x) }}`, formats.Critical, RuleEscape},
		{"dict kwarg name", `{{ x|attr(dict(__class__=1)|first) }}`, formats.Critical, RuleEscape},
		{"implicit string concatenation", `{{ x['__cla' 'ss__'] }}`, formats.Critical, RuleEscape},
		{"code after a fake endraw", `{% raw %}{% endraw %}{{ x.__class__ }}`, formats.Critical, RuleEscape},
		{"inside nested braces", `{{ {'a': x.__class__} }}`, formats.Critical, RuleEscape},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := Check(c.src)
			ok := false
			for _, f := range fs {
				if f.Rule == c.rule && f.Severity >= c.min {
					ok = true
				}
			}
			if !ok {
				t.Errorf("want %s >= %s:%s", c.rule, c.min, describe(fs))
			}
		})
	}
}

func TestBenignShapes(t *testing.T) {
	for name, src := range map[string]string{
		"own variable named config": `{% set config = {'a': 1} %}{{ config.a }}`,
		"for over messages":         `{% for m in messages %}{{ m.role|upper }}{% endfor %}`,
		"raw block with dunders":    `{% raw %}{{ x.__class__ }}{% endraw %}ok`,
		"raw with lookalike end":    `{% raw %}{% endrawx %}{{ x.__class__ }}{%- endraw -%}ok`,
		"comment mentioning import": `{# import os #}{{ 'from x import y' }}`,
		"selectattr":                `{{ messages|selectattr('role', 'equalto', 'system')|list }}`,
		"namespace":                 `{% set ns = namespace(found=false) %}{% set ns.found = true %}{{ ns.found }}`,
		"raise_exception":           `{{ raise_exception('Only user and assistant roles are supported') }}`,
		"loop controls":             `{% for m in messages %}{% if loop.first %}{% continue %}{% endif %}{% break %}{% endfor %}`,
		"markdown rule":             `{{ '_____' }}`,
		// GigaChat 3 (llama.cpp's test-chat-template.cpp) names its
		// helper macros with leading underscores.
		"macro named with underscores": `{%- macro __render_tool(tool) %}{{ tool.function.name }}{%- endmacro %}{% for t in tools %}{{ __render_tool(t) }}{% endfor %}`,
		// llama-cpp-python's Llava 1.5 template: self.NAME is a block
		// of the template (or undefined), not a way out.
		"self block reference": `{{ self.DEFAULT_SYSTEM_MESSAGE }}{{ self['header'] }}`,
		// recursion that walks the request's data is bounded by it
		"recursive loop over data":      `{% for item in tools recursive %}{{ item.name }}{% if item.children %}{{ loop(item.children) }}{% endif %}{% endfor %}`,
		"macro recursing into a schema": `{% macro render(s, depth) %}{% for k, v in s.properties|items %}{{ k }}{{ render(v, depth + 1) }}{% endfor %}{% endmacro %}{{ render(tools[0].parameters, 0) }}`,
		// a loop and counts a real template could hold: bounded work
		"modest constants": `{% for i in range(100) %}{{ '-' * 80 }}{{ 'x'|center(40) }}{{ 2 ** 10 }}{{ '%05d'|format(i) }}{% endfor %}{{ tools|tojson(indent=4) }}`,
	} {
		fs := Check(src)
		if s, ok := maxSev(fs); ok && s >= formats.Medium {
			t.Errorf("%s: flagged:%s", name, describe(fs))
		}
	}
}

func TestYAML(t *testing.T) {
	o := formats.DefaultOptions()
	for name, c := range map[string]struct {
		src  string
		rule string
	}{
		"python tag":          {"model: x\nloader: !!python/object/apply:os.system ['id']\n", "yaml/python-tag"},
		"chat_template":       {"chat_template: \"{{ cycler.__init__.__globals__ }}\"\n", RuleEscape},
		"payload under a key": {"deploy: \"{{ __import__('os') }}\"\n", RuleEscape},
	} {
		res := formatstest.ScanBytes(t, "config.yaml", []byte(c.src), &o)
		found := false
		for _, f := range res.Findings {
			if f.Rule == c.rule && f.Severity == formats.Critical {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: want %s:%s", name, c.rule, formatstest.Describe(res))
		}
	}
	res := formatstest.ScanBytes(t, "serve.yaml", []byte("chat_template: '{% for m in messages %}{{ m.content }}{% endfor %}'\nmax_tokens: 10\n"), &o)
	if m, ok := res.Max(); ok && m >= formats.Medium {
		t.Errorf("benign YAML flagged:%s", formatstest.Describe(res))
	}
}

// TestYAMLValuesOutsideTemplates: a string outside a template key is
// judged as text no renderer gives a context (checkBare), so names that
// only a renderer's context could define (GitHub's vars, Flask's config)
// are no finding there, while escapes that work from any value or from
// Jinja's own globals still are; under a template key nothing changes.
func TestYAMLValuesOutsideTemplates(t *testing.T) {
	o := formats.DefaultOptions()
	for _, c := range []struct {
		name, src string
		want      string // rule at Critical, "" for nothing at High or above
	}{
		{"GitHub Actions vars context (executorch _xtensa_build.yml)", "jobs:\n  build:\n    steps:\n      - with:\n          aws-region: ${{ vars.AWS_REGION }}\n        env:\n          B: ${{ vars.XTENSA_S3_BUCKET }}\n", ""},
		{"GitHub Actions if with vars and functions", "jobs:\n  a:\n    if: ${{ vars.MAX != '' && contains(github.event.head_commit.message, 'x') }}\n    env:\n      N: ${{ fromJSON(vars.N || '3') }}\n", ""},
		{"Flask config named outside a template key", "deploy: \"{{ config }}\"\n", ""},
		{"dunder chain outside a template key", "run: ${{ cycler.__init__.__globals__.os.popen('id').read() }}\n", RuleEscape},
		{"Flask config reaching globals outside a template key", "deploy: \"{{ config.__class__.__init__.__globals__['os'].popen('id').read() }}\"\n", RuleEscape},
		{"vars under a template key", "chat_template: \"{{ vars.X }}\"\n", RuleEscape},
		{"os under a template key", "prompt_template: \"{{ os.system('id') }}\"\n", RuleEscape},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := formatstest.ScanBytes(t, "workflow.yml", []byte(c.src), &o)
			var got []string
			for _, f := range res.Findings {
				if f.Severity >= formats.High {
					got = append(got, f.Rule+":"+f.Severity.String())
				}
			}
			switch {
			case c.want == "" && len(got) > 0:
				t.Errorf("flagged: %v%s", got, formatstest.Describe(res))
			case c.want != "" && !slices.Contains(got, c.want+":critical"):
				t.Errorf("want %s critical, got %v%s", c.want, got, formatstest.Describe(res))
			}
		})
	}
}

// BenchmarkRealTemplates checks all 53 real templates per iteration.
func BenchmarkRealTemplates(b *testing.B) {
	m := realTemplates(b)
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
