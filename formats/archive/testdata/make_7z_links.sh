#!/bin/sh
# Writes the 7z link fixtures with 7-Zip (Debian package 7zip, 7zz 26.02):
# -snl stores symbolic links as links (target as content, S_IFLNK mode).
set -e
out=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
mkdir escape inside absolute
printf 'notes' > inside/notes.txt
ln -s notes.txt inside/current.txt
printf 'notes' > escape/notes.txt
ln -s ../../../../etc/passwd escape/tokenizer.model
ln -s /etc/shadow absolute/vocab.txt
for d in escape inside absolute; do
	rm -f "$out/link_$d.7z"
	(cd "$d" && 7zz a -snl -bso0 -bsp0 "$out/link_$d.7z" .)
done
