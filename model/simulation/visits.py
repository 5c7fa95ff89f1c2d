"""The visit log: one record per completed visit, kept in memory and optionally passed to a sink.

Columns: resident, facility, type, arrive_min, leave_min, walk_min, choice_rank, escorted_by, chain. The
resident is present at the facility for run minutes ``arrive_min <= t < leave_min`` (from admission to leaving);
``walk_min`` is the realised one-way walking time from home to the facility, in minutes (path
metres over own speed, summed over the legs when a first choice turned the resident away);
``choice_rank`` is 1 when the visit is at the first facility the resident walked to on that
trip, k when at the facility it walked on to after k - 1 turn-aways; ``escorted_by`` is the
resident id of the carer who took the resident there and back (-1: nobody; written empty); ``chain``
is the visit's place in its trip: 1 for a visit reached from home, 2 for a carer's visit reached
from the facility where it left a child (docs/behaviour.md, Households and escorts).

A sink (for example ``model.report.files.VisitsCsv``, which writes visits.csv) receives the
visits chunk by chunk as they come, so that a long run's log never has to be held as text.

The turn-away log (:func:`turn_away_table`) is its counterpart for the visits that did not happen
where the resident first went: one row per give-up in a queue, kept by the engine
(``Engine.turn_aways``) and written as turned_away.csv beside visits.csv.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

COLUMNS = ("resident", "facility", "type", "arrive_min", "leave_min", "walk_min", "choice_rank", "escorted_by", "chain")
_CHUNK_ROWS = 200_000


class VisitSink(Protocol):
    """Where visits go as they are recorded (besides memory)."""

    def write(self, columns: dict[str, np.ndarray]) -> None:
        """Take one chunk of visits: the COLUMNS as arrays, ``type`` as type names."""

    def close(self) -> None:
        """No more visits."""


class VisitLog:
    """Collects completed visits as column chunks (about 50 bytes a visit) for the summary's figures.

    Args:
        type_names: Name of each type index.
        sink: Receives every chunk as it is added (type indices replaced by names), or None.
    """

    def __init__(self, type_names: tuple[str, ...], sink: VisitSink | None = None):
        """Start an empty log."""
        self.type_names = type_names
        self._rows: list[tuple] = []
        self._chunks: list[dict[str, np.ndarray]] = []
        self._sink = sink
        self.streamed = sink is not None  # whether the log is written out (``--log-visits``), after close too

    def record(
        self,
        resident: int,
        facility: int,
        type_index: int,
        arrive_min: int,
        leave_min: int,
        walk_min: float,
        choice_rank: int,
        escorted_by: int = -1,
        chain: int = 1,
    ) -> None:
        """Record one visit."""
        self._rows.append(
            (resident, facility, type_index, arrive_min, leave_min, walk_min, choice_rank, escorted_by, chain)
        )
        if len(self._rows) >= _CHUNK_ROWS:
            self._flush_rows()

    def extend(
        self, resident, facility, type_index, arrive_min, leave_min, walk_min, choice_rank, escorted_by=None, chain=None
    ) -> None:
        """Record many visits at once (arrays of equal length; ``escorted_by`` -1 and ``chain`` 1 if not given)."""
        n = np.asarray(resident).size
        self._add_chunk(
            {
                "resident": np.asarray(resident, dtype=np.int64),
                "facility": np.asarray(facility, dtype=np.int64),
                "type": np.asarray(type_index, dtype=np.int64),
                "arrive_min": np.asarray(arrive_min, dtype=np.int64),
                "leave_min": np.asarray(leave_min, dtype=np.int64),
                "walk_min": np.asarray(walk_min, dtype=float),
                "choice_rank": np.asarray(choice_rank, dtype=np.int64),
                "escorted_by": np.full(n, -1, dtype=np.int64)
                if escorted_by is None
                else np.asarray(escorted_by, dtype=np.int64),
                "chain": np.ones(n, dtype=np.int64) if chain is None else np.asarray(chain, dtype=np.int64),
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
        if self._sink is not None:
            named = dict(chunk)
            named["type"] = np.asarray(self.type_names, dtype=object)[chunk["type"]]
            self._sink.write(named)

    def columns(self) -> dict[str, np.ndarray]:
        """All visits so far as arrays (type as an index into ``type_names``), in the order recorded."""
        self._flush_rows()
        if not self._chunks:
            return {c: np.zeros(0, dtype=float if c == "walk_min" else np.int64) for c in COLUMNS}
        return {c: np.concatenate([ch[c] for ch in self._chunks]) for c in COLUMNS}

    def close(self) -> None:
        """Pass what is pending to the sink and close it."""
        self._flush_rows()
        if self._sink is not None:
            self._sink.close()
            self._sink = None


# The columns of the turn-away log (``Engine.turn_aways``; turned_away.csv with ``--log-visits``)
TURN_AWAY_COLUMNS = ("resident", "facility", "tick", "choice_rank")


def turn_away_table(resident, facility, tick, choice_rank) -> dict[str, np.ndarray]:
    """The turn-away log from its columns, one row per turn-away, by tick, then facility, then resident.

    Both engines record a turn-away when a resident gives up in a facility's queue
    (``Resident.turned_away``): who, where, in which tick, and at which choice of its trip
    (``choice_rank``: 1 at the first, r after r - 1 turn-aways). The order makes the log of the
    two engines the same row for row where their runs are the same.
    """
    columns = [np.asarray(c, dtype=np.int64) for c in (resident, facility, tick, choice_rank)]
    order = np.lexsort((columns[0], columns[1], columns[2]))
    return {name: c[order] for name, c in zip(TURN_AWAY_COLUMNS, columns, strict=True)}
