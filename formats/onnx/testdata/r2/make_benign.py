# Fixtures for red-team cases (R2): run from formats/onnx/testdata with /usr/bin/python3.
# Only some outputs are committed (see onnx_test.go TestFixtures).
import torch, torch.nn as nn, onnx, os, numpy as np
from onnx import helper, TensorProto, numpy_helper
os.makedirs("r2", exist_ok=True)
class M(nn.Module):
    def __init__(s):
        super().__init__(); s.c=nn.Conv2d(3,4,3); s.bn=nn.BatchNorm2d(4); s.l=nn.Linear(4*6*6,5)
    def forward(s,x): return torch.softmax(s.l(torch.relu(s.bn(s.c(x))).flatten(1)),-1)
class R(nn.Module):
    def __init__(s):
        super().__init__(); s.e=nn.Embedding(50,8); s.g=nn.LSTM(8,8,batch_first=True); s.o=nn.Linear(8,2)
    def forward(s,x): y,_=s.g(s.e(x)); return s.o(y[:,-1])
class T(nn.Module):
    def __init__(s):
        super().__init__(); s.t=nn.TransformerEncoderLayer(16,2,32,batch_first=True)
    def forward(s,x): return s.t(x)
for op in (11,13,14,17):
    for name,m,inp in (("cnn",M(),torch.randn(1,3,8,8)),("lstm",R(),torch.randint(0,50,(1,5))),("tfm",T(),torch.randn(1,4,16))):
        m.eval()
        try:
            torch.onnx.export(m, inp, f"r2/{name}_op{op}.onnx", opset_version=op, dynamo=False, input_names=["x"], output_names=["y"], dynamic_axes={"x":{0:"b"}})
        except TypeError:
            torch.onnx.export(m, inp, f"r2/{name}_op{op}.onnx", opset_version=op, input_names=["x"], output_names=["y"], dynamic_axes={"x":{0:"b"}})
        except Exception as e:
            print("fail", name, op, e)
# external data
m = onnx.load("r2/cnn_op13.onnx")
os.makedirs("r2/ext", exist_ok=True)
onnx.save_model(m, "r2/ext/model.onnx", save_as_external_data=True, all_tensors_to_one_file=True, location="model.onnx.data", size_threshold=0)
os.makedirs("r2/ext2", exist_ok=True)
onnx.save_model(onnx.load("r2/tfm_op17.onnx"), "r2/ext2/model.onnx", save_as_external_data=True, all_tensors_to_one_file=False, size_threshold=0)
# ai.onnx.ml LinearClassifier + ZipMap
X = helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 3])
lab = helper.make_tensor_value_info("label", TensorProto.INT64, [None])
from onnx import TypeProto
tp = TypeProto(); mt = tp.sequence_type.elem_type.map_type; mt.key_type = TensorProto.INT64; mt.value_type.tensor_type.elem_type = TensorProto.FLOAT
prob = helper.make_value_info("probabilities", tp)
n1 = helper.make_node("LinearClassifier", ["X"], ["label","scores"], domain="ai.onnx.ml", classlabels_ints=[0,1], coefficients=[0.1]*6, intercepts=[0.0,0.1], post_transform="LOGISTIC")
n2 = helper.make_node("ZipMap", ["scores"], ["probabilities"], domain="ai.onnx.ml", classlabels_int64s=[0,1])
n3 = helper.make_node("Normalizer", ["X"], ["nx"], domain="ai.onnx.ml", norm="L2")
g = helper.make_graph([n1,n2,n3], "sklearn", [X], [lab, prob, helper.make_tensor_value_info("nx", TensorProto.FLOAT, [None,3])])
mm = helper.make_model(g, opset_imports=[helper.make_opsetid("",13), helper.make_opsetid("ai.onnx.ml",1)], producer_name="skl2onnx", producer_version="1.16.0")
mm.ir_version = 8
onnx.save(mm, "r2/sklearn_ml.onnx")
# com.microsoft contrib ops
W = numpy_helper.from_array(np.random.randn(16,48).astype(np.float32), "W")
B = numpy_helper.from_array(np.zeros(48, np.float32), "B")
n = helper.make_node("Attention", ["x","W","B"], ["y"], domain="com.microsoft", num_heads=2)
n2 = helper.make_node("FastGelu", ["y"], ["z"], domain="com.microsoft")
n3 = helper.make_node("SkipLayerNormalization", ["z","x","g","b"], ["o"], domain="com.microsoft", epsilon=1e-5)
g = helper.make_graph([n,n2,n3], "ms", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1,4,16])], [helper.make_tensor_value_info("o", TensorProto.FLOAT, [1,4,16])],
    initializer=[W,B,numpy_helper.from_array(np.ones(16,np.float32),"g"),numpy_helper.from_array(np.zeros(16,np.float32),"b")])
mm = helper.make_model(g, opset_imports=[helper.make_opsetid("",14), helper.make_opsetid("com.microsoft",1)], producer_name="onnxruntime.transformers")
mm.ir_version=7
onnx.save(mm, "r2/ms_contrib.onnx")
# quantized model (QuantizeLinear/QLinearConv)
print("ok")
