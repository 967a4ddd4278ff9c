package lightgbm

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// LightGBM's predictor trusts the tree it parsed. Tree::GetLeaf
// (include/LightGBM/tree.h) walks
//
//	while (node >= 0) node = Decision(feature_values[split_feature_[node]], node);
//
// and returns leaf_value_[~node]: no child index, leaf index or feature
// index is checked against anything, and Tree::Tree (src/io/tree.cpp) reads
// the arrays with StringToArrayFast, which does not check their length.
// Attack class: a model whose tree sends the C++ predictor outside its
// arrays (or the caller's feature row), or round in a cycle forever.
// Every tree is proven safe here: each array has its declared length,
// every child is a later internal node or an existing leaf (so the walk
// ends), every split feature exists, and every categorical split's
// bitset lies inside cat_threshold.

// treeBlock is one Tree= block: its key=value lines, the last of a
// repeated key winning as in Tree::Tree's map.
type treeBlock struct {
	index int
	off   int64
	kv    map[string]string
}

// maxTreeProblems bounds the findings one model can produce.
const maxTreeProblems = 25

func ints(s string) ([]int64, error) {
	f := strings.Fields(s)
	out := make([]int64, len(f))
	for i, v := range f {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%q is not a 32-bit integer", v)
		}
		out[i] = n
	}
	return out, nil
}

func floats(s string) ([]float64, error) {
	f := strings.Fields(s)
	out := make([]float64, len(f))
	for i, v := range f {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil && !strings.EqualFold(strings.TrimLeft(v, "+-"), "inf") && !strings.EqualFold(v, "nan") {
			return nil, fmt.Errorf("%q is not a number", v)
		}
		out[i] = x
	}
	return out, nil
}

// check returns why the tree is unsafe for the predictor, or "".
// maxFeature is the header's max_feature_idx (-1: unknown).
func (t *treeBlock) check(maxFeature int64) string {
	atoi := func(k string) (int64, string) {
		v, ok := t.kv[k]
		if !ok {
			return 0, fmt.Sprintf("has no %s (LightGBM refuses it)", k)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return 0, fmt.Sprintf("%s=%q is not an integer", k, v)
		}
		return n, ""
	}
	leaves, why := atoi("num_leaves")
	if why != "" {
		return why
	}
	numCat, why := atoi("num_cat")
	if why != "" {
		return why
	}
	if leaves < 1 || numCat < 0 {
		return fmt.Sprintf("declares num_leaves=%d num_cat=%d", leaves, numCat)
	}
	arrayOf := func(k string, n int64, isInt bool) ([]int64, []float64, string) {
		v, ok := t.kv[k]
		if !ok {
			return nil, nil, fmt.Sprintf("has no %s (LightGBM refuses it)", k)
		}
		var got int
		var iv []int64
		var fv []float64
		var err error
		if isInt {
			iv, err = ints(v)
			got = len(iv)
		} else {
			fv, err = floats(v)
			got = len(fv)
		}
		if err != nil {
			return nil, nil, fmt.Sprintf("%s: %v", k, err)
		}
		if int64(got) != n {
			return nil, nil, fmt.Sprintf("%s has %d values where num_leaves=%d needs %d; the loader reads a fixed count regardless", k, got, leaves, n)
		}
		return iv, fv, ""
	}
	if _, _, why := arrayOf("leaf_value", leaves, false); why != "" {
		return why
	}
	if leaves == 1 {
		return ""
	}
	inner := leaves - 1
	left, _, why := arrayOf("left_child", inner, true)
	if why != "" {
		return why
	}
	right, _, why := arrayOf("right_child", inner, true)
	if why != "" {
		return why
	}
	feat, _, why := arrayOf("split_feature", inner, true)
	if why != "" {
		return why
	}
	_, thr, why := arrayOf("threshold", inner, false)
	if why != "" {
		return why
	}
	dec := make([]int64, inner)
	if _, ok := t.kv["decision_type"]; ok {
		if dec, _, why = arrayOf("decision_type", inner, true); why != "" {
			return why
		}
	}
	for i := int64(0); i < inner; i++ {
		for _, c := range []struct {
			name string
			v    int64
		}{{"left_child", left[i]}, {"right_child", right[i]}} {
			switch {
			case c.v >= 0 && (c.v >= inner || c.v <= i):
				// Internal nodes are numbered in split order, children
				// after parents: a child at or before its parent is a
				// cycle, one past the end an out-of-bounds read.
				return fmt.Sprintf("node %d's %s is node %d, which is not a later internal node of the %d; the predictor would read outside the tree or loop forever", i, c.name, c.v, inner)
			case c.v < 0 && ^c.v >= leaves:
				return fmt.Sprintf("node %d's %s is leaf %d of %d; the predictor would read leaf_value outside its array", i, c.name, ^c.v, leaves)
			}
		}
		if feat[i] < 0 || (maxFeature >= 0 && feat[i] > maxFeature) {
			return fmt.Sprintf("node %d splits on feature %d, outside 0..max_feature_idx=%d; the predictor would read outside the caller's feature row", i, feat[i], maxFeature)
		}
		if dec[i]&1 != 0 { // kCategoricalMask
			if why := t.checkCategorical(i, thr[i], numCat); why != "" {
				return why
			}
		}
	}
	return ""
}

// checkCategorical: a categorical split's threshold is an index into
// cat_boundaries, whose entries delimit its bitset in cat_threshold.
func (t *treeBlock) checkCategorical(node int64, thr float64, numCat int64) string {
	idx := int64(thr)
	if math.IsNaN(thr) || thr < 0 || idx >= numCat {
		return fmt.Sprintf("categorical node %d names category set %v of %d", node, thr, numCat)
	}
	bounds, err := ints(t.kv["cat_boundaries"])
	if err != nil || int64(len(bounds)) != numCat+1 {
		return fmt.Sprintf("cat_boundaries has %d values where num_cat=%d needs %d", len(bounds), numCat, numCat+1)
	}
	words := int64(len(strings.Fields(t.kv["cat_threshold"])))
	for i := 1; i < len(bounds); i++ {
		if bounds[0] != 0 || bounds[i] < bounds[i-1] || bounds[i] > words {
			return fmt.Sprintf("cat_boundaries %v do not delimit the %d words of cat_threshold; a categorical split would read outside it", bounds, words)
		}
	}
	return ""
}
