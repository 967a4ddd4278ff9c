# Fixtures for red-team cases (R2): run from formats/onnx/testdata with /usr/bin/python3.
# Only some outputs are committed (see onnx_test.go TestFixtures).
import onnx, os, numpy as np
from onnx import helper, TensorProto, numpy_helper
from onnx.external_data_helper import set_external_data
os.makedirs("r2", exist_ok=True)
# Only the cases named in onnx_test.go are committed; the location cases
# (some named after Windows devices, one a symlink to /etc/passwd) are
# covered by the earlier fixtures and TestLocationProblem, and written only
# with --all for manual runs.
import sys
ALL = "--all" in sys.argv
def ext_tensor(name, loc, offset=None, length=None):
    t = numpy_helper.from_array(np.ones(4, np.float32), name)
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    e = t.external_data.add(); e.key="location"; e.value=loc
    if offset is not None:
        e = t.external_data.add(); e.key="offset"; e.value=str(offset)
    if length is not None:
        e = t.external_data.add(); e.key="length"; e.value=str(length)
    return t
def model(g, funcs=None, opsets=None):
    m = helper.make_model(g, opset_imports=opsets or [helper.make_opsetid("",17)], functions=funcs or [])
    m.ir_version = 8
    return m
X = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
Y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
def simple(loc, name):
    g = helper.make_graph([helper.make_node("Add", ["x","w"], ["y"])], "g", [X], [Y], initializer=[ext_tensor("w", loc)])
    onnx.save(model(g), f"r2/{name}.onnx")
for name, loc in ([] if not ALL else [("urlenc", "%2e%2e/%2e%2e/etc/passwd"), ("dotslashdotdot", "./../secret.bin"), ("inner", "weights/../../x.bin"),
                  ("con", "con.bin"), ("backslash", "..\\..\\windows\\win.ini"), ("abs", "/etc/passwd"), ("drive", "C:\\x.bin"),
                  ("unc", "\\\\server\\share\\x"), ("trailingdot", ".. /x"), ("fileurl", "file:///etc/passwd"), ("long", "a/"*3000+"x"),
                  ("nul", "x.bin\x00../../etc/passwd"), ("aux", "AUX"), ("dotdotonly", "..")]):
    simple(loc, name)
# subgraph (If) with external tensor inside a Constant node attribute
then_g = helper.make_graph([helper.make_node("Constant", [], ["c"], value=ext_tensor("cv", "../../etc/shadow"))], "then", [], [helper.make_tensor_value_info("c", TensorProto.FLOAT, [4])])
else_g = helper.make_graph([helper.make_node("Identity", ["x"], ["c2"])], "else", [], [helper.make_tensor_value_info("c2", TensorProto.FLOAT, [4])])
cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
g = helper.make_graph([helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g)], "g", [X, cond], [Y])
if ALL: onnx.save(model(g), "r2/subgraph_if.onnx")
# nested Loop inside If
loop_body = helper.make_graph([helper.make_node("Constant", [], ["lc"], value=ext_tensor("lv", "/etc/passwd")), helper.make_node("Identity", ["cin"], ["cout"])], "body",
    [helper.make_tensor_value_info("i", TensorProto.INT64, []), helper.make_tensor_value_info("cin", TensorProto.BOOL, [])], [helper.make_tensor_value_info("cout", TensorProto.BOOL, []), helper.make_tensor_value_info("lc", TensorProto.FLOAT, [4])])
