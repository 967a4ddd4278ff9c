// Package tfjs reads TensorFlow.js models: a model.json (graph or layers
// model) whose weightsManifest names binary weight shards beside it. No
// part of a TF.js model is code (ops and layers are looked up in the
// runtime's registry by name), so what is judged is what the manifest makes
// a loader open: the shard paths must stay inside the model's folder, and
// the shards must hold exactly the bytes the manifest's weights need.
package tfjs

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/internal/refpath"
	"github.com/modelvet/modelvet/formats/internal/sidecar"
	"github.com/modelvet/modelvet/formats/internal/tfops"
	"github.com/modelvet/modelvet/formats/keras"
	"github.com/modelvet/modelvet/internal/jsonx"
)

func init() {
	formats.Register(&formats.Analyzer{
		Name:       "tfjs",
		Extensions: []string{".json"},
		Priority:   8, // above the generic JSON config reader
		Sniff:      sniff,
		Analyze:    analyze,
	})
	// tfjs/weight-shard (info): names a shard a model.json beside it
	// reads, so a folder scan does not call it unrecognized.
	formats.Register(sidecar.Data("tfjs-weights", []string{".bin"}, shards.Claims, "tfjs/weight-shard",
		"a TF.js weight shard named by a model.json beside it (%d bytes of raw tensor data; the manifest's analyzer checks its size)"))
}

// maxManifest bounds the model.json read whole (real ones: up to a few MB
// of topology).
const maxManifest = 256 << 20

var shards = sidecar.New(isManifestName, func(opts *formats.Options, path string, size int64) []string {
	m, err := readManifest(opts, path, size)
	if err != nil {
		return nil
	}
	var out []string
	for _, g := range m {
		for _, p := range g.paths {
			if _, why := refpath.Problem(p.s); why == "" {
				out = append(out, p.s)
			}
		}
	}
	return out
})

// isLayersModel: a manifest whose format is "layers-model", or whose
// modelTopology is a Keras model (class_name / model_config) and not a
// GraphDef.
func isLayersModel(b []byte) bool {
	v, _, err := jsonx.Parse(b, jsonx.Limits{MaxDepth: 256, MaxNodes: 1 << 22})
	if err != nil || v.Kind != jsonx.Object {
		return false
	}
	if f := v.Get("format"); f != nil && f.Kind == jsonx.String {
		return f.Str == "layers-model"
	}
	t := v.Get("modelTopology")
	return t != nil && t.Kind == jsonx.Object && (t.Get("class_name") != nil || t.Get("model_config") != nil)
}

func isManifestName(name string) bool { return strings.EqualFold(filepath.Ext(name), ".json") }

// sniff wants a JSON object whose head names TF.js's top-level keys.
func sniff(p *formats.Probe) bool {
	h := strings.TrimLeft(string(p.Head), " \t\r\n")
	if !strings.HasPrefix(h, "{") {
		return false
	}
	return strings.Contains(h, `"weightsManifest"`) ||
		(strings.Contains(h, `"modelTopology"`) && (strings.Contains(h, `"format"`) || strings.Contains(h, `"generatedBy"`) || strings.Contains(h, `"convertedBy"`)))
}

type strAt struct {
	s   string
	off int
}

type weight struct {
	name  string
	bytes int64 // -1 when not computable (string tensors)
	off   int
}

type group struct {
	paths   []strAt
	weights []weight
	off     int
}

// dtypeBytes are the element sizes of tfjs-core's DataType (and of the
// quantization dtypes of tfjs-converter).
var dtypeBytes = map[string]int64{
	"float32": 4, "int32": 4, "bool": 1, "complex64": 8,
	"uint8": 1, "uint16": 2, "float16": 2, "int8": 1, "int16": 2,
}

func readManifest(opts *formats.Options, path string, size int64) ([]group, error) {
	if size > maxManifest {
		return nil, fmt.Errorf("the manifest is %d bytes, more than the %d modelvet reads", size, maxManifest)
	}
	b, err := opts.ReadSmallFile(path, maxManifest)
	if err != nil {
		return nil, err
	}
	return parseManifest(b)
}

func parseManifest(b []byte) ([]group, error) {
	doc, _, err := jsonx.Parse(b, jsonx.Limits{MaxDepth: 256, MaxNodes: 1 << 24})
	if err != nil {
		return nil, err
	}
	wm := doc.Get("weightsManifest")
	if wm == nil {
		return nil, nil
	}
	if wm.Kind != jsonx.Array {
		return nil, &jsonx.Error{Off: wm.Off, Msg: "weightsManifest is not an array"}
	}
	var out []group
	for _, gv := range wm.Vals {
		g := group{off: gv.Off}
		if gv.Kind != jsonx.Object {
			return nil, &jsonx.Error{Off: gv.Off, Msg: "a weightsManifest entry is not an object"}
		}
		if ps := gv.Get("paths"); ps != nil && ps.Kind == jsonx.Array {
			for _, p := range ps.Vals {
				if p.Kind != jsonx.String {
					return nil, &jsonx.Error{Off: p.Off, Msg: "a shard path is not a string"}
				}
				g.paths = append(g.paths, strAt{p.Str, p.Off})
			}
		}
		if ws := gv.Get("weights"); ws != nil && ws.Kind == jsonx.Array {
			for _, w := range ws.Vals {
				g.weights = append(g.weights, weightOf(w))
			}
		}
		out = append(out, g)
	}
	return out, nil
}

