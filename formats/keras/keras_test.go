package keras

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/archive"
	"github.com/modelvet/modelvet/formats/formatstest"
)

type expect struct {
	rule string // "" = nothing at or above Medium
	sev  formats.Severity
}

func check(t *testing.T, res *formats.FileResult, w expect) {
	t.Helper()
	if w.rule == "" {
		if got := formatstest.Rules(res, formats.Medium); len(got) > 0 {
			t.Fatalf("real layout got findings %v\n%s", got, formatstest.Describe(res))
		}
		return
	}
	if !slices.Contains(formatstest.Rules(res, w.sev), w.rule) {
		t.Fatalf("want %s at >= %s\n%s", w.rule, w.sev, formatstest.Describe(res))
	}
}

func scanFile(t *testing.T, path string) *formats.FileResult {
	t.Helper()
	o := formats.DefaultOptions()
	o.Hash = false
	return formats.ScanFile(context.Background(), path, path, &o)
}

func TestHDF5Fixtures(t *testing.T) {
	cases := []struct {
		file string
		expect
	}{
		{"keras2_benign.h5", expect{}},       // vlen strings in a global heap, v1 headers
		{"keras2_fixed_string.h5", expect{}}, // fixed-length string attribute
		{"keras2_latest.h5", expect{}},       // v3 superblock, v2 object header
		{"weights_only.h5", expect{}},        // data only
		// Keras 2 layouts (r2/make_benign.py): model_config with Conv2D,
		// BatchNormalization, LSTM, Bidirectional(GRU), TimeDistributed,
		// a Functional graph; training_config; optimizer_weights.
		{"r2/seq_cnn.h5", expect{}},
		{"r2/seq_lstm.h5", expect{}},
		{"r2/functional.h5", expect{}},
		{"keras2_lambda.h5", expect{"keras/lambda-code", formats.Critical}},
		{"keras2_userblock.h5", expect{"keras/lambda-code", formats.Critical}}, // superblock at 512
		{"keras2_dense_attrs.h5", expect{"keras/lambda-code", formats.Critical}},
		// model_config typed by a committed (named) datatype
		// (testdata/make_committed_h5.py): read through the named type.
		{"committed_vlen_dense.h5", expect{}},
		{"committed_vlen_lambda.h5", expect{"keras/lambda-code", formats.Critical}},
		{"committed_fixed_lambda.h5", expect{"keras/lambda-code", formats.Critical}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			res := scanFile(t, filepath.Join("testdata", c.file))
			if res.Format != "keras-h5" {
				t.Fatalf("format %q\n%s", res.Format, formatstest.Describe(res))
			}
			check(t, res, c.expect)
		})
	}
	res := scanFile(t, "testdata/keras2_benign.h5")
	if res.Details["keras_version"] != "2.15.0" {
		t.Errorf("details %v", res.Details)
	}
	res = scanFile(t, "testdata/weights_only.h5")
	if !slices.Contains(formatstest.Rules(res, formats.Info), "keras/h5-data") {
		t.Errorf("weights-only file should say it holds data only\n%s", formatstest.Describe(res))
	}
}

// Damaged HDF5 files: never silent, never Critical, never a panic.
func TestHDF5Damaged(t *testing.T) {
	good, err := os.ReadFile("testdata/keras2_lambda.h5")
	if err != nil {
		t.Fatal(err)
	}
	loop := bytes.Clone(good)
	// Point the root object header's continuation message back at the
	// header's own message block (offset 0x70 holds type 0x10 in h5py's
	// layout): a cycle.
	cases := map[string][]byte{
		"truncated":       good[:900],
		"only signature":  good[:8],
		"bad root offset": patch(good, 0x48, []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}),
		"bad version":     patch(good, 8, []byte{9}),
		"cycle":           loop,
	}
	if i := bytes.Index(loop, []byte{0x10, 0x00, 0x10, 0x00}); i > 0 {
		copy(loop[i+8:], []byte{0x60, 0, 0, 0, 0, 0, 0, 0})
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			res := formatstest.ScanBytes(t, "m.h5", data, nil)
			if len(formatstest.Rules(res, formats.Medium)) == 0 {
				t.Fatalf("damaged file passed silently\n%s", formatstest.Describe(res))
			}
			for _, f := range res.Findings {
				if f.Rule == "formats/analyzer-failure" {
					t.Fatal(f.Message)
				}
			}
		})
	}
}

