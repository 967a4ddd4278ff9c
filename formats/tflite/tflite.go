// Package tflite reads TensorFlow Lite models (a FlatBuffer with the file
// identifier "TFL3", tensorflow/lite/schema/schema.fbs) without loading
// them. Builtin operators are the interpreter's own kernels. What reaches
// beyond the file is: custom operators, which only run when the application
// registers native kernels for them, and Flex operators ("Flex" + a
// TensorFlow op name), which the Flex delegate runs as full TensorFlow ops,
// including ones that read and write files. Buffers stored after the
// FlatBuffer (models over 2 GB) are addressed by offset and size, checked
// against the file.
package tflite

import (
	"bytes"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/internal/flatbuf"
	"github.com/modelvet/modelvet/formats/internal/tfops"
)

func init() {
	formats.Register(&formats.Analyzer{
		Name:       "tflite",
		Extensions: []string{".tflite", ".lite"},
		Priority:   45,
		Sniff: func(p *formats.Probe) bool {
			return len(p.Head) >= 8 && bytes.Equal(p.Head[4:8], []byte("TFL3"))
		},
		Analyze: analyze,
	})
}

// builtinCustom is BuiltinOperator_CUSTOM.
const builtinCustom = 32

// riskyFlex says whether a TensorFlow op, run through the Flex delegate,
// touches the world outside the model (files, Python callbacks, the
// network), and how: the table shared with the SavedModel reader
// (formats/internal/tfops), plus checkpoint and debug ops, which a
// SavedModel's saver graph needs but a TFLite model never does.
func riskyFlex(op string) (string, bool) {
	if r, ok := tfops.Risky[op]; ok {
		return r.Why, true
	}
	why, ok := flexOnlyRisky[op]
	return why, ok
}

var flexOnlyRisky = map[string]string{
	"Save": "writes a checkpoint", "SaveV2": "writes a checkpoint", "SaveSlices": "writes a checkpoint",
	"Restore": "reads a checkpoint", "RestoreV2": "reads a checkpoint", "RestoreSlice": "reads a checkpoint",
	"MergeV2Checkpoints": "writes checkpoint files", "PrintV2": "prints tensors (to a file when output_stream names one)",
	"DebugIdentity": "dumps tensors to a URL", "DebugIdentityV2": "dumps tensors to a URL", "DebugIdentityV3": "dumps tensors to a URL",
	"DebugNanCount": "dumps tensors to a URL", "DebugNumericSummary": "dumps tensors to a URL", "DebugNumericSummaryV2": "dumps tensors to a URL",
}

// shippedCustom are custom operators whose kernels ship with TensorFlow
// Lite or TFLite Micro themselves (the SSD post-processing op, the TFLM
// signal library, the Ethos-U NPU op): they need no code from outside the
// runtime. Exact names only: an unknown name with a familiar prefix is
// still a kernel someone else provides.
var shippedCustom = map[string]bool{
	"TFLite_Detection_PostProcess": true, "ethos-u": true,
	"SignalWindow": true, "SignalRfft": true, "SignalIrfft": true, "SignalEnergy": true,
	"SignalFilterBank": true, "SignalFilterBankSquareRoot": true, "SignalFilterBankSpectralSubtraction": true,
	"SignalFilterBankLog": true, "SignalPCAN": true, "SignalFramer": true, "SignalOverlapAdd": true,
	"SignalStacker": true, "SignalDelay": true, "SignalFftAutoScale": true,
}

const maxName = 512

