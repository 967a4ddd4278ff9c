package hf

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const realConfig = `{"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":4096,"torch_dtype":"bfloat16","rope_scaling":null,"vocab_size":32000}`
const realTokConfig = `{"add_bos_token":true,"bos_token":"<s>","chat_template":"{% for message in messages %}{{ '<|' + message['role'] + '|>\n' + message['content'] + eos_token }}{% endfor %}","model_max_length":2048,"tokenizer_class":"LlamaTokenizer"}`

func TestRealFolder(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "config.json", realConfig)
	write(t, dir, "tokenizer_config.json", realTokConfig)
	write(t, dir, "generation_config.json", `{"bos_token_id":1,"eos_token_id":2}`)
	write(t, dir, "tokenizer.json", `{"model":{"vocab":{"{{":1,"{%":2,"a":3},"merges":["{ {","{ %"]},"added_tokens":[{"content":"{{"}]}`)
	write(t, dir, "chat_template.jinja", "{% for m in messages %}{{ m.content }}{% endfor %}")
	write(t, dir, "special_tokens_map.json", `{"bos_token":{"content":"<s>"}}`)
	// sentence-transformers layout: modules.json is a JSON list.
	write(t, dir, "modules.json", `[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},{"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"}]`)
	res := formatstest.ScanDir(t, false, dir)
	if r := formatstest.ResultRules(res, formats.Medium); len(r) > 0 {
		t.Errorf("real folder flagged:%s", formatstest.DescribeResult(res))
	}
}

