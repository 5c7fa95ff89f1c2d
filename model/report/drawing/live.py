"""Pictures of the browser page, as PNG bytes: the live map and the live charts.

The page (model/web/figures.py) gathers the numbers from the model (walking minutes, where the
residents are, visitors against capacity) and draws them here, so that matplotlib stays in this
package. The map is drawn at a fixed size with the grid at a known place in the image
(:class:`MapFrame`), so that a click on the image names a cell; its 5/10/15-minute bands use the
colours of the results' access maps (:mod:`.maps`), so that the overlay reads like the guidance
maps. The coverage and exposure charts are the results folder's own (:mod:`.charts`, drawn with
pyplot: a lock keeps the server's threads from drawing with it at once); the occupancy chart is
a lighter live one, one line per type against its places. Nothing here draws random numbers.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from model.measures.access import BANDS_MIN
from model.report.drawing.charts import plot_coverage, plot_exposure
from model.report.drawing.maps import BAND_COLOURS, BLOCKED_COLOUR, UNREACHABLE_COLOUR, band_index
from model.scenario import Scenario

DPI = 100
MAP_IN = 5.6  # the longer side of the map's axes, inches
LEGEND_IN = 2.0  # room for the legend on the right
PAD_IN = 0.12
TITLE_IN = 0.45
NAMED_COMMUNITIES_MAX = 30  # communities are named on the map up to this many
MANY_FACILITIES = 300  # above this many facilities their markers are small
WALKABLE_COLOUR = "#fbfbf7"
SELECTED_COLOUR = "#d7191c"
# Residents' colours keep off the bands' yellow-green-blue: groups from Okabe & Ito's colour-blind-safe
# palette without its blues and greens, age bands from the plasma colour map (purple to orange)
GROUP_COLOURS = ("#7a0177", "#E69F00", "#D55E00", "#000000", "#CC79A7", "#8c510a", "#F0E442")
TYPE_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "h", "p", "<", ">", "*")
BAND_ALPHA = 0.75  # the walking bands over the map's ground
DOT_OFFSETS = (0.6180339887, 0.7548776662)  # a resident's fixed place within its cell (x, y), by its index

_PYPLOT = threading.Lock()  # the results' charts use pyplot's global state


@dataclass(frozen=True)
class MapFrame:
    """Where the grid lies in the map image: pixels from the image's top-left corner."""

    left_px: float
    top_px: float
    width_px: float
    height_px: float
    cells_x: int
    cells_y: int

    def cell_at(self, px: float, py: float) -> tuple[int, int] | None:
        """The cell (x, y) under the image pixel (px, py), or None outside the grid."""
        fx = (px - self.left_px) / self.width_px
        fy = (py - self.top_px) / self.height_px
        if not (0 <= fx < 1 and 0 <= fy < 1):
            return None
        return int(fx * self.cells_x), int(fy * self.cells_y)


@dataclass(frozen=True)
class ResidentLayer:
    """The residents the map places, each in a cell, of a class (a group or an age band).

    Attributes:
        title: The legend's heading of the residents.
        labels: The classes' names, in class order.
        colour_by: "group" or "age": which palette colours the classes (:func:`class_colours`).
        cell: The cell (row-major index) of each resident placed.
        classes: The class of each resident placed.
        per_cell: Residents per cell (row-major) to draw as density, or None to draw a dot each.
    """

    title: str
    labels: tuple[str, ...]
    colour_by: str
    cell: np.ndarray
    classes: np.ndarray
    per_cell: np.ndarray | None = None


@dataclass(frozen=True)
class FacilityLayer:
    """The facilities on the map, and how full each is now.

    Attributes:
        types: The facility types, in catalogue order (a marker and colour each).
        kind: The type of each facility.
        x: Its cell's column.
        y: Its cell's row.
        fill: Visitors present against its capacity (1: full).
    """

    types: tuple[str, ...]
    kind: np.ndarray
    x: np.ndarray
    y: np.ndarray
    fill: np.ndarray


@dataclass(frozen=True)
class OccupancyLine:
    """One type's line of the occupancy chart: visitors present as a share of its places."""

    ftype: str
    places: int
    percent: np.ndarray


def type_colours(types: Sequence[str]) -> dict[str, tuple]:
    """A colour per facility type, in catalogue order (the map's markers and the occupancy lines)."""
    tab20 = colormaps["tab20"]
    return {t: tab20((2 * i) % 20 / 19) for i, t in enumerate(types)}


