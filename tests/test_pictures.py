"""What the pictures show (issue 20, items 1 and 4): symbols, scale bars, legends, clipping, exposure, Chinese.

Every picture of a run (and the maps of a comparison) is drawn in this process and kept open
after it is saved, so that the tests read what was drawn: the markers, the legend's entries,
the scale bar against the axes' transform, every text's place in the saved area, the bars of the
exposure chart against summary.json.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import shutil
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.markers import MarkerStyle
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox

from model.cli import main
from model.model import LifeCircleModel
from model.report import lang, results
from model.report.drawing import symbols
from model.report.drawing.furniture import scale_length
from model.scenario import load_catalogue, load_scenario
from tests.conftest import CELL_M, community, write_tiny

CJK = re.compile("[\u4e00-\u9fff]")
MIN_PT = 7.0  # the smallest text that reads at print size


@contextlib.contextmanager
def _drawing(monkeypatch):
    """Every figure saved inside the block, with savefig's keyword arguments, left open for reading."""
    monkeypatch.setattr("os.cpu_count", lambda: 1)  # no drawing process: every picture is drawn here
    monkeypatch.setitem(plt.rcParams, "figure.max_open_warning", 0)  # they are kept open on purpose
    kept: list[tuple[Figure, dict]] = []
    savefig, draw_text = Figure.savefig, Text.draw
    texts: list[Text] = []

    def note(self, renderer):
        if self.get_visible():
            texts.append(self)
        return draw_text(self, renderer)

    def keep(self, fname, *args, **kwargs):
        texts.clear()
        savefig(self, fname, *args, **kwargs)
        kept.append((self, {**kwargs, "texts": list(texts), "fname": str(fname)}))

    monkeypatch.setattr(Text, "draw", note)
    monkeypatch.setattr(Figure, "savefig", keep)
    monkeypatch.setattr(plt, "close", lambda fig=None: None)
    yield kept


@pytest.fixture
def drawn(monkeypatch):
    """Every figure saved while the test runs, with savefig's keyword arguments, left open for reading."""
    close = plt.close
    with _drawing(monkeypatch) as kept:
        yield kept
    for fig, _ in kept:
        close(fig)


def _facility(ftype: str, x: int, y: int, name: str) -> str:
    return f'\n[[facilities]]\ntype = "{ftype}"\nat = [{x}, {y}]\nname = "{name}"\ncapacity = 50\n'


def _scenario(tmp_path, name: str, facilities: str, **kwargs):
    return write_tiny(
        tmp_path,
        width=12,
        height=8,
        name=name,
        communities=community(1, 1, 60, w=3, h=3, name="Binhe") + community(8, 4, 40, w=4, h=3, name="Gongyuan"),
        facilities=facilities,
        types="",
        groups='{ "han" = 0.8, "mongol" = 0.2 }',
        **kwargs,
    )


def _run(path, out):
    model = LifeCircleModel(load_scenario(path), seed=3)
    model.run()
    out.mkdir()
    summary = results.write_results(model, out, {})
    return model, summary


def _title(fig: Figure) -> str:
    if fig._suptitle is not None and fig._suptitle.get_text():
        return fig._suptitle.get_text()
    return " ".join(ax.get_title(loc) for ax in fig.axes for loc in ("left", "center") if ax.get_title(loc))


def _map_axes(fig: Figure) -> list:
    return [ax for ax in fig.axes if any(line.get_gid() == "scale-bar" for line in ax.lines)]


def _texts(kwargs: dict) -> list[Text]:
    """The texts the saved picture shows: those drawn while it was saved, not empty."""
    return [t for t in dict.fromkeys(kwargs["texts"]) if t.get_text().strip()]


def _same_path(vertices: np.ndarray, marker) -> bool:
    expected = _marker_path(marker)
    return vertices.shape == expected.shape and np.allclose(vertices, expected)


def _saved_area(fig: Figure, kwargs: dict) -> Bbox:
    """The part of the figure savefig wrote, in pixels of the figure's dpi (as savefig computes it).

    The figure is drawn again at its own dpi first: savefig drew it at the dpi it was saved at,
    and a legend keeps the place it was drawn at in pixels.
    """
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    if kwargs.get("bbox_inches") == "tight":
        inches = fig.get_tightbbox(renderer, bbox_extra_artists=kwargs.get("bbox_extra_artists"))
        inches = inches.padded(plt.rcParams["savefig.pad_inches"])
    else:
        inches = fig.bbox_inches
    return Bbox(inches.get_points() * fig.dpi)


