# Generates testdata/benign/numpy_subclasses_p{2,4,5}.pkl with Debian's
# numpy:  /usr/bin/python3 testdata/make_numpy_subclass_fixtures.py
# (from formats/pickle). ndarray subclasses numpy ships (matrix, recarray,
# record, MaskedArray) and random generator state: plain data that must
# scan clean in the strict profile. Nothing here loads an untrusted file.
import os, pickle
import numpy as np

out = os.path.join(os.path.dirname(__file__), "benign")
obj = {
    "matrix": np.matrix([[1, 2], [3, 4]]),
    "recarray": np.rec.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
    "masked": np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0]),
    "random_state": np.random.RandomState(0),
    "generator": np.random.default_rng(1),
}
for p in (2, 4, 5):
    with open(os.path.join(out, "numpy_subclasses_p%d.pkl" % p), "wb") as f:
        f.write(pickle.dumps(obj, protocol=p))