func analyze(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("tflite")
	malformed := func(err error) {
		// tflite/malformed: the interpreter reads the FlatBuffer in place;
		// offsets that leave it send the loader outside the buffer.
		s.Reportf("tflite/malformed", formats.High, flatbuf.At(err), "the FlatBuffer is broken (%v); the TFLite interpreter would read outside it or reject it", err)
	}
	_, root, err := flatbuf.Open(s, r, size)
	if err != nil {
		malformed(err)
		return
	}
	custom, flex := map[string]bool{}, map[string]bool{}
	ops := 0
	err = root.Tables(1, func(_ int, oc flatbuf.Table) error {
		ops++
		dep, err := oc.Int8(0, 0)
		if err != nil {
			return err
		}
		code, err := oc.Uint32(3, 0)
		if err != nil {
			return err
		}
		// Exactly the interpreter's GetBuiltinCode (lite/schema/
		// schema_utils.cc): the larger of builtin_code and the SIGNED byte
		// deprecated_builtin_code. Attack class: a parser differential on
		// the op code. Read unsigned, a deprecated code of -1 (0xFF) hid a
		// CUSTOM builtin_code from this check while TFLite ran the custom
		// (or Flex) kernel.
		op := max(int64(dep), int64(int32(code)))
		if op != builtinCustom {
			return nil
		}
		name, cut, err := oc.String(1, maxName)
		if err != nil {
			return err
		}
		if cut {
			name += "…"
		}
		if tf, ok := strings.CutPrefix(name, "Flex"); ok && tf != "" {
			flex[tf] = true
		} else {
			custom[name] = true
		}
		return nil
	})
	if err != nil {
		malformed(err)
		return
	}
	var shipped []string
	for _, name := range slices.Sorted(maps.Keys(custom)) {
		if shippedCustom[name] {
			shipped = append(shipped, name)
			continue
		}
		// tflite/custom-op: a custom operator runs the native kernel the
		// application registers under that name; the model depends on code
		// that is not in the file.
		s.Reportf("tflite/custom-op", formats.Medium, formats.NoOffset,
			"the model uses the custom operator %q: it only runs with a native kernel the application registers for it", name)
	}
	for _, op := range slices.Sorted(maps.Keys(flex)) {
		if why, ok := riskyFlex(op); ok {
			// tflite/flex-risky-op: the Flex delegate runs this TensorFlow
			// op, which reaches files, Python or the network.
			s.Reportf("tflite/flex-risky-op", formats.High, formats.NoOffset,
				"the model uses the Flex operator %q: with the Flex delegate TensorFlow runs it, and it %s", "Flex"+op, why)
			continue
		}
		// tflite/flex-op: Flex operators run full TensorFlow kernels (the
		// Flex delegate), a larger surface than the TFLite builtins. Low:
		// the kernels are TensorFlow's own, linked into the delegate, and
		// the ones that reach files, Python or the network are
		// flex-risky-op above, the same table a SavedModel is judged by
		// (where such ops get no finding at all); a model needing the
		// delegate is worth knowing, not blocking (TFLite Support ships
		// tokenizers that need FlexMul, FlexCumsum, FlexRaggedRange...).
		s.Reportf("tflite/flex-op", formats.Low, formats.NoOffset,
			"the model uses the Flex operator %q: it needs the Flex delegate, which runs the TensorFlow op %q", "Flex"+op, op)
	}
	buffers := 0
	err = root.Tables(4, func(k int, buf flatbuf.Table) error {
		buffers++
		off, err := buf.Uint64(1, 0)
		if err != nil {
			return err
		}
		n, err := buf.Uint64(2, 0)
		if err != nil {
			return err
		}
		if off > 1 && (off > uint64(size) || n > uint64(size)-off) {
			// tflite/buffer-out-of-range: a buffer the interpreter maps
			// from beyond the end of the file.
			s.Reportf("tflite/buffer-out-of-range", formats.High, formats.NoOffset,
				"buffer %d is stored at offset %d with %d bytes, past the end of the %d-byte file", k, off, n, size)
		}
		return nil
	})
	if err != nil {
		malformed(err)
		return
	}
	if len(shipped) > 0 {
		s.Detail("custom_ops_shipped_with_tflite", strings.Join(shipped, ","))
	}
	s.Detail("operator_codes", strconv.Itoa(ops))
	s.Detail("buffers", strconv.Itoa(buffers))
}