def _marker_path(marker) -> np.ndarray:
    style = MarkerStyle(marker)
    return style.get_path().transformed(style.get_transform()).vertices


def _legend_handles(fig: Figure, ax) -> list:
    legends = [ax.get_legend(), *fig.legends]
    return [h for legend in legends if legend is not None for h in legend.legend_handles]


def _marks(ax, marker, filled: bool) -> list[tuple]:
    """Where ``ax`` has markers ``marker``, filled or not."""
    found = []
    for dots in ax.collections:
        if isinstance(dots, PathCollection) and _same_path(dots.get_paths()[0].vertices, marker):
            face = dots.get_facecolor()
            if (len(face) > 0 and face[0][3] > 0) == filled:
                found += [tuple(p) for p in np.asarray(dots.get_offsets())]
    return sorted(found)


# ----------------------------------------------------------------------------- the symbol table


def test_every_catalogue_type_has_its_own_symbol_of_colour_blind_safe_colours():
    catalogue = list(load_catalogue())
    table = {t: symbols.symbol(t) for t in catalogue}
    assert len(set(table.values())) == len(catalogue)  # no two types alike
    assert len({s.marker for s in table.values()}) == min(len(catalogue), len(symbols.MARKERS))
    okabe_ito = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"}
    assert {s.colour for s in table.values()} <= okabe_ito
    assert "^" not in {s.marker for s in table.values()}  # the gates' marker
    # a type of a scenario's own: the same symbol every time, none of a catalogue type's
    own = symbols.symbol("calligraphy_hall")
    assert own == symbols.symbol("calligraphy_hall") and own not in table.values()
    assert own.colour in okabe_ito and own.marker in symbols.MARKERS


def test_a_type_keeps_its_symbol_in_scenarios_with_different_types(tmp_path, drawn):
    first = _scenario(tmp_path, "first", _facility("market", 2, 2, "m") + _facility("park", 9, 5, "p"))
    second = _scenario(
        tmp_path,
        "second",
        _facility("elderly_care", 2, 6, "e") + _facility("convenience", 5, 2, "c") + _facility("park", 3, 3, "p"),
    )
    seen = {}
    for path, out in ((first, tmp_path / "a"), (second, tmp_path / "b")):
        before = len(drawn)
        model, _ = _run(path, out)
        label = model.spec.types["park"].label
        guidance = [fig for fig, _ in drawn[before:] if "from its gates" in _title(fig)]
        assert guidance
        for fig in guidance:
            ax = _map_axes(fig)[0]
            handle = next(h for h in _legend_handles(fig, ax) if h.get_label() == label)
            seen.setdefault(path.stem, set()).add((handle.get_marker(), to_rgba(handle.get_markerfacecolor())))
            # the park drawn with the legend's symbol, at the park's cell
            park = model.city.facilities[model.city.facilities["type"] == "park"]
            centre = (park[["x", "y"]].to_numpy(dtype=float) + 0.5) * CELL_M
            dots = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets())]
            at_park = [
                c
                for c in dots
                if np.asarray(c.get_offsets()).shape == centre.shape
                and np.allclose(np.asarray(c.get_offsets()), centre)
                and _same_path(c.get_paths()[0].vertices, handle.get_marker())
            ]
            assert len(at_park) == 1
            assert np.allclose(at_park[0].get_facecolor()[0], to_rgba(handle.get_markerfacecolor()))
    park = symbols.symbol("park")
    assert seen["first"] == seen["second"] == {(park.marker, to_rgba(park.colour))}


# ------------------------------------------------------------------- maps: scale, legend, clipping


STREETS = Path(__file__).parent / "data" / "streets_small" / "small.toml"


@pytest.fixture(scope="module", params=["grid", "streets"])
def run_pictures(request, tmp_path_factory):
    """Every picture of a run on a grid (a facility and a community at its right edge) or on streets.

    One run per kind for the four tests that read its pictures (module scope): they only read the
    figures, and each redraws a figure only at its own dpi, as savefig left it."""
    tmp_path = tmp_path_factory.mktemp(f"pictures_{request.param}")
    out = tmp_path / "out"
    with pytest.MonkeyPatch.context() as monkeypatch, _drawing(monkeypatch) as drawn:
        if request.param == "grid":
            facilities = (
                _facility("market", 2, 2, "m") + _facility("park", 10, 6, "p") + _facility("elderly_care", 6, 1, "e")
            )
            path = _scenario(tmp_path, "pictures", facilities)
            names = {"Binhe", "Gongyuan"}
        else:
            path, names = STREETS, {"North", "South"}
        assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    yield request.param, summary, list(drawn), names
    for fig, _ in drawn:
        plt.close(fig)


