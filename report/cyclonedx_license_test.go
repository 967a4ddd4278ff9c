package report

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
	_ "github.com/modelvet/modelvet/formats/hf"
	_ "github.com/modelvet/modelvet/formats/modelcard"
	_ "github.com/modelvet/modelvet/formats/safetensors"
)

// safetensorsBytes is a minimal valid safetensors file.
func safetensorsBytes() []byte {
	hdr := []byte(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`)
	b := []byte{byte(len(hdr)), 0, 0, 0, 0, 0, 0, 0}
	b = append(b, hdr...)
	return append(b, 0, 0, 128, 63)
}

type bomLicense struct {
	License struct {
		ID              string `json:"id"`
		Name            string `json:"name"`
		URL             string `json:"url"`
		Acknowledgement string `json:"acknowledgement"`
	} `json:"license"`
}

// TestCycloneDXLicenses: licences declared by a model card's front
// matter and a config reach the ML-BOM, as SPDX ids when they are SPDX
// ids (in SPDX's spelling), as named licences otherwise, on the file and
// on the model; a hostile front matter yields no made-up licence; every
// BOM validates against the CycloneDX 1.6 schema.
func TestCycloneDXLicenses(t *testing.T) {
	sch := cyclonedxSchema(t)
	cases := []struct {
		name  string
		files map[string]string
		want  []string // "id:X" or "name:X" (+ "@url"), on the model component
		prop  string   // a modelvet:detail:license property expected, "" = none
		rule  string   // a finding expected on README.md
	}{
		{"apache-2.0 model card",
			map[string]string{"README.md": "---\nlicense: apache-2.0\ntags: [bert]\n---\n# m\n"},
			[]string{"id:Apache-2.0"}, "apache-2.0", ""},
		{"custom other licence with name and link (Llama 3 card)",
			map[string]string{"README.md": "---\nlicense: other\nlicense_name: llama3\nlicense_link: https://llama.meta.com/llama3/license\n---\n"},
			[]string{"name:llama3@https://llama.meta.com/llama3/license"}, "other", ""},
		{"other without a name",
			map[string]string{"README.md": "---\nlicense: other\n---\n"},
			[]string{"name:other (see the model card)"}, "other", ""},
		{"hub id that is not SPDX (openrail)",
			map[string]string{"README.md": "---\nlicense: openrail\n---\n"},
			[]string{"name:openrail"}, "openrail", ""},
		{"config.json licence beside a card",
			map[string]string{"README.md": "---\nlicense: mit\n---\n", "config.json": `{"model_type":"bert","license":"CC-BY-4.0"}`},
			[]string{"id:MIT", "id:CC-BY-4.0"}, "mit", ""},
		{"hostile front matter: alias bomb, link that is not an IRI, control characters",
			map[string]string{"README.md": billionLaughsCard()},
			[]string{"name:evil\"</script>@"}, "", ""},
		{"hostile front matter: unparsable",
			map[string]string{"README.md": "---\nlicense: [mit\nlicense: {\n---\n"},
			nil, "", "modelcard/unreadable-metadata"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "model.safetensors"), safetensorsBytes(), 0o644)
			for n, c := range tc.files {
				os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644)
			}
			res, err := formats.Scan(context.Background(), []string{dir}, formats.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			r := FromScan(res, formats.High)
			var buf bytes.Buffer
			if err := Write(&buf, r, "cyclonedx", false); err != nil {
				t.Fatal(err)
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(doc); err != nil {
				t.Fatalf("the ML-BOM does not validate against CycloneDX 1.6: %v\n%s", err, buf.String())
			}
			var bom struct {
				Metadata struct {
					Component struct {
						Licenses []bomLicense `json:"licenses"`
					} `json:"component"`
				} `json:"metadata"`
				Components []struct {
					Name       string                         `json:"name"`
					Licenses   []bomLicense                   `json:"licenses"`
					Properties []struct{ Name, Value string } `json:"properties"`
				} `json:"components"`
				Vulnerabilities []struct {
					ID string `json:"id"`
				} `json:"vulnerabilities"`
			}
			if err := json.Unmarshal(buf.Bytes(), &bom); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range bom.Metadata.Component.Licenses {
				if l.License.Acknowledgement != "declared" {
					t.Errorf("licence %+v is not declared", l)
				}
				s := "name:" + l.License.Name
				if l.License.ID != "" {
					s = "id:" + l.License.ID
				}
				if l.License.URL != "" || strings.HasPrefix(l.License.Name, "evil") {
					s += "@" + l.License.URL
				}
				got = append(got, s)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("model licences %q, want %q\n%s", got, tc.want, buf.String())
			}
			prop := ""
			for _, c := range bom.Components {
				if strings.HasSuffix(c.Name, "README.md") {
					for _, p := range c.Properties {
						if p.Name == "modelvet:detail:license" {
							prop = p.Value
						}
					}
					if len(tc.want) > 0 && len(c.Licenses) == 0 {
						t.Errorf("README.md component has no licence")
					}
				}
			}
			if prop != tc.prop {
				t.Errorf("license property %q, want %q", prop, tc.prop)
			}
			var rules []string
			for _, v := range bom.Vulnerabilities {
				rules = append(rules, v.ID)
			}
			if strings.Join(rules, " ") != tc.rule {
				t.Errorf("findings %v, want %q", rules, tc.rule)
			}
		})
	}
}

// billionLaughsCard: the licence behind nine levels of aliases (never
// expanded: no licence), license_name with markup and control characters
// (kept as text, controls dropped), a license_link with spaces (not an
// IRI: left out, the schema would refuse it).
func billionLaughsCard() string {
	return formatstest.BillionLaughsYAML("license_name: \"evil\\\"</script>\\x07\\u200b\"\nlicense_link: \"javascript:alert(1) //x\"\n")
}

// TestSPDXIDs: the table is CycloneDX's own list, canonical spelling.
func TestSPDXIDs(t *testing.T) {
	for in, want := range map[string]string{"apache-2.0": "Apache-2.0", "MIT": "MIT", "cc-by-nc-4.0": "CC-BY-NC-4.0", "gpl-3.0": "GPL-3.0", "llama3": "", "other": "", "": ""} {
		if got := SPDXID(in); got != want {
			t.Errorf("SPDXID(%q) = %q, want %q", in, got, want)
		}
	}
}
