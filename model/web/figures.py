"""The pictures of the browser page, as PNG bytes: the map and the live charts.

The map is drawn from the model's walkable grid, the residents' positions (and Mesa's view of the
space, ``LifeCircleModel.grid``, for residents per cell) and the facilities' occupancy now; it uses
the band colours of the results' access maps (model/report/drawing/maps.py), so that the page's
5/10/15-minute overlay reads like the guidance maps. It is drawn at a fixed size with the grid
at a known place in the image (:class:`MapFrame`), so that a click on the image names a cell.

The coverage and exposure charts are the results folder's own (model/report/drawing/charts.py,
which draws with pyplot: a lock keeps the server's threads from drawing with it at once); the
occupancy chart is a lighter live one, one line per type against its places.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from model.measures.access import BANDS_MIN
from model.report.drawing import plot_coverage, plot_exposure
from model.report.drawing.maps import BAND_COLOURS, BLOCKED_COLOUR, UNREACHABLE_COLOUR
from model.simulation.rules import State
from model.web.state import clock_text, coverage_table_of

DPI = 100
MAP_IN = 5.6  # the longer side of the map's axes, inches
LEGEND_IN = 2.0  # room for the legend on the right
PAD_IN = 0.12
TITLE_IN = 0.45
DOTS_MAX = 6_000  # above this many residents the map draws density per cell, not dots
MANY_FACILITIES = 300  # above this many facilities their markers are small
TRACE_MAX = 100_000  # above this many, only residents at home are placed (see _residents)
WALKABLE_COLOUR = "#fbfbf7"
SELECTED_COLOUR = "#d7191c"
# Residents' colours keep off the bands' yellow-green-blue: groups from Okabe & Ito's colour-blind-safe
# palette without its blues and greens, age bands from the plasma colour map (purple to orange)
GROUP_COLOURS = ("#7a0177", "#E69F00", "#D55E00", "#000000", "#CC79A7", "#8c510a", "#F0E442")
TYPE_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "h", "p", "<", ">", "*")
BAND_ALPHA = 0.75  # the walking bands over the map's ground
# The exposure chart recomputes every mixing index of the run so far (0.07 s at 40,000 residents,
# 0.7 s at 530,000, besides 0.1 s of drawing); the activity part moves slowly, so bigger
# populations redraw it every few ticks: (up to this many residents, every this many ticks)
EXPOSURE_REFRESH = ((10_000, 1), (100_000, 5))
EXPOSURE_REFRESH_CITY_TICKS = 15

_PYPLOT = threading.Lock()  # the report's charts use pyplot's global state


@dataclass(frozen=True)
class MapView:
    """What the map shows besides the model's state.

    Attributes:
        colour_by: Residents coloured by "group" or by "age" band.
        band_type: The facility type whose 5/10/15-minute bands are drawn, or None.
        selected: The cell (x, y) chosen for re-planning, or None.
    """

    colour_by: str = "group"
    band_type: str | None = None
    selected: tuple[int, int] | None = None


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


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def type_colours(types) -> dict[str, tuple]:
    """A colour per facility type, in catalogue order (the map's markers and the occupancy lines)."""
    from matplotlib import colormaps

    tab20 = colormaps["tab20"]
    return {t: tab20((2 * i) % 20 / 19) for i, t in enumerate(types)}


def resident_classes(model, colour_by: str) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Each resident's class (group or age band), the class labels and their RGB colours."""
    res = model.built.residents
    if colour_by == "age":
        bands = list(model.spec.ages)
        lows = np.array([b.lo for b in bands])
        order = np.argsort(lows)
        cls = order[np.searchsorted(lows[order], res.age, side="right") - 1]
        from matplotlib import colormaps

        colours = colormaps["plasma"](np.linspace(0.0, 0.85, len(bands)))[:, :3]
        return cls, [f"age {b}" for b in bands], colours
    colours = np.array([to_rgb(GROUP_COLOURS[i % len(GROUP_COLOURS)]) for i in range(len(res.group_names))])
    return res.group, list(res.group_names), colours


def _ground(model, view: MapView, walkable: np.ndarray) -> tuple[np.ndarray, list]:
    """RGB of every cell: blocked, walkable, or the walking band of ``view.band_type``; legend entries."""
    city = model.city
    image = np.where(walkable[..., None], to_rgb(WALKABLE_COLOUR), to_rgb(BLOCKED_COLOUR))
    handles = [Patch(color=BLOCKED_COLOUR, label="blocked")]
    field = model.built.fields_m.get(view.band_type) if view.band_type else None
    if field is not None:
        from model.web.state import users_paces

        pace = users_paces(model)[view.band_type]
        minutes = (field / pace).reshape(city.height, city.width)
        band = np.searchsorted(np.array(BANDS_MIN), minutes, side="left")
        band = np.where(np.isfinite(minutes), band, len(BAND_COLOURS))
        palette = np.array([to_rgb(c) for c in (*BAND_COLOURS, UNREACHABLE_COLOUR)])
        banded = BAND_ALPHA * palette[band] + (1 - BAND_ALPHA) * image
        image = np.where(walkable[..., None], banded, image)
        edges = (0, *BANDS_MIN)
        labels = [f"{lo}-{hi} min" for lo, hi in zip(edges[:-1], edges[1:], strict=True)] + [f"over {BANDS_MIN[-1]}"]
        handles += [Patch(color=c, label=label) for c, label in zip(BAND_COLOURS, labels, strict=True)]
        handles.insert(1, Patch(color="none", label=f"{view.band_type} at {pace:.0f} m/min:"))
    return image, handles


def _residents(ax, model, view: MapView) -> list:
    """Residents where they are now: dots, or density per cell in large populations; legend entries.

    Up to :data:`TRACE_MAX` residents every one is placed where it is (walkers on their paths:
    ``model.positions()``, and Mesa's "people" layer of ``model.grid`` for the density). Above it
    only residents at home are placed: tracing every walk costs the fast engine seconds per tick
    at city scale (one shortest-path tree per walk's destination), and residents out are in the
    facilities' markers anyway.
    """
    city = model.city
    cls, labels, colours = resident_classes(model, view.colour_by)
    n = cls.size
    if n > TRACE_MAX:
        states = model.resident_states()
        home = states == State.HOME
        cell, cls = model.built.residents.cell[home], cls[home]
        total = np.bincount(cell, minlength=city.n_cells)
        out = {s.name.lower(): int((states == s).sum()) for s in (State.WALKING, State.WAITING, State.VISITING)}
        title = "residents at home\n(density per cell); out:\n" + ",\n".join(f"{v:,} {k}" for k, v in out.items())
    else:
        cell = model.positions()
        total = None if n <= DOTS_MAX else model.grid.people.data.T.reshape(-1)  # Mesa's view: residents per cell
        title = "residents (dots)" if n <= DOTS_MAX else "residents (density per cell)"
    if n <= DOTS_MAX:
        i = np.arange(n, dtype=np.float64)  # fixed offsets within the cell: drawing uses no random numbers
        x = cell % city.width + (i * 0.6180339887) % 1.0
        y = cell // city.width + (i * 0.7548776662) % 1.0
        ax.scatter(x, y, s=2.5, c=colours[cls], linewidths=0, alpha=0.85, zorder=3)
    else:
        k = len(labels)
        counts = np.bincount(cell * k + cls, minlength=city.n_cells * k).reshape(city.n_cells, k)
        rgb = counts @ colours / np.maximum(total, 1)[:, None]
        scale = np.percentile(total[total > 0], 95) if (total > 0).any() else 1.0
        alpha = np.where(total > 0, np.clip(0.2 + 0.65 * total / scale, 0, 0.85), 0.0)  # the ground shows through
        rgba = np.concatenate([rgb, alpha[:, None]], axis=1).reshape(city.height, city.width, 4)
        ax.imshow(rgba, extent=(0, city.width, city.height, 0), interpolation="nearest", zorder=3)
    return [Patch(color="none", label=title)] + [Patch(color=colours[j], label=label) for j, label in enumerate(labels)]


def _facilities(ax, model) -> list:
    """Facilities by type, marker area by visitors present against capacity (full: red edge)."""
    city = model.city
    fac = city.facilities
    present = model.engine.occupancy_by_group().sum(axis=1)
    ratio = present / np.maximum(fac["capacity"].to_numpy(), 1)
    many = len(fac) > MANY_FACILITIES  # small markers, edged only when full
    base, extra = (3.0, 25.0) if many else (30.0, 170.0)
    colours = type_colours(city.types)
    handles = [Patch(color="none", label="facilities (size: present / capacity)")]
    for i, t in enumerate(city.types):
        rows = (fac["type"] == t).to_numpy()
        full = ratio[rows] >= 1
        marker = TYPE_MARKERS[i % len(TYPE_MARKERS)]
        ax.scatter(
            fac["x"].to_numpy()[rows] + 0.5,
            fac["y"].to_numpy()[rows] + 0.5,
            s=base + extra * np.minimum(ratio[rows], 1.5),
            marker=marker,
            color=colours[t],
            edgecolors=np.where(full, SELECTED_COLOUR, "none" if many else "black"),
            linewidths=np.where(full, 1.0 if many else 1.6, 0.5),
            zorder=5,
        )
        handles.append(Line2D([], [], marker=marker, ls="", color=colours[t], markeredgecolor="black", label=t))
    return handles


def draw_map(model, view: MapView) -> tuple[bytes, MapFrame]:
    """The map now: ground (or walking bands), communities, residents, facilities, the chosen cell.

    Returns:
        The PNG image and where the grid lies in it.
    """
    city, scenario = model.city, model.spec
    aspect = city.height / city.width
    ax_w, ax_h = (MAP_IN, MAP_IN * aspect) if aspect <= 1 else (MAP_IN / aspect, MAP_IN)
    fig_w, fig_h = PAD_IN + ax_w + LEGEND_IN, TITLE_IN + ax_h + PAD_IN
    fig = Figure(figsize=(fig_w, fig_h), dpi=DPI)
    ax = fig.add_axes((PAD_IN / fig_w, PAD_IN / fig_h, ax_w / fig_w, ax_h / fig_h))
    walkable = city.walkable
    extent = (0, city.width, city.height, 0)
    ground, handles = _ground(model, view, walkable)
    ax.imshow(ground, extent=extent, interpolation="nearest", zorder=1)
    handles += _residents(ax, model, view)
    names = len(scenario.communities) <= 30
    for com in scenario.communities:
        x, y, w, h = com.area
        ax.add_patch(Rectangle((x, y), w, h, fill=False, ec="black", lw=0.7, ls="--", zorder=4))
        if names:
            ax.text(x + 0.3, y + 0.3, com.name, fontsize=6.5, va="top", ha="left", zorder=6)
    handles += _facilities(ax, model)
    if view.selected is not None:
        sx, sy = view.selected
        ax.add_patch(Rectangle((sx, sy), 1, 1, fill=False, ec=SELECTED_COLOUR, lw=2.0, zorder=7))
        handles.append(Patch(fill=False, ec=SELECTED_COLOUR, label=f"chosen cell ({sx}, {sy})"))
    ax.set_xlim(0, city.width)
    ax.set_ylim(city.height, 0)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(
        f"{scenario.name}, {clock_text(model)}; cells of {city.cell_m:g} m, {city.width} x {city.height}",
        loc="left",
        fontsize=9,
    )
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=((PAD_IN + ax_w + 0.08) / fig_w, 1 - TITLE_IN / fig_h),
        fontsize=6.5,
        frameon=False,
        handlelength=1.2,
    )
    frame = MapFrame(PAD_IN * DPI, TITLE_IN * DPI, ax_w * DPI, ax_h * DPI, city.width, city.height)
    return _png(fig), frame