def test_the_scale_bar_is_as_long_as_its_label_says(run_pictures):
    kind, _, figures, _ = run_pictures
    maps = [ax for fig, _ in figures for ax in _map_axes(fig)]
    assert len(maps) >= 4  # the access maps and the guidance maps
    for ax in maps:
        bar = next(line for line in ax.lines if line.get_gid() == "scale-bar")
        label = next(t for t in ax.texts if t.get_gid() == "scale-bar-label").get_text()
        metres = int(re.fullmatch(r"([\d,]+) m", label).group(1).replace(",", ""))
        # the bar's length on screen, turned into metres by the axes' own scale (pixels per metre)
        (x0, _), (x1, _) = bar.get_transform().transform(bar.get_xydata())
        width_m = abs(np.diff(ax.get_xlim())[0])
        pixels_per_metre = ax.get_window_extent().width / width_m
        assert (x1 - x0) / pixels_per_metre == pytest.approx(metres, rel=1e-9)
        if kind == "grid":
            assert width_m == pytest.approx(12 * CELL_M)  # the map spans the grid
        # a round length, the longest such within a quarter of the map's width
        mantissa = metres / 10 ** math.floor(math.log10(metres))
        assert mantissa in (1, 2, 5) and metres <= width_m / 4 < 2.5 * metres
        assert any(t.get_gid() == "north-arrow" for t in ax.texts)
        assert not ax.get_xticks().size and not ax.get_yticks().size  # geography, not a plot


def test_the_scale_length_is_the_longest_round_length_within_a_quarter():
    assert [scale_length(w) for w in (600, 1000, 2000, 3000, 8000, 25_000, 41)] == [100, 200, 500, 500, 2000, 5000, 10]


def test_every_marker_drawn_on_a_map_has_its_legend_entry(run_pictures):
    _, _, figures, _ = run_pictures
    for fig, _ in figures:
        for ax in _map_axes(fig):
            handles = [h for h in _legend_handles(fig, ax) if hasattr(h, "get_marker") and h.get_marker() != "None"]
            for dots in ax.collections:
                if not isinstance(dots, PathCollection) or not len(dots.get_offsets()):
                    continue
                path = dots.get_paths()[0].vertices
                same = [h for h in handles if _same_path(path, h.get_marker())]
                assert same, (_title(fig), path[:3])
                face = dots.get_facecolor()
                if len(face) == 1 and face[0][3] > 0:  # one fill: the legend's entry has it
                    assert any(np.allclose(face[0], to_rgba(h.get_markerfacecolor())) for h in same), _title(fig)


PICTURES = {  # a fragment of each picture's title
    "access": "walking time to the nearest",
    "guidance": "from its gates",
    "coverage": "who reaches each facility type",
    "occupancy": "visitors present through the day",
    "exposure": "relative exposure by group",
}


def test_no_text_is_clipped_and_none_is_too_small_to_print(run_pictures):
    _, _, figures, names = run_pictures
    seen = set()
    for fig, kwargs in figures:
        title = _title(fig)
        seen |= {kind for kind, fragment in PICTURES.items() if fragment in title}
        area = _saved_area(fig, kwargs).padded(1.0)  # a pixel's rounding
        renderer = fig.canvas.get_renderer()
        for text in _texts(kwargs):
            box = text.get_window_extent(renderer)
            assert area.contains(box.x0, box.y0) and area.contains(box.x1, box.y1), (title, text.get_text())
            assert text.get_fontsize() >= MIN_PT, (title, text.get_text(), text.get_fontsize())
        for ax in _map_axes(fig):  # community names, scale bar and arrow inside the map's frame
            frame = ax.get_window_extent(renderer).padded(1.0)
            inside = [t for t in ax.texts if not isinstance(t, Annotation) or t.get_gid()]
            assert names <= {t.get_text() for t in inside}, title
            for text in inside:
                box = text.get_window_extent(renderer)
                assert frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1), (title, text.get_text())
    assert seen == set(PICTURES)


