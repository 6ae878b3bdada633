"""The hand-written loop in plain JAX: jax.numpy layers, jax.value_and_grad, Adam written out
(Keras's formula), the whole step under jax.jit, as a JAX user writes it without a library."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

B1, B2, EPS = 0.9, 0.999, 1e-7  # Keras's Adam


class Loop:
    what = "jax.numpy + jax.value_and_grad + hand-written Adam, one jax.jit step"

    def __init__(self, layers, lr: float, batch_size: int):
        self.params = [(jnp.asarray(k), jnp.asarray(b)) for k, b, _ in layers]
        acts = tuple(a for _, _, a in layers)
        self.m = jax.tree_util.tree_map(jnp.zeros_like, self.params)
        self.v = jax.tree_util.tree_map(jnp.zeros_like, self.params)
        self.t = jnp.zeros((), jnp.float32)

        def loss_fn(params, x, y):
            h = x.reshape(x.shape[0], -1)
            for (k, b), act in zip(params, acts):
                h = h @ k + b
                h = jax.nn.relu(h) if act == "relu" else h
            logp = jax.nn.log_softmax(h)
            if y.ndim == 1:
                return -jnp.take_along_axis(logp, y[:, None].astype(jnp.int32), 1).mean()
            return -(y * logp).sum(-1).mean()

        def step(params, m, v, t, x, y):
            loss, g = jax.value_and_grad(loss_fn)(params, x, y)
            t = t + 1
            m = jax.tree_util.tree_map(lambda m, g: m + (g - m) * (1 - B1), m, g)
            v = jax.tree_util.tree_map(lambda v, g: v + (g * g - v) * (1 - B2), v, g)
            alpha = lr * jnp.sqrt(1 - B2 ** t) / (1 - B1 ** t)
            params = jax.tree_util.tree_map(lambda p, m, v: p - alpha * m / (jnp.sqrt(v) + EPS), params, m, v)
            return params, m, v, t, loss

        self._step = jax.jit(step)

    def train_step(self, x, y) -> float:
        self.params, self.m, self.v, self.t, loss = self._step(self.params, self.m, self.v, self.t,
                                                               jnp.asarray(x), jnp.asarray(y))
        return float(loss)

    def weights(self) -> list[np.ndarray]:
        return [np.asarray(a) for pair in self.params for a in pair]