func patch(b []byte, at int, p []byte) []byte {
	c := bytes.Clone(b)
	copy(c[at:], p)
	return c
}

// zipArchive opens a .keras fixture with the standard library zip reader
// and wraps it as an archive.Archive, so the flavor can be tested before
// (and independently of) the project's own zip reader.
func zipArchive(t *testing.T, path string) *archive.Archive {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { zr.Close() })
	var ms []*archive.Member
	files := map[*archive.Member]*zip.File{}
	for _, f := range zr.File {
		m := &archive.Member{Name: f.Name, Size: int64(f.UncompressedSize64), IsDir: f.FileInfo().IsDir(), DataOffset: -1}
		ms = append(ms, m)
		files[m] = f
	}
	return archive.New("zip", ms, func(m *archive.Member) (io.ReaderAt, int64, error) {
		rc, err := files[m].Open()
		if err != nil {
			return nil, 0, err
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
		return bytes.NewReader(b), int64(len(b)), err
	})
}

func TestKerasFlavor(t *testing.T) {
	cases := []struct {
		file string
		expect
	}{
		{"benign.keras", expect{}},
		{"r2/model.keras", expect{}}, // Keras 3 layout: registered_name null, build/compile_config
		{"lambda.keras", expect{"keras/lambda-code", formats.Critical}},
		{"module_os.keras", expect{"keras/dangerous-module", formats.Critical}},
		{"unknown_module.keras", expect{"keras/unknown-module", formats.High}},
		{"torch_wrapper.keras", expect{"keras/torch-module", formats.Critical}},
		{"tfsm.keras", expect{"keras/tfsm-layer", formats.High}},
		{"custom_object.keras", expect{"keras/custom-object", formats.Medium}},
		{"embedded_pickle.keras", expect{"keras/embedded-pickle", formats.Medium}},
		{"marshal_blob.keras", expect{"keras/marshal-code", formats.Critical}},
		{"unsafe.keras", expect{"keras/unsafe-deserialization", formats.Critical}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			a := zipArchive(t, filepath.Join("testdata", c.file))
			if f := archive.FlavorOf(a); f == nil || f.Name != "keras" {
				t.Fatalf("flavor not matched")
			}
			o := formats.DefaultOptions()
			res := &formats.FileResult{Findings: []formats.Finding{}}
			analyzeKeras(formats.NewScope(c.file, &o, res), a)
			check(t, res, c.expect)
		})
	}
	// The permissive profile lowers unknown modules to Medium.
	o := formats.DefaultOptions()
	o.Profile = formats.Permissive
	res := &formats.FileResult{}
	analyzeKeras(formats.NewScope("u.keras", &o, res), zipArchive(t, "testdata/unknown_module.keras"))
	if got := formatstest.Rules(res, formats.High); len(got) > 0 {
		t.Fatalf("permissive: %v", got)
	}
	if !slices.Contains(formatstest.Rules(res, formats.Medium), "keras/unknown-module") {
		t.Fatalf("permissive: want Medium unknown-module\n%s", formatstest.Describe(res))
	}
}

