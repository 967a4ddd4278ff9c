# Generates the benign fixtures in testdata/benign with Debian's python3-torch
# and numpy:  /usr/bin/python3 testdata/make_fixtures.py  (from formats/pickle)
# Only plain data is pickled; nothing here loads an untrusted file.
import collections, io, os, pickle, zipfile
import numpy as np
import torch

out = os.path.join(os.path.dirname(__file__), "benign")
os.makedirs(out, exist_ok=True)

def save(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)

def torch_data_pkl(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        for n in z.namelist():
            if n.endswith("data.pkl"):
                return z.read(n)

# A state dict with many dtypes, a parameter, a non-contiguous view, a
# 0-d tensor and shared storage.
g = torch.Generator().manual_seed(0)
sd = collections.OrderedDict()
for dt in [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int8, torch.uint8,
           torch.int16, torch.int32, torch.int64, torch.bool, torch.complex64]:
    sd["layer.%s" % str(dt).split(".")[1]] = torch.zeros(2, 3, dtype=dt)
sd["param"] = torch.nn.Parameter(torch.randn(4, 4, generator=g))
base = torch.arange(12.0).reshape(3, 4)
sd["view_t"] = base.t()
sd["view_slice"] = base[1:]
sd["scalar"] = torch.tensor(3.5)
save("torch_state_dict.data.pkl", torch_data_pkl(sd))

# An optimizer checkpoint: nested dicts, ints, floats, tuples, a tensor.
model = torch.nn.Linear(3, 2)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
model(torch.randn(1, 3)).sum().backward()
opt.step()
ckpt = {"epoch": 3, "model": model.state_dict(), "optimizer": opt.state_dict(),
        "best": 0.25, "betas": (0.9, 0.999), "names": ["a", "b"], "flag": True, "none": None}
save("torch_checkpoint.data.pkl", torch_data_pkl(ckpt))

# NumPy arrays (several dtypes, Fortran order, 0-d, object array of plain
# values) at every protocol.
arrs = {"f32": np.arange(6, dtype=np.float32).reshape(2, 3), "i64": np.arange(4),
        "fortran": np.asfortranarray(np.ones((2, 2))), "u": np.array(["ab", "c"]),
        "zero_d": np.array(1.5), "obj": np.array([1, "x", None], dtype=object),
        "scalar": np.float64(2.5), "rec": np.zeros(2, dtype=[("a", "i4"), ("b", "f8")])}
for p in range(0, 6):
    save("numpy_arrays_p%d.pkl" % p, pickle.dumps(arrs, protocol=p))

# Plain containers, OrderedDict, sets, bytes, big ints, unicode, at every protocol.
plain = collections.OrderedDict(a=[1, 2.5, -3, 2**70, -2**70], b={"x": (1, 2), "y": frozenset({1})},
                                c={1, 2}, d=b"\x00\x01bytes", e="h\u00e9llo \u4e16\n\\u", f=bytearray(b"ba"),
                                g=complex(1, 2), h=[[]] * 3, i=True, j=None)
for p in range(0, 6):
    save("plain_p%d.pkl" % p, pickle.dumps(plain, protocol=p))

# pickle.dump (not torch.save) of a tensor: torch.storage._load_from_bytes
# with a whole torch.save stream as its argument. Benign, but not
# weights_only: unknown to the strict profile, clean in permissive.
perm = os.path.join(os.path.dirname(__file__), "permissive")
os.makedirs(perm, exist_ok=True)
with open(os.path.join(perm, "tensor_plain_pickle.pkl"), "wb") as f:
    f.write(pickle.dumps({"w": torch.arange(6.0).reshape(2, 3)}, protocol=2))
