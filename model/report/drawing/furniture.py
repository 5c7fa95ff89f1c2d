"""What every map carries besides its data: scale bar, north arrow, facility symbols, site status, saving.

The maps read as geography, not as a plot: their axes have no ticks (metres of a grid or of a
CRS are no use to a reader of a printed map); a scale bar of a round length (1, 2 or 5 times a
power of ten metres, the longest such that is at most a quarter of the map's width) and a north
arrow stand in for them. Grids run north to south down their rows (docs/scenarios.md, ``[grid]
origin``) and street scenarios are drawn in their CRS, north up: north is up on every map.

Facilities are drawn with their type's symbol (:mod:`.symbols`), on every map alike. On the
maps of a comparison, each site of a scenario after the first is marked against the first
(:func:`site_marks`, from the site table of model/planning/sites.py): a ring for a new site, a
square for a moved one (the same name at a new place) with a dotted line from where it stood,
and a cross where a site closed.

:func:`save` writes a figure with every text inside the picture (titles, legends, the notes
beside a map), and :func:`keep_inside` moves a map's labels (community names) inside its frame.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.text import Text

from model.report.drawing.symbols import symbol
from model.report.lang import Phrases, language

_ = Phrases(
    {
        "{metres:,} m": "{metres:,} 米",
        "N": "北",
        "new site": "新设施点",
        "moved site (dotted: from where it stood)": "迁移的设施点（虚线：原位置）",
        "closed site (where it stood)": "关闭的设施点（原位置）",
    }
)

SCALE_SHARE = 0.25  # the scale bar is at most this share of the map's width
FURNITURE_PT = 8  # font size of the scale bar and the north arrow, points
HALO = [patheffects.withStroke(linewidth=3, foreground="white")]
SITE_SIZE = 60  # area of a facility's marker on a map with few of them, points squared
MANY_MARKERS = 300  # above this many facilities of a type, a map marks them with small dots


def scale_length(width: float) -> int:
    """The scale bar's length in metres: the longest 1, 2 or 5 × 10^k within ``SCALE_SHARE`` of ``width`` metres."""
    most = max(width * SCALE_SHARE, 1.0)
    power = 10 ** math.floor(math.log10(most))
    return int(max(f * power for f in (1, 2, 5) if f * power <= most))


