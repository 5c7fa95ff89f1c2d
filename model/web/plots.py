"""The page's interactive figures, as plotly figures: the map and the three charts.

:mod:`.figures` reads the model (where the residents are, how full the facilities are, the
walking fields, the DataCollector's rows); this module turns those numbers into plotly figures,
which the page shows with ``solara.FigurePlotly`` (plotly's own JavaScript, shipped in its
Python package: no CDN). Every figure has hover values and a legend; facility types take the
colours and symbols of :mod:`.palette`. Nothing here imports Solara or draws random numbers.

The map is a vector map in the grid's own units (cells, a cell's centre at its integer x, y,
row 0 at the top, as the scenario's cells) or, on a street scenario, in metres of the streets'
CRS (north up). On a grid, the ground, the walking bands and the residents' density are one
image of one pixel per cell (its hover gives the cell, its minutes and its residents); on
streets, the ways are lines and the residents dots at their nodes, over an invisible fine grid
that answers a click anywhere. The page keeps the user's zoom and pan across the redraw of every
step by drawing the next map with the view the user left (``ranges``): plotly's widget sets the
new figure's axes as given, so ``layout.uirevision`` alone does not keep them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from model.report.drawing.live import WALKABLE_COLOUR, class_colours
from model.report.drawing.maps import BAND_COLOURS, BLOCKED_COLOUR, UNREACHABLE_COLOUR, band_index, band_labels
from model.web.palette import type_styles

FONT_PX = 12  # no text on the page's figures is smaller
MAP_PX = (530, 640)  # the map's width and height on the page
CHART_PX = (410, 276)  # a chart's
BAND_ALPHA = 0.75  # the walking bands over the ground: the band reads, the ground shows through (a choice)
SELECTED_COLOUR = "#d7191c"
PLAN_COLOUR = "#000000"  # the ring of a facility added on the page
REMOVED_COLOUR = "#737373"  # the cross where a removed facility stood
CLICK_GRID = 200  # on streets, the invisible grid that names a clicked point has this many cells a side
FACILITY_SIZE = "facilities by type: size = visitors present / capacity, red edge = full"
HOVER_CELLS_MAX = 40_000  # up to this many cells each has its own hover text (residents, minutes)
NAMED_COMMUNITIES_MAX = 12  # communities are named on the map up to this many (their outlines always drawn)


def _gaps(values) -> list:
    """The values as a list with None for each NaN: a NaN in a list breaks the widget's JSON (the update is lost).

    NumPy arrays of numbers go to the page as binary arrays, where NaN passes (plotly draws it as a gap).
    """
    a = np.asarray(values, dtype=float)
    return np.where(np.isfinite(a), a, None).tolist()


def _hex_rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float) / 255


def _rgba(rgb: np.ndarray, alpha: float | np.ndarray = 1.0) -> str | list[str]:
    """CSS rgba() of one RGB (0-1) colour, or of each row of an (n, 3) array."""
    rgb = np.atleast_2d(np.asarray(rgb, dtype=float))
    alpha = np.broadcast_to(np.asarray(alpha, dtype=float), (rgb.shape[0],))
    out = [
        f"rgba({int(round(r * 255))},{int(round(g * 255))},{int(round(b * 255))},{a:.3f})"
        for (r, g, b), a in zip(rgb, alpha, strict=True)
    ]
    return out[0] if len(out) == 1 else out


_NESTED = ("legendgrouptitle", "marker", "title", "line")  # plotly's "marker_color" is {"marker": {"color": ...}}


def _plain(value):
    """A value as the page's widget sends it: numbers as arrays, text as lists (nested dicts likewise)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.dtype.kind in "OUSb":
        return value.tolist()
    return value


def _nest(props: dict) -> dict:
    """Plotly's magic underscores (``title_text``) as nested dicts, and :func:`_plain` values."""
    out: dict = {}
    for key, value in props.items():
        head, _, rest = key.partition("_")
        if rest and head in _NESTED:
            out.setdefault(head, {})[rest] = _plain(value)
        else:
            out[key] = _plain(value)
    return out


def _trace(kind: str, **props) -> dict:
    """A trace of plotly type ``kind`` as a plain dict."""
    return {"type": kind, **_nest(props)}


