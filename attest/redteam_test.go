package attest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	intoto "github.com/in-toto/in-toto-golang/in_toto"
)

// TestRedTeamBuilderAndSource: lookalike builder IDs and source URIs an
// attacker can put in a provenance they sign with their own, trusted-CA
// identity (a fork, a similarly named repository or workflow). Each must
// not match the requirement; the controls must.
func TestRedTeamBuilderAndSource(t *testing.T) {
	const wf = "https://github.com/x/y/.github/workflows/a.yml"
	builders := []struct {
		name, claimed, want string
		match               bool
	}{
		{"control/exact", wf + "@refs/heads/main", wf + "@refs/heads/main", true},
		{"control/any-ref-of-the-workflow", wf + "@refs/heads/main", wf, true},
		{"lookalike/workflow-name-suffix", "https://github.com/x/y/.github/workflows/a.yml.evil@refs/heads/main", wf, false},
		{"lookalike/repository-suffix", "https://github.com/x/y-evil/.github/workflows/a.yml@refs/heads/main", wf, false},
		{"lookalike/owner-prefix", "https://github.com/xx/y/.github/workflows/a.yml@refs/heads/main", wf, false},
		{"lookalike/host-userinfo", "https://github.com@evil.example/x/y/.github/workflows/a.yml@refs/heads/main", wf, false},
		{"lookalike/extra-at-in-ref", wf + "@x@refs/heads/main", wf, false},
		{"lookalike/other-ref-when-pinned", wf + "@refs/heads/evil", wf + "@refs/heads/main", false},
		{"lookalike/case", "https://github.com/X/Y/.github/workflows/a.yml@refs/heads/main", wf, false},
		{"lookalike/prefix-of-wanted", "https://github.com/x/y/.github/workflows/a", wf, false},
		{"lookalike/trailing-slash", wf + "/@refs/heads/main", wf, false},
	}
	for _, c := range builders {
		t.Run("builder/"+c.name, func(t *testing.T) {
			if got := BuilderMatches(c.claimed, c.want); got != c.match {
				t.Errorf("BuilderMatches(%q, %q) = %v, want %v", c.claimed, c.want, got, c.match)
			}
		})
	}
	const repo = "https://github.com/org/model"
	sources := []struct {
		name, claimed, want string
		match               bool
	}{
		{"control/git+https-and-.git", "git+https://github.com/org/model.git@refs/heads/main", repo, true},
		{"control/ref-required-and-present", "git+https://github.com/org/model@refs/heads/main", "git+" + repo + "@refs/heads/main", true},
		{"lookalike/repository-name-prefix", "git+https://github.com/org/model-evil@refs/heads/main", repo, false},
		{"lookalike/org-suffix", "git+https://github.com/org-evil/model@refs/heads/main", repo, false},
		{"lookalike/userinfo-host", "git+https://github.com@evil.example/org/model", repo, false},
		{"lookalike/other-host", "git+https://gitlab.com/org/model", repo, false},
		{"lookalike/path-below", "git+https://github.com/org/model/evil", repo, false},
		{"lookalike/dotdot", "git+https://github.com/org/evil/../model", repo, false},
		{"lookalike/other-ref-when-ref-required", "git+https://github.com/org/model@refs/heads/evil", "git+" + repo + "@refs/heads/main", false},
		{"lookalike/no-ref-when-ref-required", "git+https://github.com/org/model", "git+" + repo + "@refs/heads/main", false},
		{"lookalike/double-.git", "git+https://github.com/org/model.git.git", repo, false},
		{"lookalike/scheme-ssh", "git+ssh://github.com/org/model", repo, false},
		{"lookalike/empty", "", repo, false},
	}
	for _, c := range sources {
		t.Run("source/"+c.name, func(t *testing.T) {
			if got := SourceMatches(c.claimed, c.want); got != c.match {
				t.Errorf("SourceMatches(%q, %q) = %v, want %v", c.claimed, c.want, got, c.match)
			}
		})
	}
}

