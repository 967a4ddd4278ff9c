# Generates this package's fixtures with Debian's python3-joblib, numpy and
# sklearn:  /usr/bin/python3 testdata/make_fixtures.py  (from formats/joblib)
# The malicious twins are built from raw opcodes and never loaded.
import io, os, pickle, struct
import numpy as np
import joblib
from sklearn.linear_model import LogisticRegression

out = os.path.join(os.path.dirname(__file__))

def dump(name, obj, **kw):
    joblib.dump(obj, os.path.join(out, name), **kw)

rng = np.random.RandomState(0)
arrays = {"f32": rng.rand(3, 4).astype(np.float32), "f64": rng.rand(5), "i8": np.arange(7, dtype=np.int8),
          "u16": np.arange(3, dtype=np.uint16), "bool": np.array([True, False]), "c128": np.ones(2, dtype=np.complex128),
          "fortran": np.asfortranarray(rng.rand(2, 3)), "str": np.array(["ab", "cde"]), "bytes": np.array([b"x", b"yz"]),
          "dt": np.array(["2020-01-01"], dtype="datetime64[D]"), "zero_d": np.array(3.0), "empty": np.zeros((0, 3)),
          "obj": np.array([1, "two", None, 3.5], dtype=object), "rec": np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")])}
dump("arrays.joblib", arrays)
dump("array_p2.joblib", rng.rand(4, 4), protocol=2)
dump("object_array.joblib", np.array([{"a": 1}, [1, 2], "s"], dtype=object))
X = rng.rand(20, 3); y = (X[:, 0] > 0.5).astype(int)
dump("logreg.joblib", LogisticRegression().fit(X, y))
for c in ["zlib", "gzip", "bz2", "xz", "lzma"]:
    dump("arrays.joblib." + c, arrays, compress=(c, 3))
try:
    dump("arrays.joblib.lz4", arrays, compress=("lz4", 3))
except Exception as e:
    print("no lz4:", e)

# Malicious twins. 1) A joblib stream whose object array's nested pickle
# calls os.system: take a real object-array dump and replace the inner
# pickle (protocol 2, written by pickle.dump) with a payload.
payload = b"\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."
good = open(os.path.join(out, "object_array.joblib"), "rb").read()
inner_start = good.index(b"\x80\x02", 4)
import pickletools
end = inner_start
for op, arg, pos in pickletools.genops(io.BytesIO(good[inner_start:])):
    if op.name == "STOP":
        end = inner_start + pos + 1
        break
open(os.path.join(out, "evil_object_array.joblib"), "wb").write(good[:inner_start] + payload + good[end:])
# 2) A top-level REDUCE calling os.system, zlib-compressed as joblib does.
import zlib
body = b"\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R."
evil = b"\x80\x04\x95" + struct.pack("<Q", len(body)) + body
open(os.path.join(out, "evil.joblib.z"), "wb").write(zlib.compress(evil))
