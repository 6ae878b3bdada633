"""Parity of the six example models (examples/models/) across all three backends: the measured
differences behind the default tiers (docs/portability.md) and the wall times in the README.

    python benchmarks/byom_parity.py [--out benchmarks/results/byom-parity-cpu.md]

One `mnistx.check_parity` per model (three children side by side), synthetic inputs except the
subclassed model (MNIST: $MNISTX_DATA), 64 evaluation samples, 16 for per-layer activations,
5 training steps of batch 32.
"""

import argparse
import time
from pathlib import Path

import mnistx

MODELS = {  # example -> extra check_parity arguments
    "mobilenet": {}, "mobilenet_v3": {}, "transformer": {},
    "recurrent": {"loss": "sparse_categorical_crossentropy"}, "two_inputs": {},
    "subclassed": {"inputs": "data"},
}
SHOWN = ("outputs", "activations", "grad_weights", "grad_input", "trajectory_loss", "trajectory_weights",
         "trajectory_state")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results/byom-parity-cpu.md")
    args = ap.parse_args()
    root = Path(__file__).resolve().parent.parent
    lines = ["| model | weights | layers | wall s | " + " | ".join(SHOWN) + " | verdict |",
             "|---|---|---|---|" + "---|" * len(SHOWN) + "---|"]
    for name, kw in MODELS.items():
        start = time.perf_counter()
        r = mnistx.check_parity(str(root / f"examples/models/{name}.py") + ":build",
                                inputs=kw.pop("inputs", "synthetic"), images=64, activation_images=16,
                                steps=5, out=f"/tmp/byom-parity/{name}", progress=print, **kw)
        wall = time.perf_counter() - start
        s = r.to_json()
        cells = []
        for check in SHOWN:
            cs = [c for c in s["checks"] if c["check"] == check]
            if not cs:
                cells.append("-")
                continue
            worst = max(cs, key=lambda c: c["max_abs_diff"])
            floor = f", own {worst['noise_floor'] / 3:.1e}" if worst.get("noise_floor") else ""
            cells.append(f"{worst['max_abs_diff']:.1e} ({worst['excess']:.2g}x{floor})")
        info = s["model_info"]
        lines.append(f"| {name} ({info['class']}) | {info['params']:,} | {info['n_layers']} | {wall:.0f} | "
                     + " | ".join(cells) + f" | {'PASS' if r.passed else 'FAIL'} |")
        print(lines[-1], flush=True)
    text = ("Max |a - b| over the three backend pairs (excess over the default tier; `own`: the model's "
            "own trajectory sensitivity to a 1e-6 weight nudge). 2-core CPU, keras 3.15.1, TF 2.21.0, "
            "JAX 0.10.2, torch 2.13.0; `python benchmarks/byom_parity.py`.\n\n" + "\n".join(lines) + "\n")
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
