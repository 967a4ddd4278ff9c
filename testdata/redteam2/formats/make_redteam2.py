#!/usr/bin/python3
"""make_redteam2.py: the second red-team wave against the non-pickle,
non-container formats (ONNX, GGUF, safetensors, TF SavedModel, TF.js,
OpenVINO IR, PMML, MLflow, NeMo). formats/all/redteam2_test.go scans what
this writes; labels.tsv (kept by hand beside this script) names the rule
and severity each attack must raise, or "safe" for real files a loader
accepts and a scanner must not call dangerous.

    cd testdata/redteam2/formats && /usr/bin/python3 make_redteam2.py .

Needs Debian's python3-onnx and -numpy only to build the ONNX models; the
rest is written byte by byte, so each file shows exactly the encoding
trick it tests (parser differentials are about bytes, not APIs)."""
import json, os, struct, sys
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

OUT = sys.argv[1] if len(sys.argv) > 1 else "."


def p(*a):
    d = os.path.join(OUT, *a)
    os.makedirs(os.path.dirname(d), exist_ok=True)
    return d


def w(path, data):
    with open(p(path), "wb" if isinstance(data, bytes) else "w", **({} if isinstance(data, bytes) else {"encoding": "utf-8"})) as f:
        f.write(data)


# ------------------------------------------------------------ protobuf bytes
def vint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(num, wt):
    return vint(num << 3 | wt)


def ld(num, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return tag(num, 2) + vint(len(payload)) + payload


def vf(num, v):
    return tag(num, 0) + vint(v)


# ---------------------------------------------------------------- ONNX
def ext_tensor(name, loc):
    t = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=[1])
    t.data_location = TensorProto.EXTERNAL
    for k, v in [("location", loc), ("offset", "0"), ("length", "4")]:
        e = t.external_data.add(); e.key = k; e.value = v
    return t


def out_graph(nodes, inits=(), name="g"):
    return helper.make_graph(list(nodes), name, [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
                             initializer=list(inits))


def model_with_init(t):
    g = out_graph([helper.make_node("Identity", [t.name], ["y"])], [t])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def save(path, m, data=True):
    w(path, m.SerializeToString() if hasattr(m, "SerializeToString") else m)
    if data:
        w(os.path.join(os.path.dirname(path), "w.data"), b"\0" * 16)


# Path characters that Windows' "best fit" ANSI conversion turns into '.',
# '/' or '\' (the WorstFit class): a loader built on the ANSI file APIs
# opens ../../etc/passwd, while Linux sees a strange folder name.
save("onnx/ext-fullwidth-dots/model.onnx", model_with_init(ext_tensor("w", "\uff0e\uff0e/\uff0e\uff0e/etc/passwd")))
save("onnx/ext-fullwidth-solidus/model.onnx", model_with_init(ext_tensor("w", "..\uff0f..\uff0fsecret.bin")))
save("onnx/ext-yen-backslash/model.onnx", model_with_init(ext_tensor("w", "..\u00a5..\u00a5secret.bin")))

# (External data naming .git/config is built by redteam2_test.go at test
# time: git refuses to store a .git folder inside the repository.)

# A StringStringEntryProto whose key field is repeated: protobuf keeps the
# last ("location"), so a reader keeping the first ("offset") misses it.
entry = ld(1, "offset") + ld(1, "location") + ld(2, "/etc/passwd")
tensor = ld(8, "w") + vf(2, 1) + vf(1, 1) + ld(13, entry) + vf(14, 1)
graph = ld(1, ld(1, "w") + ld(2, "y") + ld(4, "Identity")) + ld(2, "g") + ld(5, tensor) + \
    ld(12, ld(1, "y") + ld(2, ld(1, ld(1, vf(1, 1)))))
model = vf(1, 8) + ld(7, graph) + ld(8, ld(1, "") + vf(2, 17))
save("onnx/ext-entry-key-repeated/model.onnx", model)

# A location whose value field is repeated: the last (an absolute path) wins.
entry = ld(1, "location") + ld(2, "w.data") + ld(2, "/etc/passwd")
tensor = ld(8, "w") + vf(2, 1) + vf(1, 1) + ld(13, entry) + vf(14, 1)
graph = ld(1, ld(1, "w") + ld(2, "y") + ld(4, "Identity")) + ld(2, "g") + ld(5, tensor)
save("onnx/ext-value-repeated/model.onnx", vf(1, 8) + ld(7, graph) + ld(8, ld(1, "") + vf(2, 17)))

# External data in the default value of a model-local function's attribute
# (FunctionProto.attribute_proto), used when the caller omits it.
fn = onnx.FunctionProto(name="Leak", domain="local.fns", output=["y"])
fn.opset_import.extend([helper.make_opsetid("", 17)])
fn.node.extend([helper.make_node("Constant", [], ["y"], value=ext_tensor("c", "w.data"))])
# (Debian's onnx 1.12 predates attribute_proto: field 11 is appended raw.)
fa = ld(1, "init") + vf(20, 4) + ld(5, ext_tensor("d", "/etc/shadow").SerializeToString())
g = out_graph([helper.make_node("Leak", [], ["y"], domain="local.fns")])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local.fns", 1)])
save("onnx/ext-in-function-attr-default/model.onnx", m.SerializeToString() + ld(25, fn.SerializeToString() + ld(11, fa)))

# A graph inside an attribute of a node inside a model-local function: If
# branches in a function body reading ..\..\ on Windows.
then_g = out_graph([helper.make_node("Constant", [], ["y"], value=ext_tensor("c", "..\\..\\secret.bin"))], name="then")
else_g = out_graph([helper.make_node("Constant", [], ["y"], value=numpy_helper.from_array(np.zeros(1, np.float32)))], name="else")
fn = helper.make_function("local.fns", "Branchy", ["cond"], ["y"],
    [helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g)], [helper.make_opsetid("", 17)])
