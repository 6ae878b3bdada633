"""What plain PyTorch needs per worksheet-MLP training step on this machine (no Keras, no mnistx):
torch.nn.Sequential (784-128-64-10), F.cross_entropy, batch 32, on random data; three variants
(torch.optim.Adam as the hand-written cross-check uses it, Adam(fused=True), no optimizer step)
at 1 and at all intra-op threads. Median of 3 repeats of 500 steps after 50 warm-up steps,
synced by reading the loss. Prints one line per (threads, variant).

    python benchmarks/torch_step_floor.py [--steps 500] > benchmarks/results/torch-step-floor-cpu.txt
"""

import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F


def time_variant(variant: str, x, y, steps: int) -> list[float]:
    net = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64),
                              torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7, **({"fused": True} if variant == "adam-fused" else {}))

    def step(i):
        loss = F.cross_entropy(net(x[i * 32:(i + 1) * 32]), y[i * 32:(i + 1) * 32])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if variant != "no-optimizer":
            opt.step()
        return loss.detach()

    for i in range(50):
        step(i)
    out = []
    for _ in range(3):
        start = time.perf_counter()
        for i in range(steps):
            loss = step(i)
        float(loss)
        out.append((time.perf_counter() - start) / steps)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=500)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((args.steps * 32, 784), dtype=np.float32))
    y = torch.from_numpy(np.eye(10, dtype=np.float32)[rng.integers(0, 10, args.steps * 32)])
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}")
    for threads in sorted({1, torch.get_num_threads()}):
        torch.set_num_threads(threads)
        for variant in ("adam", "adam-fused", "no-optimizer"):
            t = time_variant(variant, x, y, args.steps)
            print(f"threads {threads}  {variant:<13} {1e3 * statistics.median(t):.3f} ms/step "
                  f"(repeats: {', '.join(f'{1e3 * v:.3f}' for v in t)})")


if __name__ == "__main__":
    main()
