"""Street scenarios: the ``[streets]`` table and its CSV data files (docs/streets.md).

:func:`check_streets` checks the CRS, reads the data files the table names and checks every row,
returning the :class:`~.spec.Streets` arrays and the facilities of the facilities file. Paths are
relative to the folder of the TOML file that sets them (:attr:`~.files.Raw.folders`). Only
regular files are read (a pipe or a device is refused before it is read), as UTF-8 (a BOM is
tolerated) with the csv module; blank lines are skipped; surrounding spaces of numbers are not
significant; numbers are decimal (``12``, ``-3.5``, ``1e3``), never ``nan`` or ``inf``.

Where a problem is reported:

* a problem of the table itself (a key missing, a CRS pyproj cannot read or in degrees, a file
  not found or not a regular file) at its key in the TOML file that set it:
  ``small.toml: streets.homes: file not found: /data/homes.csv``;
* a problem of a file's contents names the file as the scenario gives it, the column as the key
  and the line (the header is line 1) as :attr:`Problem.line <.errors.Problem.line>`:
  ``Problem("data/homes.csv", "floor_m2", "must be more than 0, not -3", 7)``, printed
  ``data/homes.csv:7: floor_m2: must be more than 0, not -3``. A problem of the whole file has
  the key "" (``data/homes.csv:3: not UTF-8 text``). At most :data:`MAX_LISTED` row problems
  are listed per file, then how many more there are;
* a community with residents but no home in the homes file at its ``[[communities]]`` entry.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .checker import Checker
from .errors import Problem
from .plausible import CAPACITY
from .reading import Unreadable, read_regular
from .schema import STREET_FILES, suggest
from .spec import Community, FacilitySite, FacilityType, Streets

MAX_LISTED = 20  # row problems listed per data file; the rest are counted
_NEEDED = ("crs", "nodes", "edges", "homes")  # the keys [streets] must give
_REQUIRED = {
    "nodes": ("node_id", "x_m", "y_m"),
    "edges": ("u", "v", "length_m"),
    "homes": ("home_id", "community", "x_m", "y_m", "floor_m2"),
    "facilities": ("type", "name", "x_m", "y_m"),
    "gates": ("community", "x_m", "y_m"),
}
_OPTIONAL = {"facilities": ("capacity", "osm_id")}
# ASCII digits only, and not too many: int() of a long digit string is slow or refused
_INT = re.compile(r"[+-]?[0-9]{1,19}")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,6})?")
_INT64 = 2**63
_NOT_FINITE = {"nan", "inf", "infinity"}


@dataclass(frozen=True)
class StreetsRead:
    """What :func:`check_streets` read.

    Attributes:
        streets: The network, homes and gates; None if anything of them has a problem.
        sites: The valid rows of the facilities file, in file order; unnamed ones have the name
            "" (named with the ``[[facilities]]`` entries, :func:`~.sites.check_facilities`).
        taken: The names the facilities file gives -> where ("facilities.csv line 4").

    """

    streets: Streets | None
    sites: tuple[FacilitySite, ...] = ()
    taken: dict[str, str] | None = None


def _shown(text: str) -> str:
    """A value of a file as a message shows it: quoted, and cut if long."""
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _int_of(text: str) -> tuple[int | None, str]:
    """(the integer ``text`` writes, "") or (None, why it is not one)."""
    s = text.strip()
    if _INT.fullmatch(s):
        value = int(s)
        if -_INT64 <= value < _INT64:
            return value, ""
    if not s:
        return None, "is empty: an integer is required"
    if re.fullmatch(r"[+-]?[0-9]+", s):
        return None, f"must be an integer of at most 64 bits, not {_shown(s)}"
    return None, f"must be an integer, not {_shown(text)}"


def _number_of(text: str) -> tuple[float | None, str]:
    """(the finite number ``text`` writes, "") or (None, why it is not one)."""
    s = text.strip()
    if _NUMBER.fullmatch(s):
        value = float(s)
        if math.isfinite(value):
            return value, ""
        return None, f"must be a finite number, not {_shown(s)}"
    if not s:
        return None, "is empty: a number is required"
    if s.lower().lstrip("+-") in _NOT_FINITE:
        return None, f"must be a finite number, not {_shown(s)}"
    return None, f"must be a decimal number, not {_shown(text)}"


class _Rows:
    """The rows of one data file by column, and the problems found in them.

    Attributes:
        label: The file as the scenario names it (problems give it as their file).
        columns: Column name -> its values, one per row (the columns asked for and found).
        lines: The line of each row.
        failed: Whether any problem was found in the file.

    """

    def __init__(self, label: str, problems: list[Problem]):
        self.label = label
        self.problems = problems
        self.columns: dict[str, list[str]] = {}
        self.lines: list[int] = []
        self.failed = False
        self._count = 0

    @property
    def n(self) -> int:
        """The number of rows."""
        return len(self.lines)

    def at(self, i: int) -> str:
        """Where row ``i`` is, for a message: "homes.csv line 7"."""
        return f"{self.label} line {self.lines[i]}"

    def bad_line(self, line: int, column: str, message: str) -> None:
        """Record a problem at ``line`` (listing at most MAX_LISTED, then counting)."""
        self.failed = True
        self._count += 1
        if self._count <= MAX_LISTED:
            self.problems.append(Problem(self.label, column, message, line))

    def bad(self, column: str, i: int, message: str) -> None:
        """Record a problem of row ``i`` in ``column``."""
        self.bad_line(self.lines[i], column, message)

    def whole(self, message: str, line: int | None = None) -> None:
        """Record a problem of the whole file."""
        self.failed = True
        self.problems.append(Problem(self.label, "", message, line))

    def close(self) -> None:
        """Say how many row problems were not listed."""
        if self._count > MAX_LISTED:
            self.whole(f"{self._count - MAX_LISTED:,} more problems in this file are not listed")

    def ints(self, column: str) -> np.ndarray | None:
        """The integers of a column (int64), or None after recording every bad value."""
        out, ok = np.zeros(self.n, dtype=np.int64), True
        for i, text in enumerate(self.columns[column]):
            value, why = _int_of(text)
            if value is None:
                self.bad(column, i, why)
                ok = False
            else:
                out[i] = value
        return out if ok else None

    def optional_ints(self, column: str, positive: bool = False) -> list[int | None] | None:
        """The integers of an optional column, None where empty (all None without the column)."""
        if column not in self.columns:
            return [None] * self.n
        out, ok = [], True
        for i, text in enumerate(self.columns[column]):
            value, why = (None, "") if not text.strip() else _int_of(text)
            if value is not None and positive and value <= 0:
                value, why = None, f"must be a positive integer (or empty), not {value}"
            if why:
                self.bad(column, i, why)
                ok = False
            out.append(value)
        return out if ok else None

    def numbers(self, column: str, low: float | None = None, above: bool = False) -> np.ndarray | None:
        """The finite numbers of a column, at least ``low`` (more than it if ``above``), or None."""
        out, ok = np.zeros(self.n), True
        for i, text in enumerate(self.columns[column]):
            value, why = _number_of(text)
            if value is not None and low is not None and (value <= low if above else value < low):
                bound = f"more than {low:g}" if above else f"{low:g} or more"
                value, why = None, f"must be {bound}, not {text.strip()}"
            if value is None:
                self.bad(column, i, why)
                ok = False
            else:
                out[i] = value
        return out if ok else None

    def xy(self) -> np.ndarray | None:
        """The (n, 2) coordinates of the columns x_m, y_m, or None if any is bad."""
        x, y = self.numbers("x_m"), self.numbers("y_m")
        return None if x is None or y is None else np.column_stack([x, y]).reshape(-1, 2)

    def unique(self, ids: np.ndarray | None, column: str, what: str) -> dict[int, int] | None:
        """Check that the ids of a column are unique; id -> row number, or None."""
        if ids is None:
            return None
        first: dict[int, int] = {}
        for i, value in enumerate(ids.tolist()):
            j = first.setdefault(value, i)
            if j != i:
                self.bad(column, i, f"{what} {value} is used twice (first on line {self.lines[j]})")
        return first if len(first) == self.n else None

    def communities(self, names: Mapping[str, int], known: set[str]) -> np.ndarray | None:
        """The community index of each row (-1 for a community with a problem of its own), or None."""
        out, ok = np.full(self.n, -1, dtype=np.int64), True
        for i, name in enumerate(self.columns["community"]):
            if name in names:
                out[i] = names[name]
            elif name not in known:
                self.bad("community", i, f"unknown community {_shown(name)}{suggest(name, sorted(known))}")
                ok = False
        return out if ok else None


# --------------------------------------------------------------------------- reading a file


def _read_regular(path: Path) -> tuple[bytes | None, str]:
    """(the bytes of a regular file, "") or (None, why it cannot be read); never opens a pipe or a device.

    Street data files have no size limit: a city's homes can be many (:func:`~.reading.read_regular`).
    """
    data = read_regular(path, limit=None)
    return (None, data.about()) if isinstance(data, Unreadable) else (data, "")


def _read_file(c: Checker, key: str, value: str) -> tuple[Path, bytes] | None:
    """Resolve ``[streets] <key>`` against the folder of the file that set it and read it; None if it cannot be."""
    where = f"streets.{key}"
    if not value.strip():
        c.bad(where, "must name a file")
        return None
    if "\x00" in value:
        c.bad(where, "a file path must not contain a NUL character")
        return None
    folder = c.raw.folders.get(where, c.raw.files[0].parent if c.raw.files else Path.cwd())
    try:
        path = (folder / value).resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symbolic link loop (Python 3.12)
        c.bad(where, f"cannot read {folder / value}: {getattr(exc, 'strerror', None) or exc}")
        return None
    data, why = _read_regular(path)
    if data is None:
        c.bad(where, why)
        return None
    return path, data


def _parse(data: bytes, label: str, key: str, problems: list[Problem]) -> _Rows:
    """Parse one data file into its rows by column (the columns of ``key``), checking the header."""
    rows = _Rows(label, problems)
    try:
        text = data.decode("utf-8-sig")  # -sig: tolerate the BOM some spreadsheets write
    except UnicodeDecodeError as exc:
        rows.whole("not UTF-8 text", data.count(b"\n", 0, exc.start) + 1)
        return rows
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records, last = [], 0
    try:
        for row in reader:
            if any(field.strip() for field in row):  # blank lines are skipped
                records.append((last + 1, row))
            last = reader.line_num
    except csv.Error as exc:
        rows.whole(f"CSV syntax error: {exc}", reader.line_num)
        return rows
    if not records:
        rows.whole("is empty: a CSV file with a header row is expected")
        return rows
    (header_line, header), body = records[0], records[1:]
    index = _header(rows, [name.strip() for name in header], key, header_line)
    if index is None:
        return rows
    rows.columns = {col: [] for col in index}
    for line, row in body:
        if len(row) != len(header):
            rows.bad_line(line, "", f"has {len(row)} fields, the header {len(header)}")
            continue
        rows.lines.append(line)
        for col, i in index.items():
            rows.columns[col].append(row[i])
    return rows


def _header(rows: _Rows, names: list[str], key: str, line: int) -> dict[str, int] | None:
    """Column name -> position, for the columns of ``key`` found; None after recording a required one missing."""
    index, ok = {}, True
    for col in _REQUIRED[key] + _OPTIONAL.get(key, ()):
        found = [i for i, name in enumerate(names) if name == col]
        if len(found) > 1:
            rows.problems.append(Problem(rows.label, col, f"column given {len(found)} times", line))
            ok = False
        elif found:
            index[col] = found[0]
        elif col in _REQUIRED[key]:
            rows.problems.append(Problem(rows.label, col, f"required column is missing{suggest(col, names)}", line))
            ok = False
    rows.failed |= not ok
    return index if ok else None


# --------------------------------------------------------------------------- the files' rows


def _nodes(rows: _Rows) -> tuple[np.ndarray, np.ndarray, dict[int, int]] | None:
    """(node ids, coordinates, id -> node number), or None."""
    ids = rows.ints("node_id")
    index = rows.unique(ids, "node_id", "node id")
    xy = rows.xy()
    if rows.n == 0 and not rows.failed:
        rows.whole("has no rows: the network needs at least one node")
    return None if rows.failed or index is None or xy is None else (ids, xy, index)


def _edges(rows: _Rows, index: dict[int, int] | None, nodes_label: str) -> tuple[np.ndarray, ...] | None:
    """(first node numbers, second node numbers, lengths), or None; without ``index`` ends are not checked."""
    ends = []
    for col in ("u", "v"):
        ids = rows.ints(col)
        if ids is None or index is None:
            ends.append(None)
            continue
        numbers = np.zeros(rows.n, dtype=np.int64)
        for i, value in enumerate(ids.tolist()):
            if value in index:
                numbers[i] = index[value]
            else:
                rows.bad(col, i, f"unknown node id {value} (not in {nodes_label})")
        ends.append(numbers)
    length = rows.numbers("length_m", low=0.0)
    if rows.n == 0 and not rows.failed:
        rows.whole("has no rows: the network needs at least one edge")
    return None if rows.failed or index is None else (ends[0], ends[1], length)


def _homes(rows: _Rows, names: Mapping[str, int], known: set[str]) -> tuple[np.ndarray, ...] | None:
    """(home ids, community indices, coordinates, floor areas), or None."""
    ids = rows.ints("home_id")
    rows.unique(ids, "home_id", "home id")
    community = rows.communities(names, known)
    xy = rows.xy()
    floor = rows.numbers("floor_m2", low=0.0, above=True)
    return None if rows.failed else (ids, community, xy, floor)


def _gates(rows: _Rows, names: Mapping[str, int], known: set[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """(community indices, coordinates), or None."""
    community = rows.communities(names, known)
    xy = rows.xy()
    return None if rows.failed else (community, xy)


def _facilities(
    rows: _Rows, types: Mapping[str, FacilityType], type_names: set[str]
) -> tuple[tuple[FacilitySite, ...], dict[str, str]]:
    """The valid facilities of the file (unnamed ones named ""), and name -> where for every named one."""
    xy = rows.xy()
    capacity = rows.optional_ints("capacity", positive=True)
    osm_id = rows.optional_ints("osm_id")
    taken: dict[str, str] = {}
    for i, (ftype, name) in enumerate(zip(rows.columns["type"], rows.columns["name"], strict=True)):
        if ftype not in type_names:
            rows.bad("type", i, f"unknown facility type {_shown(ftype)}{suggest(ftype, sorted(type_names))}")
        if name in taken:
            rows.bad("name", i, f"facility name {_shown(name)} is used twice (also in {taken[name]})")
        elif name:
            taken[name] = rows.at(i)
    if rows.failed or xy is None or capacity is None or osm_id is None:
        return (), taken
    sites = []
    for i, (ftype, name) in enumerate(zip(rows.columns["type"], rows.columns["name"], strict=True)):
        if ftype in types:  # else the type has a problem of its own, reported already
            cap = capacity[i] if capacity[i] is not None else types[ftype].capacity
            sites.append(FacilitySite(ftype, float(xy[i, 0]), float(xy[i, 1]), cap, name, osm_id[i]))
    return tuple(sites), taken


def _warn_capacities(c: Checker, rows: _Rows) -> None:
    """Warn, with the file and line, about every capacity of the facilities file outside its plausible range."""
    for i, text in enumerate(rows.columns.get("capacity", [])):
        try:
            capacity = int(text.strip())
        except ValueError:  # empty (the type's), or not an integer (reported)
            continue
        message = CAPACITY.outside(capacity) if capacity > 0 else None
        if message is not None:
            c.warnings.append(Problem(rows.label, "capacity", message, rows.lines[i]))


# --------------------------------------------------------------------------- the table


def _check_crs(c: Checker, crs: str) -> bool:
    """Check ``streets.crs``: a projected CRS in metres that pyproj reads."""
    from pyproj import CRS  # here: only street scenarios need it

    try:
        parsed = CRS.from_user_input(crs)
    except (RuntimeError, ValueError, TypeError) as exc:  # pyproj's CRSError is a RuntimeError
        c.bad("streets.crs", f"pyproj cannot read {_shown(crs)}: {exc}")
        return False
    units = sorted({axis.unit_name for axis in parsed.axis_info[:2]})
    if parsed.is_geographic:
        why = "is geographic, in degrees"
    elif not parsed.is_projected:
        why = "is not a projected CRS"
    elif units != ["metre"]:
        why = f"measures in {', '.join(units)}"
    else:
        return True
    c.bad(
        "streets.crs",
        f"{_shown(crs)} ({parsed.name}) {why}: a projected CRS in metres is needed, such as the UTM zone of the "
        "place (EPSG:32635)",
    )
    return False


def _digest(read: Mapping[str, tuple[Path, bytes]]) -> str:
    """sha256 over the files' bytes in the order of STREET_FILES, each preceded by its key and length."""
    h = hashlib.sha256()
    for key in STREET_FILES:
        if key in read:
            data = read[key][1]
            h.update(f"{key} {len(data)}\n".encode())
            h.update(data)
    return h.hexdigest()


