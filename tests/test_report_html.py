"""report.html carries the same content as report.md: the stage reports (parity.md, bench.md)
are rendered from their Markdown, so nothing in the Markdown is left out of the page."""

import re
import shutil
import subprocess

import pytest

from mnistx.report import md_html

SAMPLE = """# Parity: mlp on jax, torch

Verdict: **PASS** (0 failing of 2 checks). 32 samples, `Adam`.

| check | tier: atol + rtol·\\|a\\| | jax vs torch |
|---|---|---|
| outputs | 3.0e-06 + 1.0e-04·\\|a\\| | PASS 6.0e-08 (0.0031x) |
| weights | 0 | FAIL 2.0e-03 (7x) |

Determinism (same backend, predict twice): jax bit-identical

- `weights` = 0: the same file <read> back
- `outputs` = 3e-06: float32
"""


def _text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def test_tables_keep_their_shape_and_escaped_pipes():
    out = md_html.render(SAMPLE)
    rows = out.split("<tr>")[1:]
    assert len(rows) == 3 and all(r.count("<td") + r.count("<th>") == 3 for r in rows)
    assert "<td>3.0e-06 + 1.0e-04·|a|</td>" in out


def test_every_word_of_the_markdown_reaches_the_page():
    out = md_html.render(SAMPLE)
    assert "Parity: mlp" not in out  # the title: the page has its own heading
    words = set(re.findall(r"[A-Za-z][A-Za-z0-9.-]+", SAMPLE.split("\n", 1)[1].replace("**", "").replace("`", "")))
    page = _text(out).replace("&lt;", "<").replace("&gt;", ">")
    assert {w for w in words if w.rstrip(".") not in page} == set()
    assert "<b>PASS</b>" in out and "<code>Adam</code>" in out and "&lt;read&gt;" in out and "<li>" in out


def test_verdict_cells_read_without_emoji_and_carry_a_class():
    """Where no emoji font is installed a check mark and a cross render as the same box: a verdict
    is a word, and its cell has a class (coloured by the page's CSS)."""
    out = md_html.render(SAMPLE)
    assert '<td class="pass">PASS 6.0e-08 (0.0031x)</td>' in out
    assert '<td class="fail">FAIL 2.0e-03 (7x)</td>' in out
    assert not re.search("[\u2705\u274c]", out)


@pytest.mark.only_in("jax")
def test_a_failing_cell_reads_fail_in_chromium_without_emoji_fonts(tmp_path):
    """This machine has no emoji font: the page must say FAIL in words and colour the cell."""
    from mnistx.report import html

    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    assert exe, "headless Chromium is needed: apt-get install chromium (.ci/run installs it)"
    probe = ("<script>window.addEventListener('load',()=>{const d=document.body.dataset;"
             "for(const k of ['pass','fail']){const c=document.querySelector('td.'+k);"
             "d[k+'Bg']=getComputedStyle(c).backgroundColor;d[k+'Text']=c.innerText;}});</script>")
    page = tmp_path / "p.html"
    page.write_text(f"<!doctype html><html><head><style>{html.CSS}</style>{probe}</head><body>"
                    f"{md_html.render(SAMPLE)}</body></html>")
    dom = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                          "--dump-dom", page.resolve().as_uri()], capture_output=True, text=True, timeout=120).stdout
    body = re.search(r"<body[^>]*>", dom).group(0)
    got = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body))
    assert got["fail-text"].startswith("FAIL") and got["pass-text"].startswith("PASS"), got
    assert got["fail-bg"] == "rgb(253, 232, 232)" and got["pass-bg"] == "rgb(232, 246, 232)", got


def _five_columns() -> dict:
    ok = {"status": "ok", "introspect": {"figures": {}, "skipped": {}}, "metrics": None, "meta": {}}
    return {"config": {"train": {"model": "my<b>*model*</b>.py:build", "epochs": 1, "batch_size": 32, "seed": 0}},
            "host": {"date_utc": "2026-12-02", "python": "3.11", "cpu_count": 2, "platform": "Linux", "command": "mnistx"},
            "columns": {b: dict(ok) for b in ("tensorflow", "jax", "torch", "numpy", "openvino")},
            "parity": None, "bench": None, "wall_seconds": 1.0}


def test_five_columns_wrap_three_to_a_row_and_images_open_large():
    """At five side by side a confusion matrix's counts were unreadable; images could not be enlarged."""
    from mnistx.report import html

    page = html.render_html(_five_columns())
    assert "repeat(3,1fr)" in page and "repeat(5,1fr)" not in page
    assert "classList.toggle('zoom')" in page and "img.zoom{" in page


def test_the_parity_heatmap_gets_a_row_of_its_own(tmp_path):
    from mnistx.report import html

    for k in ("heatmap", "layers", "divergence"):
        (tmp_path / f"{k}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    out = html._plots({k: str(tmp_path / f"{k}.png") for k in ("heatmap", "layers", "divergence")},
                      ("heatmap", "layers", "divergence"))
    first, rest = out.split("</div>", 1)
    assert 'grid-template-columns:1fr"' in first and "heatmap" in first and "layers" not in first
    assert "1fr 1fr 1fr" in rest and "layers" in rest


def test_report_md_keeps_the_model_name_as_text(tmp_path):
    """report.md's title used to carry a model path's markup raw (a Markdown viewer renders it)."""
    from mnistx.report.markdown import render_markdown

    title = render_markdown(_five_columns(), tmp_path).splitlines()[0]
    assert title == "# mnistx compare: `my<b>*model*</b>.py:build` on tensorflow, jax, torch, numpy, openvino"
