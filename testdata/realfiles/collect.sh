#!/bin/sh
# collect.sh fills a cache folder, outside the repository, with real model
# files other projects publish, for the real-files test
# (formats/all/realfiles_test.go: 0 high findings on every one of them).
#
# It reads bare mirrors of public GitHub repositories (default /work/.mirror,
# as the project's `fetch` tool leaves them: /work/.mirror/<owner>+<name>/repo)
# and copies the matching blobs of HEAD, keeping their paths so that files
# that belong together (model.json + shards, model.onnx + test_data_set_*)
# stay together. Blobs a mirror does not hold (large files) are skipped.
#
#   MIRRORS=/work/.mirror MODELVET_REALFILES=$HOME/.cache/modelvet-realfiles sh collect.sh
set -eu
MIRRORS=${MIRRORS:-/work/.mirror}
OUT=${MODELVET_REALFILES:-$HOME/.cache/modelvet-realfiles}
mkdir -p "$OUT"

# repo (owner+name)   extended regex on the path inside the repository
# (Forks that copy llama.cpp's ggml-vocab-*.gguf are no substitute: the
# one checked, uShure/llama-jni-bridge, holds them re-encoded as text, every
# byte >= 0x80 replaced by U+FFFD, and modelvet rightly fails them.)
# [standalone: each file is a model of its own, so one the mirror lacks does
# not make the others in its folder incomplete]
SOURCES='
onnx+onnx                ^onnx/backend/test/data/.*\.(onnx|pb)$
ggerganov+whisper.cpp    ^models/for-tests-.*\.bin$
snakers4+silero-vad      ^src/silero_vad/data/.*\\.(onnx|jit)$
tensorflow+tfjs          (model\.json|model_new\.json|bundle_model_test\.json|\.bin|\.tflite)$
apple+coremltools        \.(mlmodel|mlmodelc/.*)$
ggml-org+llama.cpp       ^models/ggml-vocab-.*\.gguf$ standalone
# (the same vocab files under the former owner name, whose snapshot is
# small enough to fetch) and the chat templates llama.cpp tests with.
ggerganov+llama.cpp      ^models/(ggml-vocab-.*\.gguf|templates/.*\.jinja)$ standalone
dmlc+xgboost             (\.ubj|/model/data/XGBoost.*Model)$
microsoft+LightGBM       ^examples/.*model.*\.txt$
huggingface+safetensors  \.safetensors$
keras-team+keras         \.(keras|h5)$
tracel-ai+burn           \.(pt|safetensors)$
huggingface+candle       \.(npy|npz|pt|pth|safetensors)$
tensorflow+tflite-micro  \.tflite$
pytorch+executorch       \.(pte|pth|bin)$
# SpeechBrain: the hparams of every recipe (HyperPyYAML, !new:/!apply:/!name:
# tags that from_hparams runs), the checkpoints of the test templates and the
# pickled PLDA statistics and NumPy arrays its tests read.
speechbrain+speechbrain  (\.ya?ml|\.ckpt|\.pkl|\.npy)$ standalone
# The example configs of NeMo (Hydra _target_ trees NeMo restores).
NVIDIA+NeMo              ^examples/.*\.ya?ml$ standalone
# The TorchScript and legacy/zip torch.save test models of TorchServe (.mar
# archives carry handler code by design and are left out).
pytorch+serve            \.pt$ standalone
# ONNX Runtime Extensions: tokenizer and pre/post-processing ONNX models
# and the Hugging Face tokenizer folders (tokenizer_config.json, chat
# templates as .jinja and chat_template.json) of Gemma, Phi, Llama 2,
# Whisper, gpt-oss... that its tests read.
microsoft+onnxruntime-extensions ^test/data/.*\.(onnx|json|jinja|model|npy)$ standalone
# Hugging Face model folders mirrored on GitHub (config.json,
# tokenizer_config.json with its chat template, generation_config.json;
# the weights are Git LFS and left out below).
Evilcarbon+DeepSeek-R1-Distill-Qwen-32B \.(json|jinja|model)$ standalone
HakunaMatata888+gemma2-poem            \.(json|jinja|model)$ standalone
Decentralised-AI+falcon-40b            \.(json|jinja|model)$ standalone
HwwwwwwwH+MiniCPM-V-2                  \.(json|jinja|model)$ standalone
Avent-IQ+pythia-410m                   \.(json|jinja|model|safetensors)$ standalone
# openvino.genai and llama-cpp-python: the generation/tokenizer configs
# and chat templates they test with.
openvinotoolkit+openvino.genai ^(tests|samples)/.*\.(json|jinja)$ standalone
abetlen+llama-cpp-python       ^(tests|examples)/.*\.(json|jinja|gguf)$ standalone
# The chat templates Ollama renders in its tests (Gemma 4, Nemotron, Qwen),
# and OpenVINO Model Server: its test IR models (model.xml + weights .bin,
# an empty .bin where the graph has no constants), NumPy inputs and the
# chat templates of its LLM tests and examples.
ollama+ollama                  ^model/renderers/testdata/.*\.jinja2?$ standalone
openvinotoolkit+model_server   ^(src/test|extras|tests/performance)/.*\.(xml|bin|npy|jinja)$
# A PaddleOCR recognition model exported for inference (PP-HGNetV2).
Ziyan0219+PPHGNetV2-US-License-Plate-Recognition \.(pdmodel|pdiparams)$
# torchtext: tensors its tests compare against, written by torch.save
# (zip and legacy), and SentencePiece models.
pytorch+text                   ^test/torchtext_unittest/asset/.*\.(pt|pth|model)$ standalone
# LocalAI: its model gallery (YAML model configs whose template: keys hold
# Go text/template prompts, not Jinja) and the e2e test model configs.
mudler+LocalAI                 ^(gallery|tests/e2e-aio/models|tests/fixtures)/.*\.ya?ml$ standalone
# tf-keras: a TensorFlow SavedModel (saved_model.pb + variables) of its
# mixed-precision tests; sklearn-onnx: tree classifiers converted to ONNX.
keras-team+tf-keras            ^tf_keras/.*/testdata/
onnx+sklearn-onnx              ^tests/datasets/.*\.onnx$ standalone
# libonnx (a C runtime) vendors the ONNX backend test data of an older
# ONNX release (opsets 7-13): node tests, pytorch-converted and
# pytorch-operator, simple and "light" model tests, each a model.onnx with
# test_data_set_*/input_*.pb and output_*.pb tensors. onnx2c adds its own
# generated op tests (QLinear*, LSTM/GRU, Gemm...), benchmark convolutions,
# old backend tests and a TFLite-converted hello-world.
xboot+libonnx                  ^tests/.*\.(onnx|pb)$
kraiskil+onnx2c                ^(test|examples)/.*\.(onnx|pb)$
# onnxruntime_go: the test models of the Go binding (float16, strings,
# complex numbers, 0-dim outputs, LoRA, training artifacts, a model that
# needs onnxruntime-extensions, a converted sklearn random forest).
yalue+onnxruntime_go           \.onnx$ standalone
# tract: its ONNX and NNEF test models and the .npz inputs/outputs of them.
sonos+tract                    \.(onnx|npz)$ standalone
# TF.js test data of the tfjs-models packages (pose and hand detection).
# (The web apps Human and face-api.js commit many models, but their
# snapshots here lack most shards, so every folder came out incomplete.)
tensorflow+tfjs-models         /test_data/
# TFLite: the Coral Edge TPU compiled models (edgetpu-custom-op) and their
# CPU twins; the task-library and metadata test models of TFLite Support
# (metadata with associated label files); the MediaPipe TFLite, SavedModel
# and TF Hub module test data.
google-coral+test_data         \.tflite$ standalone
tensorflow+tflite-support      \.tflite$ standalone
google-ai-edge+mediapipe       (testdata/|examples/coral/models/).*\.(tflite|pb|pbtxt|index|data-[0-9]+-of-[0-9]+|safetensors|pt|bin)$
# tf2onnx: the frozen graphs, SavedModels, checkpoints and TFLite models of
# its tests.
onnx+tensorflow-onnx           ^tests/models/
# tch-rs: tensors written by torch.save / numpy for its Rust tests.
LaurentMazare+tch-rs           ^tests/.*\.(pt|npy|npz|ot|safetensors)$ standalone
# joblib: the pickles its tests load, written by many joblib, NumPy and
# Python versions (plain, compressed .gz/.bz2/.xz/.lzma/.z, and the
# NumPy arrays kept beside them); gopickle: the pickles and torch.save
# files its Go tests read; NumPy: its own .npy/.npz test data.
joblib+joblib                  ^joblib/test/data/joblib_ standalone
nlpodyssey+gopickle            /testdata/.*\.pt$ standalone
numpy+numpy                    /tests/data/.*\.(npy|npz|pkl|pkl\.gz)$ standalone
# GitHub Actions workflows of every mirror (a model repository has them;
# their ${{ ... }} expressions are not Jinja).
*                        ^\.github/workflows/.*\.ya?ml$ standalone
'

