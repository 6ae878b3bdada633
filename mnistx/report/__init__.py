"""The compare report: compare.json, report.md and a self-contained report.html (rows.py: what
both show; markdown.py and html.py: each format)."""

from __future__ import annotations

from pathlib import Path

from mnistx import runs


def write(summary: dict, out) -> dict:
    from mnistx.report.html import render_html
    from mnistx.report.markdown import render_markdown

    out = Path(out)
    paths = {"json": runs.write_json(out / "compare.json", summary)}
    paths["markdown"] = runs.write_text(out / "report.md", render_markdown(summary, out))
    paths["html"] = runs.write_text(out / "report.html", render_html(summary))
    return {k: str(v) for k, v in paths.items()}


def open_in_browser(path) -> str:
    """Open a finished report (a file) in the user's browser ($BROWSER honoured); returns what
    happened, one line for the console. Never raises: a missing browser is not an error."""
    import webbrowser

    path = Path(path)
    if not path.is_file():
        return f"no report at {path} to open"
    try:
        opened = webbrowser.open(path.resolve().as_uri())
    except webbrowser.Error:
        opened = False
    return f"opened {path} in the browser" if opened else \
        f"no browser found to open {path} (set $BROWSER, or open the file yourself)"
