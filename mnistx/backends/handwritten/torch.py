"""The hand-written loop in plain PyTorch: torch.nn layers (Linear, Conv2d in NCHW, MaxPool2d,
Dropout), torch.optim.Adam with Keras's epsilon, F.cross_entropy on logits; eager, as a PyTorch
user writes it."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

EPS = 1e-7  # Keras's Adam epsilon (torch's default is 1e-8)


class _Reshape(torch.nn.Module):
    """Keras's Reshape (target_shape, channels last); an image (h, w, c) goes on as NCHW, as torch's
    Conv2d takes it. shape None: the input as it comes (an (h, w, c) image) to NCHW."""

    def __init__(self, shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        x = x if self.shape is None else x.reshape(len(x), *self.shape)
        return x.permute(0, 3, 1, 2) if x.ndim == 4 else x


class _FlattenNHWC(torch.nn.Module):  # Keras flattens (h, w, c): back to channels last first
    def forward(self, x):
        return (x.permute(0, 2, 3, 1) if x.ndim == 4 else x).flatten(1)


def _module(op, channels_first: bool):
    kind = op[0]
    if kind == "reshape":
        return _Reshape(op[1])
    if kind == "flatten":
        return _FlattenNHWC() if channels_first else torch.nn.Flatten()
    if kind == "dropout":
        return torch.nn.Dropout(op[1])
    if kind == "maxpool":
        return torch.nn.MaxPool2d(op[1])
    kernel, bias = op[1], op[2]
    if kind == "dense":
        mod = torch.nn.Linear(*kernel.shape)
        value = kernel.T
    else:
        mod = torch.nn.Conv2d(kernel.shape[2], kernel.shape[3], kernel.shape[:2])
        value = kernel.transpose(3, 2, 0, 1)  # HWIO -> OIHW
    with torch.no_grad():
        mod.weight.copy_(torch.from_numpy(np.ascontiguousarray(value)))
        mod.bias.copy_(torch.from_numpy(bias))
    return mod


class Loop:
    what = "torch.nn + torch.optim.Adam, eager"

    def __init__(self, ops, lr: float, batch_size: int):
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        mods, nchw = [], False
        if ops[0][0] == "conv":  # an image input that is already (h, w, c)
            mods.append(_Reshape(None))
        for op in ops:
            nchw = nchw or (op[0] == "reshape" and len(op[1]) == 3) or op[0] == "conv"
            mods.append(_module(op, nchw))
            if op[0] == "flatten":
                nchw = False
            if op[0] in ("dense", "conv") and op[-1] == "relu":
                mods.append(torch.nn.ReLU())
        self.net = torch.nn.Sequential(*mods).to(self.device).train()
        self.opt = torch.optim.Adam(self.net.parameters(), lr=lr, eps=EPS)

    def train_step(self, x, y) -> float:
        xt = torch.as_tensor(np.asarray(x), device=self.device)
        yt = torch.as_tensor(np.asarray(y), device=self.device)
        loss = F.cross_entropy(self.net(xt), yt.long() if yt.ndim == 1 else yt)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return float(loss.detach())

    def weights(self) -> list[np.ndarray]:
        out = []
        for mod in self.net:
            if isinstance(mod, torch.nn.Linear):
                out += [mod.weight.detach().cpu().numpy().T, mod.bias.detach().cpu().numpy()]
            elif isinstance(mod, torch.nn.Conv2d):
                out += [mod.weight.detach().cpu().numpy().transpose(2, 3, 1, 0), mod.bias.detach().cpu().numpy()]
        return out
