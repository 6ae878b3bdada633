"""Assertions for a user's own tests: one model, every backend, one call.

    from mnistx.testing import assert_backends_agree

    def test_my_model_is_portable():
        assert_backends_agree("my_pkg.models:build", x_batch, y=labels, outputs=(1e-5, 1e-4))

Runs the model in one child process per backend (the test process's own backend is not used),
so it works under any KERAS_BACKEND and in the `--keras-backends` matrix alike.
"""

from __future__ import annotations

from mnistx.config import BACKENDS


def assert_backends_agree(build_fn, inputs=None, y=None, backends=BACKENDS, *, steps: int = 3,
                          images: int = 64, out=None, **tiers):
    """AssertionError (with the failing checks and where the backends part ways) unless every
    check passes. build_fn: a spec string or a top-level function returning a keras.Model;
    inputs: an array, a dict name -> array, or None for synthetic inputs; y: labels (optional)."""
    from mnistx.api import check_parity

    data = None
    if inputs is not None:
        x = {f"x_{k}": v for k, v in inputs.items()} if isinstance(inputs, dict) else {"x": inputs}
        data = {**x, **({"y": y} if y is not None else {})}
    result = check_parity(build_fn, data, backends, inputs="synthetic" if inputs is None else "data",
                          images=images, steps=steps, out=out, **tiers)
    if not result.passed:
        lines = [f"{c['check']} {c['pair']}: max |diff| {c['max_abs_diff']:.2e} "
                 f"({c['excess']:.2g}x its tier) {c['detail']}" for c in result.failures[:10]]
        lines += [f"{pair}: {loc['text']}" for pair, loc in result.first_divergence.items()]
        lines += [f"{b}: {why}" for b, why in result.summary["not_compared"].items()]
        raise AssertionError("backends disagree:\n  " + "\n  ".join(lines) + f"\nreport: {result.out_dir}")
    return result
