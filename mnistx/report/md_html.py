"""The small Markdown subset mnistx's own reports use (headings, pipe tables, bullet lists,
paragraphs, **bold**, `code`), rendered as HTML. Every text is escaped first, so a stage's
Markdown report shows in report.html with exactly the same content -- and nothing in it runs."""

from __future__ import annotations

import html
import re

_INLINE = [(re.compile(r"\*\*(.+?)\*\*"), r"<b>\1</b>"), (re.compile(r"`(.+?)`"), r"<code>\1</code>")]


def inline(text: str) -> str:
    out = html.escape(text, quote=True)
    for pattern, repl in _INLINE:
        out = pattern.sub(repl, out)
    return out


def _cells(line: str) -> list[str]:
    """Split a pipe-table row on unescaped '|'; '\\|' is a literal pipe inside a cell."""
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def _verdict(cell: str) -> str:
    """A class for a cell that states a verdict (PASS/FAIL first): coloured, and readable without emoji."""
    word = cell.split(" ", 1)[0].strip("*")
    return {"PASS": ' class="pass"', "FAIL": ' class="fail"'}.get(word, "")


def _table(rows: list[str]) -> str:
    head = _cells(rows[0])
    body = "".join("<tr>" + "".join(f"<td{_verdict(c)}>{inline(c)}</td>" for c in _cells(line)) + "</tr>"
                   for line in rows[2:])
    return "<table><tr>" + "".join(f"<th>{inline(h)}</th>" for h in head) + "</tr>" + body + "</table>"


def render(md: str, drop_title: bool = True) -> str:
    """HTML for `md`; its first '# ' title is dropped when the page has its own heading."""
    lines, out, i = md.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            if not (drop_title and level == 1 and not out):
                out.append(f"<h{level + 2}>{inline(line[level:].strip())}</h{level + 2}>")
            i += 1
        elif line.lstrip().startswith("|"):
            j = i
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                j += 1
            out.append(_table(lines[i:j]))
            i = j
        elif line.startswith("- "):
            j = i
            while j < len(lines) and lines[j].startswith("- "):
                j += 1
            out.append("<ul>" + "".join(f"<li>{inline(x[2:])}</li>" for x in lines[i:j]) + "</ul>")
            i = j
        else:
            j = i
            while j < len(lines) and lines[j].strip() and not lines[j].lstrip().startswith(("|", "#", "- ")):
                j += 1
            out.append(f"<p>{inline(' '.join(lines[i:j]))}</p>")
            i = j
    return "\n".join(out)
