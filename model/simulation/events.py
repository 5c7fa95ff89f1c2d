"""Event bookkeeping for the fast engine: residents to handle at future ticks."""

from __future__ import annotations

from collections import defaultdict

import numpy as np


def segments(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For segments of the given lengths laid end to end: owner segment and offset of each element."""
    owner = np.repeat(np.arange(lengths.size), lengths)
    offset = np.arange(owner.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return owner, offset


class Buckets:
    """Residents to handle at a future tick, appended in batches."""

    def __init__(self):
        """No events yet."""
        self._at: dict[int, list[np.ndarray]] = defaultdict(list)

    def add(self, ticks: np.ndarray, residents: np.ndarray) -> None:
        """Handle ``residents[i]`` at tick ``ticks[i]``."""
        if residents.size == 0:
            return
        order = np.argsort(ticks, kind="stable")
        ticks, residents = ticks[order], residents[order]
        cuts = np.flatnonzero(np.diff(ticks)) + 1
        for tick, group in zip(ticks[np.r_[0, cuts]], np.split(residents, cuts)):
            self._at[int(tick)].append(group)

    def pop(self, tick: int) -> np.ndarray:
        """The residents to handle at ``tick`` (forgotten here)."""
        parts = self._at.pop(tick, None)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
