#!/usr/bin/python3
"""Builds the PyTorch fixtures of formats/pytorch. Run from this folder
with Debian's python3-torch: /usr/bin/python3 make_fixtures.py

Benign files come from torch.save / torch.jit.save. Malicious twins are made
by editing the zip bytes (raw pickle opcodes written here): nothing in this
script ever loads a malicious file."""
import io, os, struct, zipfile, zlib
import torch

torch.manual_seed(0)

def small(dtype):
    if dtype == torch.bool:
        return torch.tensor([True, False, True])
    if dtype.is_complex:
        return torch.tensor([1 + 2j, 3 - 1j], dtype=dtype)
    if dtype.is_floating_point:
        return torch.arange(4, dtype=torch.float32).to(dtype)
    return torch.arange(4).to(dtype)

# 1. state dict with many dtypes
sd = {f"t_{str(d).split('.')[-1]}": small(d) for d in [
    torch.float32, torch.float16, torch.float64, torch.bfloat16, torch.int8,
    torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool, torch.complex64]}
sd["view_of_float"] = sd["t_float32"][1:3]  # shares a storage
torch.save(sd, "state_dict_dtypes.pt")

# 2. checkpoint with optimizer state
model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss = model(torch.randn(2, 4)).sum()
loss.backward()
opt.step()
ckpt = {"epoch": 3, "model": model.state_dict(), "optimizer": opt.state_dict(), "loss": float(loss)}
torch.save(ckpt, "checkpoint_adam.pt")

# 3. legacy (non-zip) torch.save, plain and with optimizer
torch.save(model.state_dict(), "legacy_state_dict.pt", _use_new_zipfile_serialization=False)
torch.save(ckpt, "legacy_checkpoint_adam.pt", _use_new_zipfile_serialization=False)

# 4. TorchScript
class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(2, 2)
    def forward(self, x):
        return torch.relu(self.lin(x)) * 2
torch.jit.save(torch.jit.script(Tiny()), "torchscript_tiny.pt")

# --- zip rewriting helpers (never load the result) ---
def members(path):
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]

def write_zip(path, items, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compress) as z:
        for name, data in items:
            z.writestr(name, data)

# a pickle that calls os.system("id") when loaded
EVIL = b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."

base = members("state_dict_dtypes.pt")
root = base[0][0].split("/")[0]

# 5. malicious twin: data.pkl replaced
write_zip("malicious_data_pkl.pt", [(n, EVIL if n.endswith("/data.pkl") else d) for n, d in base])

# 6. root folder renamed (benign: torch reads any root)
write_zip("renamed_root.pt", [("mymodel/" + n.split("/", 1)[1], d) for n, d in base])

# 7. a storage member removed
write_zip("missing_storage.pt", [(n, d) for n, d in base if n != root + "/data/0"])

# 8. an extra pickle member with a payload
write_zip("extra_evil_pkl.pt", base + [(root + "/extra.pkl", EVIL)])

# 9. deflated PyTorch zip (Python's zipfile default when asked; torch itself stores)
write_zip("deflated.pt", base, zipfile.ZIP_DEFLATED)

# 10. the oldest layout: a tar of sys_info, pickle, storages, tensors,
# written by hand (torch no longer writes it).
import tarfile
def tar_add(t, name, data):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    t.addfile(ti, io.BytesIO(data))
storages = (b"\x80\x02K\x01."                                   # 1 storage
            + b"\x80\x02(X\x01\x00\x00\x000X\x03\x00\x00\x00cpuctorch\nFloatStorage\ntq\x00."
            + struct.pack("<q", 3) + struct.pack("<3f", 1, 2, 3)
            + b"\x80\x02]q\x00.")                                # storage views
tensors = (b"\x80\x02K\x01."
           + b"\x80\x02(X\x01\x00\x00\x001X\x01\x00\x00\x000ctorch\nFloatTensor\ntq\x00."
           + struct.pack("<ii", 1, 0) + struct.pack("<q", 3) + struct.pack("<q", 1) + struct.pack("<q", 0))
main = b"\x80\x02}q\x00X\x01\x00\x00\x00wq\x01X\x01\x00\x00\x001Qs."
sysinfo = b"\x80\x02}q\x00X\x0d\x00\x00\x00little_endianq\x01\x88s."
with tarfile.open("legacy_tar.pt", "w", format=tarfile.PAX_FORMAT) as t:
    for n, d in [("sys_info", sysinfo), ("pickle", main), ("storages", storages), ("tensors", tensors)]:
        tar_add(t, n, d)
with tarfile.open("legacy_tar_evil.pt", "w", format=tarfile.PAX_FORMAT) as t:
    for n, d in [("sys_info", sysinfo), ("pickle", EVIL), ("storages", storages), ("tensors", tensors)]:
        tar_add(t, n, d)

# 11. legacy stream with the main pickle replaced: magic, version, sys_info
# copied from the real file, then the payload.
raw = open("legacy_state_dict.pt", "rb").read()
import pickletools
ends = [p for op, arg, p in pickletools.genops(io.BytesIO(raw)) if op.name == "STOP"][:1]
# walk three pickles by hand with pickletools on successive offsets
off = 0
for _ in range(3):
    last = None
    for op, arg, p in pickletools.genops(io.BytesIO(raw[off:])):
        last = p
    off += last + 1
open("legacy_evil_main.pt", "wb").write(raw[:off] + EVIL + b"\x80\x02]q\x00.")
