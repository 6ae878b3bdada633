"""The hand-written loop in plain TensorFlow: tf.Variables, tf.nn layers (matmul, conv2d in NHWC,
max_pool2d, a stateless dropout), tf.GradientTape, Adam written out (Keras's formula), the step as
one tf.function(jit_compile=True), as a TF user writes it."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from mnistx.backends.handwritten import with_weights

B1, B2, EPS = 0.9, 0.999, 1e-7  # Keras's Adam


class Loop:
    what = "tf.nn + tf.GradientTape + hand-written Adam, one tf.function(jit_compile=True) step"

    def __init__(self, ops, lr: float, batch_size: int):
        self.vars = [tf.Variable(a) for op in with_weights(ops) for a in (op[1], op[2])]
        self.m = [tf.Variable(tf.zeros_like(v)) for v in self.vars]
        self.v = [tf.Variable(tf.zeros_like(v)) for v in self.vars]
        self.t = tf.Variable(0.0)

        def forward(x):
            h, i = x, 0
            for op in ops:
                kind = op[0]
                if kind == "reshape":
                    h = tf.reshape(h, [tf.shape(h)[0], *op[1]])
                elif kind == "flatten":
                    h = tf.reshape(h, [tf.shape(h)[0], -1])
                elif kind == "maxpool":
                    h = tf.nn.max_pool2d(h, op[1], op[1], "VALID")
                elif kind == "dropout":  # a fresh mask per step: seeded by the step count
                    seed = tf.stack([tf.cast(self.t, tf.int32), i])
                    keep = tf.random.stateless_uniform(tf.shape(h), seed) >= op[1]
                    h = tf.where(keep, h / (1.0 - op[1]), 0.0)
                else:
                    k, b = self.vars[i], self.vars[i + 1]
                    i += 2
                    h = (tf.matmul(h, k) if kind == "dense" else tf.nn.conv2d(h, k, 1, "VALID")) + b
                    h = tf.nn.relu(h) if op[-1] == "relu" else h
            return h

        def step(x, y):
            with tf.GradientTape() as tape:
                logits = forward(x)
                if y.shape.rank == 1:
                    per = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(y, tf.int32), logits)
                else:
                    per = tf.nn.softmax_cross_entropy_with_logits(y, logits)
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
