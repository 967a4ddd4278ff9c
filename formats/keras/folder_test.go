package keras_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/modelvet/modelvet/formats"
	_ "github.com/modelvet/modelvet/formats/all"
	"github.com/modelvet/modelvet/formats/formatstest"
)

func TestKerasFolder(t *testing.T) {
	weights, err := os.ReadFile("testdata/weights_only.h5")
	if err != nil {
		t.Fatal(err)
	}
	meta := `{"keras_version": "3.6.0", "date_saved": "2024-10-01@10:00:00"}`
	dense := `{"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "layers": [{"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 2, "activation": "relu"}, "registered_name": null}]}, "registered_name": null}`
	lambda := `{"module": "keras", "class_name": "Sequential", "config": {"layers": [{"module": "keras.layers", "class_name": "Lambda", "config": {"name": "l", "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAAAAAAAAEAAAADAAAA"}}}}]}}`
	vocab := `{"module": "keras", "class_name": "Sequential", "config": {"layers": [{"module": "keras.layers", "class_name": "StringLookup", "config": {"name": "lk", "vocabulary": "/home/user/.ssh/id_rsa"}}]}}`
	cases := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"real-shaped Keras 3 folder", map[string]string{"config.json": dense, "metadata.json": meta, "model.weights.h5": string(weights)}, nil},
		{"Lambda in an unzipped Keras 3 folder", map[string]string{"config.json": lambda, "metadata.json": meta, "model.weights.h5": string(weights)}, []string{"keras/lambda-code"}},
		{"CVE-2025-12058 vocabulary path in a folder", map[string]string{"config.json": vocab, "model.weights.h5": string(weights)}, []string{"keras/file-path-argument"}},
		{"KerasHub preset tokenizer.json with a module outside Keras", map[string]string{"config.json": dense, "metadata.json": meta, "tokenizer.json": `{"module": "os", "class_name": "system", "config": {}}`}, []string{"keras/dangerous-module"}},
		{"transformers folder is not Keras", map[string]string{"config.json": `{"architectures": ["BertModel"], "model_type": "bert"}`, "metadata.json": meta}, nil},
		{"Keras config without metadata or weights is not a Keras folder", map[string]string{"config.json": lambda}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, b := range c.files {
				os.WriteFile(filepath.Join(dir, n), []byte(b), 0o644)
			}
			res := formatstest.ScanDir(t, false, dir)
			got := formatstest.ResultRules(res, formats.High)
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("rules = %v, want %v%s", got, c.want, formatstest.DescribeResult(res))
			}
		})
	}
}
