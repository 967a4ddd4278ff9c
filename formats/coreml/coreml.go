// Package coreml reads Core ML models: the .mlmodel protobuf
// (coremltools' Model.proto), the .mlpackage folder that wraps it with its
// weights, and the files of a compiled .mlmodelc bundle. Core ML runs its
// own layers; code from outside comes in through custom layers
// (NeuralNetworkLayer.custom: a class the app implements) and custom
// models (Model.customModel), which only run with native code the
// application provides, and through linked models, which name another
// compiled model file to load.
package coreml

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/internal/protowalk"
	"github.com/modelvet/modelvet/formats/internal/refpath"
	"github.com/modelvet/modelvet/formats/internal/sidecar"
)

func init() {
	formats.Register(&formats.Analyzer{
		Name:       "coreml",
		Extensions: []string{".mlmodel"},
		Priority:   25, // above ONNX: both start with field 1 varint
		Sniff:      sniff,
		Analyze:    analyze,
	})
	// coreml/data-file (info): the files of a compiled bundle and the
	// weights of a package. Their names are claimed so that metadata.json
	// is no "mismatch" with TF.js's model.json.
	formats.Register(sidecar.Data("coreml-data", []string{".bin", ".json", ".mil", ".net", ".shape", ".weights"},
		func(p *formats.Probe) bool { return inCompiledBundle(p.Path) || packageData.Claims(p) }, "coreml/data-file",
		"part of a Core ML model (.mlpackage weights or a compiled .mlmodelc bundle file, %d bytes); the model description beside it is what is judged"))
}

// Model.proto field numbers.
const (
	fSpecVersion  = 1
	fDescription  = 2
	fIsUpdatable  = 10
	fPipelineCls  = 200
	fPipelineReg  = 201
	fPipeline     = 202
	fNNRegressor  = 303
	fNNClassifier = 403
	fNeuralNet    = 500
	fCustomModel  = 555
	fLinkedModel  = 556
	fLayerCustom  = 500 // NeuralNetworkLayer.custom
)

// sniff wants specificationVersion (field 1, a small varint) first and
// then, after at most a description (field 2) and isUpdatable (10), the
// model's type: a message in a field numbered 200 or more. No ONNX
// ModelProto (fields 1-26) or TensorFlow SavedModel (1 and 2) has one, while
// the description alone looks like either (a SavedModel's MetaGraphDef also
// starts with a message in field 1). The description can be longer than
// the head, so the walk reads each tag through the probe's reader.
func sniff(p *formats.Probe) bool {
	var pos int64
	var buf [20]byte
	at := func(off int64) []byte {
		if off < int64(len(p.Head)) {
			return p.Head[off:]
		}
		if p.R == nil || off >= p.Size {
			return nil
		}
		n, _ := p.R.ReadAt(buf[:min(int64(len(buf)), p.Size-off)], off)
		return buf[:n]
	}
	for i := 0; i < 8; i++ {
		b := at(pos)
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		switch {
		case i == 0:
			if num != fSpecVersion || typ != protowire.VarintType {
				return false
			}
		case num >= fPipelineCls:
			if typ != protowire.BytesType {
				return false
			}
			if p.Ext() == ".mlmodel" {
				return true
			}
			// Under another name the type must also end the file, as
			// coremltools writes it: random bytes (a weight shard) can
			// begin like a Core ML model, but not also end like one.
			l, m := protowire.ConsumeVarint(b[n:])
			return m >= 0 && pos+int64(n+m) <= p.Size && l == uint64(p.Size-pos-int64(n+m))
		case num != fDescription && num != fIsUpdatable:
			return false
		}
		switch typ {
		case protowire.VarintType:
			v, m := protowire.ConsumeVarint(b[n:])
			if m < 0 || (num == fSpecVersion && (v < 1 || v > 64)) {
				return false
			}
			pos += int64(n + m)
		case protowire.BytesType:
			l, m := protowire.ConsumeVarint(b[n:])
			if m < 0 || l > uint64(p.Size) {
				return false
			}
			pos += int64(n+m) + int64(l)
		default:
			return false
		}
		if pos >= p.Size {
			return false
		}
	}
	return false
}

const (
	maxDepth   = 32
	maxPerRule = 25
)

