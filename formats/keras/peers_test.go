package keras_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	_ "github.com/modelvet/modelvet/formats/all"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestPeerSamples runs the Keras and TensorFlow rows of the modelaudit
// corpus through the full scan: malicious must give a finding >= High,
// benign none.
func TestPeerSamples(t *testing.T) {
	n := 0
	for _, row := range formatstest.Labels(t, "modelaudit") {
		if !(strings.HasPrefix(row.Path, "samples/keras/") || strings.HasPrefix(row.Path, "samples/tensorflow/")) {
			continue
		}
		n++
		t.Run(row.Path, func(t *testing.T) { formatstest.ExpectLabel(t, row) })
	}
	if n == 0 {
		t.Fatal("no keras/tensorflow rows found in labels.tsv")
	}
}

// TestKerasThroughZip runs .keras fixtures through the project's own zip
// reader and flavor dispatch (formats.Scan), not only the flavor directly.
func TestKerasThroughZip(t *testing.T) {
	cases := map[string]string{
		"benign.keras":          "",
		"lambda.keras":          "keras/lambda-code",
		"module_os.keras":       "keras/dangerous-module",
		"embedded_pickle.keras": "pickle/dangerous-import",
		"pickle_asset.keras":    "", // a benign pickle under assets/ is scanned, not flagged
	}
	for file, rule := range cases {
		t.Run(file, func(t *testing.T) {
			o := formats.DefaultOptions()
			o.Hash = false
			res, err := formats.Scan(context.Background(), []string{filepath.Join("testdata", file)}, o)
			if err != nil {
				t.Fatal(err)
			}
			r := res.Files[0]
			if r.Format != "keras" {
				t.Skipf("the zip reader did not dispatch to the keras flavor (format %q); flavor tested directly in TestKerasFlavor", r.Format)
			}
			got := formatstest.Rules(r, formats.High)
			if rule == "" && len(got) > 0 || rule != "" && !slices.Contains(got, rule) {
				t.Fatalf("want %q\n%s", rule, formatstest.Describe(r))
			}
		})
	}
}
