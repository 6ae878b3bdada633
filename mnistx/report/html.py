"""report.html: one self-contained page (figures embedded as data URIs, no network)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from mnistx.report import md_html
from mnistx.report.rows import FIGURE_ROWS, backend_rows, figure, skipped, stage_files

CSS = """
body{font-family:system-ui,sans-serif;margin:24px;max-width:1500px;color:#222}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}
th{background:#f4f4f4}.failed,.missing{background:#fde8e8;color:#900}.ok{background:#e8f6e8}.skipped{color:#666}
.row{display:grid;gap:10px}.row figure{margin:0;border:1px solid #ddd;padding:6px}
.row img{width:100%;cursor:zoom-in}img.zoom{position:fixed;inset:0;margin:auto;width:auto;max-width:98vw;
max-height:98vh;z-index:9;background:#fff;box-shadow:0 0 0 100vmax rgba(0,0,0,.6);cursor:zoom-out}figcaption{font-weight:bold;text-align:center}.pass{color:#070}.fail{color:#b00}td.pass{background:#e8f6e8}td.fail{background:#fde8e8;font-weight:bold}
"""
SCRIPT = """window.addEventListener('load',()=>{const im=[...document.images];
document.body.dataset.imagesTotal=im.length;
document.body.dataset.imagesOk=im.filter(i=>i.complete&&i.naturalWidth>0).length;});
document.addEventListener('click',ev=>{if(ev.target.tagName==='IMG')ev.target.classList.toggle('zoom');});"""


def e(value) -> str:
    """Escape any value for HTML text and attributes (model names, paths and errors come from users)."""
    return html.escape(str(value), quote=True)


def _img(path: str | None, alt: str) -> str:
    if not path or not Path(path).is_file():
        return f'<p class="failed">{e(alt)}: no figure</p>'
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{e(alt)}" src="data:image/png;base64,{data}">'


def _backend_table(summary: dict) -> str:
    cols = summary["columns"]
    head = "<th>metric</th>" + "".join(
        f'<th class="backend {e(c["status"])}" id="col-{e(b)}" data-status="{e(c["status"])}">{e(b)}</th>'
        for b, c in cols.items())
    body = ""
    for label, cells in backend_rows(summary):
        body += f"<tr><th>{e(label)}</th>" + "".join(
            f'<td class="{e(cols[b]["status"])}">{e(v)}</td>' for b, v in cells.items()) + "</tr>"
    return f"<table>{head and '<tr>' + head + '</tr>'}{body}</table>"


def _figures(summary: dict) -> str:
    cols = summary["columns"]
    per_row = min(len(cols), 3)  # five columns wrap 3 + 2: a confusion matrix's counts stay legible
    parts = []
    first_ok = next((b for b, c in cols.items() if c["status"] == "ok"), None)
    if first_ok:
        parts.append("<h3>Training samples (the data, the same for every backend)</h3>"
                     f'<div class="row" style="grid-template-columns:1fr 1fr">'
                     f"<figure>{_img(figure(summary, first_ok, 'samples'), 'samples')}</figure></div>")
    for name, heading in FIGURE_ROWS:
        cells = "".join(
            f'<figure data-backend="{e(b)}"><figcaption>{e(b)}</figcaption>'
            + (_img(figure(summary, b, name), f"{b} {name}") if figure(summary, b, name)
               else f'<p class="{e(c["status"] if c["status"] != "ok" else "skipped")}">'
                    f'{e(skipped(summary, b, name))}</p>')
            + "</figure>" for b, c in cols.items())
        parts.append(f'<h3>{heading}</h3><div class="row" style="grid-template-columns:repeat({per_row},1fr)">'
                     f'{cells}</div>')
    return "".join(parts)


def _stage_problem(stage: dict | None, name: str, absent: str) -> str | None:
    """The paragraph to show instead of a stage that did not run or failed, else None."""
    if not stage:
        return f"<p>{e(absent)}</p>"
    if "error" in stage:
        return f'<p class="failed">{e(name)} could not run: {e(stage["error"])}</p>'
    return None


def _plots(files: dict, names, wide=("heatmap",)) -> str:
    """The stage's figures, three to a row; a wide one (the parity heatmap) gets a row of its own."""
    fig = lambda k: f"<figure><figcaption>{e(k)}</figcaption>{_img(files.get(k), k)}</figure>"
    full = "".join(f'<div class="row" style="grid-template-columns:1fr">{fig(k)}</div>'
                   for k in names if k in wide and files.get(k))
    return full + ('<div class="row" style="grid-template-columns:1fr 1fr 1fr">'
                   + "".join(fig(k) for k in names if k not in wide and files.get(k)) + "</div>")


def _stage_markdown(summary: dict, stage: str) -> str:
    """The stage's own Markdown report (parity.md, bench.md) as HTML: the same content as report.md."""
    md = Path(stage_files(summary, stage).get("markdown", ""))
    return md_html.render(md.read_text()) if md.is_file() else ""


def _parity(summary: dict) -> str:
    p = summary.get("parity")
    problem = _stage_problem(p, "Parity", "Parity needs at least two backends that trained.")
    if problem:
        return problem
    verdict = "PASS" if p["passed"] else "FAIL"
    return (f'<p class="{"pass" if p["passed"] else "fail"}"><b>{verdict}</b>: '
            f'{sum(c["passed"] for c in p["checks"])}/{len(p["checks"])} checks within tolerance.</p>'
            + _stage_markdown(summary, "parity")
            + _plots(stage_files(summary, "parity"), ("heatmap", "layers", "divergence", "saliency")))


def _bench(summary: dict) -> str:
    b = summary.get("bench")
    problem = _stage_problem(b, "Benchmark", "Benchmark skipped.")
    if problem:
        return problem
    failed = "".join(f"<p class='failed'>{e(k)}: {e(v['error'])}</p>" for k, v in b["backends"].items()
                     if "error" in v)
    return failed + _stage_markdown(summary, "bench") + _plots(stage_files(summary, "bench"),
                                                               ("epoch", "throughput", "overhead"))


def _converge(summary: dict) -> str:
    c = summary.get("converge")
    if not c:
        return ""
    if "error" in c:
        return f'<h2>Convergence over seeds</h2><p class="failed">Convergence could not run: {e(c["error"])}</p>'
    md = Path(stage_files(summary, "converge").get("markdown", ""))
    text = "\n".join(ln for ln in md.read_text().splitlines() if not ln.startswith("![")) if md.is_file() else ""
    return ("<h2>Convergence over seeds</h2>" + md_html.render(text)
            + _plots(stage_files(summary, "converge"), ("curves", "finals"), wide=("curves",)))


def render_html(summary: dict) -> str:
    cfg, host = summary["config"], summary["host"]
    t = cfg["train"]
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>mnistx compare</title>
<style>{CSS}</style><script>{SCRIPT}</script></head><body>
<h1>mnistx compare: {e(t['model'])} on {e(', '.join(summary['columns']))}</h1>
<p>{t['epochs']} epoch(s), batch {t['batch_size']}, seed {t['seed']}; {e(host['date_utc'])}, python {e(host['python'])},
{host['cpu_count']} cores; {summary['wall_seconds']:.0f} s in all.</p>
<h2>Backends side by side</h2>{_backend_table(summary)}
<h2>What each backend learned</h2>{_figures(summary)}
<h2>Parity</h2>{_parity(summary)}
<h2>Timing</h2>{_bench(summary)}
{_converge(summary)}
<h2>Environment</h2><p>{e(host['platform'])}; command: <code>{e(host['command'])}</code></p>
</body></html>
"""
