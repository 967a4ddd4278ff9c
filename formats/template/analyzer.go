package template

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/modelvet/modelvet/formats"
	"go.yaml.in/yaml/v3"
)

func init() {
	// Standalone template files (chat_template.jinja and the like). Text
	// has no magic number, so the name decides, with a marker check for
	// the generic ".template".
	formats.Register(&formats.Analyzer{
		Name:       "jinja",
		Extensions: []string{".jinja", ".jinja2", ".j2", ".template"},
		Priority:   5,
		Sniff: func(p *formats.Probe) bool {
			switch p.Ext() {
			case ".jinja", ".jinja2", ".j2":
				return true
			case ".template":
				return hasMarker(p.Head)
			}
			return false
		},
		Analyze: analyzeJinja,
	})
	// YAML configs that carry a chat template (serving configs, model
	// cards' front matter exported as YAML). Above the generic pickle
	// sniffer (10), whose protocol-0 trial run accepts some YAML text; a
	// .yaml file that is not a YAML mapping or list is still handed to the
	// pickle analyzer below.
	formats.Register(&formats.Analyzer{
		Name:       "yaml-config",
		Extensions: []string{".yaml", ".yml"},
		Priority:   12,
		Sniff: func(p *formats.Probe) bool {
			e := p.Ext()
			return e == ".yaml" || e == ".yml"
		},
		Analyze: analyzeYAML,
	})
}

func hasMarker(b []byte) bool {
	return bytes.Contains(b, []byte("{{")) || bytes.Contains(b, []byte("{%")) || bytes.Contains(b, []byte("{#"))
}

func readText(s *formats.Scope, r io.ReaderAt, size int64, tooLarge formats.Severity) (string, bool) {
	if size > MaxSource {
		s.Reportf(RuleTooLarge, tooLarge, formats.NoOffset, "the file is %d bytes, over the %d-byte limit for template analysis; it was not checked", size, MaxSource)
		return "", false
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		s.Reportf("formats/read-error", formats.High, 0, "cannot read the file: %v", err)
		return "", false
	}
	return string(b), true
}

func analyzeJinja(s *formats.Scope, r io.ReaderAt, size int64) {
	// A template file too large to check cannot be shown safe.
	src, ok := readText(s, r, size, formats.High)
	if !ok {
		return
	}
	if !utf8.ValidString(src) {
		s.Reportf(RuleUnparsable, formats.Medium, formats.NoOffset, "the template is not valid UTF-8; Jinja would refuse to load it")
	}
	for _, f := range Check(src) {
		s.Report(f)
	}
}

func analyzeYAML(s *formats.Scope, r io.ReaderAt, size int64) {
	// A large YAML file is data (a dataset card, a label map), not a
	// serving config; say it was skipped without failing the scan.
	src, ok := readText(s, r, size, formats.Low)
	if !ok {
		return
	}
	var doc yaml.Node
	err := yaml.Unmarshal([]byte(src), &doc)
	if err != nil || len(doc.Content) == 0 || (doc.Content[0].Kind != yaml.MappingNode && doc.Content[0].Kind != yaml.SequenceNode) {
		// Not a YAML document a config loader would use. It may be
		// something else under a YAML name (a text pickle): let the pickle
		// analyzer, when one is registered, judge the same bytes.
		if p := formats.Lookup("pickle"); p != nil && p.Sniff != nil && p.Sniff(&formats.Probe{Name: "", Head: []byte(src[:min(len(src), formats.HeadSize)]), Size: size, R: r}) {
			s.Reportf("formats/extension-mismatch", formats.Medium, 0, "the file is named as YAML but its content reads as a pickle; it is analyzed as one")
			p.Analyze(s, r, size)
			return
		}
		if err != nil {
			s.Reportf("yaml-config/invalid", formats.Low, formats.NoOffset, "the YAML does not parse (%v); templates in it were not checked", err)
		}
		return
	}
	pythonTags(s, &doc, 0)
	n := 0
	WalkYAML(&doc, "", func(path, key, val string) {
		n++
		if n > 10_000 {
			return
		}
		ReportValue(s, path, key, val)
	})
}

// pythonTags reports PyYAML's python/* tags: yaml.load with the default
// (pre-5.1), full or unsafe loader constructs the named object or calls
// the named function (!!python/object/apply:os.system), so loading the
// config runs code.
func pythonTags(s *formats.Scope, n *yaml.Node, depth int) {
	if n == nil || depth > 64 {
		return
	}
	if strings.Contains(n.Tag, "python/") {
		s.Reportf("yaml/python-tag", formats.Critical, formats.NoOffset,
			"line %d: the YAML tag %q makes PyYAML's unsafe loaders construct a Python object or call a function while loading; loading this config can run code", n.Line, n.Tag)
	}
	for _, c := range n.Content {
		pythonTags(s, c, depth+1)
	}
}

// WalkYAML calls fn for every string scalar under a mapping key. Aliases
// are not followed, so an alias bomb costs nothing.
func WalkYAML(n *yaml.Node, path string, fn func(path, key, val string)) {
	walkYAML(n, path, "", fn, 0)
}

func walkYAML(n *yaml.Node, path, key string, fn func(path, key, val string), depth int) {
	if n == nil || depth > 64 {
		return
	}
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			walkYAML(c, path, key, fn, depth+1)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			walkYAML(n.Content[i+1], path+"/"+k, k, fn, depth+1)
		}
	case yaml.ScalarNode:
		if n.Tag == "!!str" || n.Tag == "" {
			fn(strings.TrimPrefix(path, "/"), key, n.Value)
		}
	}
}

// IsTemplateKey says whether a configuration key holds a template.
func IsTemplateKey(key string) bool {
	return strings.Contains(strings.ToLower(key), "template")
}

// ReportValue checks one configuration string. Under a key that holds a
// template every finding counts; any other string is checked only when it
// carries Jinja markers, and only its High and Critical findings are kept
// (a vocabulary entry "{{" is not a broken template, but a value that
// reaches __globals__ is an attack wherever it sits), judged as text no
// renderer is known to give a context (checkBare: "${{ vars.X }}" in a
// GitHub Actions workflow names GitHub's vars context, not Python's).
func ReportValue(s *formats.Scope, member, key, val string) {
	tmplKey := IsTemplateKey(key)
	if !tmplKey && !strings.Contains(val, "{{") && !strings.Contains(val, "{%") {
		return
	}
	check := Check
	if !tmplKey {
		check = checkBare
	}
	for _, f := range check(val) {
		if !tmplKey && f.Severity < formats.High {
			continue
		}
		f.Member = member
		s.Report(f)
	}
}
