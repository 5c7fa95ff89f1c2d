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
def _two_steps(user_home, user_pace, home_start, pair_facility, pair_metres, capacity, catchment_min):
    """Both steps over every (user, facility) pair of the user's home, d = metres / pace."""
    n_facilities = capacity.size
    competing = np.zeros(n_facilities, dtype=np.int64)
    for i in range(user_home.size):
        h = user_home[i]
        for k in range(home_start[h], home_start[h + 1]):
            if pair_metres[k] / user_pace[i] <= catchment_min:
                competing[pair_facility[k]] += 1
    ratio = np.zeros(n_facilities)
    for j in range(n_facilities):
        if competing[j] > 0:
            ratio[j] = capacity[j] / competing[j]
    access = np.zeros(user_home.size)
    for i in range(user_home.size):
        h = user_home[i]
        total = 0.0
        for k in range(home_start[h], home_start[h + 1]):
            if pair_metres[k] / user_pace[i] <= catchment_min:
                total += ratio[pair_facility[k]]
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
    cell share the metres to each facility, and d_ij = metres / pace_i.

    Args:
        user_home: Each user's home, an index into the homes of the pairs.
        user_pace: Each user's walking pace (m/min).
        pair_home: Home of each (home, facility) pair within reach of someone.
        pair_facility: Facility of each pair, an index into ``capacity``.
        pair_metres: Walking metres of each pair (pairs beyond every user's catchment may be
            given; they count for nobody).
        capacity: Places of each facility.
        catchment_min: The catchment c in walking minutes.

    Returns:
        ``(access, ratio)``: A_i per user and R_j per facility. Sums run over each home's
        facilities in the order of (home, facility), whatever the order of the pairs given.

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
    order = np.lexsort((p_fac, p_home))
    home_start = np.zeros(n_homes + 1, dtype=np.int64)
    np.cumsum(np.bincount(p_home, minlength=n_homes), out=home_start[1:])
    return _two_steps(home, pace, home_start, p_fac[order], p_m[order], cap, float(catchment_min))


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
