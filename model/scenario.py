"""Scenario files: load, extend, validate.

A scenario is a TOML file (see docs/scenarios.md). Loading it

1. reads the file and, recursively, the file it ``extends``;
2. merges them: tables key by key, ``[[communities]]`` and ``[[facilities]]`` appended, an
   entry with the same ``name`` as one in the base replacing it;
3. checks every key and value, collecting *all* problems before reporting them;
4. returns a frozen :class:`Scenario`.

Every problem names the file and the key path (``demo.toml: facilities[3].at: ...``), so the
command line can print them and exit 2. Files are data: nothing in them is executed.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_DIR = ROOT / "scenarios"
DEFAULT_SCENARIO = SCENARIO_DIR / "demo.toml"
LIST_SECTIONS = ("communities", "facilities")
MAX_AGE = 100
SHARE_TOLERANCE = 1e-6
# Limits of this implementation (memory on a 24 GB machine), reported as bad input rather than
# failing later: 50 million cells (a 350 km square at 50 m cells) and 20 million residents.
MAX_CELLS = 50_000_000
MAX_RESIDENTS = 20_000_000


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario file.

    Attributes:
        file: File name the problem is in.
        key: Key path inside the file, e.g. ``facilities[3].at`` ("" for the whole file).
        message: What is wrong, for a person.
        line: Line number when known (TOML syntax errors).

    """

    file: str
    key: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        """Format as ``file[:line]: key: message``."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ScenarioError(Exception):
    """Bad input in a scenario file: carries every problem found."""

    def __init__(self, problems: list[Problem]):
        """Store the problems; the message lists them one per line."""
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# --------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class AgeBand:
    """An inclusive band of ages in years, written "lo-hi" in files."""

    lo: int
    hi: int

    def __str__(self) -> str:
        """Write as in scenario files."""
        return f"{self.lo}-{self.hi}"

    def contains(self, age: int) -> bool:
        """Whether ``age`` is in the band."""
        return self.lo <= age <= self.hi


@dataclass(frozen=True)
class Grid:
    """The walkable grid.

    Attributes:
        width: Columns (x = 0..width-1).
        height: Rows (y = 0..height-1).
        cell_m: Metres per cell side.
        blocked: Rectangles (x, y, w, h) of cells nobody can walk on.

    """

    width: int
    height: int
    cell_m: float
    blocked: tuple[tuple[int, int, int, int], ...] = ()


@dataclass(frozen=True)
class Community:
    """A community: residents live on the walkable cells of ``area``.

    Attributes:
        name: Unique name.
        area: Rectangle (x, y, w, h) in cells.
        residents: Number of residents.
        groups: The community's own group shares, or None for the population's.

    """

    name: str
    area: tuple[int, int, int, int]
    residents: int
    groups: dict[str, float] | None = None


@dataclass(frozen=True)
class FacilitySite:
    """One facility placed by the scenario."""

    type: str
    x: int
    y: int
    capacity: int
    name: str


@dataclass(frozen=True)
class FacilityType:
    """A catalogue entry, after the scenario's overrides (see model/catalogue.toml)."""

    id: str
    label: str
    level_min: float
    ages: AgeBand
    daily_prob: float
    weekdays_only: bool
    depart_min: tuple[int, int]
    visit_min: int
    open_min: int
    close_min: int
    capacity: int
    beta_per_min: float
    patience_min: int
    tries: int
    source: dict[str, str] = field(default_factory=dict, compare=False)

    def needed_by(self, age: int) -> bool:
        """Whether a resident of this age needs this type."""
        return self.ages.contains(age)


