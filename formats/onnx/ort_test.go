package onnx

import (
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
	"github.com/modelvet/modelvet/formats/internal/flatbuf"
)

type fbT = flatbuf.T

// ortModel is the shape onnxruntime's convert_onnx_models_to_ort writes:
// session (ort_version, model (ir_version, opset_import, ..., graph)).
func ortModel(opsets []fbT, nodes []fbT) []byte {
	graph := fbT{nil, nil, nodes}
	model := fbT{uint64(8), opsets, "pytorch", "2.1", nil, nil, nil, graph}
	return flatbuf.Build("ORTM", fbT{"6", model})
}

func ortNode(domain, op string, attrs ...fbT) fbT {
	return fbT{"n", nil, domain, uint32(1), uint32(0), op, nil, nil, nil, nil, attrs}
}

func TestORT(t *testing.T) {
	std := []fbT{{"", uint64(17)}}
	ifNode := ortNode("", "If", fbT{"then_branch", nil, uint32(5), nil, nil, nil, nil, fbT{nil, nil, []fbT{ortNode("custom.evil", "Exec")}}})
	cases := []struct {
		name string
		data []byte
		rule string
		sev  formats.Severity
	}{
		{"standard ops", ortModel(std, []fbT{ortNode("", "Conv"), ortNode("", "Relu")}), "", 0},
		{"onnxruntime contrib op", ortModel(append(std, fbT{"com.microsoft", uint64(1)}), []fbT{ortNode("com.microsoft", "FusedMatMul")}), "", 0},
		// Needs a custom operator library (native code).
		{"custom domain op", ortModel(append(std, fbT{"ai.custom", uint64(1)}), []fbT{ortNode("ai.custom", "MyOp")}), "onnx/custom-domain", formats.Medium},
		{"custom op inside an If subgraph", ortModel(std, []fbT{ifNode}), "onnx/custom-domain", formats.Medium},
		// EPContext of the ORT format, as in ONNX: embed_mode=0 names a file.
		{"EPContext cache path outside the folder", ortModel(append(std, fbT{"com.microsoft", uint64(1)}), []fbT{ortNode("com.microsoft", "EPContext",
			fbT{"embed_mode", nil, uint32(2), nil, uint64(0)}, fbT{"ep_cache_context", nil, uint32(3), nil, nil, "../../../home/u/.ssh/id_rsa"})}), "onnx/external-data-escape", formats.Critical},
		{"EPContext with an embedded blob", ortModel(append(std, fbT{"com.microsoft", uint64(1)}), []fbT{ortNode("com.microsoft", "EPContext",
			fbT{"ep_cache_context", nil, uint32(3), nil, nil, "QNN-BINARY"})}), "onnx/ep-context", formats.Medium},
		{"truncated", ortModel(std, []fbT{ortNode("", "Conv")})[:40], "ort/malformed", formats.High},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := formats.DefaultOptions()
			o.Hash = false
			res := formatstest.ScanBytes(t, "model.ort", c.data, &o)
			if res.Format != "ort" {
				t.Fatalf("format %q", res.Format)
			}
			if c.rule == "" {
				if r := formatstest.Rules(res, formats.Medium); len(r) > 0 {
					t.Errorf("real-shaped model flagged: %s", formatstest.Describe(res))
				}
				return
			}
			found := false
			for _, f := range res.Findings {
				found = found || (f.Rule == c.rule && f.Severity >= c.sev)
			}
			if !found {
				t.Errorf("want %v %s: %s", c.sev, c.rule, formatstest.Describe(res))
			}
		})
	}
}

func FuzzORT(f *testing.F) {
	f.Add(ortModel([]fbT{{"", uint64(17)}}, []fbT{ortNode("", "Conv")}))
	f.Fuzz(func(t *testing.T, data []byte) {
		o := formats.DefaultOptions()
		o.Hash = false
		res := formatstest.ScanBytes(t, "m.ort", data, &o)
		for _, x := range res.Findings {
			if x.Rule == "formats/analyzer-failure" {
				t.Fatal(x.Message)
			}
		}
	})
}

// A model of 20,000 nodes.
func BenchmarkORT(b *testing.B) {
	nodes := make([]fbT, 20000)
	for i := range nodes {
		nodes[i] = ortNode("", "Add")
	}
	data := ortModel([]fbT{{"", uint64(17)}}, nodes)
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		formatstest.ScanBytes(b, "model.ort", data, &o)
	}
}