type walker struct {
	s      *formats.Scope
	win    *protowalk.Window
	dir    string // the model's folder, "" when not on disk
	capped *formats.PerRule
	layers int
	blobs  map[string]bool // ML Program weight files already judged
}

func (w *walker) report(rule string, sev formats.Severity, off int64, format string, args ...any) {
	w.capped.Reportf(rule, sev, off, format, args...)
}

func analyze(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("coreml")
	w := &walker{s: s, win: protowalk.NewWindow(r, size), capped: &formats.PerRule{S: s, Max: maxPerRule}, blobs: map[string]bool{}}
	if s.OnDisk() {
		w.dir = filepath.Dir(s.Path())
	}
	if err := w.model(0, size, 0); err != nil {
		off, msg := protowalk.Where(err)
		// coreml/malformed: Core ML would reject or misread the model.
		s.Reportf("coreml/malformed", formats.High, off, "the model protobuf is broken (%s); what follows was not checked", msg)
	}
	w.capped.Close()
	s.Detail("layers", strconv.Itoa(w.layers))
}

func (w *walker) model(start, end int64, depth int) error {
	if depth > maxDepth {
		return protowalk.Bad(start, "models nest more than %d deep", maxDepth)
	}
	return w.win.Fields(start, end, func(f protowalk.Field) error {
		switch f.Num {
		case fSpecVersion:
			if err := protowalk.Want(f, protowire.VarintType, false); err != nil {
				return err
			}
			if depth == 0 {
				w.s.Detail("specification_version", strconv.FormatUint(f.Val, 10))
			}
		case fPipelineCls, fPipelineReg: // { pipeline = 1 }
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			return w.win.Fields(f.Start, f.End, func(g protowalk.Field) error {
				if g.Num == 1 && g.IsLen() {
					return w.pipeline(g.Start, g.End, depth+1)
				}
				return nil
			})
		case fPipeline:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			return w.pipeline(f.Start, f.End, depth+1)
		case fNNRegressor, fNNClassifier, fNeuralNet:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			return w.network(f.Start, f.End, depth+1)
		case fMLProgram:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			return w.milProgram(f.Start, f.End)
		case fCustomModel:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			// coreml/custom-model: the whole model is a class the app
			// implements (MLCustomModel); it runs native code not in the file.
			w.report("coreml/custom-model", formats.Medium, f.Off, "the model is a custom model of class %q: Core ML runs the application's own native implementation of it", w.className(f))
		case fLinkedModel:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			return w.linked(f)
		default:
			if f.Num < fPipelineCls && f.Num != fDescription && f.Num != fIsUpdatable {
				// coreml/unknown-field: Model has no fields 3-9 or 11-199,
				// but an ONNX ModelProto does (graph is 7, opset_import 8):
				// a file both readers accept is judged here as Core ML
				// while onnxruntime would run its graph unchecked.
				w.report("coreml/unknown-field", formats.High, f.Off,
					"the model has field %d, which Core ML's Model does not define; another reader (an ONNX ModelProto has fields 1-26) would read this file as something else", f.Num)
			}
		}
		return nil
	})
}

// pipeline walks Pipeline { repeated Model models = 1 }.
func (w *walker) pipeline(start, end int64, depth int) error {
	return w.win.Fields(start, end, func(f protowalk.Field) error {
		if f.Num == 1 {
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			return w.model(f.Start, f.End, depth)
		}
		return nil
	})
}

// Layers that hold whole networks (NeuralNetwork.proto): a branch runs
// ifBranch (1) or elseBranch (2), a loop conditionNetwork (3) and
// bodyNetwork (4). Attack class: a custom layer hidden one network down,
// inside control flow, where a walk of the top-level layers never looks.
const (
	fLayerBranch = 605
	fLayerLoop   = 615
)

