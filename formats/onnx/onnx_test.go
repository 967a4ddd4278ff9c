package onnx

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

func scanFile(t *testing.T, path string) *formats.FileResult {
	t.Helper()
	o := formats.DefaultOptions()
	o.Hash = false
	return formats.ScanFile(context.Background(), path, path, &o)
}

func TestFixtures(t *testing.T) {
	cases := []struct {
		file string
		// rule that must be reported at sev or above; "" = nothing >= Medium
		rule string
		sev  formats.Severity
	}{
		// Real layouts written by onnx itself: must pass clean.
		{"plain.onnx", "", 0},
		{"torch_export.onnx", "", 0}, // written by torch.onnx.export
		{"subgraphs.onnx", "", 0},
		{"function.onnx", "", 0},
		{"sparse.onnx", "", 0},
		{"contrib.onnx", "", 0},
		{"external_ok/model.onnx", "", 0},
		// External data that leaves the model's folder.
		{"escape_dotdot.onnx", "onnx/external-data-escape", formats.Critical},
		{"escape_backslash.onnx", "onnx/external-data-escape", formats.Critical},
		{"escape_drive.onnx", "onnx/external-data-escape", formats.Critical},
		{"escape_unc.onnx", "onnx/external-data-escape", formats.Critical},
		{"escape_abs.onnx", "onnx/external-data-escape", formats.Critical},
		{"escape_ortmem.onnx", "onnx/external-data-escape", formats.Critical},
		// The escape is hidden in a Constant inside a Loop body subgraph.
		{"escape_in_loop.onnx", "onnx/external-data-escape", formats.Critical},
		// Files that are not there or too short.
		{"external_missing/model.onnx", "onnx/external-data-missing", formats.High},
		{"external_range/model.onnx", "onnx/external-data-range", formats.High},
		// Operators that need native code from outside the model.
		{"custom_domain.onnx", "onnx/custom-domain", formats.Medium},
		{"ep_embedded.onnx", "onnx/ep-context", formats.Medium},
		{"ep_path_escape.onnx", "onnx/external-data-escape", formats.Critical},
		// Real exports beyond the originals (r2/make_benign.py): torch
		// exports at opset 11/14/17 (CNN, LSTM, Transformer), a skl2onnx-style
		// ai.onnx.ml LinearClassifier+ZipMap, onnxruntime contrib ops.
		{"r2/cnn_op14.onnx", "", 0},
		{"r2/lstm_op11.onnx", "", 0},
		{"r2/tfm_op17.onnx", "", 0},
		{"r2/sklearn_ml.onnx", "", 0},
		{"r2/ms_contrib.onnx", "", 0},
		// Escapes hidden where a walker limited to graph initializers
		// would miss them (r2/make_bad.py): a Constant inside a
		// model-local function, a sparse initializer's indices, a custom
		// op's list of graphs, a Loop inside an If, an attribute's tensor list.
		{"r2/function.onnx", "onnx/external-data-escape", formats.Critical},
		{"r2/sparse_idx.onnx", "onnx/external-data-escape", formats.Critical},
		{"r2/graphs_list.onnx", "onnx/external-data-escape", formats.Critical},
		{"r2/nested_loop_if.onnx", "onnx/external-data-escape", formats.Critical},
		{"r2/attr_tensors.onnx", "onnx/external-data-escape", formats.Critical},
		// Two initializers named "w" with different external files: which
		// weights run depends on the loader.
		{"r2/dup/model.onnx", "onnx/duplicate-initializer", formats.High},
		// Functions that call themselves, directly or through another:
		// loading never ends in a runtime that inlines them.
		{"r2/recursive_function.onnx", "onnx/recursive-function", formats.High},
		{"r2/mutual_recursion.onnx", "onnx/recursive-function", formats.High},
		{"r2/nested_functions.onnx", "", 0}, // C calls D: a chain, not a cycle
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			res := scanFile(t, filepath.Join("testdata", c.file))
			if res.Format != "onnx" {
				t.Fatalf("format = %q, want onnx\n%s", res.Format, formatstest.Describe(res))
			}
			if c.rule == "" {
				if got := formatstest.Rules(res, formats.Medium); len(got) > 0 {
					t.Fatalf("real layout got findings %v\n%s", got, formatstest.Describe(res))
				}
				return
			}
			if !slices.Contains(formatstest.Rules(res, c.sev), c.rule) {
				t.Fatalf("want %s at >= %s\n%s", c.rule, c.sev, formatstest.Describe(res))
			}
		})
	}
}

func TestDetails(t *testing.T) {
	res := scanFile(t, "testdata/subgraphs.onnx")
	if res.Details["ir_version"] != "8" || res.Details["nodes"] != "7" || !strings.Contains(res.Details["producer"], "modelvet-fixtures") {
		t.Fatalf("details %v", res.Details)
	}
	res = scanFile(t, "testdata/external_ok/model.onnx")
	if res.Details["external_tensors"] != "1" || res.Details["initializers"] != "1" {
		t.Fatalf("details %v", res.Details)
	}
}

