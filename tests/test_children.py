"""The parent-child contract (mnistx/children.py): every kind's settings survive the trip through
config.json as the same typed dataclass, and every kind names a child-side function."""

import dataclasses
import importlib
import json

import pytest

from mnistx import children
from mnistx.config import BenchConfig, ConvergeConfig, ParityConfig, Tier, TrainConfig
from mnistx.errors import MnistxError

JOB = children.Prepared(model={"kind": "registry", "name": "mlp", "text": "mlp"},
                        loss={"name": "sparse_categorical_crossentropy", "from_logits": False},
                        inputs="/w/inputs.npz", reference="/w/ref.weights.h5",
                        info={"output_shapes": [[None, 10]]}, label="mlp")
EXAMPLES = {
    "probe": children.ProbeChild(JOB.model, 42, None, None, 16, None, True, "dense_1", (1, 2), False),
    "parity": children.ParityChild(ParityConfig(backends=("jax", "torch"), steps=3), JOB, ("jax", "torch"),
                                   {"1e-05,0.0001": Tier(1e-5, 1e-4)}, trace_indices=(3, 1)),
    "bench": children.BenchChild(BenchConfig.quick(models=("mlp", "cnn")), (JOB, dataclasses.replace(JOB, label="b"))),
    "compare": children.CompareChild(TrainConfig(epochs=1), {"kind": "registry", "target": "mlp", "function": ""}, "/d/mnist.npz", "/o", 7, "data", None, None, "/o/runs/jax"),
    "converge": children.ConvergeChild(ConvergeConfig(seeds=2), JOB, (1, 2), {"1": "/w/i1.h5", "2": "/w/i2.h5"}, None),
}


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_settings_round_trip_as_the_same_type(tmp_path, kind):
    sent = EXAMPLES[kind]
    children.write(tmp_path, sent)
    back = children.read(tmp_path, type(sent))
    assert back == sent and type(back) is type(sent)  # tuples stay tuples, tiers stay Tiers


def test_a_file_of_another_kind_or_with_a_stray_key_is_refused(tmp_path):
    children.write(tmp_path, EXAMPLES["compare"])
    with pytest.raises(MnistxError, match="not a ParityChild"):
        children.read(tmp_path, children.ParityChild)
    raw = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**raw, "inputs_path": "/x"}))
    with pytest.raises(MnistxError, match="no field inputs_path"):
        children.read(tmp_path, children.CompareChild)


def test_every_kind_names_a_child_side_function_and_a_settings_type():
    for kind, (module, name) in children.KINDS.items():
        assert callable(getattr(importlib.import_module(module), name)), kind
        # child sides live in *worker modules (probe and info are children through and through)
        assert module.endswith("worker") or kind in ("probe", "info"), (kind, module)
        assert kind in children.TYPES or kind == "info", kind


EXITS_NOW = r"""
import sys, time
from mnistx.children import exit_now
for _ in range(1000):
    sys.stdout.write("x" * 7)  # 7,000 bytes: all still in the 8 KiB buffer, which exit_now must flush
sys.stderr.write("last words on stderr, no newline")  # stderr flushes itself only at a newline
open(sys.argv[1], "w").write("written before")
exit_now()
print("never reached")
"""


def test_a_child_that_exits_now_leaves_its_output_and_files_whole_and_exit_code_0(tmp_path):
    """children.exit_now skips Python's teardown (0.4-1.3 s of a Keras child) but not its output:
    what is buffered on stdout and stderr reaches the log, and nothing after it runs."""
    import subprocess
    import sys

    import os

    log = tmp_path / "child.log"
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # as a child's may be
    with open(log, "w") as fh:
        rc = subprocess.run([sys.executable, "-c", EXITS_NOW, str(tmp_path / "f.txt")], stdout=fh,
                            stderr=subprocess.STDOUT, timeout=60, env=buffered).returncode
    text = log.read_text()
    assert rc == 0
    assert text.count("x") == 7000 and "last words on stderr" in text and "never reached" not in text
    assert (tmp_path / "f.txt").read_text() == "written before"
