// Package hydra judges configs that a Hydra-style loader instantiates:
// hydra.utils.instantiate, NeMo's restore (OmegaConf + instantiate) and
// LightningCLI/jsonargparse import the dotted path under _target_ (or
// class_path) and call it with the rest of the mapping as arguments
// (CVE-2025-23304 class). The path is judged by what it resolves to, with
// the pickle import policy, never by string equality: Hydra >= 1.3.4's
// blocklist is bypassed by aliases (os.path.os.system, posixpath.os.system,
// timeit.timeit), and every one of those resolves through a denied module.
package hydra

import (
	"strings"
	"unicode"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/pickle"
)

// TargetKeys are the keys whose string value a loader imports and calls.
// _target_: hydra.utils.instantiate / hydra.utils.call (Hydra, NeMo,
// OmegaConf-based trainers). class_path: jsonargparse / LightningCLI.
var TargetKeys = map[string]bool{"_target_": true, "class_path": true}

// safePackages are the packages whose classes real configs instantiate and
// whose constructors take tensors and hyper-parameters, never code or
// paths to code. Only a class (the last component starts with an upper-
// case letter) is safe: a function or a classmethod of the same package
// (AutoModel.from_pretrained, ASRModel.restore_from) can fetch or unpickle
// other models and stays unknown. Sources:
//   - torch.nn / torch.optim / torch.utils.data: PyTorch layers, optimizers,
//     schedulers and samplers, as NeMo and Lightning configs name them;
//   - nemo.collections / nemo.core / nemo.lightning: NeMo's model, module,
//     loss, metric, tokenizer, dataset, optimizer and callback classes
//     (examples/*/conf/*.yaml in NVIDIA/NeMo, model_config.yaml of the
//     published .nemo files); nemo_text_processing: the text normalizer
//     TTS model configs instantiate;
//   - transformers: model and config classes (PreTrainedModel subclasses);
//   - speechbrain, sentencepiece: the lobes, features, encoders,
//     tokenizers and Pretrainer that SpeechBrain's hyperparams.yaml files
//     construct (!new:);
//   - fiddle: the Config/Partial containers NeMo 2's context/io.json is
//     made of (the function or class they build is a reference of its own);
//   - lightning / pytorch_lightning / torchmetrics / torchaudio.transforms /
//     torchvision.transforms / megatron.core: callbacks, metrics and
//     transforms in LightningCLI and NeMo configs.
var safePackages = []string{
	"torch.nn.", "torch.optim.", "torch.utils.data.",
	"nemo.collections.", "nemo.core.", "nemo.lightning.", "nemo_text_processing.",
	"transformers.",
	"lightning.pytorch.", "pytorch_lightning.", "torchmetrics.", "speechbrain.", "sentencepiece.",
	"torchaudio.transforms.", "torchvision.transforms.", "megatron.core.",
	"fiddle.", "fiddle._src.", "lightning.fabric.",
}

// safeFunctions are packages whose functions (not only classes) are pure
// tensor maths, named as activations and initializers in configs
// (Megatron's activation_func: torch.nn.functional.gelu).
var safeFunctions = []string{"torch.nn.functional.", "torch.nn.init.",
	// the C implementations behind torch.nn.functional, which NeMo 2
	// checkpoints (context/model.yaml) reference as activation_func
	"torch._C._nn."}

// safeFactories are single functions that build a model from their
// arguments: NeMo's transformer factory (Canary's transf_decoder).
var safeFactories = map[string]bool{"nemo.collections.asr.modules.transformer.get_nemo_transformer": true,
	// SpeechBrain recipes seed the RNG (!apply:torch.manual_seed,
	// !apply:speechbrain.utils.seed_everything) and pick values with
	// !apply:speechbrain.utils.hparams.choice: pure functions.
	"torch.manual_seed": true, "speechbrain.utils.seed_everything": true, "speechbrain.utils.hparams.choice": true,
	// SpeechBrain's G2P recipes build their character maps with these
	// (speechbrain/lobes/models/g2p/dataio.py, model.py): dict and
	// arithmetic helpers; lazy_init and char_map_detokenize wrap the
	// callables they are given, which are tags judged on their own.
	"speechbrain.lobes.models.g2p.dataio.build_token_char_map": true, "speechbrain.lobes.models.g2p.dataio.flip_map": true,
	"speechbrain.lobes.models.g2p.dataio.lazy_init": true, "speechbrain.lobes.models.g2p.dataio.char_map_detokenize": true,
	"speechbrain.lobes.models.g2p.model.input_dim": true}

