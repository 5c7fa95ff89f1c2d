"""A report's blocks on A4 pages of a PDF (matplotlib's PdfPages): text, tables and pictures.

The blocks are model/report/document.py's (``kind``, ``text``, ``rows``, ``path``). Text is
wrapped to the page's width, counting a Chinese character as two Latin ones; a table is split
across pages with its header repeated, in a font small enough for its columns to fit the width;
a picture is scaled to the width (or the page's height) and starts a page when it does not fit.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.backends.backend_pdf import PdfPages

A4_IN = (8.27, 11.69)  # ISO 216 A4, inches
MARGIN_IN = 0.6
TEXT_PT = 9.0
TABLE_PT_MAX, TABLE_PT_MIN = 7.5, 4.5
LINE = 1.45  # line height, in font sizes
POINT_IN = 1 / 72
CHAR_EM = 0.62  # the width of a Latin character, in font sizes: about a digit's in DejaVu Sans (0.64), a little less
HEAD_COLOUR = "#123a6b"  # headings and table headers
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def _width(text: str) -> int:
    """Width of ``text`` in Latin characters: East Asian wide characters count two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _wrap(text: str, columns: int) -> list[str]:
    """``text`` in lines of at most ``columns`` (by :func:`_width`), broken at spaces or between wide characters."""
    lines, line = [], ""
    for word in re.findall(r"\S+\s*|\s+", text):
        if _width(line + word.rstrip()) <= columns:
            line += word
            continue
        if line:
            lines.append(line.rstrip())
            line = ""
        while _width(word.rstrip()) > columns:  # a word wider than a line (or a run of Chinese)
            cut = columns
            while _width(word[:cut]) > columns:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line.strip():
        lines.append(line.rstrip())
    return lines or [""]


class _Pages:
    """The pages being written and the cursor on the current one (inches from the top)."""

    def __init__(self, pdf: PdfPages, title: str):
        self.pdf, self.title, self.fig, self.y, self.number = pdf, title, None, 0.0, 0
        self.width = A4_IN[0] - 2 * MARGIN_IN

    def new(self) -> None:
        self.close()
        self.number += 1
        self.fig = plt.figure(figsize=A4_IN)
        self.fig.text(0.5, 0.25 / A4_IN[1], f"{self.title} · {self.number}", ha="center", fontsize=7, color="grey")
        self.y = MARGIN_IN

    def close(self) -> None:
        if self.fig is not None:
            self.pdf.savefig(self.fig)
            plt.close(self.fig)
            self.fig = None

    def room(self) -> float:
        return A4_IN[1] - MARGIN_IN - self.y

    def need(self, height_in: float) -> None:
        if self.fig is None or (self.room() < height_in and self.y > MARGIN_IN):
            self.new()

    def text(self, text: str, size: float, weight: str = "normal", indent_in: float = 0.0, color="black") -> None:
        # no bold: the CJK font has one weight (matplotlib would warn and fall back); headings are larger and dark blue
        strong = weight == "bold" or text.startswith("**") and text.endswith("**") and text.count("**") == 2
        plain = _BOLD.sub(r"\1", text)
        columns = int((self.width - indent_in) / (size * POINT_IN * CHAR_EM))
        for line in _wrap(plain, columns):
            self.need(size * LINE * POINT_IN)
            self.fig.text(
                (MARGIN_IN + indent_in) / A4_IN[0],
                1 - (self.y + size * POINT_IN) / A4_IN[1],
                line,
                fontsize=size,
                color=HEAD_COLOUR if strong and color == "black" else color,
                va="baseline",
            )
            self.y += size * LINE * POINT_IN
        self.y += size * 0.5 * POINT_IN

    def table(self, rows: tuple[tuple[str, ...], ...]) -> None:
        head, *body = rows
        n = len(head)
        # columns as wide as their longest cell (capped), the font as large as the width allows
        widths = [min(28, max(_width(r[k]) if k < len(r) else 0 for r in rows)) + 2 for k in range(n)]
        size = max(TABLE_PT_MIN, min(TABLE_PT_MAX, self.width / (sum(widths) * CHAR_EM * POINT_IN)))
        fractions = [w / sum(widths) for w in widths]
        chars = [max(4, int(f * self.width / (size * CHAR_EM * POINT_IN))) for f in fractions]

        def lines_of(row):
            return [_wrap(row[k] if k < len(row) else "", chars[k]) for k in range(n)]

        def draw(row, bold):
            cells = lines_of(row)
            height = max(len(c) for c in cells) * size * LINE * POINT_IN
            x = MARGIN_IN
            for k, cell in enumerate(cells):
                for i, line in enumerate(cell):
                    self.fig.text(
                        (x + 0.03) / A4_IN[0],
                        1 - (self.y + (i + 1) * size * LINE * POINT_IN - 0.3 * size * POINT_IN) / A4_IN[1],
                        line,
                        fontsize=size,
                        color=HEAD_COLOUR if bold else "black",
                    )
                x += fractions[k] * self.width
            self.y += height
            self.fig.add_artist(
                plt.Line2D(
                    [MARGIN_IN / A4_IN[0], (MARGIN_IN + self.width) / A4_IN[0]],
                    [1 - self.y / A4_IN[1]] * 2,
                    lw=0.3,
                    color="grey",
                )
            )

        def height(row):
            return max(len(c) for c in lines_of(row)) * size * LINE * POINT_IN

        self.need(height(head) + (height(body[0]) if body else 0))
        draw(head, True)
        for row in body:
            if self.room() < height(row):
                self.new()
                draw(head, True)
            draw(row, False)
        self.y += TEXT_PT * POINT_IN

    def picture(self, path: Path, caption: str) -> None:
        image = plt.imread(path)
        h, w = image.shape[:2]
        top = A4_IN[1] - 2 * MARGIN_IN - 0.4
        width = self.width
        height = width * h / w
        if height > top:
            width, height = width * top / height, top
        self.need(height + 0.3)
        ax = self.fig.add_axes(
            (
                (MARGIN_IN + (self.width - width) / 2) / A4_IN[0],
                1 - (self.y + height) / A4_IN[1],
                width / A4_IN[0],
                height / A4_IN[1],
            )
        )
        ax.imshow(image, interpolation="antialiased")
        ax.set_axis_off()
        self.y += height + 0.05
        self.text(caption, 7, color="dimgrey")


def write_pdf(path: Path, blocks: list, folder: Path, title: str) -> None:
    """Write ``blocks`` (model/report/document.py) to ``path`` as A4 pages; pictures are read from ``folder``."""
    with PdfPages(path, metadata={"Title": title, "CreationDate": None, "ModDate": None}) as pdf:
        pages = _Pages(pdf, title)
        pages.new()
        titled = False  # text before the title is a warning (a community cut off): in red
        for b in blocks:
            if b.kind == "title":
                titled = True
                pages.text(b.text, 15, "bold")
            elif b.kind == "heading":
                pages.y += 0.1
                pages.need(0.8)  # a heading does not end a page
                pages.text(b.text, 12, "bold")
            elif b.kind == "text":
                pages.text(b.text, TEXT_PT, color="black" if titled else "darkred")
            elif b.kind == "bullet":
                pages.text("• " + b.text, TEXT_PT, indent_in=0.15)
            elif b.kind == "table":
                pages.table(b.rows)
            elif b.kind == "picture":
                pages.picture(folder / b.path, b.text)
        pages.close()
