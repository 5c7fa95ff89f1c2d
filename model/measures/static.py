"""The static baseline: the run's figures from the same city and residents without time.

Every wanted visit is allocated by the simulation's own choice rule (the same candidates within
the same cut-off, the first choice with the nearest-first ranking at ``beta = inf`` or the logit
shares ``exp(-beta * m_f) / sum_g exp(-beta * m_g)``), in expectation and ignoring capacity,
queues, turn-aways and the clock. Expected person-minutes at a facility are expected visits times
the type's ``visit_min``. From them the activity-mixing figures of the summary are recomputed
with the formulas of :mod:`model.measures.activity` and :mod:`model.measures.segregation`, so
that each agent-model figure has a static figure beside it: ``static["mixing"]["activity"]
["exposure"][g]`` is parallel to ``summary["mixing"]["activity"]["exposure"][g]``. What differs
from the agent model is the agent model's own contribution (queues, displacement, the timing of
co-presence). Definitions in docs/static.md.

Public: :func:`static_baseline` (summary.json's ``static`` block), :func:`static_facilities`
(per facility, for facilities.csv), :func:`differences` (agent − static by dotted path),
:func:`twins` (agent, static and difference of every figure of a flattened summary: what the
reports print) and :func:`allocate` (the expected allocation they share, kept per run context).

No random numbers: the figures are expectations over the plans' draws and the choice's draws.

Sources:
    McFadden, D. (1974) Conditional logit analysis of qualitative choice behavior (the logit
    shares); Huff, D. L. (1964) Defining and estimating a trading area (the same for retail).
    Athey, S., Ferguson, B., Gentzkow, M., Schmidt, T. (2021) Estimating experienced racial
    segregation in US cities using large-scale GPS data. PNAS 118(46) (exposure and experienced
    isolation, here from expected rather than observed co-location).
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd

from model.measures import segregation, usage
from model.simulation import rules
from model.simulation.context import RunContext


@dataclass(frozen=True, eq=False)
class Departures:
    """The expected departures of every type, split by the walk limit that applies to them.

    A type's departures happen in its windows at whole minutes drawn uniformly; the longest
    usable walk (``rules.walk_limit_min``) can depend on the departure tick (a late trip must fit
    before closing and the day's end). Entry ``e`` is one (window, walk limit) pair: a resident
    who needs the type plans ``per_resident[e]`` departures over the run with that limit.

    Attributes:
        type_start: Entries of type t are ``type_start[t]:type_start[t + 1]``.
        window: The window of each entry (numbered as ``TypeTable`` numbers them).
        limit_min: The walk limit of each entry, own minutes each way.
        share: The share of its window's departure minutes that have this limit.
        per_resident: Expected departures over the run of one resident who needs the type.
        days_wanted: Per type, the days of the run on which it is planned (weekday-only types
            rest at weekends).
    """

    type_start: np.ndarray
    window: np.ndarray
    limit_min: np.ndarray
    share: np.ndarray
    per_resident: np.ndarray
    days_wanted: np.ndarray


def departures(context: RunContext) -> Departures:
    """The departures of every type present, by window and walk limit (see :class:`Departures`)."""
    types, clock = context.types, context.clock
    cutoff = context.spec.simulation.cutoff_min
    days_wanted = np.zeros(len(types), dtype=np.int64)
    for day in range(context.days):
        days_wanted += rules.wanted_today(types, clock.is_weekend(day))
    rows = []
    for t in range(len(types)):
        for w in types.windows_of(t):
            minutes = np.arange(types.window_lo[w], types.window_hi[w] + 1)
            limits = rules.walk_limit_min(clock, clock.tick_at(0, minutes), cutoff, types, t)
            values, counts = np.unique(np.asarray(limits, dtype=float), return_counts=True)
            for limit, count in zip(values, counts, strict=True):
                share = count / minutes.size
                rows.append((t, w, limit, share, days_wanted[t] * types.daily_prob[t] * share))
    type_of = np.array([r[0] for r in rows], dtype=np.int64)
    return Departures(
        type_start=np.searchsorted(type_of, np.arange(len(types) + 1)).astype(np.int64),
        window=np.array([r[1] for r in rows], dtype=np.int64),
        limit_min=np.array([r[2] for r in rows], dtype=float),
        share=np.array([r[3] for r in rows], dtype=float),
        per_resident=np.array([r[4] for r in rows], dtype=float),
        days_wanted=days_wanted,
    )


# The passes run over the homes (origins) in fixed chunks, each chunk summing into its own table;
# the chunks are added in order, so the sums have the same bits whatever the number of threads.
CHUNKS = 64


@numba.njit(cache=True)
def _metre_classes(indptr, metres):
    """The candidate table's runs of equal metres: each run is one class of candidates.

    The candidate table lists the facilities of one facility cell one after another (one search
    result), so the outlets of a cell form a run. A resident's expected visits to a candidate
    depend on it only through its metres, so they are computed once per class (one exponential
    for all the outlets of a cell). A class's metres are those of its first entry,
    ``metres[class_start[c]]`` (not copied: on a city the classes number some 24 million).

    Returns:
        ``(class_of_group, class_start, nearest_metres)``: group ``g``'s classes are
        ``class_of_group[g]:class_of_group[g + 1]``, class ``c``'s entries of the table
        ``class_start[c]:class_start[c + 1]`` (int32: the table's entries number below 2**31), all
        ``metres[class_start[c]]`` metres from the home; ``nearest_metres[g]`` is the group's
        least (inf for an empty group).
    """
    n_groups = indptr.size - 1
    n = 0
    for g in range(n_groups):
        for j in range(indptr[g], indptr[g + 1]):
            n += j == indptr[g] or metres[j] != metres[j - 1]
    class_of_group = np.zeros(n_groups + 1, dtype=np.int64)
    class_start = np.empty(n + 1, dtype=np.int32)
    nearest_metres = np.full(n_groups, np.inf)
    n = 0
    for g in range(n_groups):
        class_of_group[g] = n
        for j in range(indptr[g], indptr[g + 1]):
            nearest_metres[g] = min(nearest_metres[g], metres[j])
            if j == indptr[g] or metres[j] != metres[j - 1]:
                class_start[n] = j
                n += 1
    class_of_group[n_groups] = n
    class_start[n] = metres.size
    return class_of_group, class_start, nearest_metres


@numba.njit(cache=True)
def _first_choice(c0, c1, class_start, metres, nearest_metres, facility, speed, beta, limits, per_resident,
                  near_m, x):  # fmt: skip
    """One resident's expected visits to its candidates of one type (classes ``c0:c1``), over its entries.

    Entry k (a walk limit) sends ``per_resident[k]`` departures to the candidates usable under
    ``limits[k]`` (own minutes ``metres / speed <= limit``: ``rules.usable``) by the first choice:
    at ``beta = inf`` all to the nearest, ties by the lower facility id (the ranking of
    ``rules.nearest_first``); else by the logit shares ``exp(-beta (m_f - m_nearest)) /
    Σ_g exp(-beta (m_g - m_nearest))`` (the choice kernel's weights relative to the nearest). The
    nearest usable candidate is the nearest of all whenever any is usable (own minutes keep the
    order of metres), so one exponential per class serves every entry.

    At finite beta, ``scale * x[c - c0]`` are the expected visits to each facility of class c
    (``x`` is 0 for a class nobody uses). Returns ``(nearest, taken, scale, served, walk, near)``:
    the nearest candidate's own minutes (inf if none), at ``beta = inf`` the table entry of the
    chosen facility (else -1), the scale of ``x``, and the resident's expected visits, their
    own walking minutes and the visits to facilities within ``near_m`` metres.
    """
    nearest = nearest_metres / speed
    served = 0.0
    one_limit = True
    for k in range(limits.size):
        if nearest <= limits[k]:
            served += per_resident[k]
        one_limit = one_limit and limits[k] == limits[0]
    if served == 0.0:  # nothing usable under any limit (or no departure)
        return nearest, -1, 0.0, 0.0, 0.0, 0.0
    if math.isinf(beta):
        taken, taken_m = _nearest(c0, c1, class_start, metres, facility, speed, nearest)
        return nearest, taken, 0.0, served, served * nearest, served if taken_m <= near_m else 0.0
    if one_limit:  # the usual case: one limit (the cut-off) for every departure
        z, walk, near = _logit_weights(c0, c1, class_start, metres, speed, beta, nearest, limits[0], near_m, x)
        return nearest, -1, served / z, served, walk * served / z, near * served / z
    walk, near = _logit_visits(c0, c1, class_start, metres, speed, beta, nearest, limits, per_resident, near_m, x)
    return nearest, -1, 1.0, served, walk, near


@numba.njit(cache=True)
def _nearest(c0, c1, class_start, metres, facility, speed, nearest):
    """The table entry of the nearest candidate (own minutes ``nearest``, ties by the lower id) and its metres."""
    taken, taken_m = -1, math.inf
    for c in range(c0, c1):
        if metres[class_start[c]] / speed == nearest:
            for j in range(class_start[c], class_start[c + 1]):
                if taken < 0 or facility[j] < facility[taken]:
                    taken, taken_m = j, metres[class_start[c]]
    return taken, taken_m


@numba.njit(cache=True)
def _logit_weights(c0, c1, class_start, metres, speed, beta, nearest, limit, near_m, x):
    """Logit weights relative to the nearest in ``x`` (0 beyond ``limit``); their sum, Σ weight × minutes, Σ near."""
    z, walk, near = 0.0, 0.0, 0.0
    for c in range(c1 - c0):
        m = metres[class_start[c0 + c]] / speed
        if m <= limit:
            x[c] = math.exp(-beta * (m - nearest))
            w = x[c] * (class_start[c0 + c + 1] - class_start[c0 + c])
            z += w
            walk += w * m
            if metres[class_start[c0 + c]] <= near_m:
                near += w
        else:
            x[c] = 0.0
    return z, walk, near


@numba.njit(cache=True)
def _logit_visits(c0, c1, class_start, metres, speed, beta, nearest, limits, per_resident, near_m, x):
    """Expected visits in ``x`` when the limit differs by departure minute: each entry's shares over its candidates."""
    z = np.zeros(limits.size)
    for c in range(c1 - c0):
        m = metres[class_start[c0 + c]] / speed
        x[c] = math.exp(-beta * (m - nearest))
        for k in range(limits.size):
            if m <= limits[k]:
                z[k] += x[c] * (class_start[c0 + c + 1] - class_start[c0 + c])
    walk, near = 0.0, 0.0
    for c in range(c1 - c0):
        m = metres[class_start[c0 + c]] / speed
        share = 0.0
        for k in range(limits.size):
            if m <= limits[k]:
                share += per_resident[k] / z[k]
        x[c] *= share
        w = x[c] * (class_start[c0 + c + 1] - class_start[c0 + c])
        walk += w * m
        if metres[class_start[c0 + c]] <= near_m:
            near += w
    return walk, near


@numba.njit(cache=True)
def _log_none(window, prob, reached, days_wanted):
    """Log-probability of no visit at all over the run, each window reached with probability ``reached``."""
    out = 0.0
    for k in range(window.size):
        if k == 0 or window[k] != window[k - 1]:
            p = prob[k] * reached[window[k]]
            if p > 0.0:
                out += days_wanted[k] * (math.log1p(-p) if p < 1.0 else -math.inf)
    return out


@numba.njit(cache=True, parallel=True)
def _allocate(
    by_origin, origin_start, class_of_group, class_start, metres, nearest_metres, facility, n_types, speed,
    group, needs, beta, type_start, window, limit_min, share, per_resident, prob, days_wanted, n_windows, near_m,
    n_facilities, n_groups, most_classes, most_home_classes,
):  # fmt: skip
    """Pass 1: expected visits by facility and group, the per-type totals, and who goes out at all."""
    n_origins = origin_start.size - 1
    visits = np.zeros((CHUNKS, n_facilities, n_groups))
    totals = np.zeros((CHUNKS, 5, n_types))  # wanted, unmet, served, Σ visits × own minutes, near
    log_none = np.zeros(by_origin.size)  # log P(no visit at all over the run), by resident id
    for chunk in numba.prange(CHUNKS):
        reached = np.zeros(n_windows)
        x = np.empty(most_classes)
        acc = np.zeros((most_home_classes, n_groups))  # the home's expected visits to each facility of a class
        for o in range(chunk * n_origins // CHUNKS, (chunk + 1) * n_origins // CHUNKS):
            oc0, oc1 = class_of_group[o * n_types], class_of_group[(o + 1) * n_types]
            acc[: oc1 - oc0] = 0.0
            for i in range(origin_start[o], origin_start[o + 1]):
                r = by_origin[i]
                g = group[r]
                reached[:] = 0.0
                for t in range(n_types):
                    if not needs[r, t]:
                        continue
                    e0, e1 = type_start[t], type_start[t + 1]
                    c0, c1 = class_of_group[o * n_types + t], class_of_group[o * n_types + t + 1]
                    nearest, taken, scale, served, walk, near = _first_choice(
                        c0, c1, class_start, metres, nearest_metres[o * n_types + t], facility, speed[r],
                        beta[t], limit_min[e0:e1], per_resident[e0:e1], near_m, x,
                    )  # fmt: skip
                    for k in range(e0, e1):
                        totals[chunk, 0, t] += per_resident[k]
                        if nearest <= limit_min[k]:
                            reached[window[k]] += share[k]
                        else:
                            totals[chunk, 1, t] += per_resident[k]
                    totals[chunk, 2, t] += served
                    totals[chunk, 3, t] += walk
                    totals[chunk, 4, t] += near
                    if taken >= 0:  # beta = inf: all to the nearest
                        visits[chunk, facility[taken], g] += served
                    elif served > 0.0:
                        for c in range(c1 - c0):
                            acc[c0 + c - oc0, g] += scale * x[c]
                log_none[r] = _log_none(window, prob, reached, days_wanted)
            for c in range(oc0, oc1):
                for j in range(class_start[c], class_start[c + 1]):
                    for h in range(n_groups):
                        visits[chunk, facility[j], h] += acc[c - oc0, h]
    summed = np.zeros((n_facilities, n_groups))
    summed_totals = np.zeros((5, n_types))
    for chunk in range(CHUNKS):  # in order: the same bits whatever the threads
        summed += visits[chunk]
        summed_totals += totals[chunk]
    return summed, summed_totals, log_none


@numba.njit(cache=True, inline="always")
def _add_company(f, mine, g, total_f, minutes_fg, own, with_others, own_group):
    """Add ``mine`` expected person-minutes of a resident of group g at facility f to its company.

    ``with_others`` sums the resident's minutes where others are expected, ``own[1 + h]`` (h ≠ g)
    and ``own_group`` (h = g) those minutes times the others' share of h: ``(M_fh - mine [h = g])
    / (M_f - mine)``. The two sums that every facility adds to are the caller's local variables,
    passed in and returned (kept in registers: as array entries each addition would wait for the
    previous one's store); each is still summed facility by facility in the same order.

    Returns:
        The updated ``(with_others, own_group)``.
    """
    others = total_f[f] - mine
    if others <= 1e-9 * total_f[f]:  # nobody else expected: no company (rounding aside)
        return with_others, own_group
    q = mine / others
    for h in range(minutes_fg.shape[1]):
        if h != g:
            own[1 + h] += q * minutes_fg[f, h]
    own_group += q * minutes_fg[f, g]
    own_group += q * (max(minutes_fg[f, g] - mine, 0.0) - minutes_fg[f, g])  # r itself is not its own company
    return with_others + mine, own_group


@numba.njit(cache=True, parallel=True)
def _company(
    by_origin, origin_start, class_of_group, class_start, metres, nearest_metres, facility, n_types, speed,
    group, needs, beta, type_start, limit_min, per_resident, visit_min, minutes_fg, most_classes,
):  # fmt: skip
    """Pass 2, residents independent (over the cores): each one's expected company by group.

    Returns per resident the person-minutes it spends where others are expected too, and per
    group h the sum over those minutes of the others' share of h at the facility (r itself
    excluded from the facility's expected person-minutes).
    """
    n_origins = origin_start.size - 1
    n_groups = minutes_fg.shape[1]
    total_f = minutes_fg.sum(axis=1)
    company = np.zeros(by_origin.size)
    share_sum = np.zeros((by_origin.size, n_groups))
    for chunk in numba.prange(CHUNKS):
        x = np.empty(most_classes)
        own = np.empty(1 + n_groups)
        for o in range(chunk * n_origins // CHUNKS, (chunk + 1) * n_origins // CHUNKS):
            for i in range(origin_start[o], origin_start[o + 1]):
                r = by_origin[i]
                g = group[r]
                own[:] = 0.0
                with_others, own_group = 0.0, 0.0
                for t in range(n_types):
                    if not needs[r, t]:
                        continue
                    e0, e1 = type_start[t], type_start[t + 1]
                    c0, c1 = class_of_group[o * n_types + t], class_of_group[o * n_types + t + 1]
                    _, taken, scale, served, _, _ = _first_choice(
                        c0, c1, class_start, metres, nearest_metres[o * n_types + t], facility, speed[r],
                        beta[t], limit_min[e0:e1], per_resident[e0:e1], 0.0, x,
                    )  # fmt: skip
                    if taken >= 0:
                        with_others, own_group = _add_company(
                            facility[taken], served * visit_min[t], g, total_f, minutes_fg, own, with_others, own_group
                        )
                    elif served > 0.0:
                        for c in range(c1 - c0):
                            if x[c] > 0.0:
                                mine = scale * x[c] * visit_min[t]
                                for j in range(class_start[c0 + c], class_start[c0 + c + 1]):
                                    with_others, own_group = _add_company(
                                        facility[j], mine, g, total_f, minutes_fg, own, with_others, own_group
                                    )
                own[1 + g] = own_group
                company[r] = with_others
                share_sum[r] = own[1:]
    return company, share_sum


@dataclass(frozen=True, eq=False)
class Allocation:
    """The expected allocation of a run's wanted visits, without time (docs/static.md).

    Attributes:
        visits: Expected visits over the run, shape (facilities, groups).
        person_min: Expected person-minutes over the run (visits × the type's visit_min), same shape.
        company_min: Per resident, expected person-minutes at facilities where others are expected.
        exposure: Per resident and group h, e_rh: the expected share of h among the others at the
            facilities it uses, weighted by its expected minutes there (NaN without company).
        present: Per resident, the probability of at least one visit over the run.
        wanted: Per type, expected wanted visits over the run (every planned departure).
        unmet: Per type, expected wanted visits with no usable candidate (nothing within reach).
        served: Per type, expected visits (departures with a usable candidate).
        walk_min: Per type, expected one-way walking minutes summed over visits.
        near: Per type, expected visits to a facility within 15 minutes of home at the reference pace.
        departures: The departures by window and walk limit.
    """

    visits: np.ndarray
    person_min: np.ndarray
    company_min: np.ndarray
    exposure: np.ndarray
    present: np.ndarray
    wanted: np.ndarray
    unmet: np.ndarray
    served: np.ndarray
    walk_min: np.ndarray
    near: np.ndarray
    departures: Departures


_ALLOCATIONS: weakref.WeakKeyDictionary[RunContext, Allocation] = weakref.WeakKeyDictionary()


def allocate(context: RunContext) -> Allocation:
    """The expected allocation of the run's wanted visits by the simulation's choice rule (kept per context)."""
    if context not in _ALLOCATIONS:
        _ALLOCATIONS[context] = _compute_allocation(context)
    return _ALLOCATIONS[context]


def _compute_allocation(context: RunContext) -> Allocation:
    res, types, reach = context.population, context.types, context.reach
    plan = departures(context)
    # a type with enrolment is wanted by the children who sought a place (capacity ignored, as ever)
    needs = rules.plans(rules.needs(res.age, types), context.enrolment.applicants(len(types)), types)
    n_groups = context.n_groups
    n_facilities = len(context.city.facilities)
    near_m = usage.FIFTEEN_MIN * context.spec.simulation.reference_m_per_min
    type_of_entry = np.repeat(np.arange(len(types)), np.diff(plan.type_start))
    if reach.metres.size >= 2**31:  # the classes' starts are int32
        raise ValueError(f"a candidate table of {reach.metres.size:,} entries is beyond the static baseline's 2**31")
    class_of_group, class_start, nearest_metres = _metre_classes(reach.indptr, reach.metres)
    by_origin = np.argsort(context.origin_of, kind="stable")  # the residents home by home
    origin_start = np.searchsorted(context.origin_of[by_origin], np.arange(reach.origins.size + 1))
    most_classes = max(int(np.diff(class_of_group).max(initial=0)), 1)
    beta = types.beta_per_min.astype(float)
    common = (by_origin, origin_start, class_of_group, class_start, reach.metres, nearest_metres, reach.facility,
              reach.n_types, res.m_per_min, res.group, needs, beta, plan.type_start)  # fmt: skip
    visits, totals, log_none = _allocate(
        *common,
        plan.window,
        plan.limit_min,
        plan.share,
        plan.per_resident,
        types.daily_prob[type_of_entry].astype(float),
        plan.days_wanted[type_of_entry].astype(float),
        int(types.window_type.size),
        float(near_m),
        n_facilities,
        n_groups,
        most_classes,
        max(int(np.diff(class_of_group[:: max(reach.n_types, 1)]).max(initial=0)), 1),  # no types: no classes
    )
    person_min = visits * types.visit_min[context.facility_type][:, None]
    company, share_sum = _company(
        *common, plan.limit_min, plan.per_resident, types.visit_min.astype(float), person_min, most_classes
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        exposure = np.where(company[:, None] > 0, share_sum / company[:, None], np.nan)
    return Allocation(
        visits=visits,
        person_min=person_min,
        company_min=company,
        exposure=exposure,
        present=-np.expm1(log_none),
        wanted=totals[0],
        unmet=totals[1],
        served=totals[2],
        walk_min=totals[3],
        near=totals[4],
        departures=plan,
    )


def weighted_isolation(exposure: np.ndarray, group_of: np.ndarray, weight: np.ndarray, n_groups: int) -> np.ndarray:
    """Experienced isolation with each resident weighted (docs/static.md).

    isolation[g] = Σ_{r∈g} w_r e_rg / Σ_{r∈g} w_r − Σ_{r∉g} w_r e_rg / Σ_{r∉g} w_r: the formula of
    :func:`model.measures.activity.experienced_isolation` (Athey et al. 2021), whose plain means
    over the residents who had company become means weighted by the probability w_r that r was
    present at all. With every weight 1 the two functions agree (tests/test_static.py).

    Args:
        exposure: e_rh, shape (residents, groups), residents with company only.
        group_of: Group index of each of those residents.
        weight: w_r of each of those residents.
        n_groups: Number of groups.

    Returns:
        One value per group; NaN where either side has no weight.
    """
    in_g = np.bincount(group_of, weights=weight, minlength=n_groups)
    out = np.full(n_groups, np.nan)
    for g in range(n_groups):
        mine = group_of == g
        rest = weight.sum() - in_g[g]
        if in_g[g] > 0 and rest > 0:
            out[g] = (weight[mine] * exposure[mine, g]).sum() / in_g[g] - (
                weight[~mine] * exposure[~mine, g]
            ).sum() / rest
    return out


def _activity(context: RunContext, alloc: Allocation) -> dict:
    """The mixing.activity figures from the expected person-minutes (docs/static.md)."""
    res = context.population
    names = res.group_names
    n_groups = len(names)
    shares = segregation.group_shares(np.bincount(res.group, minlength=n_groups))
    company = alloc.company_min > 0
    w = alloc.present[company]
    members = res.group[company]
    e = alloc.exposure[company]
    in_g = np.bincount(members, weights=w, minlength=n_groups)
    matrix = np.full((n_groups, n_groups), np.nan)
    for h in range(n_groups):
        sums = np.bincount(members, weights=w * e[:, h], minlength=n_groups)
        matrix[in_g > 0, h] = sums[in_g > 0] / in_g[in_g > 0]
    out_group = np.where(np.eye(n_groups, dtype=bool), 0.0, matrix).sum(axis=1)
    isolation = weighted_isolation(e, members, w, n_groups)
    # co-presence spread evenly over opening hours: c_fg = m_fg / open minutes on each wanted day
    ftype = context.facility_type
    days = alloc.departures.days_wanted[ftype].astype(float)
    open_min = (context.types.close_min - context.types.open_min)[ftype].astype(float)
    per_day = alloc.person_min / np.maximum(days, 1)[:, None]
    total = per_day.sum(axis=1, keepdims=True)
    cross = float((days * (per_day * (total - per_day)).sum(axis=1) / open_min).sum())
    present = alloc.person_min[alloc.person_min.sum(axis=1) > 0]
    coverage = np.bincount(res.group, weights=alloc.present, minlength=n_groups)
    members_all = np.bincount(res.group, minlength=n_groups)
    return {
        "exposure": {name: float(out_group[g]) for g, name in enumerate(names)},
        "exposure_matrix": {
            name: {other: float(matrix[g, h]) for h, other in enumerate(names)} for g, name in enumerate(names)
        },
        "cross_group_person_minutes_per_resident_day": cross / (len(res) * context.days),
        "relative_exposure": {
            name: segregation.relative_exposure(float(out_group[g]), float(shares[g])) for g, name in enumerate(names)
        },
        "experienced_isolation": {name: float(isolation[g]) for g, name in enumerate(names)},
        "multigroup_dissimilarity": segregation.multigroup_dissimilarity(present),
        "coverage": float(alloc.present.mean()),
        "coverage_by_group": {
            name: float(coverage[g] / members_all[g]) if members_all[g] else math.nan for g, name in enumerate(names)
        },
    }


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else math.nan


def _usage(context: RunContext, alloc: Allocation) -> dict:
    """Usage figures per type from the expected visits, and the expected load of the places."""
    fac = context.city.facilities
    ftype = context.facility_type
    capacity = fac["capacity"].to_numpy().astype(float)
    open_min = (context.types.close_min - context.types.open_min).astype(float)
    out: dict = {}
    everyday = [t for t, name in enumerate(context.city.types) if name in usage.EVERYDAY_TYPES]
    if everyday:
        out["fifteen_minute_usage"] = _ratio(alloc.near[everyday].sum(), alloc.served[everyday].sum())
        out["unmet_share"] = _ratio(alloc.unmet[everyday].sum(), alloc.wanted[everyday].sum())
    for t, name in enumerate(context.city.types):
        mine = ftype == t
        days = alloc.departures.days_wanted[t]
        visits_f = alloc.visits[mine].sum(axis=1) / max(days, 1)  # per day on which the type is planned
        minutes_f = alloc.person_min[mine].sum(axis=1) / max(days, 1)
        cap = capacity[mine]
        per_place = visits_f / cap
        load = minutes_f / (cap * open_min[t])
        out[name] = {
            "visits": float(alloc.served[t] / context.days),
            "unmet_share": _ratio(alloc.unmet[t], alloc.wanted[t]),
            "mean_walk_min": _ratio(alloc.walk_min[t], alloc.served[t]),
            "fifteen_minute_usage": _ratio(alloc.near[t], alloc.served[t]),
            "visits_per_place": _ratio(visits_f.sum(), cap.sum()) if days else math.nan,
            "visits_per_place_max": float(per_place.max()) if days and mine.any() else math.nan,
            "load": _ratio(minutes_f.sum(), cap.sum() * open_min[t]) if days else math.nan,
            "load_max": float(load.max()) if days and mine.any() else math.nan,
        }
    return out


def _catchment(context: RunContext, alloc: Allocation) -> dict:
    """Per type: the expected users' group shares and their dissimilarity over the type's facilities."""
    names = context.population.group_names
    out = {}
    for t, name in enumerate(context.city.types):
        table = alloc.visits[context.facility_type == t]
        total = table.sum()
        out[name] = {
            "share": {g: _ratio(table[:, k].sum(), total) for k, g in enumerate(names)},
            "multigroup_dissimilarity": segregation.multigroup_dissimilarity(table),
        }
    return out


def static_baseline(context: RunContext, access: dict | None = None) -> dict:
    """summary.json's ``static`` block: the run's figures without time, beside the agent model's.

    Keys parallel the summary's: ``usage.<type>.visits`` (expected visits per day),
    ``unmet_share``, ``mean_walk_min``, ``fifteen_minute_usage`` (and the overall two),
    ``mixing.activity.*`` (exposure, exposure_matrix, relative_exposure, experienced_isolation,
    multigroup_dissimilarity, coverage, coverage_by_group,
    cross_group_person_minutes_per_resident_day); beside them the static figures only:
    ``usage.<type>.visits_per_place``, ``visits_per_place_max``, ``load``, ``load_max``, and
    ``catchment.<type>.share.<group>``, ``catchment.<type>.multigroup_dissimilarity``.
    Supply-aware access (2SFCA) is static already (no time, no choice): with ``access`` given,
    its figures ``access.<type>.sfca_mean``, ``sfca_p10`` and ``sfca_zero`` are copied in, so
    the block holds every static figure (their difference from the summary's is 0).
    Definitions in docs/static.md. NaN where a figure is undefined (summary.json writes null).

    Args:
        context: The run (its city, residents, types, candidate table, days and cut-off); the
            visit log is not read.
        access: The summary's ``access`` block (:func:`model.measures.summary.summarise`), or None.

    Returns:
        ``{"usage": ..., "mixing": {"activity": ...}, "catchment": ...}`` (and ``access``), plain
        Python numbers.
    """
    alloc = allocate(context)
    out = {
        "usage": _usage(context, alloc),
        "mixing": {"activity": _activity(context, alloc)},
        "catchment": _catchment(context, alloc),
    }
    if access is not None:
        out["access"] = {t: {k: a[k] for k in SFCA_KEYS} for t, a in access.items()}
    return out


# The 2SFCA figures of summary.json's access block: static by nature, copied into the static block.
SFCA_KEYS = ("sfca_mean", "sfca_p10", "sfca_zero")


def differences(agent: dict, baseline: dict) -> dict[str, float]:
    """Agent model − static baseline for every figure the two share, by dotted path.

    Args:
        agent: The summary flattened (``measures.summary.flatten(summary)``).
        baseline: The baseline flattened (``flatten(static_baseline(context))``): its paths are
            the summary's (``usage.market.visits``, ``mixing.activity.exposure.mongol``).

    Returns:
        ``{path: agent − static}`` for the paths in both whose values are numbers; NaN where
        either is missing (None or NaN).
    """
    out = {}
    for path, value in baseline.items():
        if path not in agent or isinstance(value, bool) or not isinstance(value, int | float | None):
            continue
        other = agent[path]
        if isinstance(other, bool) or not isinstance(other, int | float | None):
            continue
        out[path] = math.nan if value is None or other is None else float(other) - float(value)
    return out


def twins(flat: dict) -> dict[str, tuple]:
    """Every figure of a flattened summary that has a static twin: ``{path: (agent, static, agent − static)}``.

    Args:
        flat: summary.json flattened (``measures.summary.flatten``), with its ``static.`` block.

    Returns:
        By the agent figure's dotted path (``usage.park.visits``), in the static block's order;
        None for a missing or undefined (null, NaN) value, and for the difference of one.
    """
    prefix = "static."
    agent = {k: v for k, v in flat.items() if not k.startswith(prefix)}
    baseline = {k[len(prefix) :]: v for k, v in flat.items() if k.startswith(prefix)}
    out = {}
    for path, diff in differences(agent, baseline).items():
        out[path] = (_number(agent[path]), _number(baseline[path]), _number(diff))
    return out


def _number(value):
    """None for a missing or undefined figure, else the number."""
    return None if value is None or (isinstance(value, float) and not math.isfinite(value)) else value


def static_facilities(context: RunContext) -> pd.DataFrame:
    """One row per facility: its expected visits and person-minutes per day, load and users' group shares.

    Columns ``static_visits``, ``static_person_min`` (per day on which the type is planned),
    ``static_load`` (person-minutes over capacity × opening minutes) and ``static_share_<group>``
    (the expected users' group shares: catchment composition; NaN for a facility nobody uses),
    indexed by facility id, for facilities.csv.
    """
    alloc = allocate(context)
    ftype = context.facility_type
    days = np.maximum(alloc.departures.days_wanted[ftype], 1).astype(float)
    visits = alloc.visits.sum(axis=1)
    minutes = alloc.person_min.sum(axis=1) / days
    open_min = (context.types.close_min - context.types.open_min)[ftype]
    capacity = context.city.facilities["capacity"].to_numpy().astype(float)
    frame = pd.DataFrame(
        {
            "static_visits": visits / days,
            "static_person_min": minutes,
            "static_load": minutes / (capacity * open_min),
        }
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        for k, g in enumerate(context.population.group_names):
            frame[f"static_share_{g}"] = np.where(visits > 0, alloc.visits[:, k] / visits, np.nan)
    return frame
