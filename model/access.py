"""Walking access: the shortest walk from every cell to the nearest facility of each type.

Definition (../shared/METRICS.md, "Walking access"): residents walk on walkable cells with
8-neighbour moves (orthogonal step = cell_m, diagonal = cell_m * sqrt(2), no cutting corners).
A resident's access time to a type is the shortest walking distance from home to the nearest
facility of that type divided by the resident's own walking speed. Unreachable is infinite.

One multi-source Dijkstra search per facility type (scipy.sparse.csgraph) gives the distance
field of that type over the whole grid; residents read their home cell from it.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csgraph

from model.city import City


def distance_field(city: City, sources: np.ndarray, limit_m: float = np.inf) -> np.ndarray:
    """Metres from every cell to the nearest of ``sources`` (inf where unreachable or beyond ``limit_m``)."""
    sources = np.unique(np.asarray(sources, dtype=np.int64))
    if sources.size == 0:
        return np.full(city.n_cells, np.inf)
    return csgraph.dijkstra(city.graph, directed=False, indices=sources, min_only=True, limit=limit_m)


def type_fields(city: City) -> dict[str, np.ndarray]:
    """Distance field (metres, one value per cell) of every facility type present."""
    return {t: distance_field(city, city.facility_cells(t)) for t in city.types}


def access_minutes(fields: dict[str, np.ndarray], home_cell: np.ndarray, m_per_min: np.ndarray) -> dict[str, np.ndarray]:
    """Each resident's walking minutes to the nearest facility of each type (inf if unreachable)."""
    return {t: field[home_cell] / m_per_min for t, field in fields.items()}


def access_summary(
    minutes: dict[str, np.ndarray], needs: dict[str, np.ndarray], levels: dict[str, float]
) -> tuple[dict, float | None]:
    """The "access" block of summary.json (definitions in ../shared/METRICS.md).

    Args:
        minutes: Per type, every resident's access minutes (inf if unreachable).
        needs: Per type, a bool array: which residents need the type (its users).
        levels: Per type, its life-circle level in minutes.

    Returns:
        ``({type: {...}}, life_circle_complete)``: the "access" block, where each type has users,
        mean_min, p90_min, max_min (over reachable users; None if none), unreachable and
        within_5/10/15 (shares of users). p90 is numpy's default (linear) percentile.
        life_circle_complete is the share of all residents who reach every type present that
        they need within its level (a resident needing none counts as complete).
    """
    types = {}
    complete = None
    for t, mins in minutes.items():
        users = mins[needs[t]]
        reach = users[np.isfinite(users)]
        n = int(users.size)
        types[t] = {
            "users": n,
            "mean_min": float(reach.mean()) if reach.size else None,
            "p90_min": float(np.percentile(reach, 90)) if reach.size else None,
            "max_min": float(reach.max()) if reach.size else None,
            "unreachable": int(n - reach.size),
            **{f"within_{k}": (float((users <= k).sum() / n) if n else None) for k in (5, 10, 15)},
        }
        ok = ~needs[t] | (mins <= levels[t])
        complete = ok if complete is None else complete & ok
    share = float(complete.mean()) if complete is not None and complete.size else None
    return types, share
