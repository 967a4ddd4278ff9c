package coreml

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

func lenField(num protowire.Number, b []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), b)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// description is ModelDescription { input { name "image" type {...} } }.
var description = lenField(2, lenField(1, cat(lenField(1, []byte("image")), lenField(3, lenField(5, []byte{0x08, 0x01})))))

func mlmodel(typ protowire.Number, body []byte) []byte {
	return cat(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 4), description, lenField(typ, body))
}

func layer(name string, extra ...[]byte) []byte {
	return lenField(1, cat(append([][]byte{lenField(1, []byte(name))}, extra...)...))
}

func TestCoreML(t *testing.T) {
	linked := func(path string) []byte {
		return mlmodel(fLinkedModel, lenField(1, lenField(1, lenField(1, []byte(path)))))
	}
	cases := []struct {
		name string
		data []byte
		rule string
		sev  formats.Severity
	}{
		{"neural network classifier", mlmodel(fNNClassifier, cat(layer("conv1", lenField(100, []byte{0x08, 0x01})), layer("relu1"))), "", 0},
		{"pipeline of models", mlmodel(fPipeline, lenField(1, mlmodel(fNeuralNet, layer("dense")))), "", 0},
		{"linked model in the bundle", linked("$BUNDLE_MAIN/Encoder.mlmodelc"), "", 0},
		{"custom layer", mlmodel(fNeuralNet, cat(layer("conv"), layer("evil", lenField(fLayerCustom, lenField(10, []byte("MyLayer")))))), "coreml/custom-layer", formats.Medium},
		{"custom layer inside a pipeline", mlmodel(fPipeline, lenField(1, mlmodel(fNeuralNet, layer("x", lenField(fLayerCustom, lenField(10, []byte("C"))))))), "coreml/custom-layer", formats.Medium},
		// Control flow: whole networks inside a layer.
		{"custom layer inside a branch's else network", mlmodel(fNeuralNet, cat(layer("if", lenField(fLayerBranch, cat(lenField(1, layer("a")), lenField(2, layer("evil", lenField(fLayerCustom, lenField(10, []byte("Hidden")))))))))), "coreml/custom-layer", formats.Medium},
		{"custom layer inside a loop body", mlmodel(fNeuralNet, layer("loop", lenField(fLayerLoop, cat(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 3), lenField(4, layer("evil", lenField(fLayerCustom, lenField(10, []byte("Hidden"))))))))), "coreml/custom-layer", formats.Medium},
		{"branch of plain layers", mlmodel(fNeuralNet, layer("if", lenField(fLayerBranch, cat(lenField(1, layer("a")), lenField(2, layer("b")))))), "", 0},
		{"custom model", mlmodel(fCustomModel, lenField(10, []byte("MyModel"))), "coreml/custom-model", formats.Medium},
		{"linked model outside the folder", linked("../../../Library/x.mlmodelc"), "coreml/linked-model-escape", formats.Critical},
		// Cut before its model type: not shown to be Core ML at all, and
		// the name promises a model: unrecognized.
		{"truncated", mlmodel(fNeuralNet, layer("conv"))[:20], "formats/unrecognized", formats.High},
		{"cut inside the layers", mlmodel(fNeuralNet, cat(layer("conv"), layer("relu")))[:44], "coreml/malformed", formats.High},
		// Attack: an ONNX model whose producer_name looks like a Core ML
		// description, so that it is judged as Core ML and its graph (field
		// 7, with an external data path) is never read as ONNX.
		// No model type: not Core ML; not ONNX either (no text producer).
		{"ONNX graph dressed as a Core ML model", cat(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 8), description, lenField(7, lenField(5, []byte("initializer")))), "formats/unrecognized", formats.High},
		// With a model type too, the ONNX graph field is still seen.
		{"ONNX graph inside a Core ML model", cat(mlmodel(fNeuralNet, layer("conv")), lenField(7, lenField(5, []byte("initializer")))), "coreml/unknown-field", formats.High},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			format := "coreml"
			if c.rule == "formats/unrecognized" {
				format = ""
			}
			formatstest.ExpectRule(t, "model.mlmodel", format, c.data, c.rule, c.sev)
		})
	}
}

// An ONNX model is not Core ML, and a Core ML model is not ONNX (the
// issue's stand-in .mlmodel was sniffed as ONNX).
func TestSniffAgainstONNX(t *testing.T) {
	onnx := cat([]byte{0x08, 0x08}, lenField(2, []byte("pytorch")), lenField(3, []byte("2.1")), lenField(7, []byte{0x0a, 0x00}))
	if sniff(&formats.Probe{Name: "model.onnx", Head: onnx, Size: int64(len(onnx))}) {
		t.Error("an ONNX model sniffed as Core ML")
	}
	m := mlmodel(fNeuralNet, layer("conv"))
	if !sniff(&formats.Probe{Name: "weird.bin", Head: m, Size: int64(len(m))}) {
		t.Error("a Core ML model was not recognized by content")
	}
	// A description longer than the head: the type is found through R.
	long := mlmodel(fNeuralNet, layer("conv"))
	long = cat(long[:2], lenField(2, cat(lenField(1, []byte("x")), lenField(100, make([]byte, 8000)))), long[2+len(description):])
	if !sniff(&formats.Probe{Name: "m.mlmodel", Head: long[:formats.HeadSize], Size: int64(len(long)), R: bytes.NewReader(long)}) {
		t.Error("a Core ML model with a long description was not recognized")
	}
	// A TensorFlow SavedModel: version, then a MetaGraphDef in field 2.
	sm := cat([]byte{0x08, 0x01}, lenField(2, lenField(1, lenField(1, []byte("v1")))))
	if sniff(&formats.Probe{Name: "saved_model.pb", Head: sm, Size: int64(len(sm)), R: bytes.NewReader(sm)}) {
		t.Error("a SavedModel sniffed as Core ML")
	}
}