def _homeless(c: Checker, communities: tuple[Community, ...], home_community: np.ndarray, label: str) -> None:
    """Report every community with residents but no home in the homes file, at its entry."""
    counts = np.bincount(home_community[home_community >= 0], minlength=len(communities))
    number = {com.name: k for k, com in enumerate(communities)}
    for e in c.raw.lists["communities"]:
        k = number.pop(e.data.get("name"), None)  # pop: an entry reported once
        if k is not None and counts[k] == 0 and communities[k].residents > 0:
            com = communities[k]
            c.bad(
                f"communities[{e.index}]",
                f"community {com.name!r} has {com.residents:,} residents but no home in {label}",
                e.file,
            )


def _read_files(c: Checker, table: Mapping[str, str]) -> dict[str, tuple[Path, bytes]]:
    """Key -> (resolved path, bytes) of every data file the table names that can be read, in STREET_FILES order."""
    read = {}
    for key in STREET_FILES:
        if key in table:
            got = _read_file(c, key, table[key])
            if got is not None:
                read[key] = got
    return read


@dataclass
class _Parts:
    """The checked contents of the data files (None: missing or with a problem)."""

    nodes: tuple | None = None
    edges: tuple | None = None
    homes: tuple | None = None
    gates: tuple | None = None
    sites: tuple[FacilitySite, ...] = ()
    taken: dict[str, str] | None = None