then2 = helper.make_graph([helper.make_node("Loop", ["", "cond"], ["lo"], body=loop_body)], "then2", [], [helper.make_tensor_value_info("lo", TensorProto.FLOAT, [None,4])])
g = helper.make_graph([helper.make_node("If", ["cond"], ["y"], then_branch=then2, else_branch=else_g)], "g", [X, cond], [Y])
onnx.save(model(g), "r2/nested_loop_if.onnx")
# function proto with Constant ext
f = helper.make_function("custom", "F", ["a"], ["b"], [helper.make_node("Constant", [], ["k"], value=ext_tensor("fk", "../../../etc/passwd")), helper.make_node("Add", ["a","k"], ["b"])], [helper.make_opsetid("",17)])
g = helper.make_graph([helper.make_node("F", ["x"], ["y"], domain="custom")], "g", [X], [Y])
onnx.save(model(g, funcs=[f], opsets=[helper.make_opsetid("",17), helper.make_opsetid("custom",1)]), "r2/function.onnx")
# sparse initializer with external indices
vals = ext_tensor("sv", "../v.bin"); idx = numpy_helper.from_array(np.array([0,1],np.int64), "si")
idx.ClearField("raw_data"); idx.data_location = TensorProto.EXTERNAL; e=idx.external_data.add(); e.key="location"; e.value="../../idx.bin"
vals2 = numpy_helper.from_array(np.ones(2,np.float32), "sw")
sp = helper.make_sparse_tensor(vals2, idx, [4])
g = helper.make_graph([helper.make_node("Add", ["x","sw"], ["y"])], "g", [X], [Y], sparse_initializer=[sp])
onnx.save(model(g), "r2/sparse_idx.onnx")
# duplicate initializer names w/ different data
os.makedirs("r2/dup", exist_ok=True)
open("r2/dup/a.bin","wb").write(b"\0"*16); open("r2/dup/b.bin","wb").write(b"\1"*16)
g = helper.make_graph([helper.make_node("Add", ["x","w"], ["y"])], "g", [X], [Y], initializer=[ext_tensor("w","a.bin"), ext_tensor("w","b.bin")])
onnx.save(model(g), "r2/dup/model.onnx")
# attribute tensors list (tensors=) ext
g = helper.make_graph([helper.make_node("Foo", ["x"], ["y"], domain="custom", ts=[ext_tensor("t1","../../x")])], "g", [X], [Y])
onnx.save(model(g, opsets=[helper.make_opsetid("",17), helper.make_opsetid("custom",1)]), "r2/attr_tensors.onnx")
# EPContext
g = helper.make_graph([helper.make_node("EPContext", ["x"], ["y"], domain="com.microsoft", embed_mode=0, ep_cache_context="../../../etc/passwd", source="QNN")], "g", [X], [Y])
if ALL: onnx.save(model(g, opsets=[helper.make_opsetid("",17), helper.make_opsetid("com.microsoft",1)]), "r2/epcontext.onnx")
g = helper.make_graph([helper.make_node("EPContext", ["x"], ["y"], domain="com.microsoft", embed_mode=0, ep_cache_context="/abs/ctx.bin", source="QNN")], "g", [X], [Y])
if ALL: onnx.save(model(g, opsets=[helper.make_opsetid("",17), helper.make_opsetid("com.microsoft",1)]), "r2/epcontext_abs.onnx")
# symlink out
if ALL: os.makedirs("r2/sym", exist_ok=True)
if ALL and not os.path.islink("r2/sym/w.bin"): os.symlink("/etc/passwd", "r2/sym/w.bin")
g = helper.make_graph([helper.make_node("Add", ["x","w"], ["y"])], "g", [X], [Y], initializer=[ext_tensor("w","w.bin", 0, 16)])
if ALL: onnx.save(model(g), "r2/sym/model.onnx")
# graph attr in a custom domain op w/ external in subgraph in a 'graphs' list
sub = helper.make_graph([helper.make_node("Constant", [], ["c"], value=ext_tensor("cv2", "../../etc/hosts"))], "s", [], [helper.make_tensor_value_info("c", TensorProto.FLOAT, [4])])
g = helper.make_graph([helper.make_node("Scan2", ["x"], ["y"], domain="custom", bodies=[sub])], "g", [X], [Y])
onnx.save(model(g, opsets=[helper.make_opsetid("",17), helper.make_opsetid("custom",1)]), "r2/graphs_list.onnx")
print("done")
# model-local functions that recurse: F calls itself; A calls B calls A
f = helper.make_function("custom", "F", ["a"], ["b"], [helper.make_node("F", ["a"], ["b"], domain="custom")], [helper.make_opsetid("",17), helper.make_opsetid("custom",1)])
g = helper.make_graph([helper.make_node("F", ["x"], ["y"], domain="custom")], "g", [X], [Y])
onnx.save(model(g, funcs=[f], opsets=[helper.make_opsetid("",17), helper.make_opsetid("custom",1)]), "r2/recursive_function.onnx")
fa = helper.make_function("custom", "A", ["a"], ["b"], [helper.make_node("Relu", ["a"], ["t"]), helper.make_node("B", ["t"], ["b"], domain="custom")], [helper.make_opsetid("",17), helper.make_opsetid("custom",1)])
fb = helper.make_function("custom", "B", ["a"], ["b"], [helper.make_node("A", ["a"], ["b"], domain="custom")], [helper.make_opsetid("",17), helper.make_opsetid("custom",1)])
g = helper.make_graph([helper.make_node("A", ["x"], ["y"], domain="custom")], "g", [X], [Y])
onnx.save(model(g, funcs=[fa, fb], opsets=[helper.make_opsetid("",17), helper.make_opsetid("custom",1)]), "r2/mutual_recursion.onnx")
# a function calling another (no cycle): real, must pass
fc = helper.make_function("custom", "C", ["a"], ["b"], [helper.make_node("D", ["a"], ["b"], domain="custom")], [helper.make_opsetid("",17), helper.make_opsetid("custom",1)])
fd = helper.make_function("custom", "D", ["a"], ["b"], [helper.make_node("Relu", ["a"], ["b"])], [helper.make_opsetid("",17)])
g = helper.make_graph([helper.make_node("C", ["x"], ["y"], domain="custom")], "g", [X], [Y])
onnx.save(model(g, funcs=[fc, fd], opsets=[helper.make_opsetid("",17), helper.make_opsetid("custom",1)]), "r2/nested_functions.onnx")
