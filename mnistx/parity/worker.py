"""The parity child: one backend, the shared reference weights, every quantity the parent compares.

Writes <workdir>/<backend>.npz (arrays) and <backend>.json (scalars, environment), plus this
backend's checkpoints ckpt-<backend>.keras / .weights.h5, which the sibling children load back.
"""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np

from mnistx import backends, models, runs
from mnistx.data import load, normalize, one_hot
from mnistx.parity.sync import wait_for


def reference_path(workdir: Path, cfg: dict) -> Path:
    return Path(cfg["reference"]) if cfg.get("reference") else workdir / "reference.weights.h5"


def fresh_model(name: str, weights_path: Path) -> keras.Model:
    model = models.build(name)
    model.load_weights(weights_path)
    return model


def make_reference(cfg: dict, path: Path) -> None:
    """Seeded initial weights, made once by one backend and loaded by all (never re-seeded)."""
    keras.utils.set_random_seed(cfg["seed"])
    with runs.atomic_path(path) as tmp:
        models.build(cfg["model"]).save_weights(tmp)


def _no_dropout(model: keras.Model) -> keras.Model:
    """A clone whose Dropout layers have rate 0: each backend's RNG stream differs, so dropout
    masks would differ by design, not by a numerical fault."""
    def clone(layer):
        if isinstance(layer, keras.layers.Dropout):
            return keras.layers.Dropout(0.0, name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    twin = keras.models.clone_model(model, clone_function=clone)
    twin.set_weights(model.get_weights())
    return twin


def trajectory(model: keras.Model, x: np.ndarray, y: np.ndarray, steps: int, batch_size: int, lr: float):
    """K Adam steps on batches taken in order; returns (losses (K,), flat weights (K, P))."""
    twin = models.compile_worksheet(_no_dropout(model), lr)
    losses, flat = [], []
    for k in range(steps):
        sl = slice(k * batch_size, (k + 1) * batch_size)
        out = twin.train_on_batch(x[sl], y[sl], return_dict=True)
        losses.append(out["loss"])
        flat.append(np.concatenate([w.ravel() for w in twin.get_weights()]))
    return np.asarray(losses, np.float32), np.stack(flat)


def forward(model: keras.Model, x: np.ndarray, n_act: int) -> dict:
    """probs (N, 10) twice (determinism), logits (n_act, 10), act_<i> per layer (n_act, ...)."""
    probs = np.asarray(model.predict(x, batch_size=1000, verbose=0), np.float32)
    again = np.asarray(model.predict(x, batch_size=1000, verbose=0), np.float32)
    acts = [keras.ops.convert_to_numpy(a) for a in models.layer_outputs_model(model)(x[:n_act])]
    logits = keras.ops.convert_to_numpy(models.logits(model, keras.ops.convert_to_tensor(acts[-2])))
    out = {"probs": probs, "logits": logits, "deterministic": np.array(np.array_equal(probs, again))}
    out.update({f"act_{i}": a for i, a in enumerate(acts)})
    return out


def loss_gradients(model: keras.Model, x: np.ndarray, y: np.ndarray) -> dict:
    """Mean categorical cross-entropy on (x, y), its gradient w.r.t. each weight and the input."""
    yt = keras.ops.convert_to_tensor(y)
    value, gw, gx = backends.gradients(
        model, x, lambda p: keras.ops.mean(keras.losses.categorical_crossentropy(yt, p)))
    out = {"loss": np.array(value, np.float32), "grad_input": gx}
    out.update({f"grad_w{i}": g for i, g in enumerate(gw)})
    return out


def cross_load(workdir: Path, cfg: dict, me: str, my_probs: np.ndarray, x: np.ndarray) -> dict:
    """Load every sibling's checkpoints (waiting for them) and compare predictions with mine."""
    result = {}
    for other in cfg["backends"]:
        paths = [workdir / f"ckpt-{other}.keras", workdir / f"ckpt-{other}.weights.h5"]
        if not wait_for(paths, workdir, [other], cfg["timeout_s"]):
            result[other] = {"error": f"{other} produced no checkpoint"}
            continue
        row = {}
        for fmt, path in zip(("keras", "weights.h5"), paths):
            loaded = (keras.saving.load_model(path) if fmt == "keras"
                      else fresh_model(cfg["model"], path))
            p = np.asarray(loaded.predict(x, batch_size=1000, verbose=0), np.float32)
            row[fmt] = {"max_abs_diff": float(np.abs(p - my_probs).max()),
                        "argmax_disagree": int((p.argmax(1) != my_probs.argmax(1)).sum())}
        result[other] = row
    return result


def run(workdir: str | Path) -> None:
    from mnistx.spawn import child_start

    workdir, cfg, _ = child_start(workdir)
    me = keras.backend.backend()
    t0 = time.perf_counter()
    tf32 = backends.set_tf32(cfg["tf32"]) if backends.has_gpu() else None
    ref = reference_path(workdir, cfg)
    if me == cfg["backends"][0] and not cfg.get("reference"):
        make_reference(cfg, ref)
    if not wait_for([ref], workdir, [cfg["backends"][0]], cfg["timeout_s"]):
        raise SystemExit(f"reference weights {ref} never appeared")
    raw = load(cfg["data"])
    x = normalize(raw.x_test[: cfg["n_images"]])
    n_act = min(cfg["n_activation_images"], len(x))
    y_act = one_hot(raw.y_test[:n_act])
    model = fresh_model(cfg["model"], ref)
    if cfg["plant"] and me == cfg["backends"][-1]:  # self-test: corrupt one weight of one copy
        w = model.weights[0]
        w.assign(keras.ops.convert_to_numpy(w) + np.pad([cfg["plant"]], (0, int(np.prod(w.shape)) - 1))
                 .reshape(w.shape).astype(np.float32))
    arrays = {f"weight_{i}": w for i, w in enumerate(model.get_weights())}
    arrays.update(forward(model, x, n_act))
    arrays.update(loss_gradients(model, x[:n_act], y_act))
    from mnistx.introspect.saliency import saliency

    sal_idx = np.array([i for i in cfg["saliency_indices"] if i < len(x)], np.int64)
    arrays["saliency"] = saliency(model, x[sal_idx], raw.y_test[sal_idx])
    arrays["saliency_images"], arrays["saliency_labels"] = x[sal_idx], raw.y_test[sal_idx]
    xt, yt = normalize(raw.x_train[: cfg["steps"] * cfg["batch_size"]]), one_hot(
        raw.y_train[: cfg["steps"] * cfg["batch_size"]])
    arrays["traj_loss"], arrays["traj_weights"] = trajectory(model, xt, yt, cfg["steps"],
                                                             cfg["batch_size"], cfg["learning_rate"])
    compute_s = time.perf_counter() - t0
    runs.write_npz(workdir / f"{me}.npz", **arrays)
    with runs.atomic_path(workdir / f"ckpt-{me}.weights.h5") as tmp:
        model.save_weights(tmp)
    with runs.atomic_path(workdir / f"ckpt-{me}.keras") as tmp:
        model.save(tmp)
    info = {**backends.describe(), "tf32": tf32, "compute_seconds": compute_s,
            "checkpoints": cross_load(workdir, cfg, me, arrays["probs"], x),
            "saliency_indices": sal_idx.tolist(), "total_seconds": time.perf_counter() - t0}
    runs.write_json(workdir / f"{me}.json", info)
