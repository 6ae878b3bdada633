"""TensorFlow side of the adapter (see mnistx/backends/__init__.py for the shared function list)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from mnistx.backends._common import adam_update, cpu_device

EPS = 1e-7  # Keras's epsilon, for the loss clip and Adam
UNSUPPORTED: dict[str, str] = {}  # capability -> reason; this backend can do everything


def versions() -> dict:
    return {"tensorflow": tf.__version__}


def has_gpu() -> bool:
    return bool(tf.config.list_physical_devices("GPU"))


def threads() -> int:
    import os

    env = os.environ.get("TF_NUM_INTRAOP_THREADS", "")  # set for children side by side (devices.thread_env)
    return tf.config.threading.get_intra_op_parallelism_threads() or (int(env) if env.isdigit() else 0) \
        or os.cpu_count() or 1


def device() -> str:
    if has_gpu():
        details = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
        return f"gpu ({details.get('device_name', 'GPU')})"
    return cpu_device(threads())


def sync(x):
    if has_gpu():
        tf.test.experimental.sync_devices()
    return x


def set_tf32(enabled: bool) -> bool:
    tf.config.experimental.enable_tensor_float_32_execution(enabled)
    return enabled


def gpu_peak_bytes() -> int | None:
    return int(tf.config.experimental.get_memory_info("GPU:0")["peak"]) if has_gpu() else None


def gradients(model, xs, objective):
    """(objective value, d/d trainable weights, d/d each float input or None) via tf.GradientTape."""
    from mnistx.backends._common import float_inputs, pack_inputs

    inputs = [tf.convert_to_tensor(np.asarray(x)) for x in xs]
    wrt = float_inputs(xs)
    weights = model.trainable_variables
    with tf.GradientTape() as tape:
        for i in wrt:
            tape.watch(inputs[i])
        value = objective(model(pack_inputs(model, inputs), training=False))
    gw, gx = tape.gradient(value, [weights, [inputs[i] for i in wrt]])
    grads_x = [np.asarray(gx[wrt.index(i)]) if i in wrt else None for i in range(len(xs))]
    dense = [np.zeros(w.shape, np.float32) if g is None else np.asarray(tf.convert_to_tensor(g))
             for w, g in zip(weights, gw)]  # Embedding gradients come as IndexedSlices
    return float(value), dense, grads_x


class NativeTrainer:
    """A tf.function (XLA-compiled) loop: GradientTape + Keras-formula Adam on the model's variables.

    Any model and loss: `loss_fn(y, outputs)` (a Keras loss); inputs are a list of arrays."""

    # train_epoch: "compiled" = one tf.function loop over the epoch; "python" = a Python loop of the compiled
    # step, chosen by the bench where the fused loop measured slower (XLA:CPU runs convolutions inside
    # a while loop ~14x slower: ResNetBackbone 13.8 s against 32 x 28.9 ms); bench reconciles by it
    epoch_loop = "compiled"
    graph_error = None

    @property
    def path(self) -> str:
        """The loop recorded beside every number (torch: cuda-graph / torch.compile / eager)."""
        return "tf.function (XLA)" if self.epoch_loop == "compiled" else "tf.function (XLA) per step"

    def __init__(self, model, loss_fn, learning_rate: float = 1e-3, batch_size: int = 32):
        self.model, self.loss_fn, self.lr, self.batch_size = model, loss_fn, learning_rate, batch_size
        self.weights = [v.value for v in model.trainable_variables]  # the tf.Variables themselves
        self.m = [tf.Variable(tf.zeros_like(w)) for w in self.weights]
        self.v = [tf.Variable(tf.zeros_like(w)) for w in self.weights]
        self.t = tf.Variable(0.0)
        self._step = tf.function(self._update, jit_compile=True)
        self._epoch = tf.function(self._loop, jit_compile=True)

    def reset(self) -> None:
        """Start again from the Keras model's current weights with fresh Adam state."""
        for slot in self.m + self.v:
            slot.assign(tf.zeros_like(slot))
        self.t.assign(0.0)

    def _update(self, xs, y):
        from mnistx.backends._common import pack_inputs

        with tf.GradientTape() as tape:
            loss = self.loss_fn(y, self.model(pack_inputs(self.model, list(xs)), training=True))
        grads = tape.gradient(loss, self.weights)
        self.t.assign_add(1.0)
        for w, g, m, v in zip(self.weights, grads, self.m, self.v):
            # Embedding gradients arrive as IndexedSlices; a variable the loss does not reach (Llama's
            # token_embedding/reverse_embeddings in a backbone) has None: a zero gradient, as JAX gives it
            g = tf.zeros_like(w) if g is None else tf.convert_to_tensor(g)
            nw, nm, nv = adam_update(tf.math, w, g, m, v, self.t, self.lr, eps=EPS)
            w.assign(nw), m.assign(nm), v.assign(nv)
        return loss

    def _loop(self, xs, ys):
        total = tf.constant(0.0)
        for i in tf.range(tf.shape(ys)[0]):
            total += self._update([x[i] for x in xs], ys[i])
        return total / tf.cast(tf.shape(ys)[0], tf.float32)

    def train_step(self, xs, y) -> float:
        return float(self._step([tf.constant(x) for x in xs], tf.constant(y)))

    def train_epoch(self, xs, y) -> float:
        """All full batches of (xs, y) in order, one compiled loop (or per step: epoch_loop); the mean loss."""
        if self.epoch_loop == "python":
            from mnistx.backends._common import stepped_epoch

            return stepped_epoch(self, xs, y)
        bs = self.batch_size
        n = (len(y) // bs) * bs
        batched = [tf.reshape(tf.constant(x[:n]), (-1, bs, *x.shape[1:])) for x in xs]
        ys = tf.reshape(tf.constant(y[:n]), (-1, bs, *y.shape[1:]))
        return float(self._epoch(batched, ys))

    def write_back(self) -> None:
        """Nothing to copy: the loop assigned the Keras variables in place."""


def native_trainer(model, loss_fn, learning_rate: float = 1e-3, batch_size: int = 32) -> NativeTrainer:
    return NativeTrainer(model, loss_fn, learning_rate, batch_size)


def data_parallel(n: int):
    """This framework's own data-parallel engine over n devices (mnistx/backends/distribute/)."""
    from mnistx.backends.distribute.tensorflow import Replicas

    return Replicas(n)


_COUNTS = {"compiles": 0}


def handwritten_loop(ops, lr: float, batch_size: int):
    """A hand-written TensorFlow training loop for an MLP or a small CNN (mnistx/backends/handwritten/)."""
    from mnistx.backends.handwritten.tensorflow import Loop

    return Loop(ops, lr, batch_size)


def forget_compiled() -> None:
    """Nothing to drop: each compiled function belongs to the object that made it, with no limit
    across the process (torch's dynamo has one: mnistx/backends/torch.py)."""


def compilations() -> dict:
    """tf.function traces (a new concrete function: a new graph, compiled again under XLA) in this
    process since the first call; a call that reuses a traced graph counts nothing. tf.data's own
    functions (Dataset_*, rebuilt by every fit's input pipeline) are not the model's and are left out."""
    if "hooked" not in _COUNTS:
        from tensorflow.python.eager.polymorphic_function import tracing_compilation as tc

        create = tc._create_concrete_function

        def counted(function_type, type_context, func_graph, tracing_options):
            if not str(getattr(tracing_options, "name", "")).startswith("Dataset_"):
                _COUNTS["compiles"] += 1
            return create(function_type, type_context, func_graph, tracing_options)

        tc._create_concrete_function = counted
        _COUNTS["hooked"] = True
    return {"compiles": _COUNTS["compiles"], "graph_breaks": 0}


def op_profile(fn, n: int, top: int = 25):
    """No per-op table from this framework here: None (benchmarks/profile_step.py uses cProfile)."""
    return None


def set_random_seed(seed: int) -> None:
    """keras.utils.set_random_seed: TensorFlow is this process's framework, so it is seeded too."""
    import keras

    keras.utils.set_random_seed(seed)


def save_model(model, path) -> None:
    """model.save(path): TensorFlow is this process's framework."""
    model.save(path)
