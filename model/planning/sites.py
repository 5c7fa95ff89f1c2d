"""What happened at each site of a type, in scenarios that place it differently.

Coverage counts who could walk to a facility; a simulation shows what the facility then met:
visits, crowding, people turned away, and demand left unmet around it. :func:`site_table`
gives one row per facility of a type in each scenario, with its status against the first
scenario (``kept``: the same cell, on streets the same point, holds a facility of the type in the
first scenario; ``moved``: it does not, but a site of the first scenario with the same ``name``
(given in the scenario, not the automatic "<type> <n>") stood elsewhere (``from_x``,
``from_y``) and stands there no longer; ``new``: neither; ``closed``: a site of the first scenario
that the scenario no longer has, anywhere, with no figures), so that a planner sees whether new
sites fill up, whether old ones are relieved, and whether closing sites crowds the ones that stay.

Each site's *catchment* is the set of the type's users whose nearest facility of the type (by
walking distance from home) is that site; ``unmet_visits`` are the wanted visits of the type
that these users could not make (turned away everywhere, or nothing reachable within the
cut-off), so unmet demand is placed where it arises. Where two sites are equally near a home,
one of them (scipy's choice) takes it.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from model.measures.access import needs_by_type

COLUMNS = [
    "scenario",
    "status",
    "id",
    "name",
    "x",
    "y",
    "capacity",
    "visits",
    "turned_away",
    "peak_occupancy",
    "peak_ratio",
    "catchment_users",
    "unmet_visits",
    "from_x",
    "from_y",
]


def site_figures(model, ftype: str) -> pd.DataFrame:
    """One row per facility of ``ftype`` of a finished run: its totals and its catchment.

    Columns: id, name, x, y, capacity, visits, turned_away, peak_occupancy, peak_ratio (peak
    visitors present at once / capacity), catchment_users, unmet_visits.
    """
    city, res = model.city, model.built.residents
    table = city.facilities[["id", "name", "x", "y", "capacity", "node"]].copy()
    for key, values in model.facility_totals().items():
        table[key] = values
    table = table[city.facilities["type"].to_numpy() == ftype].reset_index(drop=True)
    table["peak_ratio"] = table["peak_occupancy"] / table["capacity"]
    users = needs_by_type(res.age, model.types).get(ftype, np.zeros(len(res), dtype=bool))
    _, nearest_cell = model.surface.nearest_source(table["node"].to_numpy())
    home_site = nearest_cell[res.node]
    # the first facility standing in a cell takes the cell's catchment
    first_row = pd.Series(table.index, index=table["node"]).groupby(level=0).first()
    reached = users & (home_site >= 0)
    rows = first_row.reindex(home_site[reached]).to_numpy()
    types = list(city.types)
    unmet = model.unmet_counts()[:, types.index(ftype)] if ftype in types else np.zeros(len(res), dtype=np.int64)
    table["catchment_users"] = np.bincount(rows, minlength=len(table))
    table["unmet_visits"] = np.bincount(rows, weights=unmet[reached], minlength=len(table)).astype(np.int64)
    return table.drop(columns="node")


def site_table(models: list, ftype: str) -> pd.DataFrame:
    """Every site of ``ftype`` in every scenario, with its status against the first scenario (module docstring)."""
    parts = []
    first = models[0]
    base = first.city.facilities[first.city.facilities["type"] == ftype]
    base_at = {_place(x, y): name for x, y, name in zip(base["x"], base["y"], base["name"], strict=True)}
    for model in models:
        figures = site_figures(model, ftype)
        here = {_place(x, y) for x, y in zip(figures["x"], figures["y"], strict=True)}
        # a named site of the first scenario that stands elsewhere here and nowhere at its old place
        moved_from = {name: place for place, name in base_at.items() if _named(name, ftype) and place not in here}
        status, from_x, from_y = [], [], []
        for x, y, name in zip(figures["x"], figures["y"], figures["name"], strict=True):
            old = moved_from.get(name) if _place(x, y) not in base_at and _named(name, ftype) else None
            status.append("kept" if _place(x, y) in base_at else "moved" if old else "new")
            from_x.append(old[0] if old else np.nan)
            from_y.append(old[1] if old else np.nan)
        figures.insert(0, "status", status)
        figures.insert(0, "scenario", model.spec.name)
        figures["from_x"], figures["from_y"] = from_x, from_y
        parts.append(figures)
        if model is not first:
            moved = {(fx, fy) for fx, fy, st in zip(from_x, from_y, status, strict=True) if st == "moved"}
            gone = base[[_place(x, y) not in here and _place(x, y) not in moved for x, y in zip(base["x"], base["y"])]]
            if len(gone):
                closed = gone[["id", "name", "x", "y", "capacity"]].assign(scenario=model.spec.name, status="closed")
                parts.append(closed)
    frame = pd.concat(parts, ignore_index=True)
    return frame.reindex(columns=COLUMNS)


def _place(x, y) -> tuple[float, float]:
    return float(x), float(y)


def _named(name, ftype: str) -> bool:
    """Whether the scenario named the site: a name, and not the automatic "<type> <n>" (model/scenario/sites.py)."""
    return isinstance(name, str) and bool(name.strip()) and re.fullmatch(rf"{re.escape(ftype)} \d+", name) is None


def site_label(ftype: str, name, x, y) -> str:
    """How the report names a site: its ``name``, or without one its type and place (cell, or metres on streets)."""
    return name if _named(name, ftype) else f"{ftype} at ({float(x):g}, {float(y):g})"


def site_summary(sites: pd.DataFrame) -> pd.DataFrame:
    """Totals of :func:`site_table` by scenario and status (sites, places, visits, turned away, unmet, peak ratio)."""
    return (
        sites.groupby(["scenario", "status"], sort=False)
        .agg(
            sites=("id", "size"),
            capacity=("capacity", "sum"),
            visits=("visits", "sum"),
            turned_away=("turned_away", "sum"),
            unmet_visits=("unmet_visits", "sum"),
            max_peak_ratio=("peak_ratio", "max"),
        )
        .reset_index()
    )
