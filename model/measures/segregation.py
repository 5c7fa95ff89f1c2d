"""Residential segregation: pure functions on count tables.

Every formula is written in docs/metrics.md; each index is computed in exactly one function and
:func:`residential_mixing` only assembles them.

The indices (Massey & Denton 1988; Reardon & Firebaugh 2002) work on a count table ``counts``
of shape ``(units, groups)``: ``counts[i, g]`` is the number of residents of group ``g`` living
in unit ``i`` (a residential block or a community). Units with no residents are left out.

Undefined values (a ratio whose denominator is zero, e.g. the dissimilarity of a group that has
no members) are returned as ``float("nan")`` rather than raised, so that one empty group does not
stop a run's report; the report writes NaN as ``null``.

Sources:
    Massey, D. & Denton, N. (1988) The dimensions of residential segregation. Social Forces 67(2).
    Reardon, S. & Firebaugh, G. (2002) Measures of multigroup segregation. Sociological
    Methodology 32.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

NAN = float("nan")


def block_keys(x: ArrayLike, y: ArrayLike, block_cells: int) -> NDArray[np.int64]:
    """Residential block (bx, by) = (x // block_cells, y // block_cells) of every home, as (n, 2)."""
    return np.stack([np.asarray(x) // block_cells, np.asarray(y) // block_cells], axis=1)


def count_table(
    unit_ids: ArrayLike, group_ids: ArrayLike, n_groups: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Build the (unit × group) count table from one row per resident.

    Args:
        unit_ids: Integer unit key per resident, shape ``(residents,)``; or shape
            ``(residents, k)`` for composite keys such as ``(x // block_cells, y // block_cells)``.
        group_ids: Group index per resident, shape ``(residents,)``, each in ``[0, n_groups)``.
        n_groups: Number of groups (columns of the table), including groups with no residents.

    Returns:
        ``(unit_keys, counts)``: the sorted distinct unit keys (shape ``(units,)`` or
        ``(units, k)``) and ``counts`` of shape ``(units, n_groups)`` where ``counts[i, g]`` is the
        number of residents of group ``g`` whose key is ``unit_keys[i]``. Only units with at least
        one resident appear.

    Raises:
        ValueError: If the arrays disagree in length or a group index is out of range.

    """
    units = np.asarray(unit_ids)
    groups = np.asarray(group_ids, dtype=np.int64).reshape(-1)
    if units.shape[:1] != groups.shape:
        raise ValueError(
            f"count_table: unit_ids has {units.shape[0] if units.ndim else 0} rows but group_ids has {groups.size}"
        )
    if n_groups < 1:
        raise ValueError(f"count_table: n_groups must be >= 1, got {n_groups}")
    if groups.size and (groups.min() < 0 or groups.max() >= n_groups):
        raise ValueError(f"count_table: group_ids must lie in [0, {n_groups}), got [{groups.min()}, {groups.max()}]")
    if units.ndim == 1:
        unit_keys, unit_index = np.unique(units, return_inverse=True)
    else:
        unit_keys, unit_index = np.unique(units, axis=0, return_inverse=True)
    unit_index = unit_index.reshape(-1)
    flat = np.bincount(unit_index * n_groups + groups, minlength=len(unit_keys) * n_groups)
    return unit_keys, flat.reshape(len(unit_keys), n_groups).astype(np.int64)


def group_shares(members: ArrayLike) -> NDArray[np.float64]:
    """π_g = M_g / T of every group, from the residents of each group (NaN everywhere if none)."""
    m = np.asarray(members, dtype=np.float64)
    total = m.sum()
    return m / total if total > 0 else np.full(m.shape, NAN)


def _occupied(counts: ArrayLike) -> NDArray[np.float64]:
    """Return the count table as float64 with the units of zero total left out.

    Raises:
        ValueError: If the table is not 2-D or holds negative counts.

    """
    table = np.asarray(counts, dtype=np.float64)
    if table.ndim != 2:
        raise ValueError(f"counts must be a 2-D (units, groups) table, got shape {table.shape}")
    if (table < 0).any():
        raise ValueError("counts must be non-negative")
    return table[table.sum(axis=1) > 0]


def _ratio(numerator: float, denominator: float) -> float:
    """Return ``numerator / denominator`` as a Python float, NaN when the denominator is zero."""
    return float(numerator / denominator) if denominator > 0 else NAN


def dissimilarity(counts: ArrayLike, g: int) -> float:
    """Two-group dissimilarity index of group ``g`` against all other residents.

    D_g = ½ Σ_i | m_gi / M_g − (t_i − m_gi) / (T − M_g) |

    The share of group ``g`` (or, equally, of everyone else) that would have to move for ``g`` to
    be spread over the units like everyone else (Massey & Denton 1988, evenness). Equals PySAL
    ``segregation.singlegroup.Dissim(df, group_pop_var=g, total_pop_var=total).statistic``.

    Args:
        counts: Count table of shape ``(units, groups)``.
        g: Column of the group.

    Returns:
        D_g in [0, 1]; NaN if group ``g`` has no members or nobody else lives in the units.

    """
    table = _occupied(counts)
    m = table[:, g]
    others = table.sum(axis=1) - m
    if m.sum() == 0 or others.sum() == 0:
        return NAN
    return float(0.5 * np.abs(m / m.sum() - others / others.sum()).sum())


def isolation(counts: ArrayLike, g: int) -> float:
    """Isolation index xPx of group ``g``.

    xPx_g = Σ_i (m_gi / M_g) · (m_gi / t_i)

    The share of group ``g`` in the unit of the average member of ``g`` (Massey & Denton 1988,
    exposure dimension). Equals PySAL ``segregation.singlegroup.Isolation``.

    Args:
        counts: Count table of shape ``(units, groups)``.
        g: Column of the group.

    Returns:
        xPx_g in [0, 1]; NaN if group ``g`` has no members.

    """
    table = _occupied(counts)
    m = table[:, g]
    return _ratio(float((m * (m / table.sum(axis=1))).sum()), float(m.sum()))


def exposure(counts: ArrayLike, g: int) -> float:
    """Exposure (interaction) index xPy of group ``g`` to all other residents.

    xPy_g = Σ_i (m_gi / M_g) · ((t_i − m_gi) / t_i)

    The share of other groups in the unit of the average member of ``g``; xPx_g + xPy_g = 1
    (Massey & Denton 1988, exposure dimension). Equals PySAL ``segregation.singlegroup.Interaction``.

    Args:
        counts: Count table of shape ``(units, groups)``.
        g: Column of the group.

    Returns:
        xPy_g in [0, 1]; NaN if group ``g`` has no members.

    """
    table = _occupied(counts)
    m = table[:, g]
    t = table.sum(axis=1)
    return _ratio(float((m * ((t - m) / t)).sum()), float(m.sum()))


def relative_exposure(exposure_g: float, share_g: float) -> float:
    """Exposure of group g relative to random mixing.

    relative_exposure_g = exposure_g / (1 − π_g), π_g = g's share of all residents

    Under random mixing (every unit, or every meeting, a draw from the whole population) the
    out-group share around a member of g is 1 − π_g, so 1 means "as mixed as chance" and values
    below 1 mean less mixed. Applied to residential (blocks, communities, a walk from home) and
    activity exposure alike (docs/metrics.md), so that groups of different sizes and scales
    compare.

    Args:
        exposure_g: An exposure of g to all other groups (a share in [0, 1]).
        share_g: π_g, g's share of all residents.

    Returns:
        The ratio; NaN when the exposure is NaN or g is everyone (π_g = 1).
    """
    return _ratio(exposure_g, 1.0 - share_g) if not math.isnan(exposure_g) else NAN


def multigroup_dissimilarity(counts: ArrayLike) -> float:
    """Multigroup dissimilarity index.

    D = Σ_g Σ_i t_i |π_gi − π_g| / (2 T I),  I = Σ_g π_g (1 − π_g)

    (Reardon & Firebaugh 2002.) Equals PySAL ``segregation.multigroup.MultiDissim``.

    Args:
        counts: Count table of shape ``(units, groups)``.

    Returns:
        D in [0, 1]; NaN if fewer than two groups have members (I = 0) or the table is empty.

    """
    table = _occupied(counts)
    t = table.sum(axis=1)
    total = t.sum()
    if total == 0:
        return NAN
    pi = table.sum(axis=0) / total
    simpson = float((pi * (1.0 - pi)).sum())
    spread = float((t[:, None] * np.abs(table / t[:, None] - pi)).sum())
    return _ratio(spread, 2.0 * total * simpson)


def _entropy(shares: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return −Σ p ln p along the last axis, with 0·ln 0 = 0."""
    safe = np.where(shares > 0, shares, 1.0)
    return -(shares * np.log(safe)).sum(axis=-1)


def information_theory(counts: ArrayLike) -> float:
    """Multigroup information theory index (Theil's H).

    H = Σ_i t_i (E − E_i) / (T E),  E = −Σ_g π_g ln π_g,  E_i = −Σ_g π_gi ln π_gi  (0·ln 0 = 0)

    (Reardon & Firebaugh 2002.) Equals PySAL ``segregation.multigroup.MultiInfoTheory``.

    Args:
        counts: Count table of shape ``(units, groups)``.

    Returns:
        H in [0, 1]; NaN if fewer than two groups have members (E = 0) or the table is empty.

    """
    table = _occupied(counts)
    t = table.sum(axis=1)
    total = t.sum()
    if total == 0:
        return NAN
    city_entropy = float(_entropy(table.sum(axis=0) / total))
    unit_entropy = _entropy(table / t[:, None])
    return _ratio(float((t * (city_entropy - unit_entropy)).sum()), total * city_entropy)


def residential_mixing(counts: ArrayLike, group_names: Sequence[str]) -> dict:
    """All residential mixing indices of one count table, keyed by group name.

    Args:
        counts: Count table of shape ``(units, groups)``; column ``g`` is ``group_names[g]``.
        group_names: One name per column.

    Returns:
        ``{"dissimilarity": {name: D_g}, "isolation": {name: xPx_g}, "exposure": {name: xPy_g},
        "relative_exposure": {name: xPy_g / (1 − π_g)}, "multigroup_dissimilarity": D,
        "information_theory": H}`` with plain Python floats (π_g: g's share of the table).
        A group with no members gets NaN for its three single-group indices (and its
        dissimilarity is NaN too when it is the only group present); the multigroup indices are
        NaN when fewer than two groups have members. Absent groups do not change the multigroup
        indices of the others.

    Raises:
        ValueError: If the number of names differs from the number of columns.

    """
    table = np.asarray(counts)
    if table.ndim != 2 or table.shape[1] != len(group_names):
        raise ValueError(
            f"residential_mixing: counts has shape {table.shape} but {len(group_names)} group names were given"
        )
    exposures = {name: exposure(table, g) for g, name in enumerate(group_names)}
    shares = group_shares(table.sum(axis=0))
    return {
        "dissimilarity": {name: dissimilarity(table, g) for g, name in enumerate(group_names)},
        "isolation": {name: isolation(table, g) for g, name in enumerate(group_names)},
        "exposure": exposures,
        "relative_exposure": {
            name: relative_exposure(exposures[name], shares[g]) for g, name in enumerate(group_names)
        },
        "multigroup_dissimilarity": multigroup_dissimilarity(table),
        "information_theory": information_theory(table),
    }
