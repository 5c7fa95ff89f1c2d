"""Output files: JSON, and tables as CSV (floats at full precision, written by pyarrow).

Everything a run writes except run.json is a deterministic function of scenario and seed
(byte-identical across runs); wall times, versions and timestamps go to run.json only.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from model.city.grid import City
from model.city.residents import Residents
from model.city.streets import StreetCity
from model.report import lang
from model.simulation.clock import MINUTES_PER_DAY


def _clean(value):
    """JSON-ready copy: numpy scalars to Python, NaN and inf to null."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as indented JSON (NaN and inf written as null)."""
    path.write_text(json.dumps(_clean(data), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def residents_table(residents: Residents, minutes: dict[str, np.ndarray], city=None) -> pd.DataFrame:
    """residents.csv: id, community, group, age, x, y, m_per_min, then min_<type> (NaN = unreachable).

    On streets (``city`` a :class:`~model.city.streets.StreetCity`) x and y give way to the home's
    x_m, y_m, lon, lat, node (the street node it joins) and node_m (its connector walk).
    """
    frame = residents.frame()
    if isinstance(city, StreetCity):
        frame = _with_node_columns(frame, city, residents.node)
    for t, mins in minutes.items():
        frame[f"min_{t}"] = np.where(np.isfinite(mins), mins, np.nan)
    return frame


def facilities_table(city: City | StreetCity) -> pd.DataFrame:
    """facilities.csv: id, type, name, x, y, capacity.

    On streets: id, type, name, x_m, y_m, lon, lat, node, node_m, osm_id, capacity.
    """
    if isinstance(city, StreetCity):
        frame = _with_node_columns(city.facilities[["id", "type", "name", "x", "y"]], city, city.facilities["node"])
        frame["osm_id"] = city.facilities["osm_id"].to_numpy()
        frame["capacity"] = city.facilities["capacity"].to_numpy()
        return frame
    return city.facilities[["id", "type", "name", "x", "y", "capacity"]]


def _with_node_columns(frame: pd.DataFrame, city: StreetCity, nodes) -> pd.DataFrame:
    """``frame`` with its x, y replaced, in place, by the street columns of ``city.node_columns``."""
    at = list(frame.columns).index("x")
    extra = city.node_columns(np.asarray(nodes))
    left, right = frame.iloc[:, :at].reset_index(drop=True), frame.iloc[:, at + 2 :].reset_index(drop=True)
    return pd.concat([left, extra, right], axis=1)


def _arrow_table(frame: pd.DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


def _csv_options(frame: pd.DataFrame, schema: pa.Schema) -> pacsv.WriteOptions:
    """Plain fields; quotes only if some text holds a comma, quote or line break (header written apart)."""
    for field in schema:
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            if frame[field.name].astype("string").str.contains('[,"\\n\\r]', regex=True).fillna(False).any():
                return pacsv.WriteOptions(quoting_style="needed", include_header=False)
    return pacsv.WriteOptions(quoting_style="none", include_header=False)


def _header(columns) -> str:
    return ",".join(columns) + "\n"


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """Write a table as CSV: floats at full (shortest round-trip) precision, missing values empty.

    pyarrow's writer: on wuhai_city's residents.csv (532,100 rows x 31 columns) 10x faster than
    pandas.DataFrame.to_csv (measured 0.9 s against 9 s), and the numbers are exact.
    """
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    options = _csv_options(frame, schema)
    with open(path, "wb") as fh:
        fh.write(lang.csv_mark() + _header(frame.columns).encode("utf-8"))
        with pacsv.CSVWriter(fh, schema, write_options=options) as writer:
            for lo in range(0, len(frame), CSV_CHUNK_ROWS):
                writer.write_table(_arrow_table(frame.iloc[lo : lo + CSV_CHUNK_ROWS], schema))


# Rows converted to Arrow at a time by write_csv: the whole of wuhai_city's residents.csv at once was
# a copy of the table (some 300 MB), the peak of a city run's memory; the bytes do not depend on it.
CSV_CHUNK_ROWS = 65_536


class CsvStream:
    """A CSV file written chunk by chunk (floats at full precision, no quotes: numbers and type ids)."""

    def __init__(self, path: Path, columns: list[str]):
        """Remember the file; it is opened with the first chunk (a header alone on close if none)."""
        self.path = path
        self.columns = columns
        self._writer = None

    def write(self, frame: pd.DataFrame) -> None:
        """Append the rows of ``frame`` (columns in ``self.columns`` order)."""
        table = _arrow_table(frame[self.columns])
        if self._writer is None:
            self._fh = open(self.path, "wb")  # noqa: SIM115 (closed in close())
            self._fh.write(lang.csv_mark() + _header(self.columns).encode("utf-8"))
            options = pacsv.WriteOptions(quoting_style="none", include_header=False)
            self._writer = pacsv.CSVWriter(self._fh, table.schema, write_options=options)
        self._writer.write_table(table)

    def close(self) -> None:
        """Finish the file."""
        if self._writer is None:
            self.path.write_text(_header(self.columns), encoding=lang.csv_encoding())
        else:
            self._writer.close()
            self._fh.close()
            self._writer = None


class VisitsCsv(CsvStream):
    """visits.csv, written as the run goes: a sink for :class:`model.simulation.visits.VisitLog`.

    Columns: resident, facility, type, day, arrive_min, leave_min, walk_min, choice_rank, and with
    households escorted_by (the carer's resident id, empty when nobody escorted the visitor) and
    chain (the visit's place in its trip). Times follow the
    convention of every output file: ``day`` of the run (0 = first) and clock minutes after
    midnight of that day (a visit never spans midnight: everyone is home by the day's end).
    walk_min is written at full (shortest round-trip) precision, so that the summary's walking
    figures recompute exactly from the file.

    Args:
        path: The file (created with the first chunk, or with the header alone on close).
        day_start_min: Clock minute at which the simulated day starts (``simulation.day_start``).
        households: Whether the run has households (the columns escorted_by and chain).
    """

    COLUMNS = ("resident", "facility", "type", "day", "arrive_min", "leave_min", "walk_min", "choice_rank")
    HOUSEHOLD_COLUMNS = ("escorted_by", "chain")

    def __init__(self, path: Path, day_start_min: int, households: bool = False):
        """Write to ``path``."""
        super().__init__(path, list(self.COLUMNS + (self.HOUSEHOLD_COLUMNS if households else ())))
        self.day_start_min = day_start_min

    def write(self, columns) -> None:
        """Append one chunk of visits (the visit log's arrays by column, type as names)."""
        day, arrive = clock_time(columns["arrive_min"], self.day_start_min)
        _, leave = clock_time(columns["leave_min"], self.day_start_min, day)
        frame = pd.DataFrame(columns)
        frame["day"], frame["arrive_min"], frame["leave_min"] = day, arrive, leave
        if "escorted_by" in self.columns:  # empty where nobody escorted the visitor
            frame["escorted_by"] = pd.array(np.where(frame["escorted_by"] >= 0, frame["escorted_by"], 0), dtype="Int64")
            frame.loc[columns["escorted_by"] < 0, "escorted_by"] = pd.NA
        super().write(frame)


def turned_away_table(log: dict[str, np.ndarray], type_names, facility_type: np.ndarray, clock) -> pd.DataFrame:
    """turned_away.csv: the turn-away log (``Engine.turn_aways``), one row per give-up in a queue.

    Columns: resident, facility, type (its name), day, minute (the clock minute at which the tick
    of the give-up starts, as visits.csv's times), choice_rank (1 at the trip's first choice, r
    after r - 1 turn-aways); rows by day, minute, facility and resident.
    """
    tick = log["tick"]
    return pd.DataFrame(
        {
            "resident": log["resident"],
            "facility": log["facility"],
            "type": np.asarray(type_names, dtype=object)[facility_type[log["facility"]]],
            "day": np.asarray(clock.day(tick), dtype=np.int64),
            "minute": np.asarray(clock.minute_of_day(tick), dtype=np.int64),
            "choice_rank": log["choice_rank"],
        }
    )


def clock_time(run_min: np.ndarray, day_start_min: int, day: np.ndarray | None = None):
    """Day and clock minute (after midnight) of run minutes (model/simulation/clock.py).

    A run minute is ``day * 1440 + (clock minute - day start)``; ``day`` may be given (the day of
    a visit's arrival, for its leaving minute, which may be the day's end).
    """
    run_min = np.asarray(run_min, dtype=np.int64)
    if day is None:
        day = run_min // MINUTES_PER_DAY
    return day, run_min - day * MINUTES_PER_DAY + day_start_min
