package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/modelvet/modelvet/formats"
)

// SARIF 2.1.0, as GitHub code scanning reads it: rules with descriptions,
// help and security-severity; results with relative locations, a region,
// stable fingerprints and suppressions. Validated against the OASIS schema
// in sarif_test.go and by Microsoft's SARIF Multitool (GitHub rules) in CI.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                   `json:"tool"`
	OriginalURIBaseIDs map[string]sarifArtifactLoc `json:"originalUriBaseIds,omitempty"`
	Results            []sarifResult               `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	SemanticVer    string      `json:"semanticVersion,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifMessage   `json:"shortDescription"`
	FullDescription      sarifMessage   `json:"fullDescription"`
	Help                 sarifHelp      `json:"help"`
	HelpURI              string         `json:"helpUri,omitempty"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifHelp struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifMessage       `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          map[string]any     `json:"properties,omitempty"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifactLoc `json:"artifactLocation"`
	Region           *sarifRegion     `json:"region,omitempty"`
}

type sarifArtifactLoc struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

// sarifRegion: model files have no lines, but GitHub places an alert only
// with a startLine, so every region starts at line 1; the byte offset is
// added when the finding is at a known offset of the file itself.
type sarifRegion struct {
	StartLine  int    `json:"startLine"`
	ByteOffset *int64 `json:"byteOffset,omitempty"`
}

// srcRoot is the uriBaseId of every relative location.
const srcRoot = "%SRCROOT%"

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

// sarifWriter builds one run.
type sarifWriter struct {
	r       *Report
	root    string // absolute source root, "" when none
	rules   map[string]formats.Severity
	results []sarifResult
	seen    map[string]int // fingerprint keys, to number repeats
}

// WriteSARIF writes the report as a SARIF 2.1.0 log. Findings the policy
// suppressed or whose file it ignored stay in the log as results with a
// suppression carrying the policy's reason, so a dashboard shows them as
// dismissed, not as open alerts nor as silently gone. The reasons of a
// check that are not findings (signature, provenance, format not allowed)
// are results of their own policy/* rules.
func WriteSARIF(w io.Writer, r *Report) error {
	sw := &sarifWriter{r: r, rules: map[string]formats.Severity{}, seen: map[string]int{}}
	if r.SourceRoot != "" {
		if abs, err := filepath.Abs(r.SourceRoot); err == nil {
			sw.root = abs
		}
	}
	findingRules := map[string]bool{}
	for _, f := range r.Files {
		for i, x := range f.Findings {
			findingRules[x.Rule] = true
			sw.add(x.Rule, x.Severity, x.Message, f.Path, x, r.markFor(f.Path, i))
		}
	}
	for _, x := range r.Reasons {
		// A finding at or above fail_on is already a result of its rule.
		if findingRules[x.Rule] {
			continue
		}
		sev := formats.High
		if info := Rule(x.Rule, sev); info.Known {
			sev = info.Severity
		}
		msg := x.Detail
		if x.Policy != "" {
			msg += " (policy: " + x.Policy + ")"
		}
		sw.add(x.Rule, sev, msg, x.Path, formats.Finding{Offset: formats.NoOffset}, nil)
	}
	ids := make([]string, 0, len(sw.rules))
	for id := range sw.rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	index := map[string]int{}
	driver := sarifDriver{Name: "modelvet", Version: r.Version, InformationURI: InformationURI, Rules: []sarifRule{}}
	if isSemver(r.Version) {
		driver.SemanticVer = r.Version
	}
	for i, id := range ids {
		index[id] = i
		info := Rule(id, sw.rules[id])
		prefix, _, _ := strings.Cut(id, "/")
		driver.Rules = append(driver.Rules, sarifRule{
			ID: id, Name: ruleName(id),
			ShortDescription:     sarifMessage{Text: info.Short},
			FullDescription:      sarifMessage{Text: info.Full},
			Help:                 sarifHelp{Text: info.Help, Markdown: "**" + info.Short + "**\n\n" + info.Full + "\n\n" + info.Help + "\n\n[Rule documentation](" + info.HelpURI + ")"},
			HelpURI:              info.HelpURI,
			DefaultConfiguration: sarifConfig{Level: sarifLevel(info.Severity)},
			Properties: map[string]any{
				"security-severity": securitySeverity(info.Severity),
				"tags":              []string{"security", prefix},
				"precision":         "high",
			},
		})
	}
	for i := range sw.results {
		sw.results[i].RuleIndex = index[sw.results[i].RuleID]
	}
	if sw.results == nil {
		sw.results = []sarifResult{}
	}
	run := sarifRun{Tool: sarifTool{Driver: driver}, Results: sw.results}
	if sw.root != "" {
		run.OriginalURIBaseIDs = map[string]sarifArtifactLoc{srcRoot: {URI: fileURI(sw.root)}}
	}
	log := sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

func (sw *sarifWriter) add(rule string, sev formats.Severity, msg, path string, x formats.Finding, m *Mark) {
	if s, ok := sw.rules[rule]; !ok || sev > s {
		sw.rules[rule] = sev
	}
	art := sw.artifact(path)
	loc := sarifPhysical{ArtifactLocation: art, Region: &sarifRegion{StartLine: 1}}
	// A byte offset inside a member is not an offset in the file.
	if x.Offset >= 0 && x.Member == "" {
		off := x.Offset
		loc.Region.ByteOffset = &off
	}
	props := map[string]any{"severity": sev.String()}
	text := msg
	if x.Member != "" {
		props["member"] = x.Member
		if x.Offset >= 0 {
			props["memberOffset"] = x.Offset
		}
		text += " [in " + x.Where() + "]"
	}
	if x.Import != "" {
		props["import"] = x.Import
	}
	if text == "" {
		text = Rule(rule, sev).Short
	}
	// The fingerprint names what the finding is about, not where its
	// bytes sit: the same import in the same member of the same file is the
	// same alert across runs even when offsets move. Repeats are numbered.
	key := strings.Join([]string{rule, art.URI, x.Member, x.Import}, "\x00")
	sw.seen[key]++
	sum := sha256.Sum256([]byte(key + "\x00" + itoa(sw.seen[key])))
	res := sarifResult{RuleID: rule, Level: sarifLevel(sev), Message: sarifMessage{Text: text},
		Locations:           []sarifLocation{{PhysicalLocation: loc}},
		PartialFingerprints: map[string]string{"modelvetFinding/v1": hex.EncodeToString(sum[:16])},
		Properties:          props}
	if m != nil {
		just := m.Kind + " by " + m.Policy
		if m.Reason != "" {
			just += ": " + m.Reason
		}
		res.Suppressions = []sarifSuppression{{Kind: "external", Status: "accepted", Justification: just}}
	}
	sw.results = append(sw.results, res)
}

// artifact places path relative to the source root when it lies inside
// it; otherwise the path stays as scanned (slash-separated, and relative
// when the user gave a relative path).
func (sw *sarifWriter) artifact(path string) sarifArtifactLoc {
	if path == "" {
		// About the model as a whole: its folder, the source root.
		if sw.root != "" {
			return sarifArtifactLoc{URI: ".", URIBaseID: srcRoot}
		}
		path = "."
	}
	if sw.root != "" {
		if abs, err := filepath.Abs(path); err == nil {
			if rel, err := filepath.Rel(sw.root, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
				return sarifArtifactLoc{URI: uriPath(filepath.ToSlash(rel)), URIBaseID: srcRoot}
			}
		}
	}
	if filepath.IsAbs(path) {
		return sarifArtifactLoc{URI: fileURI(path)}
	}
	return sarifArtifactLoc{URI: uriPath(filepath.ToSlash(filepath.Clean(path)))}
}

// uriPath escapes a slash-separated relative path for a URI reference
// (spaces, '#', '%' and '?' in model names must not change its meaning).
func uriPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// fileURI is the file: URI of an absolute path, ending in '/' for a folder
// (a uriBaseId must).
func fileURI(abs string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // C:/x -> /C:/x
	}
	if fi, err := os.Stat(abs); err == nil && fi.IsDir() && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

// ruleName is the rule id as a PascalCase name ("pickle/dangerous-import"
// -> "PickleDangerousImport"), which SARIF viewers show as a title.
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(id, func(r rune) bool { return r == '/' || r == '-' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func isSemver(v string) bool {
	core, _, _ := strings.Cut(v, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

func itoa(n int) string { return strconv.Itoa(n) }