@dataclass(frozen=True)
class Simulation:
    """Settings of the daily-life simulation (see docs/scenarios.md, which gives each default's origin).

    Attributes:
        tick_min: Minutes per model step.
        day_start_min: First minute of the simulated day (minutes after midnight).
        day_end_min: Minute the simulated day ends.
        cutoff_min: Facilities farther than this (own walking minutes) are not chosen.
        block_m: Side of a residential block for the mixing indices, in metres.
        contact_min: Minutes of co-presence that make a contact.
        first_weekday: Weekday of day 0 (0 = Monday).

    """

    tick_min: int = 1
    day_start_min: int = 6 * 60
    day_end_min: int = 22 * 60
    cutoff_min: float = 30.0
    block_m: float = 200.0
    contact_min: int = 10
    first_weekday: int = 0


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: everything needed to build the city and its residents."""

    name: str
    path: Path
    description: str
    seed: int
    grid: Grid
    groups: dict[str, float]
    ages: dict[AgeBand, float]
    mixing: float
    speeds: dict[AgeBand, float]
    communities: tuple[Community, ...]
    facilities: tuple[FacilitySite, ...]
    types: dict[str, FacilityType]
    simulation: Simulation

    @property
    def types_present(self) -> list[str]:
        """Facility types that have at least one facility, in catalogue order."""
        present = {f.type for f in self.facilities}
        return [t for t in self.types if t in present]

    def speed_for(self, age: int) -> float:
        """Return the walking speed in m/min of a resident of this age."""
        for band, speed in self.speeds.items():
            if band.contains(age):
                return speed
        raise ValueError(f"no walking speed for age {age}")  # validation rules this out


# --------------------------------------------------------------------------- schema

# Value kinds: "str", "int", "float", "bool", "rect", "cell", "shares", "speeds", "time",
# "window", "band", "table" (nested schema), "list" (list of nested schema)
_COMMUNITY = {"name": "str", "area": "rect", "residents": "int", "groups": "shares"}
_FACILITY = {"type": "str", "at": "cell", "capacity": "int", "name": "str"}
_TYPE_FIELDS = {
    "label": "str",
    "level_min": "float",
    "ages": "band",
    "daily_prob": "float",
    "weekdays_only": "bool",
    "depart": "window",
    "visit_min": "int",
    "open": "time",
    "close": "time",
    "capacity": "int",
    "beta_per_min": "float",
    "patience_min": "int",
    "tries": "int",
    "source": "sources",
}
_SCHEMA: dict[str, Any] = {
    "name": "str",
    "description": "str",
    "extends": "str",
    "seed": "int",
    "grid": {"width": "int", "height": "int", "cell_m": "float", "blocked": "rects"},
    "population": {"groups": "shares", "ages": "shares", "mixing": "float"},
    "walking": {"m_per_min": "speeds"},
    "simulation": {
        "tick_min": "int",
        "day_start": "time",
        "day_end": "time",
        "cutoff_min": "float",
        "block_m": "float",
        "contact_min": "int",
        "first_weekday": "int",
    },
    "communities": [_COMMUNITY],
    "facilities": [_FACILITY],
    "facility_types": "types",
}
_KIND_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "rect": "[x, y, w, h] (four integers)",
    "rects": "a list of [x, y, w, h] rectangles",
    "cell": "[x, y] (two integers)",
    "shares": "a table of shares, e.g. { han = 0.9, mongol = 0.1 }",
    "speeds": 'a table of speeds by age band, e.g. { "0-59" = 78.0, "60-100" = 60.0 }',
    "time": 'a time "HH:MM"',
    "window": 'two times ["HH:MM", "HH:MM"]',
    "band": "[lowest, highest] ages (two integers)",
    "sources": "a table of strings",
    "types": "a table of facility types",
}
# ASCII digits only, and few of them: int() of a long digit string is slow or refused
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_BAND = re.compile(r"\s*([0-9]{1,3})\s*-\s*([0-9]{1,3})\s*")
# the scenario name becomes part of the results folder's name (results/<name>-<time>)
_UNSAFE_NAME = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f]')
MAX_NAME_BYTES = 200  # file systems allow 255 bytes per folder name; the time stamp needs the rest


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float))) and not isinstance(v, bool)


def _parse_time(v: Any) -> int | None:
    """Minutes after midnight of "HH:MM" (24:00 allowed), or None."""
    if not isinstance(v, str):
        return None
    m = _TIME.fullmatch(v)
    if not m:
        return None
    h, mnt = int(m.group(1)), int(m.group(2))
    if mnt >= 60 or h > 24 or (h == 24 and mnt):
        return None
    return h * 60 + mnt


def parse_band(text: str) -> AgeBand | None:
    """Parse an age band "lo-hi" (inclusive years, 0..100), or None if malformed."""
    m = _BAND.fullmatch(text) if isinstance(text, str) else None
    if not m:
        return None
    lo, hi = int(m.group(1)), int(m.group(2))
    if lo > hi or hi > MAX_AGE:
        return None
    return AgeBand(lo, hi)


def _kind_ok(kind: str, v: Any) -> bool:
    """Whether value ``v`` has the shape of ``kind`` (not its range)."""
    if kind == "str":
        return isinstance(v, str)
    if kind == "int":
        return _is_int(v)
    if kind == "float":
        return _is_number(v) and not math.isnan(v)
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "rect":
        return isinstance(v, list) and len(v) == 4 and all(_is_int(a) for a in v)
    if kind == "rects":
        return isinstance(v, list)
    if kind == "cell":
        return isinstance(v, list) and len(v) == 2 and all(_is_int(a) for a in v)
    if kind == "band":
        return isinstance(v, list) and len(v) == 2 and all(_is_int(a) for a in v)
    if kind == "sources":
        return isinstance(v, dict) and all(isinstance(a, str) for a in v.values())
    if kind in ("shares", "speeds", "types"):
        return isinstance(v, dict)
    if kind == "time":
        return _parse_time(v) is not None
    if kind == "window":
        return isinstance(v, list) and len(v) == 2 and all(_parse_time(a) is not None for a in v)
    raise AssertionError(kind)


def _suggest(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --------------------------------------------------------------------------- reading files


@dataclass
class _Entry:
    """A [[communities]] or [[facilities]] entry and where it was written."""

    data: dict[str, Any]
    file: str
    index: int


@dataclass
class _Raw:
    """Merged raw data of a scenario and its bases, with the origin of every value."""

    data: dict[str, Any]
    origin: dict[str, str]  # "grid.width" -> file name that set it
    lists: dict[str, list[_Entry]]


def _read_toml(path: Path, referrer: tuple[str, str] | None, problems: list[Problem]) -> dict | None:
    """Read one TOML file; on failure record a problem and return None."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        if referrer:
            problems.append(Problem(referrer[0], referrer[1], f"file not found: {path}"))
        else:
            problems.append(Problem(path.name, "", "file not found"))
        return None
    except OSError as exc:
        if referrer:
            problems.append(Problem(referrer[0], referrer[1], f"cannot read {path}: {exc.strerror or exc}"))
        else:
            problems.append(Problem(path.name, "", f"cannot read file: {exc.strerror or exc}"))
        return None
    try:
        return tomllib.loads(text.decode("utf-8-sig"))  # -sig: tolerate the BOM some editors write
    except UnicodeDecodeError:
        problems.append(Problem(path.name, "", "not UTF-8 text"))
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        problems.append(Problem(path.name, "", "TOML syntax error: arrays or tables nested too deeply"))
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line = int(m.group(1)) if m else None
        if line is None and "end of document" in msg:
            line = text.count(b"\n") + 1
        problems.append(Problem(path.name, "", f"TOML syntax error: {msg}", line))
    return None