def class_colours(colour_by: str, n: int) -> np.ndarray:
    """RGB colours (n x 3) of n groups (Okabe & Ito, repeated) or n age bands (plasma, young to old)."""
    if colour_by == "age":
        return colormaps["plasma"](np.linspace(0.0, 0.85, n))[:, :3]
    return np.array([to_rgb(GROUP_COLOURS[i % len(GROUP_COLOURS)]) for i in range(n)])


def band_labels() -> list[str]:
    """Legend labels of the walking bands of ``BANDS_MIN`` and beyond: "0-5 min", ..., "over 15"."""
    edges = (0, *BANDS_MIN)
    return [f"{lo}-{hi} min" for lo, hi in zip(edges[:-1], edges[1:], strict=True)] + [f"over {BANDS_MIN[-1]}"]


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _ground(walkable: np.ndarray, minutes: np.ndarray | None, band_title: str) -> tuple[np.ndarray, list]:
    """RGB of every cell, blocked, walkable, or its walking band over the ground; legend entries."""
    image = np.where(walkable[..., None], to_rgb(WALKABLE_COLOUR), to_rgb(BLOCKED_COLOUR))
    handles = [Patch(color=BLOCKED_COLOUR, label="blocked")]
    if minutes is not None:
        palette = np.array([to_rgb(c) for c in (*BAND_COLOURS, UNREACHABLE_COLOUR)])
        banded = BAND_ALPHA * palette[band_index(minutes)] + (1 - BAND_ALPHA) * image
        image = np.where(walkable[..., None], banded, image)
        handles.append(Patch(color="none", label=band_title))
        handles += [Patch(color=c, label=label) for c, label in zip(BAND_COLOURS, band_labels(), strict=True)]
    return image, handles


def _residents(ax, residents: ResidentLayer, width: int, height: int) -> list:
    """Residents as dots at fixed places within their cells, or as density per cell; legend entries."""
    colours = class_colours(residents.colour_by, len(residents.labels))
    cell, cls = residents.cell, residents.classes
    if residents.per_cell is None:
        i = np.arange(cell.size, dtype=np.float64)
        x = cell % width + (i * DOT_OFFSETS[0]) % 1.0
        y = cell // width + (i * DOT_OFFSETS[1]) % 1.0
        ax.scatter(x, y, s=2.5, c=colours[cls], linewidths=0, alpha=0.85, zorder=3)
    else:
        total = residents.per_cell
        k = len(residents.labels)
        counts = np.bincount(cell * k + cls, minlength=width * height * k).reshape(width * height, k)
        rgb = counts @ colours / np.maximum(total, 1)[:, None]  # the classes' colours mixed by their counts
        scale = np.percentile(total[total > 0], 95) if (total > 0).any() else 1.0
        alpha = np.where(total > 0, np.clip(0.2 + 0.65 * total / scale, 0, 0.85), 0.0)  # the ground shows through
        rgba = np.concatenate([rgb, alpha[:, None]], axis=1).reshape(height, width, 4)
        ax.imshow(rgba, extent=(0, width, height, 0), interpolation="nearest", zorder=3)
    entries = [Patch(color="none", label=residents.title)]
    return entries + [Patch(color=colours[j], label=label) for j, label in enumerate(residents.labels)]


def _facilities(ax, facilities: FacilityLayer) -> list:
    """Facilities by type, marker area by visitors present against capacity (full: red edge)."""
    many = facilities.kind.size > MANY_FACILITIES  # small markers, edged only when full
    base, extra = (3.0, 25.0) if many else (30.0, 170.0)
    colours = type_colours(facilities.types)
    handles = [Patch(color="none", label="facilities (size: present / capacity)")]
    for i, t in enumerate(facilities.types):
        rows = facilities.kind == t
        fill = facilities.fill[rows]
        full = fill >= 1
        marker = TYPE_MARKERS[i % len(TYPE_MARKERS)]
        ax.scatter(
            facilities.x[rows] + 0.5,
            facilities.y[rows] + 0.5,
            s=base + extra * np.minimum(fill, 1.5),
            marker=marker,
            color=colours[t],
            edgecolors=np.where(full, SELECTED_COLOUR, "none" if many else "black"),
            linewidths=np.where(full, 1.0 if many else 1.6, 0.5),
            zorder=5,
        )
        handles.append(Line2D([], [], marker=marker, ls="", color=colours[t], markeredgecolor="black", label=t))
    return handles


