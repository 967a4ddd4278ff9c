package coreml

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// milProgram builds Model.mlProgram with one function "main" whose block
// holds ops (MIL.proto field numbers).
func milProgram(ops ...[]byte) []byte {
	entry := func(key string, val []byte) []byte { return cat(lenField(1, []byte(key)), lenField(2, val)) }
	block := lenField(2, []byte("out"))
	for _, o := range ops {
		block = protowire.AppendBytes(protowire.AppendTag(block, 3, protowire.BytesType), o)
	}
	fn := cat(lenField(2, []byte("CoreML5")), lenField(3, entry("CoreML5", block)))
	prog := cat(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1), lenField(2, entry("main", fn)))
	return mlmodel(fMLProgram, prog)
}

// constOp is a MIL "const" whose val attribute is a blob in fileName.
func constOp(fileName string) []byte {
	blob := lenField(5, cat(lenField(1, []byte(fileName)), protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.VarintType), 64)))
	return cat(lenField(1, []byte("const")), lenField(5, cat(lenField(1, []byte("val")), lenField(2, blob))))
}

func TestMLProgram(t *testing.T) {
	cond := func(inner []byte) []byte {
		return cat(lenField(1, []byte("cond")), lenField(4, lenField(3, inner)))
	}
	input := func(fileName string) []byte { // a blob bound directly as an op input
		blob := lenField(5, lenField(1, []byte(fileName)))
		arg := lenField(1, lenField(2, blob))
		return cat(lenField(1, []byte("conv")), lenField(2, cat(lenField(1, []byte("weight")), lenField(2, arg))))
	}
	cases := []struct {
		name string
		data []byte
		rule string
		sev  formats.Severity
	}{
		{"weights in the package (coremltools)", milProgram(constOp("@model_path/weights/weight.bin"), constOp("@model_path/weights/weight.bin")), "", 0},
		{"blob path climbing out of the package", milProgram(constOp("@model_path/../../../../etc/passwd")), "coreml/blob-path-escape", formats.Critical},
		{"blob at an absolute path", milProgram(constOp("/etc/passwd")), "coreml/blob-path-escape", formats.High},
		{"blob inside a cond block", milProgram(cond(constOp("@model_path/../../secret"))), "coreml/blob-path-escape", formats.Critical},
		{"blob bound as an operation input", milProgram(input("@model_path/../../secret")), "coreml/blob-path-escape", formats.Critical},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			formatstest.ExpectRule(t, "model.mlmodel", "coreml", c.data, c.rule, c.sev)
		})
	}
}

func FuzzMLProgram(f *testing.F) {
	f.Add(milProgram(constOp("@model_path/weights/weight.bin")))
	f.Add(milProgram(constOp("@model_path/../x"), constOp("/y")))
	f.Fuzz(func(t *testing.T, data []byte) {
		formatstest.NoAnalyzerFailure(t, "m.mlmodel", data)
	})
}

// An ML Program of 100k const operations, each naming the weight file.
func BenchmarkMLProgram(b *testing.B) {
	ops := make([][]byte, 100_000)
	for i := range ops {
		ops[i] = constOp("@model_path/weights/weight.bin")
	}
	data := milProgram(ops...)
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		res := formats.ScanReader("model.mlmodel", bytes.NewReader(data), int64(len(data)), &o)
		if m, _ := res.Max(); res.Format != "coreml" || m > formats.Info {
			b.Fatal(formatstest.Describe(res))
		}
	}
}
