# Writes functions/model.onnx (run from formats/onnx/testdata with
# /usr/bin/python3 and Debian python3-torch, python3-onnx): a tiny two-block network exported with
# export_modules_as_functions=True, which stores each module as a
# model-local FunctionProto (the case that crashed the companion lookup).
import torch


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 4)

    def forward(self, x):
        return torch.relu(self.lin(x))


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Block()
        self.b = Block()

    def forward(self, x):
        return self.b(self.a(x))


torch.manual_seed(0)
torch.onnx.export(Net().eval(), (torch.zeros(1, 4),), "functions/model.onnx", opset_version=15,
                  export_modules_as_functions={Block})
