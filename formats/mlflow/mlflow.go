// Package mlflow reads MLflow model folders through their MLmodel file (a
// YAML document that mlflow.pyfunc.load_model and every flavor's
// load_model follow): which module is imported to load the model
// (python_function.loader_module), whether a custom PythonModel or code
// paths ship with it (Python that runs on load), and which artifacts it
// names. The artifacts themselves are files of the folder and are scanned
// as what they are (model.pkl as a pickle, and so on).
package mlflow

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/fsnames"
	"github.com/modelvet/modelvet/formats/hydra"
)

func init() {
	formats.Register(&formats.Analyzer{
		Name: "mlflow",
		// MLflow finds the file by this exact name; it has no extension.
		// Above the YAML (13) and pickle (10) sniffers.
		Priority: 14,
		Sniff:    func(p *formats.Probe) bool { return path.Base(p.Name) == "MLmodel" },
		Analyze:  analyze,
	})
}

const maxMLmodel = 4 << 20

// artifactKeys are the flavor keys whose value is a path, relative to the
// model folder, that the flavor's loader opens.
var artifactKeys = map[string]bool{
	"data": true, "pickled_model": true, "python_model": true, "model_data": true, "code": true,
	"saved_model_dir": true, "model_file": true, "path": true, "model_path": true, "conf": true,
	"h5": true, "keras_model": true, "model_dir": true, "xgb_model": true, "lgb_model": true,
	"cb_model": true, "onnx_model": true,
}

func analyze(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("mlflow")
	if size > maxMLmodel {
		s.Reportf("mlflow/unreadable", formats.High, formats.NoOffset, "MLmodel is %d bytes, over the %d-byte limit; what loading imports cannot be checked", size, maxMLmodel)
		return
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		s.Reportf("formats/read-error", formats.High, 0, "cannot read the file: %v", err)
		return
	}
	var doc yaml.Node
	err := func() (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("the YAML parser failed: %v", v)
			}
		}()
		return yaml.Unmarshal(b, &doc)
	}()
	if err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		// Attack class: a model whose loading recipe cannot be read
		// cannot be shown safe.
		s.Reportf("mlflow/unreadable", formats.High, formats.NoOffset, "MLmodel is not a YAML mapping (%v); what loading imports cannot be checked", err)
		return
	}
	root := doc.Content[0]
	dupes(s, root, "", 0)
	if indirect(root, 0) {
		// Attack class: YAML indirection. An anchor and a merge key
		// ("<<: *base") or an alias put loader_module into a flavor only
		// once aliases are expanded, which PyYAML's safe_load (MLflow's
		// reader) does; the flavors are judged as that reader sees them.
		r, err := expand(b)
		if err != nil {
			s.Reportf("mlflow/unreadable", formats.High, formats.NoOffset, "MLmodel uses YAML aliases or merge keys that cannot be expanded (%v); what loading imports cannot be checked", err)
			return
		}
		root = r
	}
	flavors := get(root, "flavors")
	if flavors == nil || flavors.Kind != yaml.MappingNode {
		s.Reportf("mlflow/unreadable", formats.High, formats.NoOffset, "MLmodel has no flavors mapping; MLflow cannot load it and what it would import cannot be checked")
		return
	}
	var names []string
	for i := 0; i+1 < len(flavors.Content); i += 2 {
		name, fl := flavors.Content[i].Value, flavors.Content[i+1]
		names = append(names, name)
		if fl.Kind != yaml.MappingNode {
			continue
		}
		if name == "python_function" {
			pyfunc(s, fl)
		}
		if f := scalar(get(fl, "serialization_format")); f == "cloudpickle" {
			// cloudpickle can carry functions and classes by value; the
			// pickle itself is scanned, and its code objects or imports
			// are reported there. This only says where to look.
			s.Reportf("mlflow/cloudpickle", formats.Medium, formats.NoOffset,
				"the %s flavor is serialized with cloudpickle, which can carry code by value; the pickled model file is scanned for it", name)
		}
		artifacts(s, name, fl, "flavors/"+name, 0)
	}
	sort.Strings(names)
	s.Detail("flavors", strings.Join(names, ","))
	checkEnv(s)
}

