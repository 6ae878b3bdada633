"""report.html carries the same content as report.md: the stage reports (parity.md, bench.md)
are rendered from their Markdown, so nothing in the Markdown is left out of the page."""

import re

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
