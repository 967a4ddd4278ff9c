# Generates testdata/torchscript_traced.pt with Debian's python3-torch:
#   /usr/bin/python3 testdata/make_torchscript_fixtures.py  (from formats/pytorch)
# A traced Sequential: its code/*.debug_pkl pickles name
# torch.jit._pickle.build_intlist and data.pkl names __torch__ classes,
# which TorchScript's C++ unpickler resolves without Python.
import os
import torch

torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU())
t = torch.jit.trace(m, torch.ones(1, 2))
torch.jit.save(t, os.path.join(os.path.dirname(__file__), "torchscript_traced.pt"))
