"""Activity-space mixing: which groups residents share facilities with, minute by minute.

Works on the visit log: who was present at which facility during which minutes, and with whom.
Formulas in docs/metrics.md ("Activity-space mixing").

Sources:
    Athey, S., Ferguson, B., Gentzkow, M., Schmidt, T. (2021) Estimating experienced racial
    segregation in US cities using large-scale GPS data. PNAS 118(46).
    Moro, E., Calacci, D., Dong, X., Pentland, A. (2021) Mobility patterns are associated with
    experienced income segregation in large US cities. Nature Communications 12.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from model.measures import segregation


def cross_group_copresence(occupancy: NDArray[np.int64]) -> int:
    """Out-group company now: sum over visitors present of the others present from other groups.

    With ``occupancy[f, g]`` visitors of group g at facility f, that is
    ``sum_f sum_g occ[f, g] * (n_f - occ[f, g])``: the per-tick term of
    cross_group_person_minutes_per_resident_day (docs/metrics.md).
    """
    n = occupancy.sum(axis=1, keepdims=True)
    return int((occupancy * (n - occupancy)).sum())


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
      members of g experience where they go (cf. experienced segregation from co-location at
      places, Athey et al. 2021; Moro et al. 2021);
    - cross_group_person_minutes_per_resident_day = Σ_{r, t} |{s ∈ V(f, t) : group(s) ≠ group(r)}| /
      (n_residents · days);
    - relative_exposure[g] = exposure[g] / (1 − π_g), π_g = g's share of all n_residents
      (:func:`model.measures.segregation.relative_exposure`);
    - experienced_isolation[g] (:func:`experienced_isolation`, Athey et al. 2021);
    - multigroup_dissimilarity: the multigroup dissimilarity of residential blocks
      (:func:`model.measures.segregation.multigroup_dissimilarity`) on the (facility × group) table
      of person-minutes present (:func:`presence_table`);
    - coverage: the share of all residents who had company at least one minute, the population
      the figures above describe; coverage_by_group the same share within each group.

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
        "cross_group_person_minutes_per_resident_day": float, "relative_exposure": {g: float},
        "experienced_isolation": {g: float}, "multigroup_dissimilarity": float, "coverage": float,
        "coverage_by_group": {g: float}}`` keyed by group name, plain Python floats. Groups none
        of whose residents ever had company get NaN in ``exposure``, ``relative_exposure``,
        ``experienced_isolation`` and their ``exposure_matrix`` row.

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
    shares = segregation.group_shares(np.bincount(groups_of, minlength=n_groups))
    isolation = experienced_isolation(e, members, n_groups)
    reached = coverage(had_company, groups_of, n_groups)
    minutes = presence_table(facility_, arrive, leave, own, n_groups)

    return {
        "exposure": {name: float(out_group[g]) for g, name in enumerate(group_names)},
        "exposure_matrix": {
            name: {other: float(matrix[g, h]) for h, other in enumerate(group_names)}
            for g, name in enumerate(group_names)
        },
        "cross_group_person_minutes_per_resident_day": cross_min / (n_residents * days),
        "relative_exposure": {
            name: segregation.relative_exposure(float(out_group[g]), float(shares[g]))
            for g, name in enumerate(group_names)
        },
        "experienced_isolation": {name: float(isolation[g]) for g, name in enumerate(group_names)},
        "multigroup_dissimilarity": segregation.multigroup_dissimilarity(minutes),
        "coverage": float(had_company.mean()),
        "coverage_by_group": {name: float(reached[g]) for g, name in enumerate(group_names)},
    }


def experienced_isolation(exposure: NDArray[np.float64], group_of: NDArray[np.int64], n_groups: int) -> NDArray:
    """Experienced isolation of every group (Athey et al. 2021, as docs/metrics.md reads the paper).

    experienced_isolation[g] = mean of e_rg over the residents r of g − mean of e_rg over the
    residents r not of g, where e_rg is r's exposure to g (the mean share of g among the company
    r had), both means over residents who had company. 0 means that members of g and everyone
    else meet g-members equally often; 1 that g meets only g and nobody else meets g.

    Args:
        exposure: e_rh, shape (residents with company, groups).
        group_of: Group index of each of those residents.
        n_groups: Number of groups.

    Returns:
        One value per group; NaN where either mean has nobody to average.
    """
    n_members = np.bincount(group_of, minlength=n_groups)
    n_others = group_of.size - n_members
    out = np.full(n_groups, np.nan)
    for g in range(n_groups):
        if n_members[g] and n_others[g]:
            mine = group_of == g
            out[g] = exposure[mine, g].sum() / n_members[g] - exposure[~mine, g].sum() / n_others[g]
    return out


def coverage(had_company: NDArray[np.bool_], group_of: NDArray[np.int64], n_groups: int) -> NDArray[np.float64]:
    """Share of each group's residents who had company at least one minute.

    The population the activity figures describe: residents who never had company are left out
    of every activity exposure.

    Args:
        had_company: Per resident, whether it ever had company at a facility.
        group_of: Per resident, its group index.
        n_groups: Number of groups.

    Returns:
        One share per group; NaN for a group with no residents.
    """
    members = np.bincount(group_of, minlength=n_groups)
    reached = np.bincount(group_of[had_company], minlength=n_groups)
    return np.where(members > 0, reached / np.maximum(members, 1), np.nan)


def presence_table(
    facility: NDArray[np.int64],
    arrive_min: NDArray[np.int64],
    leave_min: NDArray[np.int64],
    group: NDArray[np.int64],
    n_groups: int,
) -> NDArray[np.int64]:
    """The (facility × group) table of person-minutes present, m_gf (docs/metrics.md).

    Every minute a resident is present counts, with or without company: the counts on which the
    activity dissimilarity uses the very formula of residential blocks
    (:func:`model.measures.segregation.multigroup_dissimilarity`, facilities as units).

    Args:
        facility: Facility id of each visit.
        arrive_min: First minute present.
        leave_min: First minute no longer present.
        group: Group index of each visit's resident.
        n_groups: Number of groups.

    Returns:
        Shape (facilities visited, groups), facilities in the order of their ids.
    """
    if not facility.size:
        return np.zeros((0, n_groups), dtype=np.int64)
    _, unit = _distinct(facility)
    minutes = np.bincount(
        unit * n_groups + group, weights=leave_min - arrive_min, minlength=(unit.max() + 1) * n_groups
    )
    return np.rint(minutes).astype(np.int64).reshape(-1, n_groups)
