package skops_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	_ "github.com/modelvet/modelvet/formats/all"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestAgreesWithSkops: for files skops itself wrote, modelvet's
// untrusted and dangerous types are exactly skops' get_untrusted_types.
func TestAgreesWithSkops(t *testing.T) {
	raw, err := os.ReadFile("testdata/untrusted.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string][]string
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) < 8 {
		t.Fatalf("only %d fixtures in untrusted.json", len(want))
	}
	for name, types := range want {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			r := formatstest.ScanBytes(t, name, data, nil)
			if r.Format != "skops" {
				t.Fatalf("format %q, want skops", r.Format)
			}
			var got []string
			for _, f := range r.Findings {
				switch f.Rule {
				case "skops/untrusted-type", "skops/dangerous-type":
					got = append(got, f.Import)
				default:
					if f.Severity >= formats.High {
						t.Errorf("unexpected finding %s: %s", f.Rule, f.Message)
					}
				}
			}
			slices.Sort(got)
			if types == nil {
				types = []string{}
			}
			if got == nil {
				got = []string{}
			}
			if !slices.Equal(got, types) {
				t.Errorf("untrusted types = %v, skops says %v\n%s", got, types, formatstest.Describe(r))
			}
		})
	}
}

func skopsZip(t testing.TB, schema string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("schema.json")
	w.Write([]byte(schema))
	zw.Close()
	return b.Bytes()
}

func node(loader, mod, cls, extra string) string {
	return `{"__class__": "` + cls + `", "__module__": "` + mod + `", "__loader__": "` + loader + `"` + extra + `}`
}

func TestAttacks(t *testing.T) {
	tuple := `, "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode", "content": [{"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode", "content": "\"id\"", "is_json": true}]}`
	top := func(inner string) string {
		return `{"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode", "content": {"m": ` + inner + `}, "key_types": {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "content": []}, "protocol": 2, "_skops_version": "0.11"}`
	}
	cases := []struct {
		name, schema string
		want         []string
	}{
		{"ConstructorFromReduceNode calling os.system", top(node("ConstructorFromReduceNode", "os", "system", tuple)), []string{"skops/dangerous-type"}},
		{"ConstructorFromReduceNode of an untrusted class", top(node("ConstructorFromReduceNode", "collections", "Counter", tuple)), []string{"skops/untrusted-type"}},
		{"ObjectNode of a class outside sklearn", top(node("ObjectNode", "evilpkg.models", "Backdoor", `, "content": {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode", "content": {}, "key_types": {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "content": []}}`)), []string{"skops/untrusted-type"}},
		{"ObjectNode claiming a trusted estimator is fine", top(node("ObjectNode", "sklearn.linear_model._logistic", "LogisticRegression", "")), nil},
		{"FunctionNode builtins.eval", top(node("FunctionNode", "builtins", "eval", "")), []string{"skops/dangerous-type"}},
		{"FunctionNode through an alias module", top(node("FunctionNode", "posixpath", "os.system", "")), []string{"skops/dangerous-type"}},
		{"TypeNode subprocess.Popen", top(node("TypeNode", "subprocess", "Popen", "")), []string{"skops/dangerous-type"}},
		{"OperatorFuncNode methodcaller", top(node("OperatorFuncNode", "operator", "methodcaller", `, "attrs": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode", "content": []}`)), []string{"skops/dangerous-type"}},
		{"OperatorFuncNode outside operator", top(node("OperatorFuncNode", "os", "attrgetter", `, "attrs": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode", "content": []}`)), []string{"skops/dangerous-type", "skops/malformed"}},
		{"MethodNode of a trusted estimator", top(node("MethodNode", "sklearn.linear_model._logistic", "LogisticRegression", `, "content": {"func": "fit", "obj": `+node("ObjectNode", "sklearn.linear_model._logistic", "LogisticRegression", "")+`}`)), []string{"skops/untrusted-type", "skops/untrusted-type"}},
		{"unknown loader", top(node("EvalNode", "builtins", "str", "")), []string{"skops/malformed"}},
		{"node missing __module__", top(`{"__class__": "x", "__loader__": "ObjectNode"}`), []string{"skops/malformed"}},
		{"dangling CachedNode", top(node("CachedNode", "builtins", "dict", `, "__id__": 999`)), []string{"skops/malformed"}},
		{"duplicate __class__ key", top(`{"__class__": "LogisticRegression", "__class__": "Popen", "__module__": "sklearn.linear_model._logistic", "__loader__": "ObjectNode"}`), []string{"skops/ambiguous", "skops/dangerous-type"}},
		{"duplicate __class__ hides the first reader's type", top(`{"__class__": "Popen", "__class__": "LogisticRegression", "__module__": "sklearn.linear_model._logistic", "__loader__": "ObjectNode"}`), []string{"skops/ambiguous", "skops/dangerous-type"}},
		{"schema not JSON", `{"__loader__": `, []string{"skops/malformed"}},
		{"marker pushed past any prefix and escaped", `{` + strings.Repeat(" ", 100<<10) + `"\u005f_loader__": "FunctionNode", "__class__": "system", "__module__": "os"}`, []string{"skops/dangerous-type"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := formatstest.ScanBytes(t, "model.skops", skopsZip(t, c.schema), nil)
			got := formatstest.Rules(r, formats.High)
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("rules = %v, want %v\n%s", got, c.want, formatstest.Describe(r))
			}
		})
	}
}

func FuzzSkops(f *testing.F) {
	for _, n := range []string{"logreg_pipeline.skops", "methodcaller.skops", "custom_object.skops"} {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	o := formats.DefaultOptions()
	o.Hash = false
	f.Fuzz(func(t *testing.T, b []byte) {
		formats.ScanReader("m.skops", bytes.NewReader(b), int64(len(b)), &o)
	})
}

// BenchmarkSkops reads the real pipeline fixture: schema walk and members.
func BenchmarkSkops(b *testing.B) {
	data, err := os.ReadFile("testdata/logreg_pipeline.skops")
	if err != nil {
		b.Fatal(err)
	}
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(int64(len(data)))
	for range b.N {
		formats.ScanReader("m.skops", bytes.NewReader(data), int64(len(data)), &o)
	}
}

// TestOtherSchemaZip: a zip with a schema.json that is no skops tree is
// scanned as a plain zip, without skops findings.
func TestOtherSchemaZip(t *testing.T) {
	r := formatstest.ScanBytes(t, "dataset.zip", skopsZip(t, `{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}`), nil)
	if r.Format != "zip" || len(formatstest.Rules(r, formats.Medium)) != 0 {
		t.Errorf("format %q\n%s", r.Format, formatstest.Describe(r))
	}
}
