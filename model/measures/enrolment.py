"""Enrolment: who sought a place at a type with enrolment, who got one, and how far it is.

Definitions in docs/metrics.md ("Enrolment"). For a type whose places are held by enrolment
(nursery, kindergarten, schools: docs/behaviour.md, "Enrolment"), the unmet demand is not a
daily turn-away but two counts fixed for the run: the children who sought a place and got none
within their cut-off (**without a place**), and the children placed at a facility farther than
the type's life-circle level (**placed beyond the level**). Every input is in residents.csv:
``age`` (children of the type's ages), ``applied_<type>``, ``enrolled_<type>`` and
``place_min_<type>``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def _share(part: int, whole: int) -> float:
    return part / whole if whole else float("nan")


def enrolment_figures(
    of_age: ArrayLike, applied: ArrayLike, placed: ArrayLike, place_min: ArrayLike, level_min: float
) -> dict:
    """The enrolment figures of one type.

    Args:
        of_age: Per resident, whether its age is in the type's band.
        applied: Per resident, whether it sought a place (only children of the ages do).
        placed: Per resident, whether it holds a place.
        place_min: Per resident, its own walking minutes from home to the facility of its place
            (read only where ``placed``).
        level_min: The type's life-circle level, minutes.

    Returns:
        ``{"children", "applicants", "placed", "without_place", "beyond_level"}`` (counts:
        without_place = applicants - placed, beyond_level = placed children whose walk exceeds
        ``level_min``), ``"applicant_share"`` (applicants / children), ``"placed_share"`` and
        ``"without_place_share"`` (over applicants), ``"beyond_level_share"`` (over placed), and
        ``"mean_walk_min"`` (mean walk of placed children); a share or mean over nobody is NaN.
    """
    of_age = np.asarray(of_age, dtype=bool)
    applied = np.asarray(applied, dtype=bool)
    placed = np.asarray(placed, dtype=bool)
    walks = np.asarray(place_min, dtype=np.float64)[placed]
    children, applicants, n_placed = int(of_age.sum()), int(applied.sum()), int(placed.sum())
    beyond = int((walks > level_min).sum())
    return {
        "children": children,
        "applicants": applicants,
        "placed": n_placed,
        "without_place": applicants - n_placed,
        "beyond_level": beyond,
        "applicant_share": _share(applicants, children),
        "placed_share": _share(n_placed, applicants),
        "without_place_share": _share(applicants - n_placed, applicants),
        "beyond_level_share": _share(beyond, n_placed),
        "mean_walk_min": float(walks.mean()) if walks.size else float("nan"),
    }
