"""Walking access: the shortest walk from every cell to the nearest facility of each type.

Definition (../shared/METRICS.md, "Walking access"): residents walk on walkable cells with
8-neighbour moves (orthogonal step = cell_m, diagonal = cell_m * sqrt(2), no cutting corners).
A resident's access time to a type is the shortest walking distance from home to the nearest
facility of that type divided by the resident's own walking speed. Unreachable is infinite.

One multi-source Dijkstra search per facility type (scipy.sparse.csgraph) gives the distance
field of that type over the whole grid; residents read their home cell from it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csgraph

from model.choice import candidate_table
from model.city import City
from model.gridsearch import bounded_distances


def distance_field(city: City, sources: np.ndarray, limit_m: float = np.inf) -> np.ndarray:
    """Metres from every cell to the nearest of ``sources`` (inf where unreachable or beyond ``limit_m``)."""
    sources = np.unique(np.asarray(sources, dtype=np.int64))
    if sources.size == 0:
        return np.full(city.n_cells, np.inf)
    return csgraph.dijkstra(city.graph, directed=False, indices=sources, min_only=True, limit=limit_m)


def type_fields(city: City) -> dict[str, np.ndarray]:
    """Distance field (metres, one value per cell) of every facility type present."""
    return {t: distance_field(city, city.facility_cells(t)) for t in city.types}


def access_minutes(
    fields: dict[str, np.ndarray], home_cell: np.ndarray, m_per_min: np.ndarray
) -> dict[str, np.ndarray]:
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


@dataclass(frozen=True, eq=False)
class Reach:
    """Walking distances from origin cells to every facility within a limit, for destination choice.

    Entries are grouped by (origin, facility type), so the candidates of one origin and type are
    one slice (in no particular order: the choice rules do not depend on it).

    Attributes:
        origins: The origin cells (unique, sorted).
        n_types: Number of facility types (type index = position in ``City.types``).
        indptr: Offsets; group (o, t) is ``indptr[o * n_types + t] : indptr[o * n_types + t + 1]``.
        facility: Facility id of each entry.
        metres: Walking distance of each entry.
    """

    origins: np.ndarray
    n_types: int
    indptr: np.ndarray
    facility: np.ndarray
    metres: np.ndarray

    def origin_index(self, cells: np.ndarray) -> np.ndarray:
        """Row of each cell in ``origins`` (cells must be origins)."""
        return np.searchsorted(self.origins, cells)

    def candidates(self, origin: int, type_index: int) -> tuple[np.ndarray, np.ndarray]:
        """Facility ids and metres of one origin and type."""
        k = origin * self.n_types + type_index
        sl = slice(self.indptr[k], self.indptr[k + 1])
        return self.facility[sl], self.metres[sl]


def facility_reach(city: City, origins: np.ndarray, limit_m: float) -> Reach:
    """Distances from each origin cell to every facility within ``limit_m`` metres.

    One bounded search per distinct facility cell (walking is symmetric, so the distance from a
    facility is the distance to it), with the grid kernel of model/gridsearch.py.
    """
    origins = np.unique(np.asarray(origins, dtype=np.int64))
    fac = city.facilities
    type_index = {t: i for i, t in enumerate(city.types)}
    fac_type = fac["type"].map(type_index).to_numpy(dtype=np.int64)
    cells, fac_cell_idx = np.unique(fac["cell"].to_numpy(), return_inverse=True)
    cell_idx, origin, metres = bounded_distances(city.walkable, city.cell_m, cells, origins, limit_m)
    by_cell = np.argsort(fac_cell_idx, kind="stable")
    cell_indptr = np.concatenate([[0], np.cumsum(np.bincount(fac_cell_idx, minlength=cells.size))])
    indptr, facility, metres = candidate_table(
        cell_idx, origin, metres, cell_indptr, by_cell, fac_type, len(city.types), origins.size
    )
    return Reach(origins, len(city.types), indptr, facility, metres)


class PathTrees:
    """Shortest walking paths between cells, from cached Dijkstra trees (scipy.sparse.csgraph).

    A tree rooted at a cell gives the path from every cell to it; read backwards, the path from
    it. Residents walk between home and facilities, so trees rooted at facility cells serve both
    ways. At most ``max_trees`` trees are kept (least recently used first out): a tree holds two
    numbers per grid cell.
    """

    def __init__(self, city: City, max_trees: int = 512):
        """Start with no trees; each is computed the first time a path to or from its cell needs it."""
        self.city = city
        self.max_trees = max_trees
        self._trees: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def _tree(self, root: int) -> tuple[np.ndarray, np.ndarray]:
        if root in self._trees:
            self._trees.move_to_end(root)
        else:
            dist, pred = csgraph.dijkstra(self.city.graph, directed=False, indices=root, return_predecessors=True)
            self._trees[root] = (dist, pred)
            if len(self._trees) > self.max_trees:
                self._trees.popitem(last=False)
        return self._trees[root]

    def metres(self, source: int, target: int) -> float:
        """Shortest walking distance between two cells."""
        root, other = (source, target) if source in self._trees else (target, source)
        return float(self._tree(root)[0][other])

    def path(self, source: int, target: int) -> tuple[list[int], np.ndarray]:
        """Cells from ``source`` to ``target`` (both included) and the metres walked at each."""
        if target not in self._trees and source in self._trees:
            cells, along = self._path_to(target, source)
            return cells[::-1], along[-1] - along[::-1]
        return self._path_to(source, target)

    def _path_to(self, source: int, root: int) -> tuple[list[int], np.ndarray]:
        dist, pred = self._tree(root)
        cells = [source]
        while cells[-1] != root:
            cells.append(int(pred[cells[-1]]))
        return cells, dist[source] - dist[cells]
