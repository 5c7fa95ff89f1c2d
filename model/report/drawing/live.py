"""Pictures of the browser page, as PNG bytes: the live map and the live charts.

The page (model/web/figures.py) gathers the numbers from the model (walking minutes, where the
residents are, visitors against capacity) and draws them here, so that matplotlib stays in this
package. The map is drawn at a fixed size with the grid, or the street network's extent, at a
known place in the image (:class:`MapFrame`), so that a click on the image names a cell, or a
point in metres; its 5/10/15-minute bands use the colours of the results' access maps
(:mod:`.maps`), so that the overlay reads like the guidance maps: cells on the grid
(:func:`draw_live_map`), pieces of ways on streets (:func:`draw_live_street_map`, the pieces of
:func:`model.report.bands.reached_segments`, drawn as :mod:`.streets` draws them). The coverage
and exposure charts are the results folder's own (:mod:`.charts`, drawn with pyplot: a lock
keeps the server's threads from drawing with it at once); the occupancy chart is a lighter live
one, one line per type against its places. Nothing here draws random numbers.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from model.measures.access import BANDS_MIN
from model.report.drawing.maps import (
    BAND_COLOURS,
    BLOCKED_COLOUR,
    TYPE_MARKERS,
    UNREACHABLE_COLOUR,
    WAY_COLOUR,
    band_index,
    band_labels,
)

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
BAND_ALPHA = 0.75  # the walking bands over the map's ground
DOT_OFFSETS = (0.6180339887, 0.7548776662)  # a resident's fixed place within its cell (x, y), by its index
# On streets: the ways as .streets draws them (maps.WAY_COLOUR), the margin around the
# network's extent, the square around its node a resident's dot lies in, and the area (points²)
# of a node's density disc: base + extra x its residents against the 95th percentile of nodes
WAY_WIDTH, BAND_WIDTH = 0.5, 1.0  # .streets' 0.6 and 1.4 points on its 8-inch maps, scaled to this one
STREET_MARGIN = 0.03  # of the extent's longer side
STREET_DOT_PX = 6.0
NODE_DENSITY_AREA = (4.0, 70.0)

_PYPLOT = threading.Lock()  # the results' charts use pyplot's global state


@dataclass(frozen=True)
class MapFrame:
    """Where the grid, or the street network's extent, lies in the map image: pixels from its top-left corner.

    On a grid the image holds ``cells_x`` x ``cells_y`` cells, row 0 at the top; on streets
    (``extent_m`` given) it holds the metres ``(west, east, south, north)`` of the streets' CRS,
    north up, at one scale both ways, and ``cells_x`` and ``cells_y`` are 0.
    """

    left_px: float
    top_px: float
    width_px: float
    height_px: float
    cells_x: int = 0
    cells_y: int = 0
    extent_m: tuple[float, float, float, float] | None = None

    def _share(self, px: float, py: float) -> tuple[float, float] | None:
        """How far across and down the frame the pixel lies (0 to 1 each), or None outside it."""
        fx = (px - self.left_px) / self.width_px
        fy = (py - self.top_px) / self.height_px
        return (fx, fy) if 0 <= fx < 1 and 0 <= fy < 1 else None

    def cell_at(self, px: float, py: float) -> tuple[int, int] | None:
        """The cell (x, y) under the image pixel (px, py), or None outside the grid (or on streets)."""
        share = self._share(px, py)
        if share is None or self.extent_m is not None:
            return None
        return int(share[0] * self.cells_x), int(share[1] * self.cells_y)

    def metres_at(self, px: float, py: float) -> tuple[float, float] | None:
        """The point (x_m, y_m) under the image pixel (px, py) on streets, or None outside (or on a grid)."""
        share = self._share(px, py)
        if share is None or self.extent_m is None:
            return None
        west, east, south, north = self.extent_m
        return west + share[0] * (east - west), north - share[1] * (north - south)

    def point_at(self, px: float, py: float) -> tuple[int, int] | tuple[float, float] | None:
        """What a click at the pixel chooses: a cell on a grid, a point in metres on streets."""
        return self.cell_at(px, py) if self.extent_m is None else self.metres_at(px, py)


@dataclass(frozen=True)
class ResidentLayer:
    """The residents the map places, each in a cell, of a class (a group or an age band).

    Attributes:
        title: The legend's heading of the residents.
        labels: The classes' names, in class order.
        colour_by: "group" or "age": which palette colours the classes (:func:`class_colours`).
        cell: The node of the walking surface each resident placed is at: its cell (row-major
            index) on a grid, a street node (or home, facility) on streets.
        classes: The class of each resident placed.
        per_cell: Residents per node (per cell, row-major, on a grid) to draw as density, or None
            to draw a dot each.
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
        x: Its cell's column (on streets: metres east).
        y: Its cell's row (on streets: metres north).
        fill: Visitors present against its capacity (1: full).
    """

    types: tuple[str, ...]
    kind: np.ndarray
    x: np.ndarray
    y: np.ndarray
    fill: np.ndarray


@dataclass(frozen=True)
class StreetLayer:
    """The street network on the map, and the pieces of its ways within each walking band.

    Attributes:
        ways: (e, 2, 2) every way as the straight segment between its nodes, metres.
        node_xy_m: (n, 2) every node of the walking surface (street nodes, homes, facilities,
            gates): residents are drawn at theirs, and the map spans them all.
        bands: Per band of ``BANDS_MIN``, the pieces of ways within it, (k, 2, 2) each (each
            band's pieces include the nearer bands'), or () for no bands.
        band_km: Per band, the kilometres of ways within it (the legend's figures), or ().
    """

    ways: np.ndarray
    node_xy_m: np.ndarray
    bands: tuple[np.ndarray, ...] = ()
    band_km: tuple[float, ...] = ()


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


def _class_legend(residents: ResidentLayer, colours: np.ndarray) -> list:
    entries = [Patch(color="none", label=residents.title)]
    return entries + [Patch(color=colours[j], label=label) for j, label in enumerate(residents.labels)]


def _mixed_colours(residents: ResidentLayer, colours: np.ndarray, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per node: the classes' colours mixed by their counts (RGB), and an opacity that grows with the count."""
    total = residents.per_cell
    k = len(residents.labels)
    counts = np.bincount(residents.cell * k + residents.classes, minlength=n_nodes * k).reshape(n_nodes, k)
    rgb = counts @ colours / np.maximum(total, 1)[:, None]
    scale = np.percentile(total[total > 0], 95) if (total > 0).any() else 1.0
    alpha = np.where(total > 0, np.clip(0.2 + 0.65 * total / scale, 0, 0.85), 0.0)  # the ground shows through
    return rgb, alpha


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
        rgb, alpha = _mixed_colours(residents, colours, width * height)
        rgba = np.concatenate([rgb, alpha[:, None]], axis=1).reshape(height, width, 4)
        ax.imshow(rgba, extent=(0, width, height, 0), interpolation="nearest", zorder=3)
    return _class_legend(residents, colours)


def _street_residents(ax, residents: ResidentLayer, node_xy_m: np.ndarray, dot_m: float) -> list:
    """Residents as dots at fixed places in a small square around their node, or as density per node."""
    colours = class_colours(residents.colour_by, len(residents.labels))
    xy = node_xy_m[residents.cell]
    if residents.per_cell is None:
        i = np.arange(residents.cell.size, dtype=np.float64)
        x = xy[:, 0] + ((i * DOT_OFFSETS[0]) % 1.0 - 0.5) * dot_m
        y = xy[:, 1] + ((i * DOT_OFFSETS[1]) % 1.0 - 0.5) * dot_m
        ax.scatter(x, y, s=2.5, c=colours[residents.classes], linewidths=0, alpha=0.85, zorder=3)
    else:
        rgb, alpha = _mixed_colours(residents, colours, node_xy_m.shape[0])
        total = residents.per_cell
        at = np.flatnonzero(total)
        base, extra = NODE_DENSITY_AREA
        area = base + extra * np.minimum(total[at] / np.percentile(total[at], 95), 1.5) if at.size else []
        rgba = np.concatenate([rgb[at], alpha[at, None]], axis=1)
        ax.scatter(node_xy_m[at, 0], node_xy_m[at, 1], s=area, c=rgba, linewidths=0, zorder=3)
    return _class_legend(residents, colours)


def _facilities(ax, facilities: FacilityLayer, centre: float = 0.5) -> list:
    """Facilities by type, marker area by visitors present against capacity (full: red edge).

    ``centre``: added to x and y (0.5: a cell's centre on the grid; 0 for points in metres).
    """
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
            facilities.x[rows] + centre,
            facilities.y[rows] + centre,
            s=base + extra * np.minimum(fill, 1.5),
            marker=marker,
            color=colours[t],
            edgecolors=np.where(full, SELECTED_COLOUR, "none" if many else "black"),
            linewidths=np.where(full, 1.0 if many else 1.6, 0.5),
            zorder=5,
        )
        handles.append(Line2D([], [], marker=marker, ls="", color=colours[t], markeredgecolor="black", label=t))
    return handles