def _check_shape(data: dict, schema: dict, path: str, file: str, problems: list[Problem]) -> None:
    """Check keys and value shapes of one file's data against the schema (in place: bad values removed)."""
    for key in list(data):
        kpath = f"{path}.{key}" if path else key
        if key not in schema:
            problems.append(Problem(file, kpath, f"unknown key{_suggest(key, list(schema))}"))
            del data[key]
            continue
        kind, value = schema[key], data[key]
        if isinstance(kind, dict):
            if not isinstance(value, dict):
                problems.append(Problem(file, kpath, "must be a table"))
                del data[key]
            else:
                _check_shape(value, kind, kpath, file, problems)
        elif isinstance(kind, list):
            if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
                problems.append(Problem(file, kpath, f"must be a list of tables ([[{key}]])"))
                del data[key]
            else:
                for i, entry in enumerate(value):
                    _check_shape(entry, kind[0], f"{kpath}[{i}]", file, problems)
        elif kind == "types":
            if not isinstance(value, dict):
                problems.append(Problem(file, kpath, f"must be {_KIND_WORDS[kind]}"))
                del data[key]
                continue
            for tname in list(value):
                tpath = f"{kpath}.{tname}"
                if not isinstance(value[tname], dict):
                    problems.append(Problem(file, tpath, "must be a table of catalogue fields"))
                    del value[tname]
                else:
                    _check_shape(value[tname], _TYPE_FIELDS, tpath, file, problems)
        elif not _kind_ok(kind, value):
            problems.append(Problem(file, kpath, f"must be {_KIND_WORDS[kind]}, not {value!r}"))
            del data[key]


# share and speed tables are replaced as a whole by a variant, so that they still sum to 1
_REPLACED_WHOLE = ("groups", "ages", "m_per_min")