def draw_live_map(
    walkable: np.ndarray,
    title: str,
    residents: ResidentLayer,
    facilities: FacilityLayer,
    communities: Sequence[tuple[str, tuple[int, int, int, int]]],
    minutes: np.ndarray | None = None,
    band_title: str = "",
    selected: tuple[int, int] | None = None,
) -> tuple[bytes, MapFrame]:
    """The map now: ground (or walking bands), communities, residents, facilities, the chosen cell.

    Args:
        walkable: Whether each cell is walkable (rows x columns).
        title: The map's title.
        residents: The residents to place.
        facilities: The facilities and how full they are.
        communities: Each community's name and area (x, y, width, height in cells).
        minutes: Walking minutes of every cell to the banded type (rows x columns), or None for
            no bands.
        band_title: The legend's heading of the bands.
        selected: The cell (x, y) outlined in red, or None.

    Returns:
        The PNG image and where the grid lies in it.
    """
    height, width = walkable.shape
    aspect = height / width
    ax_w, ax_h = (MAP_IN, MAP_IN * aspect) if aspect <= 1 else (MAP_IN / aspect, MAP_IN)
    fig_w, fig_h = PAD_IN + ax_w + LEGEND_IN, TITLE_IN + ax_h + PAD_IN
    fig = Figure(figsize=(fig_w, fig_h), dpi=DPI)
    ax = fig.add_axes((PAD_IN / fig_w, PAD_IN / fig_h, ax_w / fig_w, ax_h / fig_h))
    extent = (0, width, height, 0)
    ground, handles = _ground(walkable, minutes, band_title)
    ax.imshow(ground, extent=extent, interpolation="nearest", zorder=1)
    handles += _residents(ax, residents, width, height)
    names = len(communities) <= NAMED_COMMUNITIES_MAX
    for name, (x, y, w, h) in communities:
        ax.add_patch(Rectangle((x, y), w, h, fill=False, ec="black", lw=0.7, ls="--", zorder=4))
        if names:
            ax.text(x + 0.3, y + 0.3, name, fontsize=6.5, va="top", ha="left", zorder=6)
    handles += _facilities(ax, facilities)
    if selected is not None:
        sx, sy = selected
        ax.add_patch(Rectangle((sx, sy), 1, 1, fill=False, ec=SELECTED_COLOUR, lw=2.0, zorder=7))
        handles.append(Patch(fill=False, ec=SELECTED_COLOUR, label=f"chosen cell ({sx}, {sy})"))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, loc="left", fontsize=9)
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=((PAD_IN + ax_w + 0.08) / fig_w, 1 - TITLE_IN / fig_h),
        fontsize=6.5,
        frameon=False,
        handlelength=1.2,
    )
    frame = MapFrame(PAD_IN * DPI, TITLE_IN * DPI, ax_w * DPI, ax_h * DPI, width, height)
    return _png(fig), frame


def draw_live_occupancy(
    hours: np.ndarray, lines: Sequence[OccupancyLine], day_hours: tuple[float, float], title: str
) -> bytes:
    """Visitors present through the day against each type's places, one line per type, 100% marked.

    Args:
        hours: Clock hours of the points.
        lines: One per type, in catalogue order (its colour).
        day_hours: The simulated day's first and last hour (the x axis).
        title: The chart's title.
    """
    colours = type_colours([line.ftype for line in lines])
    fig = Figure(figsize=(6.4, 3.6), dpi=DPI)
    ax = fig.add_axes((0.1, 0.14, 0.6, 0.74))
    for line in lines:
        ax.plot(hours, line.percent, color=colours[line.ftype], lw=1.3, label=f"{line.ftype} ({line.places:,})")
    ax.axhline(100, color="black", ls="--", lw=0.8)
    ax.text(day_hours[0] + 0.1, 101, "all places taken", fontsize=7, va="bottom")
    ax.set_xlim(*day_hours)
    ax.set_ylim(0, 130)
    ax.set_xlabel("hour of the day", fontsize=8)
    ax.set_ylabel("visitors present, % of places", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(title, fontsize=9, loc="left")
    ax.legend(
        loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=6.5, frameon=False, title="type (places)", title_fontsize=7
    )
    return _png(fig)


def exposure_png(mixing: dict, title: str) -> bytes:
    """The results folder's exposure chart (:func:`.charts.plot_exposure`) as PNG bytes."""
    buffer = io.BytesIO()
    with _PYPLOT:
        plot_exposure(buffer, mixing, title)
    return buffer.getvalue()


def coverage_png(table: pd.DataFrame, scenario: Scenario) -> bytes:
    """The results folder's coverage chart (:func:`.charts.plot_coverage`) as PNG bytes."""
    buffer = io.BytesIO()
    with _PYPLOT:
        plot_coverage(buffer, table, scenario)
    return buffer.getvalue()
