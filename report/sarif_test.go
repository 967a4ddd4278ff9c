package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

type sarifDoc struct {
	Runs []struct {
		Tool struct {
			Driver struct {
				InformationURI string
				Rules          []struct {
					ID               string
					ShortDescription struct{ Text string }
					FullDescription  struct{ Text string }
					Help             struct{ Text, Markdown string }
					HelpURI          string
					Properties       map[string]any
				}
			}
		}
		OriginalURIBaseIDs map[string]struct{ URI string } `json:"originalUriBaseIds"`
		Results            []struct {
			RuleID    string
			RuleIndex int
			Message   struct{ Text string }
			Locations []struct {
				PhysicalLocation struct {
					ArtifactLocation struct{ URI, URIBaseID string } `json:"artifactLocation"`
					Region           *struct {
						StartLine  int
						ByteOffset *int64
					}
				}
			}
			PartialFingerprints map[string]string
			Suppressions        []struct{ Kind, Status, Justification string }
		}
	}
}

func sarifOf(t *testing.T, r *Report) sarifDoc {
	t.Helper()
	var b bytes.Buffer
	if err := WriteSARIF(&b, r); err != nil {
		t.Fatal(err)
	}
	var d sarifDoc
	if err := json.Unmarshal(b.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestSARIFForGitHubCodeScanning checks what GitHub needs to show an alert
// well (the Multitool's GH rules): rule help and descriptions,
// security-severity with a security tag, relative locations with a region,
// fingerprints, informationUri.
func TestSARIFForGitHubCodeScanning(t *testing.T) {
	for name, r := range reportCases(t) {
		t.Run(name, func(t *testing.T) {
			run := sarifOf(t, r).Runs[0]
			d := run.Tool.Driver
			if d.InformationURI == "" {
				t.Error("no informationUri")
			}
			for _, rule := range d.Rules {
				if rule.ShortDescription.Text == "" || rule.FullDescription.Text == "" || rule.Help.Text == "" || rule.HelpURI == "" {
					t.Errorf("rule %s lacks descriptions or help: %+v", rule.ID, rule)
				}
				if rule.Properties["security-severity"] == nil || !strings.Contains(strings.Join(anyStrings(rule.Properties["tags"]), ","), "security") {
					t.Errorf("rule %s lacks security-severity or the security tag", rule.ID)
				}
			}
			if len(run.Results) == 0 {
				t.Fatal("no results")
			}
			for _, res := range run.Results {
				if d.Rules[res.RuleIndex].ID != res.RuleID {
					t.Errorf("ruleIndex %d is %s, not %s", res.RuleIndex, d.Rules[res.RuleIndex].ID, res.RuleID)
				}
				loc := res.Locations[0].PhysicalLocation
				if strings.Contains(loc.ArtifactLocation.URI, ":") || strings.HasPrefix(loc.ArtifactLocation.URI, "/") {
					t.Errorf("%s: location %q is not relative", res.RuleID, loc.ArtifactLocation.URI)
				}
				if r.SourceRoot != "" && loc.ArtifactLocation.URIBaseID != srcRoot {
					t.Errorf("%s: no uriBaseId", res.RuleID)
				}
				if loc.Region == nil || loc.Region.StartLine != 1 {
					t.Errorf("%s: no region with a startLine", res.RuleID)
				}
				if res.PartialFingerprints["modelvetFinding/v1"] == "" {
					t.Errorf("%s: no partialFingerprints", res.RuleID)
				}
			}
			if r.SourceRoot != "" && !strings.HasPrefix(run.OriginalURIBaseIDs[srcRoot].URI, "file:///") {
				t.Errorf("originalUriBaseIds: %+v", run.OriginalURIBaseIDs)
			}
		})
	}
}

func anyStrings(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestSARIFLocationsAndFingerprints(t *testing.T) {
	r := reportCases(t)["scan with findings in members"]
	run := sarifOf(t, r).Runs[0]
	byURI := map[string][]int{}
	fps := map[string]bool{}
	for i, res := range run.Results {
		u := res.Locations[0].PhysicalLocation.ArtifactLocation.URI
		byURI[u] = append(byURI[u], i)
		fp := res.PartialFingerprints["modelvetFinding/v1"]
		if fps[fp] {
			t.Errorf("two results share the fingerprint %s", fp)
		}
		fps[fp] = true
	}
	for _, want := range []string{"m/pytorch_model.bin", "m/model.safetensors", "m/weird%20name%20%231.gguf"} {
		if byURI[want] == nil {
			t.Errorf("no result at %q (have %v)", want, byURI)
		}
	}
	// An offset in the file is a byte region; an offset in a member is not.
	st := run.Results[byURI["m/model.safetensors"][0]].Locations[0].PhysicalLocation.Region
	if st.ByteOffset == nil || *st.ByteOffset != 97 {
		t.Errorf("safetensors region %+v, want byteOffset 97", st)
	}
	pt := run.Results[byURI["m/pytorch_model.bin"][0]]
	if pt.Locations[0].PhysicalLocation.Region.ByteOffset != nil || !strings.Contains(pt.Message.Text, "archive/data.pkl @2") {
		t.Errorf("member finding: region %+v, message %q", pt.Locations[0].PhysicalLocation.Region, pt.Message.Text)
	}
	// Moving the bytes does not change the alert's identity.
	first := pt.PartialFingerprints["modelvetFinding/v1"]
	r.Files[0].Findings[0].Offset = 999
	if again := sarifOf(t, r).Runs[0].Results[byURI["m/pytorch_model.bin"][0]].PartialFingerprints["modelvetFinding/v1"]; again != first {
		t.Errorf("fingerprint changed with the offset: %s -> %s", first, again)
	}
	// A rule added after the catalogue still has words.
	for _, rule := range run.Tool.Driver.Rules {
		if rule.ID == "gguf/some-future-rule" && !strings.Contains(rule.FullDescription.Text, "GGUF") {
			t.Errorf("generic rule entry lacks its family's description: %+v", rule)
		}
	}
}

// TestSARIFCheckReasonsAndSuppressions: a rejected check lists why as
// results of policy rules, and what the policy set aside as suppressed.
func TestSARIFCheckReasonsAndSuppressions(t *testing.T) {
	run := sarifOf(t, reportCases(t)["check rejected for its signature"]).Runs[0]
	got := map[string]string{}
	for _, res := range run.Results {
		s := "live"
		if len(res.Suppressions) > 0 {
			s = res.Suppressions[0].Kind + "/" + res.Suppressions[0].Status + ": " + res.Suppressions[0].Justification
		}
		got[res.RuleID+" "+res.Locations[0].PhysicalLocation.ArtifactLocation.URI] = s
	}
	want := map[string]string{
		"policy/signature m/model.sig":           "live",
		"policy/format-not-allowed m/a.pkl":      "live",
		"policy/no-model-files .":                "live",
		"pickle/unknown-import m/a.pkl":          "external/accepted: suppressed by suppress[0] (policy.yaml:9): reviewed sklearn pipeline",
		"pickle/dangerous-import m/docs/old.bin": "external/accepted: ignored by ignore: docs/** (policy.yaml:12)",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q\nall: %v", k, got[k], v, got)
		}
	}
}
