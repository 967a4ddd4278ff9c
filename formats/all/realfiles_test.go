package all_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// trueFinding is a High or Critical finding on a real file that is right:
// what the loader does with that file is what the finding says. Each is
// matched by rule, path and a word of the message, so that any other
// finding on the same file still fails the test.
type trueFinding struct {
	rule, path, says string
	why              string // what the loader does, with its source
}

var trueFindings = []trueFinding{
	{"hf/remote-code", `(falcon-40b|MiniCPM-V-2)/.*config\.json$|/chatglm[^/]*/tokenizer_config\.json$`, "trust_remote_code",
		"auto_map names Python modules; transformers' dynamic_module_utils.get_class_from_dynamic_module imports and runs them under trust_remote_code=True"},
	{"hydra/unknown-target", `^speechbrain\+speechbrain/(recipes|templates)/`, `"(custom_model|train|utils|metrics|focalcodec)\.`,
		"a training recipe's own Python beside its hparams: HyperPyYAML's pydoc.locate (hyperpyyaml/core.py) imports custom_model.py, train.py... from sys.path and runs it"},
	{"hydra/unknown-target", `^speechbrain\+speechbrain/`, `\.(from_pretrained|from_hparams)"`,
		"!apply: calls it while the config loads: it downloads another model from the Hub and loads it (from_hparams runs that model's own hparams), none of which was scanned"},
	{"hydra/dangerous-target", `^speechbrain\+speechbrain/recipes/.*/quantization/`, `MiniBatchKMeansSklearn\.(load|save)`,
		"registered as the checkpoint's load/save hooks: speechbrain/integrations/audio_tokenizers/kmeans.py calls joblib.load(path), unpickling the checkpoint file"},
	{"formats/unrecognized", `^(openvinotoolkit\+model_server/src/test/audio/speaker|google-ai-edge\+mediapipe/mediapipe/calculators/tensor/testdata/face_landmark_tflite_[a-z_]*tensor[0-9])\.bin$`, `\(\.bin\)`,
		"fail closed: raw float32 values (a speaker embedding; MediaPipe's expected input/output tensors) under a name PyTorch checkpoints use; no loader runs them (torch.load refuses the first byte), but such content cannot be told from a damaged model"},
	{"pickle/unknown-import", `^speechbrain\+speechbrain/tests/samples/PLDA/`, "StatObject_SB",
		"a class pickle: unpickling builds speechbrain.processing.PLDA_LDA.StatObject_SB, which torch.load(weights_only=True) refuses and the strict profile does not know"},
}

// TestRealFiles scans the real model files other projects publish (ONNX
// backend test models and tensors, whisper.cpp ggml files, TF.js models
// and shards, Silero VAD, Core ML bundles, TFLite, SpeechBrain and NeMo
// configs, Hugging Face tokenizer folders and chat templates, GitHub
// Actions workflows...), which testdata/realfiles/collect.sh copies into a
// cache folder outside the repository, and asserts that none gets a
// finding at high or above beyond the true ones listed in trueFindings:
// no false alarms on files real people ship. The folder is
// $MODELVET_REALFILES, else $HOME/.cache/modelvet-realfiles.
func TestRealFiles(t *testing.T) {
	dir := os.Getenv("MODELVET_REALFILES")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Skip("no home folder for the real-files cache")
		}
		dir = filepath.Join(home, ".cache", "modelvet-realfiles")
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Skipf("no real files at %s: run testdata/realfiles/collect.sh (it reads the mirrors the fetch tool leaves) to fill it", dir)
	}
	type compiled struct {
		trueFinding
		path, says *regexp.Regexp
		n          int
	}
	known := make([]*compiled, len(trueFindings))
	for i, k := range trueFindings {
		known[i] = &compiled{trueFinding: k, path: regexp.MustCompile(k.path), says: regexp.MustCompile(k.says)}
	}
	// Files of the sources that are not models (an __init__.py beside a
	// model is rightly reported) are left out by collect.sh itself.
	res := formatstest.ScanDir(t, false, dir)
	byFormat, bySource, bySeverity := map[string]int{}, map[string]int{}, map[string]int{}
	for _, f := range res.Files {
		rel := filepath.ToSlash(strings.TrimPrefix(strings.TrimPrefix(f.Path, dir), string(filepath.Separator)))
		byFormat[f.Format]++
		bySource[strings.SplitN(rel, "/", 2)[0]]++
	findings:
		for _, x := range f.Findings {
			bySeverity[x.Severity.String()]++
			if x.Severity < formats.High {
				continue
			}
			for _, k := range known {
				if k.rule == x.Rule && k.path.MatchString(rel) && k.says.MatchString(x.Message) {
					k.n++
					continue findings
				}
			}
			t.Errorf("%s (%s): %s %s %s %s", rel, f.Format, x.Severity, x.Rule, x.Member, x.Message)
		}
	}
	for _, k := range known {
		t.Logf("true finding %s on %s (%d seen): %s", k.rule, k.path, k.n, k.why)
	}
	t.Logf("%d real files scanned from %s", len(res.Files), dir)
	t.Logf("by format: %s", counts(byFormat))
	t.Logf("by source: %s", counts(bySource))
	t.Logf("findings by severity: %s", counts(bySeverity))
}

func counts(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+":"+strconv.Itoa(v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
