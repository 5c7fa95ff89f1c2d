"""Facility usage: visits, turned away, unmet needs, walks, 15-minute usage and crowding per facility type.

Definitions in docs/metrics.md ("Usage"). Each figure is one function below;
:func:`facility_usage` assembles them into the "usage" block of summary.json.

Source:
    Abbiasov, T. et al. (2024) The 15-minute city quantified using human mobility data. Nature
    Human Behaviour 8, 445-455.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

# The everyday amenities of 15-minute usage: Abbiasov et al. (2024) count consumption trips to
# basic amenities; the catalogue's types of that kind stand for them here (docs/metrics.md).
# Schools, nurseries and care are trips of a life stage, not everyday errands.
EVERYDAY_TYPES = ("market", "convenience", "park", "culture_room", "service_centre", "health_station")
# The walk of the 15-minute city (Abbiasov et al. 2024) and of the largest life circle of
# GB 50180-2018 (docs/sources.md#gb-50180-2018-walking-levels).
FIFTEEN_MIN = 15.0
PER_M2 = 1000.0  # crowding is counted per 1,000 m²


def unmet_share(unmet: int, served: int) -> float:
    """Share of wanted visits not served: unmet / (served + unmet); NaN when nothing was wanted."""
    wanted = served + unmet
    return unmet / wanted if wanted else float("nan")


def own_pace_within(walk_min: ArrayLike, k: float = FIFTEEN_MIN) -> float:
    """Share of served trips whose realised one-way walk, at the resident's own pace, took at most ``k`` minutes.

    NaN when there are no trips.
    """
    walks = np.asarray(walk_min, dtype=np.float64)
    return float((walks <= k).mean()) if walks.size else float("nan")


def fifteen_minute_usage(near_home: ArrayLike) -> float:
    """15-minute usage (Abbiasov et al. 2024): the share of completed trips that stay local.

    A trip is local when its destination lies within 15 minutes' walk of home at one fixed
    reference pace for everyone (``simulation.reference_m_per_min``), i.e. the shortest walking
    distance home → destination ≤ 15 × that pace, whatever the resident's own pace or the way
    it walked. The paper's measure asks where people go, not how fast they walk; an elder's slow
    walk to the nearest market is a local trip.

    Args:
        near_home: Per completed trip, whether its destination is within the reference walk.

    Returns:
        The share; NaN when there are no trips.
    """
    near = np.asarray(near_home, dtype=bool)
    return float(near.sum() / near.size) if near.size else float("nan")


def people_per_1000m2(peak_occupancy: ArrayLike, area_m2: ArrayLike) -> float:
    """Crowding of open spaces: the most people present at once per 1,000 m², the highest over the facilities.

    Parks and squares do not turn people away; their crowding is a density, max_f
    peak_f / area_f × 1,000.

    Args:
        peak_occupancy: Most visitors present at once, per facility.
        area_m2: Area of each facility (m²).

    Returns:
        The highest density; NaN when there are no facilities.
    """
    peak = np.asarray(peak_occupancy, dtype=np.float64)
    area = np.asarray(area_m2, dtype=np.float64)
    return float((peak / area * PER_M2).max()) if peak.size else float("nan")


def turned_away_people_by_day(
    resident: NDArray[np.int64], turn_type: NDArray[np.int64], turn_day: NDArray[np.int64], days: int, n_types: int
) -> NDArray[np.int64]:
    """|P_k,d|: the residents turned away at least once at a facility of type k on day d ("Usage" in docs/metrics.md).

    Args:
        resident: Resident of each turn-away (a row of the turn-away log).
        turn_type: Type index of the facility of each turn-away.
        turn_day: Day of each turn-away.
        days: Days simulated (D).
        n_types: Number of type indices.

    Returns:
        Counts per day (rows) and type (columns): each resident once a day and type, however
        often it was turned away there that day.
    """
    out = np.zeros((days, n_types), dtype=np.int64)
    if len(resident):
        triples = np.unique(np.stack([turn_day, turn_type, resident]).astype(np.int64), axis=1)
        np.add.at(out, (triples[0], triples[1]), 1)
    return out


def turned_away_visits(turn_type: NDArray[np.int64], choice_rank: NDArray[np.int64], n_types: int) -> NDArray[np.int64]:
    """W_k: wanted visits of type k that met at least one turn-away ("Usage" in docs/metrics.md).

    A wanted visit's first turn-away is the one at its trip's first choice (``choice_rank`` 1);
    later ones are retries of the same wanted visit at its next choices.
    """
    return np.bincount(np.asarray(turn_type)[np.asarray(choice_rank) == 1], minlength=n_types).astype(np.int64)


def facility_usage(
    visit_type: NDArray[np.int64],
    walk_min: NDArray[np.float64],
    near_home: NDArray[np.bool_],
    facility_type: NDArray[np.int64],
    turned_away: NDArray[np.int64],
    turned_away_people: NDArray[np.int64],
    turned_away_visits: NDArray[np.int64],
    peak_occupancy: NDArray[np.int64],
    capacity: NDArray[np.int64],
    area_m2: Sequence[float | None],
    unmet: NDArray[np.int64],
    type_names: Sequence[str],
    days: int,
) -> dict:
    """Usage of each facility type over a run, and 15-minute usage over the everyday types ("Usage" in docs/metrics.md).

    Args:
        visit_type: Type index of each completed visit.
        walk_min: Realised one-way walking minutes of each completed visit.
        near_home: Whether each completed visit's destination lies within 15 minutes of home at
            the reference pace (:func:`fifteen_minute_usage`).
        facility_type: Type index of each facility.
        turned_away: Turned-away arrivals per facility (whole run): attempts, each give-up once.
        turned_away_people: Per type, residents turned away at least once at the type's
            facilities, summed over the days (whole run: resident-days).
        turned_away_visits: Per type, wanted visits that met at least one turn-away (whole run).
        peak_occupancy: Most visitors present at once per facility.
        capacity: Capacity per facility.
        area_m2: Area of each facility of a type, per type index (None: not an open space
            measured by area).
        unmet: Wanted visits not served, per type (whole run).
        type_names: Names of the type indices.
        days: Days simulated.

    Returns:
        When some of :data:`EVERYDAY_TYPES` are present, first ``"fifteen_minute_usage"`` and
        ``"unmet_share"`` over the completed and wanted visits of those types together; then
        ``{type: {"visits", "turned_away", "turned_away_people", "turned_away_visits", "unmet_share",
        "mean_walk_min", "own_pace_within_15", "fifteen_minute_usage", "peak_occupancy_ratio"}}``, with
        ``"peak_people_per_1000m2"`` too for a type with an area: visits, turned_away (attempts),
        turned_away_people (the mean over the days of the residents turned away at least once that
        day) and turned_away_visits per day; unmet_share over the run;
        own_pace_within_15 = share of served trips walked in at most 15 minutes at the
        resident's own pace; peak_occupancy_ratio = max over the type's facilities of peak /
        capacity.
    """
    everyday = [t for t, name in enumerate(type_names) if name in EVERYDAY_TYPES]
    out: dict = {}
    if everyday:
        mine = np.isin(visit_type, everyday)
        out["fifteen_minute_usage"] = fifteen_minute_usage(near_home[mine])
        out["unmet_share"] = unmet_share(int(unmet[everyday].sum()), int(mine.sum()))
    for t, name in enumerate(type_names):
        mine = visit_type == t
        fac = facility_type == t
        out[name] = {
            "visits": int(mine.sum()) / days,
            "turned_away": float(turned_away[fac].sum()) / days,
            "turned_away_people": float(turned_away_people[t]) / days,
            "turned_away_visits": float(turned_away_visits[t]) / days,
            "unmet_share": unmet_share(int(unmet[t]), int(mine.sum())),
            "mean_walk_min": float(walk_min[mine].mean()) if mine.any() else float("nan"),
            "own_pace_within_15": own_pace_within(walk_min[mine]),
            "fifteen_minute_usage": fifteen_minute_usage(near_home[mine]),
            "peak_occupancy_ratio": float((peak_occupancy[fac] / capacity[fac]).max()) if fac.any() else float("nan"),
        }
        if area_m2[t] is not None:
            out[name]["peak_people_per_1000m2"] = people_per_1000m2(peak_occupancy[fac], np.full(fac.sum(), area_m2[t]))
    return out