def _parts(
    c: Checker,
    rows: dict[str, _Rows],
    table: Mapping[str, str],
    communities: tuple[Community, ...],
    types: Mapping[str, FacilityType],
    type_names: set[str],
) -> _Parts:
    """Check the rows of every file that was read and parsed; what they hold."""

    def usable(key: str) -> bool:
        return key in rows and not rows[key].failed

    out = _Parts()
    names = {com.name: i for i, com in enumerate(communities)}
    known = {e.data["name"] for e in c.raw.lists["communities"] if "name" in e.data}
    if usable("nodes"):
        out.nodes = _nodes(rows["nodes"])
    if usable("edges"):
        out.edges = _edges(rows["edges"], out.nodes[2] if out.nodes else None, table.get("nodes", "the nodes file"))
    if usable("homes"):
        out.homes = _homes(rows["homes"], names, known)
        if out.homes is not None:
            _homeless(c, communities, out.homes[1], table["homes"])
    if usable("gates"):
        out.gates = _gates(rows["gates"], names, known)
    elif "gates" not in table:
        out.gates = (np.zeros(0, dtype=np.int64), np.zeros((0, 2)))
    if usable("facilities"):
        out.sites, out.taken = _facilities(rows["facilities"], types, type_names)
        _warn_capacities(c, rows["facilities"])
    for r in rows.values():
        r.close()
    return out


