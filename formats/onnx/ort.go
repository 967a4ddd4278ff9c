package onnx

import (
	"bytes"
	"io"
	"strconv"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/internal/flatbuf"
)

// ONNX Runtime's own format (.ort): the same graph as an ONNX model,
// stored as a FlatBuffer with the file identifier "ORTM"
// (onnxruntime/core/flatbuffers/schema/ort.fbs). It has no external data;
// what reaches outside the runtime is the same as for ONNX: operators from
// domains that only a custom operator library (native code) serves. The
// nodes are walked, subgraphs included, and their domains judged by the
// ONNX rules (judgeDomains).
func init() {
	formats.Register(&formats.Analyzer{
		Name:       "ort",
		Extensions: []string{".ort"},
		Priority:   45,
		Sniff: func(p *formats.Probe) bool {
			return len(p.Head) >= 8 && bytes.Equal(p.Head[4:8], []byte("ORTM"))
		},
		Analyze: analyzeORT,
	})
}

// Field ids of ort.fbs tables.
const (
	ortSessionModel = 1
	ortModelOpsets  = 1
	ortModelGraph   = 7
	ortGraphNodes   = 2
	ortNodeDomain   = 2
	ortNodeOpType   = 5
	ortNodeAttrs    = 10
	ortAttrGraph    = 7
	ortAttrGraphs   = 12
	ortOpsetDomain  = 0
	ortOpsetVersion = 1
)

func analyzeORT(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("ort")
	w := newWalker(s, r, size)
	b := &flatbuf.Buf{R: r, Size: size, Budget: 20_000_000}
	err := w.ortSession(b)
	if err != nil {
		off := int64(formats.NoOffset)
		if e, ok := err.(*flatbuf.Error); ok {
			off = e.Off
		}
		w.report("ort/malformed", formats.High, off,
			"the FlatBuffer is broken (%v); onnxruntime reads it in place, so a loader would read outside it or reject it, and what follows was not checked", err)
	}
	w.judgeDomains()
	w.finishReports()
	s.Detail("nodes", strconv.Itoa(w.nodes))
}

func (w *walker) ortSession(b *flatbuf.Buf) error {
	root, err := b.Root()
	if err != nil {
		return err
	}
	if v, _, err := root.String(0, maxNameLen); err == nil && v != "" {
		w.s.Detail("ort_version", v)
	}
	model, ok, err := root.Table(ortSessionModel)
	if err != nil || !ok {
		return err
	}
	err = model.Tables(ortModelOpsets, func(_ int, o flatbuf.Table) error {
		d, _, err := o.String(ortOpsetDomain, maxNameLen)
		if err != nil {
			return err
		}
		v, err := o.Uint64(ortOpsetVersion, 0)
		w.opsets[d] = int64(v)
		return err
	})
	if err != nil {
		return err
	}
	g, ok, err := model.Table(ortModelGraph)
	if err != nil || !ok {
		return err
	}
	return w.ortGraph(g, 1)
}

func (w *walker) ortGraph(g flatbuf.Table, depth int) error {
	if err := w.deeper(depth, g.Pos); err != nil {
		return &flatbuf.Error{Off: g.Pos, Msg: err.Error()}
	}
	return g.Tables(ortGraphNodes, func(_ int, n flatbuf.Table) error {
		w.nodes++
		d, _, err := n.String(ortNodeDomain, maxNameLen)
		if err != nil {
			return err
		}
		op, _, err := n.String(ortNodeOpType, maxNameLen)
		if err != nil {
			return err
		}
		w.use(d, op, n.Pos)
		if op == "EPContext" {
			if err := w.ortEPContext(n, d, op); err != nil {
				return err
			}
		}
		return n.Tables(ortNodeAttrs, func(_ int, a flatbuf.Table) error {
			sub, ok, err := a.Table(ortAttrGraph)
			if err != nil {
				return err
			}
			if ok {
				if err := w.ortGraph(sub, depth+1); err != nil {
					return err
				}
			}
			return a.Tables(ortAttrGraphs, func(_ int, sub flatbuf.Table) error { return w.ortGraph(sub, depth+1) })
		})
	})
}

// Attribute fields of ort.fbs used by EPContext: name, i, s.
const (
	ortAttrName = 0
	ortAttrInt  = 4
	ortAttrStr  = 5
)

// ortEPContext judges an EPContext node of an .ort model as the ONNX walk
// does (epContext). Attack class: the precompiled-context path of
// embed_mode=0 names a file the runtime reads, outside the folder, in the
// runtime's own format, which an ONNX-only check never reads.
func (w *walker) ortEPContext(n flatbuf.Table, domain, op string) error {
	info := &nodeInfo{embedMode: 1}
	err := n.Tables(ortNodeAttrs, func(_ int, a flatbuf.Table) error {
		name, _, err := a.String(ortAttrName, maxNameLen)
		if err != nil {
			return err
		}
		switch name {
		case "embed_mode":
			v, err := a.Uint64(ortAttrInt, 0)
			info.embedMode, info.embedModeSet = int64(v), true
			return err
		case "ep_cache_context":
			start, l, err := a.Vector(ortAttrStr, 1)
			if err != nil {
				return err
			}
			info.ctxStart, info.ctxEnd, info.ctxSet = start, start+int64(l), l > 0 || start > 0
		case "source":
			info.source, _, err = a.String(ortAttrStr, maxNameLen)
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.epContext(n.Pos, "graph > node "+opName(domain, op), domain, info)
	return nil
}
