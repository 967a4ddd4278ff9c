package attest

import (
	"strings"
	"testing"
)

func slsaV1Predicate(builder, repo, ref, commit string, deps ...map[string]any) map[string]any {
	rd := []map[string]any{{"uri": "git+" + repo + "@" + ref, "digest": map[string]string{"gitCommit": commit}}}
	rd = append(rd, deps...)
	return map[string]any{
		"buildDefinition": map[string]any{
			"buildType":            "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
			"externalParameters":   map[string]any{"workflow": map[string]any{"repository": repo, "ref": ref, "path": ".github/workflows/train.yml"}},
			"resolvedDependencies": rd,
		},
		"runDetails": map[string]any{
			"builder":  map[string]any{"id": builder},
			"metadata": map[string]any{"invocationId": "run-42"},
		},
	}
}

func TestProvenanceV02Peer(t *testing.T) {
	st, err := ParseStatement(InTotoPayloadType, peerStatement(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseProvenance(st)
	if err != nil {
		t.Fatal(err)
	}
	if p.BuilderID != "https://github.com/actions/runner" || p.BuildType != "https://github.com/npm/cli/gha/v2" ||
		p.SourceURI != "git+https://github.com/sigstore/sigstore-js@refs/heads/main" ||
		p.SourceDigest["sha1"] != "dae8bd8eb433a4147b4655c00fe73e0f22bc0fb1" || p.EntryPoint != ".github/workflows/release.yml" {
		t.Fatalf("provenance %+v", p)
	}
	claims := strings.Join(p.Claims(), "\n")
	for _, w := range []string{"built by https://github.com/actions/runner", "source: git+https://github.com/sigstore/sigstore-js@refs/heads/main at sha1:dae8bd8e"} {
		if !strings.Contains(claims, w) {
			t.Errorf("claims lack %q:\n%s", w, claims)
		}
	}
	checks := []struct {
		name  string
		req   Requirements
		fails string
	}{
		{"expected builder and source", Requirements{BuilderID: "https://github.com/actions/runner", SourceURI: "git+https://github.com/sigstore/sigstore-js@refs/heads/main"}, ""},
		{"source without git+ and ref", Requirements{SourceURI: "https://github.com/sigstore/sigstore-js"}, ""},
		{"source revision", Requirements{SourceRevision: "dae8bd8eb433a4147b4655c00fe73e0f22bc0fb1"}, ""},
		{"source revision as ALG:HEX", Requirements{SourceRevision: "sha1:dae8bd8eb433a4147b4655c00fe73e0f22bc0fb1"}, ""},
		{"other builder", Requirements{BuilderID: "https://github.com/slsa-framework/slsa-github-generator"}, "not by the required builder"},
		{"look-alike repository (prefix)", Requirements{SourceURI: "https://github.com/sigstore/sigstore"}, "not from the required source"},
		{"look-alike repository (suffix)", Requirements{SourceURI: "https://github.com/sigstore/sigstore-js-evil"}, "not from the required source"},
		{"other branch", Requirements{SourceURI: "git+https://github.com/sigstore/sigstore-js@refs/heads/dev"}, "not from the required source"},
		{"other revision", Requirements{SourceRevision: "0000000000000000000000000000000000000000"}, "revision"},
		{"base model digest not among inputs", Requirements{DependencyDigests: []Digest{{"sha256", hexA}}}, "no build input"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			fails := strings.Join(p.Check(c.req), "\n")
			if c.fails == "" && fails != "" || c.fails != "" && !strings.Contains(fails, c.fails) {
				t.Fatalf("failures %q, want %q", fails, c.fails)
			}
		})
	}
}

func TestProvenanceV1(t *testing.T) {
	base := map[string]any{"name": "base-model", "uri": "hf://meta/llama", "digest": map[string]string{"sha256": hexB}}
	pred := slsaV1Predicate("https://github.com/org/builder/.github/workflows/build.yml@refs/tags/v1.2.0", "https://github.com/org/model", "refs/heads/main", "1111111111111111111111111111111111111111", base)
	st, err := ParseStatement(InTotoPayloadType, statementJSON(t, StatementV1, SLSAv1, pred, [2]string{"model", hexA}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseProvenance(st)
	if err != nil {
		t.Fatal(err)
	}
	if p.SourceURI != "git+https://github.com/org/model@refs/heads/main" || p.SourceDigest["gitCommit"] != "1111111111111111111111111111111111111111" ||
		p.EntryPoint != ".github/workflows/train.yml" || len(p.Dependencies) != 2 || p.InvocationID != "run-42" {
		t.Fatalf("provenance %+v", p)
	}
	checks := []struct {
		name  string
		req   Requirements
		fails string
	}{
		{"builder pinned by path, any release", Requirements{BuilderID: "https://github.com/org/builder/.github/workflows/build.yml"}, ""},
		{"builder pinned to the release", Requirements{BuilderID: "https://github.com/org/builder/.github/workflows/build.yml@refs/tags/v1.2.0"}, ""},
		{"builder pinned to another release", Requirements{BuilderID: "https://github.com/org/builder/.github/workflows/build.yml@refs/tags/v1.1.0"}, "not by the required builder"},
		{"source with ref", Requirements{SourceURI: "git+https://github.com/org/model@refs/heads/main"}, ""},
		{"source of a fork", Requirements{SourceURI: "https://github.com/attacker/model"}, "not from the required source"},
		{"base model digest among resolved dependencies", Requirements{DependencyDigests: []Digest{{"sha256", hexB}}}, ""},
		{"other base model", Requirements{DependencyDigests: []Digest{{"sha256", hexC}}}, "no build input has the required digest sha256:" + hexC},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			fails := strings.Join(p.Check(c.req), "\n")
			if c.fails == "" && fails != "" || c.fails != "" && !strings.Contains(fails, c.fails) {
				t.Fatalf("failures %q, want %q", fails, c.fails)
			}
		})
	}
}

func TestProvenanceMalformed(t *testing.T) {
	cases := []struct {
		name  string
		ptype string
		pred  any
		want  string
	}{
		{"v0.2 without builder", SLSAv02, map[string]any{"buildType": "x"}, "builder.id"},
		{"v1 without builder", SLSAv1, map[string]any{"buildDefinition": map[string]any{"buildType": "x"}}, "builder.id"},
		{"v1 without build type", SLSAv1, map[string]any{"runDetails": map[string]any{"builder": map[string]any{"id": "b"}}}, "buildType"},
		{"v0.2 builder of the wrong type", SLSAv02, map[string]any{"builder": "b"}, "v0.2"},
		{"not provenance", "https://spdx.dev/Document", map[string]any{}, "not SLSA"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := ParseStatement(InTotoPayloadType, statementJSON(t, StatementV1, c.ptype, c.pred, [2]string{"m", hexA}))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ParseProvenance(st); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want error containing %q", err, c.want)
			}
		})
	}
}

func TestSplitSource(t *testing.T) {
	cases := []struct{ in, repo, ref string }{
		{"git+https://github.com/o/r@refs/heads/main", "https://github.com/o/r", "refs/heads/main"},
		{"git+https://github.com/o/r.git@v1", "https://github.com/o/r", "v1"},
		{"https://user@github.com/o/r", "https://user@github.com/o/r", ""},
		{"https://github.com/o/r/", "https://github.com/o/r", ""},
	}
	for _, c := range cases {
		repo, ref := splitSource(c.in)
		if repo != c.repo || ref != c.ref {
			t.Errorf("splitSource(%q) = %q, %q; want %q, %q", c.in, repo, ref, c.repo, c.ref)
		}
	}
}