echo "$SOURCES" | while read -r repo re mode; do
	case "$repo" in '' | '#'*) continue ;; esac
	if [ "$repo" = '*' ]; then
		# every mirror there is
		repos=$(cd "$MIRRORS" && for d in *+*; do [ -d "$d/repo" ] && echo "$d"; done)
	else
		repos=$repo
	fi
	for repo in $repos; do
	git="$MIRRORS/$repo/repo"
	if [ ! -d "$git" ]; then
		echo "skip $repo: no mirror at $git" >&2
		continue
	fi
	git -C "$git" ls-tree -r HEAD | awk -F'\t' -v re="$re" '$2 ~ re' | while IFS='	' read -r meta path; do
		case "$path" in
		*/node_modules/*) continue ;;
		# Fixtures broken on purpose (a test of the source's own error
		# path) are not real models: modelvet rightly fails them.
		*broken* | *corrupt* | *invalid* | *malformed*) continue ;;
		esac
		set -- $meta
		[ "$2" = blob ] || continue
		# A symbolic link (mode 120000) is stored as a blob holding its
		# target path ("../results/..."), not the file it points to.
		[ "$1" = 120000 ] && continue
		dst="$OUT/$repo/$path"
		[ -s "$dst" ] && continue
		mkdir -p "$(dirname "$dst")"
		if ! git -C "$git" cat-file blob "$3" >"$dst.tmp" 2>/dev/null; then
			# Not in this mirror (too large to bring): the model in this
			# folder is incomplete, and scanning it would report the missing
			# file, so the folder is left out as a whole (below).
			rm -f "$dst.tmp"
			[ "$mode" = standalone ] || dirname "$dst" >>"$OUT/.incomplete"
			continue
		fi
		# A Git LFS pointer is not the file, and an empty .pt is a
		# placeholder (torch.load raises EOFError on it, and modelvet
		# rightly fails it); leave them out. (An empty OpenVINO .bin is
		# the real weights file of a graph without constants: kept.)
		if { [ ! -s "$dst.tmp" ] && [ "${path%.pt}" != "$path" ]; } || head -c 40 "$dst.tmp" | grep -q '^version https://git-lfs'; then
			rm -f "$dst.tmp"
			continue
		fi
		mv "$dst.tmp" "$dst"
	done
	echo "$repo: $(find "$OUT/$repo" -type f 2>/dev/null | wc -l) files"
	done
done
# Models whose source repository itself does not ship all their files (a
# test that downloads the weights): scanning them rightly reports the
# missing files, so they are not real-file false-alarm material.
echo "$OUT/tensorflow+tfjs/e2e/custom_module/blazeface" >>"$OUT/.incomplete"
# Hugging Face folders mirrored on GitHub keep their weight shards in Git
# LFS, which no mirror holds: their shard index then names files that are
# rightly reported missing, so an index none of whose shards is here is
# left out (the configs and tokenizers beside it stay).
find "$OUT" -name '*.index.json' | while read -r idx; do
	d=$(dirname "$idx")
	if ! ls "$d" | grep -q -- '-of-'; then
		echo "left out (its shards are not in the mirror): $idx" >&2
		rm -f "$idx"
	fi
done
if [ -f "$OUT/.incomplete" ]; then
	sort -u "$OUT/.incomplete" | while read -r d; do
		echo "left out (an incomplete model): $d" >&2
		rm -rf "$d"
	done
	rm -f "$OUT/.incomplete"
fi
# Real chat templates (hundreds, from Hugging Face, Ollama, llama.cpp (ik_llama.cpp),
# axolotl, TRL, unsloth, xinference... mirrors) into $OUT/templates, for
# formats/template's TestRealTemplatesCache and this scan: see
# collect_templates.py (Python 3, standard library only; it parses the
# JavaScript and Python files that embed templates, never runs them).
if command -v python3 >/dev/null 2>&1; then
	MIRRORS="$MIRRORS" MODELVET_TEMPLATES="$OUT/templates" python3 "$(dirname "$0")/collect_templates.py" || echo "collect_templates.py failed" >&2
fi
echo "cache: $OUT ($(find "$OUT" -type f | wc -l) files)"
