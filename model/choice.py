"""Destination choice on the candidate table, many departures at once (numba kernels).

The rule is the one ``Resident.choose_facilities`` states (model/behaviour.py): candidates are
the facilities of the type within the cut-off of the resident's own walking minutes that can be
reached before closing with the whole visit and the walk home fitting in the day; the first
choice has probability ``exp(-beta * m_f) / sum_g exp(-beta * m_g)`` and the next choices follow
without replacement (a Plackett-Luce ranking); ``beta = inf`` ranks by distance, ties by
facility id. The agents engine draws that ranking with Gumbel keys; here each choice is drawn
by inverting the cumulative weights with one uniform number, the chosen facilities' weights
taken out: the same distribution, with ``tries`` random numbers per departure instead of one
per candidate (a city has 1,500 convenience outlets within 30 minutes of a home).

Each departure scans its (origin, type) group once for usable candidates, then draws.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_ROUNDING = 1e-9  # as model.clock: walking minutes are rounded up to ticks with this tolerance


@numba.njit(cache=True, parallel=True)
def choose_many(
    indptr,
    facility,
    metres,
    group,
    speed,
    beta,
    tries,
    cutoff_min,
    tick_min,
    max_walk_ticks,
    uniforms,
    out_facility,
    out_metres,
):
    """Draw up to ``tries[i]`` ranked facilities for each departure ``i``.

    Args:
        indptr: Candidate table offsets (see model.access.Reach).
        facility: Candidate table facility ids.
        metres: Candidate table distances.
        group: Candidate group (origin * n_types + type) of each departure.
        speed: Walking speed (m/min) of each departure's resident.
        beta: Distance decay per minute of each departure's type (inf: nearest first).
        tries: Choices wanted per departure.
        cutoff_min: The cut-off in own walking minutes.
        tick_min: Minutes per tick.
        max_walk_ticks: Per departure, the most walking ticks that still let the trip fit
            (before closing, visit and walk home by the day's end).
        uniforms: Uniform numbers on [0, 1), shape (departures, max tries).
        out_facility: Filled with the chosen facilities (-1 where none), shape as ``uniforms``.
        out_metres: Filled with the chosen facilities' distances.

    Returns:
        The number of choices made for each departure (0: no usable facility).
    """
    n = group.size
    counts = np.zeros(n, dtype=np.int64)
    for i in numba.prange(n):  # departures are independent: split over the cores
        lo = indptr[group[i]]
        hi = indptr[group[i] + 1]
        usable = np.empty(hi - lo, dtype=np.int64)
        minutes = np.empty(hi - lo)
        u = 0
        for j in range(lo, hi):
            m = metres[j] / speed[i]
            if m <= cutoff_min and math.ceil(m / tick_min - _ROUNDING) <= max_walk_ticks[i]:
                usable[u] = j
                minutes[u] = m
                u += 1
        k = min(tries[i], u)
        counts[i] = k
        if k == 0:
            continue
        taken = np.full(k, -1, dtype=np.int64)
        if math.isinf(beta[i]):
            for c in range(k):  # the k nearest, ties by facility id
                best = -1
                for q in range(u):
                    free = True
                    for t in taken[:c]:
                        if t == q:
                            free = False
                    if not free:
                        continue
                    if (
                        best < 0
                        or minutes[q] < minutes[best]
                        or (minutes[q] == minutes[best] and facility[usable[q]] < facility[usable[best]])
                    ):
                        best = q
                taken[c] = best
        else:
            nearest = minutes[:u].min()
            cum = np.empty(u)
            total = 0.0
            for q in range(u):
                total += math.exp(-beta[i] * (minutes[q] - nearest))
                cum[q] = total
            taken_w = 0.0
            for c in range(k):
                target = uniforms[i, c] * (total - taken_w)
                for t in np.sort(taken[:c]):  # step over the chosen intervals, in order
                    if target >= (cum[t - 1] if t > 0 else 0.0):
                        target += cum[t] - (cum[t - 1] if t > 0 else 0.0)
                q = min(np.searchsorted(cum, target, side="right"), u - 1)
                while True:  # rounding may land on a chosen one: step to a free neighbour
                    clash = False
                    for t in taken[:c]:
                        if t == q:
                            clash = True
                    if not clash:
                        break
                    q = q - 1 if q > 0 else q + 1
                taken[c] = q
                taken_w += cum[q] - (cum[q - 1] if q > 0 else 0.0)
        for c in range(k):
            out_facility[i, c] = facility[usable[taken[c]]]
            out_metres[i, c] = metres[usable[taken[c]]]
    return counts


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
    out_f = np.empty(indptr[-1], dtype=np.int64)
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
