"""The browser page's figures: the numbers of the map and the live charts, read from the model.

This module reads the model (walkable grid, walking fields, where the residents are, the
facilities' occupancy, the DataCollector's rows) into the layers of
:mod:`model.report.drawing.live` and hands them to :mod:`.plots`, which builds the plotly figures.

On a street scenario the map is drawn along the streets: the pieces of ways within each walking
band are :func:`model.report.bands.reached_segments` of the type's walking field (as
``lifecircle run``'s street maps), residents stand at their node of the walking surface,
communities are the hull of their homes, and a click names a point in metres.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from dataclasses import dataclass

import numpy as np
import shapely

from model.measures.access import BANDS_MIN
from model.measures.summary import mixing_summary
from model.report.bands import covered_metres, reached_segments
from model.report.drawing.live import OccupancyLine, ResidentLayer, StreetLayer
from model.simulation.rules import State
from model.web import plots
from model.web.state import clock_text, coverage_table_of, street_join, users_paces

__all__ = [
    "MapView",
    "community_outlines",
    "coverage_figure",
    "drawn",
    "exposure_figure",
    "exposure_refresh_ticks",
    "map_figure",
    "occupancy_figure",
    "reading",
    "street_layer",
]

DOTS_MAX = 6_000  # above this many residents the map draws density per cell, not dots
TRACE_MAX = 100_000  # above this many, only residents at home are placed (see _residents)
# The exposure chart recomputes the mixing figures of the run so far (0.004 s of CPU at 40,000 residents,
# 0.06 s at 530,000, besides 0.1 s of drawing); the activity part moves slowly, so bigger
# populations redraw it every few ticks: (up to this many residents, every this many ticks)
EXPOSURE_REFRESH = ((10_000, 1), (100_000, 5))
EXPOSURE_REFRESH_CITY_TICKS = 15
_LOG = logging.getLogger(__name__)
COMMUNITY_PAD_M = 25.0  # a street community's outline: the hull of its homes widened so (as its GeoJSON's)


@dataclass(frozen=True)
class _Fixed:
    """What the figures read from a model that stays the same while it runs (kept per model, not redrawn).

    Attributes:
        paces: Per type present, the median own pace of its users (:func:`users_paces`).
        kind, name, x, y, capacity: The facility table's columns.
        places: Per type present, the sum of its facilities' capacities (at least 1).
    """

    paces: dict[str, float]
    kind: np.ndarray
    name: np.ndarray
    x: np.ndarray
    y: np.ndarray
    capacity: np.ndarray
    places: dict[str, int]


_FIXED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _fixed(model) -> _Fixed:
    """The model's :class:`_Fixed` (a re-planned page builds a new model, with its own)."""
    if model not in _FIXED:
        fac = model.city.facilities
        kind, capacity = fac["type"].to_numpy(), fac["capacity"].to_numpy()
        _FIXED[model] = _Fixed(
            paces=users_paces(model),
            kind=kind,
            name=fac["name"].to_numpy(),
            x=fac["x"].to_numpy(),
            y=fac["y"].to_numpy(),
            capacity=capacity,
            places={t: max(int(capacity[kind == t].sum()), 1) for t in model.city.types},
        )
    return _FIXED[model]


def reading(model):
    """The model's lock while a figure reads it (the page's model: a step holds it too), else nothing.

    With Mesa's "Use Threads" the page's model steps in one thread while the page draws it in
    another; a figure reads the numbers it draws under the lock, so that they are all of one
    step (a step appends a row to each of the DataCollector's columns, moves walkers, changes the
    occupancy), then draws them without it, so that stepping does not wait for matplotlib.
    """
    lock = getattr(model, "lock", None)  # the page's model has one; a plain LifeCircleModel (the warm-up) not
    return contextlib.nullcontext() if lock is None else lock


def drawn(what: str, draw, *args):
    """``draw(*args)`` and no message, or None and a message for the page if drawing failed.

    A figure that fails to draw must not replace the page with a traceback (Solara's response to a
    component that raises, which leaves the tab dead): the page says which figure failed and why
    in its place, the server's log has the traceback, and the next step draws it again.
    """
    try:
        return draw(*args), ""
    except Exception as exc:  # any error: the page stays alive and says so
        _LOG.exception("the %s could not be drawn", what)
        return None, f"The {what} could not be drawn ({type(exc).__name__}: {exc}); the next step draws it again."


