package attest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	slsa02 "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v0.2"
	slsa1 "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v1"
)

// SLSA provenance predicate types.
const (
	SLSAv02 = slsa02.PredicateSLSAProvenance // "https://slsa.dev/provenance/v0.2"
	SLSAv1  = slsa1.PredicateSLSAProvenance  // "https://slsa.dev/provenance/v1"
)

// Dependency is one input of a build (a material, a resolved dependency:
// the source checkout, a base model...).
type Dependency struct {
	Name   string
	URI    string
	Digest map[string]string
}

func (d Dependency) String() string {
	n := d.URI
	if n == "" {
		n = d.Name
	}
	if n == "" {
		n = "(unnamed)"
	}
	if len(d.Digest) > 0 {
		n += " (" + formatDigestSet(d.Digest) + ")"
	}
	return n
}

// Provenance is what a SLSA provenance predicate claims, whatever its
// version.
type Provenance struct {
	PredicateType string
	BuilderID     string
	BuildType     string
	SourceURI     string            // the source repository, as the builder wrote it
	SourceDigest  map[string]string // the revision built (commit)
	EntryPoint    string            // v0.2 configSource.entryPoint, v1 workflow path
	InvocationID  string
	StartedOn     *time.Time
	FinishedOn    *time.Time
	Dependencies  []Dependency // v0.2 materials, v1 resolvedDependencies
}

// IsProvenance reports whether a predicate type is SLSA provenance this
// package reads.
func IsProvenance(predicateType string) bool {
	return predicateType == SLSAv02 || predicateType == SLSAv1
}

// ParseProvenance reads a SLSA v0.2 or v1 predicate.
func ParseProvenance(st *Statement) (*Provenance, error) {
	switch st.PredicateType {
	case SLSAv02:
		return parseV02(st.Predicate)
	case SLSAv1:
		return parseV1(st.Predicate)
	}
	return nil, fmt.Errorf("predicate %q is not SLSA provenance v0.2 or v1", st.PredicateType)
}

// slsaV02JSON is the SLSA v0.2 predicate with the spec's key names.
// The spec spells metadata.buildInvocationId so (sigstore-js writes it),
// but in-toto-golang's type, and the Go generators that use it
// (slsa-github-generator), write "buildInvocationID". The strict reader
// refuses a key that matches a field only by case folding, so both
// spellings are declared; a document with both is refused as twins.
type slsaV02JSON struct {
	Builder struct {
		ID string `json:"id"`
	} `json:"builder"`
	BuildType  string `json:"buildType"`
	Invocation struct {
		ConfigSource struct {
			URI        string            `json:"uri"`
			Digest     map[string]string `json:"digest"`
			EntryPoint string            `json:"entryPoint"`
		} `json:"configSource"`
		Parameters  any `json:"parameters"`
		Environment any `json:"environment"`
	} `json:"invocation"`
	BuildConfig any `json:"buildConfig"`
	Metadata    *struct {
		BuildInvocationID string     `json:"buildInvocationID"`
		BuildInvocationId string     `json:"buildInvocationId"` //nolint:revive // the spec's spelling
		BuildStartedOn    *time.Time `json:"buildStartedOn"`
		BuildFinishedOn   *time.Time `json:"buildFinishedOn"`
		Completeness      struct {
			Parameters  bool `json:"parameters"`
			Environment bool `json:"environment"`
			Materials   bool `json:"materials"`
		} `json:"completeness"`
		Reproducible bool `json:"reproducible"`
	} `json:"metadata"`
	Materials []struct {
		URI    string            `json:"uri"`
		Digest map[string]string `json:"digest"`
	} `json:"materials"`
}

func parseV02(raw json.RawMessage) (*Provenance, error) {
	var p slsaV02JSON
	if err := decodeStrict(raw, &p); err != nil {
		return nil, fmt.Errorf("SLSA v0.2 predicate: %v", err)
	}
	if p.Builder.ID == "" {
		return nil, fmt.Errorf("SLSA v0.2 predicate has no builder.id (required)")
	}
	out := &Provenance{
		PredicateType: SLSAv02,
		BuilderID:     p.Builder.ID,
		BuildType:     p.BuildType,
		SourceURI:     p.Invocation.ConfigSource.URI,
		SourceDigest:  p.Invocation.ConfigSource.Digest,
		EntryPoint:    p.Invocation.ConfigSource.EntryPoint,
	}
	if p.Metadata != nil {
		out.InvocationID = p.Metadata.BuildInvocationID + p.Metadata.BuildInvocationId // at most one is set
		out.StartedOn, out.FinishedOn = p.Metadata.BuildStartedOn, p.Metadata.BuildFinishedOn
	}
	for _, m := range p.Materials {
		out.Dependencies = append(out.Dependencies, Dependency{URI: m.URI, Digest: m.Digest})
	}
	// Builders that leave configSource empty (generic generators) name
	// the source only as the first material; use it, as slsa-verifier does.
	if out.SourceURI == "" && len(p.Materials) > 0 {
		out.SourceURI, out.SourceDigest = p.Materials[0].URI, p.Materials[0].Digest
	}
	return out, nil
}