def _map_axes(aspect: float):
    """A figure with the map's axes (longer side ``MAP_IN``, height / width ``aspect``): fig, ax, axes' size."""
    ax_w, ax_h = (MAP_IN, MAP_IN * aspect) if aspect <= 1 else (MAP_IN / aspect, MAP_IN)
    fig_w, fig_h = PAD_IN + ax_w + LEGEND_IN, TITLE_IN + ax_h + PAD_IN
    fig = Figure(figsize=(fig_w, fig_h), dpi=DPI)
    ax = fig.add_axes((PAD_IN / fig_w, PAD_IN / fig_h, ax_w / fig_w, ax_h / fig_h))
    return fig, ax, ax_w, ax_h


def _finish(fig: Figure, ax, title: str, handles: list, ax_w: float) -> None:
    """No ticks, the title above the axes and the legend on their right."""
    fig_w, fig_h = fig.get_size_inches()
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
    """The map of a grid now: ground (or walking bands), communities, residents, facilities, the chosen cell.

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
    fig, ax, ax_w, ax_h = _map_axes(height / width)
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
    _finish(fig, ax, title, handles, ax_w)
    frame = MapFrame(PAD_IN * DPI, TITLE_IN * DPI, ax_w * DPI, ax_h * DPI, width, height)
    return _png(fig), frame


def street_extent(node_xy_m: np.ndarray) -> tuple[float, float, float, float]:
    """The metres a street map spans: every node, and ``STREET_MARGIN`` of the longer side around them.

    Returns:
        (west, east, south, north); a square of side 2 x the margin's metres around a single point.
    """
    low, high = node_xy_m.min(axis=0), node_xy_m.max(axis=0)
    margin = STREET_MARGIN * max(float((high - low).max()), 1.0)
    return low[0] - margin, high[0] + margin, low[1] - margin, high[1] + margin


def _polyline(pieces: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """X and y of many lines as one, a NaN between two: one path draws thousands of ways at once.

    A LineCollection of the same ways builds a matplotlib Path per way, which on a city's
    network costs more than all the rest of the map.
    """
    if not pieces:
        return np.zeros(0), np.zeros(0)
    xy = np.concatenate([np.vstack([p, np.full((1, 2), np.nan)]) for p in pieces])
    return xy[:, 0], xy[:, 1]


def _segments(ax, segments: np.ndarray, colour, width: float, zorder: float) -> None:
    """Straight segments (k, 2, 2), metres, in one colour, as one path (:func:`_polyline`)."""
    ends = np.concatenate([segments, np.full((segments.shape[0], 1, 2), np.nan)], axis=1).reshape(-1, 2)
    ax.plot(
        ends[:, 0], ends[:, 1], color=colour, lw=width, solid_capstyle="butt", zorder=zorder, scalex=False, scaley=False
    )


def _street_ground(ax, streets: StreetLayer, band_title: str) -> list:
    """Every way grey, then the pieces within 15, 10 and 5 minutes on top; legend entries."""
    _segments(ax, streets.ways, WAY_COLOUR, WAY_WIDTH, 1)
    if not streets.bands:
        return [Line2D([], [], color=WAY_COLOUR, lw=1.5, label="way")]
    for k in range(len(streets.bands) - 1, -1, -1):  # the nearest band last, on top
        _segments(ax, streets.bands[k], BAND_COLOURS[k], BAND_WIDTH, 2 + (3 - k) * 0.1)
    handles = [Patch(color="none", label=band_title)]
    labels = band_labels()
    km = (0.0, *streets.band_km)
    for k, colour in enumerate(BAND_COLOURS[: len(streets.bands)]):
        handles.append(Line2D([], [], color=colour, lw=2.5, label=f"{labels[k]} ({km[k + 1] - km[k]:.1f} km of ways)"))
    handles.append(Line2D([], [], color=WAY_COLOUR, lw=1.5, label=f"way, over {BANDS_MIN[len(streets.bands) - 1]} min"))
    return handles


def draw_live_street_map(
    streets: StreetLayer,
    title: str,
    residents: ResidentLayer,
    facilities: FacilityLayer,
    communities: Sequence[tuple[str, np.ndarray, tuple[float, float]]],
    band_title: str = "",
    selected: tuple[float, float] | None = None,
    joins: tuple[float, float] | None = None,
) -> tuple[bytes, MapFrame]:
    """The map of a street network now: ways (or walking bands along them), communities, residents, facilities.

    Args:
        streets: The ways, the nodes and the pieces of ways within each band.
        title: The map's title.
        residents: The residents to place, at their nodes.
        facilities: The facilities (x, y in metres) and how full they are.
        communities: Each community's name, outline ((k, 2) metres) and where its name goes.
        band_title: The legend's heading of the bands.
        selected: The point (x_m, y_m) chosen for re-planning, marked in red, or None.
        joins: The street node the chosen point would join (x_m, y_m): its connector is drawn.

    Returns:
        The PNG image and where the street network's extent lies in it (metres, north up).
    """
    west, east, south, north = street_extent(streets.node_xy_m)
    fig, ax, ax_w, ax_h = _map_axes((north - south) / (east - west))
    ax.set_facecolor(WALKABLE_COLOUR)
    handles = _street_ground(ax, streets, band_title)
    dot_m = STREET_DOT_PX * (east - west) / (ax_w * DPI)
    handles += _street_residents(ax, residents, streets.node_xy_m, dot_m)
    names = len(communities) <= NAMED_COMMUNITIES_MAX
    x, y = _polyline([outline for _, outline, _ in communities])
    ax.plot(x, y, color="black", lw=0.7, ls="--", zorder=4, scalex=False, scaley=False)
    for name, _, (lx, ly) in communities if names else ():
        ax.text(lx, ly, name, fontsize=6.5, va="center", ha="center", alpha=0.8, zorder=6)
    handles += _facilities(ax, facilities, centre=0.0)
    if selected is not None:
        sx, sy = selected
        if joins is not None:
            ax.plot([sx, joins[0]], [sy, joins[1]], color=SELECTED_COLOUR, lw=1.0, ls=":", zorder=7)
        ax.scatter([sx], [sy], s=90, marker="o", facecolors="none", edgecolors=SELECTED_COLOUR, lw=2.0, zorder=7)
        label = f"chosen point ({sx:.0f}, {sy:.0f})"
        handles.append(Line2D([], [], marker="o", ls="", mfc="none", mec=SELECTED_COLOUR, label=label))
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    _finish(fig, ax, title, handles, ax_w)
    extent = (float(west), float(east), float(south), float(north))
    frame = MapFrame(PAD_IN * DPI, TITLE_IN * DPI, float(ax_w * DPI), float(ax_h * DPI), extent_m=extent)
    return _png(fig), frame
