"""`mnistx parity --devices N`: the training trajectory again, each global batch split over N
devices by the framework's own engine (mnistx/backends/distribute/), compared with the same
backend's single-device trajectory and across backends, on the trajectory tiers.

This is the parent side: children() runs one `mnistx _child parity-dp DIR` per backend (the child
side: dp_worker.py), judge() adds the checks; pure numpy.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np

from mnistx import devices, spawn
from mnistx.children import ParityChild, argv as child_argv, collect
from mnistx.parity.workfiles import load_result
from mnistx.config import BACKENDS, Tolerances
from mnistx.parity.checks import compare_pair


def label(backend: str, n: int) -> str:
    """The name a data-parallel result goes by in pairs and reports: "jax×2"."""
    return f"{backend}×{n}"


def stem(backend: str, n: int) -> str:
    """The file stem of one data-parallel result: \"jax-x2\" (.npz and .json)."""
    return f"{backend}-x{n}"


def children(cfg: ParityChild, workdir: Path, present, progress) -> tuple[dict, dict, dict]:
    """Run a data-parallel child per training backend; (arrays, infos, failures) by backend."""
    n = cfg.settings.devices
    trainers = [b for b in present if b in BACKENDS]
    jobs, envs = devices.launch_all(trainers, n, child_argv("parity-dp", workdir))
    progress(f"  data-parallel on {n} devices: {', '.join(trainers)}")
    done = spawn.run_children(jobs, workdir / "logs-dp", cfg.settings.timeout_s, cfg.settings.parallel, progress,
                              env_each=envs)

    loaded, failed = collect(done, lambda b: load_result(workdir, stem(b, n)), trainers)
    return ({b: r for b, (r, _) in loaded.items()}, {b: i for b, (_, i) in loaded.items()},
            {label(b, n): why for b, why in failed.items()})


def sensitivity(single: dict) -> dict:
    """noise_traj_* keys -> the elementwise largest of every backend's measured sensitivity: the
    model's own float32 sensitivity, of which each backend's nudged run is one sample (on the CNN
    with Adam, torch's nudged run missed a +-lr flip that TensorFlow's caught and that its own
    2-device run then showed: 1.0e-3 against a torch-only floor of 1.8e-4)."""
    out = {}
    for r in single.values():
        for k, v in r.items():
            if k.startswith("noise_traj_"):
                out[k] = np.maximum(out[k], v) if k in out and out[k].shape == v.shape else out.get(k, v)
    return out


def judge(single: dict, parallel: dict, n: int, tol: Tolerances) -> tuple[list[dict], dict]:
    """Checks and divergence curves: each backend on N devices against itself on one, then every
    pair of backends on N devices; trajectory checks allow NOISE_FACTOR x the model's own float32
    sensitivity (sensitivity()), as the cross-backend checks do. Pairs read "jax vs jax×2",
    "tensorflow×2 vs jax×2"."""
    floor = sensitivity(single)

    def trajectory_only(r: dict) -> dict:
        return {**{k: v for k, v in r.items() if k.startswith("traj_")}, **floor}

    dp = {b: trajectory_only(r) for b, r in parallel.items()}
    pairs = [(trajectory_only(single[b]), dp[b], f"{b} vs {label(b, n)}") for b in dp if b in single]
    pairs += [(dp[x], dp[y], f"{label(x, n)} vs {label(y, n)}") for x, y in combinations(dp, 2)]
    checks, curves = [], {}
    for a, b, pair in pairs:
        checks += compare_pair(a, b, pair, tol)
        if "traj_curve" in a and "traj_curve" in b:
            d = np.abs(a["traj_curve"].astype(np.float64) - b["traj_curve"])
            curves[pair] = d.max(axis=1).tolist() if d.size else []
    return checks, curves


def section(n: int, infos: dict, layers: list[str]) -> dict:
    """parity.json's "data_parallel": engines, devices and what differs by design."""
    bn = [name for name in layers if "BatchNormalization" in name]
    return {"devices": n, "engines": {b: {k: i.get(k) for k in ("engine", "devices", "processes",
                                                               "per_device_batch", "seconds")}
                                      for b, i in infos.items()},
            "batchnorm_note": (f"the model has BatchNormalization ({len(bn)} layers): JAX's DataParallel "
                               "normalises over the global batch (one SPMD program), MirroredStrategy and "
                               "DDP over each device's part, so TensorFlow and torch on N devices differ from "
                               "one device by design") if bn else None}


def markdown(sec: dict | None) -> list[str]:
    if not sec:
        return []
    n = sec["devices"]
    lines = ["", f"## Data-parallel on {n} devices", "",
             f"The same trajectory with each global batch split over {n} devices by each framework's "
             "own engine (columns `b vs b×N` and `a×N vs b×N` above; same tiers).", "",
             "| backend | engine | devices | per-device batch | seconds |", "|---|---|---|---|---|"]
    lines += [f"| {b} | {e['engine']} | {', '.join(e['devices'] or [])} | {e['per_device_batch']} | "
              f"{e['seconds']:.1f} |" for b, e in sec["engines"].items()]
    if sec.get("batchnorm_note"):
        lines += ["", f"Note: {sec['batchnorm_note']}."]
    return lines