// network walks NeuralNetwork* { repeated NeuralNetworkLayer layers = 1 },
// and the networks nested in its branch and loop layers.
func (w *walker) network(start, end int64, depth int) error {
	if depth > maxDepth {
		return protowalk.Bad(start, "networks nest more than %d deep", maxDepth)
	}
	return w.win.Fields(start, end, func(f protowalk.Field) error {
		if f.Num != 1 {
			return nil
		}
		if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
			return err
		}
		w.layers++
		var name string
		return w.win.Fields(f.Start, f.End, func(g protowalk.Field) error {
			switch {
			case g.Num == 1 && g.IsLen():
				name, _, _ = w.win.Str(g, 256)
			case g.Num == fLayerCustom && g.IsLen():
				// coreml/custom-layer: the layer runs the class the app
				// implements (MLCustomLayer), native code not in the file.
				w.report("coreml/custom-layer", formats.Medium, g.Off, "layer %q is a custom layer of class %q: it only runs with the application's own native implementation", name, w.className(g))
			case (g.Num == fLayerBranch || g.Num == fLayerLoop) && g.IsLen():
				return w.win.Fields(g.Start, g.End, func(h protowalk.Field) error {
					nested := h.Num == 1 || h.Num == 2
					if g.Num == fLayerLoop {
						nested = h.Num == 3 || h.Num == 4
					}
					if !nested {
						return nil
					}
					if err := protowalk.Want(h, protowire.BytesType, false); err != nil {
						return err
					}
					return w.network(h.Start, h.End, depth+1)
				})
			}
			return nil
		})
	})
}

// className reads CustomModel/CustomLayerParams.className (field 10).
func (w *walker) className(f protowalk.Field) string {
	name := ""
	_ = w.win.Fields(f.Start, f.End, func(g protowalk.Field) error {
		if g.Num == 10 && g.IsLen() {
			name, _, _ = w.win.Str(g, 256)
		}
		return nil
	})
	return name
}

// linked walks LinkedModel { LinkedModelFile linkedModelFile = 1 } with
// LinkedModelFile { StringParameter linkedModelFileName = 1;
// StringParameter linkedModelSearchPath = 2 } and StringParameter {
// string defaultValue = 1 }.
func (w *walker) linked(f protowalk.Field) error {
	var file, search string
	err := w.win.Fields(f.Start, f.End, func(g protowalk.Field) error {
		if g.Num != 1 || !g.IsLen() {
			return nil
		}
		return w.win.Fields(g.Start, g.End, func(h protowalk.Field) error {
			if (h.Num != 1 && h.Num != 2) || !h.IsLen() {
				return nil
			}
			return w.win.Fields(h.Start, h.End, func(v protowalk.Field) error {
				if v.Num == 1 && v.IsLen() {
					s, _, err := w.win.Str(v, 4096)
					if h.Num == 1 {
						file = s
					} else {
						search = s
					}
					return err
				}
				return nil
			})
		})
	})
	if err != nil {
		return err
	}
	for _, p := range []struct{ what, v string }{{"file name", file}, {"search path", search}} {
		if p.v == "" || p.v == "$BUNDLE_MAIN" || strings.HasPrefix(p.v, "$BUNDLE_MAIN/") || p.v == "$BUNDLE_IDENTIFIER(" {
			continue
		}
		v := strings.TrimPrefix(p.v, "./")
		if sev, why := refpath.Problem(v); why != "" {
			// coreml/linked-model-escape: a linked model loaded from a path
			// the model chooses, outside its folder.
			w.report("coreml/linked-model-escape", sev, f.Off, "the linked model's %s %q: %s", p.what, p.v, why)
		}
	}
	w.s.Detail("linked_model", fmt.Sprintf("%s (search path %q)", file, search))
	return nil
}

// inCompiledBundle: a file inside a compiled model folder (*.mlmodelc),
// whose coremldata.bin, weights and espresso files have no format of their
// own.
func inCompiledBundle(path string) bool {
	if path == "" {
		return false
	}
	for d := filepath.Dir(path); ; {
		if strings.EqualFold(filepath.Ext(d), ".mlmodelc") {
			return true
		}
		p := filepath.Dir(d)
		if p == d {
			return false
		}
		d = p
	}
}

// packageData claims the files an .mlpackage's Manifest.json lists under
// Data/ (weights/weight.bin and the like).
var packageData = sidecar.New(
	func(name string) bool { return name == "Manifest.json" },
	func(_ *formats.Options, path string, size int64) []string {
		root := filepath.Join(filepath.Dir(path), "Data")
		var out []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || len(out) > 4096 {
				return filepath.SkipDir
			}
			if d.Type().IsRegular() {
				if rel, err := filepath.Rel(filepath.Dir(path), p); err == nil {
					out = append(out, filepath.ToSlash(rel))
				}
			}
			return nil
		})
		if !strings.HasSuffix(strings.ToLower(filepath.Dir(path)), ".mlpackage") {
			return nil
		}
		return out
	})
