package mlflow

import (
	"io"
	"path"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/hydra"
)

// Two flavors keep the name of a module to import in a text file of their
// data folder, not in MLmodel:
//   - pytorch: data/pickle_module_info.txt; mlflow.pytorch._load_model
//     imports it with importlib.import_module and hands it to torch.load
//     as pickle_module (its Unpickler reads the model);
//   - keras / tensorflow: data/keras_module.txt; the flavor imports it and
//     then "<it>.models" to call load_model.
//
// Attack class: a module-name file that makes MLflow import a module of
// the attacker's choosing (one shipped in code/, which code paths put on
// sys.path first, or any importable module) while MLmodel itself names
// only built-in flavors.
func init() {
	formats.Register(&formats.Analyzer{
		Name:       "mlflow-module-file",
		Extensions: []string{".txt"},
		Priority:   14,
		Sniff: func(p *formats.Probe) bool {
			_, ok := moduleFiles[path.Base(p.Name)]
			return ok && p.Size <= maxModuleFile
		},
		Analyze: analyzeModuleFile,
	})
}

const maxModuleFile = 4096

// moduleFiles maps each file name to what MLflow does with the module and
// the modules MLflow itself writes there.
var moduleFiles = map[string]struct {
	use  string
	attr string // what the flavor reaches in the module ("": the module itself is judged; load_model is the flavor's own call)
	ok   map[string]bool
}{
	"pickle_module_info.txt": {"mlflow.pytorch imports it and torch.load unpickles the model with its Unpickler", "Unpickler",
		map[string]bool{"mlflow.pytorch.pickle_module": true, "pickle": true, "cloudpickle": true}},
	"keras_module.txt": {"the MLflow Keras flavor imports it and calls its models.load_model", "",
		map[string]bool{"keras": true, "tensorflow.keras": true, "tf_keras": true}},
}

func analyzeModuleFile(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("mlflow")
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		s.Reportf("formats/read-error", formats.High, 0, "cannot read the file: %v", err)
		return
	}
	f := moduleFiles[path.Base(s.Path())]
	if f.use == "" {
		f = moduleFiles[path.Base(s.Member())]
	}
	// MLflow reads the whole file as the name, unstripped: white space
	// around a name MLflow writes only makes the import fail.
	name := strings.TrimSpace(string(b))
	if f.ok[name] {
		s.Detail("module", name)
		return
	}
	sev := formats.High
	target := name
	if f.attr != "" {
		target += "." + f.attr
	}
	if hydra.Judge(target, s.Options()) == hydra.Dangerous {
		sev = formats.Critical
	}
	// mlflow/loader-module: the same class as python_function.loader_module.
	s.Reportf("mlflow/loader-module", sev, 0, "the file names the module %q, which is not the one MLflow writes: %s. Review it, or do not load the model", trunc(name), f.use)
}

func trunc(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
