"""summary.json: every figure of a finished run, assembled from the measures of this package.

Each figure is computed by one function of ``access``, ``usage``, ``segregation`` or
``activity`` (definitions in docs/metrics.md); this module only gathers their inputs from a
finished model and puts the results in place.
"""

from __future__ import annotations

import math

from model.measures import activity, segregation, usage
from model.measures.access import access_summary, needs_by_type


def static_summary(model) -> dict:
    """The part of summary.json fixed before anyone moves: scenario, seed, residents, access."""
    built = model.built
    levels = {t: model.scenario.types[t].level_min for t in built.minutes}
    access, complete = access_summary(built.minutes, needs_by_type(built.residents.age, model.types), levels)
    return {
        "scenario": model.scenario.name,
        "seed": model.seed,
        "residents": len(built.residents),
        "access": access,
        "life_circle_complete": complete,
    }


def summarise(model) -> dict:
    """summary.json of a finished :class:`model.model.LifeCircleModel`: access, usage and mixing."""
    res = model.built.residents
    summary = static_summary(model)
    summary["engine"] = model.engine_name
    summary["days"] = model.days
    visits = model.visit_log.columns()
    totals = model.facility_totals()
    fac = model.city.facilities
    summary["usage"] = usage.facility_usage(
        visit_type=visits["type"],
        walk_min=visits["walk_min"],
        facility_type=fac["type"].map(model.type_index).to_numpy(),
        turned_away=totals["turned_away"],
        peak_occupancy=totals["peak_occupancy"],
        capacity=fac["capacity"].to_numpy(),
        unmet=model.unmet_counts().sum(axis=0),
        type_names=model.city.types,
        days=model.days,
    )
    bc = block_cells(model)
    groups = res.group_names
    _, by_block = segregation.count_table(segregation.block_keys(res.x, res.y, bc), res.group, len(groups))
    _, by_community = segregation.count_table(res.community, res.group, len(groups))
    summary["mixing"] = {
        "block_cells": bc,
        "residential": {
            "blocks": segregation.residential_mixing(by_block, groups),
            "communities": segregation.residential_mixing(by_community, groups),
        },
        "activity": activity.activity_mixing(
            visits["resident"],
            visits["facility"],
            visits["arrive_min"],
            visits["leave_min"],
            res.group,
            groups,
            len(res),
            model.days,
        ),
    }
    return summary


# The parts of the summary that the simulated days change; everything else (the run's identity,
# access, residential mixing) is fixed once the city and its residents are built.
RUN_DEPENDENT = ("usage.", "mixing.activity.")


def fixed_before_the_run(flat: dict) -> dict:
    """The entries of a flattened summary that do not depend on the simulated days."""
    return {key: value for key, value in flat.items() if not key.startswith(RUN_DEPENDENT)}


def flatten(summary: dict, prefix: str = "") -> dict:
    """Every scalar of a summary by its dotted path: ``{"access.park.within_15": 0.93, ...}``.

    NaN and infinite numbers become None, as in summary.json.
    """
    out = {}
    for key, value in summary.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{path}."))
        elif isinstance(value, float) and not math.isfinite(value):
            out[path] = None
        else:
            out[path] = value
    return out


def block_cells(model) -> int:
    """Cells per side of the model's residential blocks (``simulation.block_m`` over ``cell_m``)."""
    return segregation.block_cells_of(model.scenario.grid.cell_m, model.scenario.simulation.block_m)
