#!/usr/bin/python3
"""Real joblib.dump output of every numpy dtype kind, for the size rules
(formats/pickle/joblibsize.go): each must scan clean in the strict profile.
Run with Debian's python3-joblib (1.2.0) and python3-numpy:
/usr/bin/python3 make.py
"""
import os
import joblib
import numpy as np

out = os.path.dirname(os.path.abspath(__file__))
arrays = {
    "bool": np.array([True, False]), "i1": np.arange(3, dtype="i1"), "u2": np.arange(3, dtype=">u2"),
    "i8": np.arange(3), "f2": np.ones(3, "f2"), "f4": np.ones((2, 2), "f4", order="F"), "f8": np.ones(3),
    "f16": np.ones(2, np.longdouble), "c8": np.ones(2, "c8"), "c16": np.ones(2, "c16"),
    "U5": np.array(["ab", "cdeff"]), "S3": np.array([b"ab", b"cde"]), "V4": np.zeros(2, "V4"),
    "M8": np.array(["2020-01-01"], "M8[ns]"), "m8": np.array([1, 2], "m8[s]"),
    "rec": np.zeros(2, [("a", "f4"), ("b", "i8")]), "recobj": np.array([(1.0, "x")], [("a", "f4"), ("b", "O")]),
    "obj": np.array([1, "two", None], dtype=object), "empty": np.zeros((0, 3)), "scalar": np.array(5.0),
}
for proto in (2, 3, 4, 5):
    joblib.dump(arrays, os.path.join(out, f"dtypes_p{proto}.joblib"), protocol=proto)
joblib.dump(arrays, os.path.join(out, "dtypes.joblib.gz"), compress=("gzip", 3))
for f in sorted(os.listdir(out)):
    print(f, os.path.getsize(os.path.join(out, f)))
