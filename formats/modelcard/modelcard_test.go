package modelcard_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
	"github.com/modelvet/modelvet/formats/modelcard"
)

// billionLaughs: the licence behind nine levels of aliases, then the card.
func billionLaughs() string { return formatstest.BillionLaughsYAML("") + "# card\n" }

// TestModelCard: the licence keys of real Hub model cards are read as
// the Hub reads them; hostile front matter costs bounded work and gives
// a low finding, never a licence made up or a hang.
func TestModelCard(t *testing.T) {
	cases := []struct {
		name    string
		card    string
		license string // the detail, "" = none
		lname   string
		link    string
		rule    string // a finding expected, "" = none
	}{
		{"apache-2.0 card (bert-base-uncased style)", "---\nlanguage: en\ntags:\n- exbert\nlicense: apache-2.0\ndatasets:\n- bookcorpus\n---\n\n# BERT\n", "apache-2.0", "", "", ""},
		{"llama 3 custom licence (other + name + link)", "---\nlicense: other\nlicense_name: llama3\nlicense_link: LICENSE\nextra_gated_prompt: >-\n  ### META LLAMA 3 COMMUNITY LICENSE\n---\n", "other", "llama3", "LICENSE", ""},
		{"licence list", "---\nlicense:\n- mit\n- cc-by-4.0\n---\n", "mit, cc-by-4.0", "", "", ""},
		{"CRLF line ends and leading blank line", "\r\n---\r\nlicense: mit\r\n---\r\nbody\r\n", "mit", "", "", ""},
		{"front matter at the end of the file", "---\nlicense: mit\n---", "mit", "", "", ""},
		{"no front matter", "# A model\n\nlicense: mit\n", "", "", "", ""},
		{"licence key only in the body", "---\ntags: [x]\n---\nlicense: gpl-3.0\n", "", "", "", ""},
		{"control characters stripped from the licence", "---\nlicense: \"mit\\u202e\\x1b[31m\"\n---\n", "mit[31m", "", "", ""},
		{"duplicate licence key", "---\nlicense: mit\nlicense: other\n---\n", "mit", "", "", "modelcard/duplicate-key"},
		{"alias bomb for the licence", billionLaughs(), "", "", "", ""},
		{"unterminated flow mapping", "---\nlicense: {mit\n---\n", "", "", "", "modelcard/unreadable-metadata"},
		{"not a mapping", "---\n- license\n- mit\n---\n", "", "", "", "modelcard/unreadable-metadata"},
		{"front matter past the size cap", "---\nlicense: mit\nx: \"" + strings.Repeat("A", modelcard.MaxFrontMatter) + "\"\n---\n", "", "", "", "modelcard/unreadable-metadata"},
		{"block never closed in a large file", "---\nlicense: mit\n" + strings.Repeat("x: y\n", modelcard.MaxFrontMatter/4), "", "", "", "modelcard/unreadable-metadata"},
		{"deep nesting", "---\nlicense: mit\nx: " + strings.Repeat("[", 20000) + "\n---\n", "", "", "", "modelcard/unreadable-metadata"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := formatstest.ScanBytes(t, "README.md", []byte(tc.card), nil)
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("took %s", el)
			}
			front := strings.HasPrefix(strings.TrimLeft(tc.card, "\r\n"), "---")
			if front && r.Format != "model-card" {
				t.Fatalf("format %q, want model-card", r.Format)
			}
			if got := r.Details["license"]; got != tc.license {
				t.Errorf("license %q, want %q", got, tc.license)
			}
			if got := r.Details["license_name"]; got != tc.lname {
				t.Errorf("license_name %q, want %q", got, tc.lname)
			}
			if got := r.Details["license_link"]; got != tc.link {
				t.Errorf("license_link %q, want %q", got, tc.link)
			}
			rules := formatstest.Rules(r, formats.Info)
			if tc.rule == "" && len(rules) > 0 || tc.rule != "" && (len(rules) != 1 || rules[0] != tc.rule) {
				t.Errorf("findings %v, want %q\n%s", rules, tc.rule, formatstest.Describe(r))
			}
			for _, f := range r.Findings {
				if f.Severity > formats.Low {
					t.Errorf("%s is %v: a model card is not loaded, its metadata is at most low", f.Rule, f.Severity)
				}
			}
		})
	}
}

// TestFrontMatterBounds: the block ends at the first line that is exactly
// "---", as huggingface_hub's regular expression does.
func TestFrontMatterBounds(t *testing.T) {
	for in, want := range map[string]string{
		"---\na: 1\n---\nrest":         "a: 1",
		"---\na: '---x'\n---\n":        "a: '---x'",
		"---\na: 1\n----\nb: 2\n---\n": "a: 1\n----\nb: 2",
		"  \n---\n\na: 1\n\n---\n":     "a: 1",
	} {
		got, ok := modelcard.FrontMatter([]byte(in))
		if !ok || string(got) != want {
			t.Errorf("%q: %q %v, want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"---", "---a: 1\n---\n", "# x\n---\na: 1\n---\n", "---\na: 1\n"} {
		if got, ok := modelcard.FrontMatter([]byte(in)); ok {
			t.Errorf("%q: found %q", in, got)
		}
	}
}

func FuzzModelCard(f *testing.F) {
	for _, s := range []string{
		"---\nlicense: apache-2.0\n---\n# x\n",
		"---\nlicense: other\nlicense_name: llama3\nlicense_link: LICENSE\n---\n",
		"---\nlicense: [mit, cc-by-4.0]\n---\n",
		"---\nlicense: &x mit\nlicense_name: *x\n---\n",
		billionLaughs(),
		"\r\n---\r\nlicense: mit\r\n---",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fm, ok := modelcard.FrontMatter(b)
		if !ok {
			return
		}
		if !bytes.Contains(b, fm) {
			t.Fatal("the front matter is not part of the input")
		}
		c, _ := modelcard.Parse(fm)
		for _, l := range append(c.Licenses, c.Name, c.Link) {
			if l != modelcard.Clean(l) {
				t.Fatalf("uncleaned value %q", l)
			}
		}
	})
}

func BenchmarkModelCard(b *testing.B) {
	var card strings.Builder
	card.WriteString("---\nlicense: apache-2.0\nlanguage: [en, fr, de]\nmodel-index:\n- name: m\n  results:\n")
	for i := 0; i < 400; i++ {
		card.WriteString("  - task: {type: text-classification}\n    metrics:\n    - {type: accuracy, value: 0.91}\n")
	}
	card.WriteString("---\n# model\n")
	data := []byte(card.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		fm, _ := modelcard.FrontMatter(data)
		modelcard.Parse(fm)
	}
}
