#!/usr/bin/python3
"""Builds the HDF5 and .keras fixtures of formats/keras tests with Debian's
python3-h5py (Keras itself is not installed: the files are laid out as
Keras 2 `model.save('x.h5')` and Keras 3 `model.save('x.keras')` lay them
out, with configs in the shape those versions write).

Run from this folder: /usr/bin/python3 make_fixtures.py
"""
import base64
import io
import json
import marshal
import os
import pickle
import zipfile

import h5py
import numpy as np

OUT = os.path.dirname(os.path.abspath(__file__))


def dense(units, name):
    return {"class_name": "Dense", "config": {"name": name, "units": units, "activation": "relu",
                                               "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
                                               "kernel_regularizer": None, "use_bias": True}}


def keras2_config(extra_layers=()):
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32", "name": "input_1"}},
        dense(8, "dense"), *extra_layers, dense(2, "dense_1")]}}


def marshal_b64(fn):
    return base64.b64encode(marshal.dumps(fn.__code__)).decode()


def h5(name, attrs, libver=None, userblock=0, weights=True):
    kw = {}
    if libver:
        kw["libver"] = libver
    if userblock:
        kw["userblock_size"] = userblock
    with h5py.File(os.path.join(OUT, name), "w", **kw) as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        if weights:
            g = f.create_group("model_weights")
            g.attrs["layer_names"] = [b"dense", b"dense_1"]
            g.create_dataset("dense/kernel:0", data=np.ones((4, 8), np.float32))


def keras2_attrs(cfg):
    # Keras 2 writes json.dumps(...).encode('utf8'): h5py stores bytes as a
    # variable-length string in a global heap.
    return {"model_config": json.dumps(cfg).encode("utf8"), "keras_version": b"2.15.0", "backend": b"tensorflow",
            "training_config": json.dumps({"loss": "mse", "optimizer_config": {"class_name": "Adam", "config": {"learning_rate": 0.001, "clipnorm": float("nan")}}}).encode()}


def make_h5():
    h5("keras2_benign.h5", keras2_attrs(keras2_config()))
    lam = {"class_name": "Lambda", "config": {"name": "lambda", "function": [marshal_b64(lambda x: x * 2), None, None],
                                              "function_type": "lambda", "module": "__main__", "output_shape": None, "arguments": {}}}
    h5("keras2_lambda.h5", keras2_attrs(keras2_config([lam])))
    # Fixed-length string (numpy bytes_), a user block, and v2 object headers.
    h5("keras2_fixed_string.h5", {"model_config": np.bytes_(json.dumps(keras2_config()).encode())})
    h5("keras2_userblock.h5", keras2_attrs(keras2_config([lam])), userblock=512)
    h5("keras2_latest.h5", keras2_attrs(keras2_config()), libver="latest")
    # More attributes than the compact limit (8) with libver=latest: dense
    # storage in a fractal heap, which the reader reports it cannot read.
    many = keras2_attrs(keras2_config([lam]))
    for i in range(12):
        many["extra_%d" % i] = b"x"
    h5("keras2_dense_attrs.h5", many, libver="latest")
    h5("weights_only.h5", {}, weights=True)


def keras3_layer(cls, cfg, module="keras.layers", registered=None):
    return {"module": module, "class_name": cls, "config": cfg, "registered_name": registered}


def keras3_model(layers):
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "trainable": True, "dtype": {
        "module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None},
        "layers": [keras3_layer("InputLayer", {"batch_shape": [None, 4], "dtype": "float32", "name": "input_layer"}),
                   keras3_layer("Dense", {"name": "dense", "units": 2, "activation": "relu",
                                          "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": None}, "registered_name": None}}),
                   *layers]}, "registered_name": None, "build_config": {"input_shape": [None, 4]},
        "compile_config": {"loss": "mse", "optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {"learning_rate": 0.001}, "registered_name": None}}}


def weights_h5():
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_group("layers").create_group("dense").create_group("vars").create_dataset("0", data=np.ones((4, 2), np.float32))
    return buf.getvalue()


def keras_zip(name, cfg, extra=None):
    with zipfile.ZipFile(os.path.join(OUT, name), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.6.0", "date_saved": "2024-11-01@12:00:00"}))
        z.writestr("config.json", json.dumps(cfg))
        z.writestr("model.weights.h5", weights_h5())
        for k, v in (extra or {}).items():
            z.writestr(k, v)


def make_keras():
    keras_zip("benign.keras", keras3_model([]))
    keras_zip("lambda.keras", keras3_model([keras3_layer("Lambda", {"name": "lambda", "function": {
        "class_name": "__lambda__", "config": {"code": marshal_b64(lambda x: x + 1), "defaults": None, "closure": None}}})]))
    keras_zip("module_os.keras", keras3_model([{"module": "os", "class_name": "system", "config": {"command": "id"}, "registered_name": None}]))
    keras_zip("unknown_module.keras", keras3_model([keras3_layer("FancyLayer", {"name": "f"}, module="fancy_layers.core")]))
    keras_zip("torch_wrapper.keras", keras3_model([keras3_layer("TorchModuleWrapper", {"name": "tw", "module": base64.b64encode(b"\x80\x04K\x01.").decode()}, module="keras.layers")]))
    keras_zip("tfsm.keras", keras3_model([keras3_layer("TFSMLayer", {"name": "sm", "filepath": "/tmp/other_model"})]))
    keras_zip("custom_object.keras", keras3_model([keras3_layer("MyLayer", {"name": "m"}, module="keras.layers", registered="MyPackage>MyLayer")]))
    blob = base64.b64encode(pickle.dumps(os.system, protocol=4)).decode()
    keras_zip("embedded_pickle.keras", keras3_model([keras3_layer("Dense", {"name": "d", "units": 1, "payload": blob})]))
    keras_zip("marshal_blob.keras", keras3_model([keras3_layer("Dense", {"name": "d", "units": 1, "note": marshal_b64(lambda: 0)})]))
    keras_zip("unsafe.keras", keras3_model([keras3_layer("Dense", {"name": "d", "units": 1, "hook": "keras.config.enable_unsafe_deserialization"})]))
    keras_zip("pickle_asset.keras", keras3_model([]), {"assets/tokenizer.pkl": pickle.dumps({"a": 1})})


def make_dense_links():
    # A Keras 2 file saved with libver="latest": groups keep their links
    # compactly up to 8, then in dense storage (a fractal heap indexed by a
    # v2 B-tree). 12 layers put model_weights' links in a heap; 600 more
    # hard links make the heap grow indirect blocks and the B-tree a level.
    layers = [dense(2, "dense_%d" % i) for i in range(12)]
    cfg = {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}
    with h5py.File(os.path.join(OUT, "keras2_dense_links.h5"), "w", libver="latest") as f:
        for k, v in keras2_attrs(cfg).items():
            f.attrs[k] = v
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [("dense_%d" % i).encode() for i in range(12)]
        for i in range(12):
            g.create_group("dense_%d" % i).create_dataset("kernel:0", data=np.ones((2, 2), np.float32))
        k = g["dense_0/kernel:0"]
        many = f.create_group("aliases")
        for i in range(600):
            many["k%04d" % i] = k


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["dense_links"]:
        make_dense_links()
    else:
        make_h5()
        make_keras()
        make_dense_links()
