package hf

import (
	"testing"
	"time"

	"github.com/modelvet/modelvet/formats/formatstest"
)

// FuzzJSONConfig runs the JSON config analyzer (objects, and modules.json
// lists) on arbitrary bytes: no panic, bounded time.
func FuzzJSONConfig(f *testing.F) {
	f.Add([]byte(realConfig), false)
	f.Add([]byte(realTokConfig), false)
	f.Add([]byte(`{"auto_map":{"AutoModel":["a--b.C",null]},"custom_pipelines":{"t":{"impl":"p.P"}}}`), false)
	f.Add([]byte(`[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"}]`), true)
	f.Add([]byte(`[{"idx":0,"name":"0","path":"../x","type":"sentence_transformers.util.torch"},{"path":7,"type":"sentence_transformers.models._X"}]`), true)
	f.Add([]byte(`{"chat_template":[{"name":"x","template":"{{ a }}"}]}`), false)
	f.Add([]byte(`{"chat_template":["{#-\n","x #}","{{ a }}"],"model":{"chat_template":["{{ b","}}"]}}`), false)
	f.Fuzz(func(t *testing.T, data []byte, modules bool) {
		name := "tokenizer_config.json"
		if modules {
			name = "modules.json"
		}
		start := time.Now()
		formatstest.ScanBytes(t, name, data, nil)
		if d := time.Since(start); d > 5*time.Second && len(data) < 1<<16 {
			t.Fatalf("took %v on %d bytes", d, len(data))
		}
	})
}

// FuzzLoaderConfigs: model_index.json, adapter_config.json and
// router_config.json, judged for the modules they make a loader import.
func FuzzLoaderConfigs(f *testing.F) {
	f.Add([]byte(`{"_class_name":["p","P"],"unet":["my_unet","U"],"vae":["diffusers","AutoencoderKL"],"x":[null,null]}`), uint8(0))
	f.Add([]byte(`{"auto_mapping":{"base_model_class":"X","parent_library":"evil"}}`), uint8(1))
	f.Add([]byte(`{"types":{"q":"evil.Leak","d":"sentence_transformers.models.Dense"}}`), uint8(2))
	names := []string{"model_index.json", "adapter_config.json", "router_config.json"}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		formatstest.ScanBytes(t, names[int(which)%len(names)], data, nil)
	})
}