func TestConfigWalk(t *testing.T) {
	cases := []struct {
		name string
		json string
		expect
	}{
		{"keras2 plain", `{"class_name":"Sequential","config":{"layers":[{"class_name":"Dense","config":{"units":3,"bias":NaN,"clip":Infinity}}]}}`, expect{}},
		{"keras2 lambda source", `{"class_name":"Sequential","config":{"layers":[{"class_name":"Lambda","config":{"function":"lambda x: eval('1')"}}]}}`, expect{"keras/lambda-code", formats.Critical}},
		{"lambda nested in wrapper", `{"class_name":"TimeDistributed","config":{"layer":{"class_name":"Lambda","config":{"function":["4wAAAAAAAAAAAAAAAAEAAAADAAAA",null,null]}}}}`, expect{"keras/lambda-code", formats.Critical}},
		{"activation as __lambda__", `{"module":"keras.layers","class_name":"Dense","config":{"activation":{"class_name":"__lambda__","config":{"code":"x"}}}}`, expect{"keras/lambda-code", formats.Critical}},
		{"builtins eval function", `{"module":"builtins","class_name":"function","config":"eval"}`, expect{"keras/dangerous-module", formats.Critical}},
		{"subprocess submodule", `{"module":"subprocess.foo","class_name":"Popen","config":{}}`, expect{"keras/dangerous-module", formats.Critical}},
		{"tensorflow.keras is keras", `{"module":"tensorflow.keras.layers","class_name":"Dense","config":{}}`, expect{}},
		{"keras_hub", `{"module":"keras_hub.src.models.gemma","class_name":"GemmaBackbone","config":{}}`, expect{}},
		{"get_file", `{"class_name":"Lambda2","config":{"function":"keras.utils.get_file"}}`, expect{"keras/remote-fetch", formats.High}},
		{"duplicate key hides lambda", `{"class_name":"Lambda","class_name":"Dense","config":{}}`, expect{"keras/lambda-code", formats.Critical}},
		{"get_file as keras function", `{"module":"keras.utils","class_name":"function","config":"get_file","registered_name":null}`, expect{"keras/remote-fetch", formats.High}},
		{"base64 text starting with c is not code", `{"class_name":"Dense","config":{"name":"Y2xhc3NfbmFtZV9mb3JfYV9sb25nX2xheWVy"}}`, expect{}},
		{"not json", `{"class_name": `, expect{"keras/config-unreadable", formats.High}},
		// tf.keras TFOpLambda looks its function up in the whole tf API.
		{"TFOpLambda tf.io.write_file", `{"class_name":"Functional","config":{"layers":[{"class_name":"TFOpLambda","config":{"name":"tf.io.write_file","function":"io.write_file"}}]}}`, expect{"keras/dangerous-tf-op", formats.Critical}},
		{"TFOpLambda py_func", `{"class_name":"TFOpLambda","config":{"function":"compat.v1.py_func"}}`, expect{"keras/dangerous-tf-op", formats.Critical}},
		{"TFOpLambda raw_ops", `{"class_name":"TFOpLambda","config":{"function":"raw_ops.WriteFile"}}`, expect{"keras/dangerous-tf-op", formats.Critical}},
		{"TFOpLambda decode_image is real", `{"class_name":"TFOpLambda","config":{"name":"tf.io.decode_image","function":"io.decode_image"}}`, expect{}},
		{"TFOpLambda raw Add is real", `{"class_name":"TFOpLambda","config":{"function":"raw_ops.AddV2"}}`, expect{}},
		{"TFOpLambda math is real", `{"class_name":"TFOpLambda","config":{"name":"tf.math.add","function":"math.add"}}`, expect{}},
		{"TFOpLambda operators is real", `{"class_name":"TFOpLambda","config":{"name":"tf.__operators__.add","function":"__operators__.add"}}`, expect{}},
		// Keras' own helpers that unmarshal code or load another model.
		{"keras func_load", `{"module":"keras.src.utils.python_utils","class_name":"function","config":"func_load"}`, expect{"keras/dangerous-module", formats.Critical}},
		{"keras load_model", `{"module":"keras.src.saving.saving_api","class_name":"function","config":"load_model"}`, expect{"keras/dangerous-module", formats.Critical}},
		{"keras_hub registered class", `{"module":"keras_hub.src.models.gemma.gemma_backbone","class_name":"GemmaBackbone","config":{"name":"gemma_backbone"},"registered_name":"keras_hub>GemmaBackbone"}`, expect{}},
		{"custom package registered class", `{"module":"my_layers","class_name":"Block","config":{},"registered_name":"my_layers>Block"}`, expect{"keras/unknown-module", formats.High}},
		// CVE-2025-12058: a lookup layer's vocabulary given as a path is
		// read (tf.io.gfile: local files, gs://, hdfs://) while loading.
		{"StringLookup vocabulary file", `{"module":"keras.layers","class_name":"StringLookup","config":{"name":"lk","vocabulary":"/etc/passwd","num_oov_indices":1}}`, expect{"keras/file-path-argument", formats.High}},
		{"TextVectorization vocabulary URL", `{"module":"keras.layers","class_name":"TextVectorization","config":{"vocabulary":"gs://bucket/secret.txt"}}`, expect{"keras/file-path-argument", formats.High}},
		{"IntegerLookup vocabulary file", `{"class_name":"IntegerLookup","config":{"vocabulary":"../../home/u/.aws/credentials"}}`, expect{"keras/file-path-argument", formats.High}},
		{"StringLookup inline vocabulary is real", `{"module":"keras.layers","class_name":"StringLookup","config":{"name":"lk","vocabulary":["a","b"],"num_oov_indices":1}}`, expect{}},
		{"StringLookup vocabulary saved as asset is real", `{"module":"keras.layers","class_name":"StringLookup","config":{"name":"lk","vocabulary":null}}`, expect{}},
		{"keras3 real optimizer", `{"module":"keras.optimizers","class_name":"Adam","config":{"name":"adam","learning_rate":0.001},"registered_name":null}`, expect{}},
		// CVE-2025-9905 class: a .keras config calling the legacy HDF5
		// loader (no safe mode) or another Keras helper as a "function".
		{"keras legacy h5 loader function", `{"module":"keras.src.legacy.saving.legacy_h5_format","class_name":"function","config":"load_model_from_hdf5"}`, expect{"keras/dangerous-module", formats.Critical}},
		{"keras extract_archive function", `{"module":"keras.src.utils.file_utils","class_name":"function","config":"extract_archive"}`, expect{"keras/dangerous-module", formats.Critical}},
		{"keras function from a helper module", `{"module":"keras.src.utils.file_utils","class_name":"function","config":"os"}`, expect{"keras/unknown-function", formats.High}},
		{"keras function from the saving package", `{"module":"keras.saving","class_name":"function","config":"get_registered_object"}`, expect{"keras/unknown-function", formats.High}},
		{"keras legacy path through losses is not a home", `{"module":"keras.src.legacy.losses","class_name":"function","config":"x"}`, expect{"keras/unknown-function", formats.High}},
		{"keras3 activation function is real", `{"module":"keras.activations","class_name":"function","config":"relu","registered_name":null}`, expect{}},
		{"keras3 loss function is real", `{"module":"keras.src.losses.losses","class_name":"function","config":"mean_squared_error","registered_name":"mean_squared_error"}`, expect{}},
		{"tf.keras initializer function is real", `{"module":"tensorflow.keras.initializers","class_name":"function","config":"glorot_uniform"}`, expect{}},
		{"keras ops function is real", `{"module":"keras.src.ops.nn","class_name":"function","config":"silu"}`, expect{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := formats.DefaultOptions()
			res := &formats.FileResult{}
			scanConfig(formats.NewScope("x", &o, res), "config.json", []byte(c.json))
			check(t, res, c.expect)
		})
	}
}