// In memory there is no folder: locations are still judged, files are not.
func TestExternalInMemory(t *testing.T) {
	data, err := os.ReadFile("testdata/external_missing/model.onnx")
	if err != nil {
		t.Fatal(err)
	}
	res := formatstest.ScanBytes(t, "model.onnx", data, nil)
	if got := formatstest.Rules(res, formats.Medium); len(got) > 0 {
		t.Fatalf("in-memory scan cannot see the folder, got %v", got)
	}
	if res.Details["external_data_unverified"] == "" {
		t.Fatalf("want the unverified detail, got %v", res.Details)
	}
}

func TestLocationProblem(t *testing.T) {
	cases := []struct {
		loc string
		sev formats.Severity
	}{
		{"weights.bin", formats.Info},
		{"sub/dir/weights.bin", formats.Info},
		{"model.onnx_data", formats.Info},
		{"../x", formats.Critical},
		{"a/../../x", formats.Critical},
		{"/etc/passwd", formats.Critical},
		{`..\..\x`, formats.Critical},
		{`C:\x`, formats.Critical},
		{"c:/x", formats.Critical},
		{`\\srv\share\x`, formats.Critical},
		{"//srv/share/x", formats.Critical},
		{"w\x00.bin", formats.Critical},
		{"_ORT_MEM_ADDR_", formats.Critical},
		{"*/_ORT_MEM_ADDR_/*", formats.Critical},
		{`a\b`, formats.High},
		{"CON", formats.High},
		{"sub/nul.txt", formats.High},
		{"w.bin:stream", formats.High},
		{"", formats.High},
		// Windows strips trailing dots and spaces: these climb there only.
		{".. /.. /etc/shadow", formats.Critical},
		{".../x", formats.Critical},
		{`.. \x`, formats.Critical},
		{"...weights.bin", formats.Info}, // an odd but ordinary name
		{"COM1.bin", formats.High},
	}
	for _, c := range cases {
		sev, why := locationProblem(c.loc)
		if sev != c.sev || (c.sev > formats.Info) != (why != "") {
			t.Errorf("locationProblem(%q) = %v %q, want %v", c.loc, sev, why, c.sev)
		}
	}
}

// model builds a ModelProto by hand for malformed-input cases.
func model(fields ...[]byte) []byte {
	b := protowire.AppendTag(nil, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, 8)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, "x")
	for _, f := range fields {
		b = append(b, f...)
	}
	return b
}

func lenField(num protowire.Number, payload []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, payload)
}

func TestMalformed(t *testing.T) {
	graph := lenField(1, lenField(4, []byte("Relu"))) // node with op_type
	good := model(lenField(7, graph))
	cases := []struct {
		name string
		data []byte
	}{
		{"truncated graph", good[:len(good)-2]},
		{"length past end", append(model(), protowire.AppendVarint(protowire.AppendTag(nil, 7, protowire.BytesType), 1<<40)...)},
		{"graph as varint", model(protowire.AppendVarint(protowire.AppendTag(nil, 7, protowire.VarintType), 3))},
		{"bad varint", model(lenField(7, []byte{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}))},
		{"field number zero", model(lenField(7, []byte{0x02, 0x00}))},
		{"group wire type", model(lenField(7, []byte{0x0b}))},
	}
	if r := formatstest.ScanBytes(t, "m.onnx", good, nil); len(formatstest.Rules(r, formats.Medium)) > 0 {
		t.Fatalf("hand-built model should be clean: %s", formatstest.Describe(r))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := formatstest.ScanBytes(t, "m.onnx", c.data, nil)
			if !slices.Contains(formatstest.Rules(res, formats.High), "onnx/malformed") {
				t.Fatalf("want onnx/malformed\n%s", formatstest.Describe(res))
			}
		})
	}
}

// Graphs nested past the limit are refused, not followed into a stack overflow.
func TestDeepNesting(t *testing.T) {
	g := lenField(1, lenField(4, []byte("Relu")))
	for range 200 {
		attr := lenField(6, g)             // AttributeProto.g
		g = lenField(1, lenField(5, attr)) // GraphProto.node{attribute}
	}
	res := formatstest.ScanBytes(t, "m.onnx", model(lenField(7, g)), nil)
	if !slices.Contains(formatstest.Rules(res, formats.High), "onnx/malformed") {
		t.Fatalf("want a nesting finding\n%s", formatstest.Describe(res))
	}
}

