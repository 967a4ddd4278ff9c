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
