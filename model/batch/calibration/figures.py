"""The figures of one finished run that observations can name, and the run function that records them.

Besides every scalar of summary.json (the record's ``metrics``, as ``lifecircle batch`` keeps
them), a calibration run records in ``figures`` (docs/calibration.md):

- ``visits_per_day.<id>``: completed visits at facility ``id`` (facilities.csv) per day: its
  ``visits`` total over the run's days;
- ``occupancy.facility.<id>.<hour>`` and ``occupancy.type.<type>.<hour>``: the mean number of
  people present at the facility (at the type's facilities together) over the simulated minutes
  of clock hour ``hour`` (from ``hour``:00 to ``hour``:59), averaged over the run's days: the
  person-minutes of the visit log in that hour over the minutes of it the day simulates;
- ``share_using.<type>``: the share of the type's users (``access.<type>.users``: the residents
  whose age is in the type's band) who made at least one visit of the type on a day, averaged
  over the days (for the elderly care centre: the share of elders who used it).

Every figure is recorded for every facility, type and hour of the day, whatever the observations
ask, so that a record answers any observations file: its run id says what it ran, not what it was
asked.
"""

from __future__ import annotations

import numpy as np

from model.batch.design import RunSpec
from model.batch.runner import run_recorded
from model.city.cache import CityCache

MINUTES_PER_DAY = 1440
_CACHE = CityCache()  # one per worker process


def day_hours(day_start_min: int, day_end_min: int) -> list[int]:
    """The clock hours (0-23) that the simulated day covers at least in part."""
    return [h for h in range(24) if 60 * h < day_end_min and 60 * (h + 1) > day_start_min]


def hourly_occupancy(
    facility: np.ndarray,
    arrive_min: np.ndarray,
    leave_min: np.ndarray,
    n_facilities: int,
    days: int,
    day_start_min: int,
    day_end_min: int,
) -> tuple[list[int], np.ndarray]:
    """Mean people present per facility and clock hour, over the simulated minutes of the hour and the days.

    Args:
        facility: Facility of each visit.
        arrive_min: Run minute of each arrival (run minute ``1440 d + clock minute - day_start_min``,
            docs/behaviour.md).
        leave_min: Run minute of each leaving (present ``arrive_min <= t < leave_min``).
        n_facilities: Facilities of the scenario.
        days: Days of the run.
        day_start_min: Clock minute the simulated day starts.
        day_end_min: Clock minute it ends.

    Returns:
        ``(hours, table)``: the hours of :func:`day_hours` and a (facility x hour) table.
    """
    span = days * MINUTES_PER_DAY
    change = np.zeros((n_facilities, span + 1))
    np.add.at(change, (facility, arrive_min), 1.0)
    np.add.at(change, (facility, leave_min), -1.0)
    present = np.cumsum(change[:, :span], axis=1)
    of_day = np.arange(span) % MINUTES_PER_DAY
    simulated = of_day < day_end_min - day_start_min
    clock_hour = (day_start_min + of_day) // 60
    hours = day_hours(day_start_min, day_end_min)
    table = np.zeros((n_facilities, len(hours)))
    for j, hour in enumerate(hours):
        minutes = simulated & (clock_hour == hour)
        table[:, j] = present[:, minutes].sum(axis=1) / minutes.sum()
    return hours, table


def share_using(resident: np.ndarray, arrive_min: np.ndarray, of_type: np.ndarray, users: int, days: int) -> float:
    """Residents with at least one visit of a type on a day, over the type's users, averaged over days.

    Args:
        resident: Each visit's resident.
        arrive_min: Each visit's run minute of arrival.
        of_type: Whether each visit is of the type.
        users: Residents whose age is in the type's band.
        days: Days of the run.
    """
    if users == 0:
        return float("nan")
    day = arrive_min[of_type] // MINUTES_PER_DAY
    distinct = len(set(zip(day.tolist(), resident[of_type].tolist(), strict=True)))
    return distinct / users / days


def run_figures(model, flat: dict) -> dict[str, float]:
    """Every figure of a finished model that an observation can name (the module docstring)."""
    log = model.visit_log.columns()
    facilities = model.city.facilities
    ids = facilities["id"].to_numpy()
    types = facilities["type"].to_numpy()
    sim = model.clock.sim
    out: dict[str, float] = {}
    visits = np.asarray(model.facility_totals()["visits"], dtype=float) / model.days
    out.update({f"visits_per_day.{i}": float(v) for i, v in zip(ids, visits, strict=True)})
    hours, table = hourly_occupancy(
        log["facility"], log["arrive_min"], log["leave_min"], len(ids), model.days, sim.day_start_min, sim.day_end_min
    )
    for row, i in enumerate(ids):
        out.update({f"occupancy.facility.{i}.{h}": float(table[row, j]) for j, h in enumerate(hours)})
    for t in dict.fromkeys(types):
        mine = types == t
        out.update({f"occupancy.type.{t}.{h}": float(table[mine, j].sum()) for j, h in enumerate(hours)})
        users = flat.get(f"access.{t}.users") or 0
        out[f"share_using.{t}"] = share_using(
            log["resident"], log["arrive_min"], np.isin(log["facility"], ids[mine]), int(users), model.days
        )
    return out


def run_calibration_point(spec: RunSpec) -> dict:
    """Run one point with one seed; return its record with the summary's scalars and the figures (never raises).

    The record is :func:`model.batch.runner.run_one`'s (status, error, metrics, provenance,
    wall_s) with ``figures`` added (empty when the run failed).
    """
    record = run_recorded(spec, _CACHE, _add_figures)
    record.setdefault("figures", {})
    return record


def _add_figures(record: dict, model, flat: dict) -> None:
    record["figures"] = run_figures(model, flat)
