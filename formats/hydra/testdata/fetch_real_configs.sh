#!/bin/sh
# Fills the cache TestRealNeMoConfigs reads (never the repository): every
# YAML config of NVIDIA/NeMo's examples and its NeMo 2 checkpoint context
# fixture. Usage: fetch_real_configs.sh [DEST]
# (default ${XDG_CACHE_HOME:-$HOME/.cache}/modelvet/real/nemo-configs).
set -e
dest=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/modelvet/real/nemo-configs}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git clone -q --depth 1 --filter=blob:none --sparse https://github.com/NVIDIA/NeMo "$tmp/NeMo"
git -C "$tmp/NeMo" sparse-checkout set examples tests/lightning/_io/artifacts
mkdir -p "$dest"
(cd "$tmp/NeMo" && find examples tests/lightning/_io/artifacts -name '*.yaml' -print | while read -r f; do
	mkdir -p "$dest/$(dirname "$f")" && cp "$f" "$dest/$f"
done)
echo "$(find "$dest" -name '*.yaml' | wc -l) configs in $dest"
