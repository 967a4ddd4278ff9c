package onnx

import (
	"slices"
	"sort"

	"github.com/modelvet/modelvet/formats"
)

// standardDomains are the operator sets defined by the ONNX standard;
// every conforming runtime implements them without outside code.
var standardDomains = map[string]bool{
	"": true, "ai.onnx": true, "ai.onnx.ml": true,
	"ai.onnx.training": true, "ai.onnx.preview.training": true,
}

// contribDomains are operator sets that ship inside onnxruntime (or the
// PyTorch ATen fallback it links). They need no code beyond the runtime.
var contribDomains = map[string]bool{
	"com.microsoft": true, "com.microsoft.nchwc": true, "com.microsoft.mlfeaturizers": true,
	"com.microsoft.experimental": true, "com.microsoft.dml": true, "com.ms.internal.nhwc": true,
	"org.pytorch.aten": true,
}

// judgeDomains reports operator domains a runtime can only serve with
// custom native code. It runs after the walk because model-local functions
// (field 25) come after the graph on the wire, and a node calling a local
// function is expanded from the model itself, not from outside code.
//
// Attack class: a model that only runs once the user registers a custom
// operator library (onnxruntime's register_custom_ops_library loads a
// shared object). The model cannot ship that code itself, so this is not
// Critical; it is Medium because "install this .so to use the model" is how
// native code is smuggled in, and the op names say which library is meant.
func (w *walker) judgeDomains() {
	local := map[string]bool{}
	for k := range w.funcs {
		for i := 0; i < len(k); i++ {
			if k[i] == 0 {
				local[k[:i]] = true
				break
			}
		}
	}
	type hit struct {
		domain, op string
		off        int64
	}
	var custom, contrib []hit
	seenContrib := map[string]bool{}
	for d := range w.opsets {
		if !standardDomains[d] && !local[d] && !contribDomains[d] {
			custom = append(custom, hit{d, "", formats.NoOffset})
		}
	}
	for u, off := range w.uses {
		switch {
		case standardDomains[u.domain]:
		case contribDomains[u.domain]:
			if !seenContrib[u.domain] {
				seenContrib[u.domain] = true
				contrib = append(contrib, hit{u.domain, u.op, off})
			}
		case u.op != "" && w.funcs[u.domain+"\x00"+u.op]:
			// a call of a function the model defines
		case u.op == "" && (local[u.domain] || w.opsets[u.domain] != 0):
			// a function's opset import of a local or model-level domain
		default:
			if u.op == "" {
				if _, ok := w.opsets[u.domain]; ok {
					continue
				}
			}
			custom = append(custom, hit{u.domain, u.op, off})
		}
	}
	// A domain whose ops are listed needs no separate "imported" finding.
	withOps := map[string]bool{}
	for _, h := range custom {
		if h.op != "" {
			withOps[h.domain] = true
		}
	}
	custom = slices.DeleteFunc(custom, func(h hit) bool { return h.op == "" && withOps[h.domain] })
	sort.Slice(custom, func(i, j int) bool {
		if custom[i].domain != custom[j].domain {
			return custom[i].domain < custom[j].domain
		}
		return custom[i].op < custom[j].op
	})
	sort.Slice(contrib, func(i, j int) bool { return contrib[i].domain < contrib[j].domain })
	for _, h := range custom {
		if h.op == "" {
			w.report("onnx/custom-domain", formats.Medium, h.off,
				"the model imports operator domain %q, which is neither standard ONNX nor an onnxruntime contrib domain; running it needs a custom native operator library supplied from outside the model", h.domain)
		} else {
			w.report("onnx/custom-domain", formats.Medium, h.off,
				"operator %s.%s is neither standard ONNX, an onnxruntime contrib op, nor a function defined in the model; running it needs a custom native operator library supplied from outside the model", h.domain, h.op)
		}
	}
	for _, h := range contrib {
		w.report("onnx/contrib-domain", formats.Info, h.off,
			"the model uses onnxruntime contrib operators of domain %q (e.g. %s); other runtimes may not run it", h.domain, h.op)
	}
}

// epContext reports an onnxruntime EPContext node: a blob precompiled for
// one execution provider (QNN, OpenVINO, TensorRT...). The blob is handed
// to that provider's native deserializer, which no scanner can inspect;
// with embed_mode=0 the attribute is instead a path to a cache file, which
// must stay inside the model's folder like external data.
func (w *walker) epContext(off int64, where, domain string, info *nodeInfo) {
	if domain != "com.microsoft" {
		return // a custom-domain op that happens to share the name: judged as such
	}
	src := info.source
	if src == "" {
		src = "an unnamed execution provider"
	}
	if !info.ctxSet {
		w.report("onnx/ep-context", formats.Low, off,
			"%s: EPContext node for %s without an ep_cache_context attribute", where, src)
		return
	}
	n := info.ctxEnd - info.ctxStart
	if info.embedMode != 0 {
		w.report("onnx/ep-context", formats.Medium, off,
			"%s: EPContext node embeds a %d-byte precompiled blob for %s; it is loaded by that provider's native code and cannot be inspected", where, n, src)
		return
	}
	if n > maxLocationLen {
		w.report("onnx/external-data-escape", formats.High, info.ctxStart,
			"%s: EPContext cache path is %d bytes long; no exporter writes such a path", where, n)
		return
	}
	b, err := w.win.CopyAt(info.ctxStart, int(n))
	if err != nil {
		w.report("onnx/malformed", formats.High, info.ctxStart, "%s: cannot read the EPContext cache path: %v", where, err)
		return
	}
	loc := string(b)
	w.report("onnx/ep-context", formats.Low, off,
		"%s: EPContext node loads a precompiled context for %s from the file %q", where, src, loc)
	if sev, why := locationProblem(loc); why != "" {
		w.report("onnx/external-data-escape", sev, info.ctxStart, "%s: EPContext cache path %q: %s", where, loc, why)
		return
	}
	if w.onDisk {
		if f := w.resolve(loc); f.problem != "" {
			w.report(f.rule, f.sev, off, "%s: EPContext cache file %q: %s", where, loc, f.problem)
		}
	}
}
