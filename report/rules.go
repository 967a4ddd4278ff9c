package report

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"

	"github.com/modelvet/modelvet/formats"
)

// RuleInfo is what the catalogue says about one rule: the words a
// code-scanning dashboard shows beside an alert.
type RuleInfo struct {
	ID       string
	Short    string           // one line
	Full     string           // the class of attack the family of rules stops
	Help     string           // what to do about it
	HelpURI  string           // where it is documented
	Severity formats.Severity // the usual severity; a finding may be higher or lower
	Known    bool             // false: a generic entry for a rule not in the catalogue
}

// InformationURI is the project's home, written into SARIF.
const InformationURI = "https://github.com/modelvet/modelvet"

// rulesDoc documents every rule family; the catalogue's help URIs point
// into it.
const rulesDoc = InformationURI + "/blob/main/docs/rules.md"

//go:embed rules.txt
var rulesTable string

// family is what every rule of one prefix shares.
type family struct{ full, help string }

// families describe each rule prefix: the class of attack, and what a user
// does about a finding. Kept beside rules.txt; TestCatalogueCoversEmittedRules
// fails when a prefix has no entry.
var families = map[string]family{
	"coreml": {"Core ML models (.mlmodel, .mlpackage) are walked as protobuf without loading them. Custom models and layers run the application's own native code, linked models load other files by path, and fields Core ML does not define let another reader (ONNX) see a different model in the same bytes.",
		"Re-export the model with coremltools without custom layers or models; keep linked models inside the package, or obtain the model from its publisher again."},
	"executorch": {"ExecuTorch programs (.pte) are FlatBuffers the runtime reads in place. Broken offsets and segments outside the file are how out-of-bounds reads are delivered, and custom operators and unknown delegates hand the program to native code that is not in it.",
		"Re-export the program with a current ExecuTorch release using only its own kernels and backends, or obtain it from its publisher again."},
	"flax": {"Flax checkpoints are msgpack with ndarray extensions, restored by Flax's msgpack hooks. Broken payloads, extension types Flax never writes and non-numeric dtypes make the restore misread the data or build something other than arrays.",
		"Re-save the checkpoint with flax.serialization from trusted parameters, or convert it to safetensors."},
	"ggml": {"Legacy ggml, ggmf and ggjt files (pre-GGUF llama.cpp, whisper.cpp) are walked as their C loaders walk them, with every count and length checked. Versions no loader wrote and counts that overrun the file are how memory-corruption exploits reach C loaders.",
		"Re-convert the model to GGUF with a current llama.cpp (or whisper.cpp) release, or obtain it from its publisher again."},
	"hydra": {"Hydra / OmegaConf configs (NeMo, and other frameworks that call hydra.utils.instantiate) name classes and functions (_target_) that are imported and called when the config is used. Configs that parse differently in different readers, or interpolations that an eval resolver runs as Python, hide what gets run.",
		"Review every _target_ and interpolation before instantiating the config; rewrite it as a single YAML document without duplicate keys or eval resolvers."},
	"lightgbm": {"LightGBM text models are read line by line as LightGBM reads them; a model whose declared tree sizes, JSON fields or lines do not add up is truncated or forged, and a loader may misread it; a tree whose child, leaf, feature or category indices leave its arrays sends the C++ predictor, which checks none of them, out of bounds or into an endless walk.",
		"Re-save the model with LightGBM's save_model, or obtain it from its publisher again."},
	"mlflow": {"MLflow models (MLmodel and its flavors) are loaded by importing the modules and unpickling the files the MLmodel names: a custom loader_module, a pickled PythonModel or shipped code paths run on load, artifact paths may leave the folder, and the environment files make pip install from any source.",
		"Review the code and pickles the MLmodel names before loading; use a built-in flavor with artifacts inside the folder and pinned dependencies from your package index."},
	"openvino": {"OpenVINO IR models (.xml plus .bin weights) are parsed without loading them. Custom layers and GPU custom kernels run native or OpenCL code outside OpenVINO, and Const layers that read past the weights file or XML directives are forged or mis-read models.",
		"Re-convert the model with OpenVINO's model conversion using only built-in opsets, and keep its .bin beside it; load extensions only from trusted sources."},
	"ort": {"ONNX Runtime's own format (.ort) is the ONNX graph stored as a FlatBuffer that onnxruntime reads in place; a broken buffer makes it read outside the file. Its operator domains are judged by the onnx rules.",
		"Re-convert the model from ONNX with onnxruntime's convert_onnx_models_to_ort, or obtain it from its publisher again."},
	"paddle": {"PaddlePaddle models (ProgramDesc protobuf or Paddle 3 PIR JSON, plus LoDTensor parameter files) are read without loading them; structures and parameter sizes that do not add up make a loader trusting them read out of bounds, and operators that read or write files, call Python, serve the network or come from custom operator libraries reach outside the model.",
		"Re-save the model with paddle.jit.save / paddle.static.save_inference_model, or obtain it from its publisher again."},
	"skops": {"skops files are zips whose schema.json names every type to construct; skops.io.load builds only trusted types. A schema that cannot be read or is inconsistent leaves the object tree, and so the types it would construct, unchecked.",
		"Re-save the model with skops.io.dump from a trusted object, or obtain it from its publisher again."},
	"tensorrt": {"TensorRT engines (.engine, .plan) are compiled GPU code for one GPU and TensorRT version; deserializing one runs the builder's kernels, plugin layers and serialized plugin libraries, none of which can be inspected.",
		"Rebuild the engine yourself from the ONNX model with trtexec or the TensorRT builder; load engines only from builds you trust."},
	"tfjs": {"TensorFlow.js models (model.json plus binary weight shards) are read as tfjs reads them. Shard paths that leave the folder make tfjs-node read a file the publisher did not ship, and missing or mis-sized shards are truncated or altered models.",
		"Keep every weight shard beside model.json under a plain relative name; re-export the model with the tensorflowjs converter if the shards do not match."},
	"tflite": {"TensorFlow Lite models (.tflite) are FlatBuffers the interpreter maps in place. Broken offsets or buffers past the end of the file are how out-of-bounds reads are delivered, and custom and Flex operators run native or full TensorFlow kernels outside the TFLite builtins.",
		"Re-convert the model with the TFLite converter using builtin operators only; do not enable the Flex delegate for untrusted models."},
	"torchserve": {"TorchServe model archives (.mar) run code by design: the handler, code members extracted onto its import path, and requirements pip installs. The manifest says which; an archive whose manifest cannot be read or names missing files cannot be judged.",
		"Review the handler and every code file before serving; prefer a built-in handler, and keep install_py_dep_per_model off for archives you did not build."},
	"xgboost": {"XGBoost JSON and UBJSON models are parsed within a size limit; a document that does not parse or lacks XGBoost's learner and version cannot be shown to be the model XGBoost would load.",
		"Re-save the model with XGBoost's save_model (JSON or UBJSON), or obtain it from its publisher again."},
	"archive": {"Archives (zip, tar, 7z) are read member by member without extracting them. A container two readers see differently (central directory vs local headers, duplicate or overlapping members), an encrypted member, or one that expands beyond the caps hides what a loader would actually read.",
		"Re-create the archive with a standard tool from trusted contents, or obtain the model from its publisher again."},
	"formats": {"Every file is sniffed by content and analyzed without being loaded. A file that cannot be recognized, read or analyzed cannot be shown safe, and content that disagrees with the extension is a classic way to slip a pickle past a loader.",
		"Check what the file really is. Remove files the model does not need; rename a file whose extension lies."},
	"fs": {"The model folder is walked without following links out of it and without opening special files. Links that escape, names that mean different files on Windows, and unreadable parts let a loader read something the scan did not.",
		"Remove the link or special file, rename the file, or fix permissions so the whole folder can be read."},
	"gguf": {"GGUF files are parsed with every count and length checked before allocation. Inconsistent or out-of-range structures crash or confuse native loaders (llama.cpp and friends) and are how memory-corruption exploits are delivered.",
		"Re-convert the model with a current llama.cpp release, or obtain it from its publisher again."},
	"hf": {"Hugging Face folders and caches: Python files and auto_map entries run under trust_remote_code, and cache blobs are named by their hash so tampering shows.",
		"Review any Python the model ships before loading it with trust_remote_code; re-download cache entries whose blobs do not match."},
	"joblib": {"joblib dumps are pickles with inline NumPy arrays; they are read exactly as joblib reads them.",
		"Prefer a format that holds no code (safetensors, ONNX); load joblib files only from trusted sources."},
	"keras": {"Keras and TensorFlow models: Lambda layers carry Python bytecode, and configs can name arbitrary modules or unsafe deserialization (CVE-2025-1550 family).",
		"Re-save the model without Lambda layers or custom objects, and load it with safe_mode=True."},
	"modelcard": {"Model cards (README.md front matter) declare the model's licence, which the ML-BOM reports. Nothing there is loaded, but metadata that cannot be read, or that says two things, leaves the licence unknown or ambiguous.",
		"Fix the card's YAML front matter so it parses and gives license (and license_name / license_link for a custom licence) once."},
	"numpy": {"NumPy .npy/.npz files: the header is parsed as a literal, never evaluated; object arrays are pickles.",
		"Save numeric arrays without allow_pickle; do not load object arrays from untrusted sources."},
	"oci": {"Model artifacts in OCI registries are pulled by digest and unpacked the way their tooling names them (ModelPack, KitOps, Docker Model Runner, Ollama, ORAS titles). A manifest that two clients read differently, or layer names that climb out of the folder or collide, make what a runtime loads differ from what was checked.",
		"Re-push the artifact with one layer per file under a plain relative name; sign it with cosign under the key, CA or identity the policy trusts."},
	"onnx": {"ONNX models are walked as protobuf without unmarshalling; external data may point anywhere on disk and custom domains need native code.",
		"Keep external data files inside the model folder and load only operator domains you trust."},
	"pickle": {"Pickles (PyTorch .bin/.pt, joblib, NumPy object arrays) are programs: every global they import can run code when loaded. Each opcode is read symbolically; nothing is imported.",
		"Do not load the file. Convert trusted weights to safetensors; if the import is harmless and you trust the model, list it in the policy's scan.allow_imports (or the allow option of modelvet scan)."},
	"policy": {"The admission policy's own checks: allowed formats, a model at all, its signature, its provenance, and for a registry artifact its cosign signature (oci.signature).",
		"Fix the model or its signature and provenance, or change the policy if the requirement is wrong."},
	"provenance": {"in-toto/SLSA provenance binds a model to the build that made it.",
		"Obtain a provenance attestation about this exact model from a trusted builder."},
	"pytorch": {"PyTorch checkpoints (zip, legacy and TorchScript) are pickles plus tensor storages; every pickle is scanned and storages checked against it.",
		"Convert trusted weights to safetensors; load with torch.load(weights_only=True)."},
	"safetensors": {"safetensors files are parsed strictly: one header, exact sizes, nothing hidden after the tensors. Ambiguous headers make two parsers see different tensors.",
		"Re-save the weights with the reference safetensors library; remove pickle weights that sit beside safetensors."},
	"shard-index": {"Sharded weights are loaded through an index (model.safetensors.index.json) naming which shard holds each tensor. An index that points outside the folder, or shards that hold other tensors than it says, make the loaded model differ from the reviewed one.",
		"Regenerate the index and shards with the framework's save_pretrained, or obtain the model from its publisher again."},
	"compressed": {"Compressed payloads (joblib's zlib, gzip, bz2, xz, lzma, lz4) are inflated within a budget and scanned; a stream that cannot be inflated, or that expands without bound, hides what the loader would read.",
		"Re-save the file uncompressed or with a standard compressor from trusted contents."},
	"pmml": {"PMML models are XML; a DTD can declare external entities that Java XML readers resolve, reading local files or URLs into the model (XXE), or expand without bound, and an Apply naming a Java class makes JPMML load and instantiate that class.",
		"Re-export the model without a DOCTYPE or Java user functions; load PMML with entity resolution disabled."},
	"signature": {"OpenSSF Model Signing: every file of the model must match its signed digest.",
		"Re-sign the model after a legitimate change, or restore the signed files."},
	"template": {"Chat templates (Jinja) are rendered by the loader; sandbox escapes run code in the process. Templates are analyzed, never rendered (CVE-2024-34359 family).",
		"Replace the chat template with the publisher's original or a reviewed one."},
	"tf": {"TensorFlow SavedModels can run Python and touch files and the network through ops.",
		"Load SavedModels only from trusted sources; prefer a format without ops that reach the host."},
	"yaml": {"YAML Python tags construct arbitrary objects when loaded with an unsafe loader.",
		"Remove the tag; load YAML with a safe loader."},
}