func TestSniff(t *testing.T) {
	plain, _ := os.ReadFile("testdata/plain.onnx")
	cases := []struct {
		name string
		data []byte
		want bool
	}{
		{"model.onnx", plain, true},
		{"renamed.dat", plain, true},
		{"pickle", []byte("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94."), false},
		{"savedmodel", []byte{0x12, 0x12, 0x12, 0x10, 0x0a, 0x0e}, false},
		{"text", []byte("hello world"), false},
		// saved_model.pb: schema version 1, then a binary MetaGraphDef in field 2.
		{"saved_model.pb", []byte{0x08, 0x01, 0x12, 0x06, 0x12, 0x04, 0x0a, 0x02, 0x12, 0x00}, false},
	}
	for _, c := range cases {
		p := &formats.Probe{Name: c.name, Head: c.data, Size: int64(len(c.data)), R: bytes.NewReader(c.data)}
		if got := sniff(p); got != c.want {
			t.Errorf("%s: sniff = %v, want %v", c.name, got, c.want)
		}
	}
}

func FuzzONNX(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.onnx")
	more, _ := filepath.Glob("testdata/*/model.onnx")
	for _, p := range append(files, more...) {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	o := formats.DefaultOptions()
	f.Fuzz(func(t *testing.T, data []byte) {
		res := &formats.FileResult{}
		s := formats.NewScope("fuzz.onnx", &o, res)
		analyze(s, bytes.NewReader(data), int64(len(data)))
		for _, x := range res.Findings {
			if x.Rule == "formats/analyzer-failure" {
				t.Fatal(x.Message)
			}
		}
		if len(res.Findings) > 20*maxPerRule {
			t.Fatalf("%d findings", len(res.Findings))
		}
	})
}

// A folder holding a model and its external data passes clean; the data
// file is claimed only because the model names it.
func TestCompanionFile(t *testing.T) {
	o := formats.DefaultOptions()
	o.Hash = false
	res, err := formats.Scan(context.Background(), []string{"testdata/external_ok"}, o)
	if err != nil {
		t.Fatal(err)
	}
	formatsSeen := map[string]string{}
	for _, f := range res.Files {
		formatsSeen[filepath.Base(f.Path)] = f.Format
		if got := formatstest.Rules(f, formats.Medium); len(got) > 0 {
			t.Errorf("%s: %s", f.Path, formatstest.Describe(f))
		}
	}
	if formatsSeen["weights.bin"] != "onnx-external-data" {
		t.Errorf("weights.bin format %q", formatsSeen["weights.bin"])
	}
	// The same bytes beside no model are not claimed.
	dir := t.TempDir()
	data, _ := os.ReadFile("testdata/external_ok/weights.bin")
	p := filepath.Join(dir, "weights.bin")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(p)
	defer f.Close()
	if sniffCompanion(&formats.Probe{Name: "weights.bin", Head: data, Size: int64(len(data)), R: f}) {
		t.Fatal("an unreferenced .bin was claimed as external data")
	}
}

// extTensor is a TensorProto whose data lives at loc.
func extTensor(name, loc string) []byte {
	entry := func(k, v string) []byte {
		return lenField(13, append(lenField(1, []byte(k)), lenField(2, []byte(v))...))
	}
	b := lenField(8, []byte(name))
	b = append(b, entry("location", loc)...)
	b = append(b, protowire.AppendVarint(protowire.AppendTag(nil, 14, protowire.VarintType), 1)...)
	return b
}

// Escapes hidden where only a full walk finds them.
func TestHiddenTensors(t *testing.T) {
	esc := "../../etc/shadow"
	constNode := func(tensor []byte) []byte {
		attr := append(lenField(1, []byte("value")), lenField(5, tensor)...)
		return append(lenField(4, []byte("Constant")), lenField(5, attr)...)
	}
	cases := []struct {
		name string
		data []byte
	}{
		{"training algorithm graph", model(lenField(20, lenField(2, lenField(5, extTensor("w", esc)))))},
		{"training initialization graph", model(lenField(20, lenField(1, lenField(5, extTensor("w", esc)))))},
		{"sparse initializer indices", model(lenField(7, lenField(15, lenField(2, extTensor("i", esc)))))},
		{"sparse initializer values", model(lenField(7, lenField(15, lenField(1, extTensor("v", esc)))))},
		{"function body Constant", model(lenField(25, append(lenField(1, []byte("f")), lenField(7, constNode(extTensor("c", esc)))...)))},
		{"attribute tensors list", model(lenField(7, lenField(1, append(lenField(4, []byte("X")), lenField(5, lenField(10, extTensor("l", esc)))...))))},
		{"Scan body graphs list", model(lenField(7, lenField(1, lenField(5, lenField(11, lenField(5, extTensor("g", esc)))))))},
		{"attribute sparse_tensor", model(lenField(7, lenField(1, lenField(5, lenField(22, lenField(1, extTensor("s", esc)))))))},
		{"duplicate location, second escapes", model(lenField(7, lenField(5, append(extTensor("d", "w.bin"), lenField(13, append(lenField(1, []byte("location")), lenField(2, []byte(esc))...))...))))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := formatstest.ScanBytes(t, "m.onnx", c.data, nil)
			if !slices.Contains(formatstest.Rules(res, formats.Critical), "onnx/external-data-escape") {
				t.Fatalf("escape not found\n%s", formatstest.Describe(res))
			}
		})
	}
}

