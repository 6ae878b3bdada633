"""The parity child: one backend, the shared reference weights and inputs, every quantity the
parent compares, for any model (mnistx/prepare.py made the shared files).

Writes <workdir>/<backend>.npz (arrays) and <backend>.json (layer records, checkpoints,
environment), plus this backend's checkpoints ckpt-<backend>.keras / .weights.h5, which the
sibling children load back.
"""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np

from mnistx import backends, children, losses, models, runs
from mnistx.backends._common import pack_inputs
from mnistx.errors import one_line
from mnistx.inputs import Inputs
from mnistx.layer_trace import leaf_layers, trace
from mnistx.parity.checks import compare_arrays
from mnistx.parity.workfiles import wait_for
from mnistx.parity.train_twin import plant_weight, trajectory, variable_paths


def fresh_model(spec: dict, weights_path) -> keras.Model:
    """The model of a parsed spec (Prepared.model) with the weights in weights_path."""
    model = models.build_spec(spec)
    model.load_weights(weights_path)
    return model


def _predict(model, xs, batch_size: int = 500) -> list[np.ndarray]:
    out = model.predict(pack_inputs(model, xs), batch_size=batch_size, verbose=0)
    return [np.asarray(o) for o in keras.tree.flatten(out)]


def forward(model: keras.Model, xs: list, n_act: int, n_again: int) -> tuple[dict, dict]:
    """Outputs, the first n_again of them again (determinism: the same batches, bit for bit) and
    every layer's output on the first n_act samples."""
    outs, again = _predict(model, xs), _predict(model, [x[:n_again] for x in xs])
    outs_head = [o[:n_again] for o in outs]
    arrays = {f"out_{k}": o for k, o in enumerate(outs)}
    arrays["deterministic"] = np.array(all(np.array_equal(a, b) for a, b in zip(outs_head, again)))
    traced, info = trace_arrays(model, [x[:n_act] for x in xs])
    return {**arrays, **traced}, info


def trace_arrays(model: keras.Model, xs: list) -> tuple[dict, dict]:
    """Every layer's output on the samples `xs` (act_<j>, src_<i> arrays; records and sources)."""
    records, acts = trace(model, pack_inputs(model, xs))
    arrays, j = {}, 0
    for r in records:
        r["output_keys"] = []
        for name in r["outputs"]:
            arrays[f"act_{j}"] = acts[name]
            r["output_keys"].append(f"act_{j}")
            j += 1
    sources = {}
    for i, name in enumerate(k for k in acts if k.startswith(("input:", "ext:"))):
        sources[name] = f"src_{i}"
        arrays[f"src_{i}"] = acts[name]
    for i, x in enumerate(xs):  # model inputs: identical by construction, recorded for the locator
        if f"input:{i}" not in sources:
            sources[f"input:{i}"] = f"src_in{i}"
            arrays[f"src_in{i}"] = x
    return arrays, {"layers": records, "sources": sources}


def loss_gradients(model, xs: list, y: np.ndarray, loss_fn) -> dict:
    value, gw, gx = backends.gradients(model, xs, losses.objective(loss_fn, y))
    out = {"loss": np.array(value, np.float32)}  # grad_w<i>: model.trainable_variables order
    out.update({f"grad_w{i}": g for i, g in enumerate(gw)})
    out.update({f"grad_x{i}": g for i, g in enumerate(gx) if g is not None})
    return out


def saliency_arrays(model, xs, labels, indices) -> dict:
    """|d output[class] / d input| for a few samples of a classifier with a float input."""
    from mnistx.introspect.saliency import saliency

    idx = np.array([i for i in indices if i < len(labels)], np.int64)
    if not len(idx) or labels.ndim != 1 or not any("float" in str(x.dtype) for x in xs):
        return {}
    maps = saliency(model, [x[idx] for x in xs], labels[idx])
    first = next(x for x in xs if "float" in str(x.dtype))[idx]
    out = {"saliency": maps, "saliency_labels": labels[idx]}
    if first.ndim == 3 or (first.ndim == 4 and first.shape[-1] <= 4):  # image-like: show it
        out["saliency_images"] = first
    return out


def savers(cfg, me: str, later: bool = False) -> list[str]:
    """Whose checkpoints this child loads: every sibling's when they run side by side (they wait
    for each other); one after another, those that ran before it (the checkpoint pass loads the
    ones that ran after it, later=True), so no child waits for a file only a later child writes."""
    order = list(cfg.backends)
    if cfg.settings.parallel:
        return list(order)
    i = order.index(me)
    return order[i + 1:] if later else order[:i + 1]


def cross_load(workdir: Path, cfg, me: str, mine: np.ndarray, xs: list, others=None) -> dict:
    """Load the siblings' checkpoints (`others`, waiting for them) and compare outputs with mine."""
    tier, result, spare = cfg.settings.tolerances.checkpoint, {}, []
    for other in savers(cfg, me) if others is None else others:
        paths = {"keras": workdir / f"ckpt-{other}.keras", "weights.h5": workdir / f"ckpt-{other}.weights.h5"}
        skipped = workdir / f"ckpt-{other}.keras.skipped"
        if not wait_for([paths["weights.h5"]], workdir, [other], cfg.settings.timeout_s):
            result[other] = {"error": f"{other} produced no checkpoint"}
            continue
        wait_for([paths["keras"]], workdir, [other], 60)
        row = {}
        for fmt, path in paths.items():
            if fmt == "keras" and skipped.exists():
                row[fmt] = {"skipped": skipped.read_text()}
                continue
            try:
                loaded = keras.saving.load_model(path) if fmt == "keras" else _into_spare(spare, cfg.job.model, path)
                p = _predict(loaded, xs)[0]
            except Exception as exc:  # a checkpoint this backend cannot read is a finding
                row[fmt] = {"max_abs_diff": float("inf"), "excess": float("inf"),
                            "error": f"{type(exc).__name__}: {one_line(exc, 200)}"}
                continue
            s = compare_arrays(mine, p, tier)
            s["excess_at"] = {k: compare_arrays(mine, p, t)["excess"] for k, t in cfg.checkpoint_tiers.items()}
            disagree = int((p.argmax(-1) != mine.argmax(-1)).sum()) if mine.ndim == 2 and mine.shape[-1] > 1 else 0
            row[fmt] = {**s, "argmax_disagree": disagree}
        result[other] = row
    return result


