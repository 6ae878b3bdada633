"""The hand-written loop in plain PyTorch: torch.nn.Sequential of Linear/ReLU, torch.optim.Adam
with Keras's epsilon, F.cross_entropy on logits; eager, as a PyTorch user writes it."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

EPS = 1e-7  # Keras's Adam epsilon (torch's default is 1e-8)


class Loop:
    what = "torch.nn.Sequential + torch.optim.Adam, eager"

    def __init__(self, layers, lr: float, batch_size: int):
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        mods = []
        for kernel, bias, act in layers:
            lin = torch.nn.Linear(*kernel.shape)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.T)))
                lin.bias.copy_(torch.from_numpy(bias))
            mods += [lin, torch.nn.ReLU()] if act == "relu" else [lin]
        self.net = torch.nn.Sequential(*mods).to(self.device)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=lr, eps=EPS)

    def train_step(self, x, y) -> float:
        xt = torch.as_tensor(np.asarray(x), device=self.device).reshape(len(x), -1)
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
        return out
