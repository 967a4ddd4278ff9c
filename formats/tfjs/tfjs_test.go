package tfjs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// graphModel is what tensorflowjs_converter writes for a graph model with
// one float32 [2,2] weight and one uint8-quantized [4] weight.
func graphModel(paths ...string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = fmt.Sprintf("%q", p)
	}
	return `{"format":"graph-model","generatedBy":"2.15.0","convertedBy":"TensorFlow.js Converter v4.17.0",
"modelTopology":{"node":[{"name":"x","op":"Placeholder"}]},
"weightsManifest":[{"paths":[` + strings.Join(q, ",") + `],"weights":[
 {"name":"w","shape":[2,2],"dtype":"float32"},
 {"name":"q","shape":[4],"dtype":"float32","quantization":{"dtype":"uint8","min":-1,"scale":0.01}}]}]}`
}

func TestTFJS(t *testing.T) {
	cases := []struct {
		name   string
		files  map[string]string
		rule   string // expected at medium or above on model.json; "" for none
		minSev formats.Severity
	}{
		{"graph model with one shard", map[string]string{"model.json": graphModel("group1-shard1of1.bin"), "group1-shard1of1.bin": strings.Repeat("\x00", 20)}, "", 0},
		{"weights split over two shards", map[string]string{"model.json": graphModel("group1-shard1of2.bin", "group1-shard2of2.bin"), "group1-shard1of2.bin": strings.Repeat("\x00", 12), "group1-shard2of2.bin": strings.Repeat("\x00", 8)}, "", 0},
		{"shard in a sub-folder", map[string]string{"model.json": graphModel("weights/group1-shard1of1.bin"), "weights/group1-shard1of1.bin": strings.Repeat("\x00", 20)}, "", 0},
		// Attacks: the manifest makes tfjs-node read a file it chooses.
		{"shard path climbing out", map[string]string{"model.json": graphModel("../../../etc/passwd")}, "tfjs/weight-path-escape", formats.Critical},
		{"absolute shard path", map[string]string{"model.json": graphModel("/etc/shadow")}, "tfjs/weight-path-escape", formats.Critical},
		// A layers model is a Keras config (tensorflowjs' Python converter
		// rebuilds it with keras.models.model_from_json).
		{"layers model with a Lambda layer", map[string]string{"model.json": `{"format":"layers-model","modelTopology":{"class_name":"Sequential","config":{"layers":[{"class_name":"Lambda","config":{"name":"l","function":["4wEAAAAAAAAAAAAAAAEAAAADAAAA",null,null]}}]}},"weightsManifest":[]}`}, "keras/lambda-code", formats.Critical},
		{"layers model naming os.system", map[string]string{"model.json": `{"modelTopology":{"class_name":"Sequential","keras_version":"2.15.0","config":{"layers":[{"class_name":"Dense","config":{"activation":{"module":"os","class_name":"function","config":"system"}}}]}},"weightsManifest":[]}`}, "keras/dangerous-module", formats.Critical},
		{"plain layers model", map[string]string{"model.json": `{"format":"layers-model","generatedBy":"keras v2.15.0","modelTopology":{"class_name":"Sequential","config":{"layers":[{"class_name":"Dense","config":{"name":"d","units":2,"activation":"relu"}}]}},"weightsManifest":[]}`}, "", 0},
		{"shard missing", map[string]string{"model.json": graphModel("group1-shard1of1.bin")}, "tfjs/weight-shard-missing", formats.High},
		// Ops TF.js does not implement run only with tf.registerOp code.
		{"graph op TF.js does not implement", map[string]string{"model.json": strings.Replace(graphModel("s.bin"), `{"name":"x","op":"Placeholder"}`, `{"name":"x","op":"Placeholder"},{"name":"y","op":"StealCookies","input":["x"]}`, 1), "s.bin": strings.Repeat("\x00", 20)}, "tfjs/custom-op", formats.Medium},
		{"file-writing TF op in a library function", map[string]string{"model.json": strings.Replace(graphModel("s.bin"), `"node":[{"name":"x","op":"Placeholder"}]`, `"node":[{"name":"x","op":"Placeholder"},{"name":"c","op":"f1","input":["x"]}],"library":{"function":[{"signature":{"name":"f1"},"nodeDef":[{"name":"w","op":"WriteFile"}]}]}`, 1), "s.bin": strings.Repeat("\x00", 20)}, "tfjs/custom-op", formats.Medium},
		{"control flow and standard ops", map[string]string{"model.json": strings.Replace(graphModel("s.bin"), `{"name":"x","op":"Placeholder"}`, `{"name":"x","op":"Placeholder"},{"name":"c","op":"Const"},{"name":"m","op":"MatMul"},{"name":"w","op":"StatelessWhile"},{"name":"i","op":"Identity"}`, 1), "s.bin": strings.Repeat("\x00", 20)}, "", 0},
		{"shard shorter than the weights", map[string]string{"model.json": graphModel("group1-shard1of1.bin"), "group1-shard1of1.bin": strings.Repeat("\x00", 19)}, "tfjs/weight-size-mismatch", formats.Medium},
		{"manifest that is not valid JSON", map[string]string{"model.json": `{"weightsManifest":[{"paths":["a.bin"],}]}`}, "tfjs/malformed", formats.High},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, d := range c.files {
				p := filepath.Join(dir, filepath.FromSlash(n))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(d), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// Scanned by its absolute path and as a user types it, relative
			// to the working folder: a relative folder once made every
			// shard look reached through a link out of the folder.
			t.Chdir(filepath.Dir(dir))
			for _, start := range []string{dir, filepath.Base(dir)} {
				checkTFJS(t, formatstest.ScanDir(t, false, start), c.rule, c.minSev)
			}
		})
	}
}

