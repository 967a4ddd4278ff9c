package xgboost

import (
	"encoding/binary"
	"os"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// jsonModel is the shape of Booster.save_model("model.json") (XGBoost 2).
const jsonModel = `{"learner":{"attributes":{},"feature_names":[],"feature_types":[],
"gradient_booster":{"model":{"gbtree_model_param":{"num_parallel_tree":"1","num_trees":"1"},
"iteration_indptr":[0,1],"tree_info":[0],"trees":[{"base_weights":[-0.1,0.2],"categories":[],
"left_children":[1,-1,-1],"right_children":[2,-1,-1],"split_conditions":[0.5,0.1,-0.1],
"split_indices":[0,0,0],"tree_param":{"num_deleted":"0","num_feature":"4","num_nodes":"3","size_leaf_vector":"1"}}]},
"name":"gbtree"},"learner_model_param":{"base_score":"5E-1","num_class":"0","num_feature":"4","num_target":"1"},
"objective":{"name":"binary:logistic","reg_loss_param":{"scale_pos_weight":"1"}}},"version":[2,0,3]}`

// ubjKey writes a UBJSON key as XGBoost does: 'L' int64 length, bytes.
func ubjKey(b []byte, k string) []byte {
	b = append(b, 'L')
	b = binary.BigEndian.AppendUint64(b, uint64(len(k)))
	return append(b, k...)
}

// ubjModel is the shape of save_model("model.ubj"): learner object with a
// typed float32 array, version array.
func ubjModel() []byte {
	b := []byte{'{'}
	b = ubjKey(b, "learner")
	b = append(b, '{')
	b = ubjKey(b, "split_conditions")
	b = append(b, '[', '$', 'd', '#', 'L')
	b = binary.BigEndian.AppendUint64(b, 3)
	b = append(b, make([]byte, 12)...)
	b = ubjKey(b, "name")
	b = append(b, 'S', 'L')
	b = binary.BigEndian.AppendUint64(b, 6)
	b = append(b, "gbtree"...)
	b = append(b, '}')
	b = ubjKey(b, "version")
	b = append(b, '[', 'i', 2, 'i', 0, 'i', 3, ']')
	return append(b, '}')
}

func TestXGBoost(t *testing.T) {
	deep := []byte{'{'}
	deep = ubjKey(deep, "learner")
	deep = append(deep, []byte(strings.Repeat("[", 200))...)
	huge := []byte{'{'}
	huge = ubjKey(huge, "learner")
	huge = append(huge, '[', '#', 'L', 0x7f, 0, 0, 0, 0, 0, 0, 0)
	// 2^61 float64 values: count x 8 wraps to 0 in 64 bits.
	wrap := []byte{'{'}
	wrap = ubjKey(wrap, "learner")
	wrap = append(wrap, '[', '$', 'D', '#', 'L', 0x20, 0, 0, 0, 0, 0, 0, 0, '}')
	cases := []struct {
		name, file string
		data       []byte
		rule       string
		sev        formats.Severity
	}{
		{"JSON model", "model.json", []byte(jsonModel), "", 0},
		{"UBJSON model", "model.ubj", ubjModel(), "", 0},
		{"UBJSON count past the end", "model.ubj", huge, "xgboost/malformed", formats.High},
		{"UBJSON typed array whose size wraps around", "model.ubj", wrap, "xgboost/malformed", formats.High},
		{"UBJSON nested 200 deep", "model.ubj", deep, "xgboost/malformed", formats.High},
		{"UBJSON truncated", "model.ubj", ubjModel()[:30], "xgboost/malformed", formats.High},
		{"JSON truncated", "model.json", []byte(jsonModel[:200]), "xgboost/malformed", formats.High},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			formatstest.ExpectRule(t, c.file, "xgboost", c.data, c.rule, c.sev)
		})
	}
}

func FuzzXGBoost(f *testing.F) {
	f.Add(ubjModel())
	f.Add([]byte(jsonModel))
	if real, err := os.ReadFile("testdata/model.ubj"); err == nil {
		f.Add(real)
	}
	if real, err := os.ReadFile("testdata/model.json"); err == nil {
		f.Add(real)
		f.Add([]byte(strings.Replace(string(real), `"left_children":[1,3,5`, `"left_children":[1,0,5`, 1)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		formatstest.NoAnalyzerFailure(t, "m.ubj", data)
	})
}

// A UBJSON model with a 16 MB typed array: skipped by count x width.
func BenchmarkXGBoostUBJ(b *testing.B) {
	m := []byte{'{'}
	m = ubjKey(m, "learner")
	m = append(m, '[', '$', 'd', '#', 'L')
	m = binary.BigEndian.AppendUint64(m, 4<<20)
	m = append(m, make([]byte, 16<<20)...)
	m = ubjKey(m, "version")
	m = append(m, '[', 'i', 2, ']', '}')
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(int64(len(m)))
	for b.Loop() {
		formatstest.ScanBytes(b, "model.ubj", m, &o)
	}
}

// Models XGBoost itself saved (testdata/make_models.py, XGBoost 1.7.4).
func TestRealModels(t *testing.T) {
	for _, name := range []string{"testdata/model.json", "testdata/model.ubj"} {
		res := formatstest.ScanDir(t, false, name)
		for _, f := range res.Files {
			if f.Format != "xgboost" || len(formatstest.Rules(f, formats.Low)) > 0 {
				t.Errorf("%s: %s %s", name, f.Format, formatstest.Describe(f))
			}
		}
	}
}
