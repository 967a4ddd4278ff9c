#!/usr/bin/python3
"""Builds the .npy/.npz fixtures of formats/numpy with Debian's python3-numpy:
/usr/bin/python3 make_fixtures.py. The malicious file is assembled from a
hand-written header and hand-written pickle opcodes; nothing here loads it."""
import numpy as np

for name, a in {
    "f4": np.arange(6, dtype="<f4").reshape(2, 3), "f2": np.arange(4, dtype="<f2"),
    "f8": np.arange(4, dtype=">f8"), "i1": np.arange(4, dtype="i1"), "i2": np.arange(4, dtype="<i2"),
    "i4": np.arange(4, dtype="<i4"), "i8": np.arange(4, dtype="<i8"), "u1": np.arange(4, dtype="u1"),
    "u8": np.arange(4, dtype="<u8"), "bool": np.array([True, False]), "c8": np.array([1 + 2j], dtype="<c8"),
    "c16": np.array([1 + 2j], dtype="<c16"), "str": np.array(["ab", "cde"]), "bytes": np.array([b"ab"]),
    "datetime": np.array(["2020-01-01"], dtype="datetime64[D]"), "fortran": np.asfortranarray(np.ones((2, 3), "<f4")),
    "scalar0d": np.array(3.5), "empty": np.zeros((0, 4), "<f4"),
    "structured": np.zeros(3, dtype=[("x", "<f4"), ("y", "<i8", (2,)), ("name", "S4")]),
}.items():
    np.save(f"{name}.npy", a)

np.save("object_plain.npy", np.array([1, "two", [3, 4], {"five": 5}, None], dtype=object), allow_pickle=True)
np.savez("arrays.npz", a=np.arange(3), b=np.ones((2, 2), "<f4"))
np.savez_compressed("arrays_compressed.npz", a=np.zeros(1000), b=np.arange(10))
np.savez("objects.npz", o=np.array([1, "x"], dtype=object))

# an object array whose pickle calls os.system: header by hand + raw opcodes
evil = b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."
hdr = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
hdr = hdr + b" " * (63 - (10 + len(hdr)) % 64) + b"\n"
open("object_evil.npy", "wb").write(b"\x93NUMPY\x01\x00" + len(hdr).to_bytes(2, "little") + hdr + evil)