// checkTFJS checks that model.json in res has rule at minSev or above
// (nothing at medium or above when rule is "") and that every other file
// is a weight shard.
func checkTFJS(t *testing.T, res *formats.Result, rule string, minSev formats.Severity) {
	t.Helper()
	for _, f := range res.Files {
		want := ""
		if filepath.Base(f.Path) == "model.json" {
			want = rule
			if f.Format != "tfjs" {
				t.Errorf("model.json format %q", f.Format)
			}
		} else if f.Format != "tfjs-weights" {
			t.Errorf("%s format %q", f.Path, f.Format)
		}
		got := formatstest.Rules(f, formats.Medium)
		if want == "" && len(got) > 0 {
			t.Errorf("real layout flagged: %s", formatstest.Describe(f))
		}
		if m, _ := f.Max(); want != "" && (m < minSev || !contains(got, want)) {
			t.Errorf("want %v %s: %s", minSev, want, formatstest.Describe(f))
		}
	}
}

// A .bin no manifest names is not claimed as a shard, and an HF
// config.json is not a TF.js model.
func TestSniffBoundaries(t *testing.T) {
	if sniff(&formats.Probe{Name: "config.json", Head: []byte(`{"architectures":["LlamaForCausalLM"],"model_type":"llama"}`)}) {
		t.Error("HF config sniffed as TF.js")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "group1-shard1of1.bin")
	os.WriteFile(p, []byte{1, 2, 3}, 0o644)
	if shards.Claims(&formats.Probe{Name: "group1-shard1of1.bin", Path: p}) {
		t.Error("an unnamed .bin was claimed as a shard")
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func FuzzTFJS(f *testing.F) {
	f.Add([]byte(graphModel("a.bin")))
	f.Add([]byte(`{"weightsManifest":[{"paths":[1],"weights":[{"shape":[-1]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		formatstest.NoAnalyzerFailure(t, "model.json", data)
	})
}

// A manifest of 10,000 weights (a large graph model's model.json).
func BenchmarkTFJSManifest(b *testing.B) {
	var w []string
	for i := range 10000 {
		w = append(w, fmt.Sprintf(`{"name":"layer%d/kernel","shape":[64,64],"dtype":"float32"}`, i))
	}
	data := []byte(`{"format":"graph-model","modelTopology":{},"weightsManifest":[{"paths":["group1-shard1of1.bin"],"weights":[` + strings.Join(w, ",") + `]}]}`)
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		formatstest.ScanBytes(b, "model.json", data, &o)
	}
}
