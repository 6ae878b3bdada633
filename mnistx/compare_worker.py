"""The child of `mnistx compare` (`mnistx _child compare DIR`): one column of the report.

A training backend trains (mnistx/train.py) and introspects its run; an inference-only backend
(numpy, openvino) introspects the first training backend's run (CompareChild.from_run). Writes
DIR/<backend>.json: metrics, introspection (figure paths, per-class accuracy), meta, run_dir.
The parent side is mnistx/compare.py.
"""

from __future__ import annotations

from pathlib import Path

from mnistx import children, runs
from mnistx.config import IntrospectConfig


def train_column(workdir) -> None:
    """Child: train on this backend and introspect, write <backend>.json. An inference-only backend
    (numpy, openvino) loads the first training backend's run (cfg.from_run) and introspects it."""
    import keras

    from mnistx import backends, train
    from mnistx.introspect import introspect_run

    workdir, cfg = children.start(workdir, children.CompareChild)
    me = keras.backend.backend()
    cannot = backends.UNSUPPORTED.get("training")
    run_dir = Path(cfg.from_run if cannot else Path(cfg.out) / "runs" / me)
    metrics = None if cannot else train.train(cfg.train, run_dir, cfg.data, cfg.inputs, cfg.loss, cfg.int_high,
                                                    spec=cfg.model)
    figures = Path(cfg.out) / "runs" / f"introspect-{me}" if cannot else run_dir / f"introspect-{me}"
    intro = introspect_run(run_dir, figures, IntrospectConfig(image_index=cfg.image_index))
    meta = runs.read_json(run_dir / "meta.json")
    if cannot:  # this column's own environment; the weights are the trainer's
        meta = {**backends.describe(), "jit_compile": "-", "trained_on": meta.get("backend")}
    runs.write_json(workdir / f"{me}.json", {"metrics": metrics, "introspect": intro, "meta": meta,
                                             "run_dir": str(run_dir), "inference_only": cannot})
