"""Mixing metrics: pure functions on count tables and visit logs.

Every formula here is the one written in ``../shared/METRICS.md``; each index is computed in
exactly one function and the composite reporters (:func:`residential_mixing`,
:func:`activity_mixing`) only assemble them.

Residential segregation (Massey & Denton 1988; Reardon & Firebaugh 2002) works on a count table
``counts`` of shape ``(units, groups)``: ``counts[i, g]`` is the number of residents of group ``g``
living in unit ``i`` (a residential block or a community). Units with no residents are left out.

Activity-space mixing (Athey et al. 2021; Moro et al. 2021) works on the visit log: who was present
at which facility during which minutes, and with whom.

Undefined values (a ratio whose denominator is zero, e.g. the dissimilarity of a group that has no
members) are returned as ``float("nan")`` rather than raised, so that one empty group does not stop a
run's report; the caller writes NaN as ``null``.

Sources:
    Massey, D. & Denton, N. (1988) The dimensions of residential segregation. Social Forces 67(2).
    Reardon, S. & Firebaugh, G. (2002) Measures of multigroup segregation. Sociological
    Methodology 32.
    Athey, S., Ferguson, B., Gentzkow, M., Schmidt, T. (2021) Estimating experienced racial
    segregation in US cities using large-scale GPS data. PNAS 118(46).
    Moro, E., Calacci, D., Dong, X., Pentland, A. (2021) Mobility patterns are associated with
    experienced income segregation in large US cities. Nature Communications 12.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "facility_usage",
    "activity_mixing",
    "count_table",
    "dissimilarity",
    "exposure",
    "information_theory",
    "isolation",
    "multigroup_dissimilarity",
    "residential_mixing",
]

NAN = float("nan")


# --------------------------------------------------------------------------------------------------
# Residential segregation
# --------------------------------------------------------------------------------------------------


def count_table(
    unit_ids: ArrayLike, group_ids: ArrayLike, n_groups: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Build the (unit × group) count table from one row per resident.

    Args:
        unit_ids: Integer unit key per resident, shape ``(residents,)``; or shape
            ``(residents, k)`` for composite keys such as ``(x // block_cells, y // block_cells)``.
        group_ids: Group index per resident, shape ``(residents,)``, each in ``[0, n_groups)``.
        n_groups: Number of groups (columns of the table), including groups with no residents.

    Returns:
        ``(unit_keys, counts)``: the sorted distinct unit keys (shape ``(units,)`` or
        ``(units, k)``) and ``counts`` of shape ``(units, n_groups)`` where ``counts[i, g]`` is the
        number of residents of group ``g`` whose key is ``unit_keys[i]``. Only units with at least
        one resident appear.

    Raises:
        ValueError: If the arrays disagree in length or a group index is out of range.

    """
    units = np.asarray(unit_ids)
    groups = np.asarray(group_ids, dtype=np.int64).reshape(-1)
    if units.shape[:1] != groups.shape:
        raise ValueError(
            f"count_table: unit_ids has {units.shape[0] if units.ndim else 0} rows but group_ids has {groups.size}"
        )
    if n_groups < 1:
        raise ValueError(f"count_table: n_groups must be >= 1, got {n_groups}")
    if groups.size and (groups.min() < 0 or groups.max() >= n_groups):
        raise ValueError(f"count_table: group_ids must lie in [0, {n_groups}), got [{groups.min()}, {groups.max()}]")
    if units.ndim == 1:
        unit_keys, unit_index = np.unique(units, return_inverse=True)
    else:
        unit_keys, unit_index = np.unique(units, axis=0, return_inverse=True)
    unit_index = unit_index.reshape(-1)
    flat = np.bincount(unit_index * n_groups + groups, minlength=len(unit_keys) * n_groups)
    return unit_keys, flat.reshape(len(unit_keys), n_groups).astype(np.int64)


def _occupied(counts: ArrayLike) -> NDArray[np.float64]:
    """Return the count table as float64 with the units of zero total left out.

    Raises:
        ValueError: If the table is not 2-D or holds negative counts.

    """
    table = np.asarray(counts, dtype=np.float64)
    if table.ndim != 2:
        raise ValueError(f"counts must be a 2-D (units, groups) table, got shape {table.shape}")
    if (table < 0).any():
        raise ValueError("counts must be non-negative")
    return table[table.sum(axis=1) > 0]


def _ratio(numerator: float, denominator: float) -> float:
    """Return ``numerator / denominator`` as a Python float, NaN when the denominator is zero."""
    return float(numerator / denominator) if denominator > 0 else NAN