g = helper.make_graph([helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(np.array(True))),
                       helper.make_node("Branchy", ["c"], ["y"], domain="local.fns")], "g", [],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
save("onnx/ext-in-if-in-function/model.onnx", helper.make_model(g, functions=[fn],
     opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local.fns", 1)]))

# A custom-domain op hidden in a Scan body inside a local function.
body = helper.make_graph([helper.make_node("Steal", ["s"], ["o"], domain="evil.ops")], "body",
                         [helper.make_tensor_value_info("s", TensorProto.FLOAT, [1])],
                         [helper.make_tensor_value_info("o", TensorProto.FLOAT, [1])])
fn = helper.make_function("local.fns", "Scanny", ["x"], ["y"],
    [helper.make_node("Scan", ["x"], ["y"], body=body, num_scan_inputs=1)], [helper.make_opsetid("", 17)])
g = helper.make_graph([helper.make_node("Scanny", ["x"], ["y"], domain="local.fns")], "g",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
save("onnx/custom-op-in-scan-in-function/model.onnx", helper.make_model(g, functions=[fn],
     opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local.fns", 1)]), data=False)

# Wire-format tricks: a group (wire type 3) inside a node, a field number
# past protobuf's 2^29-1 limit, an 11-byte varint.
node = ld(1, "x") + ld(2, "y") + ld(4, "Identity") + tag(99, 3) + vf(1, 1) + tag(99, 4)
graph = ld(1, node) + ld(2, "g")
save("onnx/group-in-node/model.onnx", vf(1, 8) + ld(7, graph) + ld(8, ld(1, "") + vf(2, 17)), data=False)
save("onnx/field-number-too-large/model.onnx", vf(1, 8) + ld(7, ld(2, "g")) + vint((1 << 29) << 3 | 2) + vint(1) + b"x", data=False)
save("onnx/overlong-varint/model.onnx", vf(1, 8) + ld(7, ld(2, "g")) + tag(5, 0) + b"\xff" * 10 + b"\x01", data=False)

# ---------------------------------------------------------------- GGUF
GGUF_U32, GGUF_I32, GGUF_STRING, GGUF_ARRAY, GGUF_U64 = 4, 5, 8, 9, 10


def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, typ, payload):
    return gstr(key) + struct.pack("<I", typ) + payload


def tinfo(name, dims, typ, off):
    return gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d & (2**64 - 1)) for d in dims) + \
        struct.pack("<IQ", typ, off)


def gguf(kvs, tensors, data=b"\0" * 64, align=32):
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs) + b"".join(tensors)
    head += b"\0" * (-len(head) % align)
    return head + data


arch = kv("general.architecture", GGUF_STRING, gstr("llama"))
w("gguf/alignment-zero.gguf", gguf([arch, kv("general.alignment", GGUF_U32, struct.pack("<I", 0))], [tinfo("t", [4], 0, 0)]))
w("gguf/alignment-string-array.gguf", gguf([arch, kv("general.alignment", GGUF_ARRAY, struct.pack("<IQ", GGUF_STRING, 1) + gstr("64"))],
                                            [tinfo("t", [4], 0, 0)]))
w("gguf/n-dims-5.gguf", gguf([arch], [tinfo("t", [1, 1, 1, 1, 4], 0, 0)]))
w("gguf/tensor-type-unknown.gguf", gguf([arch], [tinfo("t", [4], 99, 0)]))
w("gguf/dims-product-overflow.gguf", gguf([arch], [tinfo("t", [1 << 32, 1 << 32, 16], 0, 0)]))
w("gguf/negative-dim.gguf", gguf([arch], [tinfo("t", [-1 & (2**64 - 1), 4], 0, 0)]))
w("gguf/tokenizer-billions.gguf", gguf([arch, kv("tokenizer.ggml.tokens", GGUF_ARRAY, struct.pack("<IQ", GGUF_STRING, 3_000_000_000) + gstr("a"))], []))
w("gguf/kv-type-unknown.gguf", gguf([arch, kv("general.name", 99, b"\0" * 8)], [tinfo("t", [4], 0, 0)]))
w("gguf/misaligned-offset.gguf", gguf([arch, kv("general.alignment", GGUF_U32, struct.pack("<I", 64))],
                                      [tinfo("a", [8], 0, 0), tinfo("b", [8], 0, 32)], data=b"\0" * 128, align=64))

# ---------------------------------------------------------------- safetensors


def st(header, data, raw=None):
    h = raw if raw is not None else json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


t4 = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
w("safetensors/metadata-value-number.safetensors", st({"__metadata__": {"format": "pt", "step": 3}, "w": t4}, b"\0" * 4))
w("safetensors/metadata-nested-object.safetensors", st({"__metadata__": {"format": {"x": "pt"}}, "w": t4}, b"\0" * 4))
# New dtypes that real files carry (safetensors 0.6: MX scales and FP4/FP6
# packs): a loader that knows them reads the file, so they are no alarm.
w("safetensors/new-dtype-f8-e8m0.safetensors", st({"w": {"dtype": "F8_E8M0", "shape": [4], "data_offsets": [0, 4]}}, b"\x7f" * 4))
w("safetensors/new-dtype-f4.safetensors", st({"w": {"dtype": "F4", "shape": [8], "data_offsets": [0, 4]}}, b"\0" * 4))
w("safetensors/trailing-json.safetensors", st(None, b"\0" * 4, raw=b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}{"x":1}'))
w("safetensors/nul-padding.safetensors", struct.pack("<Q", 56) + b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'.ljust(56, b"\0") + b"\0" * 4)
w("safetensors/offsets-exponent.safetensors", st(None, b"\0" * 4, raw=b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4e0]}}'))
w("safetensors/bom-header.safetensors", st(None, b"\0" * 4, raw=b'\xef\xbb\xbf{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'))
w("safetensors/negative-shape.safetensors", st(None, b"\0" * 4, raw=b'{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}'))

# ---------------------------------------------------------------- TF.js


def tfjs(path, paths, extra_json=None):
    man = {"format": "graph-model", "generatedBy": "2.x", "convertedBy": "TensorFlow.js Converter v4",
           "modelTopology": {"node": [], "library": {}, "versions": {}},
           "weightsManifest": [{"paths": paths, "weights": [{"name": "w", "shape": [1], "dtype": "float32"}]}]}
    w(path + "/model.json", extra_json if extra_json is not None else json.dumps(man))
    w(path + "/group1-shard1of1.bin", b"\0" * 4)


# WHATWG URL parsing (fetch in browsers and Node) treats %2e%2e as "..":
# the shard URL resolves outside the model's folder.
tfjs("tfjs/percent-dotdot-shard", ["%2e%2e/%2E%2E/secret.bin"])
tfjs("tfjs/percent-dot-mixed-shard", [".%2e/.%2e/secret.bin"])
# WHATWG URLs treat '\' as '/' in http(s)/file URLs.
tfjs("tfjs/backslash-shard", ["..\\..\\secret.bin"])
# JSON with "paths" twice: JSON.parse keeps the last.
tfjs("tfjs/duplicate-paths-key", None, extra_json='{"format":"graph-model","modelTopology":{"node":[]},'
     '"weightsManifest":[{"paths":["group1-shard1of1.bin"],"paths":["../../secret.bin"],'
     '"weights":[{"name":"w","shape":[1],"dtype":"float32"}]}]}')

# ---------------------------------------------------------------- OpenVINO


def ir(layers):
    return '<?xml version="1.0"?>\n<net name="m" version="11">\n<layers>\n' + layers + '</layers>\n<edges/>\n</net>\n'


# An extension op registered under a standard opset name: OpenVINO's IR
# reader looks (type, version) up among the loaded extensions too, so an
# "opset8" layer type that no opset defines runs the extension's code.
w("openvino/custom-op-standard-opset.xml", ir('<layer id="0" name="x" type="Parameter" version="opset1"><data shape="1" element_type="f32"/></layer>\n'
  '<layer id="1" name="evil" type="StealCredentials" version="opset8"><input><port id="0"/></input></layer>\n'))
w("openvino/custom-op-no-version.xml", ir('<layer id="0" name="evil" type="StealCredentials"/>\n'))
# Two type/version attributes: readers that keep the first and the last
# see different operations.
w("openvino/duplicate-attribute.xml", ir('<layer id="0" name="c" type="Parameter" version="opset1" version="my_extension"><data shape="1" element_type="f32"/></layer>\n'))

# ---------------------------------------------------------------- PMML
# JPMML-Evaluator resolves an Apply function that is neither built in nor
# a DefineFunction by loading that class from the classpath
# (FunctionRegistry.getFunction -> ClassLoader.loadClass -> newInstance).
w("pmml/java-udf-apply.pmml", '<?xml version="1.0"?>\n<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">\n'
  '<Header/>\n<DataDictionary><DataField name="x" optype="continuous" dataType="double"/></DataDictionary>\n'
  '<TransformationDictionary><DerivedField name="y" optype="continuous" dataType="double">'
  '<Apply function="com.example.udf.RunCommand"><FieldRef field="x"/></Apply></DerivedField></TransformationDictionary>\n'
  '<RegressionModel functionName="regression"><MiningSchema><MiningField name="x"/></MiningSchema>'
  '<RegressionTable intercept="0"/></RegressionModel>\n</PMML>\n')

# ---------------------------------------------------------------- SavedModel


def saved_model(path, meta, extra=None):
    w(path + "/saved_model.pb", vf(1, 1) + ld(2, meta))
    w(path + "/variables/variables.index", b"")
    for k, v in (extra or {}).items():
        w(path + "/" + k, v)


def nodedef(name, op, attrs=b""):
    return ld(1, name) + ld(2, op) + attrs


def asset(fname):
    return ld(6, ld(1, ld(1, "asset_path")) + ld(2, fname))


# Asset file names that are device names or dot-only names on Windows.
saved_model("tf/asset-device-name", asset("CON"))
saved_model("tf/asset-dots-only", asset("..."))
# A checkpoint writer in the serving function with the path baked in: not
# the saver's own traced save function, whose path the loader feeds.
fdef = ld(1, ld(1, "__inference_serve_123")) + ld(3, nodedef("w", "SaveV2"))
saved_model("tf/savev2-in-serving-function", ld(2, ld(2, ld(1, fdef))))
fdef = ld(1, ld(1, "__inference_serve_9")) + ld(3, nodedef("m", "MergeV2Checkpoints"))
saved_model("tf/merge-checkpoints-in-function", ld(2, ld(2, ld(1, fdef))))
# Text SavedModel: the asset name climbs out of assets/.
w("tf/pbtxt-asset-path/saved_model.pbtxt", 'saved_model_schema_version: 1\nmeta_graphs {\n  asset_file_def {\n'
  '    tensor_info { name: "Const:0" }\n    filename: "../../../etc/passwd"\n  }\n}\n')
w("tf/pbtxt-asset-path/variables/variables.index", b"")

# ---------------------------------------------------------------- MLflow
# A YAML merge key (<<) pulls loader_module in from an anchor: PyYAML's
# safe_load applies it, so mlflow imports the module.
w("mlflow/merge-key-loader/MLmodel", "base: &b\n  loader_module: evil_loader\n  python_version: 3.10.12\n"
  "flavors:\n  python_function:\n    <<: *b\n    env: conda.yaml\n")
w("mlflow/merge-key-loader/conda.yaml", "name: m\ndependencies:\n- python=3.10\n")
w("mlflow/duplicate-loader-module/MLmodel", "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"
  "    loader_module: evil_loader\n    python_version: 3.10.12\n")

# ---------------------------------------------------------------- NeMo
# NeMo's restore_from imports cfg.target (import_class_by_path): the same
# "import and call a name from the config" class as hydra's _target_.
w("nemo/target-key/model_config.yaml", "target: os.system\nsample_rate: 16000\n")

# ---------------------------------------------------------------- Paddle
# ProgramDesc (framework.proto): blocks(1){idx 1, parent_idx 2, ops 4{type 3, attrs 4{name 1, type 2, s 5}}}.
def pd_op(typ, attrs=()):
    return ld(4, ld(3, typ) + b"".join(ld(4, ld(1, k) + vf(2, 2) + ld(5, v)) for k, v in attrs))


def pd_program(*ops):
    return ld(1, vf(1, 0) + tag(2, 0) + b"\xff" * 9 + b"\x01" + b"".join(ops))


# read_file reads the file its "filename" attribute names into a tensor.
w("paddle/pdmodel-read-file.pdmodel", pd_program(pd_op("feed"), pd_op("read_file", [("filename", "/home/u/.ssh/id_rsa")]), pd_op("fetch")))
w("paddle/pdmodel-listen-and-serv.pdmodel", pd_program(pd_op("listen_and_serv", [("endpoint", "0.0.0.0:6174")])))
# Paddle 3 PIR JSON: the same operators under compressed dialect names.
pir_head = ('{"base_code":{"magic":"pir","trainable":false,"version":1},"program":{"regions":[{"#":"region_0",'
            '"blocks":[{"#":"block_0","args":[],"ops":[')
w("paddle/pir-read-file/model.json", pir_head + '{"#":"1.data","A":[{"AT":{"#":"0.a_str","D":"x"},"N":"name"}],"I":[],"O":[{"%":1}]},'
  '{"#":"1.read_file","A":[{"N":"filename","AT":{"#":"0.a_str","D":"/home/u/.ssh/id_rsa"}}],"I":[],"O":[{"%":2}]},'
  '{"#":"1.fetch","A":[{"AT":{"#":"0.a_str","D":"out"},"N":"name"}],"I":[{"%":2}],"O":[{"%":3}]}]}]}]}}')
w("paddle/pir-custom-op/model.json", pir_head + '{"#":"3.steal_credentials","A":[],"I":[],"O":[{"%":1}]}]}]}]}}')
w("paddle/pir-save-in-if/model.json", pir_head + '{"#":"1.if","I":[],"O":[],"regions":[{"#":"region_1","blocks":[{"#":"block_1","args":[],'
  '"ops":[{"#":"1.save_combine","A":[{"N":"file_path","AT":{"#":"0.a_str","D":"/etc/cron.d/x"}}]}]}]}]}]}]}]}}')

# ---------------------------------------------------------------- Core ML
# Manifest.json item paths are joined to Data/ by std::filesystem's
# operator/ (modelpackage/src/ModelPackage.cpp findItem): ".." and
# absolute paths leave the package, so the root model is another file.
def mlpackage(path, root_path):
    w(path + "/Manifest.json", json.dumps({"fileFormatVersion": "1.0.0", "itemInfoEntries": {
        "A1": {"author": "com.apple.CoreML", "description": "CoreML Model Specification", "name": "model.mlmodel", "path": root_path},
        "B2": {"author": "com.apple.CoreML", "description": "CoreML Model Weights", "name": "weights", "path": "com.apple.CoreML/weights"}},
        "rootModelIdentifier": "A1"}, indent=4))
    spec = vf(1, 4) + ld(2, b"") + ld(500, ld(1, ld(1, "dense")))
    w(path + "/Data/com.apple.CoreML/model.mlmodel", spec)
    w(path + "/Data/com.apple.CoreML/weights/weight.bin", b"\0" * 64)


mlpackage("coreml/manifest-root-outside.mlpackage", "../../../Downloads/unscanned.mlmodel")
mlpackage("coreml/manifest-root-absolute.mlpackage", "/tmp/unscanned.mlmodel")
# A custom layer inside the else network of a branch layer (605) and the
# body of a loop layer (615).
custom = ld(1, "evil") + ld(500, ld(10, "HiddenNativeLayer"))
w("coreml/custom-layer-in-branch.mlmodel", vf(1, 4) + ld(500, ld(1, ld(1, "if") + ld(605, ld(1, ld(1, ld(1, "a"))) + ld(2, ld(1, custom))))))
w("coreml/custom-layer-in-loop.mlmodel", vf(1, 4) + ld(500, ld(1, ld(1, "loop") + ld(615, vf(1, 3) + ld(4, ld(1, custom))))))
# ML Program (MIL.proto) weights: a const op's blobFileValue names the file
# Core ML reads the tensor from, relative to @model_path.
def mil_model(file_name, nested=False):
    blob = ld(5, ld(1, file_name) + vf(2, 64))
    op = ld(1, "const") + ld(5, ld(1, "val") + ld(2, blob))
    if nested:
        op = ld(1, "cond") + ld(4, ld(3, op))
    block = ld(2, "out") + ld(3, op)
    fn = ld(2, "CoreML5") + ld(3, ld(1, "CoreML5") + ld(2, block))
    return vf(1, 7) + ld(502, vf(1, 1) + ld(2, ld(1, "main") + ld(2, fn)))


w("coreml/mil-blob-climbs.mlmodel", mil_model("@model_path/../../../../home/u/.ssh/id_rsa"))
w("coreml/mil-blob-absolute.mlmodel", mil_model("/etc/passwd"))
w("coreml/mil-blob-in-cond-block.mlmodel", mil_model("@model_path/../../secret.bin", nested=True))

# ---------------------------------------------------------------- Hugging Face folders
# sentence-transformers: import_from_string resolves the last component as
# an attribute, so a module re-exported by a sentence_transformers module
# passes a prefix check; and load_dir_path joins "path" with os.path.join.
w("hf/st-reexported-torch/modules.json", json.dumps([{"idx": 0, "name": "0", "path": "w.pt", "type": "sentence_transformers.util.torch"}]))
w("hf/st-module-path-escape/modules.json", json.dumps([
    {"idx": 0, "name": "0", "path": "../../../../tmp/unscanned-model", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
w("hf/st-module-path-escape/1_Pooling/config.json", json.dumps({"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True}))
w("hf/st-real-layout/modules.json", json.dumps([
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]))
w("hf/st-real-layout/1_Pooling/config.json", json.dumps({"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True}))

# MLflow flavors that keep a module name in a text file beside the data:
# mlflow.pytorch imports data/pickle_module_info.txt as torch.load's
# pickle_module; the Keras flavor imports data/keras_module.txt.
w("mlflow/pytorch-pickle-module/MLmodel", "flavors:\n  pytorch:\n    model_data: data\n    pytorch_version: 2.3.0\n"
  "  python_function:\n    loader_module: mlflow.pytorch\n    data: data\n    python_version: 3.10.12\n")
w("mlflow/pytorch-pickle-module/data/pickle_module_info.txt", "dill")
w("mlflow/keras-module-file/MLmodel", "flavors:\n  keras:\n    data: data\n    keras_module: tensorflow.keras\n    save_format: tf\n")
w("mlflow/keras-module-file/data/keras_module.txt", "my_keras_shim")

# TF.js graph model ops outside TF.js's op list run only with tf.registerOp
# (JavaScript the application supplies); the converter hands TF ops such as
# WriteFile back to TensorFlow when it rebuilds a SavedModel.
w("tfjs/graph-custom-op/model.json", json.dumps({"format": "graph-model", "generatedBy": "2.15.0", "convertedBy": "TensorFlow.js Converter v4.17.0",
  "modelTopology": {"node": [{"name": "x", "op": "Placeholder"}, {"name": "c", "op": "f1", "input": ["x"]}],
                    "library": {"function": [{"signature": {"name": "f1"}, "nodeDef": [{"name": "w", "op": "WriteFile"}]}]}},
  "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": [{"name": "w", "shape": [1], "dtype": "float32"}]}]}))
w("tfjs/graph-custom-op/group1-shard1of1.bin", b"\0" * 4)

# ---------------------------------------------------------------- LightGBM
# Tree::GetLeaf (include/LightGBM/tree.h) follows child indices without a
# bounds check; StringToArrayFast reads a fixed count without checking it.
def lgbm(tree):
    return ("tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=3\n"
            "objective=binary sigmoid:1\nfeature_names=a b c d\nfeature_infos=[0:1] [0:1] [0:1] [0:1]\ntree_sizes=300\n\n"
            "Tree=0\n" + tree + "\n\n\nend of trees\n\nfeature_importances:\na=1\n\nparameters:\n[boosting: gbdt]\nend of parameters\n\npandas_categorical:null\n")


good = ("num_leaves=4\nnum_cat=0\nsplit_feature=2 0 3\nsplit_gain=5 2 1\nthreshold=0.5 1.5 -0.25\ndecision_type=2 2 2\n"
        "left_child=1 -1 -3\nright_child=2 -2 -4\nleaf_value=0.1 -0.1 0.2 -0.2\nshrinkage=1")
w("lightgbm/child-out-of-tree.txt", lgbm(good.replace("right_child=2 -2 -4", "right_child=1000000 -2 -4")))
w("lightgbm/cycle.txt", lgbm(good.replace("left_child=1 -1 -3", "left_child=1 0 -3")))
w("lightgbm/feature-past-row.txt", lgbm(good.replace("split_feature=2 0 3", "split_feature=2 0 4000000")))
w("lightgbm/real-shaped.txt", lgbm(good))

# ---------------------------------------------------------------- XGBoost
# RegTree::LoadModel (src/tree/tree_model.cc) reads self[parent] for every
# node unchecked; the predictor follows children unchecked. The real model
# of formats/xgboost/testdata, tampered.
HERE = os.path.dirname(os.path.abspath(__file__))
real_xgb = open(os.path.join(HERE, "../../../formats/xgboost/testdata/model.json")).read()
w("xgboost/child-out-of-tree.json", real_xgb.replace('"left_children":[1,3,5,', '"left_children":[1,3,5000000,', 1))
w("xgboost/parent-out-of-tree.json", real_xgb.replace('"parents":[2147483647,0,0,1,1,2,2]', '"parents":[2147483647,0,0,1,1,2,-900000]', 1))
w("xgboost/cycle.json", real_xgb.replace('"left_children":[1,3,5,', '"left_children":[1,0,5,', 1))
real_ubj = bytearray(open(os.path.join(HERE, "../../../formats/xgboost/testdata/model.ubj"), "rb").read())
i = real_ubj.find(b"left_children[$l#L") + len(b"left_children[$l#L") + 8 + 2 * 4
real_ubj[i:i + 4] = struct.pack(">i", 5000000)
w("xgboost/ubj-child-out-of-tree.ubj", bytes(real_ubj))