func parseV1(raw json.RawMessage) (*Provenance, error) {
	var p slsa1.ProvenancePredicate
	if err := decodeStrict(raw, &p); err != nil {
		return nil, fmt.Errorf("SLSA v1 predicate: %v", err)
	}
	if p.RunDetails.Builder.ID == "" {
		return nil, fmt.Errorf("SLSA v1 predicate has no runDetails.builder.id (required)")
	}
	if p.BuildDefinition.BuildType == "" {
		return nil, fmt.Errorf("SLSA v1 predicate has no buildDefinition.buildType (required)")
	}
	out := &Provenance{
		PredicateType: SLSAv1,
		BuilderID:     p.RunDetails.Builder.ID,
		BuildType:     p.BuildDefinition.BuildType,
		InvocationID:  p.RunDetails.BuildMetadata.InvocationID,
		StartedOn:     p.RunDetails.BuildMetadata.StartedOn,
		FinishedOn:    p.RunDetails.BuildMetadata.FinishedOn,
	}
	for _, d := range p.BuildDefinition.ResolvedDependencies {
		out.Dependencies = append(out.Dependencies, Dependency{Name: d.Name, URI: d.URI, Digest: d.Digest})
	}
	out.SourceURI, out.EntryPoint = sourceFromExternal(p.BuildDefinition.ExternalParameters)
	// The revision is the digest of the resolved dependency that is the
	// source; when externalParameters name no source, the convention of
	// the GitHub Actions and other build types is that the first git
	// dependency is the checkout.
	for _, d := range out.Dependencies {
		if out.SourceURI == "" && strings.HasPrefix(d.URI, "git+") {
			out.SourceURI = d.URI
		}
		if out.SourceURI != "" && sameSource(d.URI, out.SourceURI) {
			if refPart(out.SourceURI) == "" && refPart(d.URI) != "" {
				out.SourceURI = d.URI // keep the ref the builder resolved
			}
			out.SourceDigest = d.Digest
			break
		}
	}
	return out, nil
}

// sourceFromExternal finds the source repository in v1 externalParameters,
// whose shape each build type defines. Known shapes:
//   - GitHub Actions workflow build types: {"workflow": {"repository",
//     "ref", "path"}};
//   - generic: {"source": "git+https://...@ref"} or {"source": {"uri"}},
//     {"repository": "..."}, {"configSource": {"uri"}}.
func sourceFromExternal(ext any) (uri, entry string) {
	m, ok := ext.(map[string]any)
	if !ok {
		return "", ""
	}
	str := func(v any) string { s, _ := v.(string); return s }
	if w, ok := m["workflow"].(map[string]any); ok {
		repo, ref := str(w["repository"]), str(w["ref"])
		entry = str(w["path"])
		if repo != "" {
			uri = "git+" + repo
			if ref != "" {
				uri += "@" + ref
			}
			return uri, entry
		}
	}
	switch s := m["source"].(type) {
	case string:
		return s, ""
	case map[string]any:
		if u := str(s["uri"]); u != "" {
			return u, ""
		}
	}
	if r := str(m["repository"]); r != "" {
		return r, ""
	}
	if cs, ok := m["configSource"].(map[string]any); ok {
		return str(cs["uri"]), str(cs["path"])
	}
	return "", ""
}

// splitSource cuts a source URI into repository and ref:
// "git+https://github.com/o/r.git@refs/heads/main" gives
// "https://github.com/o/r" and "refs/heads/main". The "@" is looked for
// only in the path, after the host, so userinfo ("https://u@host/...")
// is not mistaken for a ref.
func splitSource(u string) (repo, ref string) {
	u = strings.TrimPrefix(u, "git+")
	pathStart := 0
	if i := strings.Index(u, "://"); i >= 0 {
		pathStart = i + 3
		if j := strings.Index(u[pathStart:], "/"); j >= 0 {
			pathStart += j
		} else {
			pathStart = len(u)
		}
	}
	if i := strings.LastIndex(u[pathStart:], "@"); i >= 0 {
		ref = u[pathStart+i+1:]
		u = u[:pathStart+i]
	}
	u = strings.TrimSuffix(strings.TrimSuffix(u, "/"), ".git")
	return u, ref
}

func repoPart(u string) string { r, _ := splitSource(u); return r }

func refPart(u string) string { _, r := splitSource(u); return r }

func sameSource(a, b string) bool { return a != "" && b != "" && repoPart(a) == repoPart(b) }

