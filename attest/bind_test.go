package attest

import (
	"errors"
	"strings"
	"testing"
)

func TestBind(t *testing.T) {
	m := Model{Root: Digest{"sha256", hexA}, Files: map[string]Digest{
		"model.safetensors": {"sha256", hexB},
		"config.json":       {"sha256", hexC},
	}}
	cases := []struct {
		name     string
		subjects [][2]string
		byRoot   bool
		want     string // error substring, "" = bound
	}{
		{"root digest (modelvet attest, OMS)", [][2]string{{"my-model", hexA}}, true, ""},
		{"root digest among other subjects", [][2]string{{"other", hexC}, {"my-model", hexA}}, true, ""},
		{"every file by name and sha256", [][2]string{{"model.safetensors", hexB}, {"./config.json", hexC}}, false, ""},
		{"another model", [][2]string{{"other-model", strings.Repeat("d", 64)}}, false, "the attestation is about other-model (sha256:dddd"},
		{"config only: does not vouch for the weights", [][2]string{{"config.json", hexC}}, false, "covers 1 of the model's 2 files"},
		{"weights name with another digest (swapped weights)", [][2]string{{"model.safetensors", hexC}, {"config.json", hexC}}, false, "is sha256:" + hexC + ", the file is sha256:" + hexB},
		{"path escape name does not match", [][2]string{{"../model.safetensors", hexB}, {"config.json", hexC}}, false, "covers 1 of"},
		{"backslash name does not match", [][2]string{{".\\model.safetensors", hexB}, {"config.json", hexC}}, false, "covers 1 of"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := ParseStatement(InTotoPayloadType, statementJSON(t, StatementV1, "x", map[string]any{}, c.subjects...))
			if err != nil {
				t.Fatal(err)
			}
			b, err := Bind(st, m)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if b.ByRoot != c.byRoot {
					t.Fatalf("binding %+v", b)
				}
				return
			}
			var nam *ErrNotAboutModel
			if !errors.As(err, &nam) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want ErrNotAboutModel containing %q", err, c.want)
			}
		})
	}
}

func TestParseDigest(t *testing.T) {
	good := map[string]string{"sha256:" + strings.ToUpper(hexA): "sha256:" + hexA, "SHA-256:" + hexA: "sha256:" + hexA, "blake3:abc1": "blake3:abc1"}
	for in, want := range good {
		d, err := ParseDigest(in)
		if err != nil || d.String() != want {
			t.Errorf("ParseDigest(%q) = %v, %v; want %s", in, d, err, want)
		}
	}
	for _, in := range []string{"", hexA, "sha256:", "sha256:xyz", "sha256:abcd", "sha512:" + hexA, "gitCommit:abc1"} {
		if _, err := ParseDigest(in); err == nil {
			t.Errorf("ParseDigest(%q) accepted", in)
		}
	}
}
