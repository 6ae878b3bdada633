"""The hand-written loop in plain JAX: jax.numpy and jax.lax layers (conv_general_dilated,
reduce_window, dropout from jax.random), jax.value_and_grad, Adam written out (Keras's formula),
the whole step under jax.jit, as a JAX user writes it without a library."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from mnistx.backends.handwritten import with_weights

B1, B2, EPS = 0.9, 0.999, 1e-7  # Keras's Adam


def _forward(ops, params, x, key):
    h, it = x, iter(params)
    for op in ops:
        kind = op[0]
        if kind == "reshape":
            h = h.reshape(h.shape[0], *op[1])
        elif kind == "flatten":
            h = h.reshape(h.shape[0], -1)
        elif kind == "maxpool":
            window = (1, *op[1], 1)
            h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, window, window, "VALID")
        elif kind == "dropout":
            key, sub = jax.random.split(key)
            keep = jax.random.bernoulli(sub, 1.0 - op[1], h.shape)
            h = jnp.where(keep, h / (1.0 - op[1]), 0.0)
        else:
            k, b = next(it)
            if kind == "dense":
                h = h @ k + b
            else:
                h = jax.lax.conv_general_dilated(h, k, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")) + b
            h = jax.nn.relu(h) if op[-1] == "relu" else h
    return h


class Loop:
    what = "jax.numpy + jax.lax + jax.value_and_grad + hand-written Adam, one jax.jit step"

    def __init__(self, ops, lr: float, batch_size: int):
        self.params = [(jnp.asarray(op[1]), jnp.asarray(op[2])) for op in with_weights(ops)]
        self.m = jax.tree_util.tree_map(jnp.zeros_like, self.params)
        self.v = jax.tree_util.tree_map(jnp.zeros_like, self.params)
        self.t = jnp.zeros((), jnp.float32)
        self.key = jax.random.PRNGKey(0)

        def loss_fn(params, x, y, key):
            logp = jax.nn.log_softmax(_forward(ops, params, x, key))  # ops: Python constants to the trace
            if y.ndim == 1:
                return -jnp.take_along_axis(logp, y[:, None].astype(jnp.int32), 1).mean()
            return -(y * logp).sum(-1).mean()

        def step(params, m, v, t, x, y, key):
            loss, g = jax.value_and_grad(loss_fn)(params, x, y, key)
            t = t + 1
            m = jax.tree_util.tree_map(lambda m, g: m + (g - m) * (1 - B1), m, g)
            v = jax.tree_util.tree_map(lambda v, g: v + (g * g - v) * (1 - B2), v, g)
            alpha = lr * jnp.sqrt(1 - B2 ** t) / (1 - B1 ** t)
            params = jax.tree_util.tree_map(lambda p, m, v: p - alpha * m / (jnp.sqrt(v) + EPS), params, m, v)
            return params, m, v, t, loss

        self._step = jax.jit(step)

    def train_step(self, x, y) -> float:
        self.key, key = jax.random.split(self.key)
        self.params, self.m, self.v, self.t, loss = self._step(self.params, self.m, self.v, self.t,
                                                               jnp.asarray(x), jnp.asarray(y), key)
        return float(loss)

    def weights(self) -> list[np.ndarray]:
        return [np.asarray(a) for pair in self.params for a in pair]
