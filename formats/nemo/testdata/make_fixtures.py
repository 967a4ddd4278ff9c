# Writes the small real files the nemo and torchserve tests wrap in
# archives: a torch.save state_dict, as model_weights.ckpt of a .nemo and
# model.pt of a .mar. Run with the Debian python3-torch:
#   /usr/bin/python3 make_fixtures.py
import torch

torch.manual_seed(0)
sd = {
    "encoder.weight": torch.randn(4, 3),
    "encoder.bias": torch.zeros(4),
    "decoder.weight": torch.randn(2, 4),
}
torch.save(sd, "model_weights.ckpt")