func TestAttacks(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		rule  string
		sev   formats.Severity
	}{
		{"auto_map in config", map[string]string{"config.json": `{"auto_map":{"AutoModelForCausalLM":"modeling_evil.EvilModel"}}`, "modeling_evil.py": "import os"}, "hf/remote-code", formats.High},
		{"auto_map from another repository", map[string]string{"config.json": `{"auto_map":{"AutoConfig":"attacker/repo--configuration_x.XConfig"}}`}, "hf/remote-code", formats.High},
		{"tokenizer auto_map list", map[string]string{"tokenizer_config.json": `{"auto_map":{"AutoTokenizer":["tokenization_x.XTokenizer",null]}}`}, "hf/remote-code", formats.High},
		{"python file beside weights", map[string]string{"config.json": realConfig, "setup_helpers.py": "print(1)"}, "hf/remote-code", formats.High},
		{"chat_template escape", map[string]string{"tokenizer_config.json": `{"chat_template":"{{ ''.__class__.__mro__[1].__subclasses__() }}"}`}, "template/sandbox-escape", formats.Critical},
		{"named chat_template list", map[string]string{"tokenizer_config.json": `{"chat_template":[{"name":"default","template":"{{ m }}"},{"name":"tool_use","template":"{{ cycler.__init__.__globals__ }}"}]}`}, "template/sandbox-escape", formats.Critical},
		{"chat_template.json", map[string]string{"chat_template.json": `{"chat_template":"{{ lipsum.__globals__['os'] }}"}`}, "template/sandbox-escape", formats.Critical},
		{"chat_template.jinja", map[string]string{"chat_template.jinja": `{{ self._TemplateReference__context }}`}, "template/sandbox-escape", formats.Critical},
		{"duplicate chat_template key", map[string]string{"tokenizer_config.json": `{"chat_template":"{{ a }}","chat_template":"{{ b }}"}`}, "hf/duplicate-key", formats.High},
		{"template under another key", map[string]string{"tokenizer_config.json": `{"custom_chat_template":"{{ config.__class__ }}"}`}, "template/sandbox-escape", formats.Critical},
		{"payload in a non-template value", map[string]string{"config.json": `{"note":"{{ cycler.__init__.__globals__.os.system('id') }}"}`}, "template/sandbox-escape", formats.Critical},
		{"custom pipeline implementation", map[string]string{"config.json": `{"architectures":["X"],"custom_pipelines":{"text-classification":{"impl":"pipe.MyPipeline","pt":["AutoModelForSequenceClassification"]}}}`}, "hf/remote-code", formats.High},
		{"sentence-transformers module outside the library", map[string]string{"modules.json": `[{"idx":0,"name":"0","path":"","type":"torch.jit"}]`}, "hf/remote-code", formats.High},
		{"sentence-transformers re-export of torch under the library's name", map[string]string{"modules.json": `[{"idx":0,"name":"0","path":"w.pt","type":"sentence_transformers.util.torch"}]`}, "hf/remote-code", formats.High},
		{"sentence-transformers stage loaded from outside the folder", map[string]string{"modules.json": `[{"idx":0,"name":"0","path":"../../../tmp/unscanned","type":"sentence_transformers.models.Transformer"}]`}, "hf/module-path-escape", formats.Critical},
		{"sentence-transformers stage at an absolute path", map[string]string{"modules.json": `[{"idx":0,"name":"0","path":"/srv/other-model","type":"sentence_transformers.models.Transformer"}]`}, "hf/module-path-escape", formats.Critical},
		{"tokenizer_config chat_template list with assembled name", map[string]string{"tokenizer_config.json": `{"chat_template":[{"name":"default","template":"{{ m }}"},{"name":"rag","template":"{% set u = '_'*2 %}{{ x[u~'globals'~u] }}"}]}`}, "template/sandbox-escape", formats.Critical},
		{"processor_config auto_map", map[string]string{"processor_config.json": `{"auto_map":{"AutoProcessor":"processing_x.XProcessor"},"processor_class":"XProcessor"}`}, "hf/remote-code", formats.High},
		{"python in a subfolder of a model", map[string]string{"config.json": realConfig, "layers/attention.py": "import os"}, "hf/remote-code", formats.High},
		{"diffusers component code", map[string]string{"model_index.json": `{"_class_name":"StableDiffusionPipeline"}`, "unet/config.json": `{"_class_name":"UNet2DConditionModel"}`, "unet/my_unet.py": "import os"}, "hf/remote-code", formats.High},
		// llama-cpp-python's server joins a chat_template list of lines
		// into one template: an attribute name split over lines is whole
		// only there.
		{"chat_template lines joining into an escape", map[string]string{"config.json": `{"model":{"chat_template":["{{ cycler.__in","it__.__glo","bals__.os.popen('id').read() }}"]}}`}, "template/sandbox-escape", formats.Critical},
		{"top-level chat_template lines joining into an escape", map[string]string{"tokenizer_config.json": `{"chat_template":["{{ lipsum.__glo","bals__['os'].popen('id').read() }}"]}`}, "template/sandbox-escape", formats.Critical},
		{"yaml chat_template", map[string]string{"serve.yaml": "chat_template: \"{{ config.__class__.__init__.__globals__['os'] }}\"\n"}, "template/sandbox-escape", formats.Critical},
		// Loader configs naming a module to import (formats/hf/loaders.go).
		{"diffusers component from an unknown library", map[string]string{"model_index.json": `{"_class_name":"StableDiffusionPipeline","unet":["my_unet","EvilUNet"]}`}, "hf/remote-code", formats.High},
		{"diffusers custom pipeline class", map[string]string{"model_index.json": `{"_class_name":["pipeline_evil","EvilPipeline"]}`}, "hf/remote-code", formats.High},
		{"PEFT auto_mapping parent_library", map[string]string{"adapter_config.json": `{"peft_type":"LORA","auto_mapping":{"base_model_class":"X","parent_library":"evil_module"}}`}, "hf/remote-code", formats.High},
		{"PEFT auto_mapping trust_remote_code module", map[string]string{"adapter_config.json": `{"auto_mapping":{"base_model_class":"X","parent_library":"transformers_modules.repo.modeling_x"}}`}, "hf/remote-code", formats.High},
		{"sentence-transformers Router type", map[string]string{"modules.json": `[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Router"}]`, "router_config.json": `{"types":{"q":"evil_module.Leak"}}`}, "hf/remote-code", formats.High},
		// Compiled code beside a model (formats/hf/dir.go).
		{"sourceless bytecode beside a model", map[string]string{"config.json": realConfig, "__pycache__/modeling_x.cpython-312.pyc": "\x00"}, "hf/compiled-code", formats.High},
		{"native custom-op library beside a model", map[string]string{"config.json": realConfig, "libcustom_ops.so": "\x7fELF"}, "hf/compiled-code", formats.High},
		{"versioned shared object beside a model", map[string]string{"config.json": realConfig, "libop.so.1.2": "\x7fELF"}, "hf/compiled-code", formats.High},
		{"windows DLL beside a model", map[string]string{"config.json": realConfig, "ops.dll": "MZ"}, "hf/compiled-code", formats.High},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, s := range c.files {
				write(t, dir, n, s)
			}
			res := formatstest.ScanDir(t, false, dir)
			if !slices.Contains(formatstest.ResultRules(res, c.sev), c.rule) {
				t.Errorf("want %s at %s:%s", c.rule, c.sev, formatstest.DescribeResult(res))
			}
			if c.name == "named chat_template list" && !strings.Contains(formatstest.DescribeResult(res), "chat_template[tool_use]") {
				t.Errorf("finding not named after the template:%s", formatstest.DescribeResult(res))
			}
		})
	}
}