@dataclass(frozen=True)
class MapView:
    """What the map shows besides the model's state.

    Attributes:
        colour_by: Residents coloured by "group" or by "age" band.
        band_type: The facility type whose 5/10/15-minute bands are drawn, or None.
        selected: The cell (x, y) chosen for re-planning (on streets: the point, metres), or None.
    """

    colour_by: str = "group"
    band_type: str | None = None
    selected: tuple[int, int] | tuple[float, float] | None = None


def resident_classes(model, colour_by: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Each resident's class, its group or its age band (bands ordered by their lower age), and the labels."""
    res = model.built.residents
    if colour_by == "age":
        bands = list(model.spec.ages)
        lows = np.array([b.lo for b in bands])
        order = np.argsort(lows)
        cls = order[np.searchsorted(lows[order], res.age, side="right") - 1]
        return cls, tuple(f"age {b}" for b in bands)
    return res.group, tuple(res.group_names)


def _residents(model, colour_by: str) -> ResidentLayer:
    """Residents where they are now: dots, or density per cell in large populations.

    Up to :data:`TRACE_MAX` residents every one is placed where it is (walkers on their paths:
    ``model.positions()``, called once: the residents per cell of the density are counted from the
    same cells as its mix of colours, which must add up to them). Above it
    only residents at home are placed: tracing every walk costs the fast engine seconds per tick
    at city scale (one shortest-path tree per walk's destination), and residents out are in the
    facilities' markers anyway.
    """
    cls, labels = resident_classes(model, colour_by)
    n = cls.size
    n_nodes = model.surface.n_nodes  # on a grid, its cells
    per = "node" if model.spec.streets is not None else "cell"
    if n > TRACE_MAX:
        states = model.resident_states()
        home = states == State.HOME
        cell, cls = model.built.residents.node[home], cls[home]
        per_cell = np.bincount(cell, minlength=n_nodes)
        out = {s.name.lower(): int((states == s).sum()) for s in (State.WALKING, State.WAITING, State.VISITING)}
        if model.population.household is not None:  # carers at a child's facility
            out["escorting"] = int((states == State.ESCORTING).sum())
        title = f"residents at home\n(density per {per}); out:\n" + ",\n".join(f"{v:,} {k}" for k, v in out.items())
    elif n > DOTS_MAX:
        cell = model.positions()
        per_cell = np.bincount(cell, minlength=n_nodes)
        title = f"residents (density per {per})"
    else:
        cell, per_cell, title = model.positions(), None, "residents (dots)"
    return ResidentLayer(title, labels, colour_by, np.asarray(cell), np.asarray(cls), per_cell)


def street_layer(model, band_type: str | None) -> tuple[StreetLayer, str]:
    """The ways of a street scenario and the pieces of them within each band of ``band_type``; the bands' heading.

    A way whose ends lie d_u and d_v metres from the nearest facility of the type is reached
    ``max(0, B - d_u)`` metres from one end and ``max(0, B - d_v)`` from the other within a walk
    of B metres (:mod:`model.report.bands`), B the band's minutes at the median own pace of the
    type's users. No type, or a type the plan removed (no field): the ways alone.
    """
    city = model.city
    u, v = city.edges["u"].to_numpy(), city.edges["v"].to_numpy()
    length = city.edges["length_m"].to_numpy()
    xy = city.surface.node_xy_m
    ways = np.stack([xy[u], xy[v]], axis=1)
    field = model.built.fields_m.get(band_type) if band_type else None
    if field is None:
        return StreetLayer(ways, xy), ""
    pace = _fixed(model).paces[band_type]
    budgets = [minutes * pace for minutes in BANDS_MIN]
    bands = tuple(reached_segments(xy[u], xy[v], field[u], field[v], length, b) for b in budgets)
    km = tuple(float(covered_metres(field[u], field[v], length, b).sum()) / 1000 for b in budgets)
    return StreetLayer(ways, xy, bands, km), f"{band_type} at {pace:.0f} m/min:"


def community_outlines(model) -> list[tuple[str, np.ndarray, tuple[float, float]]]:
    """Per community with homes on a street scenario: its name, outline and where its name goes.

    The outline is the convex hull of its homes widened by ``COMMUNITY_PAD_M`` ((k, 2) metres, a
    drawing aid, not an area of the model); the name goes at its homes' mean.
    """
    homes = model.city.homes
    xy = homes[["x", "y"]].to_numpy(dtype=float)
    community = homes["community"].to_numpy()
    outlines = []
    for ci, com in enumerate(model.spec.communities):
        mine = xy[community == ci]
        if mine.size:
            hull = shapely.convex_hull(shapely.MultiPoint(mine)).buffer(COMMUNITY_PAD_M)
            centre = mine.mean(axis=0)
            outlines.append((com.name, shapely.get_coordinates(hull.exterior), (float(centre[0]), float(centre[1]))))
    return outlines


def exposure_refresh_ticks(n_residents: int) -> int:
    """How many ticks apart the exposure chart is redrawn (its figures cost more in big populations)."""
    return next((ticks for most, ticks in EXPOSURE_REFRESH if n_residents <= most), EXPOSURE_REFRESH_CITY_TICKS)


# --------------------------------------------------------------------------- the interactive figures (plotly)


def _marks(model) -> plots.FacilityMarks:
    """Every facility with its visitors present now, and the page's plan (added and removed)."""
    fixed = _fixed(model)
    present = model.engine.occupancy_by_group().sum(axis=1)
    plan = getattr(model, "plan", None)  # the page's model has one
    return plots.FacilityMarks(
        types=tuple(model.city.types),
        kind=fixed.kind,
        name=fixed.name,
        x=fixed.x,
        y=fixed.y,
        capacity=fixed.capacity,
        present=np.asarray(present),
        added=tuple(plan.added) if plan is not None else (),
        removed=tuple(plan.removed) if plan is not None else (),
    )


def map_figure(model, view: MapView, ranges: dict | None = None):
    """The interactive map now (:mod:`.plots`), as a plotly figure.

    The residents' positions are read once (:func:`_residents`), and every layer that shows them
    (the colours, the density and the hover's counts) is derived from that one reading. The zoom and
    pan survive the redraw of each step: ``ranges`` is the view the user left (:func:`.plots.grid_map`).
    """
    city, scenario = model.city, model.spec
    revision = str(scenario.path or scenario.name)
    if scenario.streets is not None:
        streets, band_title = street_layer(model, view.band_type)
        joins = None
        if view.selected is not None:
            node, _ = street_join(scenario, *view.selected)
            joins = tuple(float(c) for c in scenario.streets.node_xy_m[node])
        with reading(model):
            title = f"{scenario.name}, {clock_text(model)}; {city.n_street:,} street nodes, {len(city.edges):,} ways"
            residents, marks = _residents(model, view.colour_by), _marks(model)
        return plots.street_map(
            streets,
            title,
            residents,
            marks,
            community_outlines(model),
            band_title=band_title,
            selected=view.selected,
            joins=joins,
            uirevision=revision,
            ranges=ranges,
        )
    field = model.built.fields_m.get(view.band_type) if view.band_type else None
    minutes, band_title = None, ""
    if field is not None:  # a type the plan removed has no field: no bands
        pace = _fixed(model).paces[view.band_type]
        minutes = (field / pace).reshape(city.height, city.width)
        band_title = f"{view.band_type} at {pace:.0f} m/min"
    with reading(model):
        title = f"{scenario.name}, {clock_text(model)}; cells of {city.cell_m:g} m, {city.width} x {city.height}"
        residents, marks = _residents(model, view.colour_by), _marks(model)
    return plots.grid_map(
        city.walkable,
        title,
        residents,
        marks,
        [(com.name, tuple(com.area)) for com in scenario.communities],
        minutes=minutes,
        band_title=band_title,
        selected=view.selected,
        uirevision=revision,
        ranges=ranges,
    )


def occupancy_figure(model):
    """Visitors present through the current day against each type's places, as an interactive chart."""
    data = model.datacollector.model_vars
    with reading(model):  # the columns of the same rows (a step appends one to each)
        day = np.asarray(data["day"])
        minute = np.asarray(data["minute"], dtype=float)
        occupancy = {t: np.asarray(data[f"occupancy_{t}"], dtype=float) for t in model.city.types}
        title = f"Occupancy against places, {clock_text(model)}"
    today = day == day[-1]
    sim = model.spec.simulation
    places_of = _fixed(model).places
    lines = [OccupancyLine(t, places_of[t], 100 * occupancy[t][today] / places_of[t]) for t in model.city.types]
    day_hours = (sim.day_start_min / 60, sim.day_end_min / 60)
    return plots.occupancy_chart(minute[today] / 60, lines, day_hours, title, tuple(model.city.types))


def exposure_figure(model):
    """Residential against activity exposure by group so far, as an interactive chart."""
    with reading(model):
        mixing, title = mixing_summary(model.context), f"Exposure to other groups, {clock_text(model)}"
    return plots.exposure_chart(mixing, title)


def coverage_figure(model):
    """Coverage by type and age band, as an interactive chart (changes with the plan, not with the clock)."""
    levels = {t: model.spec.types[t].level_min for t in model.spec.types}
    title = "Users within each type's level (minutes), by age"
    return plots.coverage_chart(coverage_table_of(model), [str(b) for b in model.spec.ages], levels, title)