func TestJSONParser(t *testing.T) {
	v, err := parseJSON([]byte(` {"a": [1, -2.5e3, true, false, null, "x\u00e9\ud83d\ude00\n"], "b": {}} `))
	if err != nil {
		t.Fatal(err)
	}
	o := v.(jsonObject)
	arr, _ := o.get("a")
	if s := arr.([]any)[5].(string); s != "xé😀\n" {
		t.Fatalf("string %q", s)
	}
	deep := bytes.Repeat([]byte("["), 10000)
	if _, err := parseJSON(deep); err == nil {
		t.Fatal("deep nesting accepted")
	}
	for _, bad := range []string{`{"a":1,}`, `[1 2]`, `"abc`, `{"a" 1}`, `01x`, ``} {
		if _, err := parseJSON([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestHDF5References: weights that HDF5 reads from another file (external
// links, external raw storage, virtual datasets; made by
// testdata/redteam/make_redteam.py with h5py) are found in every object of
// the file, and none of the Keras files h5py writes has one.
func TestHDF5References(t *testing.T) {
	cases := []struct {
		name, file string
		rule       string
	}{
		{"external link to a file outside", "../../testdata/redteam/keras/h5-external-link.h5", "keras/h5-external-reference"},
		{"external raw storage reading /etc/hostname", "../../testdata/redteam/keras/h5-external-storage.h5", "keras/h5-external-reference"},
		{"virtual dataset sourcing ../secret.h5", "../../testdata/redteam/keras/h5-virtual-dataset.h5", "keras/h5-external-reference"},
	}
	benign, _ := filepath.Glob("testdata/*.h5")
	if len(benign) == 0 {
		t.Fatal("no benign h5 fixtures")
	}
	for _, b := range benign {
		cases = append(cases, struct{ name, file, rule string }{"real keras file " + filepath.Base(b), b, ""})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := os.ReadFile(c.file)
			if err != nil {
				t.Fatal(err)
			}
			res := &formats.FileResult{}
			o := formats.DefaultOptions()
			analyzeH5(formats.NewScope("m.h5", &o, res), bytes.NewReader(b), int64(len(b)))
			got := formatstest.Rules(res, formats.Medium)
			if c.rule == "" {
				if slices.Contains(got, "keras/h5-external-reference") || slices.Contains(got, "keras/h5-unreadable") {
					t.Fatalf("false alarm:\n%s", formatstest.Describe(res))
				}
				return
			}
			if !slices.Contains(formatstest.Rules(res, formats.High), c.rule) {
				t.Fatalf("want %s:\n%s", c.rule, formatstest.Describe(res))
			}
		})
	}
}

func FuzzHDF5(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.h5")
	more, _ := filepath.Glob("../../testdata/redteam/keras/*.h5")
	dense, _ := filepath.Glob("../../testdata/redteam2/containers/h5/*.h5") // dense links: fractal heap and v2 B-tree
	more = append(more, dense...)
	for _, p := range append(files, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	o := formats.DefaultOptions()
	f.Fuzz(func(t *testing.T, data []byte) {
		res := &formats.FileResult{}
		analyzeH5(formats.NewScope("f.h5", &o, res), bytes.NewReader(data), int64(len(data)))
		for _, x := range res.Findings {
			if x.Rule == "formats/analyzer-failure" {
				t.Fatal(x.Message)
			}
		}
	})
}

func FuzzKerasConfig(f *testing.F) {
	for _, p := range []string{"benign.keras", "lambda.keras", "module_os.keras", "embedded_pickle.keras"} {
		zr, err := zip.OpenReader(filepath.Join("testdata", p))
		if err != nil {
			continue
		}
		for _, zf := range zr.File {
			if zf.Name == "config.json" {
				rc, _ := zf.Open()
				b, _ := io.ReadAll(rc)
				rc.Close()
				f.Add(b)
			}
		}
		zr.Close()
	}
	f.Add([]byte(`{"class_name":"Lambda","config":{"function":["4wAAAAAAAAAAAAAAAAEAAAADAAAA",null,null]}}`))
	o := formats.DefaultOptions()
	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang is a finding too: crash the worker so the input is kept.
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				panic(fmt.Sprintf("scanConfig hung on %q", data))
			}
		}()
		res := &formats.FileResult{}
		scanConfig(formats.NewScope("c", &o, res), "config.json", data)
	})
}

func writeZip(t *testing.T, files map[string]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "a.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func TestKerasMatch(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  bool
	}{
		{"config and metadata", map[string]string{"config.json": "{}", "metadata.json": "{}"}, true},
		{"config and weights", map[string]string{"config.json": "{}", "model.weights.h5": ""}, true},
		{"config alone with a keras class", map[string]string{"config.json": `{"class_name": "Functional", "config": {}}`}, true},
		{"a Hugging Face config in a zip", map[string]string{"config.json": `{"model_type": "bert"}`}, false},
		{"no config", map[string]string{"metadata.json": "{}"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := matchKeras(zipArchive(t, writeZip(t, c.files))); got != c.want {
				t.Fatalf("matchKeras = %v, want %v", got, c.want)
			}
		})
	}
}
