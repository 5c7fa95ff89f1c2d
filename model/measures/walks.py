"""The walking distances the measures need beyond each home's nearest facility, from the city stage.

Three kinds, all on the walking rule of docs/metrics.md ("Walking access") and asked of the
walking surface (:class:`model.city.surface.WalkingSurface`: the grid or a street network):

* :func:`facility_pairs`: from every home node to every facility of a type within a bound (the
  two-step floating catchment needs each facility, not only the nearest);
* :func:`home_neighbours`: residents by group living within a walk of each resident, at its own
  pace (catchment exposure), searched home node by home node in chunks so that memory stays
  bounded at city scale;
* :func:`home_to_destination_metres`: from each visit's home to its destination, within a bound
  (15-minute usage at the reference pace).

Residents are grouped by home node: the searches run once per node, not per resident.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.city.candidates import Reach
from model.city.surface import PairMetres, WalkingSurface
from model.measures.catchment import neighbours_within

# A search bound a hair above walk x fastest pace: a pair at exactly the bound, whose minutes
# metres / pace round to the walk, is found; the measures then test metres / pace themselves.
_SLACK = 1.0 + 1e-9
# Home nodes per bounded search at a time when counting neighbours: at city scale (about 1,300
# home cells within a 15-minute walk of a cell) some 1.3 million pairs, 20 MB, at a time.
_CHUNK_CELLS = 1024


def facility_pairs(
    surface: WalkingSurface,
    facilities: pd.DataFrame,
    ftype: str,
    home_cells: np.ndarray,
    walk_min: float,
    fastest_m_per_min: float,
    reach: Reach | None = None,
    type_index: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Walking metres from home nodes to every facility of a type within a walk at the fastest pace.

    Taken from the candidate table ``reach`` when it was searched from these homes at least as
    far (:meth:`~model.city.candidates.Reach.of_type`: the same pairs and metres), else searched.
    The pairs then come home by home instead of facility node by facility node; for each home,
    in the same order (by facility node, then facility), the only order the 2SFCA sums depend on.

    Args:
        surface: The walking surface.
        facilities: The city's facility table (id, type, node).
        ftype: The facility type.
        home_cells: Home nodes, unique and sorted.
        walk_min: The walk (minutes).
        fastest_m_per_min: The fastest pace of anyone concerned (m/min).
        reach: The candidate table of the same surface, or None.
        type_index: The type's index in the candidate table (with ``reach``).

    Returns:
        ``(facility_ids, pair_home, pair_facility, pair_metres)``: the ids of the type's
        facilities, then one entry per (home, facility) pair within walk_min x fastest pace:
        the home (index into ``home_cells``), the facility (index into ``facility_ids``) and the
        metres.
    """
    fac = facilities
    mine = (fac["type"] == ftype).to_numpy()
    ids = fac["id"].to_numpy()[mine]
    limit = walk_min * fastest_m_per_min * _SLACK
    if reach is not None and covers(reach, home_cells, limit):
        home, facility, metres = reach.of_type(type_index, limit)
        position = np.cumsum(mine) - 1  # each facility's index among the type's
        return ids, home, position[facility], metres
    cells, fac_cell = np.unique(fac["node"].to_numpy()[mine], return_inverse=True)
    src, home_node, metres = surface.within(cells, limit, targets=home_cells)
    home = np.searchsorted(home_cells, home_node)
    # several facilities may stand on one node: one pair per facility
    by_cell = np.argsort(fac_cell, kind="stable")
    per_cell = np.bincount(fac_cell, minlength=cells.size)
    start = np.concatenate([[0], np.cumsum(per_cell)])
    repeat = per_cell[src]
    pair = np.repeat(np.arange(src.size), repeat)
    offset = np.arange(pair.size) - np.repeat(np.cumsum(repeat) - repeat, repeat)
    facility = by_cell[start[src[pair]] + offset]
    return ids, home[pair], facility, metres[pair]


def covers(reach: Reach, home_cells: np.ndarray, limit_m: float) -> bool:
    """Whether the candidate table holds every pair of these homes within ``limit_m``: same homes, searched as far."""
    return (
        reach.limit_m is not None
        and limit_m <= reach.limit_m
        and reach.origins.size == home_cells.size
        and bool(np.array_equal(reach.origins, home_cells))
    )


def home_neighbours(
    surface: WalkingSurface, cell: np.ndarray, group: np.ndarray, pace: np.ndarray, n_groups: int, walk_min: float
) -> np.ndarray:
    """Residents by group whose homes lie within ``walk_min`` of each resident's home at its own pace.

    Args:
        surface: The walking surface.
        cell: Every resident's home node.
        group: Every resident's group index.
        pace: Every resident's pace (m/min).
        n_groups: Number of groups.
        walk_min: The walk (minutes).

    Returns:
        Shape (residents, groups), the resident itself included
        (:func:`model.measures.catchment.neighbours_within`).
    """
    homes, home_of = np.unique(cell, return_inverse=True)
    counts = np.zeros((homes.size, n_groups), dtype=np.int64)
    np.add.at(counts, (home_of, group), 1)
    out = np.zeros((cell.size, n_groups), dtype=np.int64)
    if not cell.size:
        return out
    # search from the cells in order of their fastest resident, each chunk only as far as its own
    # fastest walks (about a sixth less ground than the whole population's fastest at city scale)
    fastest = np.zeros(homes.size)
    np.maximum.at(fastest, home_of, pace)
    by_speed = np.argsort(fastest, kind="stable")
    rank = np.empty(homes.size, dtype=np.int64)
    rank[by_speed] = np.arange(homes.size)
    by_home = np.argsort(rank[home_of], kind="stable")  # residents, their cells in that order
    resident_start = np.concatenate([[0], np.cumsum(np.bincount(rank[home_of], minlength=homes.size))])
    for lo in range(0, homes.size, _CHUNK_CELLS):
        hi = min(lo + _CHUNK_CELLS, homes.size)
        sources = homes[by_speed[lo:hi]]
        limit = walk_min * float(fastest[by_speed[hi - 1]]) * _SLACK
        src, origin_node, metres = surface.within(sources, limit, targets=homes)
        origin = np.searchsorted(homes, origin_node)
        source_start = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=hi - lo))])
        rows = by_home[resident_start[lo] : resident_start[hi]]
        out[rows] = neighbours_within(
            source_start, origin, metres, counts, resident_start[lo : hi + 1] - resident_start[lo], pace[rows], walk_min
        )
    return out


def home_to_destination_metres(
    surface: WalkingSurface,
    home_cell: np.ndarray,
    destination_cell: np.ndarray,
    limit_m: float,
    pairs: PairMetres | None = None,
) -> np.ndarray:
    """Walking metres from each home to its destination, inf beyond ``limit_m`` (or unreachable).

    Each distinct (home, destination) pair is measured once, with the surface's pair measurer
    (:meth:`~model.city.surface.WalkingSurface.pairs`; exact; pass one to reuse the searches it
    keeps).
    """
    if not home_cell.size:
        return np.zeros(0)
    pairs = pairs if pairs is not None else surface.pairs(limit_m)
    n = surface.n_nodes
    key = np.asarray(home_cell, dtype=np.int64) * n + np.asarray(destination_cell, dtype=np.int64)
    distinct, index = np.unique(key, return_inverse=True)
    metres = pairs.metres(distinct // n, distinct % n)
    return metres[index.reshape(-1)]