var catalogue = parseCatalogue(rulesTable)

func parseCatalogue(table string) map[string]RuleInfo {
	out := map[string]RuleInfo{}
	for i, line := range strings.Split(table, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.SplitN(line, "|", 3)
		if len(parts) != 3 {
			panic(fmt.Sprintf("report/rules.txt:%d: want rule|severity|description", i+1))
		}
		sev, err := formats.ParseSeverity(parts[1])
		if err != nil {
			panic(fmt.Sprintf("report/rules.txt:%d: %v", i+1, err))
		}
		info := generic(parts[0], sev)
		info.Short, info.Known = parts[2], true
		out[parts[0]] = info
	}
	return out
}

// generic describes a rule from its family alone.
func generic(id string, sev formats.Severity) RuleInfo {
	prefix, name, _ := strings.Cut(id, "/")
	f, ok := families[prefix]
	if !ok {
		f = family{"A modelvet finding.", "See the finding's message for what was found and what to do."}
	}
	return RuleInfo{ID: id, Short: prefix + ": " + strings.ReplaceAll(name, "-", " "), Full: f.full, Help: f.help,
		HelpURI: rulesDoc + "#" + prefix, Severity: sev}
}

// Rule returns the catalogue entry for id. A rule not in the catalogue
// (added since) gets a generic entry from its family, with sev as its
// severity, so a report never lacks a description.
func Rule(id string, sev formats.Severity) RuleInfo {
	if r, ok := catalogue[id]; ok {
		return r
	}
	return generic(id, sev)
}

// Rules lists the catalogue, sorted by rule name.
func Rules() []RuleInfo {
	out := make([]RuleInfo, 0, len(catalogue))
	for _, r := range catalogue {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// securitySeverity maps the severity scale onto GitHub's 0-10 scale
// (critical > 9, high 7-8.9, medium 4-6.9, low < 4).
func securitySeverity(s formats.Severity) string {
	switch s {
	case formats.Critical:
		return "9.5"
	case formats.High:
		return "8.0"
	case formats.Medium:
		return "5.5"
	case formats.Low:
		return "3.0"
	}
	return "1.0"
}
