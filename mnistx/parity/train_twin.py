"""The training side of a parity child: K Adam steps on a dropout-free twin, and the planted
self-test change. Pure Keras."""

from __future__ import annotations

import keras
import numpy as np

from mnistx import losses, models
from mnistx.backends._common import pack_inputs
from mnistx.layer_trace import leaf_layers, traced_layers

CURVE_WEIGHTS = 20_000  # weights sampled (seeded) to draw the per-step divergence curve
SGD_LEARNING_RATE = 1e-2


def make_optimizer(cfg, twin: keras.Model) -> tuple[keras.optimizers.Optimizer, str]:
    """The trajectory's optimizer and a line saying which and why.

    auto: the model's own compiled optimizer; else Adam for the registry's models (the
    worksheet's recipe); else plain SGD. Adam's first steps are sign-SGD (m / sqrt(v) = +-1), so a
    gradient that is float noise on both backends (1e-9 vs -1e-9) moves a weight by +-lr in
    opposite directions: on deep networks that, not the backends' arithmetic, dominates the
    trajectory (docs/portability.md has the measurement). SGD moves each weight by lr * g."""
    name = cfg.settings.optimizer
    if name == "auto" and getattr(twin, "optimizer", None) is not None and getattr(twin, "compiled", False):
        opt = keras.optimizers.deserialize(keras.optimizers.serialize(twin.optimizer))
        return opt, f"the model's compiled {type(opt).__name__}"
    if name == "auto":
        name = "adam" if cfg.job.model["kind"] == "registry" else "sgd"
    if name == "adam":
        return keras.optimizers.Adam(cfg.settings.learning_rate), f"Adam(learning_rate={cfg.settings.learning_rate:g})"
    if name == "sgd":
        return keras.optimizers.SGD(SGD_LEARNING_RATE), f"SGD(learning_rate={SGD_LEARNING_RATE:g})"
    raise SystemExit(f"unknown optimizer {name}")


def disable_randomness(model: keras.Model) -> list[str]:
    """Set every dropout rate and noise level to 0 (each backend's RNG stream differs, so random
    masks would differ by design, not by a numerical fault). Returns the layers changed."""
    changed = []
    for layer in models.all_layers(model):
        for attr in ("rate", "dropout", "recurrent_dropout", "stddev"):
            value = getattr(layer, attr, None)
            if isinstance(value, float) and value > 0 and (attr != "rate" or "Dropout" in type(layer).__name__
                                                           or "Noise" in type(layer).__name__):
                try:
                    setattr(layer, attr, 0.0)
                except AttributeError:  # read-only (MultiHeadAttention.dropout): its inner
                    continue  # Dropout layer is found and zeroed on its own
                changed.append(f"{layer.name}.{attr}")
    return changed


NUDGE = 1e-6  # relative change of every weight for the model's own sensitivity (about 8 float32 ulps)


def state_variables(model: keras.Model) -> list:
    """Non-trainable float variables (BatchNorm statistics and the like): not RNG seed state,
    which differs per backend by design."""
    return [v for v in model.non_trainable_variables
            if "float" in str(v.dtype) and "seed_generator" not in v.path]


def variable_paths(model: keras.Model, variables) -> list[str]:
    """Each variable's path without the model's own name: what matches it across backends (the
    order of model.weights does not: torch lists BART's in another order)."""
    return [v.path.removeprefix(f"{model.name}/") for v in variables]


def _by_path(model: keras.Model, variables) -> list:
    return [v for _, v in sorted(zip(variable_paths(model, variables), variables), key=lambda p: p[0])]


