"""Where two backends part ways: per-layer differences matched by name, the first layer beyond
its tier whose inputs agree (and what its own sublayers say), a differing weight, or training alone.

Pure numpy. Rows come from layer_diffs(); the checks from mnistx/parity/checks.py.
"""

from __future__ import annotations

import numpy as np

from mnistx.config import Tier
from mnistx.parity.arrays import compare_arrays, keys, noise_floor


_compare, _floor, _keys = compare_arrays, noise_floor, keys  # short names used below


def layer_diffs(a: dict, b: dict, records: list[dict], tier: Tier, other: list[dict] | None = None) -> list[dict]:
    """Per layer recorded by the first backend (execution order), matched by name in the second:
    its worst output diff and excess. A layer the second did not record (`other`: its records)
    gets `missing` and no excess (its output is unknown there, so it can neither agree nor not)."""
    theirs = None if other is None else {r["name"] for r in other}
    rows = []
    for r in records:
        missing = (theirs is not None and r["name"] not in theirs) or any(k not in b for k in r["output_keys"])
        stats = [] if missing else [_compare(a[k], b[k], tier) for k in r["output_keys"]]
        worst = max(stats, key=lambda s: s["excess"]) if stats else {"max_abs_diff": 0.0, "excess": 0.0}
        rows.append({"name": r["name"], "class": r["class"], "inbound": r["inbound"],
                     "max_abs_diff": worst["max_abs_diff"], "excess": worst["excess"],
                     "outputs": r["outputs"], "parent": r.get("parent"), "missing": missing})
    return rows


def only_in(records: list[dict], other: list[dict]) -> list[str]:
    """Names of the layers `other` recorded and `records` did not."""
    mine = {r["name"] for r in records}
    return [r["name"] for r in other if r["name"] not in mine]


def locate(rows: list[dict], source_excess: dict, once: list[str] = ()) -> dict | None:
    """The first layer beyond its tier whose inputs all agree: where the backends part ways.

    `source_excess` maps `input:<i>` / `ext:<n>` names to their excess; each row's outputs map
    the recorded output names (`<layer>:<k>`)."""
    excess = dict(source_excess)
    for i, row in enumerate(rows):
        for name in row["outputs"]:
            excess[name] = row["excess"]
        if row["excess"] > 1.0 and all(excess.get(s, 0.0) <= 1.0 for s in row["inbound"]):
            agree = rows[i - 1]["name"] if i else "the inputs"
            return {"layer": row["name"], "class": row["class"], "index": i,
                    "max_abs_diff": row["max_abs_diff"], "excess": row["excess"],
                    "agree_up_to": agree,
                    "text": f"backends agree up to {agree}, differ from {row['name']} "
                            f"({row['class']}) by {row['max_abs_diff']:.1e}" + _inside(rows[:i], row, excess)
                            + _paths_apart(row, once)}
    return None


def _paths_apart(block: dict, once: list[str]) -> str:
    """Sublayers of the located layer that only one backend ran: the backends took different code
    paths inside it (KerasHub's attention: a Softmax layer on TensorFlow, the fused
    ops.dot_product_attention on JAX and torch)."""
    path = block["name"].split("#")[0] + "/"
    inner = [n for n in once if n.startswith(path)]
    if not inner:
        return ""
    return (f"; {len(inner)} of its sublayers ran in one backend only ({', '.join(inner[:3])}): the "
            "backends take different code paths inside it")


def backward_only(failing: list[dict]) -> dict | None:
    """When the forward checks pass and the gradients do not: the backward pass of some op differs."""
    names = {c["check"] for c in failing}
    if not names or names & {"outputs", "activations", "argmax"} or not names & {"grad_weights", "grad_input", "loss"}:
        return None
    worst = max((c for c in failing if c["check"].startswith("grad")), key=lambda c: c["excess"], default=failing[0])
    return {"layer": None, "backward_only": True,
            "text": f"the forward pass agrees (outputs and every traced layer); the gradients differ "
                    f"({worst['check']}, {worst['detail']}, by {worst['max_abs_diff']:.1e}): the backward pass "
                    "of an op differs, which the per-layer trace (forward only) cannot locate"}


def _inside(before: list[dict], block: dict, excess: dict) -> str:
    """What a located layer's own sublayers say: all agree (the ops in its call() differ), or the
    first that differs takes a tensor its call() computed (and that tensor already differs)."""
    path = block["name"].split("#")[0]
    subs = [r for r in before if (r.get("parent") or "").split("#")[0] == path and not r.get("missing")]
    if not subs:
        return ""
    bad = [r for r in subs if r["excess"] > 1.0]
    if not bad:
        return (f"; its {len(subs)} traced sublayers agree, so the difference comes from the ops in "
                f"its own call() (between or after them)")
    ext = [s for s in bad[0]["inbound"] if s.startswith("ext:") and excess.get(s, 0.0) > 1.0]
    via = f" through {ext[0]}, a tensor computed in its own call()" if ext else ""
    return f"; inside it, {bad[0]['name']} ({bad[0]['class']}) differs first{via}"