def _into_spare(spare: list, spec: dict, weights_path) -> keras.Model:
    """A model built from the spec once (kept in `spare`), with weights_path loaded into it: each
    sibling's .weights.h5 replaces every weight, so one build serves them all."""
    if not spare:
        spare.append(models.build_spec(spec))
    spare[0].load_weights(weights_path)
    return spare[0]


def save_checkpoints(model, workdir: Path, me: str) -> None:
    with runs.atomic_path(workdir / f"ckpt-{me}.weights.h5") as tmp:
        model.save_weights(tmp)
    try:
        with runs.atomic_path(workdir / f"ckpt-{me}.keras") as tmp:
            backends.save_model(model, tmp)
    except Exception as exc:  # e.g. a subclassed model without get_config()
        runs.write_text(workdir / f"ckpt-{me}.keras.skipped",
                        f"{type(exc).__name__}: {one_line(exc, 200)}")


def compute_parity(workdir: str | Path) -> None:
    workdir, cfg = children.start(workdir, children.ParityChild)
    me, job, settings = keras.backend.backend(), cfg.job, cfg.settings
    t0 = time.perf_counter()
    stages = {}

    def stage(name):
        stages[name] = round(time.perf_counter() - t0 - sum(stages.values()), 2)
        print(f"[{me}] {name} done ({stages[name]:.1f} s)", flush=True)
    tf32 = backends.set_tf32(settings.tf32) if backends.has_gpu() else None
    data = Inputs.load(job.inputs)
    if cfg.checkpoint_pass_of:  # --sequential: the checkpoints saved after this child ran (no model needed)
        main = Path(cfg.checkpoint_pass_of)
        with np.load(main / f"{me}.npz") as f:
            mine = f["out_0"]
        n_ck = min(len(data.eval_y), 1000)
        got = cross_load(main, cfg, me, mine[:n_ck], [x[:n_ck] for x in data.eval_x], savers(cfg, me, later=True))
        runs.write_json(workdir / f"{me}.json", {"checkpoints": got})
        stage("checkpoints saved after this backend ran")
        return
    model = fresh_model(job.model, job.reference)
    planted = None
    if settings.plant and me == cfg.backends[-1]:  # self-test: change one weight of one copy
        planted = plant_weight(model, settings.plant, settings.plant_layer)
    loss_fn = losses.make(job.loss, model)
    out_last = job.out_last
    n_act = min(settings.n_activation_images, len(data.eval_y))
    if cfg.trace_indices is not None:  # the second pass: the samples that differ most
        idx = np.asarray(cfg.trace_indices, np.int64)
        arrays, info = trace_arrays(model, [x[idx] for x in data.eval_x])
        runs.write_npz(workdir / f"{me}.npz", **arrays)
        runs.write_json(workdir / f"{me}.json", info)
        stage(f"per-layer trace of {len(idx)} chosen samples")
        return
    arrays = {f"weight_{i}": np.array(w, copy=True) for i, w in enumerate(model.get_weights())}
    stage("load")
    fwd, info = forward(model, data.eval_x, n_act, settings.determinism_images)
    arrays.update(fwd)
    stage("forward and per-layer trace")
    if "gradients" not in backends.UNSUPPORTED:  # an inference-only backend declares why (numpy)
        y_act = losses.shape_labels(data.eval_y[:n_act], job.loss, out_last)
        arrays.update(loss_gradients(model, [x[:n_act] for x in data.eval_x], y_act, loss_fn))
        if job.loss["name"].endswith("crossentropy") and out_last > 1:
            arrays.update(saliency_arrays(model, data.eval_x, data.eval_y.reshape(len(data.eval_y), -1).argmax(-1)
                                          if data.eval_y.ndim > 1 else data.eval_y, settings.saliency_indices))
        stage("gradients and saliency")
    traj_info = {}
    if "training" not in backends.UNSUPPORTED:
        y_train = losses.shape_labels(data.train_y, job.loss, out_last)
        traj, traj_info = trajectory(cfg, model.get_weights(), data.train_x, y_train)
        arrays.update(traj)
        stage("trajectory")
    compute_s = time.perf_counter() - t0
    runs.write_npz(workdir / f"{me}.npz", **arrays)
    save_checkpoints(model, workdir, me)
    n_ck = min(len(data.eval_y), 1000)
    stage("checkpoints")
    info.update({**backends.describe(), "tf32": tf32, "compute_seconds": compute_s, "planted": planted,
                 "stage_seconds": stages, "weight_paths": variable_paths(model, model.weights),
                 "grad_paths": variable_paths(model, model.trainable_variables),
                 "leaf_layers": len(leaf_layers(model)), **traj_info})
    info["checkpoints"] = cross_load(workdir, cfg, me, arrays["out_0"][:n_ck], [x[:n_ck] for x in data.eval_x])
    stage("loading the siblings' checkpoints")
    info["total_seconds"] = time.perf_counter() - t0
    runs.write_json(workdir / f"{me}.json", info)