// cache lays out models--org--name with one LFS blob and one small blob.
func cache(t *testing.T) (root, repo string, big, small string) {
	root = t.TempDir()
	repo = filepath.Join(root, "models--org--name")
	bigContent := "weights-bytes"
	s := sha256.Sum256([]byte(bigContent))
	big = hex.EncodeToString(s[:])
	smallContent := `{"model_type":"llama"}`
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00%s", len(smallContent), smallContent)
	small = hex.EncodeToString(h.Sum(nil))
	write(t, repo, "blobs/"+big, bigContent)
	write(t, repo, "blobs/"+small, smallContent)
	write(t, repo, "refs/main", "abc123")
	snap := filepath.Join(repo, "snapshots", "abc123")
	os.MkdirAll(snap, 0o755)
	if err := os.Symlink(filepath.Join("..", "..", "blobs", big), filepath.Join(snap, "model.safetensors")); err != nil {
		t.Skip("symlinks unavailable:", err)
	}
	os.Symlink(filepath.Join("..", "..", "blobs", small), filepath.Join(snap, "config.json"))
	return
}

func TestCacheIntact(t *testing.T) {
	root, _, _, _ := cache(t)
	res := formatstest.ScanDir(t, false, root)
	for _, r := range formatstest.ResultRules(res, formats.Medium) {
		if strings.HasPrefix(r, "hf/") {
			t.Errorf("intact cache flagged:%s", formatstest.DescribeResult(res))
		}
	}
}

func TestCacheTampered(t *testing.T) {
	root, repo, big, small := cache(t)
	write(t, repo, "blobs/"+big, "replaced weights")
	write(t, repo, "blobs/"+small, `{"model_type":"evil"}`)
	for _, scanned := range []string{root, filepath.Join(repo, "snapshots", "abc123")} {
		res := formatstest.ScanDir(t, false, scanned)
		var where []string
		for _, f := range res.Files {
			for _, x := range f.Findings {
				if x.Rule == "hf/blob-digest-mismatch" && x.Severity == formats.Critical {
					where = append(where, filepath.Base(f.Path))
				}
			}
		}
		// Both the SHA-256 (LFS) and the git SHA-1 blob are caught, and
		// the snapshot files that load them are named.
		for _, want := range []string{"model.safetensors", "config.json"} {
			if !slices.Contains(where, want) {
				t.Errorf("scanning %s: no digest mismatch on %s (got %v):%s", scanned, want, where, formatstest.DescribeResult(res))
			}
		}
	}
}

func TestSnapshotLinkToOtherRepo(t *testing.T) {
	root, repo, _, _ := cache(t)
	other := filepath.Join(root, "models--org--other", "blobs")
	write(t, filepath.Dir(other), "blobs/x", "x")
	// A link from this repo's snapshot into another repository's blobs.
	os.Symlink(filepath.Join(other, "x"), filepath.Join(repo, "snapshots", "abc123", "tokenizer.json"))
	res := formatstest.ScanDir(t, false, repo)
	r := formatstest.ResultRules(res, formats.High)
	if !slices.Contains(r, "hf/snapshot-link-escape") && !slices.Contains(r, "fs/symlink-escape") {
		t.Errorf("link into another repository not reported:%s", formatstest.DescribeResult(res))
	}
}

func TestBlobBudget(t *testing.T) {
	_, repo, big, _ := cache(t)
	var got []string
	checkBlobs(filepath.Join(repo, "blobs"), []string{big}, &formats.Options{Limits: formats.Limits{MaxExpand: 1}}, func(rel string, f formats.Finding) { got = append(got, f.Rule) })
	if !slices.Equal(got, []string{"hf/blob-not-verified"}) {
		t.Errorf("got %v", got)
	}
}