def weight_locate(a: dict, b: dict, info: dict) -> dict | None:
    """The first weight variable that differs at all (the same file was loaded: any difference
    is a loading fault or a planted change), named by its variable path."""
    for k in _keys(a, "weight_"):
        if k in b and np.shape(a[k]) == np.shape(b[k]) and not np.array_equal(a[k], b[k]):
            d = float(np.abs(np.asarray(a[k], np.float64) - b[k]).max())
            path = k.split(":", 1)[-1]
            return {"layer": path.rsplit("/", 1)[0], "variable": path, "max_abs_diff": d, "excess": float("inf"),
                    "index": None, "text": f"weights differ in {path} by {d:.1e}; every layer's output "
                    "still agrees within its tier"}
    return None


SLOT_OPTIMIZERS = ("Adam", "AdamW", "Adamax", "Nadam", "RMSprop", "Adagrad", "Adadelta", "Lion", "Ftrl")


def training_only(failing: list[dict], pair_checks: list[dict], info: dict, a: dict, b: dict,
                  tier: Tier, pair: str) -> dict | None:
    """When only trajectory checks fail and the loss and gradients agree: the difference comes
    from training. Which variables part ways says why: only Embedding tables, with TensorFlow on
    one side and an optimizer with per-weight slots, is TensorFlow's sparse (IndexedSlices) update
    of the table (docs/portability.md); else, with Adam, most often float-noise gradients."""
    if not failing or any(not c["check"].startswith("trajectory") for c in failing):
        return None
    grads = [c for c in pair_checks if c["check"] == "grad_weights"]
    if not grads or not all(c["passed"] for c in grads):
        return None
    apart = [k.split(":", 1)[-1] for k in _keys(a, "traj_w") if k in b
             and _compare(a[k], b[k], tier, _floor(a, b, k))["excess"] > 1.0]
    opt = info.get("optimizer") or "the optimizer"
    shown = ", ".join(apart[:3]) + (f" and {len(apart) - 3} more" if len(apart) > 3 else "")
    text = (f"the forward pass, loss and gradients agree (gradients within {grads[0]['max_abs_diff']:.1e}); "
            f"only training with {opt} differs, in {shown or 'the loss curve'}")
    slots = any(name in opt for name in SLOT_OPTIMIZERS)
    tables = bool(apart) and all(p.endswith("embeddings") for p in apart)
    if tables and slots and "tensorflow" in pair.split(" vs "):
        text += (": Embedding tables only. On TensorFlow an Embedding's gradient is IndexedSlices (one "
                 "slice per occurrence of an id) and Keras's optimizer updates its moments from them: only "
                 "at the ids in the batch (the others' moments do not decay) and with each occurrence "
                 "squared apart (sum g_i^2, not (sum g_i)^2), where JAX and torch see a dense gradient "
                 "(docs/portability.md, 'Embedding + Adam on TensorFlow'; SGD agrees: --optimizer sgd)")
    elif "Adam" in opt:
        text += (": Adam moves each weight by about +-learning_rate whatever the gradient's size, so a "
                 "gradient that is float noise on both backends (masked or unused positions) moves it in "
                 "opposite directions; rerun with --optimizer sgd to tell that from a real difference")
    return {"layer": None, "training_only": True, "variables": apart, "text": text}


def worst_samples(results: dict, checks: list[dict], tier: Tier, n: int, traced: int) -> dict | None:
    """The samples to trace again when the outputs differ outside the traced ones: per sample, the
    largest excess over the outputs tier of any output, over every pair whose outputs check failed.
    None when every sample beyond its tier was traced already (the first `traced`). Returns
    {indices (worst first, at most n), excess (each), pairs, beyond: how many samples differ}."""
    pairs = [c["pair"] for c in checks if c["check"] == "outputs" and not c["passed"] and " vs " in c["pair"]]
    per = None
    for pair in pairs:
        x, _, y = pair.partition(" vs ")
        if x not in results or y not in results:
            continue
        for k in _keys(results[x], "out_"):
            if k not in results[y] or np.shape(results[x][k]) != np.shape(results[y][k]):
                continue
            a, b = (np.asarray(r[k], np.float64) for r in (results[x], results[y]))
            e = np.abs(a - b) / (tier.atol + tier.rtol * np.abs(a))
            e = np.nan_to_num(e.reshape(len(e), -1).max(1), nan=np.inf)
            per = e if per is None else np.maximum(per, e)
    if per is None:
        return None
    beyond = np.flatnonzero(per > 1.0)
    if not len(beyond) or beyond.max() < traced:
        return None
    order = beyond[np.argsort(-per[beyond], kind="stable")][:n]
    return {"indices": order.tolist(), "excess": per[order].round(3).tolist(), "pairs": pairs,
            "beyond": int(len(beyond))}