// TestRedTeamBinding: statements an attacker could present as being about
// a model: several subjects where only one names a model file, a subject
// listed twice with two digests, names that escape the folder. Only a
// subject with the root digest, or subjects covering every file with the
// right digests, bind.
func TestRedTeamBinding(t *testing.T) {
	d := func(c byte) string { return strings.Repeat(string(c), 64) }
	m := Model{Root: Digest{Alg: "sha256", Hex: d('0')}, Files: map[string]Digest{
		"w.bin": {Alg: "sha256", Hex: d('1')}, "config.json": {Alg: "sha256", Hex: d('2')},
	}}
	sub := func(name string, hex string) Subject {
		return Subject{Name: name, Digest: map[string]string{"sha256": hex}}
	}
	cases := []struct {
		name string
		subs []Subject
		bind bool
	}{
		{"control/root-digest", []Subject{sub("model", d('0'))}, true},
		{"control/all-files", []Subject{sub("w.bin", d('1')), sub("config.json", d('2'))}, true},
		{"several-subjects-only-config-matches", []Subject{sub("config.json", d('2')), sub("other.bin", d('9'))}, false},
		{"file-listed-twice-second-digest-wrong", []Subject{sub("w.bin", d('1')), sub("w.bin", d('9')), sub("config.json", d('2'))}, false},
		{"file-listed-twice-first-digest-wrong", []Subject{sub("w.bin", d('9')), sub("w.bin", d('1')), sub("config.json", d('2'))}, false},
		{"dotdot-name-for-a-file", []Subject{sub("../m/w.bin", d('1')), sub("config.json", d('2'))}, false},
		{"absolute-name-for-a-file", []Subject{sub("/w.bin", d('1')), sub("config.json", d('2'))}, false},
		{"backslash-name-for-a-file", []Subject{sub(`sub\..\w.bin`, d('1')), sub("config.json", d('2'))}, false},
		{"weights-digest-under-config-name", []Subject{sub("config.json", d('1')), sub("w.bin", d('1'))}, false},
		{"root-digest-of-another-algorithm-name", []Subject{{Name: "model", Digest: map[string]string{"sha512": d('0')}}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Bind(&Statement{Type: StatementV1, Subjects: c.subs}, m)
			if c.bind && err != nil {
				t.Fatalf("control refused: %v", err)
			}
			if !c.bind {
				var nm *ErrNotAboutModel
				if err == nil {
					t.Fatal("BOUND: the statement was taken as being about the model")
				}
				if !errors.As(err, &nm) || nm.Msg == "" {
					t.Errorf("refused without saying how the subjects differ: %v", err)
				}
			}
		})
	}
}

// TestRedTeamLayoutThresholds: threshold and expiry games against an
// in-toto layout whose "train" step is raised to two functionaries.
// Each must be refused with the step or date named.
func TestRedTeamLayoutThresholds(t *testing.T) {
	two := func(t *testing.T, f *layoutFixture) {
		f.layout.Steps[0].PubKeys = []string{f.trainerPub.KeyID, f.packerPub.KeyID}
		f.layout.Steps[0].Threshold = 2
		f.writeLayout(t)
	}
	trainLink := func(f *layoutFixture, k intoto.Key) string {
		return filepath.Join(f.links, fmt.Sprintf(intoto.LinkNameFormat, "train", k.KeyID))
	}
	products := map[string]intoto.HashObj{"data/x.csv": {"sha256": hexC}, "model.safetensors": {"sha256": hexA}}
	materials := map[string]intoto.HashObj{"data/x.csv": {"sha256": hexC}}
	cases := []struct {
		name   string
		mutate func(t *testing.T, f *layoutFixture)
		want   string // "" = must verify
	}{
		{"control/two-functionaries-agree", func(t *testing.T, f *layoutFixture) {
			two(t, f)
			f.writeLink(t, f.packer, "train", []string{"python", "train.py"}, materials, products)
		}, ""},
		{"one-functionary-link-copied-under-the-other-name", func(t *testing.T, f *layoutFixture) {
			two(t, f)
			b, _ := os.ReadFile(trainLink(f, f.trainer))
			os.WriteFile(trainLink(f, f.packer), b, 0o644)
		}, `step "train" requires 2 link(s)`},
		{"two-functionaries-disagree-on-the-weights", func(t *testing.T, f *layoutFixture) {
			two(t, f)
			f.writeLink(t, f.packer, "train", []string{"python", "train.py"}, materials,
				map[string]intoto.HashObj{"data/x.csv": {"sha256": hexC}, "model.safetensors": {"sha256": hexB}})
		}, "links"},
		{"threshold-above-the-functionaries", func(t *testing.T, f *layoutFixture) {
			f.layout.Steps[0].Threshold = 2
			f.writeLayout(t)
		}, `step "train" requires 2 link(s)`},
		{"expiry-malformed", func(t *testing.T, f *layoutFixture) {
			f.layout.Expires = "2099-13-45T00:00:00Z"
			f.writeLayout(t)
		}, "layout"},
		{"expired-a-minute-ago", func(t *testing.T, f *layoutFixture) {
			f.layout.Expires = time.Now().Add(-time.Minute).UTC().Format(intoto.ISO8601DateSchema)
			f.writeLayout(t)
		}, "expired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newLayoutFixture(t)
			c.mutate(t, f)
			_, err := VerifyLayout(f.layoutPath, []string{f.ownerPub}, f.links)
			if c.want == "" {
				if err != nil {
					t.Fatalf("control refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("VERIFIED")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("refused, but not for %q: %v", c.want, err)
			}
		})
	}
}
