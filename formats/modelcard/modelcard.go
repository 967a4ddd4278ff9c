// Package modelcard reads the licence a model card declares: the YAML
// front matter of a Hugging Face README.md (license, license_name,
// license_link), for the ML-BOM. Nothing a loader runs lives there, so the
// package reports no attack; it reads untrusted YAML within bounds (size
// cap, aliases never expanded, a parser panic caught) and says when the
// metadata could not be read or reads two ways.
package modelcard

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/modelvet/modelvet/formats"
)

// Bounds. A model card's metadata (with a model-index of evaluation
// results) is some kilobytes; past MaxFrontMatter it is not read.
const (
	MaxFrontMatter = 256 << 10
	maxHead        = MaxFrontMatter + 64 // front matter plus its delimiters
	maxValue       = 256                 // a licence name or link kept
	maxLicenses    = 16                  // licences listed under one key
)

func init() {
	// Text has no magic number: the name decides (the Hub reads the
	// card from README.md), and content must open a front matter block.
	formats.Register(&formats.Analyzer{
		Name:       "model-card",
		Extensions: []string{".md"},
		Priority:   2,
		Sniff: func(p *formats.Probe) bool {
			return strings.EqualFold(p.Name, "README.md") && opensFrontMatter(p.Head)
		},
		Analyze: analyze,
	})
}

// Card is the licence metadata of a model card.
type Card struct {
	Licenses []string // license: one id, or a list
	Name     string   // license_name (with license: other)
	Link     string   // license_link
}

// Problem is why the metadata could not be read, or reads two ways.
type Problem struct {
	Rule    string
	Message string
}

// opensFrontMatter mirrors huggingface_hub's REGEX_YAML_BLOCK start:
// optional whitespace, "---", then a line break.
func opensFrontMatter(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n\f\v")
	return bytes.HasPrefix(b, []byte("---\n")) || bytes.HasPrefix(b, []byte("---\r"))
}

// FrontMatter returns the YAML between the opening "---" line and the next
// line that is exactly "---" (huggingface_hub's
// `^(\s*---[\r\n]+)([\S\s]*?)([\r\n]+---(\r\n|\n|$))`), and whether a
// block was found.
func FrontMatter(b []byte) ([]byte, bool) {
	t := bytes.TrimLeft(b, " \t\r\n\f\v")
	if !bytes.HasPrefix(t, []byte("---")) {
		return nil, false
	}
	t = t[3:]
	i := 0
	for i < len(t) && (t[i] == '\r' || t[i] == '\n') {
		i++
	}
	if i == 0 {
		return nil, false
	}
	body := t[i:]
	for j := 0; j < len(body); j++ {
		if body[j] != '\r' && body[j] != '\n' {
			continue
		}
		k := j
		for k < len(body) && (body[k] == '\r' || body[k] == '\n') {
			k++
		}
		if bytes.HasPrefix(body[k:], []byte("---")) {
			rest := body[k+3:]
			if len(rest) == 0 || rest[0] == '\n' || bytes.HasPrefix(rest, []byte("\r\n")) {
				return body[:j], true
			}
		}
		j = k - 1
	}
	return nil, false
}

// Parse reads the licence keys of a front matter block. Aliases are
// resolved one hop to a scalar at most and never expanded; a parser panic
// is a problem, not a crash.
func Parse(fm []byte) (c Card, probs []Problem) {
	if len(fm) > MaxFrontMatter {
		return c, []Problem{{"modelcard/unreadable-metadata", fmt.Sprintf("the model card's metadata is %d bytes, over the %d-byte limit; its licence was not read", len(fm), MaxFrontMatter)}}
	}
	var doc yaml.Node
	err := func() (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("the YAML parser failed: %v", v)
			}
		}()
		dec := yaml.NewDecoder(bytes.NewReader(fm))
		if err := dec.Decode(&doc); err != nil {
			return err
		}
		var extra yaml.Node
		if dec.Decode(&extra) != io.EOF {
			return fmt.Errorf("more than one YAML document")
		}
		return nil
	}()
	if err != nil {
		return c, []Problem{{"modelcard/unreadable-metadata", fmt.Sprintf("the model card's metadata does not parse as YAML (%v); its licence was not read", err)}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return c, []Problem{{"modelcard/unreadable-metadata", "the model card's metadata is not a mapping of keys to values; its licence was not read"}}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			continue
		}
		switch k.Value {
		case "license", "license_name", "license_link":
		default:
			continue
		}
		if seen[k.Value] {
			// PyYAML keeps the last copy, other readers the first or
			// refuse: the card says two things about its licence.
			probs = append(probs, Problem{"modelcard/duplicate-key", fmt.Sprintf("the model card's metadata gives %q twice (line %d); readers disagree on which licence it declares", k.Value, k.Line)})
			continue
		}
		seen[k.Value] = true
		vals := scalars(v)
		switch k.Value {
		case "license":
			c.Licenses = vals
		case "license_name":
			if len(vals) > 0 {
				c.Name = vals[0]
			}
		case "license_link":
			if len(vals) > 0 {
				c.Link = vals[0]
			}
		}
	}
	return c, probs
}

// scalars returns a scalar's text, or a flat list's, cleaned; an alias is
// followed one hop.
func scalars(n *yaml.Node) []string {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if s := Clean(n.Value); s != "" {
			return []string{s}
		}
	case yaml.SequenceNode:
		var out []string
		for _, e := range n.Content {
			if e.Kind == yaml.ScalarNode {
				if s := Clean(e.Value); s != "" && len(out) < maxLicenses {
					out = append(out, s)
				}
			}
		}
		return out
	}
	return nil
}

// Clean makes an untrusted metadata value safe to show: control and
// format characters dropped, spaces trimmed, length capped.
func Clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > maxValue {
		cut := maxValue
		for cut > 0 && (s[cut]&0xC0) == 0x80 {
			cut--
		}
		s = s[:cut]
	}
	return s
}

func analyze(s *formats.Scope, r io.ReaderAt, size int64) {
	n := min(size, maxHead)
	b := make([]byte, n)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		s.Reportf("formats/read-error", formats.Low, 0, "cannot read the model card: %v", err)
		return
	}
	fm, ok := FrontMatter(b)
	if !ok {
		if size > maxHead {
			// Attack class: padding the metadata past the bound to keep
			// its licence out of the ML-BOM.
			s.Reportf("modelcard/unreadable-metadata", formats.Low, 0, "the model card's metadata block does not end within %d bytes; its licence was not read", maxHead)
		}
		return
	}
	c, probs := Parse(fm)
	for _, p := range probs {
		s.Reportf(p.Rule, formats.Low, 0, "%s", p.Message)
	}
	Record(s, c)
}

// Record puts a card's licence into the file's details, where the report
// encoders (the ML-BOM) read it: license (ids joined by ", "),
// license_name, license_link. The GGUF and config readers use the same
// keys.
func Record(s *formats.Scope, c Card) {
	if len(c.Licenses) > 0 {
		s.Detail("license", strings.Join(c.Licenses, ", "))
	}
	if c.Name != "" {
		s.Detail("license_name", c.Name)
	}
	if c.Link != "" {
		s.Detail("license_link", c.Link)
	}
}
