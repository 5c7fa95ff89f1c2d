"""Supply-aware access: the two-step floating catchment method (Luo & Wang 2003).

Definition in docs/metrics.md ("Supply-aware access"). Walking distances from homes to every
facility within reach come from model/measures/walks.py; this module only applies the method.

Source:
    Luo, W. & Wang, F. (2003) Measures of spatial accessibility to health care in a GIS
    environment: synthesis and a case study in the Chicago region. Environment and Planning B
    30(6), 865-884.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray


@numba.njit(cache=True)
def first_within(paces, lo, hi, metres, walk_min):
    """First position q in [lo, hi] with metres / paces[q] <= walk_min, paces[lo:hi] ascending (hi if none).

    d = metres / pace falls as the pace rises, so the users who reach a place within the walk are
    the fastest ones: a suffix of the ascending paces, found by bisection on the very test
    ``metres / pace <= walk_min``.
    """
    a, b = lo, hi
    while a < b:
        mid = (a + b) // 2
        if metres / paces[mid] <= walk_min:
            b = mid
        else:
            a = mid + 1
    return a


@numba.njit(cache=True)
def _two_steps(user_start, pace, pair_home, pair_facility, pair_metres, capacity, catchment_min):
    """Both steps, users sorted by (home, pace): per pair, the users of its home who reach it are a suffix."""
    n_facilities = capacity.size
    n_users = pace.size
    competing = np.zeros(n_facilities, dtype=np.int64)
    first = np.empty(pair_home.size, dtype=np.int64)
    for k in range(pair_home.size):
        h = pair_home[k]
        first[k] = first_within(pace, user_start[h], user_start[h + 1], pair_metres[k], catchment_min)
        competing[pair_facility[k]] += user_start[h + 1] - first[k]
    ratio = np.zeros(n_facilities)
    for j in range(n_facilities):
        if competing[j] > 0:
            ratio[j] = capacity[j] / competing[j]
    # R_j reaches every user from first[k] to the end of the home's users: a difference array
    step = np.zeros(n_users)
    for k in range(pair_home.size):
        if first[k] < user_start[pair_home[k] + 1]:
            step[first[k]] += ratio[pair_facility[k]]
    access = np.empty(n_users)
    for h in range(user_start.size - 1):
        total = 0.0
        for i in range(user_start[h], user_start[h + 1]):
            total += step[i]
            access[i] = total
    return access, ratio


def two_step_fca(
    user_home: ArrayLike,
    user_pace: ArrayLike,
    pair_home: ArrayLike,
    pair_facility: ArrayLike,
    pair_metres: ArrayLike,
    capacity: ArrayLike,
    catchment_min: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Two-step floating catchment access of every user of one facility type.

    With d_ij the walking minutes of user i to facility j at i's own pace and c the catchment:

    - step 1: R_j = capacity_j / P_j, P_j = |{users i : d_ij <= c}| (R_j = 0 when P_j = 0);
    - step 2: A_i = Σ_j R_j over the facilities j with d_ij <= c (0 when none).

    A_i is the places per user within reach: 1 means one place for every user competing for
    it (Luo & Wang 2003). Distances are given per home, not per user: users who live on the same
    cell share the metres to each facility, and d_ij = metres / pace_i. Per home the users are
    taken in order of pace, so that those who reach a facility are the fastest ones: the work
    grows with the pairs and the users, not with their product.

    Args:
        user_home: Each user's home, an index into the homes of the pairs (users given in order
            of home, then pace, are not sorted again).
        user_pace: Each user's walking pace (m/min).
        pair_home: Home of each (home, facility) pair within reach of someone.
        pair_facility: Facility of each pair, an index into ``capacity``.
        pair_metres: Walking metres of each pair (pairs beyond every user's catchment may be
            given; they count for nobody).
        capacity: Places of each facility.
        catchment_min: The catchment c in walking minutes.

    Returns:
        ``(access, ratio)``: A_i per user and R_j per facility. A_i sums the R_j in an order
        fixed by the order of the pairs given (the same pairs give the same bits).

    Raises:
        ValueError: If the arrays disagree in length or an index is out of range.
    """
    home = np.asarray(user_home, dtype=np.int64)
    pace = np.asarray(user_pace, dtype=np.float64)
    p_home = np.asarray(pair_home, dtype=np.int64)
    p_fac = np.asarray(pair_facility, dtype=np.int64)
    p_m = np.asarray(pair_metres, dtype=np.float64)
    cap = np.asarray(capacity, dtype=np.float64)
    if home.shape != pace.shape or not p_home.shape == p_fac.shape == p_m.shape:
        raise ValueError("two_step_fca: user arrays and pair arrays must each agree in length")
    if p_fac.size and (p_fac.min() < 0 or p_fac.max() >= cap.size):
        raise ValueError(f"two_step_fca: pair_facility must lie in [0, {cap.size})")
    if (pace <= 0).any():
        raise ValueError("two_step_fca: every pace must be positive")
    n_homes = int(max(home.max(initial=-1), p_home.max(initial=-1))) + 1
    if home.size and home.min() < 0 or p_home.size and p_home.min() < 0:
        raise ValueError("two_step_fca: home indices must not be negative")
    sorted_already = home.size < 2 or bool(((np.diff(home) > 0) | ((np.diff(home) == 0) & (np.diff(pace) >= 0))).all())
    order = np.arange(home.size) if sorted_already else np.lexsort((pace, home))  # users by home, then pace
    user_start = np.zeros(n_homes + 1, dtype=np.int64)
    np.cumsum(np.bincount(home, minlength=n_homes), out=user_start[1:])
    sorted_access, ratio = _two_steps(user_start, pace[order], p_home, p_fac, p_m, cap, float(catchment_min))
    access = np.empty_like(sorted_access)
    access[order] = sorted_access
    return access, ratio


def sfca_summary(access: ArrayLike) -> dict[str, float]:
    """Summary of the users' 2SFCA access A_i (docs/metrics.md).

    Returns:
        ``{"sfca_mean", "sfca_p10", "sfca_zero"}``: the mean of A_i over all users, its 10th
        percentile (numpy's default, linear) and the share of users with A_i = 0 (no place
        within reach); NaN when there are no users.
    """
    a = np.asarray(access, dtype=np.float64)
    if a.size == 0:
        return {"sfca_mean": float("nan"), "sfca_p10": float("nan"), "sfca_zero": float("nan")}
    return {
        "sfca_mean": float(a.mean()),
        "sfca_p10": float(np.percentile(a, 10)),
        "sfca_zero": float((a == 0).sum() / a.size),
    }
