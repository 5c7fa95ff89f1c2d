"""Chinese names and --lang zh: the font, the phrase books, and CSV files that Excel reads (model/report/lang.py)."""

from __future__ import annotations

import importlib
import pkgutil
import string
import subprocess
import sys

import pandas as pd
import pytest

import model
from model.report import fonts, lang
from tests.conftest import community, facility, write_tiny

HAN = "乌海方案一滨河社区汉族蒙古族"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_chinese_font_is_installed_and_has_the_glyphs_of_chinese_names():
    from matplotlib.ft2font import FT2Font

    path = fonts.cjk_font_file()
    assert path is not None, fonts.missing_message()
    font = FT2Font(str(path))
    assert all(font.get_char_index(ord(c)) != 0 for c in HAN)  # 0 is the missing-glyph box
    assert font.get_char_index(ord("A")) != 0


def test_every_phrase_book_keeps_the_fields_of_its_english_text():
    for info in pkgutil.walk_packages(model.__path__, "model."):
        if not info.name.startswith(("model.web", "model.cli.__main__")):
            importlib.import_module(info.name)
    assert lang.BOOKS, "no phrase book was made"
    for book in lang.BOOKS:
        for english, chinese in book.zh.items():
            assert _fields(english) == _fields(chinese), (english, chinese)
            assert any("\u4e00" <= c <= "\u9fff" for c in chinese), (english, chinese)


def test_phrases_follow_the_language_and_fill_their_fields():
    book = lang.Phrases({"{n} residents": "{n} 位居民"})
    try:
        assert book("{n} residents", n=3) == "3 residents"
        assert book("not translated") == "not translated"
        lang.use("zh")
        assert book("{n} residents", n=3) == "3 位居民"
        assert book("not translated") == "not translated"
    finally:
        lang.use()
        lang.BOOKS.remove(book)
    with pytest.raises(ValueError, match="en, zh"):
        lang.use("fr")


def _chinese_scenario(tmp_path):
    return write_tiny(
        tmp_path,
        width=8,
        height=6,
        name="乌海方案一",
        communities=community(1, 1, 60, w=3, h=3, name="滨河社区") + community(5, 2, 40, w=2, h=2, name="Gongyuan"),
        facilities=facility("market", 4, 4) + facility("park", 2, 4),
        types="",
        groups='{ "汉族" = 0.6, "蒙古族" = 0.4 }',
    )


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_chinese_scenario_draws_every_picture_without_a_missing_glyph(tmp_path, language):
    path = _chinese_scenario(tmp_path)
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "model.cli", "run", str(path), "--out", str(out), "--lang", language, "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "Glyph" not in done.stderr and "missing from font" not in done.stderr, done.stderr
    assert list(out.glob("*.png")) and list((out / "maps").glob("*.png"))


def test_excel_csv_files_start_with_the_byte_order_mark_and_read_back_the_same(tmp_path):
    from model.cli import main

    path = _chinese_scenario(tmp_path)
    plain, excel = tmp_path / "plain", tmp_path / "excel"
    assert main(["run", str(path), "--out", str(plain), "--quiet"]) == 0
    assert main(["run", str(path), "--out", str(excel), "--quiet", "--excel"]) == 0
    names = sorted(p.name for p in plain.glob("*.csv"))
    assert "residents.csv" in names and "coverage.csv" in names
    assert names == sorted(p.name for p in excel.glob("*.csv"))
    for name in names:
        a, b = (plain / name).read_bytes(), (excel / name).read_bytes()
        assert not a.startswith(b"\xef\xbb\xbf")
        assert b == b"\xef\xbb\xbf" + a, name  # the mark, then the very same bytes
    residents = pd.read_csv(excel / "residents.csv", encoding="utf-8-sig")
    assert set(residents["community"]) == {"滨河社区", "Gongyuan"}
    assert list(residents.columns) == list(pd.read_csv(plain / "residents.csv").columns)
    assert lang.csv_mark() == b""  # the command's setting ended with it


def test_a_missing_chinese_font_is_said_for_a_chinese_scenario_and_stops_lang_zh(tmp_path, monkeypatch, capsys):
    from model.cli import main
    from model.cli.common import print_warnings
    from model.scenario import load_scenario

    chinese = load_scenario(_chinese_scenario(tmp_path))
    latin = load_scenario("demo")
    monkeypatch.setattr(fonts, "cjk_font_file", lambda: None)
    print_warnings(latin)
    assert "mplfonts" not in capsys.readouterr().err  # nothing to draw in Chinese: nothing to say
    print_warnings(chinese)
    assert "warning: 乌海方案一: the Chinese font Noto Sans CJK SC is not installed" in capsys.readouterr().err
    out = tmp_path / "zh"
    assert main(["run", "demo", "--lang", "zh", "--out", str(out), "--quiet"]) == 2
    assert "pip install mplfonts" in capsys.readouterr().err
    assert not out.exists()


def test_every_drawing_module_of_the_results_has_its_phrase_book():
    """The pictures of run, compare and batch (not the page's, live.py) each keep their Chinese beside their code."""
    from model.report.drawing import batch, charts, compare, furniture, maps, streets

    for module in (batch, charts, compare, furniture, maps, streets):
        assert isinstance(module._, lang.Phrases) and module._ in lang.BOOKS, module.__name__
        assert module._.zh, module.__name__


def test_padding_counts_a_chinese_character_as_two_columns_and_leaves_english_as_format_does():
    assert lang.pad("users", 9) == format("users", ">9") and lang.pad("users", 9, "<") == format("users", "<9")
    assert lang.pad("使用者", 9) == "   使用者"  # 3 wide characters: 6 columns, 3 spaces
    assert lang.display_width("p90分钟") == 7
    assert lang.pad("太长的标题", 4) == "太长的标题"  # never cut


def test_the_printed_tables_keep_their_columns_in_chinese(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "model.cli", "run", "demo", "--lang", "zh", "--out", str(tmp_path / "zh"), "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.strip().startswith("设施类型") and "不可达" in line)
    # each heading ends in the column where the numbers of the next row end
    header, row = lines[head], lines[head + 1]
    assert lang.display_width(header) == len(row)
