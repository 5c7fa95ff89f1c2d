"""Dynamics: what only the agent model shows, per facility type: displacement, queues and unmet demand.

Definitions in docs/metrics.md ("Dynamics"). Each figure is one function below; :func:`dynamics`
assembles them into the "dynamics" block of summary.json. Every input is in the run's output
files: the visits (visits.csv: type, choice_rank, walk_min), each visiting resident's minutes to
its nearest facility of the type (residents.csv, ``min_<type>``), the residents queueing at the
end of each tick per type (timeseries.csv, ``waiting_<type>``) and the unmet wanted visits
(residents.csv, ``unmet_<type>``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray


def displaced_share(choice_rank: ArrayLike) -> float:
    """Share of completed visits made at a second or later choice (``choice_rank`` >= 2); NaN with no visits."""
    rank = np.asarray(choice_rank)
    return float((rank >= 2).mean()) if rank.size else float("nan")


def displaced_extra_min(choice_rank: ArrayLike, walk_min: ArrayLike, nearest_min: ArrayLike) -> float:
    """Mean extra one-way walking minutes of displaced visits over the walk to the resident's nearest facility.

    Over the visits with ``choice_rank`` >= 2: mean of ``walk_min`` (all legs from home to the
    facility of the visit) minus ``nearest_min`` (the resident's own minutes to the nearest
    facility of the type). NaN when no visit was displaced.
    """
    rank = np.asarray(choice_rank)
    displaced = rank >= 2
    if not displaced.any():
        return float("nan")
    extra = np.asarray(walk_min, dtype=np.float64)[displaced] - np.asarray(nearest_min, dtype=np.float64)[displaced]
    return float(extra.mean())


def wait_person_min(waiting: ArrayLike, tick_min: float, days: int) -> float:
    """Person-minutes waited in queues per day: Σ over ticks of the residents queueing at the tick's end × Δ, over D."""
    return float(np.asarray(waiting, dtype=np.int64).sum() * tick_min / days)


def peak_queue(waiting: ArrayLike) -> tuple[int, int | None]:
    """The most residents queueing at once (at a tick's end) and the first tick (row) reaching it; None when 0."""
    waiting = np.asarray(waiting, dtype=np.int64)
    if not waiting.size or waiting.max() == 0:
        return 0, None
    first = int(np.argmax(waiting))
    return int(waiting[first]), first


def dynamics(
    visit_type: NDArray[np.int64],
    choice_rank: NDArray[np.int64],
    walk_min: NDArray[np.float64],
    nearest_min: NDArray[np.float64],
    waiting: NDArray[np.int64],
    tick_day: NDArray[np.int64],
    tick_minute: NDArray[np.int64],
    tick_min: float,
    unmet: NDArray[np.int64],
    type_names: Sequence[str],
    days: int,
) -> dict:
    """The "dynamics" block of summary.json, per type ("Dynamics" in docs/metrics.md).

    Args:
        visit_type: Type index of each completed visit.
        choice_rank: Choice rank of each completed visit (1 = the trip's first choice).
        walk_min: One-way walking minutes of each completed visit (all legs).
        nearest_min: For each completed visit, its resident's own minutes to the nearest
            facility of the visit's type.
        waiting: Residents queueing at the end of each tick simulated (rows), per type (columns).
        tick_day: Day of each row of ``waiting``.
        tick_minute: Clock minute at which each row's tick starts.
        tick_min: Minutes per tick (Δ).
        unmet: Wanted visits not served, per type (whole run).
        type_names: Names of the type indices.
        days: Days simulated.

    Returns:
        ``{type: {"displaced_share", "displaced_extra_min", "wait_person_min", "peak_queue",
        "peak_queue_day", "peak_queue_minute", "unmet"}}``: wait_person_min and unmet per day;
        the peak's day and clock minute None when nobody queued.
    """
    waiting = np.asarray(waiting, dtype=np.int64)
    out: dict = {}
    for t, name in enumerate(type_names):
        mine = visit_type == t
        peak, row = peak_queue(waiting[:, t])
        out[name] = {
            "displaced_share": displaced_share(choice_rank[mine]),
            "displaced_extra_min": displaced_extra_min(choice_rank[mine], walk_min[mine], nearest_min[mine]),
            "wait_person_min": wait_person_min(waiting[:, t], tick_min, days),
            "peak_queue": peak,
            "peak_queue_day": None if row is None else int(tick_day[row]),
            "peak_queue_minute": None if row is None else int(tick_minute[row]),
            "unmet": float(unmet[t]) / days,
        }
    return out


# The figures of each day (``by_day``) and their change from the first day to the last (``change``)
BY_DAY = ("displaced_share", "wait_person_min", "peak_queue", "unmet", "turned_away", "turned_away_people")


def dynamics_by_day(
    visit_type: NDArray[np.int64],
    visit_day: NDArray[np.int64],
    choice_rank: NDArray[np.int64],
    waiting: NDArray[np.int64],
    tick_day: NDArray[np.int64],
    tick_min: float,
    unmet_by_day: NDArray[np.int64],
    turned_away_by_day: NDArray[np.int64],
    turned_away_people_by_day: NDArray[np.int64],
    type_names: Sequence[str],
    days: int,
) -> dict:
    """Each day's dynamics per type, and their change from the first day to the last ("Dynamics" in docs/metrics.md).

    Day d's figures are those of :func:`dynamics` over the visits and ticks of day d alone:
    displaced_share of the visits that arrived on day d, wait_person_min (person-minutes waited
    on day d) and peak_queue over the ticks of day d, unmet, turned_away and turned_away_people
    counted on day d.

    Args:
        visit_type: Type index of each completed visit.
        visit_day: Day of each completed visit (visits.csv's ``day``: of its arrival).
        choice_rank: Choice rank of each completed visit.
        waiting: Residents queueing at the end of each tick simulated (rows), per type (columns).
        tick_day: Day of each row of ``waiting``.
        tick_min: Minutes per tick (Δ).
        unmet_by_day: Wanted visits not served, per day (rows) and type (columns).
        turned_away_by_day: Arrivals that gave up at the type's facilities, per day and type.
        turned_away_people_by_day: Residents turned away at least once at the type's facilities,
            per day and type.
        type_names: Names of the type indices.
        days: Days simulated (D).

    Returns:
        ``{type: {"by_day": {figure: [day 0, ..., day D - 1]}, "change": {figure: day D - 1 minus
        day 0}}}`` for the figures of :data:`BY_DAY`; a displaced_share of a day without visits
        of the type is NaN (null in summary.json), and so is a change that needs it.
    """
    waiting = np.asarray(waiting, dtype=np.int64)
    out: dict = {}
    for t, name in enumerate(type_names):
        by_day: dict[str, list] = {key: [] for key in BY_DAY}
        for d in range(days):
            mine = (visit_type == t) & (visit_day == d)
            queue = waiting[tick_day == d, t]
            by_day["displaced_share"].append(displaced_share(choice_rank[mine]))
            by_day["wait_person_min"].append(wait_person_min(queue, tick_min, 1))
            by_day["peak_queue"].append(peak_queue(queue)[0])
            by_day["unmet"].append(int(unmet_by_day[d, t]))
            by_day["turned_away"].append(int(turned_away_by_day[d, t]))
            by_day["turned_away_people"].append(int(turned_away_people_by_day[d, t]))
        out[name] = {"by_day": by_day, "change": {key: values[-1] - values[0] for key, values in by_day.items()}}
    return out
