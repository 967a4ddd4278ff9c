package xgboost

import (
	"bytes"
	"encoding/binary"
	"os"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestTreeProofs tampers with the first tree of the real model of
// testdata (Booster.save_model("model.json"), XGBoost 2): indices the C++
// loader and predictor follow without a check must stay in the tree.
func TestTreeProofs(t *testing.T) {
	real, err := os.ReadFile("testdata/model.json")
	if err != nil {
		t.Fatal(err)
	}
	tamper := func(old, new string) []byte {
		if !strings.Contains(string(real), old) {
			t.Fatalf("testdata/model.json has no %s", old)
		}
		return []byte(strings.Replace(string(real), old, new, 1))
	}
	cases := []struct {
		name string
		data []byte
		rule string
	}{
		{"real model", real, ""},
		{"child past the node array", tamper(`"left_children":[1,3,5,-1,-1,-1,-1]`, `"left_children":[1,3,5000000,-1,-1,-1,-1]`), "xgboost/bad-tree"},
		{"child back to the root (endless walk)", tamper(`"left_children":[1,3,5,-1,-1,-1,-1]`, `"left_children":[1,0,5,-1,-1,-1,-1]`), "xgboost/bad-tree"},
		{"parent outside the tree (loader reads it)", tamper(`"parents":[2147483647,0,0,1,1,2,2]`, `"parents":[2147483647,0,0,1,1,2,-900000]`), "xgboost/bad-tree"},
		{"split on a feature past num_feature", tamper(`"split_indices":[1,0,0,0,0,0,0]`, `"split_indices":[1,0,4000000,0,0,0,0]`), "xgboost/bad-tree"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := formatstest.ScanBytes(t, "model.json", c.data, nil)
			got := formatstest.Rules(res, formats.High)
			if c.rule == "" && len(got) > 0 || c.rule != "" && (len(got) == 0 || got[0] != c.rule) {
				t.Errorf("want %q: %s", c.rule, formatstest.Describe(res))
			}
		})
	}
}

// TestTreeProofsUBJ: the same proofs on the UBJSON encoding (the real
// model.ubj of testdata, its first left_children array tampered with).
func TestTreeProofsUBJ(t *testing.T) {
	real, err := os.ReadFile("testdata/model.ubj")
	if err != nil {
		t.Fatal(err)
	}
	// "left_children" [$l#L <count u64> then int32 big-endian values.
	i := bytes.Index(real, []byte("left_children[$l#L"))
	if i < 0 {
		t.Fatal("testdata/model.ubj has no typed left_children array")
	}
	third := i + len("left_children[$l#L") + 8 + 2*4
	tampered := bytes.Clone(real)
	binary.BigEndian.PutUint32(tampered[third:], 5000000)
	cycle := bytes.Clone(real)
	binary.BigEndian.PutUint32(cycle[third-4:], 0) // node 1's left child is the root
	for _, c := range []struct {
		name string
		data []byte
		rule string
	}{
		{"real model", real, ""},
		{"child past the node array", tampered, "xgboost/bad-tree"},
		{"child back to the root", cycle, "xgboost/bad-tree"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := formatstest.ScanBytes(t, "model.ubj", c.data, nil)
			got := formatstest.Rules(res, formats.High)
			if c.rule == "" && len(got) > 0 || c.rule != "" && (len(got) == 0 || got[0] != c.rule) {
				t.Errorf("want %q: %s", c.rule, formatstest.Describe(res))
			}
		})
	}
}