// pureFunctions are functions of a module as a whole that are safe to call
// with any arguments a config can give: ATen tensor operators that
// SpeechBrain and NeMo configs pass as window functions and reductions
// (!name:torch.hamming_window, !name:torch.sum: each takes numbers or
// tensors and returns a tensor; torch's top-level namespace as a whole is
// not safe, it also holds import_ir_module and set_default_tensor_type,
// which load code or import by name), and Python's operator functions
// that compute on their arguments (operator.not_ in SpeechBrain's
// !apply: conditions), never attrgetter, methodcaller or call.
var pureFunctions = map[string]map[string]bool{
	"torch": set(`hamming_window hann_window blackman_window bartlett_window kaiser_window
		sum mean prod amax amin max min abs exp log sqrt tanh sigmoid relu cat stack`),
	"operator": set(`not_ truth is_ is_not eq ne lt le gt ge add sub mul truediv floordiv mod pow neg pos
		and_ or_ xor invert contains index concat getitem`),
}

func set(names string) map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(names) {
		m[n] = true
	}
	return m
}

// reentry are Hydra's and OmegaConf's own entry points: naming them as a
// target instantiates, calls or imports whatever their arguments say, so
// the config escapes any judgement of its _target_ values.
var reentry = map[string]bool{
	"hydra.utils.instantiate": true, "hydra.utils.call": true, "hydra.utils.get_method": true,
	"hydra.utils.get_class": true, "hydra.utils.get_object": true, "hydra._internal.utils._locate": true,
	"hydra._internal.instantiate._instantiate2.instantiate": true, "omegaconf.OmegaConf.load": true,
	"omegaconf.OmegaConf.register_new_resolver": true,
}

// Verdict is the judgement of one target.
type Verdict int

const (
	Safe Verdict = iota
	Unknown
	Dangerous
	Computed // an interpolation: resolved at load time
	// Invalid is a value no loader can resolve (spaces, "from x.y"):
	// _locate fails before importing anything.
	Invalid
	// Bare is a single name: _locate imports a top-level module of that
	// name and returns the module (not callable); only its import runs.
	Bare
)

// Judge classifies a dotted target path. It is dangerous when any split
// into module and attribute path reaches a denied module or attribute
// (Hydra's _locate imports the longest importable prefix and getattr's
// the rest, so every split is a way the loader may resolve it).
func Judge(target string, opts *formats.Options) Verdict {
	t := strings.TrimSpace(target)
	if strings.Contains(t, "${") {
		// An OmegaConf interpolation or resolver (${oc.env:X}, ${..x})
		// is computed when the config is loaded.
		return Computed
	}
	if reentry[t] || isDangerous(t, opts) {
		return Dangerous
	}
	if !pythonPath(t) {
		return Invalid
	}
	if safeTarget(t) {
		return Safe
	}
	if !strings.Contains(t, ".") {
		return Bare
	}
	return Unknown
}

// pythonPath reports whether s is a dotted path of Python identifiers,
// private ones included: what importlib and getattr can resolve.
func pythonPath(s string) bool {
	for _, c := range strings.Split(s, ".") {
		if c == "" {
			return false
		}
		for i, r := range c {
			if !(r == '_' || unicode.IsLetter(r) || i > 0 && unicode.IsDigit(r)) {
				return false
			}
		}
	}
	return true
}

// constantModules are modules in which every upper-case name is a plain
// value (a string, number, flag, list or compiled pattern), never a
// function: a reference to one hands the program that value, and nothing
// is called. huggingface_hub/constants.py (HUGGINGFACE_HUB_CACHE, HF_HOME,
// ENDPOINT...; its functions and imported modules, _is_true, os, re,
// typing, are lower-case), which SpeechBrain recipes reference as
// cache_folder: !name:huggingface_hub.constants.HUGGINGFACE_HUB_CACHE. The
// module as a whole stays denied (hf_hub_download and friends fetch code).
var constantModules = map[string]bool{"huggingface_hub.constants": true}

