package coreml

import (
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/internal/protowalk"
	"github.com/modelvet/modelvet/formats/internal/refpath"
)

// An ML Program (Model.mlProgram, MIL.proto) keeps its weights outside the
// protobuf: a Value's blobFileValue names a file ("@model_path/weights/
// weight.bin", relative to the package's model folder) and an offset.
//
// Attack class: weights read from a file the model names outside its
// package (the ONNX external-data class): any readable file becomes a
// tensor, and the model's outputs can carry it back. Every Value of every
// operation (attributes, inputs) of every block of every function, nested
// blocks included, is visited.
const fMLProgram = 502

const milModelPath = "@model_path/"

func (w *walker) milProgram(start, end int64) error {
	return w.win.Fields(start, end, func(f protowalk.Field) error {
		switch f.Num {
		case 2: // functions: map<string, Function>
			return w.mapValues(f, func(v protowalk.Field) error { return w.milFunction(v) })
		case 4: // attributes: map<string, Value>
			return w.mapValues(f, w.milValue)
		}
		return nil
	})
}

// mapValues calls fn with the value (field 2) of one map entry.
func (w *walker) mapValues(f protowalk.Field, fn func(protowalk.Field) error) error {
	if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
		return err
	}
	return w.win.Fields(f.Start, f.End, func(g protowalk.Field) error {
		if g.Num != 2 {
			return nil
		}
		if err := protowalk.Want(g, protowire.BytesType, false); err != nil {
			return err
		}
		return fn(g)
	})
}

func (w *walker) milFunction(f protowalk.Field) error {
	return w.win.Fields(f.Start, f.End, func(g protowalk.Field) error {
		switch g.Num {
		case 3: // block_specializations: map<string, Block>
			return w.mapValues(g, func(b protowalk.Field) error { return w.milBlock(b, 0) })
		case 4:
			return w.mapValues(g, w.milValue)
		}
		return nil
	})
}

func (w *walker) milBlock(f protowalk.Field, depth int) error {
	if depth > maxDepth {
		return protowalk.Bad(f.Start, "ML Program blocks nest more than %d deep", maxDepth)
	}
	return w.win.Fields(f.Start, f.End, func(g protowalk.Field) error {
		switch g.Num {
		case 3: // operations
			if err := protowalk.Want(g, protowire.BytesType, false); err != nil {
				return err
			}
			return w.milOperation(g, depth)
		case 4:
			return w.mapValues(g, w.milValue)
		}
		return nil
	})
}

func (w *walker) milOperation(f protowalk.Field, depth int) error {
	return w.win.Fields(f.Start, f.End, func(g protowalk.Field) error {
		switch g.Num {
		case 2: // inputs: map<string, Argument>; Argument.arguments (1) are Bindings whose value is field 2
			return w.mapValues(g, func(arg protowalk.Field) error {
				return w.win.Fields(arg.Start, arg.End, func(b protowalk.Field) error {
					if b.Num != 1 || !b.IsLen() {
						return nil
					}
					return w.win.Fields(b.Start, b.End, func(v protowalk.Field) error {
						if v.Num == 2 && v.IsLen() {
							return w.milValue(v)
						}
						return nil
					})
				})
			})
		case 4: // nested blocks (cond, while_loop)
			if err := protowalk.Want(g, protowire.BytesType, false); err != nil {
				return err
			}
			return w.milBlock(g, depth+1)
		case 5:
			return w.mapValues(g, w.milValue)
		}
		return nil
	})
}

// milValue judges Value.blobFileValue (5) { fileName = 1 }.
func (w *walker) milValue(f protowalk.Field) error {
	return w.win.Fields(f.Start, f.End, func(g protowalk.Field) error {
		if g.Num != 5 || !g.IsLen() {
			return nil
		}
		return w.win.Fields(g.Start, g.End, func(h protowalk.Field) error {
			if h.Num != 1 {
				return nil
			}
			if !h.IsLen() {
				return protowalk.Bad(h.Off, "blob file name is not a string")
			}
			name, cut, err := w.win.Str(h, 4096)
			if err != nil {
				return err
			}
			w.blobFile(name, cut, h.Off)
			return nil
		})
	})
}

func (w *walker) blobFile(name string, cut bool, off int64) {
	if w.blobs[name] {
		return
	}
	if len(w.blobs) < 1024 {
		w.blobs[name] = true
	}
	rel, ok := strings.CutPrefix(name, milModelPath)
	switch {
	case cut:
		w.report("coreml/blob-path-escape", formats.High, off, "an ML Program weight file name is longer than 4096 bytes; no converter writes such a path")
	case !ok:
		// coremltools always writes @model_path/...; another name is
		// resolved by rules modelvet cannot prove stay in the package.
		w.report("coreml/blob-path-escape", formats.High, off, "an ML Program reads weights from %q, which is not under %s (the package's model folder)", name, milModelPath)
	default:
		if sev, why := refpath.Problem(rel); why != "" {
			w.report("coreml/blob-path-escape", sev, off, "an ML Program reads weights from %q: %s", name, why)
		}
	}
}
