# Writes a spread of real PyTorch, NumPy and joblib outputs for the false
# alarm bar (issue 9): every instantiable torch.nn module's state_dict, full
# checkpoints with optimizer state, every dtype, zip and legacy torch.save,
# pickle protocols 2-5, numpy arrays (object arrays of plain values too) by
# pickle and np.save, joblib dumps with every compressor installed.
#
#     /usr/bin/python3 testdata/make_real_spread.py OUTDIR
#
# Only plain data is saved; nothing here loads a file. A few outputs are
# kept in testdata/benign/spread (TestRealSpread); scan the rest with
#     modelvet scan --format json OUTDIR
import collections, inspect, io, os, pickle, sys, warnings
import numpy as np
import torch
import torch.nn as nn

warnings.filterwarnings("ignore")
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
count = 0


def save_torch(name, obj):
    global count
    for proto in (2, 3, 4, 5):
        for zipped in (True, False):
            path = os.path.join(out, "%s.p%d.%s.pt" % (name, proto, "zip" if zipped else "legacy"))
            torch.save(obj, path, pickle_protocol=proto, _use_new_zipfile_serialization=zipped)
            count += 1


# Modules whose constructors need arguments, with a working set.
ARGS = {
    "Linear": (4, 3), "Bilinear": (3, 3, 2), "LazyLinear": None, "Conv1d": (2, 3, 3), "Conv2d": (2, 3, 3),
    "Conv3d": (2, 3, 3), "ConvTranspose1d": (2, 3, 3), "ConvTranspose2d": (2, 3, 3), "ConvTranspose3d": (2, 3, 3),
    "BatchNorm1d": (3,), "BatchNorm2d": (3,), "BatchNorm3d": (3,), "SyncBatchNorm": (3,), "InstanceNorm1d": (3,),
    "InstanceNorm2d": (3,), "InstanceNorm3d": (3,), "LayerNorm": (4,), "GroupNorm": (2, 4), "LocalResponseNorm": (2,),
    "Embedding": (10, 4), "EmbeddingBag": (10, 4), "RNN": (4, 3), "LSTM": (4, 3), "GRU": (4, 3), "RNNCell": (4, 3),
    "LSTMCell": (4, 3), "GRUCell": (4, 3), "MultiheadAttention": (4, 2), "Transformer": None,
    "TransformerEncoderLayer": (8, 2), "TransformerDecoderLayer": (8, 2), "PReLU": (), "AdaptiveAvgPool1d": (2,),
    "AdaptiveAvgPool2d": (2,), "AdaptiveAvgPool3d": (2,), "AdaptiveMaxPool1d": (2,), "AdaptiveMaxPool2d": (2,),
    "AdaptiveMaxPool3d": (2,), "AvgPool1d": (2,), "AvgPool2d": (2,), "AvgPool3d": (2,), "MaxPool1d": (2,),
    "MaxPool2d": (2,), "MaxPool3d": (2,), "LPPool1d": (2, 2), "LPPool2d": (2, 2), "Upsample": (None, 2),
    "UpsamplingNearest2d": (None, 2), "UpsamplingBilinear2d": (None, 2), "PixelShuffle": (2,),
    "PixelUnshuffle": (2,), "Fold": ((4, 4), (2, 2)), "Unfold": ((2, 2),), "ConstantPad1d": (1, 0.0),
    "ConstantPad2d": (1, 0.0), "ConstantPad3d": (1, 0.0), "ReflectionPad1d": (1,), "ReflectionPad2d": (1,),
    "ReflectionPad3d": (1,), "ReplicationPad1d": (1,), "ReplicationPad2d": (1,), "ReplicationPad3d": (1,),
    "ZeroPad2d": (1,), "CrossMapLRN2d": (2,), "Unflatten": (1, (2, 2)), "ChannelShuffle": (2,),
    "AdaptiveLogSoftmaxWithLoss": (8, 10, [4]), "MaxUnpool1d": (2,), "MaxUnpool2d": (2,), "MaxUnpool3d": (2,),
    "FractionalMaxPool2d": (2, (2, 2)), "FractionalMaxPool3d": (2, (2, 2, 2)), "Threshold": (0.1, 0.0),
    "Hardtanh": (), "Softmin": (1,), "Softmax": (1,), "LogSoftmax": (1,), "Softmax2d": (), "GLU": (),
    "CosineSimilarity": (), "PairwiseDistance": (), "Identity": (), "Flatten": (), "Dropout": (),
    "ModuleList": ([nn.Linear(2, 2)],), "ModuleDict": ({"a": nn.Linear(2, 2)},), "Sequential": (nn.Linear(2, 2), nn.ReLU()),
    "ParameterList": ([nn.Parameter(torch.ones(2))],), "ParameterDict": ({"p": nn.Parameter(torch.ones(2))},),
}

modules = []
for name, cls in sorted(inspect.getmembers(nn, inspect.isclass)):
    if not issubclass(cls, nn.Module) or name.startswith("_") or name in ("Module", "Container"):
        continue
    args = ARGS.get(name, ())
    if args is None:
        continue
    try:
        m = cls(*args)
    except Exception:
        continue
    modules.append((name, m))

for name, m in modules:
    save_torch("sd_" + name, m.state_dict())
print("modules with a state_dict saved:", len(modules), file=sys.stderr)