def check_streets(
    c: Checker, communities: tuple[Community, ...], types: Mapping[str, FacilityType], type_names: set[str]
) -> StreetsRead:
    """Check the ``[streets]`` table and read its data files (docs/streets.md).

    Args:
        c: The checker of the scenario (its ``[streets]`` table is read).
        communities: The valid communities: homes and gates refer to them by index.
        types: The valid facility types.
        type_names: The names of all facility types, valid or not (a facility of a type with a
            problem of its own is not reported again).

    Returns:
        The streets (None if anything has a problem, recorded in ``c``), the valid facilities of
        the facilities file and the names it gives.

    """
    table = c.table("streets")
    for key in _NEEDED:
        c.require(table, key, f"streets.{key}")
    crs_ok = "crs" in table and _check_crs(c, table["crs"])
    read = _read_files(c, table)
    rows = {key: _parse(data, table[key], key, c.problems) for key, (_, data) in read.items()}
    got = _parts(c, rows, table, communities, types, type_names)
    given = [key for key in STREET_FILES if key in table]
    complete = crs_ok and list(read) == given and not any(r.failed for r in rows.values())
    if not complete or None in (got.nodes, got.edges, got.homes, got.gates):
        return StreetsRead(None, got.sites, got.taken)
    streets = Streets(
        crs=table["crs"],
        node_id=got.nodes[0],
        node_xy_m=got.nodes[1],
        edge_u=got.edges[0],
        edge_v=got.edges[1],
        edge_m=got.edges[2],
        home_id=got.homes[0],
        home_community=got.homes[1],
        home_xy_m=got.homes[2],
        home_floor_m2=got.homes[3],
        gate_community=got.gates[0],
        gate_xy_m=got.gates[1],
        files=tuple(path for path, _ in read.values()),
        digest=_digest(read),
        file_keys=tuple(read),
    )
    return StreetsRead(streets, got.sites, got.taken)
