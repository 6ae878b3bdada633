"""Hand-written training loops, one per framework, for the bench's independent cross-check of the
native loop (mnistx/bench/modes.py NativeMode.cross_check_times): what a user of that framework
writes for a Dense stack, without Keras. Like distribute/, jax.py, tensorflow.py and torch.py
define the same class under the same name; `backends.handwritten_loop(...)` picks this backend's.

    Loop(layers, lr, batch_size)        layers: [(kernel (in, out), bias (out,), activation)], the
                                        Keras Dense weights in order; activations relu | linear,
                                        the last softmax (folded into the loss, on logits)
      .what -> str                      what runs, e.g. "torch.nn.Sequential + torch.optim.Adam, eager"
      .train_step(x, y) -> float        one Adam step (Keras's formula and epsilon, 1e-7) on a batch:
                                        x (B, ...) float32 flattened to (B, in), y one-hot (B, C)
                                        or class ids (B,); the mean cross-entropy, as a host float
      .weights() -> list[np.ndarray]    kernels and biases in Keras's layout and order

Only Dense stacks (the registry's mlp, a user's MLP): dense_layers() says whether a model is one.
"""

from __future__ import annotations

ACTIVATIONS = ("relu", "linear")  # hidden layers; the last one must be softmax
