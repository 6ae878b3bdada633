"""Hand-written training loops, one per framework, for the bench's independent cross-check of the
native loop (mnistx/bench/modes.py NativeMode.cross_check_times): what a user of that framework
writes for an MLP or a small CNN, without Keras. Like distribute/, jax.py, tensorflow.py and
torch.py define the same class under the same name; `backends.handwritten_loop(...)` picks this
backend's.

    Loop(ops, lr, batch_size)           ops: mnistx/bench/crosscheck.py layer_ops(): reshape,
                                        flatten, dropout, dense, conv (3x3 and such, stride 1,
                                        valid), maxpool, with Keras's weights; activations relu |
                                        linear, the last Dense softmax (folded into the loss, on logits)
      .what -> str                      what runs, e.g. "torch.nn + torch.optim.Adam, eager"
      .train_step(x, y) -> float        one Adam step (Keras's formula and epsilon, 1e-7) on a batch:
                                        x (B, ...) float32, y one-hot (B, C) or class ids (B,);
                                        the mean cross-entropy, as a host float
      .weights() -> list[np.ndarray]    kernels and biases in Keras's layout and order

Dropout draws its own masks (each framework's RNG): the same rate, other units dropped than Keras.
"""

from __future__ import annotations

ACTIVATIONS = ("relu", "linear")  # hidden layers; the last one must be softmax


def with_weights(ops) -> list:
    """The ops that carry a kernel and a bias (dense, conv), in order."""
    return [op for op in ops if op[0] in ("dense", "conv")]
