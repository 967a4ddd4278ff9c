package keras

import (
	"path/filepath"

	"github.com/modelvet/modelvet/formats"
)

func init() {
	// keras.saving.load_model loads an unzipped Keras 3 folder (what
	// save_model(..., zipped=False) writes and what hf:// and KerasHub
	// presets hold) exactly like a .keras zip: config.json is
	// deserialized, so it gets the same checks.
	formats.RegisterDir(&formats.DirCheck{Name: "keras-folder", Check: checkFolder})
}

// folderConfigs are the JSON files of a Keras folder that Keras (and
// KerasHub's from_preset) deserialize with deserialize_keras_object.
var folderConfigs = []string{"config.json", "tokenizer.json", "preprocessor.json", "task.json",
	"image_converter.json", "audio_converter.json"}

func checkFolder(dir string, files []string, opts *formats.Options, report func(rel string, f formats.Finding)) {
	has := map[string]bool{}
	for _, f := range files {
		has[f] = true
	}
	if !has["config.json"] || !(has["metadata.json"] || has["model.weights.h5"]) {
		return
	}
	for _, name := range folderConfigs {
		if !has[name] {
			continue
		}
		data, ok := readSmall(opts, filepath.Join(dir, name), maxConfigSize)
		if !ok || !isKerasObject(data) {
			// Not a Keras object (a transformers config.json, a
			// tokenizers tokenizer.json): not what Keras deserializes.
			continue
		}
		res := &formats.FileResult{}
		scanConfig(formats.NewScope(filepath.Join(dir, name), opts, res), name, data)
		for _, f := range res.Findings {
			report(name, f)
		}
	}
}

// isKerasObject reports whether data is a serialized Keras object
// ({"class_name": ..., "config": ...}), as matchKeras decides for zips.
func isKerasObject(data []byte) bool {
	v, err := parseJSON(data)
	if err != nil {
		return false
	}
	o, ok := v.(jsonObject)
	if !ok || o.str("class_name") == "" {
		return false
	}
	_, hasConfig := o.get("config")
	return hasConfig
}

// readSmall reads a config through the scan's opener: under a check, the
// bytes the one pass hashes (the config's own scan shares the open).
func readSmall(opts *formats.Options, p string, limit int64) ([]byte, bool) {
	b, err := opts.ReadSmallFile(p, limit)
	return b, err == nil
}
