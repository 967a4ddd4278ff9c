package report

import (
	"encoding/json"
	"io"
	"path/filepath"
	"sort"

	"github.com/modelvet/modelvet/formats"
)

// SARIF 2.1.0, the subset code-scanning dashboards read.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string         `json:"id"`
	ShortDescription sarifMessage   `json:"shortDescription"`
	Properties       map[string]any `json:"properties,omitempty"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID     string          `json:"ruleId"`
	Level      string          `json:"level"`
	Message    sarifMessage    `json:"message"`
	Locations  []sarifLocation `json:"locations"`
	Properties map[string]any  `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	ByteOffset int64 `json:"byteOffset"`
}

// sarifLevel maps the severity scale onto SARIF's three levels.
func sarifLevel(s formats.Severity) string {
	switch {
	case s >= formats.High:
		return "error"
	case s >= formats.Medium:
		return "warning"
	}
	return "note"
}

// WriteSARIF writes the report as a SARIF 2.1.0 log.
func WriteSARIF(w io.Writer, r *Report) error {
	rules := map[string]formats.Severity{}
	var results []sarifResult
	for _, f := range r.Files {
		for _, x := range f.Findings {
			if s, ok := rules[x.Rule]; !ok || x.Severity > s {
				rules[x.Rule] = x.Severity
			}
			loc := sarifPhysical{ArtifactLocation: sarifArtifact{URI: filepath.ToSlash(f.Path)}}
			// A byte offset inside a member is not an offset in the file.
			if x.Offset >= 0 && x.Member == "" {
				loc.Region = &sarifRegion{ByteOffset: x.Offset}
			}
			props := map[string]any{"severity": x.Severity.String()}
			if x.Member != "" {
				props["member"] = x.Member
				if x.Offset >= 0 {
					props["memberOffset"] = x.Offset
				}
			}
			if x.Import != "" {
				props["import"] = x.Import
			}
			results = append(results, sarifResult{RuleID: x.Rule, Level: sarifLevel(x.Severity),
				Message: sarifMessage{Text: x.Message}, Locations: []sarifLocation{{PhysicalLocation: loc}}, Properties: props})
		}
	}
	ids := make([]string, 0, len(rules))
	for id := range rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	driver := sarifDriver{Name: "modelvet", Version: r.Version, Rules: []sarifRule{}}
	for _, id := range ids {
		driver.Rules = append(driver.Rules, sarifRule{ID: id, ShortDescription: sarifMessage{Text: id},
			Properties: map[string]any{"severity": rules[id].String()}})
	}
	if results == nil {
		results = []sarifResult{}
	}
	log := sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0",
		Runs: []sarifRun{{Tool: sarifTool{Driver: driver}, Results: results}}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}
