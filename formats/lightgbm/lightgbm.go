// Package lightgbm reads LightGBM text models (Booster.save_model: "tree",
// "version=v4", header keys, then Tree=N blocks, then "end of trees",
// feature importances, parameters, and for pandas input a
// "pandas_categorical:" JSON line). Nothing in the model is code; the
// loader is C++ that parses each line by key, so the file is read line by
// line with bounds, must have LightGBM's header, and its tree count must
// match the Tree= blocks it holds. The pandas_categorical line is JSON
// (json.loads in the Python package) and must be plain data.
package lightgbm

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/internal/jsonx"
)

func init() {
	formats.Register(&formats.Analyzer{
		Name:     "lightgbm",
		Priority: 9,
		Sniff: func(p *formats.Probe) bool {
			return bytes.HasPrefix(p.Head, []byte("tree\nversion=v")) || bytes.HasPrefix(p.Head, []byte("tree\r\nversion=v"))
		},
		Analyze: analyze,
	})
}

// maxLine bounds one line (a tree's split list on a large model is long).
const maxLine = 256 << 20

func analyze(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("lightgbm")
	sc := bufio.NewScanner(io.NewSectionReader(r, 0, size))
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var off int64
	trees, declared := 0, -1
	inTrees := true
	maxFeature := int64(-1)
	var cur *treeBlock
	problems := 0
	finish := func() {
		if cur == nil {
			return
		}
		if why := cur.check(maxFeature); why != "" && problems < maxTreeProblems {
			problems++
			// lightgbm/bad-tree: see tree.go.
			s.Reportf("lightgbm/bad-tree", formats.High, cur.off, "tree %d %s", cur.index, why)
		}
		cur = nil
	}
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		lineOff := off
		off += int64(len(sc.Bytes())) + 1
		if cur != nil && line != "" && !strings.HasPrefix(line, "Tree=") && line != "end of trees" {
			if k, v, ok := strings.Cut(line, "="); ok {
				cur.kv[k] = v
			}
			continue
		}
		switch {
		case strings.HasPrefix(line, "Tree="):
			if inTrees {
				finish()
				trees++
				cur = &treeBlock{index: trees - 1, off: lineOff, kv: map[string]string{}}
			}
		case strings.HasPrefix(line, "max_feature_idx=") && trees == 0:
			if n, err := strconv.ParseInt(strings.TrimPrefix(line, "max_feature_idx="), 10, 32); err == nil {
				maxFeature = n
			}
		case line == "end of trees":
			finish()
			inTrees = false
		case strings.HasPrefix(line, "tree_sizes="):
			declared = len(strings.Fields(strings.TrimPrefix(line, "tree_sizes=")))
		case strings.HasPrefix(line, "pandas_categorical:"):
			js := strings.TrimPrefix(line, "pandas_categorical:")
			if js != "null" {
				if _, _, err := jsonx.Parse([]byte(js), jsonx.Limits{MaxDepth: 16, MaxNodes: 1 << 22}); err != nil {
					// lightgbm/malformed: json.loads would read the line
					// differently from what modelvet checked, or fail.
					s.Reportf("lightgbm/malformed", formats.High, lineOff, "the pandas_categorical line is not valid JSON (%v)", err)
				}
			}
		}
	}
	finish()
	if err := sc.Err(); err != nil {
		s.Reportf("lightgbm/malformed", formats.High, off, "the model cannot be read line by line (%v)", err)
		return
	}
	if declared >= 0 && declared != trees {
		// lightgbm/malformed: tree_sizes tells the loader where each tree
		// starts; a count that disagrees with the trees present makes it
		// read the wrong bytes as trees.
		s.Reportf("lightgbm/malformed", formats.High, formats.NoOffset, "tree_sizes lists %d trees but the model holds %d Tree= blocks", declared, trees)
	}
	s.Detail("trees", strconv.Itoa(trees))
}