def _merge_tables(base: dict, over: dict, origin: dict, file: str, path: str = "") -> None:
    """Merge ``over`` into ``base`` key by key, recording which file set each value."""
    for key, value in over.items():
        kpath = f"{path}.{key}" if path else key
        if isinstance(value, dict) and isinstance(base.get(key), dict) and key not in _REPLACED_WHOLE:
            _merge_tables(base[key], value, origin, file, kpath)
        else:
            base[key] = value
            origin[kpath] = file
            if isinstance(value, dict):
                _mark_origin(value, origin, file, kpath)


def _mark_origin(value: dict, origin: dict, file: str, path: str) -> None:
    for key, sub in value.items():
        origin[f"{path}.{key}"] = file
        if isinstance(sub, dict):
            _mark_origin(sub, origin, file, f"{path}.{key}")


def _read_chain(path: Path, chain: tuple[Path, ...], referrer, problems: list[Problem]) -> _Raw | None:
    """Read ``path`` and its ``extends`` bases into one merged :class:`_Raw`."""
    if "\x00" in str(path):  # the OS refuses such names; only an ``extends`` string can hold one
        problems.append(Problem(*(referrer or (path.name, "")), "a file path must not contain a NUL character"))
        return None
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        problems.append(Problem(chain[-1].name, "extends", f"extends cycle: {cycle}"))
        return None
    data = _read_toml(path, referrer, problems)
    if data is None:
        return None
    file = path.name
    _check_shape(data, _SCHEMA, "", file, problems)
    base: _Raw | None = None
    if "extends" in data:
        base = _read_chain(path.parent / data["extends"], (*chain, path), (file, "extends"), problems)
        if base is None:
            return None
    if base is None:
        base = _Raw({}, {}, {k: [] for k in LIST_SECTIONS})
    base.data.pop("name", None)  # every file names itself; a base's name is not inherited
    tables = {k: v for k, v in data.items() if k not in LIST_SECTIONS and k != "extends"}
    _merge_tables(base.data, tables, base.origin, file)
    for section in LIST_SECTIONS:
        entries = base.lists[section]
        n_base, replaced = len(entries), set()
        for i, entry in enumerate(data.get(section, [])):
            new = _Entry(entry, file, i)
            name = entry.get("name")
            # only an entry of a base is replaced: a name used twice in this file is reported later
            same = [j for j in range(n_base) if name is not None and entries[j].data.get("name") == name]
            if same and same[0] not in replaced:
                entries[same[0]] = new
                replaced.add(same[0])
            else:
                entries.append(new)
    return base


# --------------------------------------------------------------------------- checking values


