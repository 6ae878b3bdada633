"""report.md: the compare report as Markdown, figures linked relative to the output folder."""

from __future__ import annotations

import os
from pathlib import Path

from mnistx.report import FIGURE_ROWS, backend_rows, figure, stage_files


def _rel(path, out: Path) -> str:
    return os.path.relpath(path, out) if path else ""


def render_markdown(summary: dict, out: Path) -> str:
    cols = summary["columns"]
    t = summary["config"]["train"]
    lines = [f"# mnistx compare: {t['model']} on {', '.join(cols)}", "",
             f"{t['epochs']} epoch(s), batch {t['batch_size']}, seed {t['seed']}; {summary['host']['date_utc']}.", "",
             "| metric | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for label, cells in backend_rows(summary):
        lines.append(f"| {label} | " + " | ".join(v.replace("|", "/") for v in cells.values()) + " |")
    for name, heading in FIGURE_ROWS:
        lines += ["", f"## {heading}", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols),
                  "| " + " | ".join(f"![{b}]({_rel(figure(summary, b, name), out)})" if figure(summary, b, name)
                                    else cols[b]["status"].upper() for b in cols) + " |"]
    p = summary.get("parity")
    lines += ["", "## Parity", ""]
    if p and "error" not in p:
        md = Path(stage_files(summary, "parity").get("markdown", ""))
        lines.append(md.read_text().split("\n", 2)[-1] if md.is_file() else "")
    else:
        lines.append((p or {}).get("error", "Parity needs at least two backends that trained."))
    b = summary.get("bench")
    lines += ["", "## Timing", ""]
    if b and "error" not in b:
        md = Path(stage_files(summary, "bench").get("markdown", ""))
        lines.append(md.read_text().split("\n", 2)[-1] if md.is_file() else "")
    else:
        lines.append((b or {}).get("error", "Benchmark skipped."))
    return "\n".join(lines) + "\n"