// TestChatTemplateLines: a chat template written as a list of lines (the
// GPT-OSS server config of llama-cpp-python's examples), whose comment
// opens on one line and closes on a later one, is one valid template once
// joined as its loader joins it, not a broken one per line.
func TestChatTemplateLines(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "gpt-oss-120b.json", `{"model":{"alias":"gpt-oss-120b","chat_template":["{#-\n","  In addition to the normal inputs of messages and tools, this template accepts\n","#}\n","{%- for m in messages %}<|start|>{{ m.role }}<|message|>{{ m.content }}<|end|>{% endfor %}\n"]}}`)
	res := formatstest.ScanDir(t, false, dir)
	if r := formatstest.ResultRules(res, formats.Medium); len(r) > 0 {
		t.Errorf("real line-split template flagged:%s", formatstest.DescribeResult(res))
	}
}

// TestLoaderConfigsReal: the loader configs real repositories ship name
// only their libraries' own modules and get nothing at medium or above.
func TestLoaderConfigsReal(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
	}{
		{"stable diffusion model_index", map[string]string{"model_index.json": `{"_class_name":"StableDiffusionPipeline","_diffusers_version":"0.6.0","feature_extractor":["transformers","CLIPImageProcessor"],"safety_checker":["stable_diffusion","StableDiffusionSafetyChecker"],"scheduler":["diffusers","PNDMScheduler"],"text_encoder":["transformers","CLIPTextModel"],"tokenizer":["transformers","CLIPTokenizer"],"unet":["diffusers","UNet2DConditionModel"],"vae":["diffusers","AutoencoderKL"],"image_encoder":[null,null]}`}},
		{"kandinsky prior model_index", map[string]string{"model_index.json": `{"_class_name":"KandinskyPriorPipeline","prior":["diffusers","PriorTransformer"],"text_encoder":["transformers","CLIPTextModelWithProjection"]}`}},
		{"PEFT adapter of a transformers model", map[string]string{"adapter_config.json": `{"peft_type":"LORA","auto_mapping":{"base_model_class":"BertModel","parent_library":"transformers.models.bert.modeling_bert"},"base_model_name_or_path":"bert-base-uncased","task_type":null}`}},
		{"PEFT adapter without auto_mapping", map[string]string{"adapter_config.json": `{"peft_type":"LORA","auto_mapping":null,"task_type":"CAUSAL_LM","r":8}`}},
		{"sentence-transformers Router", map[string]string{"router_config.json": `{"types":{"query_0_Dense":"sentence_transformers.models.Dense","document_0_Dense":"sentence_transformers.models.Dense"},"structure":{"query":["query_0_Dense"]}}`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, s := range c.files {
				write(t, dir, n, s)
			}
			res := formatstest.ScanDir(t, false, dir)
			if r := formatstest.ResultRules(res, formats.Medium); len(r) > 0 {
				t.Errorf("false alarm %v:%s", r, formatstest.DescribeResult(res))
			}
		})
	}
}

// TestRemoteCodeLooksOnlyInsideTheScan: Python in a folder without a model
// marker is code of a model when a parent folder holds one, two levels up,
// judged from the scan's own listing: a marker above the folder named for
// the scan is outside what was scanned, hashed and signed, and decides
// nothing.
func TestRemoteCodeLooksOnlyInsideTheScan(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		scan  string // sub-folder named for the scan ("" for the top)
		want  bool
	}{
		{"package module two levels below the model's config.json", map[string]string{"config.json": realConfig, "layers/attn/impl.py": "import os"}, "", true},
		{"code folder scanned alone, a model's config.json only above it", map[string]string{"config.json": realConfig, "tools/helper.py": "import os"}, "tools", false},
		{"diffusers component scanned alone, with its own config.json", map[string]string{"model_index.json": `{"_class_name":"StableDiffusionPipeline"}`, "unet/config.json": `{"_class_name":"UNet2DConditionModel"}`, "unet/my_unet.py": "import os"}, "unet", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, s := range c.files {
				write(t, dir, n, s)
			}
			res := formatstest.ScanDir(t, false, filepath.Join(dir, c.scan))
			if got := slices.Contains(formatstest.ResultRules(res, formats.High), "hf/remote-code"); got != c.want {
				t.Errorf("hf/remote-code reported: %v, want %v:%s", got, c.want, formatstest.DescribeResult(res))
			}
		})
	}
}
