package keras

import (
	"bytes"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// realPbtxt is the shape tf.io.write_graph(as_text=True) writes.
const realPbtxt = `node {
  name: "x"
  op: "Placeholder"
  attr {
    key: "dtype"
    value {
      type: DT_FLOAT
    }
  }
  attr {
    key: "shape"
    value {
      shape {
        dim {
          size: -1
        }
      }
    }
  }
}
node {
  name: "Const"
  op: "Const"
  attr { key: "value" value { tensor { dtype: DT_STRING tensor_shape {} string_val: "a\nb\\\"c\x41\101" } } }
}
versions {
  producer: 1205
}
`

func TestPbtxt(t *testing.T) {
	cases := []struct {
		name, doc string
		rule      string // "" = nothing at medium or above
		sev       formats.Severity
	}{
		{"text GraphDef from write_graph", realPbtxt, "", 0},
		{"saved_model.pbtxt with EagerPyFunc", `saved_model_schema_version: 1 meta_graphs { graph_def { node { name: "p" op: "EagerPyFunc" attr { key: "token" value { s: "pyfunc_0" } } } } }`, "tf/python-call", formats.High},
		{"PyFunc inside a function library", `meta_graphs { graph_def { library { function { signature { name: "f" } node_def { name: "p" op: "PyFunc" } } } } }`, "tf/python-call", formats.High},
		{"WriteFile with angle-bracket messages", `meta_graphs < graph_def < node < name: 'w' op: 'WriteFile' > > >`, "tf/file-write", formats.High},
		{"PrintV2 into a file (escaped, adjacent strings)", `node { name: "p" op: "PrintV2" attr { key: "output_stream" value { s: "file:" "///tmp/\x78" } } }`, "tf/file-write", formats.High},
		{"op name hidden behind an octal escape", `node { name: "w" op: "Write\106ile" }`, "tf/file-write", formats.High},
		{"Keras Lambda in object graph metadata", `object_graph_def { nodes { user_object { metadata: "{\"class_name\": \"Lambda\", \"config\": {\"function\": \"x\"}}" } } }`, "keras/lambda-code", formats.Critical},
		{"text SavedModel asset climbing out of assets/", `meta_graphs { asset_file_def { tensor_info { name: "Const:0" } filename: "../../../etc/passwd" } }`, "tf/asset-path", formats.High},
		{"text SavedModel plain asset", `meta_graphs { asset_file_def { tensor_info { name: "Const:0" } filename: "vocab.txt" } }`, "", 0},
		{"checkpoint write in a text serving function", `meta_graphs { graph_def { library { function { signature { name: "__inference_serve_1" } node_def { name: "w" op: "SaveV2" } } } } }`, "tf/file-write", formats.Medium},
		{"checkpoint write in the text traced save function", `meta_graphs { graph_def { library { function { signature { name: "__inference__traced_save_9" } node_def { name: "w" op: "SaveV2" } } } } }`, "", 0},
		{"comment hiding nothing", "# op: \"PyFunc\"\nnode { name: \"a\" op: \"Add\" }", "", 0},
		{"unterminated message", `node { name: "a" op: "PyFunc"`, "tf/malformed", formats.High},
		{"unterminated string", "node { name: \"a\n op: \"PyFunc\" }", "tf/malformed", formats.High},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := formatstest.ScanBytes(t, "saved_model.pbtxt", []byte(c.doc), nil)
			formatstest.AtLeast(t, res, c.rule, c.sev)
		})
	}
}

func FuzzPbtxt(f *testing.F) {
	f.Add([]byte(realPbtxt))
	f.Add([]byte(`meta_graphs < graph_def < node < name: 'w' op: 'Write\106ile' attr { key: "k" value { list { s: ["a", "b"] } } } > > >`))
	o := formats.DefaultOptions()
	f.Fuzz(func(t *testing.T, data []byte) {
		res := &formats.FileResult{}
		analyzePbtxt(formats.NewScope("saved_model.pbtxt", &o, res), bytes.NewReader(data), int64(len(data)))
		for _, x := range res.Findings {
			if x.Rule == "formats/analyzer-failure" {
				t.Fatal(x.Message)
			}
		}
	})
}

func BenchmarkPbtxt(b *testing.B) {
	var sb strings.Builder
	for sb.Len() < 8<<20 {
		sb.WriteString(realPbtxt)
	}
	data := []byte(sb.String())
	o := formats.DefaultOptions()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		res := &formats.FileResult{}
		analyzePbtxt(formats.NewScope("graph.pbtxt", &o, res), bytes.NewReader(data), int64(len(data)))
	}
}
