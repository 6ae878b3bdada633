"""The probe child: build the model once, say what it is, and make the shared reference weights.

Runs before the parity/bench/train children, in the first backend. Writes into the work folder:
    spec.json           models.describe(model) + output shapes and whether outputs are probabilities
    reference.weights.h5  seeded initial weights (or the .keras file's own), loaded by every child
    init-<seed>.weights.h5  converge only: the initial weights of each seed it asks for
    mnist.npz           only when MNIST comes from Keras's download (the parent never imports Keras)
    probe.error         a one-line reason, when the model or loss cannot be used (exit code 2)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from mnistx import children, runs
from mnistx.errors import MnistxError


def inspect(model, int_high: int | None = None, seq_len: int | None = None, image_size: int | None = None,
            edge_cases: bool = False) -> dict:
    """models.describe(model) plus output shapes and whether outputs are probabilities (a forward
    pass on four synthetic samples shaped as the synthetic inputs will be)."""
    import keras

    from mnistx import inputs as I
    from mnistx import models
    from mnistx.backends._common import pack_inputs

    info = models.describe(model, int_high)
    int_high = int_high or info["embedding_input_dim"]
    seq_len, image_size = seq_len or I.SEQ_LEN, image_size or I.IMAGE_SIZE
    tiny = I.synthetic(info["inputs"], [1], 4, 0, int_high or 1, "float", seq_len, image_size, info["max_length"],
                       edge_cases)  # the shapes the job's synthetic inputs will have (output shapes -> labels)
    info.update(seq_len=seq_len, image_size=image_size)
    out = model(pack_inputs(model, tiny.eval_x), training=False)
    flat = [keras.ops.convert_to_numpy(t) for t in keras.tree.flatten(out)]
    first = flat[0]
    probs = bool(first.min() >= 0 and (np.allclose(first.sum(-1), 1, atol=1e-3) if first.shape[-1] > 1
                                       else first.max() <= 1))
    info.update(output_shapes=[list(t.shape[1:]) for t in flat], outputs_are_probabilities=probs,
                int_high=int_high, backend=keras.backend.backend())
    return info


def probe(cfg, workdir: Path) -> dict:
    """Build the model (cfg: children.ProbeChild); write spec.json, the reference weights (and
    each seed's initial weights, MNIST when it is downloaded) into workdir."""
    import keras

    from mnistx import backends, losses, models

    backends.set_random_seed(cfg.seed)  # TensorFlow is not imported only to be seeded
    model = models.build_spec(cfg.model)
    if cfg.loss:
        losses.check_name(cfg.loss)
    info = inspect(model, cfg.int_high, cfg.seq_len, cfg.image_size, cfg.edge_cases)
    if cfg.plant_layer:  # before any child computes: a name that is not a layer is bad input
        from mnistx.layer_trace import traced_layers

        weighted = [p for p, layer in traced_layers(model) if layer.weights]
        if cfg.plant_layer not in weighted:
            shown = ", ".join(weighted[:8]) + (f" ... ({len(weighted)} in all)" if len(weighted) > 8 else "")
            raise MnistxError(f"--plant-layer {cfg.plant_layer}: no layer with weights by that path; "
                              f"layers with weights: {shown}")
    with runs.atomic_path(workdir / "reference.weights.h5") as tmp:
        model.save_weights(tmp)
    for seed in cfg.init_seeds:  # converge: one set of initial weights per seed, shared
        backends.set_random_seed(seed)
        with runs.atomic_path(workdir / f"init-{seed}.weights.h5") as tmp:
            models.build_spec(cfg.model).save_weights(tmp)
    if cfg.download_mnist:
        from mnistx.data import load

        raw = load(None)
        runs.write_npz(workdir / "mnist.npz", x_train=raw.x_train, y_train=raw.y_train,
                       x_test=raw.x_test, y_test=raw.y_test)
    runs.write_json(workdir / "spec.json", info)
    return info


def build_once(workdir) -> None:
    """Child entry (`mnistx _child probe DIR`): errors become probe.error + exit code 2."""
    workdir = Path(workdir)
    try:
        probe(children.read(workdir, children.ProbeChild), workdir)
    except MnistxError as exc:
        runs.write_text(workdir / "probe.error", str(exc))
        sys.exit(2)
