"""Destination choice on the candidate table, many departures at once (a numba kernel).

The rule is the one ``Resident.choose_facilities`` states (model/simulation/agents.py):
candidates are the facilities of the type within the cut-off of the resident's own walking minutes that can be
reached before closing with the whole visit and the walk home fitting in the day; the first
choice has probability ``exp(-beta * m_f) / sum_g exp(-beta * m_g)`` and the next choices follow
without replacement (a Plackett-Luce ranking); ``beta = inf`` ranks by distance, ties by
facility id. The agents engine draws that ranking with Gumbel keys; here each choice is drawn
by inverting the cumulative weights with one uniform number, the chosen facilities' weights
taken out: the same distribution, with ``tries`` random numbers per departure instead of one
per candidate (a city has 1,500 convenience outlets within 30 minutes of a home).

Each departure scans its (origin, type) group once for usable candidates, summing their weights
as it goes, then draws. Departures are split over the cores (``prange``): on a quiet 2-core
machine wuhai_city's simulated day takes 3.0 s with it against 4.0-4.2 s on one thread. On a
machine whose cores are busy with other work, OpenMP's threads spin while they wait for each
other at every call (8.7-14 CPU s for the day's choices against 1.4-1.8 on one thread, measured
under load): the package therefore sets ``OMP_WAIT_POLICY=PASSIVE`` unless the user chose
otherwise (``model/__init__.py``), and batch workers use their share of the cores. Which
candidates are usable (``rules.walk_limit_min``, per departure), the minutes a candidate is
ranked by (``rules.ranked_minutes``: its walking minutes plus the resident's remembered
turn-aways there, days that learn) and the ranking at ``beta = inf`` (``rules.nearest_first``,
compiled here; the agents engine calls the same compiled function) come from the rulebook,
model/simulation/rules.py.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from model.simulation import rules

# The rulebook's ranking at beta = inf, compiled from its own source. numba's cache of a kernel
# does not notice a change in a function it calls from another file; tests/test_choice.py runs
# the kernel against its uncompiled self to catch a stale cache.
nearest_first = numba.njit(cache=True)(rules.nearest_first)
ranked_minutes = numba.njit(cache=True)(rules.ranked_minutes)


@numba.njit(cache=True)
def _free_near(taken, q, u):
    """``q`` if it is not taken, else the nearest free position below it, else the nearest above.

    Rounding in the cumulative weights may land a draw on a facility already chosen. At most
    ``u - 1`` positions are taken when this is called, so a free one exists and the search ends.
    """
    step = -1
    while True:
        clash = False
        for t in taken:
            if t == q:
                clash = True
        if not clash:
            return q
        if step < 0 and q == 0:
            step = 1  # nothing free below the draw: look above it
        q += step
        if q >= u:
            return -1  # unreachable while fewer than u positions are taken


@numba.njit(cache=True)
def _scan_weighted(metres, lo, hi, speed, limit_min, beta, usable_at, cum):
    """Usable candidates of table rows ``lo:hi`` and their cumulative weights, in table order.

    A candidate is usable when its walking minutes ``metres / speed`` are within ``limit_min``
    (``rules.usable``); its weight is ``exp(-beta * (minutes - nearest))`` with ``nearest`` the
    least minutes of any usable candidate. That least is the group's least metres over the pace
    (correctly rounded division never reverses an order), so one pass finds both.

    Returns:
        ``(u, total)``: ``usable_at[:u]`` the rows, ``cum[:u]`` the running sums, ``total`` the last.
    """
    least = math.inf
    for j in range(lo, hi):
        least = min(least, metres[j])
    nearest = least / speed
    u = 0
    total = 0.0
    for j in range(lo, hi):
        m = metres[j] / speed
        if m <= limit_min:  # rules.usable
            usable_at[u] = j
            total += math.exp(-beta * (m - nearest))
            cum[u] = total
            u += 1
    return u, total


@numba.njit(cache=True)
def _draw(cum, u, total, uniforms, k):
    """Positions of ``k`` draws without replacement from the cumulative weights ``cum[:u]`` (sum ``total``).

    Choice ``c`` inverts the weights not yet taken with the uniform number ``uniforms[c]``.
    """
    taken = np.full(k, -1, dtype=np.int64)
    taken_w = 0.0
    for c in range(k):
        target = uniforms[c] * (total - taken_w)
        for t in np.sort(taken[:c]):  # step over the chosen intervals, in order
            if target >= (cum[t - 1] if t > 0 else 0.0):
                target += cum[t] - (cum[t - 1] if t > 0 else 0.0)
        q = min(np.searchsorted(cum[:u], target, side="right"), u - 1)
        taken[c] = _free_near(taken[:c], q, u)
        taken_w += cum[q] - (cum[q - 1] if q > 0 else 0.0)
    return taken


@numba.njit(cache=True, parallel=True)
def choose_many(
    indptr,
    facility,
    metres,
    group,
    speed,
    beta,
    tries,
    walk_limit_min,
    uniforms,
    out_facility,
    out_metres,
    resident,
    memory_keys,
    memory_counts,
    n_facilities,
    penalty_min,
):
    """Draw up to ``tries[i]`` ranked facilities for each departure ``i``.

    Args:
        indptr: Candidate table offsets (see model.city.candidates.Reach).
        facility: Candidate table facility ids.
        metres: Candidate table distances.
        group: Candidate group (origin * n_types + type) of each departure.
        speed: Walking speed (m/min) of each departure's resident.
        beta: Distance decay per minute of each departure's type (inf: nearest first).
        tries: Choices wanted per departure.
        walk_limit_min: Per departure, the longest walk in own minutes each way that is within
            the cut-off and lets the trip fit (``rules.walk_limit_min``).
        uniforms: Uniform numbers on [0, 1), shape (departures, max tries).
        out_facility: Filled with the chosen facilities (-1 where none), shape as ``uniforms``.
        out_metres: Filled with the chosen facilities' distances.
        resident: The resident of each departure (its row in the memory's keys).
        memory_keys: Remembered turn-aways, sorted: ``resident * n_facilities + facility`` of
            each (resident, facility) pair with one or more (empty: nobody remembers any, and
            the memory costs nothing).
        memory_counts: The number of remembered turn-aways of each key.
        n_facilities: Facilities in the run (the stride of ``memory_keys``).
        penalty_min: Minutes added per remembered turn-away (``rules.ranked_minutes``).

    Returns:
        The number of choices made for each departure (0: no usable facility).
    """
    n = group.size
    counts = np.zeros(n, dtype=np.int64)
    for i in numba.prange(n):  # departures are independent: split over the cores
        lo = indptr[group[i]]
        hi = indptr[group[i] + 1]
        usable_at = np.empty(hi - lo, dtype=np.int64)
        cum = np.empty(hi - lo)
        # the resident's remembered turn-aways: a slice of the sorted keys (none: minutes as walked)
        first_key = resident[i] * n_facilities
        m_lo = np.searchsorted(memory_keys, first_key)
        m_hi = np.searchsorted(memory_keys, first_key + n_facilities)
        if m_hi == m_lo and not math.isinf(beta[i]):
            # the common case in one pass: ranked minutes are the walking minutes, so the nearest
            # usable candidate is the group's nearest (division by the pace keeps the order), and
            # each weight is summed as it is found, in the table's order
            u, total = _scan_weighted(metres, lo, hi, speed[i], walk_limit_min[i], beta[i], usable_at, cum)
            k = min(tries[i], u)
            counts[i] = k
            if k == 0:
                continue
            taken = _draw(cum, u, total, uniforms[i], k)
        else:
            minutes = np.empty(hi - lo)
            u = 0
            for j in range(lo, hi):
                m = metres[j] / speed[i]
                if m <= walk_limit_min[i]:  # rules.usable
                    usable_at[u] = j
                    minutes[u] = m
                    u += 1
            k = min(tries[i], u)
            counts[i] = k
            if k == 0:
                continue
            if m_hi > m_lo:
                mine = memory_keys[m_lo:m_hi]
                for q in range(u):
                    at = np.searchsorted(mine, first_key + facility[usable_at[q]])
                    if at < mine.size and mine[at] == first_key + facility[usable_at[q]]:
                        minutes[q] = ranked_minutes(minutes[q], memory_counts[m_lo + at], penalty_min)
            if math.isinf(beta[i]):
                taken = nearest_first(facility[usable_at[:u]], minutes[:u], k)
            else:
                nearest = minutes[:u].min()
                total = 0.0
                for q in range(u):
                    total += math.exp(-beta[i] * (minutes[q] - nearest))
                    cum[q] = total
                taken = _draw(cum, u, total, uniforms[i], k)
        for c in range(k):
            out_facility[i, c] = facility[usable_at[taken[c]]]
            out_metres[i, c] = metres[usable_at[taken[c]]]
    return counts
