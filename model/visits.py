"""The visit log: one record per completed visit, kept in memory or streamed to visits.csv.

Columns: resident, facility, type, arrive_min, leave_min, walk_min. The resident is present at
the facility for run minutes ``arrive_min <= t < leave_min`` (from admission to leaving);
``walk_min`` is the realised one-way walking time from home to the facility, in minutes (path
metres over own speed, summed over the legs when a first choice turned the resident away), written
at full precision so that the summary's walking figures recompute exactly from the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from model.outputs import CsvStream

COLUMNS = ("resident", "facility", "type", "arrive_min", "leave_min", "walk_min")
_CHUNK_ROWS = 200_000


class VisitLog:
    """Collects completed visits as column chunks; optionally streams them to a CSV file.

    Visits are kept as compact integer and float arrays (about 50 bytes a visit) for the
    summary's figures; with a ``path`` the text rows go to disk chunk by chunk as they come,
    never held whole in memory.
    """

    def __init__(self, type_names: tuple[str, ...], path: Path | None = None):
        """Start an empty log; write rows to ``path`` as they come if given."""
        self.type_names = type_names
        self._rows: list[tuple] = []
        self._chunks: list[dict[str, np.ndarray]] = []
        self._file = CsvStream(path, list(COLUMNS)) if path is not None else None

    def record(self, resident, facility, admit_tick: int, leave_tick: int) -> None:
        """Record one visit of a :class:`model.behaviour.Resident` at a :class:`model.behaviour.Facility`."""
        clock = resident.model.clock
        self._rows.append(
            (
                resident.rid,
                facility.fid,
                resident.model.type_index[facility.ftype.id],
                clock.run_minute(admit_tick),
                clock.run_minute(leave_tick),
                resident.walk_min,
            )
        )
        if len(self._rows) >= _CHUNK_ROWS:
            self._flush_rows()

    def extend(self, resident, facility, type_index, arrive_min, leave_min, walk_min) -> None:
        """Record many visits at once (arrays of equal length)."""
        self._add_chunk(
            {
                "resident": np.asarray(resident, dtype=np.int64),
                "facility": np.asarray(facility, dtype=np.int64),
                "type": np.asarray(type_index, dtype=np.int64),
                "arrive_min": np.asarray(arrive_min, dtype=np.int64),
                "leave_min": np.asarray(leave_min, dtype=np.int64),
                "walk_min": np.asarray(walk_min, dtype=float),
            }
        )

    def _flush_rows(self) -> None:
        if self._rows:
            cols = list(zip(*self._rows))
            self._rows = []
            self.extend(*cols)

    def _add_chunk(self, chunk: dict[str, np.ndarray]) -> None:
        if chunk["resident"].size == 0:
            return
        self._chunks.append(chunk)
        if self._file is not None:
            frame = pd.DataFrame(chunk)
            frame["type"] = np.asarray(self.type_names, dtype=object)[chunk["type"]]
            # walk_min at full (shortest round-trip) precision: the summary's mean_walk_min and
            # fifteen_minute_usage must be exactly recomputable from this file
            self._file.write(frame)

    def columns(self) -> dict[str, np.ndarray]:
        """All visits so far as arrays (type as an index into ``type_names``), in the order recorded."""
        self._flush_rows()
        if not self._chunks:
            return {c: np.zeros(0, dtype=float if c == "walk_min" else np.int64) for c in COLUMNS}
        return {c: np.concatenate([ch[c] for ch in self._chunks]) for c in COLUMNS}

    def close(self) -> None:
        """Write what is pending and close the file."""
        self._flush_rows()
        if self._file is not None:
            self._file.close()
            self._file = None
