#!/bin/sh
# Regenerates the reference-signed fixtures of verify/hashtype_test.go:
# one small model per case, signed by model_signing v1.1.1's own hashing
# and serialization code with a hash type other than sha256 (see
# ../refverify/refsign.py), with a throwaway P-256 key whose public half is
# pub.pem. Run by hand (CI has no Python):
#   git -C model-transparency archive v1.1.1 src/model_signing | tar -x -C SRC
#   REF_SRC=SRC/src ./gen.sh
set -eu
cd "$(dirname "$0")"
key=$(mktemp)
/usr/bin/python3 - "$key" <<'PY'
import sys
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import serialization as s
k = ec.generate_private_key(ec.SECP256R1())
open(sys.argv[1], "wb").write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
open("pub.pem", "wb").write(k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))
PY
# case-folder  hashing_algorithm  method  [shard size]
while read -r dir alg method size; do
	rm -rf "$dir"; mkdir -p "$dir/sub"
	# 2500 bytes: three BLAKE3 chunks (a two-level tree), three 1024-byte shards.
	/usr/bin/python3 -c 'import sys; sys.stdout.buffer.write(bytes(i % 251 for i in range(2500)))' > "$dir/sub/w.bin"
	printf 'abc' > "$dir/a.txt"
	: > "$dir/empty"
	/usr/bin/python3 ../refverify/refsign.py "$dir" "$key" "$alg" "$method" $size
done <<'CASES'
blake2b-files blake2 files
blake2b-shards-1024 blake2 shards 1024
blake3-files blake3 files
blake3-shards-requested blake3 shards 1024
CASES
rm -f "$key"
