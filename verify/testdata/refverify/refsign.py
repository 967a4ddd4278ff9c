#!/usr/bin/python3
# Signs a model with the reference tool's own code path for a hash type
# other than sha256, which its CLI cannot choose (model_signing v1.1.1 has
# no --hash_type option; only the library's hashing.Config can):
#   hashing.Config().use_file_serialization(hashing_algorithm=ALG) or
#   .use_shard_serialization(hashing_algorithm=ALG, shard_size=N)
# then the statement signing.Payload builds (root digest SHA-256 over the
# raw resource digests) and sign_ec_key's DSSE PAE and ECDSA signature.
# The in_toto_attestation and sigstore_models packages it uses are not
# installed, so the statement is assembled here field by field as
# Payload does, with the predicate rendered by protobuf's json_format from
# a Struct (as MessageToJson renders it in the real tool); the bundle
# fields are the ones sign_ec_key writes. blake3 is the pure-Python
# blake3.py beside this script (the Rust wheel is not installed).
#
#   git -C model-transparency archive v1.1.1 src/model_signing | tar -x -C SRC
#   REF_SRC=SRC/src ./refsign.py MODEL KEY.pem ALG(sha256|blake2|blake3) files|shards [SHARD_SIZE]
#
# Writes MODEL/model.sig (left out of the manifest, as the CLI does).
import sys, os, json, base64, hashlib, pathlib, types, tempfile
src = os.environ["REF_SRC"]
stubs = tempfile.mkdtemp()
os.makedirs(os.path.join(stubs, "in_toto_attestation", "v1"))
for f in ["__init__.py", "v1/__init__.py", "v1/statement.py"]:
    open(os.path.join(stubs, "in_toto_attestation", f), "w").close()
sys.path[:0] = [stubs, os.path.dirname(os.path.abspath(__file__)), src]
pkg = types.ModuleType("model_signing"); pkg.__path__ = [os.path.join(src, "model_signing")]; sys.modules["model_signing"] = pkg
from cryptography.hazmat.primitives import serialization, hashes
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf import json_format, struct_pb2
from model_signing import hashing
from model_signing._hashing import memory
from model_signing._signing import signing

model, keyfile, alg, method = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3], sys.argv[4]
sig = model / "model.sig"
cfg = hashing.Config().set_ignored_paths(paths=[pathlib.Path("model.sig")])
if method == "shards":
    cfg.use_shard_serialization(hashing_algorithm=alg, shard_size=int(sys.argv[5]))
else:
    cfg.use_file_serialization(hashing_algorithm=alg)
cfg.set_ignored_paths(paths=[pathlib.Path("model.sig")])
manifest = cfg.hash(model)

# signing.Payload.__init__, without the in_toto_attestation protobuf.
hasher = memory.SHA256()
resources = []
for d in manifest.resource_descriptors():
    hasher.update(d.digest.digest_value)
    resources.append({"name": d.identifier, "algorithm": d.digest.algorithm, "digest": d.digest.digest_hex})
pred = struct_pb2.Struct()
pred.update({"serialization": manifest.serialization_type, "resources": resources})
statement = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": manifest.model_name, "digest": {"sha256": hasher.compute().digest_hex}}],
    "predicateType": signing._PREDICATE_TYPE,
    "predicate": json.loads(json_format.MessageToJson(pred)),
}
raw = json.dumps(statement, indent=2).encode()

key = serialization.load_pem_private_key(keyfile.read_bytes(), None)
pt = signing._IN_TOTO_JSON_PAYLOAD_TYPE
pae = b" ".join([f"DSSEv1 {len(pt)} {pt} {len(raw)}".encode(), raw])
h = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}[key.curve.key_size]
s = key.sign(pae, ec.ECDSA(h))
pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
bundle = {
    "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
    "verificationMaterial": {"publicKey": {"hint": hashlib.sha256(pub).digest().hex()}},
    "dsseEnvelope": {"payload": base64.b64encode(raw).decode(), "payloadType": pt,
                     "signatures": [{"sig": base64.b64encode(s).decode()}]},
}
sig.write_text(json.dumps(bundle, indent=2))
print("reference code path: signed", model, manifest.serialization_type["hash_type"], method, len(resources), "resources")
