"""Households and escorts: the figures of summary.json's ``households`` (definitions in docs/metrics.md).

Each figure is a pure function of residents.csv's columns (``household``, ``age``, ``escort_min``,
``given_up_escort``, ``no_escort``) and the households' compositions, so that a test can
recompute it from the files.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model.measures.equity import age_band_index


def composition_counts(household_kind: np.ndarray, kinds: Sequence[str]) -> dict[str, int]:
    """Households of each composition (every composition named, 0 where none)."""
    counts = np.bincount(np.asarray(household_kind, dtype=np.int64), minlength=len(kinds))
    return {k: int(counts[i]) for i, k in enumerate(kinds)}


def mean_size(household: np.ndarray) -> float:
    """Residents per household: residents over distinct households (NaN with no residents)."""
    household = np.asarray(household)
    return float(household.size / np.unique(household).size) if household.size else float("nan")


def escorts_by_band(
    age: np.ndarray,
    escort_min: np.ndarray,
    given_up: np.ndarray,
    bands: Sequence[tuple[int, int]],
    labels: Sequence[str],
    days: int,
) -> dict[str, dict]:
    """Per age band of the carers: carers, escort minutes per carer per day, own visits given up.

    A carer is a resident with escort minutes above 0 over the run. ``escort_min_per_day`` is the
    carers' mean of ``escort_min / days`` (NaN with no carer in the band); ``given_up`` counts
    the band's own visits given up for escorting (all residents of the band, over the run), and
    ``given_up_per_day`` that over ``days``.

    Args:
        age: Every resident's age.
        escort_min: Every resident's minutes of escorting over the run.
        given_up: Every resident's own visits given up for escorting over the run.
        bands: (lo, hi) ages of each band, inclusive.
        labels: The bands' names.
        days: Days simulated.
    """
    band = age_band_index(np.asarray(age), bands)
    escort_min, given_up = np.asarray(escort_min, dtype=float), np.asarray(given_up)
    out = {}
    for k, label in enumerate(labels):
        mine = band == k
        carers = mine & (escort_min > 0)
        n = int(carers.sum())
        out[label] = {
            "carers": n,
            "escort_min_per_day": float(escort_min[carers].mean() / days) if n else float("nan"),
            "given_up": int(given_up[mine].sum()),
            "given_up_per_day": float(given_up[mine].sum() / days),
        }
    return out
