"""Walking bands along a street network: the parts of each way reached within a walk.

On the grid a band is a set of cells. On a street network it is a set of pieces of ways: a way
(u, v) of length L, whose ends lie d_u and d_v metres from the nearest facility, is walked from
both ends, so within a budget of B metres the walker covers ``max(0, B - d_u)`` metres from u and
``max(0, B - d_v)`` from v. When the two reach past each other the whole way is inside the band;
otherwise the two pieces at its ends are (either may be empty). Ways are drawn as the straight
line between their nodes (the scenario's files hold no way geometry), and a piece as that share
of the line. This is exact for distances along the network: a point of a way lies within the band
exactly when the walk to it (via either end) is at most B.
"""

from __future__ import annotations

import numpy as np


def reached_segments(
    xy_u: np.ndarray, xy_v: np.ndarray, d_u: np.ndarray, d_v: np.ndarray, length_m: np.ndarray, budget_m: float
) -> np.ndarray:
    """The pieces of ways within ``budget_m`` metres of walking, as straight segments.

    Args:
        xy_u: (e, 2) first end of every way, metres.
        xy_v: (e, 2) second end.
        d_u: (e,) walking metres from the sources to the first end (inf where unreachable).
        d_v: (e,) to the second end.
        length_m: (e,) the ways' walking lengths.
        budget_m: The band's walk, metres.

    Returns:
        Float array (k, 2, 2): one segment (from, to) per piece reached; a whole way once.
    """
    xy_u, xy_v = np.asarray(xy_u, dtype=float).reshape(-1, 2), np.asarray(xy_v, dtype=float).reshape(-1, 2)
    length = np.asarray(length_m, dtype=float)
    with np.errstate(invalid="ignore"):
        from_u = np.clip(budget_m - np.asarray(d_u, dtype=float), 0.0, None)
        from_v = np.clip(budget_m - np.asarray(d_v, dtype=float), 0.0, None)
    from_u, from_v = np.nan_to_num(from_u, nan=0.0), np.nan_to_num(from_v, nan=0.0)
    whole = (from_u + from_v >= length) & ((from_u > 0) | (from_v > 0) | (length == 0) & np.isfinite(d_u))
    with np.errstate(divide="ignore", invalid="ignore"):
        share_u = np.where(length > 0, np.minimum(from_u / length, 1.0), 1.0)
        share_v = np.where(length > 0, np.minimum(from_v / length, 1.0), 1.0)
    step = xy_v - xy_u
    pieces = [np.stack([xy_u[whole], xy_v[whole]], axis=1)]
    part_u = ~whole & (from_u > 0)
    pieces.append(np.stack([xy_u[part_u], xy_u[part_u] + share_u[part_u, None] * step[part_u]], axis=1))
    part_v = ~whole & (from_v > 0)
    pieces.append(np.stack([xy_v[part_v] - share_v[part_v, None] * step[part_v], xy_v[part_v]], axis=1))
    return np.concatenate(pieces).reshape(-1, 2, 2)


def covered_metres(d_u: np.ndarray, d_v: np.ndarray, length_m: np.ndarray, budget_m: float) -> np.ndarray:
    """Walking metres of each way within ``budget_m``: ``min(L, max(0, B - d_u) + max(0, B - d_v))``."""
    with np.errstate(invalid="ignore"):
        from_u = np.nan_to_num(np.clip(budget_m - np.asarray(d_u, dtype=float), 0.0, None), nan=0.0)
        from_v = np.nan_to_num(np.clip(budget_m - np.asarray(d_v, dtype=float), 0.0, None), nan=0.0)
    return np.minimum(np.asarray(length_m, dtype=float), from_u + from_v)
