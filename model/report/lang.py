"""The language of the outputs a person reads, and the encoding of the tables a spreadsheet opens.

``--lang en|zh`` (``run``, ``compare``, ``optimize``) chooses English (the default) or Chinese for
titles, axis labels, legends, the headings of the reports and their tables. What the user wrote
is shown as written, in either language: the names of scenarios, communities, groups, facilities
and facility types. File names, CSV column names and summary.json keys never change: they are
the interface of every script that reads them.

``--excel`` writes every CSV file with a UTF-8 byte-order mark, which Excel needs to read UTF-8
(without it, Excel on a Chinese Windows reads the names as GBK and shows mojibake); every other
reader (pandas, R, QGIS, Python's csv module with ``encoding="utf-8-sig"``) skips the mark.

Each module keeps its own Chinese phrases beside its code, in a :class:`Phrases` keyed by the
English text::

    _ = Phrases({"Access time": "步行时间", "{n} residents": "{n} 位居民"})
    ax.set_title(_("Access time"))
    _("{n} residents", n=12)

tests/test_lang.py checks every phrase book: each Chinese phrase has the same ``{fields}`` as its
English key, and a picture drawn in Chinese has no glyph the fonts lack.

The setting is the process's (a command has one language); the drawing process is told the
language with each batch of maps (model/report/drawing/__init__.py).
"""

from __future__ import annotations

import unicodedata

LANGUAGES = ("en", "zh")

_language = "en"
_excel = False

# Every phrase book made, for tests/test_lang.py.
BOOKS: list[Phrases] = []


def use(language: str = "en", excel: bool = False) -> None:
    """Set the language of the outputs and whether CSV files carry a byte-order mark.

    Raises:
        ValueError: For a language other than those of :data:`LANGUAGES`.
    """
    global _language, _excel
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    _language, _excel = language, bool(excel)


def language() -> str:
    """The language of the outputs: "en" or "zh"."""
    return _language


def csv_encoding() -> str:
    """The encoding every CSV file is written in: "utf-8", or "utf-8-sig" (a byte-order mark first) with ``--excel``."""
    return "utf-8-sig" if _excel else "utf-8"


def csv_mark() -> bytes:
    """The bytes a CSV file starts with: the UTF-8 byte-order mark with ``--excel``, else none."""
    return "\ufeff".encode() if _excel else b""


class Phrases:
    """A module's Chinese phrases, keyed by their English text; calling it gives the text in the current language."""

    def __init__(self, zh: dict[str, str]):
        """Keep the phrases (English text -> Chinese text)."""
        self.zh = dict(zh)
        BOOKS.append(self)

    def __call__(self, english: str, /, **fields) -> str:
        """``english`` in the current language (English itself when no Chinese is known), with ``fields`` filled in."""
        text = self.zh.get(english, english) if _language == "zh" else english
        return text.format(**fields) if fields else text


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: two for a wide (Chinese) character, one for any other."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int, align: str = ">") -> str:
    """``text`` padded with spaces to ``width`` terminal columns, right-aligned (">") or left ("<").

    For text without wide characters this is ``format(text, align + str(width))``: English tables
    are unchanged; Chinese headings stay above their columns.
    """
    spaces = " " * max(width - display_width(text), 0)
    return spaces + text if align == ">" else text + spaces