// constantName reports whether n is an upper-case Python constant name.
func constantName(n string) bool {
	if n == "" || n[0] < 'A' || n[0] > 'Z' {
		return false
	}
	for _, r := range n {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// JudgeClass classifies a target the loader calls only once it has
// checked that it is a class: HyperPyYAML's !new: (hyperpyyaml/core.py,
// _construct_object: pydoc.locate, then "if not inspect.isclass(callable_):
// raise ValueError" before the call). A function or classmethod of a safe
// package (from_pretrained) is refused there, so any name under a safe
// package is safe, lower-case class names (mBART) included.
func JudgeClass(target string, opts *formats.Options) Verdict {
	v := Judge(target, opts)
	if v != Unknown {
		return v
	}
	t := strings.TrimSpace(target)
	for _, p := range safePackages {
		if rest, ok := strings.CutPrefix(t, p); ok && identPath(rest) {
			return Safe
		}
	}
	return Unknown
}

// JudgeReference classifies a target that is located but not called
// (NeMo 2's "_call_: false": the object itself is the value, e.g. an
// activation function or a dtype). Dangerous is judged as for calls, since
// the model calls what it was handed; beyond the safe classes, any
// function of the safe packages and the inert values of the pickle
// policy's safe list (torch.float32) are safe.
func JudgeReference(target string, opts *formats.Options) Verdict {
	if i := strings.LastIndexByte(target, '.'); i > 0 && constantModules[target[:i]] && constantName(target[i+1:]) {
		return Safe
	}
	v := Judge(target, opts)
	if v != Unknown {
		return v
	}
	t := strings.TrimSpace(target)
	for _, p := range safePackages {
		if rest, ok := strings.CutPrefix(t, p); ok && identPath(rest) {
			return Safe
		}
	}
	if i := strings.LastIndexByte(t, '.'); i > 0 && policy(t[:i], t[i+1:], nil) == pickle.Safe {
		return Safe
	}
	return Unknown
}

// policy is the one coupling to the pickle import policy (its exported
// Classify, whatever tables stand behind it).
func policy(module, name string, opts *formats.Options) pickle.Verdict {
	return pickle.Classify(module, name, opts)
}

// isDangerous reports whether any module/attribute split of t reaches a
// denied module or attribute.
func isDangerous(t string, opts *formats.Options) bool {
	parts := strings.Split(t, ".")
	if len(parts) == 1 {
		// A builtin (eval) or a denied module imported by name (antigravity).
		return policy("builtins", t, opts) == pickle.Dangerous || policy(t, "x", opts) == pickle.Dangerous
	}
	for i := 1; i < len(parts); i++ {
		if policy(strings.Join(parts[:i], "."), strings.Join(parts[i:], "."), opts) == pickle.Dangerous {
			return true
		}
	}
	return false
}

func safeTarget(t string) bool {
	if safeFactories[t] {
		return true
	}
	if i := strings.LastIndexByte(t, '.'); i > 0 && pureFunctions[t[:i]][t[i+1:]] {
		return true
	}
	for _, p := range safeFunctions {
		if strings.HasPrefix(t, p) && identPath(t[len(p):]) {
			return true
		}
	}
	for _, p := range safePackages {
		rest, ok := strings.CutPrefix(t, p)
		if !ok || !identPath(rest) {
			continue
		}
		last := rest[strings.LastIndexByte(rest, '.')+1:]
		r := []rune(last)
		if len(r) > 0 && unicode.IsUpper(r[0]) {
			return true
		}
	}
	return false
}

// identPath reports whether s is a dotted path of Python identifiers with
// no private or dunder component (_locate walks __globals__ and friends
// just as happily as public names).
func identPath(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range strings.Split(s, ".") {
		if c == "" || strings.HasPrefix(c, "_") {
			return false
		}
		for i, r := range c {
			if !(r == '_' || unicode.IsLetter(r) || i > 0 && unicode.IsDigit(r)) {
				return false
			}
		}
	}
	return true
}
