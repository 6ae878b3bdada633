"""Check a job's model, inputs and loss once, in the parent, before its children start.

    spec = modelspec.parse(--model)        no Keras: a name that resolves to nothing fails here
    arrays = the user's .npz / MNIST       numpy only: unreadable data fails here
    probe child (first backend)            builds the model once: input/output spec, reference
                                           weights (mnistx/probe.py)
    inputs fitted to the spec, loss chosen shapes/dtypes that do not fit fail here, one line
    -> work/inputs.npz + work/reference.weights.h5, read by every child

The parent never imports Keras; the probe is the one child that runs before the checks end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnistx import inputs as I
from mnistx import children, modelspec, runs, spawn, warmstart
from mnistx.config import MNIST_TEST_SAMPLES
from mnistx.data import resolve_path
from mnistx.errors import DataError, MnistxError


@dataclass
class Job:
    spec: modelspec.ModelSpec
    info: dict  # what the probe found (models.describe + output shapes)
    inputs: I.Inputs
    loss: dict  # {name, from_logits, compiled, why}
    workdir: Path
    warm: dict = field(default_factory=dict)  # backend -> warmstart.WarmChild, for spawn.run_children(warm=)

    @property
    def reference(self) -> Path:
        return self.workdir / "reference.weights.h5"

    @property
    def inputs_path(self) -> Path:
        return self.workdir / "inputs.npz"

    def shared(self, label: str = "") -> children.Prepared:
        """What every child of this job reads: the parsed spec, loss, inputs and reference paths."""
        return children.Prepared(self.spec.to_json(), self.loss, str(self.inputs_path), str(self.reference),
                                 self.info, label)


def read_data(spec: modelspec.ModelSpec, data_path) -> tuple[dict | None, str]:
    """The user's arrays (None: MNIST through Keras's download, done by the probe child)."""
    from mnistx import data

    local = resolve_path(data_path)
    if local is None:
        return None, "keras.datasets.mnist"
    if local.is_dir() or spec.on_mnist:
        raw = data.load(local)  # MNIST: IDX folder or Keras-layout .npz, with MNIST's checks
        return {"x_train": raw.x_train, "y_train": raw.y_train, "x_test": raw.x_test,
                "y_test": raw.y_test}, raw.source
    return I.read_npz(local), str(local)


def choose_loss(spec, info: dict, loss: str | None, kind: str) -> dict:
    probs = info["outputs_are_probabilities"]
    if info.get("compiled_loss"):
        return {"name": info["compiled_loss"], "compiled": True, "why": "the model's own compile() loss"}
    if loss:
        return {"name": loss, "from_logits": not probs, "why": "--loss"}
    if spec.on_mnist:
        return {"name": "categorical_crossentropy", "from_logits": False, "why": "the worksheet's loss"}
    guess = I.guess_loss(kind, probs, I.out_last(info))
    what = {"int": "integer labels", "onehot": "one-hot labels", "float": "float targets"}[kind]
    logits = " with from_logits=True (outputs are not probabilities)" if guess["from_logits"] else ""
    return {**guess, "why": f"guessed from {what}{logits}; pass --loss to choose"}


def _synthetic_kind(info: dict, loss: str | None) -> str:
    name = loss or info.get("compiled_loss") or ""
    if "sparse" in name:
        return "int"
    if "categorical" in name:
        return "onehot"
    if name and "crossentropy" not in name:
        return "float"
    return "int" if info["outputs_are_probabilities"] or "crossentropy" in name else "float"


def fit_job(spec, info: dict, arrays: dict | None, source: str, n_eval: int, n_train: int, seed: int,
            loss: str | None) -> tuple[I.Inputs, dict]:
    """The inputs fitted to the model (arrays, or synthetic when None) and the loss choice."""
    kind = _synthetic_kind(info, loss)  # for labels made up from the output spec
    if arrays is None:
        data = I.synthetic(info["inputs"], info["output_shapes"][0], max(n_eval, n_train), seed,
                           info["int_high"], kind, info.get("seq_len") or I.SEQ_LEN,
                           info.get("image_size") or I.IMAGE_SIZE, info.get("max_length"),
                           bool(info.get("edge_cases")))
    else:
        data = I.from_arrays(arrays, info["inputs"], source, lambda n: I.synthetic_labels(
            info["output_shapes"][0], n, np.random.default_rng(seed), kind))
        kind = I.label_kind(data.eval_y)
    data = I.Inputs([x[:n_eval] for x in data.eval_x], data.eval_y[:n_eval],
                    [x[:n_train] for x in data.train_x], data.train_y[:n_train], data.source)
    if len(data.train_y) < 1 or len(data.eval_y) < 1:
        raise DataError(f"{source}: no samples to use")
    return data, choose_loss(spec, info, loss, kind)


# The probe's backend: JAX first, so the reference weights every job starts from stay JAX-seeded
# (each backend's initializers draw other numbers, and a planted 1e-3 weight that fails the forward
# tiers from JAX's initial weights stays inside them from TensorFlow's). The probe child measured
# here (2 cores, 2026-12-04; JAX with its compilation cache warm, devices.compile_cache_env, and
# cold): MLP jax 6.0 / 6.1 s, tensorflow 5.0, torch 8.7; small KerasHub Llama 7.6 / 9.9, 5.0, 9.1;
# MobileNetV2 9.4 / 20.2, 6.3, 8.4.
PROBE_ORDER = ("jax", "torch", "tensorflow")


def probe_backend(present) -> str:
    """The backend the probe child runs in: the first of PROBE_ORDER asked for, else the first asked."""
    return next((b for b in PROBE_ORDER if b in present), present[0])


def run_probe(cfg: children.ProbeChild, workdir: Path, backend: str, timeout_s: float, progress) -> dict:
    children.write(workdir, cfg)
    progress(f"  probing the model in {backend} (input/output spec, reference weights)")
    res = spawn.run_children({backend: children.argv("probe", workdir)},
                             workdir / "logs-probe", timeout_s, progress=progress)[backend]  # never silent
    err = workdir / "probe.error"
    if err.exists():
        raise MnistxError(err.read_text().strip())
    if not res.ok:
        raise MnistxError(f"the model could not be built in {backend} ({res.reason()}): {res.error()}")
    return runs.read_json(workdir / "spec.json")


def reuse_probe(cfg: children.ProbeChild, probed, workdir: Path, progress) -> dict | None:
    """What an earlier probe found (its folder `probed`: spec.json, the reference weights, ...),
    copied into workdir, when it probed the same thing (the same ProbeChild settings); else None.
    compare probes once and its parity and benchmark stages reuse it (8 s each on the MLP)."""
    import shutil

    if probed is None or not (Path(probed) / "spec.json").exists():
        return None
    try:
        if children.read(probed, children.ProbeChild) != cfg:
            return None
    except MnistxError:
        return None
    for f in Path(probed).iterdir():
        if f.name == "spec.json" or f.name.endswith(".weights.h5") or f.name == "mnist.npz":
            shutil.copyfile(f, workdir / f.name)
    info = runs.read_json(workdir / "spec.json")
    progress(f"  the model as probed before in {info['backend']} ({probed})")
    return info


def prepare(model: str, workdir, backends, data_path=None, inputs: str = "data", n_eval: int = MNIST_TEST_SAMPLES,
            n_train: int = 640, seed: int = 42, int_high: int | None = None, loss: str | None = None,
            timeout_s: float = 600.0, progress=print, seq_len: int | None = None,
            image_size: int | None = None, edge_cases: bool = False, plant_layer: str | None = None,
            init_seeds: tuple[int, ...] = (), probed=None, warm=None) -> Job:
    """Everything a job's children share, checked here; raises a one-line MnistxError if not.
    probed: the work folder of an earlier prepare() whose probe may serve (reuse_probe).
    warm: a warmstart.Plan: the job's children, started once the work folder exists so that they
    import while the probe runs (Job.warm); ended here when a check fails."""
    spec = modelspec.parse(model)
    if inputs not in ("data", "synthetic"):
        raise MnistxError(f"--inputs must be data or synthetic, not {inputs}")
    present = [b for b in backends if spawn.installed(b)]
    if not present:
        raise MnistxError(f"none of {', '.join(backends)} is installed; {spawn.install_hint(backends[0])}")
    arrays, source = (None, "synthetic") if inputs == "synthetic" else read_data(spec, data_path)
    workdir = runs.fresh_dir(workdir)
    if edge_cases and inputs != "synthetic":
        raise MnistxError("--edge-cases shapes synthetic inputs: give it with --inputs synthetic")
    for flag, v in (("--seq-len", seq_len), ("--image-size", image_size)):
        if v is not None and v < 1:
            raise MnistxError(f"{flag} must be at least 1, not {v}")
    cfg = children.ProbeChild(spec.to_json(), seed, loss, int_high, seq_len, image_size, edge_cases,
                              plant_layer, tuple(init_seeds), inputs == "data" and arrays is None)
    if cfg.download_mnist:
        from mnistx.data import check_download

        progress(f"  MNIST from {check_download()}")  # unreachable and not cached: one line, no child
    early = warmstart.start(warm, warm.log_dir or workdir / "logs", progress) if warm else {}
    try:
        info = reuse_probe(cfg, probed, workdir, progress) or run_probe(cfg, workdir, probe_backend(present),
                                                                        timeout_s, progress)
        info["edge_cases"] = edge_cases
        if cfg.download_mnist:
            arrays = I.read_npz(workdir / "mnist.npz")
        data, choice = fit_job(spec, info, arrays, source, n_eval, n_train, seed, loss)
        data.save(workdir / "inputs.npz")
    except BaseException:
        spawn.end_warm(early)
        raise
    progress(f"  model {spec.text}: {info['class']} '{info['name']}', {info['params']:,} weights, "
             f"{len(info['inputs'])} input(s); inputs {data.source}; loss {choice['name']} ({choice['why']})")
    info["inputs_described"] = I.describe(data.eval_x, info["inputs"])
    if len(info.get("output_shapes") or []) > 1:
        info["outputs_note"] = (f"{len(info['output_shapes'])} outputs: the loss is {choice['name']} on the "
                                "first (flattened order) plus the mean square of each other output")
    for line in info["inputs_described"]:
        progress(f"    {line}")
    return Job(spec, info, data, choice, workdir, early)