# Full checkpoints with optimizer state.
net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 10))
x = torch.randn(2, 3, 6, 6)
for oname, opt in [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW), ("sgd", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
                   ("rmsprop", torch.optim.RMSprop), ("adagrad", torch.optim.Adagrad), ("adadelta", torch.optim.Adadelta),
                   ("nadam", torch.optim.NAdam), ("radam", torch.optim.RAdam), ("adamax", torch.optim.Adamax), ("asgd", torch.optim.ASGD)]:
    o = opt(net.parameters())
    net(x).sum().backward()
    o.step()
    sched = torch.optim.lr_scheduler.StepLR(o, 1)
    save_torch("ckpt_" + oname, {"epoch": 2, "model": net.state_dict(), "optimizer": o.state_dict(),
                                 "scheduler": sched.state_dict(), "loss": 0.5, "rng": torch.get_rng_state(),
                                 "args": {"lr": 1e-3, "name": "x", "layers": [1, 2], "flag": None}})

# Every dtype, views, shared storage, parameters, 0-d, empty, sparse, quantized.
dts = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.complex64, torch.complex128,
       torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64, torch.bool]
sd = collections.OrderedDict()
for dt in dts:
    sd[str(dt)] = torch.ones(3, 2, dtype=dt)
sd["param"] = nn.Parameter(torch.randn(2, 2))
base = torch.arange(12.0).reshape(3, 4)
sd["t"], sd["slice"], sd["zero_d"], sd["empty"] = base.t(), base[1:], torch.tensor(2.0), torch.empty(0, 3)
sd["sparse"] = torch.eye(3).to_sparse()
sd["qint8"] = torch.quantize_per_tensor(torch.randn(4), 0.1, 0, torch.qint8)
sd["quint8_channel"] = torch.quantize_per_channel(torch.randn(2, 3), torch.tensor([0.1, 0.2]), torch.tensor([0, 1]), 0, torch.quint8)
save_torch("dtypes", sd)

# NumPy: pickle at protocols 2-5 and np.save.
arrs = {str(np.dtype(d)): np.ones((2, 3), dtype=d) for d in
        ["f2", "f4", "f8", "c8", "c16", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "?", "M8[s]", "m8[ms]", "U3", "S3", "V4"]}
arrs["struct"] = np.zeros(3, dtype=[("a", "i4"), ("b", "f8", (2,))])
arrs["fortran"] = np.asfortranarray(np.ones((3, 2)))
arrs["object_plain"] = np.array([1, "x", None, 2.5, (1, 2), {"k": [1]}], dtype=object)
arrs["scalar_f8"], arrs["scalar_i4"] = np.float64(1.5), np.int32(3)
arrs["masked"] = np.ma.masked_array([1, 2, 3], mask=[0, 1, 0])
arrs["matrix"] = np.matrix([[1, 2], [3, 4]])
arrs["rng"] = np.random.default_rng(0)
arrs["randomstate"] = np.random.RandomState(0)
for proto in (2, 3, 4, 5):
    with open(os.path.join(out, "numpy_arrays.p%d.pkl" % proto), "wb") as f:
        pickle.dump(arrs, f, protocol=proto)
        count += 1
for k, v in arrs.items():
    if isinstance(v, np.ndarray) and not isinstance(v, (np.ma.MaskedArray, np.matrix)):
        safe = "".join(c if c.isalnum() else "_" for c in k)
        np.save(os.path.join(out, "np_%s.npy" % safe), v, allow_pickle=True)
        count += 1

# joblib with every compressor installed.
try:
    import joblib
    data = {"w": np.random.randn(50, 20).astype(np.float32), "ids": np.arange(100), "obj": np.array([1, "a"], dtype=object),
            "meta": {"name": "m", "ver": 3}}
    for comp in [None, "zlib", "gzip", "bz2", "lzma", "xz", "lz4"]:
        for protocol in (2, 4, 5):
            path = os.path.join(out, "joblib_%s.p%d.joblib" % (comp or "raw", protocol))
            try:
                joblib.dump(data, path, compress=(comp, 3) if comp else 0, protocol=protocol)
                count += 1
            except Exception as e:
                print("joblib", comp, "skipped:", e, file=sys.stderr)
except ImportError:
    pass
# Whole pickled objects: their classes are unknown imports by design
# (strict fails them, permissive says medium); nothing in them may be more.
full = os.path.join(out, "full")
os.makedirs(full, exist_ok=True)
for name, m in [("sequential", net), ("lstm", nn.LSTM(4, 3, 2)), ("transformer_layer", nn.TransformerEncoderLayer(8, 2)),
                ("embedding_bag", nn.EmbeddingBag(10, 4))]:
    torch.save(m, os.path.join(full, name + ".pt"))
    count += 1
try:
    import joblib
    from sklearn.linear_model import LogisticRegression
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler, FunctionTransformer
    X, y = np.random.randn(40, 3), np.arange(40) % 2
    for name, model in [("logreg", LogisticRegression()), ("forest", RandomForestClassifier(n_estimators=3)),
                        ("pipeline", make_pipeline(FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression()))]:
        model.fit(np.abs(X), y)
        joblib.dump(model, os.path.join(full, name + ".joblib"))
        with open(os.path.join(full, name + ".pkl"), "wb") as f:
            pickle.dump(model, f, protocol=4)
        count += 2
except ImportError:
    pass
print("files written:", count, file=sys.stderr)