// SourceMatches reports whether the claimed source is the one wanted.
// Repositories compare exactly (after dropping "git+" and ".git"): a
// prefix match would let github.com/org/model-evil pass for
// github.com/org/model. When want names a ref ("@refs/heads/main") the
// ref must match too; otherwise any ref of that repository is accepted.
func SourceMatches(claimed, want string) bool {
	if !sameSource(claimed, want) {
		return false
	}
	if wr := refPart(want); wr != "" {
		return refPart(claimed) == wr
	}
	return true
}

// BuilderMatches reports whether the claimed builder ID is the one
// wanted: exact, or, when want has no "@version", the claimed ID without
// its "@version" (a builder pinned by workflow path but any release).
func BuilderMatches(claimed, want string) bool {
	if claimed == want {
		return true
	}
	if strings.Contains(want, "@") {
		return false
	}
	if i := strings.LastIndex(claimed, "@"); i > 0 {
		return claimed[:i] == want
	}
	return false
}

// Requirements are what the user demands of the provenance. Empty fields
// demand nothing.
type Requirements struct {
	BuilderID         string
	SourceURI         string
	SourceRevision    string   // hex commit, or ALG:HEX
	DependencyDigests []Digest // each must be among the build's inputs
}

// Empty reports whether nothing is required.
func (r Requirements) Empty() bool {
	return r.BuilderID == "" && r.SourceURI == "" && r.SourceRevision == "" && len(r.DependencyDigests) == 0
}

// Check compares the provenance with the requirements and returns every
// unmet one, in plain words.
func (p *Provenance) Check(r Requirements) []string {
	var fails []string
	if r.BuilderID != "" && !BuilderMatches(p.BuilderID, r.BuilderID) {
		fails = append(fails, fmt.Sprintf("built by %q, not by the required builder %q", p.BuilderID, r.BuilderID))
	}
	if r.SourceURI != "" {
		switch {
		case p.SourceURI == "":
			fails = append(fails, fmt.Sprintf("the provenance names no source repository; %q is required", r.SourceURI))
		case !SourceMatches(p.SourceURI, r.SourceURI):
			fails = append(fails, fmt.Sprintf("built from %q, not from the required source %q", p.SourceURI, r.SourceURI))
		}
	}
	if r.SourceRevision != "" && !revisionMatches(p.SourceDigest, r.SourceRevision) {
		got := formatDigestSet(p.SourceDigest)
		if got == "" {
			got = "no revision"
		}
		fails = append(fails, fmt.Sprintf("built from revision %s, not the required %s", got, r.SourceRevision))
	}
	for _, d := range r.DependencyDigests {
		found := false
		for _, dep := range p.Dependencies {
			if digestSetHas(dep.Digest, d) {
				found = true
				break
			}
		}
		if !found {
			fails = append(fails, fmt.Sprintf("no build input has the required digest %s (inputs: %s)", d, depList(p.Dependencies)))
		}
	}
	return fails
}

// revisionMatches accepts a bare hex commit (matched against any digest
// of the source: sha1, gitCommit...) or ALG:HEX.
func revisionMatches(set map[string]string, want string) bool {
	if d, err := ParseDigest(want); err == nil && strings.Contains(want, ":") {
		return digestSetHas(set, d)
	}
	for _, h := range set {
		if strings.EqualFold(h, want) {
			return true
		}
	}
	return false
}

func depList(deps []Dependency) string {
	if len(deps) == 0 {
		return "none listed"
	}
	var s []string
	for i, d := range deps {
		if i == 8 {
			s = append(s, fmt.Sprintf("and %d more", len(deps)-8))
			break
		}
		s = append(s, d.String())
	}
	return strings.Join(s, "; ")
}

// Claims renders what the provenance says, in plain words, one per line.
func (p *Provenance) Claims() []string {
	v := strings.TrimPrefix(p.PredicateType, "https://slsa.dev/provenance/")
	lines := []string{fmt.Sprintf("SLSA provenance %s: built by %s", v, p.BuilderID)}
	if p.BuildType != "" {
		lines = append(lines, "build type: "+p.BuildType)
	}
	if p.SourceURI != "" {
		s := "source: " + p.SourceURI
		if len(p.SourceDigest) > 0 {
			s += " at " + formatDigestSet(p.SourceDigest)
		}
		lines = append(lines, s)
	} else {
		lines = append(lines, "source: not stated")
	}
	if p.EntryPoint != "" {
		lines = append(lines, "entry point: "+p.EntryPoint)
	}
	if p.InvocationID != "" {
		lines = append(lines, "build invocation: "+p.InvocationID)
	}
	if p.FinishedOn != nil {
		lines = append(lines, "finished: "+p.FinishedOn.UTC().Format(time.RFC3339))
	}
	for _, d := range p.Dependencies {
		lines = append(lines, "input: "+d.String())
	}
	return lines
}