class _Checker:
    """Semantic checks on merged data; collects problems with file and key path."""

    def __init__(self, raw: _Raw, top_file: str, problems: list[Problem]):
        self.raw = raw
        self.top = top_file
        self.problems = problems

    def where(self, key: str) -> str:
        """Return the file that set ``key`` (its own, or the nearest table that set it)."""
        k = key
        while k:
            if k in self.raw.origin:
                return self.raw.origin[k]
            k = k.rpartition(".")[0]
        return self.top

    def bad(self, key: str, message: str, file: str | None = None) -> None:
        """Record a problem at ``key``."""
        self.problems.append(Problem(file or self.where(key), key, message))

    def table(self, key: str) -> dict:
        """Return a merged top-level table (empty if absent)."""
        return self.raw.data.get(key, {})

    def require(self, table: dict, key: str, path: str) -> Any:
        """Return the value of a required key, or None after recording its absence."""
        if key not in table:
            if any(p.key == path for p in self.problems):
                return None  # already reported with its wrong value
            self.bad(path, "required key is missing", self.where(path.rpartition(".")[0]) if "." in path else self.top)
            return None
        return table[key]

    def positive(self, value: Any, path: str, file: str | None = None) -> bool:
        """Check that a number is finite and > 0."""
        if value is None:
            return False
        if not math.isfinite(value):
            self.bad(path, f"must be a finite number, not {value}", file)
            return False
        if value <= 0:
            self.bad(path, f"must be positive, not {value}", file)
            return False
        return True

    def shares(self, value: dict, path: str, file: str | None = None) -> dict[str, float] | None:
        """Check a table of non-negative shares summing to 1."""
        ok = True
        for k, v in value.items():
            if not _is_number(v) or not math.isfinite(v) or v < 0:
                self.bad(f"{path}.{k}", f"must be a share between 0 and 1, not {v!r}", file)
                ok = False
        if not value:
            self.bad(path, "must list at least one share", file)
            return None
        if ok:
            total = sum(value.values())
            if abs(total - 1.0) > SHARE_TOLERANCE:
                self.bad(path, f"shares must sum to 1, not {total:.6g}", file)
                ok = False
        return {k: float(v) for k, v in value.items()} if ok else None

    def bands(self, value: dict, path: str, cover_all: bool) -> dict[AgeBand, float] | None:
        """Parse age-band keys; reject overlaps and, if ``cover_all``, gaps in 0..100."""
        out: dict[AgeBand, float] = {}
        for k, v in value.items():
            band = parse_band(k)
            if band is None:
                self.bad(f"{path}.{k}", f'age band must be "lo-hi" with 0 <= lo <= hi <= {MAX_AGE}')
                return None
            if band in out:  # the same band written twice, e.g. "0-2" and "0 - 2"
                self.bad(path, f'age bands "{band}" and "{band}" overlap')
                return None
            out[band] = v
        ordered = sorted(out, key=lambda b: b.lo)
        for a, b in zip(ordered, ordered[1:], strict=False):
            if b.lo <= a.hi:
                self.bad(path, f'age bands "{a}" and "{b}" overlap')
                return None
        if cover_all:
            edge = 0
            for b in ordered:
                if b.lo > edge:
                    self.bad(path, f"ages {edge} to {b.lo - 1} have no band")
                    return None
                edge = b.hi + 1
            if edge <= MAX_AGE:
                self.bad(path, f"ages {edge} to {MAX_AGE} have no band")
                return None
        return dict(sorted(out.items(), key=lambda kv: kv[0].lo))

    def rect_in_grid(self, rect: list[int], grid: Grid | None, path: str, file: str | None = None) -> bool:
        """Check a rectangle has positive size and lies inside the grid."""
        x, y, w, h = rect
        if w <= 0 or h <= 0:
            self.bad(path, f"width and height must be positive, not {w}x{h}", file)
            return False
        if grid and (x < 0 or y < 0 or x + w > grid.width or y + h > grid.height):
            self.bad(path, f"rectangle {rect} is not inside the {grid.width}x{grid.height} grid", file)
            return False
        return True


def _check_grid(c: _Checker) -> Grid | None:
    g = c.table("grid")
    if "grid" not in c.raw.data:
        c.bad("grid", "required table is missing", c.top)
        return None
    width, height = c.require(g, "width", "grid.width"), c.require(g, "height", "grid.height")
    cell_m = g.get("cell_m", 50.0)
    ok = c.positive(width, "grid.width") & c.positive(height, "grid.height") & c.positive(cell_m, "grid.cell_m")
    if not ok:
        return None
    if width * height > MAX_CELLS:
        c.bad("grid", f"{width}x{height} = {width * height:,} cells is more than this version handles ({MAX_CELLS:,})")
        return None
    grid = Grid(width, height, float(cell_m))
    rects = []
    for i, r in enumerate(g.get("blocked", [])):
        path = f"grid.blocked[{i}]"
        if not _kind_ok("rect", r):
            c.bad(path, f"must be {_KIND_WORDS['rect']}, not {r!r}")
        elif c.rect_in_grid(r, grid, path):
            rects.append(tuple(r))
    return Grid(width, height, float(cell_m), tuple(rects))


def _check_population(c: _Checker):
    p = c.table("population")
    if "population" not in c.raw.data:
        c.bad("population", "required table is missing", c.top)
        return None, None, None
    groups = c.require(p, "groups", "population.groups")
    groups = c.shares(groups, "population.groups") if groups is not None else None
    ages = c.require(p, "ages", "population.ages")
    if ages is not None:
        shares = c.shares(ages, "population.ages")
        ages = c.bands(shares, "population.ages", cover_all=False) if shares else None
    mixing = p.get("mixing", 1.0)
    if not 0.0 <= mixing <= 1.0:
        c.bad("population.mixing", f"must be between 0 and 1, not {mixing}")
        mixing = None
    return groups, ages, mixing


