"""What happened at each site of a type, in scenarios that place it differently.

Coverage counts who could walk to a facility; a simulation shows what the facility then met:
visits, crowding, people turned away, and demand left unmet around it. :func:`site_table`
gives one row per facility of a type in each scenario, with its status against the first
scenario (``kept``: the same cell, on streets the same point, holds a facility of the type in the
first scenario; ``new``: it does not; ``closed``: a site of the first scenario that the scenario no longer has, with no
figures), so that a planner sees whether new sites fill up, whether old ones are relieved, and
whether closing sites crowds the ones that stay.

Each site's *catchment* is the set of the type's users whose nearest facility of the type (by
walking distance from home) is that site; ``unmet_visits`` are the wanted visits of the type
that these users could not make (turned away everywhere, or nothing reachable within the
cut-off), so unmet demand is placed where it arises. Where two sites are equally near a home,
one of them (scipy's choice) takes it.
"""

from __future__ import annotations

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
    base = {
        (float(x), float(y))
        for x, y in first.city.facilities.loc[first.city.facilities["type"] == ftype, ["x", "y"]].to_numpy()
    }
    for model in models:
        figures = site_figures(model, ftype)
        here = {(float(x), float(y)) for x, y in zip(figures["x"].tolist(), figures["y"].tolist(), strict=True)}
        figures.insert(
            0,
            "status",
            [
                "kept" if (float(x), float(y)) in base else "new"
                for x, y in zip(figures["x"], figures["y"], strict=True)
            ],
        )
        figures.insert(0, "scenario", model.spec.name)
        parts.append(figures)
        if model is not first:
            gone = first.city.facilities[
                (first.city.facilities["type"] == ftype)
                & np.array(
                    [(float(x), float(y)) not in here for x, y in first.city.facilities[["x", "y"]].to_numpy()],
                    dtype=bool,
                )
            ]
            if len(gone):
                closed = gone[["id", "name", "x", "y", "capacity"]].assign(scenario=model.spec.name, status="closed")
                parts.append(closed)
    frame = pd.concat(parts, ignore_index=True)
    return frame.reindex(columns=COLUMNS)


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
