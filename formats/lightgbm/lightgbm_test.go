package lightgbm

import (
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// model is the shape of Booster.save_model("model.txt") (LightGBM 4).
func model(treeSizes string, trees int, pandas string) string {
	var b strings.Builder
	b.WriteString("tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=3\nobjective=binary sigmoid:1\nfeature_names=a b c d\nfeature_infos=[0:1] [0:1] [0:1] [0:1]\n")
	b.WriteString("tree_sizes=" + treeSizes + "\n\n")
	for i := range trees {
		b.WriteString("Tree=" + string(rune('0'+i)) + "\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold=0.5\ndecision_type=2\nleft_child=-1\nright_child=-2\nleaf_value=0.1 -0.1\nshrinkage=1\n\n\n")
	}
	b.WriteString("end of trees\n\nfeature_importances:\na=1\n\nparameters:\n[boosting: gbdt]\nend of parameters\n\n")
	b.WriteString("pandas_categorical:" + pandas + "\n")
	return b.String()
}

// withTree replaces the single tree of model("300", 1, "null") by body.
func withTree(body string) string {
	m := model("300", 1, "null")
	i := strings.Index(m, "Tree=0\n")
	j := strings.Index(m, "end of trees")
	return m[:i] + "Tree=0\n" + body + "\n\n" + m[j:]
}

// fourLeaves is a real-shaped tree: node 0 splits into nodes 1 and 2,
// which end in leaves 0-3 (~0..~3 = -1..-4).
const fourLeaves = "num_leaves=4\nnum_cat=0\nsplit_feature=2 0 3\nsplit_gain=5 2 1\nthreshold=0.5 1.5 -0.25\ndecision_type=2 2 2\nleft_child=1 -1 -3\nright_child=2 -2 -4\nleaf_value=0.1 -0.1 0.2 -0.2\nleaf_weight=1 1 1 1\nleaf_count=5 5 5 5\ninternal_value=0 0 0\ninternal_weight=4 2 2\ninternal_count=20 10 10\nis_linear=0\nshrinkage=1"

// TestTreeProofs: what the C++ predictor (Tree::GetLeaf) would follow
// without a check must stay inside the tree.
func TestTreeProofs(t *testing.T) {
	cases := []struct {
		name, tree, rule string
	}{
		{"real-shaped tree of four leaves", fourLeaves, ""},
		{"categorical split inside its bitset", "num_leaves=2\nnum_cat=1\nsplit_feature=1\nthreshold=0\ndecision_type=1\nleft_child=-1\nright_child=-2\nleaf_value=1 2\ncat_boundaries=0 1\ncat_threshold=10\nshrinkage=1", ""},
		{"child index past the tree (out-of-bounds read)", strings.Replace(fourLeaves, "right_child=2 -2 -4", "right_child=9999 -2 -4", 1), "lightgbm/bad-tree"},
		{"child pointing back at its parent (endless walk)", strings.Replace(fourLeaves, "left_child=1 -1 -3", "left_child=1 0 -3", 1), "lightgbm/bad-tree"},
		{"leaf index past leaf_value", strings.Replace(fourLeaves, "right_child=2 -2 -4", "right_child=2 -2 -40", 1), "lightgbm/bad-tree"},
		{"split feature past max_feature_idx (reads past the row)", strings.Replace(fourLeaves, "split_feature=2 0 3", "split_feature=2 0 4000000", 1), "lightgbm/bad-tree"},
		{"array shorter than num_leaves says", strings.Replace(fourLeaves, "left_child=1 -1 -3", "left_child=1 -1", 1), "lightgbm/bad-tree"},
		{"categorical set index past num_cat", "num_leaves=2\nnum_cat=1\nsplit_feature=1\nthreshold=5\ndecision_type=1\nleft_child=-1\nright_child=-2\nleaf_value=1 2\ncat_boundaries=0 1\ncat_threshold=10\nshrinkage=1", "lightgbm/bad-tree"},
		{"cat_boundaries past cat_threshold", "num_leaves=2\nnum_cat=1\nsplit_feature=1\nthreshold=0\ndecision_type=1\nleft_child=-1\nright_child=-2\nleaf_value=1 2\ncat_boundaries=0 900\ncat_threshold=10\nshrinkage=1", "lightgbm/bad-tree"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := formats.DefaultOptions()
			o.Hash = false
			res := formatstest.ScanBytes(t, "model.txt", []byte(withTree(c.tree)), &o)
			got := formatstest.Rules(res, formats.High)
			if c.rule == "" && len(got) > 0 || c.rule != "" && (len(got) == 0 || got[0] != c.rule) {
				t.Errorf("want %q: %s", c.rule, formatstest.Describe(res))
			}
		})
	}
}

func TestLightGBM(t *testing.T) {
	cases := []struct {
		name string
		data string
		rule string
	}{
		{"two trees", model("300 300", 2, "null"), ""},
		{"pandas categories", model("300", 1, `[["a","b"]]`), ""},
		{"tree_sizes disagreeing with the trees", model("300 300 300", 2, "null"), "lightgbm/malformed"},
		{"pandas_categorical not JSON", model("300", 1, `[["a",}`), "lightgbm/malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := formats.DefaultOptions()
			o.Hash = false
			res := formatstest.ScanBytes(t, "model.txt", []byte(c.data), &o)
			if res.Format != "lightgbm" {
				t.Fatalf("format %q", res.Format)
			}
			got := formatstest.Rules(res, formats.High)
			if c.rule == "" && len(got) > 0 || c.rule != "" && (len(got) == 0 || got[0] != c.rule) {
				t.Errorf("want %q: %s", c.rule, formatstest.Describe(res))
			}
		})
	}
}

func FuzzLightGBM(f *testing.F) {
	f.Add([]byte(model("300", 1, "null")))
	f.Add([]byte(withTree(fourLeaves)))
	f.Fuzz(func(t *testing.T, data []byte) {
		formatstest.NoAnalyzerFailure(t, "model.txt", data)
	})
}

func BenchmarkLightGBM(b *testing.B) {
	data := []byte(model(strings.TrimSpace(strings.Repeat("300 ", 9)), 9, "null") + strings.Repeat("x", 8<<20))
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		formatstest.ScanBytes(b, "model.txt", data, &o)
	}
}