def _check_walking(c: _Checker) -> dict[AgeBand, float] | None:
    w = c.table("walking")
    if "walking" not in c.raw.data:
        c.bad("walking", "required table is missing", c.top)
        return None
    speeds = c.require(w, "m_per_min", "walking.m_per_min")
    if speeds is None:
        return None
    ok = True
    for k, v in speeds.items():
        if not _is_number(v):
            c.bad(f"walking.m_per_min.{k}", f"must be a speed in metres per minute, not {v!r}")
            ok = False
        elif not c.positive(v, f"walking.m_per_min.{k}"):
            ok = False
    bands = c.bands(speeds, "walking.m_per_min", cover_all=True)
    return {b: float(v) for b, v in bands.items()} if (bands and ok) else None


def _check_types(c: _Checker) -> tuple[dict[str, FacilityType], set[str]]:
    """Check the facility types; return the valid ones and the names of all, valid or not."""
    catalogue = load_catalogue()
    merged: dict[str, dict] = {k: dict(v) for k, v in catalogue.items()}
    overrides = c.table("facility_types")
    for tname, fields in overrides.items():
        if tname in merged:
            merged[tname].update(fields)
            merged[tname]["source"] = {**catalogue[tname].get("source", {}), **fields.get("source", {})}
        else:
            missing = [f for f in _TYPE_FIELDS if f not in fields and f != "source"]
            if missing:
                c.bad(
                    f"facility_types.{tname}",
                    f"a new facility type must give every field; missing: {', '.join(missing)}"
                    f"{_suggest(tname, list(catalogue))}",
                )
                continue
            merged[tname] = dict(fields)
    types = {}
    for tname, f in merged.items():
        path = f"facility_types.{tname}"
        problems_before = len(c.problems)
        lo, hi = f["ages"]
        if not 0 <= lo <= hi <= MAX_AGE:
            c.bad(f"{path}.ages", f"must be [lo, hi] with 0 <= lo <= hi <= {MAX_AGE}")
        if f["level_min"] <= 0 or not math.isfinite(f["level_min"]):
            c.bad(f"{path}.level_min", f"must be a positive number of minutes, not {f['level_min']}")
        if not 0 <= f["daily_prob"] <= 1:
            c.bad(f"{path}.daily_prob", f"must be a probability between 0 and 1, not {f['daily_prob']}")
        for key in ("visit_min", "capacity", "tries"):
            if f[key] <= 0:
                c.bad(f"{path}.{key}", f"must be positive, not {f[key]}")
        if f["patience_min"] < 0:
            c.bad(f"{path}.patience_min", f"must not be negative, not {f['patience_min']}")
        if f["beta_per_min"] < 0:
            c.bad(f"{path}.beta_per_min", f"must not be negative, not {f['beta_per_min']}")
        open_min, close_min = _parse_time(f["open"]), _parse_time(f["close"])
        d0, d1 = (_parse_time(t) for t in f["depart"])
        if open_min >= close_min:
            c.bad(f"{path}.close", f"closing time {f['close']} must be after opening time {f['open']}")
        if d0 > d1:
            c.bad(f"{path}.depart", "the window must not end before it starts")
        elif open_min < close_min and (d0 < open_min or d1 >= close_min):
            c.bad(
                f"{path}.depart",
                f"departures {f['depart'][0]}-{f['depart'][1]} must fall within the opening "
                f"hours {f['open']}-{f['close']}",
            )
        if len(c.problems) > problems_before:
            continue
        types[tname] = FacilityType(
            id=tname,
            label=f["label"],
            level_min=float(f["level_min"]),
            ages=AgeBand(lo, hi),
            daily_prob=float(f["daily_prob"]),
            weekdays_only=f["weekdays_only"],
            depart_min=(d0, d1),
            visit_min=f["visit_min"],
            open_min=open_min,
            close_min=close_min,
            capacity=f["capacity"],
            beta_per_min=float(f["beta_per_min"]),
            patience_min=f["patience_min"],
            tries=f["tries"],
            source=dict(f.get("source", {})),
        )
    return types, set(merged) | set(overrides)


def _check_simulation(c: _Checker) -> Simulation | None:
    s = c.table("simulation")
    d = Simulation()
    tick = s.get("tick_min", d.tick_min)
    start = _parse_time(s["day_start"]) if "day_start" in s else d.day_start_min
    end = _parse_time(s["day_end"]) if "day_end" in s else d.day_end_min
    values = dict(
        tick_min=tick,
        day_start_min=start,
        day_end_min=end,
        cutoff_min=float(s.get("cutoff_min", d.cutoff_min)),
        block_m=float(s.get("block_m", d.block_m)),
        contact_min=s.get("contact_min", d.contact_min),
        first_weekday=s.get("first_weekday", d.first_weekday),
    )
    ok = True
    for key in ("tick_min", "cutoff_min", "block_m", "contact_min"):
        ok &= c.positive(values[key], f"simulation.{key}")
    if end <= start:
        c.bad("simulation.day_end", "the day must end after it starts")
        ok = False
    elif ok and (end - start) % tick:
        c.bad("simulation.tick_min", f"must divide the day's {end - start} minutes")
        ok = False
    if not 0 <= values["first_weekday"] <= 6:
        c.bad("simulation.first_weekday", "must be 0 (Monday) to 6 (Sunday)")
        ok = False
    return Simulation(**values) if ok else None