def _run(twin, weights, opt_init, xs, y, cfg, pick, step=None) -> dict:
    """K steps from `weights` with fresh optimizer state; the arrays trajectory() describes.
    step(model, x, y) -> loss: one optimizer step on a global batch (default: train_on_batch)."""
    twin.set_weights(weights)
    for v, value in zip(twin.optimizer.variables, opt_init):  # iterations, slots; learning rate kept
        v.assign(value)
    n, bs = len(keras.tree.flatten(y)[0]), cfg.settings.batch_size
    loss_k, curve = [], []
    for k in range(cfg.settings.steps):
        idx = np.arange(k * bs, (k + 1) * bs) % n
        batch = pack_inputs(twin, [x[idx] for x in xs])
        yb = keras.tree.map_structure(lambda a: a[idx], y)
        loss_k.append(step(twin, batch, yb) if step else
                      float(twin.train_on_batch(batch, yb, return_dict=True)["loss"]))
        flat = np.concatenate([keras.ops.convert_to_numpy(v).ravel() for v in _by_path(twin, twin.trainable_variables)])
        curve.append(flat[pick])
    arrays = {"traj_loss": np.asarray(loss_k, np.float32), "traj_curve": np.stack(curve)}
    # copies: torch's numpy view shares the variable's storage, which the next run overwrites
    arrays.update({f"traj_w{i}": np.array(keras.ops.convert_to_numpy(v), copy=True)
                   for i, v in enumerate(twin.trainable_variables)})
    arrays.update({f"traj_state_{i}": np.array(keras.ops.convert_to_numpy(v), copy=True)
                   for i, v in enumerate(state_variables(twin))})
    return arrays


def trajectory(cfg, weights: list, xs: list, y: np.ndarray, replicas=None) -> tuple[dict, dict]:
    """K optimizer steps (cfg: children.ParityChild) from `weights` on batches taken in order
    (wrapping around), twice:
    from the weights as given, and from the weights nudged by NUDGE (seeded signs).

    Returns arrays: traj_loss (K,), traj_curve (K, S) sampled weights after each step,
    traj_w<i> final trainable weights, traj_state_<i> final non-trainable (BatchNorm statistics),
    and noise_<same key> = |run - nudged run|: the model's own sensitivity to float32-sized
    changes, in this backend. A chaotic model (an untrained deep network in training mode, say)
    differs from itself there as much as between backends; the checks allow for that floor.

    With `replicas` (backends.data_parallel(n)): once, each global batch split over the engine's
    devices; no nudged run (the single-device child measures the sensitivity)."""
    import contextlib

    with replicas.scope() if replicas else contextlib.nullcontext():  # TF: variables mirrored
        twin = models.build_spec(cfg.job.model)
        twin.set_weights(weights)
        changed = disable_randomness(twin)
        optimizer, why = make_optimizer(cfg, twin)
        loss, y = losses.structured(twin, losses.make(cfg.job.loss, twin), y)  # every output
        twin.compile(optimizer=optimizer, loss=loss)
        twin.optimizer.build(twin.trainable_variables)
    opt_init = [np.array(keras.ops.convert_to_numpy(v), copy=True) for v in twin.optimizer.variables]
    sizes = [int(np.prod(v.shape)) for v in twin.trainable_variables]
    rng = np.random.default_rng(cfg.settings.seed)
    pick = np.sort(rng.choice(sum(sizes), min(sum(sizes), CURVE_WEIGHTS), replace=False))
    info = {"randomness_disabled": changed, "optimizer": why,
            "trainable_paths": variable_paths(twin, twin.trainable_variables),
            "state_paths": variable_paths(twin, state_variables(twin))}
    if replicas is not None:
        return _run(twin, weights, opt_init, xs, y, cfg, pick, replicas.step), info
    arrays = _run(twin, weights, opt_init, xs, y, cfg, pick)
    nudged = [w * (1 + NUDGE * rng.choice([-1.0, 1.0], w.shape)).astype(w.dtype)
              if np.issubdtype(w.dtype, np.floating) else w for w in weights]
    again = _run(twin, nudged, opt_init, xs, y, cfg, pick)
    arrays.update({f"noise_{k}": np.abs(arrays[k] - again[k]) for k in again})
    return arrays, info


def plant_weight(model: keras.Model, delta: float, layer_path: str | None = None) -> dict:
    """Add `delta` to element 0 of one layer's first weight (a kernel or a BatchNorm scale).
    Default layer: the middle one of the layers that have weights. Returns what changed."""
    weighted = [(p, layer) for p, layer in leaf_layers(model) if layer.weights]
    if layer_path:  # any traced layer, a sublayer of a block too (transformer_layer_0/self_attention/query)
        weighted = [(p, layer) for p, layer in traced_layers(model) if p == layer_path and layer.weights]
        if not weighted:
            raise SystemExit(f"--plant-layer {layer_path}: no such layer with weights")
    path, layer = weighted[len(weighted) // 2] if not layer_path else weighted[0]
    var = layer.weights[0]
    value = keras.ops.convert_to_numpy(var).copy()
    value.reshape(-1)[0] += np.float32(delta)
    var.assign(value)
    return {"layer": path, "variable": var.path, "delta": delta}
