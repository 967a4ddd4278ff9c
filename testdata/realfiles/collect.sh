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
dmlc+xgboost             (\.ubj|/model/data/XGBoost.*Model)$
microsoft+LightGBM       ^examples/.*model.*\.txt$
huggingface+safetensors  \.safetensors$
keras-team+keras         \.(keras|h5)$
tracel-ai+burn           \.(pt|safetensors)$
huggingface+candle       \.(npy|npz|pt|pth|safetensors)$
tensorflow+tflite-micro  \.tflite$
pytorch+executorch       \.(pte|pth|bin)$
'

echo "$SOURCES" | while read -r repo re mode; do
	[ -n "$repo" ] || continue
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
		# A Git LFS pointer is not the file; leave it out.
		if head -c 40 "$dst.tmp" | grep -q '^version https://git-lfs'; then
			rm -f "$dst.tmp"
			continue
		fi
		mv "$dst.tmp" "$dst"
	done
	echo "$repo: $(find "$OUT/$repo" -type f 2>/dev/null | wc -l) files"
done
# Models whose source repository itself does not ship all their files (a
# test that downloads the weights): scanning them rightly reports the
# missing files, so they are not real-file false-alarm material.
echo "$OUT/tensorflow+tfjs/e2e/custom_module/blazeface" >>"$OUT/.incomplete"
if [ -f "$OUT/.incomplete" ]; then
	sort -u "$OUT/.incomplete" | while read -r d; do
		echo "left out (an incomplete model): $d" >&2
		rm -rf "$d"
	done
	rm -f "$OUT/.incomplete"
fi
echo "cache: $OUT ($(find "$OUT" -type f | wc -l) files)"
