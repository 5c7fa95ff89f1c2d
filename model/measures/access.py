"""Walking access: coverage within each type's level and the 5/10/15-minute bands, the life circle's completeness.

Coverage within a level is given twice: in minutes at each resident's own pace (``within_level``)
and in metres against the walking distance GB 50180-2018 gives the level (``within_level_m``).

Definitions in docs/metrics.md ("Walking access"). Minutes come from model/city/access.py; who
uses a type is the rulebook's rule (``rules.needs``). The shares and means of users' minutes are
computed by :func:`within` and :func:`mean_reachable` only, whether over all users, a group, or
an age band (model/measures/equity.py, :func:`coverage_table`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.city.residents import Residents
from model.scenario import FacilityType, Scenario
from model.simulation import rules

# The reporting bands: the 5-, 10- and 15-minute walking levels of GB 50180-2018, drawn as bands
# on the guidance maps posted at Hohhot's residential gates.
BANDS_MIN = (5, 10, 15)

# The walking distance of each life-circle level in GB 50180-2018 (docs/sources.md, "GB 50180-2018
# walking levels", as commonly cited): 5-minute circle 300 m, 10-minute 500 m, 15-minute 800-1,000 m,
# of which the upper end, 1,000 m, is taken. Keyed by the level in minutes; a type whose level_min is
# none of these has no standard distance (within_level_m is null).
LEVEL_M = {5: 300.0, 10: 500.0, 15: 1000.0}


def users_pace(m_per_min: np.ndarray, needs: np.ndarray) -> float:
    """The median own walking pace (m/min) of a type's users: the pace its access map is drawn at.

    The median (numpy's, the mean of the two middle values for an even count) of ``m_per_min``
    over the residents who need the type; the adult pace nobody needs it is not defined: NaN.
    """
    paces = np.asarray(m_per_min)[np.asarray(needs)]
    return float(np.median(paces)) if paces.size else float("nan")


def needs_by_type(age: np.ndarray, table: rules.TypeTable) -> dict[str, np.ndarray]:
    """Per type of the table: which residents need it (``rules.needs``), as a bool array each."""
    matrix = rules.needs(age, table)
    return {t: matrix[:, i] for i, t in enumerate(table.names)}


def users_of(age: np.ndarray, ftype: FacilityType) -> np.ndarray:
    """Which residents need a catalogue type (``rules.needs``), whether or not a facility of it stands."""
    return needs_by_type(age, rules.TypeTable.from_types([ftype]))[ftype.id]


def types_needed(age: np.ndarray, types: dict[str, FacilityType]) -> list[str]:
    """The catalogue types some resident of these ages needs, in catalogue order."""
    needs = needs_by_type(age, rules.TypeTable.from_types(list(types.values())))
    return [t for t, users in needs.items() if users.any()]


def within(minutes: np.ndarray, k: float) -> float | None:
    """Share of the given users whose access minutes (or metres) are at most ``k``.

    within_k = |{r : a_r <= k}| / n over all n users given, unreachable ones (inf) in the
    denominator; with k = the type's ``level_min`` it is within_level, the headline coverage of
    a type (docs/metrics.md, "Walking access").

    Args:
        minutes: Access minutes of the users (inf if unreachable), or their metres (within_level_m).
        k: Minutes (metres with metres).

    Returns:
        The share, or None when there are no users.
    """
    n = minutes.size
    return float((minutes <= k).sum() / n) if n else None


def mean_reachable(minutes: np.ndarray) -> float | None:
    """Mean access minutes of the given users who can reach the type (None if none can)."""
    reach = minutes[np.isfinite(minutes)]
    return float(reach.mean()) if reach.size else None


def level_metres(level_min: float) -> float | None:
    """The walking distance GB 50180-2018 gives a level (:data:`LEVEL_M`), None for another level."""
    return LEVEL_M.get(level_min)


def access_summary(
    minutes: dict[str, np.ndarray],
    needs: dict[str, np.ndarray],
    levels: dict[str, float],
    metres: dict[str, np.ndarray] | None = None,
) -> tuple[dict, float | None]:
    """The "access" block of summary.json (definitions in docs/metrics.md).

    Args:
        minutes: Per type, every resident's access minutes (inf if unreachable).
        needs: Per type, a bool array: which residents need the type (its users).
        levels: Per type, its life-circle level in minutes.
        metres: Per type, every resident's walking metres to the nearest facility (inf if
            unreachable); with them each type also gets level_m and within_level_m.

    Returns:
        ``({type: {...}}, life_circle_complete)``: the "access" block, where each type has users,
        within_level (share of users within the type's level, the headline), with ``metres``
        level_m (the standard's distance for the level, :func:`level_metres`) and within_level_m
        (share of users whose walk is at most level_m metres; None without a level_m), mean_min, p90_min,
        max_min (over reachable users; None if none), unreachable and within_<k> for k in
        BANDS_MIN (shares of users). p90 is numpy's default (linear) percentile.
        life_circle_complete is the share of all residents who reach every type present that
        they need within its level (a resident needing none counts as complete).
    """
    types = {}
    complete = None
    for t, mins in minutes.items():
        users = mins[needs[t]]
        reach = users[np.isfinite(users)]
        n = int(users.size)
        types[t] = {
            "users": n,
            "within_level": within(users, levels[t]),
            **(_within_level_m(metres[t][needs[t]], levels[t]) if metres is not None else {}),
            "mean_min": mean_reachable(users),
            "p90_min": float(np.percentile(reach, 90)) if reach.size else None,
            "max_min": float(reach.max()) if reach.size else None,
            "unreachable": int(n - reach.size),
            **{f"within_{k}": within(users, k) for k in BANDS_MIN},
        }
        ok = ~needs[t] | (mins <= levels[t])
        complete = ok if complete is None else complete & ok
    share = float(complete.mean()) if complete is not None and complete.size else None
    return types, share


def _within_level_m(users_m: np.ndarray, level_min: float) -> dict:
    """level_m and within_level_m of a type's users (their metres to the nearest facility)."""
    level_m = level_metres(level_min)
    return {"level_m": level_m, "within_level_m": within(users_m, level_m) if level_m is not None else None}


def coverage_table(
    residents: Residents, scenario: Scenario, minutes: dict[str, np.ndarray], needs: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Share of users within each type's level, by type and age band of population.ages.

    ``needs`` says per type which residents use it (:func:`needs_by_type`).

    Returns:
        One row per (type, age band) with users: type, age_band, users, within_level.
    """
    rows = []
    for t, mins in minutes.items():
        ft = scenario.types[t]
        for band in scenario.ages:
            sel = (residents.age >= band.lo) & (residents.age <= band.hi) & needs[t]
            n = int(sel.sum())
            if n:
                rows.append(
                    {
                        "type": t,
                        "age_band": str(band),
                        "users": n,
                        "within_level": within(mins[sel], ft.level_min),
                    }
                )
    return pd.DataFrame(rows, columns=["type", "age_band", "users", "within_level"])
