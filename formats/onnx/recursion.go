package onnx

import (
	"sort"
	"strings"

	"github.com/modelvet/modelvet/formats"
)

// checkRecursion reports model-local functions that call themselves,
// directly or through other functions. ONNX forbids recursion; onnxruntime
// inlines function bodies, so a cycle makes the loader expand without end
// (a stack or memory exhaustion when the model is loaded), and other
// runtimes refuse the model: either way what loads is not what was checked.
func (w *walker) checkRecursion() {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	keys := make([]string, 0, len(w.calls))
	for k := range w.calls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	reported := false
	// Iterative depth-first search: a long call chain cannot overflow the
	// scanner's own stack.
	type frame struct {
		fn    string
		next  []string
		index int
	}
	for _, root := range keys {
		if color[root] != white || reported {
			continue
		}
		stack := []frame{{fn: root, next: callees(w.calls[root])}}
		color[root] = grey
		for len(stack) > 0 && !reported {
			top := &stack[len(stack)-1]
			if top.index >= len(top.next) {
				color[top.fn] = black
				stack = stack[:len(stack)-1]
				continue
			}
			c := top.next[top.index]
			top.index++
			if !w.funcs[c] {
				continue // a standard or external op, not a local function
			}
			switch color[c] {
			case grey:
				var path []string
				start := 0
				for i, f := range stack {
					if f.fn == c {
						start = i
					}
				}
				for _, f := range stack[start:] {
					path = append(path, readable(f.fn))
				}
				path = append(path, readable(c))
				w.report("onnx/recursive-function", formats.High, w.funcOff[c],
					"model-local functions call each other in a cycle (%s); ONNX forbids recursion, onnxruntime inlines functions without end while loading, and other runtimes refuse the model", strings.Join(path, " -> "))
				reported = true
			case white:
				color[c] = grey
				stack = append(stack, frame{fn: c, next: callees(w.calls[c])})
			}
		}
	}
}

func callees(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func readable(key string) string {
	d, n, _ := strings.Cut(key, "\x00")
	if d == "" {
		d = "ai.onnx"
	}
	return d + "." + n
}
