#!/usr/bin/python3
"""Builds formats/numpy/testdata/descr with Debian's python3-numpy (1.24):
cd formats/numpy/testdata/descr && /usr/bin/python3 make_descr_fixtures.py

Each file has a header descr numpy.lib.format.descr_to_dtype accepts (or, for
refused_*, refuses), written by numpy's own header writer
(write_array_header_1_0, which writes repr(descr) as given), followed by the
data np.save would write for that dtype. save_*: np.save of a real array,
whose header numpy spells canonically. Every accepted file is read back with
numpy's header reader, and every benign one loaded with np.load; refused ones
are shown to make np.load raise. evil_* files carry a hand-written os.system
pickle and are never loaded, only their header is read."""
import io
import pickle
import warnings

import numpy as np
from numpy.lib import format as F

warnings.simplefilter("ignore", FutureWarning)  # '1O' is a deprecated spelling
EVIL = b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."


def raw(name, descr, shape, data):
    buf = io.BytesIO()
    F.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    open(name, "wb").write(buf.getvalue() + data)


def data_for(dt, shape):
    a = np.zeros(shape, dtype=dt)
    if a.dtype.hasobject:
        return pickle.dumps(a, protocol=3)  # what np.save writes
    return a.tobytes()


def header_dtype(name):
    with open(name, "rb") as f:
        F.read_magic(f)
        return F.read_array_header_1_0(f)[2]


# np.save of real arrays: the descr numpy itself writes
for name, dt in {
    "U10": "<U10", "S5": "S5", "V16": "V16", "M8_ns": "M8[ns]", "m8_s": "m8[s]", "c16": "c16", "bool": "?",
    "b1": "b1", "f4_big_endian": ">f4", "object": "|O", "comma_f8_O": "f8,O", "repeat_3f4": "3f4",
    "subarray_f8_2x3": ("f8", (2, 3)), "nested_structured_object": [("a", [("b", "<i4"), ("c", "O")]), ("d", "<f4", (2,))],
    "dict_with_offsets": {"names": ["a", "b"], "formats": ["<f8", "O"], "offsets": [0, 16], "itemsize": 32},
}.items():
    fn = f"save_{name}.npy"
    np.save(fn, np.zeros(2, dtype=dt), allow_pickle=True)
    np.load(fn, allow_pickle=True)

# the same dtypes spelled as the red team wrote them, straight into the header
accepted = {
    "comma_f8_O": "f8,O", "comma_spaced": "f8, O", "repeat_1O": "1O", "repeat_3f4": "3f4",
    "shape_prefix_2x3_O": "(2,3)O", "comma_with_subarray": "i4,(2,3)f8",
    "tuple_subarray": ("f8", (2, 3)), "tuple_object_subarray": ("|O", (2,)),
    "nested_structured_object": [("a", [("b", "<i4"), ("c", "|O")]), ("d", "<f4", (2,))],
    "titled_field": [(("title", "x"), "<f8")], "two_char_string_field": ["xd"],
    "U10": "<U10", "S5": "S5", "V16": "V16", "M8_ns": "M8[ns]", "m8_s": "m8[s]", "c16": "c16",
    "bool": "?", "b1": "b1", "f4_big_endian": ">f4", "object": "|O",
}
for name, descr in accepted.items():
    fn = f"raw_{name}.npy"
    dt = F.descr_to_dtype(descr)
    raw(fn, descr, (2,), data_for(dt, (2,)))
    assert header_dtype(fn) == dt, fn
    try:
        np.load(fn, allow_pickle=True)
    except ValueError as e:
        # a top-level subarray dtype: numpy reads the header and the data,
        # then cannot reshape the (2, 3) elements it got to the header's
        # (2,). Nothing runs; the bytes are still exactly what the header
        # declares, so the file is clean.
        assert "reshape" in str(e) and dt.subdtype is not None, (fn, e)
        print(f"{fn}: np.load reads the header, then: {e}")

# object dtypes in unusual spellings with a payload: numpy reads the header,
# so np.load(allow_pickle=True) would run it (not loaded here)
for name, descr in {"comma_f8_O": "f8,O", "repeat_1O": "1O", "tuple_object_subarray": ("|O", (2,)),
                    "two_char_string_field": ["xO"], "nested_structured_object": [("a", [("c", "|O")])]}.items():
    fn = f"evil_{name}.npy"
    raw(fn, descr, (1,), EVIL)
    assert header_dtype(fn).hasobject, fn

# descrs numpy refuses: np.load raises before reading the data, so the
# payload behind them runs under no loader
for name, descr in {"bytes_literal_O": b"|O", "dict_descr": {"names": ["a"], "formats": ["|O"]},
                    "list_of_type_strings": ["<f8", "|O"], "negative_subarray": ("|O", (-1,))}.items():
    fn = f"refused_{name}.npy"
    raw(fn, descr, (1,), EVIL)
    try:
        header_dtype(fn)
    except (ValueError, TypeError, IndexError):
        pass
    else:
        raise SystemExit(f"{fn}: numpy accepted it")
