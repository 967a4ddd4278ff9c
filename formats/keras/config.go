package keras

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/modelvet/modelvet/formats"
)

// configWalker checks a Keras model config (config.json of a .keras file,
// the model_config / training_config attribute of a Keras 2 .h5). Keras
// rebuilds the model from this JSON: class names pick classes, module
// names are imported, Lambda layers carry Python code. Every object and
// string of the config is visited, whatever key it sits under, because
// nested configs (a Lambda inside a TimeDistributed inside a Functional
// model, an activation serialized as a lambda) are loaded just the same.
type configWalker struct {
	s       *formats.Scope
	doc     string // "config.json", "model_config"
	perRule map[string]int
	dropped map[string]formats.Severity
	nodes   int
	members int // embedded payloads handed to ScanMember
}

const (
	maxConfigFindings = 25
	maxEmbedded       = 64       // embedded pickles scanned per config
	maxDecoded        = 16 << 20 // largest base64 blob decoded
	minBlob           = 24       // shortest string treated as a possible base64 blob
)

// ScanConfig checks a Keras config held by another format: a TF.js
// layers model's topology is one, and the tensorflowjs converter turns
// it back into a Keras model with keras.models.model_from_json.
func ScanConfig(s *formats.Scope, doc string, data []byte) { scanConfig(s, doc, data) }

// scanConfig parses data as a Keras config and checks it. A config that
// does not parse is reported (the loader would fail, or a lenient reader
// could see something else).
func scanConfig(s *formats.Scope, doc string, data []byte) {
	v, err := parseJSON(data)
	if err != nil {
		s.Reportf("keras/config-unreadable", formats.High, formats.NoOffset,
			"%s is not valid JSON (%v); what Keras would build from it cannot be checked", doc, err)
		return
	}
	w := &configWalker{s: s, doc: doc, perRule: map[string]int{}}
	w.walk(v, "", 0, false)
	w.finish()
}

func (w *configWalker) report(rule string, sev formats.Severity, path, format string, args ...any) {
	w.perRule[rule]++
	if w.perRule[rule] > maxConfigFindings {
		if w.dropped == nil {
			w.dropped = map[string]formats.Severity{}
		}
		w.dropped[rule] = max(w.dropped[rule], sev)
		return
	}
	w.s.Report(formats.Finding{Rule: rule, Severity: sev, Offset: formats.NoOffset,
		Member: w.doc + "#" + path, Message: fmt.Sprintf(format, args...)})
}

func (w *configWalker) finish() {
	var rules []string
	for r, n := range w.perRule {
		if n > maxConfigFindings {
			rules = append(rules, r)
		}
	}
	sort.Strings(rules)
	for _, r := range rules {
		w.s.Reportf(r, w.dropped[r], formats.NoOffset, "%s: %d more findings of this rule were not listed", w.doc, w.perRule[r]-maxConfigFindings)
	}
}

func (w *configWalker) walk(v any, path string, depth int, inLambda bool) {
	w.nodes++
	switch x := v.(type) {
	case string:
		w.checkString(x, path, inLambda)
	case []any:
		for i, e := range x {
			w.walk(e, path+"/"+strconv.Itoa(i), depth+1, inLambda)
		}
	case jsonObject:
		lambda := w.checkObject(x, path, inLambda)
		for _, kv := range x {
			if strings.Contains(kv.Key, "enable_unsafe_deserialization") {
				w.report("keras/unsafe-deserialization", formats.Critical, path,
					"the config names enable_unsafe_deserialization, which turns off Keras safe mode so Lambda code and arbitrary objects load")
			}
			w.walk(kv.Val, path+"/"+escapePointer(kv.Key), depth+1, inLambda || lambda)
		}
	}
}

