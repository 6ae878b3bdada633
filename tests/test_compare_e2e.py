"""`mnistx compare` end to end: the report for every backend, rendered in headless Chromium,
and a backend made to fail on purpose still gets its (failed) column."""

import json
import re
import shutil
import subprocess
import sys

import keras
import pytest

from mnistx.cli import main
from mnistx.config import BACKENDS, INFERENCE_BACKENDS

pytestmark = [pytest.mark.e2e, pytest.mark.needs_backends()]
OTHER = next(b for b in BACKENDS if b != keras.backend.backend())
SMALL = ["--epochs", "1", "--train-limit", "12000", "--parity-images", "1000", "--parity-steps", "5"]


def render(html_path, tmp_path) -> tuple[str, bytes]:
    """(DOM after load, screenshot PNG bytes) from headless Chromium."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    assert exe, "headless Chromium is needed: apt-get install chromium (.ci/run installs it)"
    flags = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=15000",
             "--window-size=1400,3000"]
    url = f"file://{html_path.resolve()}"
    dom = subprocess.run(flags + ["--dump-dom", url], capture_output=True, text=True, timeout=180).stdout
    shot = tmp_path / "screenshot.png"
    subprocess.run(flags + [f"--screenshot={shot}", url], capture_output=True, timeout=180)
    return dom, shot.read_bytes()


def images_loaded(dom: str) -> tuple[int, int]:
    body = re.search(r"<body[^>]*>", dom).group(0)
    total = int(re.search(r'data-images-total="(\d+)"', body).group(1))
    ok = int(re.search(r'data-images-ok="(\d+)"', body).group(1))
    return ok, total


@pytest.mark.only_in("torch")
@pytest.mark.needs_backends(*BACKENDS, "openvino")
def test_compare_report_for_every_backend(tmp_path, monkeypatch, capsys):
    out = tmp_path / "cmp"
    opened = tmp_path / "opened.txt"  # --open: $BROWSER is a script that records the URL it got
    monkeypatch.setenv("BROWSER", f"{sys.executable} -c \"import sys; open(r'{opened}', 'w').write(sys.argv[1])\" %s")
    assert main(["compare", *SMALL, "--bench", "quick", "--out", str(out), "--open"]) == 0
    assert opened.read_text() == (out / "report.html").resolve().as_uri()
    s = json.loads((out / "compare.json").read_text())
    cols = s["columns"]  # by default: the three that train, then every installed inference-only one
    assert set(cols) == {*BACKENDS, *INFERENCE_BACKENDS} and [c["status"] for c in cols.values()] == ["ok"] * 5
    assert s["parity"]["passed"] and len(s["bench"]["summary"]) == 9  # 3 training backends x 3 modes
    assert s["parity"]["oracle"]["furthest"] and set(s["parity"]["compared"]) == set(cols)
    from mnistx.devices import cores  # the three columns trained side by side on shared cores

    assert cols["torch"]["meta"]["threads"] == max(1, cores() // len(BACKENDS)), cols["torch"]["meta"]
    printed = capsys.readouterr().out
    assert "the model as probed before" in printed  # parity and bench reuse the probe
    # every child of the columns and of parity imported while something else ran (warmstart): the
    # columns during the probe, the inference-only columns and parity in the training stage's tail
    early = [line for line in printed.splitlines() if "started (log:" in line and "imported early" in line]
    assert len(early) == len(BACKENDS) + len(INFERENCE_BACKENDS) + len(cols), early
    trained = cols[BACKENDS[0]]["metrics"]["test_accuracy"]
    for b in INFERENCE_BACKENDS:  # the first trainer's weights, predicted here: the same test accuracy
        assert cols[b]["inference_only"] and cols[b]["meta"]["trained_on"] == BACKENDS[0]
        assert abs(cols[b]["introspect"]["test_accuracy"] - trained) <= 2 / 10_000, (b, trained)
        assert "not supported by" in cols[b]["introspect"]["skipped"]["saliency"]
        assert s["bench"]["backends"][b]["models"]["mlp"]["inference"]["512"]["images_per_s"] > 0
    dom, png = render(out / "report.html", tmp_path)
    ok, total = images_loaded(dom)
    # samples + 6 figure rows x 3 trainers + 5 (no saliency) x 2 inference-only + 4 parity + 3 bench plots
    assert ok == total == 1 + 6 * 3 + 5 * 2 + 4 + 3  # parity: heatmap, layers, divergence, saliency
    for b in cols:
        assert f'id="col-{b}" data-status="ok"' in dom
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    md = (out / "report.md").read_text()
    assert "## Parity" in md and "## Timing" in md and "| test accuracy |" in md
    for part in ("Checkpoint interchange", "Determinism", "Why each tier is what it is", "Steady train step",
                 "Inference, images/s", "x native =", "speed targets for the worksheet MLP",
                 "NumPy reference", "not supported by numpy", "inference only, loads tensorflow"):
        assert part in md and part in dom, part  # the page says what report.md says


@pytest.mark.only_in("jax")
def test_failed_backend_is_marked_and_the_report_still_appears(tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTX_FAULT", OTHER)
    out = tmp_path / "cmp"
    assert main(["compare", *SMALL, "--bench", "none", "--backends", ",".join(BACKENDS), "--out", str(out)]) == 1
    s = json.loads((out / "compare.json").read_text())
    assert s["columns"][OTHER]["status"] == "failed"
    assert "fault injected" in s["columns"][OTHER]["reason"]
    assert sorted(s["parity"]["compared"]) == sorted(b for b in BACKENDS if b != OTHER)
    dom, _ = render(out / "report.html", tmp_path)
    ok, total = images_loaded(dom)
    assert ok == total == 1 + 6 * 2 + 4
    assert f'id="col-{OTHER}" data-status="failed"' in dom and "fault injected" in dom