// An .mlpackage folder: Manifest.json, the model, the weights.
func TestMLPackage(t *testing.T) {
	pkg := filepath.Join(t.TempDir(), "Model.mlpackage")
	files := map[string][]byte{
		"Manifest.json":                            []byte(`{"fileFormatVersion":"1.0.0","itemInfoEntries":{"A":{"author":"com.apple.CoreML","path":"com.apple.CoreML/model.mlmodel"},"B":{"author":"com.apple.CoreML","path":"com.apple.CoreML/weights"}},"rootModelIdentifier":"A"}`),
		"Data/com.apple.CoreML/model.mlmodel":      mlmodel(fNeuralNet, layer("conv")),
		"Data/com.apple.CoreML/weights/weight.bin": make([]byte, 128),
	}
	for n, d := range files {
		p := filepath.Join(pkg, filepath.FromSlash(n))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, d, 0o644)
	}
	res := formatstest.ScanDir(t, false, pkg)
	for _, f := range res.Files {
		if len(formatstest.Rules(f, formats.Medium)) > 0 {
			t.Errorf("%s: %s", f.Path, formatstest.Describe(f))
		}
		if filepath.Base(f.Path) == "weight.bin" && f.Format != "coreml-data" {
			t.Errorf("weight.bin format %q", f.Format)
		}
	}
}

// Manifest.json item paths are joined to Data/ unchecked by coremltools.
func TestManifest(t *testing.T) {
	manifest := func(path string) string {
		return `{"fileFormatVersion":"1.0.0","itemInfoEntries":{"A":{"author":"com.apple.CoreML","description":"CoreML Model Specification","name":"model.mlmodel","path":` + path + `},` +
			`"B":{"author":"com.apple.CoreML","description":"CoreML Model Weights","name":"weights","path":"com.apple.CoreML/weights"}},"rootModelIdentifier":"A"}`
	}
	cases := []struct {
		name, doc string
		rule      string
		sev       formats.Severity
	}{
		{"package as coremltools writes it", manifest(`"com.apple.CoreML/model.mlmodel"`), "", 0},
		{"root model outside the package", manifest(`"../../../Downloads/other.mlmodel"`), "coreml/package-path-escape", formats.Critical},
		{"root model at an absolute path", manifest(`"/tmp/evil.mlmodel"`), "coreml/package-path-escape", formats.Critical},
		{"path that is no string", manifest(`7`), "coreml/malformed", formats.High},
		{"root model identifier given twice", strings.Replace(manifest(`"com.apple.CoreML/model.mlmodel"`), `"rootModelIdentifier":"A"`, `"rootModelIdentifier":"A","rootModelIdentifier":"B"`, 1), "coreml/malformed", formats.High},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			formatstest.ExpectRule(t, "Manifest.json", "coreml", []byte(c.doc), c.rule, c.sev)
		})
	}
}

func FuzzManifest(f *testing.F) {
	f.Add([]byte(`{"fileFormatVersion":"1.0.0","itemInfoEntries":{"A":{"path":"../x"}},"rootModelIdentifier":"A"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		formatstest.NoAnalyzerFailure(t, "Manifest.json", data)
	})
}

func FuzzCoreML(f *testing.F) {
	f.Add(mlmodel(fPipeline, lenField(1, mlmodel(fNeuralNet, layer("x", lenField(fLayerCustom, nil))))))
	f.Fuzz(func(t *testing.T, data []byte) {
		formatstest.NoAnalyzerFailure(t, "m.mlmodel", data)
	})
}

// A 2 GiB .mlmodel whose weights are one layer's raw bytes: skipped by length.
func BenchmarkCoreML2GiB(b *testing.B) {
	const size = 2 << 30
	head := cat(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 4), description)
	head = protowire.AppendTag(head, fNeuralNet, protowire.BytesType)
	rest := uint64(size) - uint64(len(head)) - 5
	head = protowire.AppendVarint(head, rest)
	// One NeuralNetwork field the walk skips by length (field 2, as large
	// as a model's weights would be).
	head = protowire.AppendTag(head, 2, protowire.BytesType)
	head = protowire.AppendVarint(head, rest-6) // tag and 5-byte length
	r := &formatstest.Sparse{Head: head, Size: size}
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(size)
	for b.Loop() {
		res := formats.ScanReader("model.mlmodel", r, size, &o)
		if m, _ := res.Max(); res.Format != "coreml" || m > formats.Info {
			b.Fatal(formatstest.Describe(res))
		}
	}
}

// A package manifest of 10k items (a package with many weight files).
func BenchmarkManifest(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"fileFormatVersion":"1.0.0","itemInfoEntries":{`)
	for i := range 10_000 {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `"ID%d":{"author":"com.apple.CoreML","description":"w","name":"w%d","path":"com.apple.CoreML/weights/w%d.bin"}`, i, i, i)
	}
	sb.WriteString(`},"rootModelIdentifier":"ID0"}`)
	doc := []byte(sb.String())
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		res := formats.ScanReader("Manifest.json", bytes.NewReader(doc), int64(len(doc)), &o)
		if m, _ := res.Max(); res.Format != "coreml" || m > formats.Info {
			b.Fatal(formatstest.Describe(res))
		}
	}
}