def dissimilarity(counts: ArrayLike, g: int) -> float:
    """Two-group dissimilarity index of group ``g`` against all other residents.

    D_g = ½ Σ_i | m_gi / M_g − (t_i − m_gi) / (T − M_g) |

    The share of group ``g`` (or, equally, of everyone else) that would have to move for ``g`` to
    be spread over the units like everyone else (Massey & Denton 1988, evenness). Equals PySAL
    ``segregation.singlegroup.Dissim(df, group_pop_var=g, total_pop_var=total).statistic``.

    Args:
        counts: Count table of shape ``(units, groups)``.
        g: Column of the group.

    Returns:
        D_g in [0, 1]; NaN if group ``g`` has no members or nobody else lives in the units.

    """
    table = _occupied(counts)
    m = table[:, g]
    others = table.sum(axis=1) - m
    if m.sum() == 0 or others.sum() == 0:
        return NAN
    return float(0.5 * np.abs(m / m.sum() - others / others.sum()).sum())


def isolation(counts: ArrayLike, g: int) -> float:
    """Isolation index xPx of group ``g``.

    xPx_g = Σ_i (m_gi / M_g) · (m_gi / t_i)

    The share of group ``g`` in the unit of the average member of ``g`` (Massey & Denton 1988,
    exposure dimension). Equals PySAL ``segregation.singlegroup.Isolation``.

    Args:
        counts: Count table of shape ``(units, groups)``.
        g: Column of the group.

    Returns:
        xPx_g in [0, 1]; NaN if group ``g`` has no members.

    """
    table = _occupied(counts)
    m = table[:, g]
    return _ratio(float((m * (m / table.sum(axis=1))).sum()), float(m.sum()))


def exposure(counts: ArrayLike, g: int) -> float:
    """Exposure (interaction) index xPy of group ``g`` to all other residents.

    xPy_g = Σ_i (m_gi / M_g) · ((t_i − m_gi) / t_i)

    The share of other groups in the unit of the average member of ``g``; xPx_g + xPy_g = 1
    (Massey & Denton 1988, exposure dimension). Equals PySAL ``segregation.singlegroup.Interaction``.

    Args:
        counts: Count table of shape ``(units, groups)``.
        g: Column of the group.

    Returns:
        xPy_g in [0, 1]; NaN if group ``g`` has no members.

    """
    table = _occupied(counts)
    m = table[:, g]
    t = table.sum(axis=1)
    return _ratio(float((m * ((t - m) / t)).sum()), float(m.sum()))


def multigroup_dissimilarity(counts: ArrayLike) -> float:
    """Multigroup dissimilarity index.

    D = Σ_g Σ_i t_i |π_gi − π_g| / (2 T I),  I = Σ_g π_g (1 − π_g)

    (Reardon & Firebaugh 2002.) Equals PySAL ``segregation.multigroup.MultiDissim``.

    Args:
        counts: Count table of shape ``(units, groups)``.

    Returns:
        D in [0, 1]; NaN if fewer than two groups have members (I = 0) or the table is empty.

    """
    table = _occupied(counts)
    t = table.sum(axis=1)
    total = t.sum()
    if total == 0:
        return NAN
    pi = table.sum(axis=0) / total
    simpson = float((pi * (1.0 - pi)).sum())
    spread = float((t[:, None] * np.abs(table / t[:, None] - pi)).sum())
    return _ratio(spread, 2.0 * total * simpson)