def test_the_exposure_chart_draws_relative_exposure(run_pictures):
    _, summary, figures, _ = run_pictures
    fig = next(fig for fig, _ in figures if PICTURES["exposure"] in _title(fig))
    ax = fig.axes[0]
    mixing = summary["mixing"]
    residential = mixing["residential"]
    series = [residential["blocks"], residential["communities"]]
    series += [residential["catchment"]] if "catchment" in residential else []
    series += [mixing["activity"]]
    groups = [t.get_text() for t in ax.get_xticklabels()]
    assert groups == list(mixing["activity"]["relative_exposure"]) and len(groups) == 2
    for j, block in enumerate(series):
        bars = [p for p in ax.patches if p.get_gid() == f"relative-exposure-{j}"]
        expected = [block["relative_exposure"][g] for g in groups]
        heights = [b.get_height() for b in bars]
        assert heights == pytest.approx([np.nan if v is None else v for v in expected], nan_ok=True)
        assert heights != pytest.approx([block["exposure"][g] for g in groups], nan_ok=True)  # not absolute
    assert any(np.allclose(line.get_ydata(), 1.0) for line in ax.lines)  # the line of chance
    assert "1: as mixed as chance" in ax.get_ylabel()


# --------------------------------------------------------------------------- a comparison's maps


def test_new_moved_and_closed_sites_are_marked_on_the_comparison_maps(tmp_path, drawn):
    from model.planning.compare import compare

    base = _facility("market", 1, 1, "A") + _facility("market", 6, 1, "B") + _facility("market", 10, 6, "C")
    after = _facility("market", 1, 1, "A") + _facility("market", 3, 5, "B") + _facility("market", 1, 6, "D")
    paths = [_scenario(tmp_path, "base", base), _scenario(tmp_path, "after", after)]
    compare([load_scenario(p) for p in paths], tmp_path / "cmp", quiet=True)
    centre = lambda x, y: ((x + 0.5) * CELL_M, (y + 0.5) * CELL_M)  # noqa: E731
    side = next(fig for fig, _ in drawn if "market: walking time" in _title(fig))
    first, second = _map_axes(side)
    assert [first.get_title(), second.get_title()] == ["base", "after"]

    assert _marks(second, "o", False) == [centre(1, 6)]  # D, new: a ring
    assert _marks(second, "s", False) == [centre(3, 5)]  # B, moved: a square
    assert _marks(second, "x", True) == [centre(10, 6)]  # C, closed: a cross where it stood
    dotted = [line for line in second.lines if line.get_linestyle() == ":"]
    assert len(dotted) == 1 and np.allclose(dotted[0].get_xydata(), [centre(6, 1), centre(3, 5)])
    assert not _marks(first, "o", False) and not _marks(first, "s", False)  # the base marks nothing
    labels = [h.get_label() for h in _legend_handles(side, first)]
    assert {"new site", "moved site (dotted: from where it stood)", "closed site (where it stood)"} <= set(labels)
    difference = next(fig for fig, _ in drawn if "gained or lost" in _title(fig))
    (ax,) = _map_axes(difference)
    assert _marks(ax, "x", True) == [centre(10, 6)] and _marks(ax, "o", False) == [centre(1, 6)]


# ------------------------------------------------------------------------------------- in Chinese


def test_every_picture_in_chinese_has_chinese_titles_and_no_missing_glyph(tmp_path, drawn):
    from model.planning.compare import compare

    base = _facility("market", 1, 1, "A") + _facility("park", 6, 1, "B")
    after = _facility("market", 3, 5, "A") + _facility("park", 6, 1, "B")
    paths = [_scenario(tmp_path, "乌海方案一", base), _scenario(tmp_path, "乌海方案二", after)]
    lang.use("zh")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a missing glyph is a warning: here an error
            _run(paths[0], tmp_path / "run")
            compare([load_scenario(p) for p in paths], tmp_path / "cmp", quiet=True)
    finally:
        lang.use()
    kinds = set()
    for fig, kwargs in drawn:
        if not kwargs["fname"].endswith(".png"):
            continue  # report.pdf's pages: the report's text (model/report/document.py)
        title = _title(fig)
        assert CJK.search(title), title
        labels = [ax.get_ylabel() for ax in fig.axes] + [ax.get_xlabel() for ax in fig.axes]
        for label in filter(None, labels):
            assert CJK.search(label), (title, label)
        for ax in fig.axes:
            legend = ax.get_legend()
            for text in legend.get_texts() if legend is not None else []:
                assert not re.search(r"\b(min|within|over|blocked|gate|community)\b", text.get_text()), text.get_text()
        kinds |= {k for k in ("生活圈", "访客", "接触度", "步行时间", "出入口", "增减") if k in title}
    assert kinds == {"生活圈", "访客", "接触度", "步行时间", "出入口", "增减"}


