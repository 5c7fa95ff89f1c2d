"""Event bookkeeping for the fast engine: residents to handle at future ticks."""

from __future__ import annotations

from collections import defaultdict

import numpy as np


def segments(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For segments of the given lengths laid end to end: owner segment and offset of each element."""
    owner = np.repeat(np.arange(lengths.size), lengths)
    offset = np.arange(owner.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return owner, offset


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (``np.unique`` without its fixed cost: a tick's few hundred residents)."""
    values = np.sort(values)
    if values.size < 2:
        return values
    keep = np.empty(values.size, dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


class Buckets:
    """Residents to handle at a future tick, appended in batches."""

    def __init__(self):
        """No events yet."""
        self._at: dict[int, list[np.ndarray]] = defaultdict(list)

    def add(self, ticks: np.ndarray, residents: np.ndarray) -> None:
        """Handle ``residents[i]`` at tick ``ticks[i]``."""
        if residents.size == 0:
            return
        if ticks.min() == ticks.max():  # one tick, as many batches are: no sort
            self._at[int(ticks[0])].append(residents.copy())  # a copy, as below: the caller may reuse its array
            return
        order = np.argsort(ticks, kind="stable")
        ticks, residents = ticks[order], residents[order]
        cuts = (np.flatnonzero(ticks[1:] != ticks[:-1]) + 1).tolist()
        for lo, hi in zip([0, *cuts], [*cuts, residents.size]):
            self._at[int(ticks[lo])].append(residents[lo:hi])

    def pop(self, tick: int) -> np.ndarray:
        """The residents to handle at ``tick`` (forgotten here)."""
        parts = self._at.pop(tick, None)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
