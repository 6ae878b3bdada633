"""Where torch keras-tuned's first call goes (Keras's train step under torch.compile, jit_compile=True).

    KERAS_BACKEND=torch python benchmarks/torch_keras_compile.py --model mlp
    KERAS_BACKEND=torch python benchmarks/torch_keras_compile.py --model benchmarks/atlas_models.py:gpt2

Times, in one process on synthetic batches of 32: the first fit() of 2 steps (dynamo traces Keras's
train step), a second fit (warm), the first train_on_batch after it (Keras hands train_on_batch an
(x, y, sample_weight) tuple where fit hands (x, y): dynamo's guard on the tuple's length fails and
the step is traced again) and a second one; then torch._dynamo's own compile-time table split into
dynamo's Python tracing (compile_inner less the backend) and the backend compiler (AOTAutograd +
inductor, from its on-disk cache where warm). Prints one line per figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "torch")
import torch  # noqa: E402,F401  (before TensorFlow, which KerasHub imports)
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import keras  # noqa: E402

from mnistx import inputs, models, modelspec, probe  # noqa: E402
from mnistx.backends._common import pack_inputs  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mlp", help="a registry name or FILE.py:FUNCTION (as mnistx takes)")
    args = ap.parse_args()
    model = models.build_spec(modelspec.parse(args.model))
    info = probe.inspect(model)  # the inputs mnistx would feed it: ids in the embedding's range, padding masks
    data = inputs.synthetic(info["inputs"], info["output_shapes"][0], 64, 0, info["int_high"], "float",
                            info["seq_len"], info["image_size"], info["max_length"])
    x, y = pack_inputs(model, data.eval_x), data.eval_y
    model.compile(optimizer="adam", loss="mean_squared_error", jit_compile=True)
    first = lambda v: v[:32] if not isinstance(v, dict) else {k: a[:32] for k, a in v.items()}  # noqa: E731
    for what, call in (("first fit (2 steps)", lambda: model.fit(x, y, batch_size=32, verbose=0)),
                       ("second fit (warm)", lambda: model.fit(x, y, batch_size=32, verbose=0)),
                       ("first train_on_batch", lambda: model.train_on_batch(first(x), y[:32])),
                       ("second train_on_batch", lambda: model.train_on_batch(first(x), y[:32]))):
        start = time.perf_counter()
        call()
        print(f"{what}: {time.perf_counter() - start:.2f} s", flush=True)
    from torch._dynamo.utils import compile_times, counters

    table = dict(zip(*compile_times(repr="csv", aggregate=True)))
    total, backend = float(table.get("_compile.compile_inner", 0)), float(table.get("OutputGraph.call_user_compiler", 0))
    print(f"dynamo compile_inner: {total:.2f} s, of which backend compiler (AOTAutograd + inductor): {backend:.2f} s, "
          f"dynamo's own tracing: {total - backend:.2f} s")
    print(f"graphs: {counters['stats'].get('unique_graphs', 0)}, graph breaks: {sum(counters['graph_break'].values())}; "
          f"torch {torch.__version__}, keras {keras.__version__}")


if __name__ == "__main__":
    main()
