"""Facility usage: visits, turned away, unmet needs, walks and crowding per facility type."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray


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
    """Usage of each facility type over a run ("Usage" in docs/metrics.md).

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
