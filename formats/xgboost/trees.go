package xgboost

import (
	"fmt"
	"strconv"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/internal/jsonx"
)

// XGBoost's RegTree::LoadModel (src/tree/tree_model.cc) checks that a
// tree's arrays have num_nodes entries, but not what they hold: it
// dereferences self[parent] for every node's parent index, and the
// predictor follows left/right children and reads the feature at each
// split index without a bounds check.
//
// Attack class: a tree whose indices send the C++ loader or predictor
// outside its node array (or the caller's feature row), or round a cycle.
// Every single-target tree of a JSON or UBJSON model (decode.go) is proven
// safe here: every parent index is a node, and the walk from the root
// reaches each node at most once through children that exist and splits
// on features that exist. Not proven: multi-target trees (another layout),
// categorical split sets, and UBJSON models past maxDecoded values
// (xgboost/trees-unproven, low).

const kInvalidNode = -1

func checkTrees(s *formats.Scope, doc *jsonx.Value) {
	learner := doc.Get("learner")
	numFeature := int64(-1)
	if p := learner.Get("learner_model_param"); p != nil {
		if nf := p.Get("num_feature"); nf != nil {
			if n, err := strconv.ParseInt(nf.Str, 10, 64); err == nil && n > 0 {
				numFeature = n
			}
		}
	}
	gb := learner.Get("gradient_booster")
	var trees []*jsonx.Value
	for _, m := range []*jsonx.Value{gb.Get("model"), gb.Get("gbtree").Get("model")} {
		if t := m.Get("trees"); t != nil && t.Kind == jsonx.Array {
			trees = append(trees, t.Vals...)
		}
	}
	problems := 0
	for i, t := range trees {
		if why := checkTree(t, numFeature); why != "" {
			// xgboost/bad-tree: see above.
			s.Reportf("xgboost/bad-tree", formats.High, int64(t.Off), "tree %d %s", i, why)
			if problems++; problems >= 25 {
				return
			}
		}
	}
}

func intArray(v *jsonx.Value) ([]int64, bool) {
	if v == nil || v.Kind != jsonx.Array {
		return nil, false
	}
	out := make([]int64, len(v.Vals))
	for i, x := range v.Vals {
		n, err := strconv.ParseInt(x.Str, 10, 64)
		if x.Kind != jsonx.Number || err != nil {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

func checkTree(t *jsonx.Value, numFeature int64) string {
	param := t.Get("tree_param")
	if lv := param.Get("size_leaf_vector"); lv != nil {
		if n, err := strconv.Atoi(lv.Str); err == nil && n > 1 {
			return "" // multi-target layout: not proven (see above)
		}
	}
	n, err := strconv.ParseInt(str(param.Get("num_nodes")), 10, 32)
	if err != nil || n < 1 {
		return "" // XGBoost refuses it (tree_param parse)
	}
	left, ok1 := intArray(t.Get("left_children"))
	right, ok2 := intArray(t.Get("right_children"))
	parents, ok3 := intArray(t.Get("parents"))
	split, ok4 := intArray(t.Get("split_indices"))
	if !ok1 || !ok2 || !ok3 || !ok4 || int64(len(left)) != n || int64(len(right)) != n || int64(len(parents)) != n || int64(len(split)) != n {
		return "" // XGBoost's CHECK_EQ on the array sizes refuses it
	}
	for nid := int64(1); nid < n; nid++ {
		if p := parents[nid]; p < 0 || p >= n {
			return fmt.Sprintf("gives node %d the parent %d, outside its %d nodes; XGBoost's loader reads that node unchecked", nid, p, n)
		}
	}
	seen := make([]bool, n)
	stack := []int64{0}
	for len(stack) > 0 {
		nid := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[nid] {
			return fmt.Sprintf("reaches node %d twice from the root (a cycle or a shared node); the predictor could walk forever", nid)
		}
		seen[nid] = true
		l, r := left[nid], right[nid]
		if l == kInvalidNode && r == kInvalidNode {
			continue // a leaf
		}
		for _, c := range []int64{l, r} {
			if c < 0 || c >= n {
				return fmt.Sprintf("gives node %d the child %d, outside its %d nodes; the predictor would read outside the tree", nid, c, n)
			}
		}
		if f := split[nid]; f < 0 || (numFeature > 0 && f >= numFeature) {
			return fmt.Sprintf("splits node %d on feature %d of %d; the predictor would read outside the feature row", nid, f, numFeature)
		}
		stack = append(stack, l, r)
	}
	return ""
}

// str is a string value's text, "" for nil.
func str(v *jsonx.Value) string {
	if v == nil {
		return ""
	}
	return v.Str
}