def plain_axes(ax) -> None:
    """No ticks and no axis labels: the scale bar and the north arrow say where and how far."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")


def scale_bar(ax) -> int:
    """A scale bar in the lower left of a map whose limits are set (data units: metres); returns its metres."""
    (x_lo, x_hi), (y_lo, y_hi) = ax.get_xlim(), ax.get_ylim()
    metres = scale_length(abs(x_hi - x_lo))
    x0 = x_lo + 0.04 * (x_hi - x_lo)
    y0 = y_lo + 0.05 * (y_hi - y_lo)  # the bottom also with y down the rows (y_lo > y_hi)
    ax.plot([x0, x0 + metres], [y0, y0], color="black", lw=3, solid_capstyle="butt", zorder=9, gid="scale-bar")
    ax.plot([x0, x0 + metres], [y0, y0], color="white", lw=1, solid_capstyle="butt", zorder=9)
    ax.annotate(
        _("{metres:,} m", metres=metres),
        xy=(x0 + metres / 2, y0),
        xytext=(0, 4),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=FURNITURE_PT,
        zorder=9,
        path_effects=HALO,
        gid="scale-bar-label",
    )
    return metres


def north_arrow(ax) -> None:
    """An arrow pointing up, "N" below it, in the upper right corner of a map (north is up on every map)."""
    ax.annotate(
        _("N"),
        xy=(0.96, 0.97),
        xytext=(0.96, 0.87),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=FURNITURE_PT + 1,
        zorder=9,
        path_effects=HALO,
        arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.5, "shrinkA": 6, "shrinkB": 0},
        gid="north-arrow",
    )


def furnish(ax) -> None:
    """Plain axes, a scale bar and a north arrow (after the map's limits are set)."""
    plain_axes(ax)
    scale_bar(ax)
    north_arrow(ax)


def keep_inside(ax, texts: list) -> None:
    """Move each text (placed in data units) by as little as it takes to lie inside the map's frame."""
    if not texts:
        return
    ax.apply_aspect()  # the frame as drawn: an equal-aspect map's box shrinks to its aspect
    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    to_data = ax.transData.inverted()
    for text in texts:
        box = text.get_window_extent(renderer)
        dx = max(0.0, frame.x0 - box.x0) - max(0.0, box.x1 - frame.x1)
        dy = max(0.0, frame.y0 - box.y0) - max(0.0, box.y1 - frame.y1)
        if dx or dy:
            x, y = ax.transData.transform(text.get_position())
            text.set_position(to_data.transform((x + dx, y + dy)))


def type_handle(ftype: str, label: str, ms: float = 7, count: int = 0) -> Line2D:
    """The legend entry of a facility type: its symbol, edged black (a dot of its colour for over MANY_MARKERS)."""
    s = symbol(ftype)
    if count > MANY_MARKERS:
        return Line2D([], [], marker=".", ls="", color=s.colour, ms=ms, label=label)
    return Line2D([], [], marker=s.marker, ls="", color=s.colour, markeredgecolor="black", ms=ms, label=label)


def in_sentence(label: str) -> str:
    """A type's label inside an English sentence (lower case); in Chinese, as written."""
    return label.lower() if language() == "en" else label


def type_marks(ax, ftype: str, x, y, size: float = SITE_SIZE, zorder: float = 5) -> None:
    """The facilities of ``ftype`` at metres ``x``, ``y``, with the type's symbol (small dots when very many)."""
    s = symbol(ftype)
    if len(x) > MANY_MARKERS:
        ax.scatter(x, y, marker=".", s=6, color=s.colour, edgecolors="none", zorder=zorder)
    else:
        ax.scatter(x, y, marker=s.marker, s=size, color=s.colour, edgecolors="black", linewidths=0.6, zorder=zorder)


def site_status(sites: pd.DataFrame, scenario: str) -> pd.DataFrame:
    """The sites of ``scenario`` in a site table, each with its status, moved sites with where they stood.

    ``sites`` has model/planning/sites.py's columns (scenario, status, name, x, y, from_x, from_y;
    status kept, new, moved or closed against the first scenario; a moved site's old place in
    ``from_x``, ``from_y``). A table without moved rows is read as before: a new site whose name
    is that of a closed one is the closed one moved, one row at the new place with the old in
    ``from_x``, ``from_y``. Returns columns status, name, x, y, from_x, from_y.
    """
    rows = sites.loc[sites["scenario"] == scenario, ["status", "name", "x", "y"]].reset_index(drop=True)
    for column in ("from_x", "from_y"):
        given = column in sites.columns
        rows[column] = sites.loc[sites["scenario"] == scenario, column].to_numpy(dtype=float) if given else np.nan
    closed = rows[rows["status"] == "closed"]
    old = closed.drop_duplicates("name").set_index("name")
    moved = (rows["status"] == "new") & rows["name"].isin(old.index)
    rows.loc[moved, "status"] = "moved"
    rows.loc[moved, "from_x"] = old["x"].reindex(rows.loc[moved, "name"]).to_numpy()
    rows.loc[moved, "from_y"] = old["y"].reindex(rows.loc[moved, "name"]).to_numpy()
    gone = closed.index[closed["name"].isin(rows.loc[moved, "name"])]
    return rows.drop(index=gone).reset_index(drop=True)


def site_marks(ax, status: pd.DataFrame, to_metres, size: float = SITE_SIZE) -> set[str]:
    """The marks of new, moved and closed sites (:func:`site_status`) on a comparison's map; returns the statuses drawn.

    ``to_metres``: turns the table's x or y (grid cells, or metres on streets) into the map's metres.
    The sites themselves (kept, new, moved) are drawn by :func:`type_marks`; here only the marks.
    """
    x, y = to_metres(status["x"].to_numpy(dtype=float)), to_metres(status["y"].to_numpy(dtype=float))
    drawn = set()
    new = (status["status"] == "new").to_numpy()
    if new.any():
        ax.scatter(x[new], y[new], marker="o", s=size * 5, facecolors="none", edgecolors="black", lw=1.6, zorder=6)
        drawn.add("new")
    moved = (status["status"] == "moved").to_numpy()
    if moved.any():
        fx, fy = to_metres(status["from_x"].to_numpy(dtype=float)), to_metres(status["from_y"].to_numpy(dtype=float))
        for k in np.flatnonzero(moved):
            ax.plot([fx[k], x[k]], [fy[k], y[k]], ls=":", color="black", lw=1.3, zorder=6)
        ax.scatter(x[moved], y[moved], marker="s", s=size * 5, facecolors="none", edgecolors="black", lw=1.6, zorder=6)
        drawn.add("moved")
    closed = (status["status"] == "closed").to_numpy()
    if closed.any():
        ax.scatter(x[closed], y[closed], marker="x", s=size * 2, color="black", lw=2.0, zorder=6)
        drawn.add("closed")
    return drawn


def first_sites_crossed(ax, x, y, label: str) -> Line2D:
    """The first scenario's sites as black crosses (a difference map without site statuses); their legend entry."""
    ax.scatter(x, y, marker="x", s=70, c="black", lw=1.2, zorder=6)
    return Line2D([], [], marker="x", ls="", color="black", ms=7, label=label)


def status_handles(drawn: set[str]) -> list:
    """Legend entries of the site marks drawn (:func:`site_marks`), in the order new, moved, closed."""
    ring = {"ls": "", "markerfacecolor": "none", "markeredgecolor": "black", "ms": 11, "markeredgewidth": 1.4}
    entries = {
        "new": Line2D([], [], marker="o", label=_("new site"), **ring),
        "moved": Line2D([], [], marker="s", label=_("moved site (dotted: from where it stood)"), **ring),
        "closed": Line2D(
            [], [], marker="x", ls="", color="black", ms=9, mew=2, label=_("closed site (where it stood)")
        ),
    }
    return [entries[k] for k in ("new", "moved", "closed") if k in drawn]


def save(fig, path: Path, dpi: int = 100) -> None:
    """Write ``fig`` cropped to what it shows, every text and legend inside the picture, and close it."""
    extra = [a for a in fig.findobj(lambda a: isinstance(a, (Text, Legend))) if a.get_visible()]
    extra = [a for a in extra if not isinstance(a, Text) or a.get_text()]
    # a colorbar's empty dividers measure as an infinite box, whose height matplotlib takes (inf - inf)
    # before it leaves it out: numpy's warning of that is no fault of the picture
    with np.errstate(invalid="ignore"):
        fig.savefig(path, dpi=dpi, bbox_inches="tight", bbox_extra_artists=extra)
    plt.close(fig)
