"""Children's progress reaches the parent's console: their stage and epoch lines are relayed as
they appear, framework noise is not, and a quiet child gets a heartbeat line (never silent)."""

import sys
import time

from mnistx import spawn

CHILD = """
import sys, time
print("I0000 framework start-up noise", flush=True)
print("[jax] stage one", flush=True)
print("Epoch 1/2", flush=True)
print("1500/1500 - 4s - 3ms/step - accuracy: 0.9 - loss: 0.3", flush=True)
time.sleep(float(sys.argv[1]))
print("[jax] stage two", flush=True)
"""


def test_relay_and_heartbeat(tmp_path):
    said = []
    start = time.perf_counter()
    res = spawn.run_children({"jax": [sys.executable, "-c", CHILD, "4"]}, tmp_path, timeout_s=60,
                             progress=lambda m: said.append((time.perf_counter() - start, m)), heartbeat_s=1.0)
    lines = [m for _, m in said]
    assert res["jax"].ok
    for want in ("  [jax] stage one", "  [jax] Epoch 1/2", "  [jax] 1500/1500 - 4s - 3ms/step - accuracy: 0.9 - loss: 0.3",
                 "  [jax] stage two"):
        assert want in lines, lines
    assert not any("noise" in m for m in lines)
    assert sum("[jax] running," in m for m in lines) >= 2  # the 4 s quiet spell
    times = [t for t, _ in said]
    # never silent past the heartbeat, plus polling and a loaded machine's slack (the suites of two
    # backends run side by side on 2 cores); without the heartbeat the gap would be the full 4 s
    assert max(b - a for a, b in zip(times, times[1:])) < 1.0 + 1.5
    assert lines.index("  [jax] stage one") < lines.index("  [jax] stage two")