func weightOf(w *jsonx.Value) weight {
	out := weight{bytes: -1, off: w.Off}
	if n := w.Get("name"); n != nil {
		out.name = n.Str
	}
	dt := w.Get("dtype")
	if q := w.Get("quantization"); q != nil {
		dt = q.Get("dtype")
	}
	if dt == nil {
		return out
	}
	size, ok := dtypeBytes[dt.Str]
	if !ok {
		return out
	}
	elems := int64(1)
	if sh := w.Get("shape"); sh != nil && sh.Kind == jsonx.Array {
		for _, d := range sh.Vals {
			v, ok := jsonx.Uint(d)
			if !ok || v > 1<<40 {
				return out
			}
			elems *= int64(v)
			if elems > 1<<42 {
				return out
			}
		}
	}
	out.bytes = elems * size
	return out
}

func analyze(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("tfjs")
	if size > maxManifest {
		// tfjs/too-large: the manifest could not be read whole, so the
		// shard paths it names were not checked.
		s.Reportf("tfjs/too-large", formats.Medium, formats.NoOffset, "the model.json is %d bytes, more than the %d modelvet reads; the weight paths were not checked", size, maxManifest)
		return
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		s.Reportf("formats/read-error", formats.High, 0, "cannot read the model.json: %v", err)
		return
	}
	groups, err := parseManifest(b)
	if err != nil {
		off := int64(formats.NoOffset)
		if e, ok := err.(*jsonx.Error); ok {
			off = int64(e.Off)
		}
		// tfjs/malformed: a manifest loaders parse differently or not at
		// all; the shards it names cannot be tied to it.
		s.Reportf("tfjs/malformed", formats.High, off, "the model.json does not parse as a TF.js manifest (%v)", err)
		return
	}
	s.Detail("weight_groups", fmt.Sprint(len(groups)))
	if doc, _, err := jsonx.Parse(b, jsonx.Limits{MaxDepth: 256, MaxNodes: 1 << 24}); err == nil {
		names, offs := customOps(doc)
		for _, op := range names {
			why := ""
			if r, ok := tfops.Risky[op]; ok {
				why = "; it is the TensorFlow op that " + r.Why + ", which the tensorflowjs converter hands back to TensorFlow when it turns the graph into a SavedModel"
			}
			// tfjs/custom-op. Attack class: a graph model that only runs
			// with JavaScript the application registers (tf.registerOp),
			// the TF.js form of a custom operator library.
			s.Reportf("tfjs/custom-op", formats.Medium, int64(offs[op]), "the graph uses the op %q, which TF.js does not implement: it only runs with code the application registers for it (tf.registerOp)%s", op, why)
		}
	}
	if isLayersModel(b) {
		// Attack class: a layers model is a Keras config. TF.js refuses a
		// Lambda layer, but tensorflowjs' Python converter
		// (load_keras_model, --input_format tfjs_layers_model) rebuilds
		// the topology with keras.models.model_from_json, which runs
		// Lambda code and imports the modules the config names.
		keras.ScanConfig(s, "model.json", b)
	}
	dir := ""
	if s.OnDisk() {
		dir = filepath.Dir(s.Path())
	}
	for gi, g := range groups {
		total, known := int64(0), true
		for _, w := range g.weights {
			if w.bytes < 0 || total > 1<<52 {
				known = false // string tensors, or a sum no file reaches (and no overflow)
			}
			total += w.bytes
		}
		have, ok := int64(0), true
		for _, p := range g.paths {
			if sev, why := refpath.Problem(p.s); why != "" {
				// tfjs/weight-path-escape: a shard path that makes tfjs-node's
				// file handler (path.join(model dir, path)) read a file the
				// publisher did not ship.
				s.Reportf("tfjs/weight-path-escape", sev, int64(p.off), "weight group %d names the shard %q: %s", gi, p.s, why)
				ok = false
				continue
			}
			if dir == "" {
				ok = false
				continue
			}
			n, problem := shardSize(s.Options(), dir, p.s)
			if problem != "" {
				// tfjs/weight-shard-missing: the model cannot load as
				// checked, and a file dropped there later would be read.
				s.Reportf("tfjs/weight-shard-missing", formats.High, int64(p.off), "weight group %d: the shard %q %s", gi, p.s, problem)
				ok = false
				continue
			}
			have += n
		}
		if ok && known && len(g.paths) > 0 && have != total {
			// tfjs/weight-size-mismatch: tfjs slices weights out of the
			// concatenated shards by the manifest's sizes; bytes that do
			// not add up are a truncated or altered model.
			s.Reportf("tfjs/weight-size-mismatch", formats.Medium, int64(g.off),
				"weight group %d: its shards hold %d bytes but its %d weights need %d", gi, have, len(g.weights), total)
		}
	}
	if dir == "" && len(groups) > 0 {
		s.Detail("weights_unverified", "the weight shards were not checked (the manifest is not a file on disk)")
	}
}

// shardSize returns the size of the shard at rel (slash path) inside dir,
// or why it cannot be used: missing, not a regular file, or reached through
// a link that leads out of the model's folder.
func shardSize(opts *formats.Options, dir, rel string) (int64, string) {
	p := filepath.Join(dir, filepath.FromSlash(rel))
	// Containment first: a file outside the folder is never opened.
	real, err1 := filepath.EvalSymlinks(p)
	if err1 != nil {
		return 0, "does not exist beside the model"
	}
	root, err2 := filepath.EvalSymlinks(formats.ContainmentRoot(dir))
	if err2 != nil || !formats.Within(root, real) {
		return 0, "is reached through a link that leads outside the model's folder"
	}
	// The size of the file the check hashes (the scan's opener); a FIFO
	// or device is refused without waiting on it.
	fi, err := opts.StatFile(p)
	if errors.Is(err, formats.ErrNotRegular) {
		return 0, "is not a regular file"
	}
	if err != nil {
		return 0, "does not exist beside the model"
	}
	return fi.Size(), ""
}