def _cell_blocked(grid: Grid, x: int, y: int) -> bool:
    """Whether cell (x, y) lies in a blocked rectangle."""
    return any(bx <= x < bx + bw and by <= y < by + bh for bx, by, bw, bh in grid.blocked)


def _area_blocked(grid: Grid, area: tuple[int, int, int, int]) -> bool:
    """Whether the blocked rectangles cover every cell of ``area``.

    Works on the grid compressed to the rectangles' edges, so that the cost does not grow with
    the size of the grid or the area (a scenario may give any size; the loader must not run out
    of memory checking it).
    """
    x0, y0, w, h = area
    x1, y1 = x0 + w, y0 + h
    clipped = [(max(bx, x0), max(by, y0), min(bx + bw, x1), min(by + bh, y1)) for bx, by, bw, bh in grid.blocked]
    clipped = [r for r in clipped if r[0] < r[2] and r[1] < r[3]]
    if not clipped:
        return False
    xs = sorted({x0, x1, *(r[0] for r in clipped), *(r[2] for r in clipped)})
    ys = sorted({y0, y1, *(r[1] for r in clipped), *(r[3] for r in clipped)})
    covered = np.zeros((len(ys) - 1, len(xs) - 1), dtype=bool)
    for rx0, ry0, rx1, ry1 in clipped:
        covered[ys.index(ry0) : ys.index(ry1), xs.index(rx0) : xs.index(rx1)] = True
    return bool(covered.all())


def _check_communities(c: _Checker, grid: Grid | None, groups: dict | None) -> tuple[Community, ...]:
    entries = c.raw.lists["communities"]
    if not entries:
        c.bad("communities", "at least one [[communities]] entry is required", c.top)
        return ()
    out, seen = [], set()
    for e in entries:
        path, file, d = f"communities[{e.index}]", e.file, e.data
        n_before = len(c.problems)
        name = d.get("name")
        if name is None:
            c.bad(f"{path}.name", "required key is missing", file)
        elif name in seen:
            c.bad(f"{path}.name", f"community name {name!r} is used twice", file)
        seen.add(name)
        area = d.get("area")
        if area is None:
            c.bad(f"{path}.area", "required key is missing", file)
        elif c.rect_in_grid(area, grid, f"{path}.area", file) and grid and _area_blocked(grid, area):
            c.bad(f"{path}.area", f"area {area} has no walkable cell", file)
        residents = d.get("residents")
        if residents is None:
            c.bad(f"{path}.residents", "required key is missing", file)
        elif c.positive(residents, f"{path}.residents", file) and residents > MAX_RESIDENTS:
            c.bad(f"{path}.residents", f"{residents:,} is more than this version handles ({MAX_RESIDENTS:,})", file)
        own = d.get("groups")
        if own is not None:
            own = c.shares(own, f"{path}.groups", file)
            if own and groups:
                for g in own:
                    if g not in groups:
                        c.bad(f"{path}.groups.{g}", f"group not in population.groups{_suggest(g, list(groups))}", file)
        if len(c.problems) == n_before:
            out.append(Community(name, tuple(area), residents, own))
    return tuple(out)


