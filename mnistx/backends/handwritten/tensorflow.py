"""The hand-written loop in plain TensorFlow: tf.Variables, tf.GradientTape, Adam written out
(Keras's formula), the step as one tf.function(jit_compile=True), as a TF user writes it."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

B1, B2, EPS = 0.9, 0.999, 1e-7  # Keras's Adam


class Loop:
    what = "tf.GradientTape + hand-written Adam, one tf.function(jit_compile=True) step"

    def __init__(self, layers, lr: float, batch_size: int):
        self.vars = [tf.Variable(a) for k, b, _ in layers for a in (k, b)]
        self.m = [tf.Variable(tf.zeros_like(v)) for v in self.vars]
        self.v = [tf.Variable(tf.zeros_like(v)) for v in self.vars]
        self.t = tf.Variable(0.0)
        acts = [a for _, _, a in layers]

        def step(x, y):
            with tf.GradientTape() as tape:
                h = tf.reshape(x, [tf.shape(x)[0], -1])
                for i, act in enumerate(acts):
                    h = tf.matmul(h, self.vars[2 * i]) + self.vars[2 * i + 1]
                    h = tf.nn.relu(h) if act == "relu" else h
                if y.shape.rank == 1:
                    per = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(y, tf.int32), h)
                else:
                    per = tf.nn.softmax_cross_entropy_with_logits(y, h)
                loss = tf.reduce_mean(per)
            grads = tape.gradient(loss, self.vars)
            self.t.assign_add(1.0)
            alpha = lr * tf.sqrt(1 - B2 ** self.t) / (1 - B1 ** self.t)
            for w, g, m, v in zip(self.vars, grads, self.m, self.v):
                m.assign(m + (g - m) * (1 - B1))
                v.assign(v + (g * g - v) * (1 - B2))
                w.assign_sub(alpha * m / (tf.sqrt(v) + EPS))
            return loss

        self._step = tf.function(step, jit_compile=True)

    def train_step(self, x, y) -> float:
        return float(self._step(tf.convert_to_tensor(x), tf.convert_to_tensor(y)))

    def weights(self) -> list[np.ndarray]:
        return [v.numpy() for v in self.vars]