// pyfunc judges the python_function flavor: mlflow.pyfunc.load_model
// imports loader_module and calls its _load_pyfunc, unpickles python_model
// (a cloudpickled PythonModel subclass: user code), and puts code paths
// on sys.path first.
func pyfunc(s *formats.Scope, fl *yaml.Node) {
	if lm := scalar(get(fl, "loader_module")); lm != "" {
		switch v := hydra.Judge(lm+"._load_pyfunc", s.Options()); {
		case v == hydra.Dangerous:
			// Attack class: loader_module naming a module whose import
			// or _load_pyfunc runs commands or code.
			s.Reportf("mlflow/loader-module", formats.Critical, formats.NoOffset,
				"python_function.loader_module %q reaches a module that runs commands, evaluates code or touches files; mlflow.pyfunc.load_model imports it", lm)
		case strings.HasPrefix(lm, "mlflow.") && identPath(lm):
			s.Detail("loader_module", lm)
		default:
			// Attack class: a custom loader module (shipped in code/ or
			// expected on the loading machine) runs on import.
			s.Reportf("mlflow/loader-module", formats.High, formats.NoOffset,
				"python_function.loader_module %q is not one of MLflow's own flavors; mlflow.pyfunc.load_model imports it and calls its _load_pyfunc, running that code", lm)
		}
	}
	if pm := scalar(get(fl, "python_model")); pm != "" {
		// Attack class: a cloudpickled PythonModel is user code by
		// definition; its load_context and predict run on load and use.
		s.Reportf("mlflow/python-model", formats.High, formats.NoOffset,
			"python_function.python_model %q is a pickled custom PythonModel: user code that mlflow.pyfunc.load_model unpickles and runs (load_context). Review it before loading", pm)
	}
	if c := get(fl, "code"); c != nil && !(c.Kind == yaml.ScalarNode && (c.Tag == "!!null" || c.Value == "")) {
		// Attack class: code paths are prepended to sys.path, so their
		// modules run (and can shadow any installed module) on load.
		s.Reportf("mlflow/code-path", formats.High, formats.NoOffset,
			"python_function.code %q ships Python that is put first on sys.path when the model loads; any module in it runs (and can shadow installed ones). Review it before loading", scalar(c))
	}
}

func identPath(s string) bool {
	for _, c := range strings.Split(s, ".") {
		if c == "" || strings.HasPrefix(c, "_") {
			return false
		}
	}
	return true
}

// artifacts checks every path a flavor names: a path out of the model
// folder makes the loader read (or unpickle) a file the publisher did
// not ship; on disk, a missing one is reported too.
func artifacts(s *formats.Scope, flavor string, n *yaml.Node, where string, depth int) {
	if n == nil || depth > 8 || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		if v.Kind == yaml.MappingNode {
			artifacts(s, flavor, v, where+"/"+k, depth+1)
			continue
		}
		if !artifactKeys[k] || v.Kind != yaml.ScalarNode || v.Tag == "!!null" || v.Value == "" {
			continue
		}
		p := v.Value
		if why := escapes(p); why != "" {
			// Attack class: an artifact path that leaves the folder.
			s.Report(formats.Finding{Rule: "mlflow/path-escape", Severity: formats.High, Member: where + "/" + k, Offset: formats.NoOffset,
				Message: fmt.Sprintf("the %s flavor loads %q, which %s; the loader would read a file the model does not ship", flavor, p, why)})
			continue
		}
		if s.OnDisk() {
			if _, err := os.Lstat(filepath.Join(filepath.Dir(s.Path()), filepath.FromSlash(p))); err != nil {
				s.Report(formats.Finding{Rule: "mlflow/missing-artifact", Severity: formats.Medium, Member: where + "/" + k, Offset: formats.NoOffset,
					Message: fmt.Sprintf("the %s flavor loads %q, which is not in the model folder; it was not scanned and loading fails or finds something else", flavor, p)})
			}
		}
	}
}

func escapes(p string) string {
	switch {
	case strings.Contains(p, "://"):
		return "is a URI"
	case strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) || len(p) >= 2 && p[1] == ':':
		return "is an absolute path"
	}
	for _, c := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if fsnames.Climbs(c) { // also ".. " and "...", which Windows reads as ".."
			return "climbs out of the folder with " + strconv.Quote(c)
		}
	}
	return ""
}

func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var out *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			out = m.Content[i+1] // PyYAML keeps the last
		}
	}
	for out != nil && out.Kind == yaml.AliasNode && out.Alias != nil {
		out = out.Alias
	}
	return out
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

// indirect reports whether the document uses aliases or merge keys.
func indirect(n *yaml.Node, depth int) bool {
	if n == nil || depth > 64 {
		return false
	}
	if n.Kind == yaml.AliasNode || n.Tag == "!!merge" {
		return true
	}
	for _, c := range n.Content {
		if indirect(c, depth+1) {
			return true
		}
	}
	return false
}

// expand returns the document with its aliases and merge keys resolved, as
// a YAML loader sees it: decoding into plain values expands them (yaml.v3
// refuses alias bombs there), and encoding that again gives nodes without
// indirection.
func expand(b []byte) (root *yaml.Node, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("the YAML parser failed: %v", v)
		}
	}()
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	out, err := yaml.Marshal(v)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(out, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("not a mapping once expanded")
	}
	return doc.Content[0], nil
}

// dupes reports duplicate keys: PyYAML keeps the last, others the first.
func dupes(s *formats.Scope, n *yaml.Node, where string, depth int) {
	if n == nil || depth > 32 {
		return
	}
	if n.Kind == yaml.MappingNode {
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if seen[k] {
				// Attack class: two readers seeing different loaders.
				s.Report(formats.Finding{Rule: "mlflow/ambiguous", Severity: formats.High, Member: strings.TrimPrefix(where+"/"+k, "/"), Offset: formats.NoOffset,
					Message: fmt.Sprintf("the key %q appears twice in one mapping (line %d); YAML readers disagree on which value counts", k, n.Content[i].Line)})
			}
			seen[k] = true
			dupes(s, n.Content[i+1], where+"/"+k, depth+1)
		}
	}
}
