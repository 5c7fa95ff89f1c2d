"""A report a planning office files: one self-contained ``report.html`` and a ``report.pdf``.

The report's text is written once, as Markdown (comparison.md of ``lifecircle compare``); this
module reads the few forms that text uses into :class:`Block` s and writes them out again:

- headings (``#``, ``##``), paragraphs (``**bold**`` kept), bullet lines (``- ``);
- tables (``| a | b |`` rows, the second row the ``|---|`` rule);
- pictures (``![alt](path)``, the path relative to the report's folder).

``report.html`` holds every picture inline as a base64 ``data:`` URI and its style in the page,
so that the one file can be mailed or filed: it refers to no other file and no web address.
``report.pdf`` has the same blocks on A4 pages (model/report/drawing/pages.py, matplotlib's PDF
backend): text, tables split across pages with their header repeated, pictures scaled to the
page's width.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path

from model.report import lang

_IMAGE = re.compile(r"^!\[(?P<alt>[^\]]*)\]\((?P<path>[^)]+)\)$")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


@dataclass(frozen=True)
class Block:
    """One block of a report.

    Attributes:
        kind: "title" (``#``), "heading" (``##``), "text", "bullet", "table" or "picture".
        text: The words of a title, heading, text or bullet (``**bold**`` kept), a picture's caption.
        rows: A table's rows of cells, the header first.
        path: A picture's file, relative to the report's folder.
    """

    kind: str
    text: str = ""
    rows: tuple[tuple[str, ...], ...] = ()
    path: str = ""


def _cells(line: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in line.strip().strip("|").split("|"))


def parse(markdown: str) -> list[Block]:
    """The blocks of a report's Markdown (module docstring: the forms it reads)."""
    blocks: list[Block] = []
    table: list[tuple[str, ...]] = []
    text: list[str] = []

    def flush():
        if table:
            blocks.append(Block("table", rows=tuple(table)))
            table.clear()
        if text:
            blocks.append(Block("text", " ".join(text)))
            text.clear()

    for raw in markdown.splitlines():
        line = raw.strip()
        if line.startswith("|"):
            if text:
                flush()
            if not set(line) <= set("|-: "):
                table.append(_cells(line))
            continue
        flush()
        image = _IMAGE.match(line)
        if not line:
            continue
        if line.startswith("# "):
            blocks.append(Block("title", line[2:]))
        elif line.startswith("## "):
            blocks.append(Block("heading", line[3:]))
        elif line.startswith("- "):
            blocks.append(Block("bullet", line[2:]))
        elif image:
            blocks.append(Block("picture", image["alt"], path=image["path"]))
        else:
            text.append(line)
    flush()
    return blocks


def title_of(blocks: list[Block]) -> str:
    """The report's title: its first ``#`` heading."""
    return next((b.text for b in blocks if b.kind == "title"), "Report")


def _inline(text: str) -> str:
    return _BOLD.sub(r"<strong>\1</strong>", html.escape(text))


_STYLE = """
body { font-family: "Noto Sans CJK SC", "Noto Sans", "DejaVu Sans", sans-serif; max-width: 60em;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #bbb; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
th { background: #eee; } tr:nth-child(even) td { background: #fafafa; }
figure { margin: 1em 0; } img { max-width: 100%; } figcaption { font-size: 0.85em; color: #555; }
p.alert { border-left: 4px solid #b00; padding-left: 0.6em; color: #700; }
@media print { h2 { page-break-after: avoid; } table, figure { page-break-inside: avoid; } }
"""


def to_html(blocks: list[Block], folder: Path) -> str:
    """The report as one HTML page; every picture (read from ``folder``) inline as a base64 data URI."""
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{lang.language()}">',
        '<head><meta charset="utf-8">',
        f"<title>{html.escape(title_of(blocks))}</title>",
        f"<style>{_STYLE}</style></head>",
        "<body>",
    ]
    seen_title = False
    for b in blocks:
        if b.kind == "title":
            parts.append(f"<h1>{_inline(b.text)}</h1>")
            seen_title = True
        elif b.kind == "heading":
            parts.append(f"<h2>{_inline(b.text)}</h2>")
        elif b.kind == "text":
            parts.append(f"<p{'' if seen_title else ' class=alert'}>{_inline(b.text)}</p>")
        elif b.kind == "bullet":
            parts.append(f"<ul><li>{_inline(b.text)}</li></ul>")
        elif b.kind == "table":
            head, *body = b.rows
            parts.append("<table><thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead>")
            parts += ["<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in body]
            parts.append("</table>")
        elif b.kind == "picture":
            data = base64.b64encode((folder / b.path).read_bytes()).decode("ascii")
            parts.append(
                f'<figure><img alt="{html.escape(b.text)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{html.escape(b.text)}</figcaption></figure>"
            )
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


def write_documents(folder: Path, markdown: str) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.pdf`` of a report's Markdown into ``folder``; return their paths."""
    from model.report.drawing import pages

    blocks = parse(markdown)
    page = folder / "report.html"
    page.write_text(to_html(blocks, folder), encoding="utf-8")
    pdf = folder / "report.pdf"
    pages.write_pdf(pdf, blocks, folder, title_of(blocks))
    return page, pdf
