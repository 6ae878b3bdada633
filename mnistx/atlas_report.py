"""The portability atlas as Markdown, JSON and HTML (pure Python; mnistx/atlas.py makes the rows)."""

from __future__ import annotations

import html
from pathlib import Path

from mnistx import runs
from mnistx.config import MODES

DIFFS = {"outputs": "outputs", "activations": "activations", "grad_weights": "gradients",
         "trajectory_weights": "trajectory"}


def _e(x: float | None) -> str:
    return "-" if x is None else f"{x:.1e}"


def _verdict(p: dict | None) -> str:
    if not p:
        return "-"
    if "error" in p:
        return f"ERROR: {p['error']}"
    lost = f"; not compared: {', '.join(p['not_compared'])}" if p["not_compared"] else ""
    return f"{'PASS' if p['passed'] else 'FAIL'} {p['checks'] - p['failing']}/{p['checks']}{lost}"


def _step(cell: dict | None) -> str:
    if not cell:
        return "-"
    if "error" in cell:
        return "n/a: " + cell["error"][:80]
    return "-" if cell.get("s_per_step") is None else f"{1000 * cell['s_per_step']:.1f}"


def markdown(summary: dict) -> str:
    rows = summary["rows"]
    env = next((r["environments"] for r in rows if r.get("environments")), {})
    versions = {k: v for e in env.values() for k, v in (e.get("versions") or {}).items()}
    backends = list(env) or summary["config"]["backends"]
    lines = ["# mnistx portability atlas", "",
             f"{len(rows)} models on {', '.join(backends)}, {summary['host']['date_utc']}, "
             f"{summary['host']['cpu_count']} cores ({next((e.get('device') for e in env.values()), '?')}); "
             + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) + f". Wall time {summary['wall_seconds'] / 60:.1f} min.",
             "", "Parity on synthetic inputs (each input built from what it feeds; see each row's inputs), "
             "then again with edge cases (left padding, a fully masked row, the longest sequence). "
             "Differences: the largest max |a - b| over every pair of backends.", "",
             "| model | family | weights | parity | edge cases | " + " | ".join(f"max {v}" for v in DIFFS.values())
             + " | first divergence (cause) | wall s |", "|---" * (8 + len(DIFFS)) + "|"]
    for r in rows:
        p = r.get("parity") or {}
        diffs = [_e((p.get("diffs") or {}).get(k)) for k in DIFFS]
        first = (p.get("first_divergence") or (r.get("edge_cases") or {}).get("first_divergence") or "-")
        lines.append(f"| {r['label']} | {r['family'] or r.get('model_class', '')} | {format(r['weights'], ',') if 'weights' in r else '-'} | "
                     f"{_verdict(r.get('parity'))} | {_verdict(r.get('edge_cases'))} | " + " | ".join(diffs)
                     + f" | {runs_md(first)} | {r['seconds']:.0f} |")
    lines += ["", "## Edge cases: where the backends part ways", ""]
    for r in rows:
        ec = r.get("edge_cases") or {}
        if ec.get("first_divergence"):
            lines.append(f"- **{r['label']}**: {runs_md(ec['first_divergence'])}")
    if not any((r.get("edge_cases") or {}).get("first_divergence") for r in rows):
        lines.append("- none: every model agrees on its edge cases")
    lines += ["", "## Time per training step (ms, batch 32, median of the timed steps; bench --quick)", "",
              "| model | " + " | ".join(f"{b} {m}" for b in backends for m in MODES) + " |",
              "|---" * (1 + len(backends) * len(MODES)) + "|"]
    for r in rows:
        bench = r.get("bench") or {}
        if "error" in bench:
            lines.append(f"| {r['label']} | " + runs_md(bench["error"]) + " |" * (len(backends) * len(MODES)))
            continue
        lines.append(f"| {r['label']} | " + " | ".join(runs_md(_step((bench.get(b) or {}).get(m)))
                                                      for b in backends for m in MODES) + " |")
    lines += ["", "## Inputs per model", ""]
    for r in rows:
        lines.append(f"- **{r['label']}** ({r['what'] or r['model']}): " + "; ".join(r.get("inputs") or ["-"]))
    return "\n".join(lines) + "\n"


def runs_md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def write(summary: dict, out_dir) -> dict:
    from mnistx.report.md_html import render

    out_dir = Path(out_dir)
    md = markdown(summary)
    page = ("<!doctype html><meta charset='utf-8'><title>mnistx atlas</title><style>body{font-family:sans-serif;"
            "margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px}"
            "</style><h1>" + html.escape("mnistx portability atlas") + "</h1>" + render(md))
    return {"json": str(runs.write_json(out_dir / "atlas.json", summary)),
            "markdown": str(runs.write_text(out_dir / "atlas.md", md)),
            "html": str(runs.write_text(out_dir / "atlas.html", page))}