func escapePointer(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

// safeModuleRoots are the packages whose classes a Keras config may name
// for built-in layers, losses, optimizers and the like.
var safeModuleRoots = map[string]bool{
	"keras": true, "keras_core": true, "keras_hub": true, "keras_cv": true, "keras_nlp": true,
	"keras_rs": true, "tf_keras": true,
}

// dangerousModules run commands, load code, touch files or the network
// when one of their callables is named. Keras before 3.9 (CVE-2025-1550)
// imports whatever module a config names and calls the class_name in it.
var dangerousModules = map[string]bool{
	"os": true, "posix": true, "nt": true, "subprocess": true, "sys": true, "shutil": true,
	"importlib": true, "runpy": true, "pty": true, "socket": true, "ctypes": true, "pickle": true,
	"_pickle": true, "marshal": true, "code": true, "codeop": true, "commands": true, "webbrowser": true,
	"urllib": true, "urllib2": true, "requests": true, "http": true, "ftplib": true, "telnetlib": true,
	"smtplib": true, "multiprocessing": true, "asyncio": true, "pathlib": true, "io": true,
	"tempfile": true, "glob": true, "dill": true, "joblib": true, "torch": true,
	"operator": true, "functools": true, "types": true, "inspect": true, "platform": true,
	"signal": true, "threading": true, "_thread": true, "zipimport": true, "pkgutil": true,
}

// dangerousBuiltins are builtins that evaluate code, import, or open files.
var dangerousBuiltins = map[string]bool{
	"eval": true, "exec": true, "compile": true, "open": true, "__import__": true, "getattr": true,
	"setattr": true, "delattr": true, "input": true, "breakpoint": true, "exit": true, "quit": true,
	"globals": true, "locals": true, "vars": true, "help": true, "memoryview": true,
}

func moduleRoot(m string) string {
	if i := strings.IndexByte(m, '.'); i >= 0 {
		return m[:i]
	}
	return m
}

func safeModule(m string) bool {
	if safeModuleRoots[moduleRoot(m)] {
		return true
	}
	return m == "tensorflow.keras" || strings.HasPrefix(m, "tensorflow.keras.") ||
		m == "tensorflow.python.keras" || strings.HasPrefix(m, "tensorflow.python.keras.")
}

// checkObject judges one JSON object. It reports whether the object is a
// Lambda layer (its strings are code; the base64 check would only repeat).
//
// Duplicate keys are all judged: Python's json keeps the last, other
// readers the first, and a scanner must not be the one that differs.
func (w *configWalker) checkObject(o jsonObject, path string, inLambda bool) bool {
	lambda := false
	n := 0
	for _, kv := range o {
		if kv.Key == "class_name" {
			if cls, ok := kv.Val.(string); ok {
				n++
				lambda = w.checkClass(o, cls, path, inLambda) || lambda
			}
		}
	}
	if n == 0 {
		lambda = w.checkClass(o, "", path, inLambda)
	}
	return lambda
}

func (w *configWalker) checkClass(o jsonObject, cls, path string, inLambda bool) bool {
	cfg, _ := o.get("config")
	cfgObj, _ := cfg.(jsonObject)
	switch cls {
	case "Lambda":
		// Attack class: a Lambda layer stores its function as a base64
		// marshalled code object (Keras 2: [code, defaults, closure]), as a
		// __lambda__ dict (Keras 3) or as a function name to look up; Keras
		// runs it when the model is built or called.
		fn, _ := cfgObj.get("function")
		w.report("keras/lambda-code", formats.Critical, path,
			"Lambda layer %q carries Python code (%s) that runs when the model is loaded or called", cfgObj.str("name"), describeFunction(fn))
		return true
	case "__lambda__":
		if inLambda {
			return true // the enclosing Lambda layer is already reported
		}
		w.report("keras/lambda-code", formats.Critical, path,
			"a serialized Python lambda (__lambda__) carries marshalled code that runs when the model is loaded or called")
		return true
	case "TorchModuleWrapper":
		// It restores a PyTorch module with torch.load, i.e. a pickle.
		w.report("keras/torch-module", formats.Critical, path,
			"TorchModuleWrapper layer %q restores a PyTorch module by unpickling it: loading runs whatever the pickle says", cfgObj.str("name"))
	case "TFOpLambda", "SlicingOpLambda":
		// tf.keras rebuilds these by looking the "function" name up in the
		// whole TensorFlow API (tf.io.write_file, tf.compat.v1.py_func,
		// tf.raw_ops.*): a config naming a file, process or Python-call op
		// runs it when the model is called.
		if fn := cfgObj.str("function"); dangerousTFOp(fn) {
			w.report("keras/dangerous-tf-op", formats.Critical, path,
				"%s layer %q calls tf.%s, which reads or writes files, loads native code or calls back into Python; it runs when the model is called", cls, cfgObj.str("name"), fn)
		}
	case "TFSMLayer":
		// It loads a TensorFlow SavedModel from a path named in the
		// config: code outside this file, whose graph was not scanned.
		w.report("keras/tfsm-layer", formats.High, path,
			"TFSMLayer %q loads a TensorFlow SavedModel from %q, outside this file; that model's graph is not checked here", cfgObj.str("name"), cfgObj.str("filepath"))
	}
	// Attack class (CVE-2025-12058): a layer argument that names a file
	// (StringLookup/IntegerLookup/TextVectorization vocabulary, a
	// tokenizer's merges or proto) is opened with tf.io.gfile while the
	// layer is built: a local secret, or gs://, hdfs://, http(s) fetches.
	// Keras saves vocabularies inline or as assets, never as a path.
	for _, k := range fileArgs {
		if p, ok := cfgObj.get(k); ok {
			if ps, ok := p.(string); ok && ps != "" {
				w.report("keras/file-path-argument", formats.High, path,
					"%s layer %q takes its %s from the path %q; Keras reads that file (or URL) while the model loads", firstNonEmpty(cls, "a"), cfgObj.str("name"), k, ps)
			}
		}
	}
	if strings.Contains(cls, "get_file") {
		w.report("keras/remote-fetch", formats.High, path,
			"the config calls get_file, which downloads from the network while the model loads")
	}
	if mv, ok := o.get("module"); ok {
		if m, ok := mv.(string); ok && m != "" && cls != "" {
			w.checkModule(m, cls, cfgObj, cfg, path)
		}
	}
	// Keras' own packages register their classes as "keras_hub>GemmaBackbone";
	// only a package outside Keras means code the user must supply.
	if rn := o.str("registered_name"); strings.Contains(rn, ">") && !safeModuleRoots[rn[:strings.IndexByte(rn, '>')]] {
		w.report("keras/custom-object", formats.Medium, path,
			"the config needs the custom object %q, registered by code outside the model; loading fails without it, and loading with it runs that code", rn)
	}
	return false
}

// checkModule applies the module rules (CVE-2025-1550: Keras imports the
// module a config names and instantiates or calls class_name from it).
func (w *configWalker) checkModule(m, cls string, cfgObj jsonObject, cfg any, path string) {
	fn, _ := cfg.(string) // class_name "function": config holds the function name
	switch {
	case safeModule(m):
		// Keras' own helpers that fetch files, load other models or unmarshal
		// code: named as functions they are as good as the CVE-2025-1550
		// imports (get_file is reported by the string check).
		if dangerousKerasFuncs[fn] || dangerousKerasFuncs[cls] {
			w.report("keras/dangerous-module", formats.Critical, path,
				"the config makes Keras call %s.%s, which loads code, another model or files while this model loads", m, firstNonEmpty(fn, cls))
		} else if cls == "function" && !functionHome(m) {
			// Attack class (CVE-2025-1550 / CVE-2025-9905 family): a
			// "function" is looked up by name in whatever Keras module the
			// config names, so a Keras helper that loads a legacy .h5
			// without safe mode (legacy_h5_format.load_model_from_hdf5),
			// extracts archives or fetches files runs while the model is
			// built. Keras saves only activations, losses, metrics,
			// initializers and the like as functions: a function from any
			// other Keras module is not proven safe.
			w.report("keras/unknown-function", formats.High, path,
				"the config makes Keras call the function %s.%s; Keras saves functions only from its activations, losses, metrics, initializers, regularizers, constraints and ops modules, and this one may load files, other models or code", m, fn)
		}
	case m == "builtins":
		if dangerousBuiltins[cls] || dangerousBuiltins[fn] {
			w.report("keras/dangerous-module", formats.Critical, path,
				"the config makes Keras call builtins.%s, which evaluates code or opens files", firstNonEmpty(fn, cls))
		}
	case dangerousModules[moduleRoot(m)]:
		w.report("keras/dangerous-module", formats.Critical, path,
			"the config makes Keras import %s and call %s from it: loading the model runs it (CVE-2025-1550 class)", m, firstNonEmpty(fn, cls))
	default:
		sev := formats.High
		if w.s.Options().Profile == formats.Permissive {
			sev = formats.Medium
		}
		w.report("keras/unknown-module", sev, path,
			"the config makes Keras import the module %q (for %s), which is not part of Keras: loading imports and runs that module's code", m, firstNonEmpty(fn, cls))
	}
	_ = cfgObj
}

// functionHomes are the Keras module names whose functions a saved
// config may name (keras.activations, keras.src.losses.losses,
// keras.ops.nn, tf_keras.initializers ...): pure tensor functions.
var functionHomes = map[string]bool{
	"activations": true, "losses": true, "metrics": true, "initializers": true, "regularizers": true,
	"constraints": true, "ops": true, "backend": true, "random": true, "schedules": true,
	"learning_rate_schedule": true, "nn": true, "numpy": true, "math": true, "linalg": true, "image": true,
}

// functionDenied are Keras module names that hold helpers touching files,
// models or code; a module path through one of them is never a home, even
// if it also says "losses" (keras.src.legacy.saving...).
var functionDenied = map[string]bool{
	"utils": true, "saving": true, "legacy": true, "export": true, "config": true, "models": true,
	"callbacks": true, "applications": true, "datasets": true, "trainers": true, "distribution": true,
}

// functionHome says whether a Keras module may be the home of a function a
// config names: some component is a home and none is denied.
func functionHome(m string) bool {
	home := false
	for _, c := range strings.Split(m, ".")[1:] {
		if functionDenied[c] {
			return false
		}
		home = home || functionHomes[c]
	}
	return home
}

// fileArgs are layer arguments that accept a file path in place of inline
// data (keras.layers StringLookup, IntegerLookup, TextVectorization;
// keras_hub tokenizers' vocabulary, merges and proto).
var fileArgs = []string{"vocabulary", "merges", "proto", "vocabulary_file"}

// dangerousKerasFuncs are Keras functions that unmarshal code (func_load),
// load another model or weights from a path (load_model, load_weights), or
// read files from disk while a config is deserialized.
var dangerousKerasFuncs = map[string]bool{
	"func_load": true, "load_model": true, "load_weights": true, "save_model": true,
	"load_img": true, "enable_unsafe_deserialization": true, "deserialize_keras_object": true,
	"safe_mode_scope": true, "unsafe_deserialization": true,
	// CVE-2025-9905: the legacy HDF5 loader ignores safe mode, so a .keras
	// config that calls it loads a Lambda layer from another file.
	"load_model_from_hdf5": true, "load_weights_from_hdf5_group": true, "extract_archive": true,
}

// dangerousTFOp says whether a TFOpLambda function name (a path in the tf
// namespace, e.g. "io.write_file", "compat.v1.py_func", "raw_ops.WriteFile")
// reaches file, process, native-library or Python-callback operations.
// It judges the last element, so the same op is caught under any alias
// (tf.io.write_file, tf.raw_ops.WriteFile), while tf.io.decode_image and
// other pure tensor ops pass.
func dangerousTFOp(fn string) bool {
	if strings.Contains(fn, "gfile.") {
		return true
	}
	last := fn[strings.LastIndexByte(fn, '.')+1:]
	return dangerousTFOpNames[strings.ToLower(strings.ReplaceAll(last, "_", ""))]
}

// dangerousTFOpNames are tf functions and raw ops (lower case, no
// underscores) that touch files, load native code or call back into Python.
var dangerousTFOpNames = map[string]bool{
	"writefile": true, "readfile": true, "matchingfiles": true, "pyfunction": true, "numpyfunction": true,
	"pyfunc": true, "eagerpyfunc": true, "pyfuncstateless": true, "loadoplibrary": true, "loadlibrary": true,
	"loadfilesystemplugin": true, "registerfilesystemplugin": true, "savev2": true, "restorev2": true,
	"mergev2checkpoints": true, "deleterecursively": true, "writeimagesummary": true,
	"createsummaryfilewriter": true,
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func describeFunction(fn any) string {
	switch f := fn.(type) {
	case string:
		if len(f) > 80 {
			f = f[:80] + "…"
		}
		return fmt.Sprintf("%q", f)
	case []any:
		if len(f) > 0 {
			if s, ok := f[0].(string); ok && isBase64Code(s) {
				return "a base64 marshalled code object"
			}
		}
		return "a serialized function"
	case jsonObject:
		if f.str("class_name") == "__lambda__" {
			return "a __lambda__ code object"
		}
		return fmt.Sprintf("a reference to %s.%s", f.str("module"), firstNonEmpty(f.str("config"), f.str("class_name")))
	case nil:
		return "no function given"
	}
	return "a function"
}

func isBase64Code(s string) bool {
	return looksLikeCode(decodeBase64(s, 64))
}

// looksLikeCode reports whether b starts like a marshalled code object:
// the type byte 'c' (0x63, or 0xe3 with the reference flag) followed by
// small little-endian int32 counts (argcount, posonly/kwonly argcount).
// The counts keep random base64-looking names from matching by chance.
func looksLikeCode(b []byte) bool {
	return len(b) >= 16 && (b[0] == 0xe3 || b[0] == 0x63) &&
		b[2] == 0 && b[3] == 0 && b[4] == 0 && b[6] == 0 && b[7] == 0 && b[8] == 0
}

// decodeBase64 decodes s (standard or URL alphabet, padded or not, with
// line breaks) up to limit output bytes; nil if it is not base64.
func decodeBase64(s string, limit int) []byte {
	s = strings.NewReplacer("\n", "", "\r", "").Replace(s)
	if len(s) < minBlob {
		return nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_' || c == '=') {
			return nil
		}
	}
	if n := limit / 3 * 4; len(s) > n && n > 0 {
		s = s[:n]
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	s = strings.TrimRight(s, "=")
	if len(s)%4 == 1 {
		s = s[:len(s)-1] // a dangling sextet encodes no byte
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil
	}
	return b
}

// checkString looks inside one config string. Attack class: code or a
// pickle hidden as a base64 blob in any config value, which a custom layer
// (or a Lambda) decodes and runs.
func (w *configWalker) checkString(v, path string, inLambda bool) {
	if strings.Contains(v, "enable_unsafe_deserialization") {
		w.report("keras/unsafe-deserialization", formats.Critical, path,
			"the config names enable_unsafe_deserialization, which turns off Keras safe mode so Lambda code and arbitrary objects load")
	}
	// Attack class: keras.utils.get_file named as a function (Keras 3
	// {"module": "keras.utils", "class_name": "function", "config":
	// "get_file"}) downloads from the network while the model loads.
	if v == "get_file" || strings.HasSuffix(v, ".get_file") {
		w.report("keras/remote-fetch", formats.High, path,
			"the config names get_file (%q), which downloads from the network while the model loads", v)
	}
	if len(v) < minBlob {
		return
	}
	b := decodeBase64(v, maxDecoded)
	if len(b) < 8 {
		return
	}
	switch {
	case looksLikeCode(b):
		if inLambda {
			return // already reported as the Lambda's code
		}
		w.report("keras/marshal-code", formats.Critical, path,
			"a config string is a base64 marshalled Python code object (%d bytes); whatever decodes it runs attacker-chosen bytecode", len(b))
	case b[0] == 0x80 && b[1] >= 1 && b[1] <= 5:
		w.report("keras/embedded-pickle", formats.Medium, path,
			"a config string is a base64 pickle (protocol %d, %d bytes); it is scanned below", b[1], len(b))
		if w.members < maxEmbedded {
			w.members++
			w.s.ScanMember(w.doc+"#"+path+".pkl", bytes.NewReader(b), int64(len(b)))
		}
	}
}