def draw_occupancy(model) -> bytes:
    """Visitors present through the current day against each type's places (the sum of its capacities)."""
    data = model.datacollector.model_vars
    day = np.asarray(data["day"])
    minute = np.asarray(data["minute"], dtype=float)
    today = day == day[-1]
    sim = model.spec.simulation
    fac = model.city.facilities
    colours = type_colours(model.city.types)
    fig = Figure(figsize=(6.4, 3.6), dpi=DPI)
    ax = fig.add_axes((0.1, 0.14, 0.6, 0.74))
    for t in model.city.types:
        places = max(int(fac.loc[fac["type"] == t, "capacity"].sum()), 1)
        share = 100 * np.asarray(data[f"occupancy_{t}"], dtype=float)[today] / places
        ax.plot(minute[today] / 60, share, color=colours[t], lw=1.3, label=f"{t} ({places:,})")
    ax.axhline(100, color="black", ls="--", lw=0.8)
    ax.text(sim.day_start_min / 60 + 0.1, 101, "all places taken", fontsize=7, va="bottom")
    ax.set_xlim(sim.day_start_min / 60, sim.day_end_min / 60)
    ax.set_ylim(0, 130)
    ax.set_xlabel("hour of the day", fontsize=8)
    ax.set_ylabel("visitors present, % of places", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(f"Occupancy against capacity, {clock_text(model)}", fontsize=9, loc="left")
    ax.legend(
        loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=6.5, frameon=False, title="type (places)", title_fontsize=7
    )
    return _png(fig)


def exposure_refresh_ticks(n_residents: int) -> int:
    """How many ticks apart the exposure chart is redrawn (its figures cost more in big populations)."""
    return next((ticks for most, ticks in EXPOSURE_REFRESH if n_residents <= most), EXPOSURE_REFRESH_CITY_TICKS)


def draw_exposure(model) -> bytes:
    """Residential against activity exposure by group, so far (the results folder's exposure.png)."""
    mixing = model.summary()["mixing"]
    buffer = io.BytesIO()
    with _PYPLOT:
        plot_exposure(buffer, mixing, f"{model.spec.name}, {clock_text(model)}")
    return buffer.getvalue()


def draw_coverage(model) -> bytes:
    """Coverage by type and age band (the results folder's coverage.png)."""
    buffer = io.BytesIO()
    with _PYPLOT:
        plot_coverage(buffer, coverage_table_of(model), model.spec)
    return buffer.getvalue()