def _entropy(shares: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return −Σ p ln p along the last axis, with 0·ln 0 = 0."""
    safe = np.where(shares > 0, shares, 1.0)
    return -(shares * np.log(safe)).sum(axis=-1)


def information_theory(counts: ArrayLike) -> float:
    """Multigroup information theory index (Theil's H).

    H = Σ_i t_i (E − E_i) / (T E),  E = −Σ_g π_g ln π_g,  E_i = −Σ_g π_gi ln π_gi  (0·ln 0 = 0)

    (Reardon & Firebaugh 2002.) Equals PySAL ``segregation.multigroup.MultiInfoTheory``.

    Args:
        counts: Count table of shape ``(units, groups)``.

    Returns:
        H in [0, 1]; NaN if fewer than two groups have members (E = 0) or the table is empty.

    """
    table = _occupied(counts)
    t = table.sum(axis=1)
    total = t.sum()
    if total == 0:
        return NAN
    city_entropy = float(_entropy(table.sum(axis=0) / total))
    unit_entropy = _entropy(table / t[:, None])
    return _ratio(float((t * (city_entropy - unit_entropy)).sum()), total * city_entropy)


def residential_mixing(counts: ArrayLike, group_names: Sequence[str]) -> dict:
    """All residential mixing indices of one count table, keyed by group name.

    Args:
        counts: Count table of shape ``(units, groups)``; column ``g`` is ``group_names[g]``.
        group_names: One name per column.

    Returns:
        ``{"dissimilarity": {name: D_g}, "isolation": {name: xPx_g}, "exposure": {name: xPy_g},
        "multigroup_dissimilarity": D, "information_theory": H}`` with plain Python floats.
        A group with no members gets NaN for its three single-group indices (and its
        dissimilarity is NaN too when it is the only group present); the multigroup indices are
        NaN when fewer than two groups have members. Absent groups do not change the multigroup
        indices of the others.

    Raises:
        ValueError: If the number of names differs from the number of columns.

    """
    table = np.asarray(counts)
    if table.ndim != 2 or table.shape[1] != len(group_names):
        raise ValueError(
            f"residential_mixing: counts has shape {table.shape} but {len(group_names)} group names were given"
        )
    return {
        "dissimilarity": {name: dissimilarity(table, g) for g, name in enumerate(group_names)},
        "isolation": {name: isolation(table, g) for g, name in enumerate(group_names)},
        "exposure": {name: exposure(table, g) for g, name in enumerate(group_names)},
        "multigroup_dissimilarity": multigroup_dissimilarity(table),
        "information_theory": information_theory(table),
    }


# --------------------------------------------------------------------------------------------------
# Activity-space mixing
# --------------------------------------------------------------------------------------------------


def _distinct(keys: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Sorted distinct keys and each key's position among them (np.unique with inverse).

    One argsort; faster than ``np.unique`` on millions of keys, which hashes and then sorts.
    """
    order = np.argsort(keys)
    ordered = keys[order]
    is_new = np.ones(keys.size, dtype=bool)
    is_new[1:] = ordered[1:] != ordered[:-1]
    position = np.empty(keys.size, dtype=np.int64)
    position[order] = np.cumsum(is_new) - 1
    return ordered[is_new], position


def _cumsum_by_segment(rows: NDArray[np.float64], segment_starts: NDArray[np.intp]) -> None:
    """Cumulative sum down ``rows`` in place, restarting at each segment, to float64 precision.

    The restart subtracts a segment's total on its last row, so row ``k`` afterwards holds the sum
    of its segment's rows up to ``k`` (the last row of a segment holds about 0). Keeping the running
    sum at the size of one facility's totals, not the whole city's, keeps differences of two
    prefix values accurate to float64 precision at city scale.
    """
    if len(segment_starts) > 1:
        totals = np.add.reduceat(rows, segment_starts, axis=0)
        rows[segment_starts[1:] - 1] -= totals[:-1]
    np.cumsum(rows, axis=0, out=rows)


def _check_visits(
    resident: NDArray[np.int64],
    facility: NDArray[np.int64],
    arrive_min: NDArray[np.int64],
    leave_min: NDArray[np.int64],
    group_of: NDArray[np.int64],
    n_groups: int,
    n_residents: int,
    days: float,
) -> None:
    """Raise ValueError, saying which argument is wrong, if the visit log is inconsistent."""
    n = resident.shape[0]
    for name, array in (("facility", facility), ("arrive_min", arrive_min), ("leave_min", leave_min)):
        if array.shape != (n,):
            raise ValueError(f"activity_mixing: {name} has shape {array.shape}, expected ({n},)")
    if n_residents < 1 or not days > 0:
        raise ValueError(f"activity_mixing: n_residents ({n_residents}) and days ({days}) must be positive")
    if group_of.shape != (n_residents,):
        raise ValueError(f"activity_mixing: group_of has shape {group_of.shape}, expected ({n_residents},)")
    if group_of.min() < 0 or group_of.max() >= n_groups:
        raise ValueError(f"activity_mixing: group_of must lie in [0, {n_groups}) ({n_groups} group names)")
    if n == 0:
        return
    if resident.min() < 0 or resident.max() >= n_residents:
        raise ValueError(f"activity_mixing: resident ids must lie in [0, {n_residents})")
    if (leave_min < arrive_min).any():
        raise ValueError("activity_mixing: leave_min < arrive_min in some visit")
    # Presence is counted per visit; a resident in two places at once would be counted twice.
    present = leave_min > arrive_min
    who, arrive, leave = resident[present], arrive_min[present], leave_min[present]
    if who.size:
        width = int(leave.max() - arrive.min()) + 1
        order = np.argsort(who * width + (arrive - arrive.min()))
        same = who[order][1:] == who[order][:-1]
        if (same & (arrive[order][1:] < leave[order][:-1])).any():
            raise ValueError("activity_mixing: a resident has overlapping visits")


def activity_mixing(
    resident: ArrayLike,
    facility: ArrayLike,
    arrive_min: ArrayLike,
    leave_min: ArrayLike,
    group_of: ArrayLike,
    group_names: Sequence[str],
    n_residents: int,
    days: float,
) -> dict:
    r"""Activity-space mixing: which groups residents share facilities with, minute by minute.

    Resident r is present at facility f during minutes arrive ≤ t < leave; V(f, t) is the set of
    residents present. For r ∈ V(f, t) with n = |V(f, t)| − 1 ≥ 1 others present:

    - share_rh(t) = |{s ∈ V(f, t) \ {r} : group(s) = h}| / n
    - e_rh = mean of share_rh(t) over the minutes at which r had company; residents who never had
      company are left out;
    - exposure_matrix[g][h] = mean of e_rh over the residents r of group g;
    - exposure[g] = Σ_{h≠g} exposure_matrix[g][h], the out-group share of the company that
      members of g experience where they go (the complement of "experienced isolation", Athey et
      al. 2021; cf. experienced segregation from co-location at places, Moro et al. 2021);
    - cross_group_minutes_per_capita = Σ_{r, t} |{s ∈ V(f, t) : group(s) ≠ group(r)}| /
      (n_residents · days).

    Method (linear, not quadratic, in the visitors of a facility): arrivals and departures cut
    each facility's time into intervals [b_k, b_k+1) on which the head count c_kh of every group h
    is constant (n_k = Σ_h c_kh). Per facility, prefix sums over the intervals of
    L_k·c_kh/(n_k − 1) and L_k/(n_k − 1), taken where n_k ≥ 2 (L_k = interval length), give the
    sum of share_rh over one visit as a difference of two prefix values minus, for h = group(r),
    r itself. Each visit then costs O(groups) after an O(intervals · groups) sweep.
    Out-group person-minutes need no per-visit step: Σ_k L_k (n_k² − Σ_h c_kh²).

    Args:
        resident: Resident id per completed visit, in ``[0, n_residents)``.
        facility: Facility id per visit (any integers).
        arrive_min: First minute present, absolute since the start of the run.
        leave_min: First minute no longer present (visits with leave = arrive are empty).
        group_of: Group index of each resident, shape ``(n_residents,)``.
        group_names: Name of each group index.
        n_residents: Number of residents in the population (the per-capita denominator).
        days: Number of simulated days covered by the log.

    Returns:
        ``{"exposure": {g: float}, "exposure_matrix": {g: {h: float}},
        "cross_group_minutes_per_capita": float}`` keyed by group name, plain Python floats.
        Groups none of whose residents ever had company get NaN in ``exposure`` and in their
        ``exposure_matrix`` row.

    Raises:
        ValueError: If the arrays are inconsistent, an id is out of range, or a resident has two
            overlapping visits (a resident cannot be in two places at once).

    """
    resident_ = np.asarray(resident, dtype=np.int64).reshape(-1)
    facility_ = np.asarray(facility, dtype=np.int64)
    arrive = np.asarray(arrive_min, dtype=np.int64)
    leave = np.asarray(leave_min, dtype=np.int64)
    groups_of = np.asarray(group_of, dtype=np.int64)
    n_groups = len(group_names)
    _check_visits(resident_, facility_, arrive, leave, groups_of, n_groups, n_residents, days)

    present = leave > arrive
    resident_, facility_ = resident_[present], facility_[present]
    arrive, leave = arrive[present], leave[present]
    own = groups_of[resident_]

    share_sum = np.zeros((n_residents, n_groups))  # Σ over company minutes of share_rh(t)
    company_min = np.zeros(n_residents)  # minutes with n ≥ 1 others present
    cross_min = 0  # Σ over residents and minutes of out-group others present
    if resident_.size:
        # Breakpoints: the distinct (facility, minute) keys at which somebody arrives or leaves.
        # Interval k runs from breakpoint k to k + 1 (length 0 after a facility's last one).
        n_visits = resident_.size
        _, fac_index = _distinct(facility_)
        t0 = arrive.min()
        width = int(leave.max() - t0) + 1
        breakpoints, position = _distinct(
            np.concatenate([fac_index * width + (arrive - t0), fac_index * width + (leave - t0)])
        )
        start, stop = position[:n_visits], position[n_visits:]
        n_bp = breakpoints.size
        bp_facility = breakpoints // width
        facility_starts = np.flatnonzero(np.diff(bp_facility, prepend=-1))
        length = np.diff(breakpoints, append=breakpoints[-1])
        length[facility_starts[1:] - 1] = 0

        # Head counts per group and interval: difference array, then cumulative sum (integers,
        # exact; each facility nets to zero at its last breakpoint).
        heads = np.bincount(start * n_groups + own, minlength=n_bp * n_groups)
        np.subtract.at(heads, stop * n_groups + own, 1)  # in place: no second table
        heads = heads.reshape(n_bp, n_groups)
        np.cumsum(heads, axis=0, out=heads)
        everyone = heads.sum(axis=1)
        cross_min = int((length * (everyone**2 - np.einsum("kh,kh->k", heads, heads))).sum())

        # prefix[k + 1] = Σ over intervals ≤ k of the facility of [L·c_h/(n−1) for h, L/(n−1)]
        company = everyone >= 2
        per_other = np.where(company, length / np.maximum(everyone - 1, 1), 0.0)
        prefix = np.zeros((n_bp + 1, n_groups + 1))
        np.multiply(heads, per_other[:, None], out=prefix[1:, :n_groups])
        prefix[1:, n_groups] = per_other
        _cumsum_by_segment(prefix[1:], facility_starts)
        del heads
        company_prefix = np.concatenate([[0], np.cumsum(length * company)])  # exact integers

        company_min = np.bincount(
            resident_, weights=company_prefix[stop] - company_prefix[start], minlength=n_residents
        )
        self_weight = prefix[stop, n_groups] - prefix[start, n_groups]
        for h in range(n_groups):  # one column at a time keeps memory O(visits)
            visit_share = prefix[stop, h] - prefix[start, h] - np.where(own == h, self_weight, 0)
            share_sum[:, h] = np.bincount(resident_, weights=np.maximum(visit_share, 0.0), minlength=n_residents)

    had_company = company_min > 0
    e = share_sum[had_company] / company_min[had_company, None]
    members = groups_of[had_company]
    n_members = np.bincount(members, minlength=n_groups)
    matrix = np.full((n_groups, n_groups), np.nan)
    for h in range(n_groups):
        totals = np.bincount(members, weights=e[:, h], minlength=n_groups)
        matrix[n_members > 0, h] = totals[n_members > 0] / n_members[n_members > 0]
    out_group = np.where(np.eye(n_groups, dtype=bool), 0.0, matrix).sum(axis=1)

    return {
        "exposure": {name: float(out_group[g]) for g, name in enumerate(group_names)},
        "exposure_matrix": {
            name: {other: float(matrix[g, h]) for h, other in enumerate(group_names)}
            for g, name in enumerate(group_names)
        },
        "cross_group_minutes_per_capita": cross_min / (n_residents * days),
    }


def facility_usage(
    visit_type: NDArray[np.int64],
    walk_min: NDArray[np.float64],
    facility_type: NDArray[np.int64],
    turned_away: NDArray[np.int64],
    peak_occupancy: NDArray[np.int64],
    capacity: NDArray[np.int64],
    unmet: NDArray[np.int64],
    type_names: Sequence[str],
    days: int,
) -> dict:
    """Usage of each facility type over a run ("Usage" in ../shared/METRICS.md).

    Args:
        visit_type: Type index of each completed visit.
        walk_min: Realised one-way walking minutes of each completed visit.
        facility_type: Type index of each facility.
        turned_away: Turned-away arrivals per facility (whole run).
        peak_occupancy: Most visitors present at once per facility.
        capacity: Capacity per facility.
        unmet: Wanted visits not served, per type (whole run).
        type_names: Names of the type indices.
        days: Days simulated.

    Returns:
        ``{type: {"visits", "turned_away", "unmet_share", "mean_walk_min", "fifteen_minute_usage",
        "peak_occupancy_ratio"}}``: visits and turned_away per day; unmet_share = unmet / (visits +
        unmet) over the run; fifteen_minute_usage = share of served trips walked in at most 15 min
        (Abbiasov et al. 2024); peak_occupancy_ratio = max over the type's facilities of peak / capacity.
    """
    out = {}
    for t, name in enumerate(type_names):
        mine = visit_type == t
        walks = walk_min[mine]
        served = int(mine.sum())
        wanted = served + int(unmet[t])
        fac = facility_type == t
        out[name] = {
            "visits": served / days,
            "turned_away": float(turned_away[fac].sum()) / days,
            "unmet_share": int(unmet[t]) / wanted if wanted else float("nan"),
            "mean_walk_min": float(walks.mean()) if walks.size else float("nan"),
            "fifteen_minute_usage": float((walks <= 15.0).mean()) if walks.size else float("nan"),
            "peak_occupancy_ratio": float((peak_occupancy[fac] / capacity[fac]).max()) if fac.any() else float("nan"),
        }
    return out