def test_a_moved_and_a_new_site_are_marked_on_the_street_comparison_maps(tmp_path, drawn):
    """streets_small's hand-placed care station moved 200 m east and 100 m south (same name), and one more."""
    changed = STREETS.read_text(encoding="utf-8").replace('name = "streets_small"', 'name = "changed"')
    changed = changed.replace("at_m = [385012.5, 6671230.0]", "at_m = [385212.5, 6671130.0]")
    changed += '\n[[facilities]]\ntype = "elderly_care"\nat_m = [385300.0, 6671200.0]\nname = "Second care"\n'
    folder = tmp_path / "streets"
    shutil.copytree(STREETS.parent, folder)
    variant = folder / "changed.toml"  # beside the base: its csv/ files are found from there
    variant.write_text(changed, encoding="utf-8")
    assert main(["compare", str(folder / STREETS.name), str(variant), "--out", str(tmp_path / "cmp"), "--quiet"]) == 0
    side = next(fig for fig, _ in drawn if "along the streets, at" in _title(fig))
    first, second = _map_axes(side)
    assert _marks(second, "o", False) == [(385300.0, 6671200.0)]  # new: a ring
    assert _marks(second, "s", False) == [(385212.5, 6671130.0)]  # moved: a square
    dotted = [line for line in second.lines if line.get_linestyle() == ":"]
    assert len(dotted) == 1 and np.allclose(dotted[0].get_xydata(), [(385012.5, 6671230.0), (385212.5, 6671130.0)])
    assert not _marks(second, "x", True) and not _marks(first, "o", False)
    labels = {h.get_label() for h in _legend_handles(side, first)}
    assert {"new site", "moved site (dotted: from where it stood)"} <= labels
    assert "closed site (where it stood)" not in labels  # only what is drawn


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_batch_charts_draw_in_either_language(tmp_path, drawn, language):
    """Sweep, Morris and Sobol' charts from hand-made tables: each point and bar where the table puts it."""
    from model.report.drawing import batch

    summary = pd.DataFrame(
        {
            "scenario": ["demo"] * 3,
            "metric": ["coverage.elderly_care"] * 3,
            "cap": [10, 20, 30],
            "mean": [0.4, 0.5, 0.6],
            "ci95_low": [0.35, 0.45, 0.55],
            "ci95_high": [0.45, 0.55, 0.65],
            "n": [5] * 3,
        }
    )
    morris = pd.DataFrame(
        {"metric": "m", "parameter": ["a", "b"], "mu_star": [0.2, 0.5], "sigma": [0.1, 0.3], "mu_star_conf": 0.05}
    )
    sobol = pd.DataFrame(
        {"metric": "m", "parameter": ["a", "b"], "S1": [0.2, 0.5], "S1_conf": 0.05, "ST": [0.3, 0.6], "ST_conf": 0.1}
    )
    lang.use(language)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            batch.plot_sweep(tmp_path / "sweep.png", summary, "coverage.elderly_care", "cap", ["cap"])
            batch.plot_morris(tmp_path / "morris.png", morris, "m")
            batch.plot_sobol(tmp_path / "sobol.png", sobol, "m")
    finally:
        lang.use()
    (sweep, _), (screening, kwargs), (indices, _) = drawn
    assert np.allclose(sweep.axes[0].lines[0].get_xydata(), [(10, 0.4), (20, 0.5), (30, 0.6)])
    named = {t.get_text(): t.xy for t in screening.axes[0].texts}
    assert named == {"a": (0.2, 0.1), "b": (0.5, 0.3)}
    heights = [round(p.get_height(), 9) for p in indices.axes[0].patches]
    assert heights == [0.2, 0.5, 0.3, 0.6]  # S1 of a and b, then ST
    for fig, kwargs in drawn:
        assert bool(CJK.search(_title(fig) + fig.axes[0].get_ylabel())) == (language == "zh"), _title(fig)
        assert min(t.get_fontsize() for t in _texts(kwargs)) >= MIN_PT


def test_occupancy_titles_give_turn_aways_and_the_people_turned_away(tmp_path, drawn):
    from tests.conftest import write_busy_small

    _, summary = _run(write_busy_small(tmp_path), tmp_path / "run")
    (fig, _kwargs), *_ = [(f, k) for f, k in drawn if k["fname"].endswith("occupancy.png")]
    titles = {ax.get_title().split(":")[0]: ax.get_title() for ax in fig.axes}
    busy = [t for t, u in summary["usage"].items() if isinstance(u, dict) and u["turned_away"] > 0]
    assert busy, "the busy scenario turns people away"
    for t in busy:
        u = summary["usage"][t]
        assert u["turned_away_people"] <= u["turned_away"]
        assert f"{u['turned_away']:,.0f} turned away/day ({u['turned_away_people']:,.0f} people)" in titles[t]
