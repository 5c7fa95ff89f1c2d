"""The fonts of the pictures: DejaVu Sans (matplotlib's own) for Latin text, Noto Sans CJK SC for Chinese.

Matplotlib ships no font with Chinese glyphs: a scenario named 乌海方案一 was drawn as empty boxes
with a "Glyph missing from font DejaVu Sans" warning per character. Noto Sans CJK SC (Google and
Adobe, SIL Open Font License 1.1; the same design as Source Han Sans SC) comes with the package
``mplfonts`` from PyPI, a dependency of lifecircle; only its font file is used (the package's own
module, which imports more, is never imported). Matplotlib (3.6 and later) falls back along
``font.family`` glyph by glyph: each Latin letter from DejaVu Sans as before, each Chinese
character from Noto Sans CJK SC.

This module does not import matplotlib, so that a command can check for the font before it pays
for matplotlib (:func:`missing_message`); :func:`use_fonts` is called by model/report/drawing.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

CJK_FAMILY = "Noto Sans CJK SC"
CJK_FILE = "NotoSansCJKsc-Regular.otf"
LATIN_FAMILY = "DejaVu Sans"  # matplotlib's default sans-serif, shipped with matplotlib


def cjk_font_file() -> Path | None:
    """The file of Noto Sans CJK SC in the installed ``mplfonts`` package, or None when it is not there."""
    try:
        spec = importlib.util.find_spec("mplfonts")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "fonts" / CJK_FILE
        if path.is_file():
            return path
    return None


def missing_message() -> str | None:
    """What to do when the Chinese font is missing (None when it is installed)."""
    if cjk_font_file() is not None:
        return None
    return (
        f"the Chinese font {CJK_FAMILY} is not installed (it comes with the Python package mplfonts, a "
        "dependency of lifecircle): run `pip install mplfonts` in this environment, or reinstall lifecircle; "
        "until then Chinese text is drawn as empty boxes"
    )


def use_fonts(rc_params, font_manager) -> bool:
    """Register Noto Sans CJK SC with matplotlib and draw text in DejaVu Sans falling back to it.

    Args:
        rc_params: ``matplotlib.rcParams``.
        font_manager: The module ``matplotlib.font_manager`` (passed in: only model/report/drawing
            imports matplotlib).

    Returns:
        Whether the Chinese font was found (without it, only DejaVu Sans is used, as before).
    """
    path = cjk_font_file()
    if path is None:
        return False
    if CJK_FAMILY not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(path))
    rc_params["font.family"] = [LATIN_FAMILY, CJK_FAMILY]
    return True