class _Fig:
    """A plotly figure built as plain dicts and made a ``go.Figure`` at the end without plotly's validation.

    plotly validates every property of every trace as it is set (about 0.2 s of CPU for the map at
    each step, measured with experiments/benchmarks/web.py); the page's figures are made by this
    module alone, and the browser tests render them. The methods are the few of ``go.Figure`` used here.
    """

    def __init__(self):
        """An empty figure."""
        self.data: list[dict] = []
        self.layout: dict = {"shapes": [], "annotations": []}

    def add_trace(self, trace: dict) -> None:
        """Add a trace (:func:`_trace`)."""
        self.data.append(trace)

    def update_layout(self, **props) -> None:
        """Set layout properties (dicts are merged one level down)."""
        for key, value in _nest(props).items():
            if isinstance(value, dict) and isinstance(self.layout.get(key), dict):
                self.layout[key] = {**self.layout[key], **value}
            else:
                self.layout[key] = value

    def update_xaxes(self, **props) -> None:
        """Set properties of the x axis."""
        self.update_layout(xaxis=_nest(props))

    def update_yaxes(self, **props) -> None:
        """Set properties of the y axis."""
        self.update_layout(yaxis=_nest(props))

    def add_annotation(self, **props) -> None:
        """Add a text annotation."""
        self.layout["annotations"].append(_nest(props))

    def add_hline(self, y: float, line: dict, annotation_text: str) -> None:
        """A horizontal line across the plot at ``y``, its text at its right end."""
        self.layout["shapes"].append(
            {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": y, "y1": y, "line": line}
        )
        self.add_annotation(
            xref="paper", x=1, xanchor="right", yref="y", y=y, yanchor="bottom", text=annotation_text, showarrow=False
        )

    def figure(self) -> go.Figure:
        """The ``go.Figure`` (not validated), numbered (``serial``: one number per figure made)."""
        fig = go.Figure({"data": self.data, "layout": self.layout}, skip_invalid=False, _validate=False)
        fig._lifecircle_serial = next(_SERIALS)
        return fig


_SERIALS = itertools.count()


def serial(fig: go.Figure) -> int:
    """The figure's number (one per figure made): the page compares figures by it (``app.Shown``)."""
    return fig._lifecircle_serial


@dataclass(frozen=True)
class FacilityMarks:
    """The facilities to mark on the map, with what their hover says.

    Attributes:
        types: Facility types, in catalogue order (their colours and symbols).
        kind, name, x, y, capacity, present: One entry per facility: type, name, place (cell or
            metres), capacity and visitors present now.
        added: Facilities added on the page, as (type, x, y).
        removed: Facilities removed on the page, as (type, x, y), where they stood.
    """

    types: tuple[str, ...]
    kind: np.ndarray
    name: np.ndarray
    x: np.ndarray
    y: np.ndarray
    capacity: np.ndarray
    present: np.ndarray
    added: tuple = ()
    removed: tuple = ()


def _layout(fig: _Fig, title: str, size: tuple[int, int], uirevision: str) -> None:
    fig.update_layout(
        title={"text": title, "font": {"size": FONT_PX + 1}, "x": 0.01, "y": 0.99, "yanchor": "top"},
        width=size[0],
        height=size[1],
        margin={"l": 8, "r": 8, "t": 30, "b": 8},
        font={"size": FONT_PX},
        legend={"font": {"size": FONT_PX}, "itemsizing": "constant", "tracegroupgap": 4},
        hoverlabel={"font": {"size": FONT_PX}},
        uirevision=uirevision,
        plot_bgcolor="white",
    )


def _legend_entry(fig: _Fig, name: str, colour: str, symbol: str = "square") -> None:
    """A legend entry alone (a trace with no point): for the colours of an image."""
    fig.add_trace(
        _trace(
            "scatter",
            x=[None],
            y=[None],
            mode="markers",
            marker={"color": colour, "symbol": symbol, "size": 11, "line": {"width": 0.5, "color": "#444"}},
            name=name,
            hoverinfo="skip",
        )
    )


def _facility_traces(fig: _Fig, marks: FacilityMarks, many: bool) -> None:
    """One trace per type (hover: name, type, capacity, visitors present), then the plan's added and removed."""
    styles = type_styles(marks.types)
    fill = marks.present / np.maximum(marks.capacity, 1)
    base, extra = (5, 4) if many else (9, 8)
    for t, (colour, symbol) in styles.items():
        rows = marks.kind == t
        if not rows.any():
            continue
        full = fill[rows] >= 1
        fig.add_trace(
            _trace(
                "scatter",
                x=marks.x[rows],
                y=marks.y[rows],
                mode="markers",
                name=t,
                marker={
                    "color": colour,
                    "symbol": symbol,
                    "size": base + extra * np.minimum(fill[rows], 1.5),
                    "line": {"color": np.where(full, SELECTED_COLOUR, "#222"), "width": np.where(full, 2.0, 0.6)},
                },
                customdata=np.stack([marks.name[rows], marks.capacity[rows], marks.present[rows]], axis=1),
                hovertemplate=(
                    f"<b>%{{customdata[0]}}</b><br>type: {t}<br>capacity: %{{customdata[1]}}<br>"
                    "visitors present: %{customdata[2]}<br>at (%{x}, %{y})<extra></extra>"
                ),
            )
        )
    for what, points, symbol, colour, size in (
        ("added on the page", marks.added, "circle-open", PLAN_COLOUR, 22),
        ("removed on the page", marks.removed, "x-thin-open", REMOVED_COLOUR, 16),
    ):
        fig.add_trace(
            _trace(
                "scatter",
                x=[p[1] for p in points] or [None],
                y=[p[2] for p in points] or [None],
                mode="markers",
                name=what,
                marker={"symbol": symbol, "color": colour, "size": size, "line": {"width": 3, "color": colour}},
                customdata=[p[0] for p in points] or [""],
                hovertemplate=f"%{{customdata}} {what}<br>at (%{{x}}, %{{y}})<extra></extra>",
            )
        )


def _resident_mix(cell: np.ndarray, classes: np.ndarray, k: int, n_nodes: int) -> np.ndarray:
    """Residents per node and class (n_nodes x k), counted from one reading of their positions."""
    return np.bincount(cell * k + classes, minlength=n_nodes * k).reshape(n_nodes, k)


def _resident_colours(counts: np.ndarray, colours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per node, the classes' colours mixed by their counts (RGB) and an opacity in [0, 0.85] growing with the count.

    The opacity is 0.2 + 0.65 x (count / the 95th percentile of the counts of occupied nodes), at most
    0.85 (the ground shows through): never above 1, whatever the counts.
    """
    total = counts.sum(axis=1)
    rgb = counts @ colours / np.maximum(total, 1)[:, None]
    scale = np.percentile(total[total > 0], 95) if (total > 0).any() else 1.0
    alpha = np.where(total > 0, np.clip(0.2 + 0.65 * total / scale, 0, 0.85), 0.0)
    return rgb, alpha


def _mix_text(counts: np.ndarray, labels: tuple[str, ...]) -> np.ndarray:
    """Per node, "N residents: a n1, b n2" (the classes present), or "no resident"."""
    return np.array(
        [
            f"{sum(row):,} residents: " + ", ".join(f"{labels[j]} {n:,}" for j, n in enumerate(row) if n)
            if any(row)
            else "no resident"
            for row in counts.tolist()
        ],
        dtype=object,
    )


def grid_map(
    walkable: np.ndarray,
    title: str,
    residents,
    marks: FacilityMarks,
    communities,
    minutes: np.ndarray | None = None,
    band_title: str = "",
    selected: tuple[int, int] | None = None,
    uirevision: str = "map",
    ranges: dict | None = None,
) -> go.Figure:
    """The map of a grid now: ground (or walking bands) under the residents' density, communities, facilities.

    Args:
        walkable: Whether each cell is walkable (rows x columns).
        title: The map's title.
        residents: A :class:`~model.report.drawing.live.ResidentLayer` (cell and class of each
            resident, from one reading of their positions).
        marks: The facilities and the plan's added and removed ones.
        communities: Each community's name and area (x, y, width, height in cells).
        minutes: Walking minutes of every cell to the banded type (rows x columns), or None.
        band_title: The legend's heading of the bands.
        selected: The cell (x, y) outlined in red, or None.
        uirevision: Kept the same while the user's zoom and pan are to be kept.
        ranges: The user's view, {"x": [left, right], "y": [bottom, top]} in the map's units (either
            may be missing), or None for the whole grid.

    Returns:
        The figure; a click on any cell names it (its x, y), a click on a facility names its cell.
    """
    height, width = walkable.shape
    ground = np.where(walkable[..., None], _hex_rgb(WALKABLE_COLOUR), _hex_rgb(BLOCKED_COLOUR))
    band = None
    if minutes is not None:
        palette = np.array([_hex_rgb(c) for c in (*BAND_COLOURS, UNREACHABLE_COLOUR)])
        band = band_index(minutes)
        ground = np.where(walkable[..., None], BAND_ALPHA * palette[band] + (1 - BAND_ALPHA) * ground, ground)
    colours = class_colours(residents.colour_by, len(residents.labels))
    counts = _resident_mix(residents.cell, residents.classes, len(residents.labels), width * height)
    rgb, alpha = _resident_colours(counts, colours)
    rgb = rgb.reshape(height, width, 3)
    alpha = alpha.reshape(height, width, 1)
    image = np.round(255 * (alpha * rgb + (1 - alpha) * ground)).astype(np.uint8)

    fig = _Fig()
    hover = "cell (%{x}, %{y})<extra></extra>"
    text = None
    if width * height <= HOVER_CELLS_MAX:
        text = _mix_text(counts, residents.labels).reshape(height, width)
        if minutes is not None:
            with np.errstate(invalid="ignore"):
                mins = np.where(np.isfinite(minutes), np.round(minutes).astype(str), "beyond reach")
            text = np.char.add(np.char.add(np.asarray(text, dtype=str), "<br>"), np.char.add(mins, " min walk"))
        text = np.where(walkable, text, "blocked")
        hover = "cell (%{x}, %{y})<br>%{text}<extra></extra>"
    fig.add_trace(_trace("image", z=image, x0=0, y0=0, dx=1, dy=1, text=text, hovertemplate=hover, name="cells"))
    _legend_entry(fig, "blocked", BLOCKED_COLOUR)
    if minutes is not None:
        for colour, label in zip(BAND_COLOURS, band_labels(), strict=True):
            _legend_entry(fig, f"walk {label}", colour)
    for j, label in enumerate(residents.labels):
        _legend_entry(fig, label, _rgba(colours[j]))
    xs, ys, names_x, names_y, names = [], [], [], [], []
    for name, (x, y, w, h) in communities:
        x0, y0, x1, y1 = x - 0.5, y - 0.5, x + w - 0.5, y + h - 0.5
        xs += [x0, x1, x1, x0, x0, None]
        ys += [y0, y0, y1, y1, y0, None]
        names_x.append(x0 + 0.2)
        names_y.append(y0 + 0.2)
        names.append(name)
    if len(names) > NAMED_COMMUNITIES_MAX:
        names_x, names_y, names = [], [], []
    if xs:
        fig.add_trace(
            _trace(
                "scatter",
                x=xs,
                y=ys,
                mode="lines",
                line={"color": "black", "width": 1, "dash": "dash"},
                name="communities",
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            _trace(
                "scatter",
                x=names_x,
                y=names_y,
                mode="text",
                text=names,
                textposition="bottom right",
                textfont={"size": FONT_PX - 1},
                showlegend=False,
                hoverinfo="skip",
            )
        )
    _facility_traces(fig, marks, many=marks.kind.size > 300)
    if selected is not None:
        sx, sy = selected
        fig.add_trace(
            _trace(
                "scatter",
                x=[sx - 0.5, sx + 0.5, sx + 0.5, sx - 0.5, sx - 0.5],
                y=[sy - 0.5, sy - 0.5, sy + 0.5, sy + 0.5, sy - 0.5],
                mode="lines",
                line={"color": SELECTED_COLOUR, "width": 2.5},
                name=f"chosen cell ({sx}, {sy})",
                hoverinfo="skip",
            )
        )
    _layout(fig, title, MAP_PX, uirevision)
    ranges = ranges or {}
    fig.update_xaxes(range=ranges.get("x", [-0.5, width - 0.5]), showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(
        range=ranges.get("y", [height - 0.5, -0.5]),
        showgrid=False,
        zeroline=False,
        scaleanchor="x",
        scaleratio=1,
        constrain="domain",
    )
    heading = "residents per cell (colours mixed)" if residents.per_cell is None else residents.title
    _map_legend(fig, band_title, heading)
    return fig.figure()


def _map_legend(fig: _Fig, band_title: str, residents_title: str) -> None:
    """The map's legend under it, in rows (the map keeps the figure's width), headed by what its colours mean."""
    lines = [f"walking bands: {band_title}" if band_title else "", residents_title.replace("\n", " "), FACILITY_SIZE]
    fig.update_layout(
        dragmode="pan",
        hovermode="closest",
        legend={
            "orientation": "h",
            "y": -0.01,
            "yanchor": "top",
            "x": 0,
            "entrywidth": 110,
            "entrywidthmode": "pixels",
            "title": {"text": "<br>".join(line for line in lines if line), "side": "top"},
        },
        margin={"l": 28, "r": 8, "t": 30, "b": 8},
    )


def street_map(
    streets,
    title: str,
    residents,
    marks: FacilityMarks,
    communities,
    band_title: str = "",
    selected: tuple[float, float] | None = None,
    joins: tuple[float, float] | None = None,
    uirevision: str = "map",
    ranges: dict | None = None,
) -> go.Figure:
    """The map of a street scenario now: ways (or walking bands along them), communities, residents, facilities.

    Args:
        streets: A :class:`~model.report.drawing.live.StreetLayer` (ways, node coordinates, bands).
        title: The map's title.
        residents: A :class:`~model.report.drawing.live.ResidentLayer` (each resident's node and class).
        marks: The facilities and the plan's added and removed ones.
        communities: Per community: its name, outline ((k, 2) metres) and where its name goes.
        band_title: The legend's heading of the bands.
        selected: The chosen point (metres), or None.
        joins: The street node the chosen point would join (metres), or None.
        uirevision: Kept the same while the user's zoom and pan are to be kept.
        ranges: The user's view (as :func:`grid_map`'s), or None for the whole network.

    Returns:
        The figure; a click anywhere names the point under it (to a cell of :data:`CLICK_GRID`), a
        click on a facility its own point.
    """
    xy = streets.node_xy_m
    (west, south), (east, north) = xy.min(axis=0), xy.max(axis=0)
    margin = 0.03 * max(east - west, north - south, 1.0)
    west, east, south, north = west - margin, east + margin, south - margin, north + margin
    fig = _Fig()
    step_x, step_y = (east - west) / CLICK_GRID, (north - south) / CLICK_GRID
    fig.add_trace(  # invisible: it makes every point of the extent clickable
        _trace(
            "heatmap",
            z=np.zeros((CLICK_GRID, CLICK_GRID), dtype=np.uint8),
            x=west + step_x * (np.arange(CLICK_GRID) + 0.5),
            y=south + step_y * (np.arange(CLICK_GRID) + 0.5),
            colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]],
            showscale=False,
            hovertemplate="(%{x:.0f}, %{y:.0f}) m<extra></extra>",
            name="points",
        )
    )

    def lines(segments: np.ndarray, colour: str, width: float, name: str) -> None:
        n = len(segments)
        x = np.full(3 * n, np.nan)
        y = np.full(3 * n, np.nan)
        if n:
            x[0::3], x[1::3] = segments[:, 0, 0], segments[:, 1, 0]
            y[0::3], y[1::3] = segments[:, 0, 1], segments[:, 1, 1]
        fig.add_trace(
            _trace(
                "scatter",
                x=x if n else [None],  # NaN between ways: gaps (sent as binary arrays, where NaN passes)
                y=y if n else [None],
                mode="lines",
                line={"color": colour, "width": width},
                name=name,
                hoverinfo="skip",
                connectgaps=False,
            )
        )

    lines(np.asarray(streets.ways), BAND_COLOURS[-1] if streets.bands else "#bdbdbd", 1.2, "ways")
    if streets.bands:
        for i, segments in enumerate(reversed(streets.bands)):  # the widest band first, under the narrower
            b = len(streets.bands) - 1 - i
            lines(np.asarray(segments), BAND_COLOURS[b], 3.0, f"walk {band_labels()[b]}")
    for name, outline, (cx, cy) in communities:
        fig.add_trace(
            _trace(
                "scatter",
                x=outline[:, 0],
                y=outline[:, 1],
                mode="lines",
                line={"color": "black", "width": 1, "dash": "dash"},
                name=name,
                legendgroup="communities",
                showlegend=False,
                hoverinfo="skip",
            )
        )
        if len(communities) <= NAMED_COMMUNITIES_MAX:
            fig.add_annotation(x=cx, y=cy, text=name, showarrow=False, font={"size": FONT_PX - 1})
    colours = class_colours(residents.colour_by, len(residents.labels))
    counts = _resident_mix(residents.cell, residents.classes, len(residents.labels), xy.shape[0])
    rgb, alpha = _resident_colours(counts, colours)
    at = np.flatnonzero(counts.sum(axis=1))
    total = counts.sum(axis=1)[at]
    scale = np.percentile(total, 95) if at.size else 1.0
    fig.add_trace(
        _trace(
            "scatter",
            x=xy[at, 0],
            y=xy[at, 1],
            mode="markers",
            marker={
                "color": _rgba(rgb[at], alpha[at]) if at.size else [],
                "size": 4 + 8 * np.minimum(total / scale, 1.5),
            },
            text=_mix_text(counts[at], residents.labels),
            hovertemplate="node at (%{x:.0f}, %{y:.0f}) m<br>%{text}<extra></extra>",
            name="residents at their node",
            legendgroup="residents",
            showlegend=False,
        )
    )
    for j, label in enumerate(residents.labels):
        _legend_entry(fig, label, _rgba(colours[j]), "circle")
    _facility_traces(fig, marks, many=marks.kind.size > 300)
    if selected is not None:
        sx, sy = selected
        fig.add_trace(
            _trace(
                "scatter",
                x=[sx] if joins is None else [sx, joins[0]],
                y=[sy] if joins is None else [sy, joins[1]],
                mode="lines+markers",
                marker={"symbol": "circle-open", "size": 14, "color": SELECTED_COLOUR, "line": {"width": 2.5}},
                line={"color": SELECTED_COLOUR, "width": 1.5, "dash": "dot"},
                name=f"chosen point ({sx:.0f}, {sy:.0f})",
                hoverinfo="skip",
            )
        )
    _layout(fig, title, MAP_PX, uirevision)
    ranges = ranges or {}
    fig.update_xaxes(
        range=ranges.get("x", [west, east]), showgrid=False, zeroline=False, constrain="domain", showticklabels=False
    )
    fig.update_yaxes(
        range=ranges.get("y", [south, north]),
        showgrid=False,
        zeroline=False,
        scaleanchor="x",
        scaleratio=1,
        showticklabels=False,
    )
    _map_legend(fig, band_title, residents.title)
    return fig.figure()


def _hhmm(hours: np.ndarray) -> list[str]:
    minutes = np.round(np.asarray(hours) * 60).astype(int)
    return [f"{m // 60:02d}:{m % 60:02d}" for m in minutes]


def occupancy_chart(
    hours: np.ndarray, lines, day_hours: tuple[float, float], title: str, types: tuple[str, ...]
) -> go.Figure:
    """Visitors present against each type's places through the day so far, one line per type.

    Args:
        hours: The hour of each tick of the day so far.
        lines: :class:`~model.report.drawing.live.OccupancyLine` per type (its places and % of them taken).
        day_hours: The day's first and last hour (the x axis).
        title: The chart's title.
        types: Every type in catalogue order (their colours).
    """
    styles = type_styles(types)
    fig = _Fig()
    clock = _hhmm(hours)
    for line in lines:
        colour, _ = styles[line.ftype]
        fig.add_trace(
            _trace(
                "scatter",
                x=hours,
                y=line.percent,
                mode="lines",
                name=line.ftype,
                line={"color": colour, "width": 2},
                customdata=clock,
                hovertemplate=f"{line.ftype}: %{{y:.0f}}% of {line.places:,} places at %{{customdata}}<extra></extra>",
            )
        )
    fig.add_hline(y=100, line={"dash": "dash", "color": "#444", "width": 1}, annotation_text="all places taken")
    _layout(fig, title, CHART_PX, "occupancy")
    ticks = np.arange(np.ceil(day_hours[0]), day_hours[1] + 0.01, 2)
    fig.update_xaxes(
        range=list(day_hours), tickvals=ticks, ticktext=_hhmm(ticks), title_text="time of day", showgrid=True
    )
    fig.update_yaxes(title_text="visitors, % of places", rangemode="tozero", gridcolor="#e5e5e5")
    fig.update_layout(hovermode="closest", legend={"title": {"text": "type"}})
    return fig.figure()


EXPOSURE_COLOURS = ("#fdae61", "#fee08b", "#abd9e9", "#2c7bb6")  # as the results folder's exposure chart


def exposure_chart(mixing: dict, title: str) -> go.Figure:
    """Relative exposure of each group to the others, where they live and where they go (1: as mixed as chance).

    The numbers of the results folder's exposure chart (``mixing_summary``'s relative exposure:
    docs/metrics.md): residential on blocks and communities (and within a 15-minute walk where
    computed) beside activity at facilities, one bar each per group.
    """
    residential = mixing["residential"]
    groups = list(
        dict.fromkeys([*residential["blocks"]["relative_exposure"], *mixing["activity"]["relative_exposure"]])
    )
    series = {
        (
            f"residential, blocks of {mixing['block_cells']} cells"
            if mixing.get("block_cells")
            else "residential, blocks"
        ): residential["blocks"]["relative_exposure"],
        "residential, communities": residential["communities"]["relative_exposure"],
    }
    if "catchment" in residential:
        series["residential, within a 15-minute walk"] = residential["catchment"]["relative_exposure"]
    series["activity (co-presence at facilities)"] = mixing["activity"]["relative_exposure"]
    colours = EXPOSURE_COLOURS[:2] + (EXPOSURE_COLOURS[2:] if len(series) == 4 else EXPOSURE_COLOURS[3:])
    fig = _Fig()
    for (label, values), colour in zip(series.items(), colours, strict=True):
        fig.add_trace(
            _trace(
                "bar",
                x=groups,
                y=_gaps([np.nan if values.get(g) is None else values[g] for g in groups]),
                name=label,
                marker_color=colour,
                hovertemplate=f"%{{x}}, {label}: %{{y:.2f}}<extra></extra>",
            )
        )
    fig.add_hline(y=1, line={"dash": "dash", "color": "#444", "width": 1}, annotation_text="as mixed as chance")
    _layout(fig, title, CHART_PX, "exposure")
    fig.update_yaxes(title_text="relative exposure", rangemode="tozero", gridcolor="#e5e5e5")
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.12, "yanchor": "top"})
    return fig.figure()


def coverage_chart(table, age_bands: list[str], levels: dict[str, float], title: str) -> go.Figure:
    """Share of each type's users within its level, per age band: a table of colours (hover: the users behind it).

    One column per type (its level in minutes under its name), one row per age band; a band with
    no user of the type is left blank.

    Args:
        table: ``measures.access.coverage_table``: type, age_band, users, within_level.
        age_bands: The scenario's age bands, youngest first.
        levels: Per type, its level in minutes.
        title: The chart's title.
    """
    types = list(dict.fromkeys(table["type"]))
    share = table.pivot(index="age_band", columns="type", values="within_level").reindex(index=age_bands, columns=types)
    users = table.pivot(index="age_band", columns="type", values="users").reindex(index=age_bands, columns=types)
    users = users.fillna(0).astype(int)
    z = share.to_numpy(dtype=float, copy=True)
    z[users.to_numpy() == 0] = np.nan
    fig = _Fig()
    fig.add_trace(
        _trace(
            "heatmap",
            z=_gaps(z),
            x=[f"{t} ({levels[t]:g})" for t in types],
            y=[f"age {b}" for b in age_bands],
            zmin=0,
            zmax=1,
            colorscale="Viridis",
            customdata=users.to_numpy(),
            colorbar={"tickformat": ".0%", "thickness": 10, "len": 0.9, "title": {"text": "within"}},
            hovertemplate="%{x} min, %{y}: %{z:.0%} of %{customdata:,} users within<extra></extra>",
            xgap=1,
            ygap=1,
        )
    )
    _layout(fig, title, CHART_PX, "coverage")
    fig.update_xaxes(tickangle=-40, showgrid=False)
    fig.update_yaxes(showgrid=False, autorange="reversed")
    fig.update_layout(plot_bgcolor="#f0f0f0")
    return fig.figure()


__all__ = [
    "serial",
    "FacilityMarks",
    "coverage_chart",
    "exposure_chart",
    "grid_map",
    "occupancy_chart",
    "street_map",
]