// Links: a Hugging Face cache snapshot links model and data into blobs/
// (must pass); a data file linked outside the folder must not.
func TestExternalSymlinks(t *testing.T) {
	model, err := os.ReadFile("testdata/external_ok/model.onnx")
	if err != nil {
		t.Fatal(err)
	}
	weights, err := os.ReadFile("testdata/external_ok/weights.bin")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	repo := filepath.Join(root, "models--org--name")
	snap := filepath.Join(repo, "snapshots", "0123abc")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(repo, "blobs"), 0o755))
	must(os.MkdirAll(snap, 0o755))
	must(os.WriteFile(filepath.Join(repo, "blobs", "aaa"), model, 0o644))
	must(os.WriteFile(filepath.Join(repo, "blobs", "bbb"), weights, 0o644))
	must(os.Symlink("../../blobs/aaa", filepath.Join(snap, "model.onnx")))
	must(os.Symlink("../../blobs/bbb", filepath.Join(snap, "weights.bin")))
	res := scanFile(t, filepath.Join(snap, "model.onnx"))
	if got := formatstest.Rules(res, formats.Medium); len(got) > 0 {
		t.Fatalf("HF cache layout: %s", formatstest.Describe(res))
	}

	plain := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	must(os.WriteFile(outside, weights, 0o644))
	must(os.WriteFile(filepath.Join(plain, "model.onnx"), model, 0o644))
	must(os.Symlink(outside, filepath.Join(plain, "weights.bin")))
	res = scanFile(t, filepath.Join(plain, "model.onnx"))
	if !slices.Contains(formatstest.Rules(res, formats.High), "onnx/external-data-escape") {
		t.Fatalf("link outside the folder: %s", formatstest.Describe(res))
	}

	// A folder where the data file should be: not a regular file.
	dirCase := t.TempDir()
	must(os.WriteFile(filepath.Join(dirCase, "model.onnx"), model, 0o644))
	must(os.Mkdir(filepath.Join(dirCase, "weights.bin"), 0o755))
	res = scanFile(t, filepath.Join(dirCase, "model.onnx"))
	if !slices.Contains(formatstest.Rules(res, formats.High), "onnx/external-data-missing") {
		t.Fatalf("folder in place of data: %s", formatstest.Describe(res))
	}
}

// torch.onnx.export(..., export_modules_as_functions=True) writes each
// module as a model-local FunctionProto whose nodes call other functions.
// Walking such a model for the companion lookup (while sniffing the files
// beside it) once panicked on a nil call-graph map, outside any recover.
func TestFunctionsModelWithSiblingFile(t *testing.T) {
	fnNode := append(lenField(4, []byte("Linear")), lenField(7, []byte("pkg.torch"))...)
	function := append(lenField(1, []byte("Block")), lenField(10, []byte("pkg.torch"))...)
	function = append(function, lenField(7, fnNode)...)
	graphNode := append(lenField(4, []byte("Block")), lenField(7, []byte("pkg.torch"))...)
	opset := func(d string) []byte {
		return lenField(8, append(lenField(1, []byte(d)), protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.VarintType), 1)...))
	}
	m := model(lenField(7, lenField(1, graphNode)), opset(""), opset("pkg.torch"), lenField(25, function))
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"model.onnx": m,
		"README.md":  []byte("# exported with export_modules_as_functions=True\n"),
		"labels.bin": {1, 2, 3, 4},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res := formatstest.ScanDir(t, false, dir)
	for _, f := range res.Files {
		for _, x := range f.Findings {
			if x.Rule == "formats/analyzer-failure" {
				t.Errorf("%s: %s", f.Path, formatstest.Describe(f))
			}
		}
	}
}

// The same with a model torch.onnx.export really wrote
// (testdata/make_functions_model.py): scanning its folder with one more
// file in it crashed the whole scan before.
func TestRealFunctionsModelWithSiblingFile(t *testing.T) {
	data, err := os.ReadFile("testdata/functions/model.onnx")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "model.onnx"), data, 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("exported by torch\n"), 0o644)
	res := formatstest.ScanDir(t, false, dir)
	if n := res.Count(formats.High); n > 0 {
		t.Errorf("%d high findings: %s", n, formatstest.DescribeResult(res))
	}
	for _, f := range res.Files {
		if filepath.Base(f.Path) == "model.onnx" && f.Format != "onnx" {
			t.Errorf("format %q", f.Format)
		}
	}
}
