"""Catchment exposure: residential exposure at the scale of a walk.

Definition in docs/metrics.md ("Activity-space mixing", catchment exposure): for resident r, the
share of other groups among the residents (r excluded) whose homes lie within 15 minutes' walk
of r's home at r's own pace. Residential blocks of 200 m and facilities serving a walk differ
in scale; a walk from home is the residential unit that matches the places one goes to, so
residential and activity exposure compare like with like.

The walking distances between homes come from model/measures/walks.py, source cell by source
cell; :func:`neighbours_within` counts each resident's neighbours by group from them and
:func:`catchment_exposure` is the index.

Sources:
    Massey, D. & Denton, N. (1988) The dimensions of residential segregation. Social Forces
    67(2) (exposure, here with each resident's own walk as its unit).
    Athey, S., Ferguson, B., Gentzkow, M., Schmidt, T. (2021) Estimating experienced racial
    segregation in US cities using large-scale GPS data. PNAS 118(46) (exposure measured
    resident by resident and averaged over a group).
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from model.measures.sfca import first_within


@numba.njit(cache=True)
def _count(source_start, pair_origin, pair_metres, origin_counts, resident_start, resident_pace, walk_min):
    """Per source, its residents sorted by pace: each pair reaches a suffix of them (a difference array)."""
    n_groups = origin_counts.shape[1]
    step = np.zeros((resident_pace.size + 1, n_groups), dtype=np.int64)
    for s in range(source_start.size - 1):
        lo, hi = resident_start[s], resident_start[s + 1]
        for k in range(source_start[s], source_start[s + 1]):
            q = first_within(resident_pace, lo, hi, pair_metres[k], walk_min)
            if q < hi:
                step[q] += origin_counts[pair_origin[k]]
    out = np.zeros((resident_pace.size, n_groups), dtype=np.int64)
    for s in range(source_start.size - 1):
        running = np.zeros(n_groups, dtype=np.int64)
        for r in range(resident_start[s], resident_start[s + 1]):
            running += step[r]
            out[r] = running
    return out


def neighbours_within(
    source_start: ArrayLike,
    pair_origin: ArrayLike,
    pair_metres: ArrayLike,
    origin_counts: ArrayLike,
    resident_start: ArrayLike,
    resident_pace: ArrayLike,
    walk_min: float,
) -> NDArray[np.int64]:
    """Residents by group whose homes lie within ``walk_min`` of each resident's home, at its own pace.

    Homes are cells; a search from each source cell gave the cells within reach and their
    walking metres, the source cell itself at 0 (model/measures/walks.py).

    Args:
        source_start: Offsets of the pairs of each source cell: source s has the pairs
            ``source_start[s]:source_start[s + 1]``, in any order.
        pair_origin: The home cell reached by each pair, an index into ``origin_counts``.
        pair_metres: Walking metres of each pair.
        origin_counts: Residents by group on each home cell, shape (cells, groups).
        resident_start: Offsets of the residents living on each source cell.
        resident_pace: Each of those residents' pace (m/min), in the order of ``resident_start``
            (any order within a source cell).
        walk_min: The walk in minutes.

    Returns:
        Shape (residents, groups): the residents of each group living within the walk of each
        resident, the resident itself included (it lives at 0 minutes).
    """
    counts = np.ascontiguousarray(origin_counts, dtype=np.int64)
    pace = np.asarray(resident_pace, dtype=np.float64)
    start = np.asarray(resident_start, dtype=np.int64)
    source_of = np.repeat(np.arange(start.size - 1), np.diff(start))
    order = np.lexsort((pace, source_of))  # within each source cell, by pace
    out = np.empty((pace.size, counts.shape[1]), dtype=np.int64)
    out[order] = _count(
        np.asarray(source_start, dtype=np.int64),
        np.asarray(pair_origin, dtype=np.int64),
        np.asarray(pair_metres, dtype=np.float64),
        counts,
        start,
        pace[order],
        float(walk_min),
    )
    return out


def catchment_exposure(neighbours: ArrayLike, group_of: ArrayLike, group_names: Sequence[str]) -> dict[str, float]:
    """Catchment exposure of each group: the out-group share among the neighbours within a walk.

    For resident r of group g with c_rh neighbours of group h within its walk (r excluded) and
    n_r = Σ_h c_rh: x_r = (n_r − c_rg) / n_r; catchment_exposure[g] = mean of x_r over the
    residents of g with n_r ≥ 1 (residents with nobody within their walk are left out).

    Args:
        neighbours: Shape (residents, groups): neighbours by group of each resident, the
            resident itself included (as :func:`neighbours_within` gives them).
        group_of: Each resident's group index.
        group_names: Name of each group index.

    Returns:
        ``{group: exposure}``; NaN for a group none of whose residents has a neighbour.
    """
    counts = np.asarray(neighbours, dtype=np.int64)
    group = np.asarray(group_of, dtype=np.int64)
    n_groups = len(group_names)
    rows = np.arange(group.size)
    own = counts[rows, group] - 1  # r itself is not its own neighbour
    others = counts.sum(axis=1) - 1
    alone = others == 0
    share = np.where(alone, 0.0, (others - own) / np.maximum(others, 1))
    members = np.bincount(group[~alone], minlength=n_groups)
    totals = np.bincount(group[~alone], weights=share[~alone], minlength=n_groups)
    return {name: (float(totals[g] / members[g]) if members[g] else float("nan")) for g, name in enumerate(group_names)}
