"""What homes reach: each facility type's distance field, and the candidate table.

Both are asked of the walking surface (:class:`model.city.surface.WalkingSurface`), never of
the grid, so that they hold on a street network as on the grid. Destination choice needs, for
every home node and facility type, the facilities within the cut-off and their walking
distances: one bounded search per distinct facility node (walking is symmetric, so the distance
from a facility is the distance to it), then a counting sort by (origin, type) group (numba).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from model.city.grid import City
from model.city.surface import WalkingSurface


@dataclass(frozen=True, eq=False)
class Reach:
    """Walking distances from origin cells to every facility within a limit, for destination choice.

    Entries are grouped by (origin, facility type), so the candidates of one origin and type are
    one slice (in no particular order: the choice rules do not depend on it).

    Attributes:
        origins: The origin cells (unique, sorted).
        n_types: Number of facility types (type index = position in ``City.types``).
        indptr: Offsets; group (o, t) is ``indptr[o * n_types + t] : indptr[o * n_types + t + 1]``.
        facility: Facility id of each entry (int32: the table is a city run's largest array).
        metres: Walking distance of each entry.
        limit_m: The limit searched (metres): every facility within it of every origin is an
            entry; None when not known.
    """

    origins: np.ndarray
    n_types: int
    indptr: np.ndarray
    facility: np.ndarray
    metres: np.ndarray
    limit_m: float | None = None

    def origin_index(self, cells: np.ndarray) -> np.ndarray:
        """Row of each cell in ``origins`` (cells must be origins)."""
        return np.searchsorted(self.origins, cells)

    def candidates(self, origin: int, type_index: int) -> tuple[np.ndarray, np.ndarray]:
        """Facility ids and metres of one origin and type."""
        k = origin * self.n_types + type_index
        sl = slice(self.indptr[k], self.indptr[k + 1])
        return self.facility[sl], self.metres[sl]

    def of_type(self, type_index: int, limit_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every entry of one type within ``limit_m``, origin by origin (each group in its own order).

        When ``limit_m`` is at most :attr:`limit_m`, these are exactly the pairs a search up to
        ``limit_m`` would find, with the same metres: a walk's metres do not depend on how far
        the search goes (a node's are the least over its neighbours' plus the step, and a walk
        never gets shorter as it goes on), so searching farther only adds the farther nodes.

        Returns:
            ``(origin, facility, metres)``: the origin (index into :attr:`origins`), the
            facility id and the metres of each entry.
        """
        return _entries_of_type(self.indptr, self.facility, self.metres, self.n_types, type_index, float(limit_m))


def type_fields(surface: WalkingSurface, city: City) -> dict[str, np.ndarray]:
    """Distance field (metres, one value per node of the surface) of every facility type present."""
    return {t: surface.distance_field(city.facility_nodes(t)) for t in city.types}


def facility_reach(surface: WalkingSurface, city: City, origins: np.ndarray, limit_m: float) -> Reach:
    """Distances from each origin node to every facility within ``limit_m`` metres (the candidate table)."""
    origins = np.unique(np.asarray(origins, dtype=np.int64))
    fac = city.facilities
    type_index = {t: i for i, t in enumerate(city.types)}
    fac_type = fac["type"].map(type_index).to_numpy(dtype=np.int64)
    cells, fac_cell_idx = np.unique(fac["node"].to_numpy(), return_inverse=True)
    cell_idx, node, metres = surface.within(cells, limit_m, targets=origins)
    position = np.full(surface.n_nodes, -1, dtype=np.int64)
    position[origins] = np.arange(origins.size)
    origin = position[node]  # the home's row of the table
    del node  # the search's pairs are the build's largest arrays: none kept longer than needed
    by_cell = np.argsort(fac_cell_idx, kind="stable")
    cell_indptr = np.concatenate([[0], np.cumsum(np.bincount(fac_cell_idx, minlength=cells.size))])
    indptr, facility, metres = candidate_table(
        cell_idx, origin, metres, cell_indptr, by_cell, fac_type, len(city.types), origins.size
    )
    return Reach(origins, len(city.types), indptr, facility, metres, float(limit_m))


@numba.njit(cache=True)
def candidate_table(cell_idx, origin, metres, cell_indptr, cell_facility, facility_type, n_types, n_origins):
    """The candidate table from search results, by (origin, type) group (a counting sort).

    Args:
        cell_idx: Search results: facility cell (index into the searched cells).
        origin: Search results: origin (index).
        metres: Search results: distance.
        cell_indptr: Offsets of the facilities on each facility cell.
        cell_facility: The facilities on each facility cell, cell after cell.
        facility_type: Type index of each facility.
        n_types: Number of facility types.
        n_origins: Number of origins.

    Returns:
        ``(indptr, facility, metres)``: group ``g = o * n_types + t`` is ``indptr[g]:indptr[g + 1]``,
        in the order of the search results (no rule depends on the order within a group).
    """
    n_groups = n_origins * n_types
    counts = np.zeros(n_groups + 1, dtype=np.int64)
    for i in range(cell_idx.size):
        c = cell_idx[i]
        for j in range(cell_indptr[c], cell_indptr[c + 1]):
            counts[origin[i] * n_types + facility_type[cell_facility[j]] + 1] += 1
    indptr = np.cumsum(counts)
    fill = indptr[:-1].copy()
    out_f = np.empty(indptr[-1], dtype=np.int32)  # ids below 2**31; a city's table has some 30 million entries
    out_m = np.empty(indptr[-1])
    for i in range(cell_idx.size):
        c = cell_idx[i]
        for j in range(cell_indptr[c], cell_indptr[c + 1]):
            f = cell_facility[j]
            g = origin[i] * n_types + facility_type[f]
            out_f[fill[g]] = f
            out_m[fill[g]] = metres[i]
            fill[g] += 1
    return indptr, out_f, out_m


@numba.njit(cache=True)
def _entries_of_type(indptr, facility, metres, n_types, type_index, limit_m):
    """:meth:`Reach.of_type`: the groups (o, type_index), origin by origin, entries within ``limit_m`` (two passes)."""
    n_origins = (indptr.size - 1) // n_types
    count = 0
    for o in range(n_origins):
        g = o * n_types + type_index
        for j in range(indptr[g], indptr[g + 1]):
            if metres[j] <= limit_m:
                count += 1
    out_o = np.empty(count, dtype=np.int64)
    out_f = np.empty(count, dtype=np.int64)
    out_m = np.empty(count)
    k = 0
    for o in range(n_origins):
        g = o * n_types + type_index
        for j in range(indptr[g], indptr[g + 1]):
            if metres[j] <= limit_m:
                out_o[k] = o
                out_f[k] = facility[j]
                out_m[k] = metres[j]
                k += 1
    return out_o, out_f, out_m
