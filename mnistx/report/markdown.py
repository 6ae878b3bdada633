"""report.md: the compare report as Markdown, figures linked relative to the output folder."""

from __future__ import annotations

import os
from pathlib import Path

from mnistx.report.rows import FIGURE_ROWS, backend_rows, figure, skipped, stage_files


def _rel(path, out: Path) -> str:
    return os.path.relpath(path, out) if path else ""


def _stage(summary: dict, stage: str, heading: str, absent: str, figures: bool = False) -> list[str]:
    """A stage's own Markdown report (its title line dropped; with `figures`, its image links made
    relative to report.md and its sections one level down), or why it is missing."""
    lines = ["", f"## {heading}", ""]
    s = summary.get(stage)
    md = Path(stage_files(summary, stage).get("markdown", ""))
    if s and "error" not in s and md.is_file():
        text = md.read_text().split("\n", 2)[-1]
        if figures:
            text = text.replace("](", f"]({md.parent.name}/").replace("\n## ", "\n### ")
        return lines + [text]
    return lines + [(s or {}).get("error", absent)]


def render_markdown(summary: dict, out: Path) -> str:
    cols = summary["columns"]
    t = summary["config"]["train"]
    model = str(t["model"]).replace("`", "'")  # a code span: a model path's '<' or '*' stays text
    lines = [f"# mnistx compare: `{model}` on {', '.join(cols)}", "",
             f"{t['epochs']} epoch(s), batch {t['batch_size']}, seed {t['seed']}; {summary['host']['date_utc']}.", "",
             "| metric | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for label, cells in backend_rows(summary):
        lines.append(f"| {label} | " + " | ".join(v.replace("|", "/") for v in cells.values()) + " |")
    for name, heading in FIGURE_ROWS:
        lines += ["", f"## {heading}", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols),
                  "| " + " | ".join(f"![{b}]({_rel(figure(summary, b, name), out)})" if figure(summary, b, name)
                                    else skipped(summary, b, name).replace("|", "/") for b in cols) + " |"]
    lines += _stage(summary, "parity", "Parity", "Parity needs at least two backends that trained.")
    lines += _stage(summary, "bench", "Timing", "Benchmark skipped.")
    if summary.get("converge"):
        lines += _stage(summary, "converge", "Convergence over seeds", "", figures=True)
    return "\n".join(lines) + "\n"
