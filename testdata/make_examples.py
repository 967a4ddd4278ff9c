#!/usr/bin/python3
"""Makes the bundled examples that `modelvet scan testdata/examples` runs on (written into testdata/examples/).

clean-model/: a tiny real PyTorch state dict (torch.save, zip format), the
same weights as safetensors (written by hand: the format is a length, a JSON
header and raw bytes) and a Hugging Face style config.json.
malicious-model/: the same layout, but pytorch_model.bin's data.pkl is
replaced by a pickle that would run `id` through os.system when loaded.
Nothing here is ever loaded; the malicious pickle is written as raw opcodes.
"""
import json, os, shutil, struct, zipfile
import torch

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "examples")
torch.manual_seed(0)
sd = {"linear.weight": torch.randn(4, 3), "linear.bias": torch.zeros(4)}

def safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

config = {"architectures": ["TinyLinear"], "model_type": "tiny", "hidden_size": 3}
for name in ("clean-model", "malicious-model"):
    d = os.path.join(here, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    torch.save(sd, os.path.join(d, "pytorch_model.bin"))
    safetensors(os.path.join(d, "model.safetensors"), sd)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)

# The malicious twin: same zip, data.pkl swapped for os.system("id").
payload = b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."
src = os.path.join(here, "clean-model", "pytorch_model.bin")
dst = os.path.join(here, "malicious-model", "pytorch_model.bin")
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
    for item in zin.infolist():
        data = zin.read(item.filename)
        if item.filename.endswith("/data.pkl"):
            data = payload
        zout.writestr(item, data)
