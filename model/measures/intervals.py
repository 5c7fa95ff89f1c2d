"""The 95% interval of a mean over seeds (Student's t), for figures that vary from one seed to the next.

A run is one draw of the residents and their day; a figure's mean over ``n`` seeds has the
interval ``mean ± t(0.975, n - 1) · s / √n``, ``s`` the standard deviation over the seeds
(``n - 1`` in the denominator). Paired over seeds (the same seed in two scenarios gives the same
residents wherever the scenarios share their population settings), the values are the per-seed
differences, and the interval is that of their mean: seed-to-seed noise common to both scenarios
cancels in each difference. With ``n = 1`` there is no spread, so no interval (NaN).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

# the usual 95% (two-sided) confidence of a reported interval
CONFIDENCE = 0.95


def t_half_width(std: np.ndarray | float, n: np.ndarray | float) -> np.ndarray:
    """Half the width of the interval of a mean: t(0.975, n - 1) · std / √n (NaN where n < 2)."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * np.asarray(std, dtype=float) / np.sqrt(n)
    return np.where(n > 1, half, np.nan)


def mean_interval(values) -> tuple[float, float, float, int]:
    """(mean, low, high, n) of the finite values among ``values`` (NaN where none; no interval for n = 1)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0
    mean = float(x.mean())
    half = float(t_half_width(x.std(ddof=1) if n > 1 else np.nan, n))
    return mean, mean - half, mean + half, n


def beyond_noise(low: float, high: float) -> bool | None:
    """Whether an interval of a difference excludes 0 (None without an interval)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return None
    return bool(low > 0 or high < 0)
