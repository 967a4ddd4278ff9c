package tflite

import (
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
	"github.com/modelvet/modelvet/formats/internal/flatbuf"
)

type T = flatbuf.T

func opCode(builtin uint32, custom any) T {
	return T{int8(min(builtin, 127)), custom, uint32(1), builtin}
}

// model is the shape TFLiteConverter writes: version 3, operator codes,
// one subgraph, a description, buffers (the first one empty).
func model(codes []T, buffers []T) []byte {
	if buffers == nil {
		buffers = []T{{}, {[]byte{1, 2, 3, 4}}}
	}
	return flatbuf.Build("TFL3", T{uint32(3), codes, []T{{}}, "MLIR Converted.", buffers})
}

func TestTFLite(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		rule string
		sev  formats.Severity
	}{
		{"builtin ops only (ADD, CONV_2D)", model([]T{opCode(0, nil), opCode(3, nil)}, nil), "", 0},
		{"op code above 127 (builtin_code field)", model([]T{{int8(127), nil, uint32(1), uint32(150)}}, nil), "", 0},
		{"large-model buffer stored after the FlatBuffer", nil, "", 0},
		// tflite-micro's micro_speech audio preprocessor (TFLM signal ops).
		{"custom ops shipped with TFLite Micro", model([]T{opCode(32, "SignalWindow"), opCode(32, "SignalFilterBank"), opCode(32, "ethos-u")}, nil), "", 0},
		{"custom op named like a shipped one", model([]T{opCode(32, "SignalWindowEvil")}, nil), "tflite/custom-op", formats.Medium},
		// Code outside the file.
		{"custom op", model([]T{opCode(32, "MyCompanyNMS")}, nil), "tflite/custom-op", formats.Medium},
		{"SSD post-processing op (shipped with TFLite)", model([]T{opCode(32, "TFLite_Detection_PostProcess")}, nil), "", 0},
		// TFLite Support's whitespace_tokenizer_flex_delegate.tflite: plain
		// TensorFlow math and string kernels through the Flex delegate.
		{"Flex ops of a real tokenizer (FlexMul, FlexCumsum, FlexRaggedRange)", model([]T{opCode(32, "FlexMul"), opCode(32, "FlexCumsum"), opCode(32, "FlexRaggedRange")}, nil), "tflite/flex-op", formats.Low},
		{"Flex op", model([]T{opCode(32, "FlexRFFT")}, nil), "tflite/flex-op", formats.Low},
		{"Flex op reading files", model([]T{opCode(32, "FlexReadFile")}, nil), "tflite/flex-risky-op", formats.High},
		{"Flex op calling Python", model([]T{opCode(32, "FlexEagerPyFunc")}, nil), "tflite/flex-risky-op", formats.High},
		// The TensorFlow op table shared with SavedModel (formats/internal/tfops).
		{"Flex tf.data CSV reader", model([]T{opCode(32, "FlexCSVDatasetV2")}, nil), "tflite/flex-risky-op", formats.High},
		{"Flex tf.data LoadDataset", model([]T{opCode(32, "FlexLoadDataset")}, nil), "tflite/flex-risky-op", formats.High},
		{"Flex file-system reconfiguration", model([]T{opCode(32, "FlexFileSystemSetConfiguration")}, nil), "tflite/flex-risky-op", formats.High},
		{"Flex PrintV2 (can print into a file)", model([]T{opCode(32, "FlexPrintV2")}, nil), "tflite/flex-risky-op", formats.High},
		{"Flex checkpoint write", model([]T{opCode(32, "FlexSaveV2")}, nil), "tflite/flex-risky-op", formats.High},
		{"buffer past the end of the file", model(nil, []T{{nil, uint64(1 << 40), uint64(16)}}), "tflite/buffer-out-of-range", formats.High},
		// Parser differential on the op code: TFLite takes the larger of
		// builtin_code and the signed deprecated byte.
		{"custom op behind a negative deprecated code", model([]T{{int8(-1), "StealCredentials", uint32(1), uint32(32)}}, nil), "tflite/custom-op", formats.Medium},
		{"Flex file write behind deprecated code -128", model([]T{{int8(-128), "FlexWriteFile", uint32(1), uint32(32)}}, nil), "tflite/flex-risky-op", formats.High},
		{"placeholder 127 with builtin_code CUSTOM is op 127, not custom", model([]T{{int8(127), "NotRun", uint32(1), uint32(32)}}, nil), "", 0},
		{"truncated FlatBuffer", model([]T{opCode(0, nil)}, nil)[:30], "tflite/malformed", formats.High},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := c.data
			if data == nil {
				m := model([]T{opCode(0, nil)}, []T{{nil, uint64(0), uint64(0)}})
				data = model([]T{opCode(0, nil)}, []T{{nil, uint64(len(m) + 64), uint64(16)}})
				data = append(data, make([]byte, 128)...)
			}
			formatstest.ExpectRule(t, "model.tflite", "tflite", data, c.rule, c.sev)
		})
	}
}

func FuzzTFLite(f *testing.F) {
	f.Add(model([]T{opCode(32, "FlexReadFile"), opCode(0, nil)}, nil))
	f.Add(model([]T{{int8(-1), "FlexWriteFile", uint32(1), uint32(32)}}, nil))
	f.Add(model([]T{opCode(32, "FlexCSVDatasetV2"), opCode(32, "FlexPrintV2")}, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		formatstest.NoAnalyzerFailure(t, "m.tflite", data)
	})
}

// A 2 GiB model whose weights follow the FlatBuffer: only the FlatBuffer
// is read.
func BenchmarkTFLite2GiB(b *testing.B) {
	const size = 2 << 30
	head := model([]T{opCode(3, nil)}, []T{{}, {nil, uint64(4096), uint64(size - 4096)}})
	r := &formatstest.Sparse{Head: head, Size: size}
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(size)
	for b.Loop() {
		res := formats.ScanReader("model.tflite", r, size, &o)
		if m, _ := res.Max(); res.Format != "tflite" || m > formats.Info {
			b.Fatal(formatstest.Describe(res))
		}
	}
}