def _check_facilities(
    c: _Checker, grid: Grid | None, types: dict[str, FacilityType], type_names: set[str]
) -> tuple[FacilitySite, ...]:
    out, seen = [], set()
    for e in c.raw.lists["facilities"]:
        path, file, d = f"facilities[{e.index}]", e.file, e.data
        n_before = len(c.problems)
        ftype = d.get("type")
        if ftype is None:
            c.bad(f"{path}.type", "required key is missing", file)
        elif ftype not in type_names:
            c.bad(f"{path}.type", f"unknown facility type {ftype!r}{_suggest(ftype, sorted(type_names))}", file)
        at = d.get("at")
        if at is None:
            c.bad(f"{path}.at", "required key is missing", file)
        elif grid:
            x, y = at
            if not (0 <= x < grid.width and 0 <= y < grid.height):
                c.bad(f"{path}.at", f"cell ({x}, {y}) is outside the {grid.width}x{grid.height} grid", file)
            elif _cell_blocked(grid, x, y):
                c.bad(f"{path}.at", f"cell ({x}, {y}) is blocked", file)
        capacity = d.get("capacity")
        if capacity is not None:
            c.positive(capacity, f"{path}.capacity", file)
        name = d.get("name")
        if name is not None:
            if name in seen:
                c.bad(f"{path}.name", f"facility name {name!r} is used twice", file)
            seen.add(name)
        if len(c.problems) == n_before and grid and ftype in types:  # a bad type's own problem is reported
            cap = capacity if capacity is not None else types[ftype].capacity
            out.append(FacilitySite(ftype, at[0], at[1], cap, name or ""))
    # unnamed facilities get "<type> <n>": the n-th facility of its type in file order, or the
    # next free number if a facility was given that name explicitly (names stay unique)
    counts: dict[str, int] = {}
    taken = {f.name for f in out if f.name}
    named = []
    for f in out:
        counts[f.type] = counts.get(f.type, 0) + 1
        if f.name:
            named.append(f)
            continue
        n = counts[f.type]
        while f"{f.type} {n}" in taken:
            n += 1
        taken.add(f"{f.type} {n}")
        named.append(FacilitySite(f.type, f.x, f.y, f.capacity, f"{f.type} {n}"))
    return tuple(named)


# --------------------------------------------------------------------------- entry points


def load_catalogue() -> dict[str, dict]:
    """Read the built-in facility catalogue (model/catalogue.toml) as plain tables."""
    with resources.files("model").joinpath("catalogue.toml").open("rb") as fh:
        return tomllib.load(fh)


def resolve_scenario_path(name: str | Path | None) -> Path:
    """Find a scenario file: the bundled default for None, a bundled file for a bare name."""
    if name is None:
        return DEFAULT_SCENARIO
    path = Path(name)
    if _exists(path):
        return path
    if not path.suffix and _exists(SCENARIO_DIR / f"{path}.toml"):
        return SCENARIO_DIR / f"{path}.toml"
    if path.parent == Path(".") and _exists(SCENARIO_DIR / path.name):
        return SCENARIO_DIR / path.name
    return path


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; False for names the OS refuses (too long, NUL characters)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Load, merge and validate a scenario file.

    Args:
        path: A scenario file; a bare name ("demo") finds a bundled scenario; None is the default.

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: With every problem found, each naming file and key path.

    """
    path = resolve_scenario_path(path)
    problems: list[Problem] = []
    raw = _read_chain(path, (), None, problems)
    if raw is None:
        raise ScenarioError(problems)
    c = _Checker(raw, path.name, problems)
    name = raw.data.get("name")
    if name is None:
        c.bad("name", "required key is missing", path.name)
    elif not name.strip(". ") or _UNSAFE_NAME.search(name):
        c.bad("name", f'must be usable in a folder name (no / \\ : * ? " < > | or control characters), not {name!r}')
    elif len(name.encode("utf-8")) > MAX_NAME_BYTES:
        c.bad("name", f"must be at most {MAX_NAME_BYTES} bytes long in UTF-8")
    seed = raw.data.get("seed", 0)
    if seed < 0:
        c.bad("seed", f"must not be negative, not {seed}")
    grid = _check_grid(c)
    groups, ages, mixing = _check_population(c)
    speeds = _check_walking(c)
    types, type_names = _check_types(c)
    simulation = _check_simulation(c)
    communities = _check_communities(c, grid, groups)
    total = sum(com.residents for com in communities)
    if total > MAX_RESIDENTS:
        c.bad("communities", f"{total:,} residents in all is more than this version handles ({MAX_RESIDENTS:,})")
    facilities = _check_facilities(c, grid, types, type_names)
    if problems:
        raise ScenarioError(problems)
    return Scenario(
        name=name,
        path=path.resolve(),
        description=raw.data.get("description", ""),
        seed=seed,
        grid=grid,
        groups=groups,
        ages=ages,
        mixing=float(mixing),
        speeds=speeds,
        communities=communities,
        facilities=facilities,
        types=types,
        simulation=simulation,
    )
