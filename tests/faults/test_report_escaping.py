"""Untrusted text in report.html: model specs, backend failure reasons, stage errors and
not-compared notes come from users' files and tracebacks. Every one is escaped, and headless
Chromium confirms that no script in them runs."""

import html
import shutil
import subprocess

import pytest

from mnistx.report.html import render_html

PAYLOAD = ("<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"
           "'\"><svg onload=\"document.title='pwned'\">")


def hostile_summary() -> dict:
    failed = {"status": "failed", "reason": f"model {PAYLOAD} failed"}
    return {
        "config": {"train": {"model": f"examples/{PAYLOAD}.py:build", "epochs": 1, "batch_size": 32, "seed": 0}},
        "host": {"date_utc": "2026-11-29T00:00:00+00:00", "python": "3.11", "cpu_count": 2,
                 "platform": f"Linux {PAYLOAD}", "command": f"mnistx compare --model '{PAYLOAD}'"},
        "columns": {"tensorflow": failed, "jax": failed, "torch": failed},
        "parity": {"error": f"parity of {PAYLOAD}: boom"},
        "bench": {"error": f"bench {PAYLOAD}"},
        "wall_seconds": 1.0,
    }


def test_every_untrusted_string_is_escaped():
    page = render_html(hostile_summary())
    assert "<script>document" not in page and "<img src=x" not in page and "<svg" not in page
    assert page.count(html.escape(PAYLOAD, quote=True)) >= 6  # every field kept, as text
    assert page.count("<script>") == 1  # only the report's own (image counter)


def test_no_script_runs_in_chromium(tmp_path):
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        pytest.fail("headless Chromium is needed: apt-get install chromium (.ci/run installs it)")
    page = tmp_path / "report.html"
    page.write_text(render_html(hostile_summary()))
    dom = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                          "--dump-dom", page.resolve().as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert "<title>mnistx compare</title>" in dom, dom[:500]
    assert "pwned" not in dom.split("</title>")[0]
    assert 'data-images-total="0"' in dom  # the report's own script did run: the check is live
