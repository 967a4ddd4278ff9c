package all_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestRedTeam2Built holds the second-wave attacks git cannot store as
// files: external data that reads a clone's version-control metadata
// (git refuses a .git folder, in any case, inside the repository). The
// model is built field by field: one external initializer whose location
// the test writes, beside the file it names.
func TestRedTeam2Built(t *testing.T) {
	cases := []struct {
		name, vcs string
	}{
		{"external data reads .git/config (token in the remote URL)", ".git"},
		{"external data reads .GIT/config (case-folding file systems)", ".GIT"},
		{"external data reads .hg/hgrc", ".hg"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			loc := c.vcs + "/config"
			if err := os.MkdirAll(filepath.Join(dir, c.vcs), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, loc), []byte("[remote \"origin\"]\n\turl = https://user:token@example.com/r\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "model.onnx"), extModel(loc), 0o644); err != nil {
				t.Fatal(err)
			}
			res := formatstest.ScanDir(t, false, dir)
			for _, r := range formatstest.ResultRules(res, formats.High) {
				if r == "onnx/external-data-escape" {
					return
				}
			}
			t.Errorf("want onnx/external-data-escape at high:\n%s", formatstest.DescribeResult(res))
		})
	}
}

// extModel is a ModelProto (ir_version 8, opset 17) whose one initializer
// "w" keeps 4 bytes of float data at loc, written field by field.
func extModel(loc string) []byte {
	ld := func(num byte, b []byte) []byte {
		out := []byte{num<<3 | 2}
		n := len(b)
		for n >= 0x80 {
			out = append(out, byte(n)|0x80)
			n >>= 7
		}
		return append(append(out, byte(n)), b...)
	}
	vf := func(num, v byte) []byte { return []byte{num << 3, v} }
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	entry := func(k, v string) []byte { return ld(13, cat(ld(1, []byte(k)), ld(2, []byte(v)))) }
	tensor := cat(vf(1, 1), vf(2, 1), ld(8, []byte("w")), entry("location", loc), entry("offset", "0"), entry("length", "4"), vf(14, 1))
	node := cat(ld(1, []byte("w")), ld(2, []byte("y")), ld(4, []byte("Identity")))
	graph := cat(ld(1, node), ld(2, []byte("g")), ld(5, tensor))
	return cat(vf(1, 8), ld(7, graph), ld(8, cat(ld(1, nil), vf(2, 17))))
}
