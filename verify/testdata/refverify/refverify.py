#!/usr/bin/python3
# Verifies a key-signed model.sig (as `modelvet sign --key` writes it) with
# the reference tool's own code: model_signing v1.1.1's manifest, hashing,
# serialization and payload parsing, and the steps of its key verifier
# (hint check, DSSE PAE, ECDSA with the curve's hash), as
# `model_signing verify key` runs them. A manual interop check: CI has no
# Python, and the reference package's sigstore dependencies are not needed
# for key signatures, so only its source is imported.
#
#   git -C model-transparency archive v1.1.1 src/model_signing | tar -x -C SRC
#   REF_SRC=SRC/src ./refverify.py MODEL SIGNATURE PUBKEY.pem [IGNORED ...]
#
# Exit status 0 and "verified" when the reference logic accepts it.
import sys, os, json, base64, hashlib, pathlib, types, tempfile
src = os.environ["REF_SRC"]
# blake3 (a Rust wheel) and in_toto_attestation are imported at module
# load but not used to verify sha256 key signatures: stub them.
stubs = tempfile.mkdtemp()
os.makedirs(os.path.join(stubs, "in_toto_attestation", "v1"))
open(os.path.join(stubs, "blake3.py"), "w").write("class blake3: AUTO = -1\n")
for f in ["__init__.py", "v1/__init__.py", "v1/statement.py"]:
    open(os.path.join(stubs, "in_toto_attestation", f), "w").close()
sys.path[:0] = [stubs, src]
# The package's __init__ imports every signer (sigstore); load submodules only.
pkg = types.ModuleType("model_signing"); pkg.__path__ = [os.path.join(src, "model_signing")]; sys.modules["model_signing"] = pkg
from cryptography.hazmat.primitives import serialization, hashes
from cryptography.hazmat.primitives.asymmetric import ec
from model_signing import hashing
from model_signing._signing import signing

model, sig, pub = map(pathlib.Path, sys.argv[1:4])
ignore = sys.argv[4:]
key = serialization.load_pem_public_key(pub.read_bytes())
b = json.loads(sig.read_text())
env = b["dsseEnvelope"]
hint = b["verificationMaterial"].get("publicKey", {}).get("hint")
raw = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
assert hint is None or hint == hashlib.sha256(raw).digest().hex(), "key hint mismatch"
payload = base64.b64decode(env["payload"])
pt = signing._IN_TOTO_JSON_PAYLOAD_TYPE
pae = b" ".join([f"DSSEv1 {len(pt)} {pt} {len(payload)}".encode(), payload])
h = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}[key.curve.key_size]
key.verify(base64.b64decode(env["signatures"][0]["sig"]), pae, ec.ECDSA(h))
assert env["payloadType"] == pt
expected = signing.dsse_payload_to_manifest(json.loads(payload))
# As the CLI does: the signature file is ignored when it is inside the model.
ignored = [pathlib.Path(p) for p in ignore]
try:
    ignored.append(sig.resolve().relative_to(model.resolve()))
except ValueError:
    pass
cfg = hashing.Config().set_ignored_paths(paths=ignored)
args = expected.serialization_type
if args["method"] == "shards":
    # The CLI hashes files only; the library guesses the serialization
    # from the signature (verifying.Config._guess_hashing_config).
    cfg.use_shard_serialization(hashing_algorithm=args["hash_type"], shard_size=args["shard_size"],
                                allow_symlinks=args["allow_symlinks"], ignore_paths=args.get("ignore_paths", frozenset()))
if "ignore_paths" in expected.serialization_type:
    cfg.add_ignored_paths(model_path=model, paths=expected.serialization_type["ignore_paths"])
actual = cfg.hash(model)
assert actual == expected, "manifest mismatch"
# The signed resources must be in the reference's canonical order.
names = [r["name"] for r in json.loads(payload)["predicate"]["resources"]]
assert names == [d.identifier for d in expected.resource_descriptors()], "resource order differs"
print("reference logic: verified", len(names), "resources")
