#!/usr/bin/python3
"""Builds the ONNX fixtures of formats/onnx tests with Debian's python3-onnx.

Run from this folder: /usr/bin/python3 make_fixtures.py
Benign files are real layouts written by onnx itself; hostile twins edit
one field (an external data location, an offset, a domain) of a benign one.
"""
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.dirname(os.path.abspath(__file__))


def small_graph(name="g", init_name="W", n=4):
    w = numpy_helper.from_array(np.arange(n * n, dtype=np.float32).reshape(n, n), init_name)
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, n])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, n])
    node = helper.make_node("MatMul", ["X", init_name], ["Y"], name="mm")
    return helper.make_graph([node], name, [x], [y], [w])


def model(graph, opsets=None, **kw):
    opsets = opsets or [helper.make_opsetid("", 13)]
    m = helper.make_model(graph, opset_imports=opsets, producer_name="modelvet-fixtures", **kw)
    m.ir_version = 8
    return m


def save(m, name):
    onnx.save_model(m, os.path.join(OUT, name))


def plain():
    save(model(small_graph()), "plain.onnx")


def external_dir(dirname, mutate=None, truncate=None):
    d = os.path.join(OUT, dirname)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    m = model(small_graph(n=16))
    onnx.save_model(m, os.path.join(d, "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    if mutate or truncate:
        m = onnx.load_model(os.path.join(d, "model.onnx"), load_external_data=False)
        if mutate:
            mutate(m)
        onnx.save_model(m, os.path.join(d, "model.onnx"))
        if truncate:
            with open(os.path.join(d, "weights.bin"), "r+b") as f:
                f.truncate(truncate)


def set_location(loc):
    def f(m):
        for t in m.graph.initializer:
            for e in t.external_data:
                if e.key == "location":
                    e.value = loc
    return f


def external_in_memory(name, loc, in_loop=False):
    """A single-file model whose tensor claims external data at loc."""
    t = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[4, 4])
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", loc), ("offset", "0"), ("length", "64")):
        e = t.external_data.add()
        e.key, e.value = k, v
    if not in_loop:
        g = small_graph()
        del g.initializer[:]
        g.initializer.append(t)
        save(model(g), name)
        return
    save(loop_model(hidden=t), name)


def loop_model(hidden=None):
    # Loop body: a Constant node (its attribute holds a tensor) and Identity.
    body_const = helper.make_node("Constant", [], ["c"], value=hidden if hidden is not None else
                                  numpy_helper.from_array(np.ones((2,), np.float32), "cv"))
    body = helper.make_graph(
        [body_const,
         helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Identity", ["c"], ["scan_out"])],
        "body",
        [helper.make_tensor_value_info("iter", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("scan_out", TensorProto.FLOAT, None)])
    loop = helper.make_node("Loop", ["M", "cond"], ["out"], body=body, name="loop")
    then_g = helper.make_graph([helper.make_node("Constant", [], ["t"], value=numpy_helper.from_array(np.zeros((1,), np.float32), "tv"))],
                               "then", [], [helper.make_tensor_value_info("t", TensorProto.FLOAT, [1])])
    else_g = helper.make_graph([helper.make_node("Constant", [], ["e"], value=numpy_helper.from_array(np.ones((1,), np.float32), "ev"))],
                               "else", [], [helper.make_tensor_value_info("e", TensorProto.FLOAT, [1])])
    iff = helper.make_node("If", ["cond"], ["r"], then_branch=then_g, else_branch=else_g, name="if")
    g = helper.make_graph(
        [loop, iff], "main",
        [helper.make_tensor_value_info("M", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("r", TensorProto.FLOAT, [1])])
    return model(g)


def function_model():
    f = helper.make_function("custom.fn", "MyRelu", ["x"], ["y"],
                             [helper.make_node("Relu", ["x"], ["y"])],
                             [helper.make_opsetid("", 13)])
    g = helper.make_graph([helper.make_node("MyRelu", ["X"], ["Y"], domain="custom.fn")], "main",
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])])
    m = model(g, opsets=[helper.make_opsetid("", 13), helper.make_opsetid("custom.fn", 1)])
    m.functions.append(f)
    save(m, "function.onnx")


def sparse_model():
    values = numpy_helper.from_array(np.array([1.0, 2.0], np.float32), "sv")
    indices = numpy_helper.from_array(np.array([0, 5], np.int64), "si")
    sp = helper.make_sparse_tensor(values, indices, [8])
    g = helper.make_graph([helper.make_node("Identity", ["S"], ["Y"])], "main", [],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [8])],
                          sparse_initializer=[sp])
    g.sparse_initializer[0].values.name = "S"
    save(model(g), "sparse.onnx")


def custom_domain():
    g = helper.make_graph([helper.make_node("EvilOp", ["X"], ["Y"], domain="com.attacker.ops")], "main",
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])])
    save(model(g, opsets=[helper.make_opsetid("", 13), helper.make_opsetid("com.attacker.ops", 1)]), "custom_domain.onnx")


def contrib_domain():
    g = helper.make_graph([helper.make_node("FusedGemm", ["X", "X"], ["Y"], domain="com.microsoft")], "main",
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 2])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 2])])
    save(model(g, opsets=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)]), "contrib.onnx")


def ep_context(name, embed, path=None):
    attrs = dict(embed_mode=embed, source="QNNExecutionProvider")
    attrs["ep_cache_context"] = path.encode() if path is not None else b"\x7fELF-compiled-context-blob"
    g = helper.make_graph([helper.make_node("EPContext", ["X"], ["Y"], domain="com.microsoft", **attrs)], "main",
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])])
    save(model(g, opsets=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)]), name)


def torch_export():
    """A model written by torch.onnx.export (Debian's python3-torch)."""
    import torch
    m = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU(), torch.nn.LayerNorm(4))
    torch.onnx.export(m, torch.randn(1, 8), os.path.join(OUT, "torch_export.onnx"), opset_version=17)


if __name__ == "__main__":
    torch_export()
    plain()
    save(loop_model(), "subgraphs.onnx")
    function_model()
    sparse_model()
    custom_domain()
    contrib_domain()
    external_dir("external_ok")
    external_dir("external_range", truncate=100)
    external_dir("external_missing", mutate=set_location("other.bin"))
    for name, loc in [
        ("escape_dotdot.onnx", "../../etc/shadow"),
        ("escape_backslash.onnx", "..\\..\\Windows\\System32\\config\\SAM"),
        ("escape_drive.onnx", "C:\\x"),
        ("escape_unc.onnx", "\\\\srv\\share\\x"),
        ("escape_abs.onnx", "/etc/passwd"),
        ("escape_ortmem.onnx", "*/_ORT_MEM_ADDR_/*"),
    ]:
        external_in_memory(name, loc)
    external_in_memory("escape_in_loop.onnx", "../../../../root/.ssh/id_rsa", in_loop=True)
    ep_context("ep_embedded.onnx", 1)
    ep_context("ep_path_escape.onnx", 0, "../../../etc/passwd")
