#!/usr/bin/python3
"""Make the differential fixtures of internal/jsonx (run: /usr/bin/python3 gen.py).

Each case is a signed-document payload (an OMS statement or a SLSA v1
statement) carrying one trick that makes Go's encoding/json read something
other than Python's json (what the reference model_signing tool and most
in-toto tooling use). For each, cases.json records what Python reads from
the very bytes, read the way the reference reads it (exact keys), or the
error Python raises. The Go test checks that encoding/json alone would
read something else, and that modelvet refuses the document.
"""
import hashlib
import json

WRONG = "00" * 32
REAL = hashlib.sha256(b"real weights").hexdigest()


def oms(resources_json, serialization='{"method":"files","hash_type":"sha256","allow_symlinks":false}'):
    return (
        '{"_type":"https://in-toto.io/Statement/v1",'
        '"subject":[{"name":"model","digest":{"sha256":"%s"}}],'
        '"predicateType":"https://model_signing/signature/v1.0",'
        '"predicate":{"serialization":%s,%s}}' % (REAL, serialization, resources_json)
    ).encode("utf-8")


def res(name, digest):
    return '{"name":"%s","algorithm":"sha256","digest":"%s"}' % (name, digest)


cases = []


def case(name, data, read):
    fn = name + ".json"
    with open(fn, "wb") as f:
        f.write(data)
    try:
        doc = json.loads(data)
        py = {"reads": read(doc)}
    except Exception as e:  # what Python refuses
        py = {"error": type(e).__name__}
    cases.append({"name": name, "file": fn, "python": py})


def first_resource(doc):
    r = doc["predicate"]["resources"][0]
    return {"name": r["name"], "digest": r["digest"]}


# Go fills "resources" from "reſources" (U+017F folds to s): it reads the
# real digests, Python the wrong ones.
case("fold-long-s-resources",
     oms('"resources":[%s],"reſources":[%s]' % (res("w.bin", WRONG), res("w.bin", REAL))),
     first_resource)
# ASCII case twin: "Resources" alone is no key Python's reader looks up.
case("ascii-case-resources",
     oms('"Resources":[%s]' % res("w.bin", REAL)),
     lambda d: {"has_resources": "resources" in d["predicate"]})
# Kelvin sign (U+212A) folds to k: Go fills a DSSE signature's "keyid"
# from "\u212aeyid", Python finds no keyid.
case("kelvin-sign-key",
     ('{"payloadType":"application/vnd.in-toto+json","payload":"e30=",'
      '"signatures":[{"sig":"AA==","\u212aeyid":"attacker"}]}').encode("utf-8"),
     lambda d: {"keyid": d["signatures"][0].get("keyid")})
# Duplicate key: Python keeps the last "resources", a first-wins reader
# (and a person reading the file top-down) the first.
case("duplicate-resources",
     oms('"resources":[%s],"resources":[%s]' % (res("w.bin", WRONG), res("w.bin", REAL))),
     first_resource)
# Invalid UTF-8 in a resource name: Go reads U+FFFD, Python refuses.
case("invalid-utf8-name",
     oms('"resources":[%s]' % res("wXX.bin", REAL)).replace(b"wXX.bin", b"w\xff.bin"),
     first_resource)
# Lone surrogate escape: Python keeps U+D800 in the str, Go reads U+FFFD.
case("lone-surrogate-name",
     oms('"resources":[%s]' % res("w\\ud800.bin", REAL)),
     lambda d: {"name_codepoints": [ord(c) for c in d["predicate"]["resources"][0]["name"]]})
# shard_size as a string: Python reads a str (the reference would fail
# on arithmetic), Go's json.Number takes it as a number.
case("shard-size-string",
     oms('"resources":[%s]' % res("w.bin:0:10", REAL),
         serialization='{"method":"shards","hash_type":"sha256","allow_symlinks":false,"shard_size":"1000"}'),
     lambda d: {"shard_size_type": type(d["predicate"]["serialization"]["shard_size"]).__name__})
# SLSA v1: Go reads the builder of "runDetailſ", Python the one under
# "runDetails".
case("fold-long-s-slsa-run-details",
     ('{"_type":"https://in-toto.io/Statement/v1",'
      '"subject":[{"name":"model","digest":{"sha256":"%s"}}],'
      '"predicateType":"https://slsa.dev/provenance/v1",'
      '"predicate":{"buildDefinition":{"buildType":"https://example.com/t","externalParameters":{}},'
      '"runDetails":{"builder":{"id":"https://untrusted.example/builder"}},'
      '"runDetailſ":{"builder":{"id":"https://trusted.example/builder"}}}}' % REAL).encode("utf-8"),
     lambda d: {"builder": d["predicate"]["runDetails"]["builder"]["id"]})

# protobuf JSON also accepts a field's proto name: protojson (which read
# in-toto statements before) takes "predicate_type" as predicateType,
# Python's reader finds no predicateType.
case("proto-name-predicate-type",
     ('{"_type":"https://in-toto.io/Statement/v1",'
      '"subject":[{"name":"model","digest":{"sha256":"%s"}}],'
      '"predicate_type":"https://slsa.dev/provenance/v1",'
      '"predicate":{}}' % REAL).encode("utf-8"),
     lambda d: {"predicateType": d.get("predicateType")})

with open("cases.json", "w") as f:
    json.dump(cases, f, indent=1, ensure_ascii=True)
    f.write("\n")
