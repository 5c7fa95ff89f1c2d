"""Equity of walking access: how unequal users' walks are, and who is worst served.

Definitions in docs/metrics.md ("Walking access"): the Gini coefficient of users' access minutes
and, per group and per age band, the users, their mean minutes and the share within the type's
level. The shares and means are those of model/measures/access.py (:func:`within`,
:func:`mean_reachable`), taken over a part of the users.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from model.measures.access import mean_reachable, within


def gini(values: ArrayLike) -> float:
    """Gini coefficient of non-negative values, by the sorted formula.

    G = Σ_i (2i − n − 1) x_(i) / (n Σ_i x_(i)), x sorted ascending, i = 1..n

    The sorted form of Gini's mean difference over twice the mean, Σ_i Σ_j |x_i − x_j| / (2 n Σ x)
    (Σ_i (2i − n − 1) x_(i) is half the sum over all ordered pairs): 0 when everyone walks as
    far, near 1 when one user walks all the minutes. Applied to the access minutes of a type's
    users who can reach it (``access.<type>.gini_min``).

    Args:
        values: The values (finite, non-negative), in any order.

    Returns:
        G in [0, 1); 0 when all values are 0; NaN when there are none.
    """
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    n = x.size
    if n == 0:
        return float("nan")
    total = x.sum()
    if total == 0:
        return 0.0
    rank = np.arange(1, n + 1, dtype=np.float64)
    return float(((2.0 * rank - n - 1.0) * x).sum() / (n * total))


def access_by(
    minutes: np.ndarray, needs: np.ndarray, level_min: float, label: np.ndarray, names: Sequence[str]
) -> dict[str, dict]:
    """A type's access figures for each part of its users (a group, an age band).

    Args:
        minutes: Every resident's access minutes to the type (inf if unreachable).
        needs: Which residents use the type.
        level_min: The type's level (minutes).
        label: Every resident's part, an index into ``names`` (-1: in no part).
        names: The name of each part.

    Returns:
        ``{name: {"users", "mean_min", "within_level"}}`` for every part, in the order of
        ``names``: users of the type in the part; their mean minutes over those who can reach it
        and the share within ``level_min`` (unreachable users in the denominator), None for a
        part with no users.
    """
    out = {}
    for k, name in enumerate(names):
        mine = minutes[needs & (label == k)]
        out[name] = {"users": int(mine.size), "mean_min": mean_reachable(mine), "within_level": within(mine, level_min)}
    return out


def age_band_index(age: np.ndarray, bands: Sequence[tuple[int, int]]) -> np.ndarray:
    """Every resident's age band: the index of the first band (lo, hi) holding its age, -1 if none."""
    out = np.full(np.asarray(age).shape, -1, dtype=np.int64)
    for k, (lo, hi) in reversed(list(enumerate(bands))):
        out[(age >= lo) & (age <= hi)] = k
    return out
