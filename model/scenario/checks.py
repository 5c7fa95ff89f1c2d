"""Semantic checks of a merged scenario, and :func:`load_scenario`, the entry point of this stage.

:class:`_Checker` collects problems with file and key path; the checks of the grid, the
population, walking and the simulation settings are here, those of facility types,
communities and facilities in :mod:`.sites`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import Problem, ScenarioError
from .files import _Raw, _read_chain, resolve_scenario_path
from .overrides import _apply_overrides, _overrides_layer
from .schema import _KIND_WORDS, _is_number, _kind_ok, _parse_time, parse_band
from .sites import _check_communities, _check_facilities, _check_types
from .spec import (
    MAX_AGE,
    MAX_CELLS,
    MAX_LAT,
    MAX_LON,
    MAX_NAME_BYTES,
    MAX_RESIDENTS,
    SHARE_TOLERANCE,
    AgeBand,
    Grid,
    Pace,
    Scenario,
    Simulation,
    _default,
)

# the scenario name becomes part of the results folder's name (results/<name>-<time>)
_UNSAFE_NAME = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f]')


class _Checker:
    """Semantic checks on merged data; collects problems with file and key path."""

    def __init__(self, raw: _Raw, top_file: str, problems: list[Problem]):
        self.raw = raw
        self.top = top_file
        self.problems = problems
        self.warnings: list[Problem] = []

    def where(self, key: str) -> str:
        """Return the file that set ``key`` (its own, or the nearest table that set it)."""
        k = key
        while k:
            if k in self.raw.origin:
                return self.raw.origin[k]
            # an element of a list value ("grid.blocked[0]") was set with the list
            k = k[: k.rindex("[")] if k.endswith("]") and "[" in k else k.rpartition(".")[0]
        return self.top

    def bad(self, key: str, message: str, file: str | None = None) -> None:
        """Record a problem at ``key``."""
        self.problems.append(Problem(file or self.where(key), key, message))

    def warn(self, key: str, message: str, file: str | None = None) -> None:
        """Record a warning at ``key``: something odd that does not stop a run."""
        self.warnings.append(Problem(file or self.where(key), key, message))

    def reported(self, key: str, file: str | None = None) -> bool:
        """Whether a problem at ``key`` (in ``file``, if given) is recorded already, e.g. a wrong type."""
        return any(p.key == key and (file is None or p.file == file) for p in self.problems)

    def missing(self, key: str, file: str, what: str = "required key is missing", any_file: bool = False) -> None:
        """Record that ``key`` is missing from ``file``, unless it was given with a wrong type.

        A value of the wrong type is reported, then removed; it is not missing as well. With
        ``any_file``, a wrong value in any file counts (a table merged from the bases); without,
        only one in ``file`` (an entry of a list, the scenario's name: a base's is not inherited).
        """
        if not self.reported(key, None if any_file else file):
            self.bad(key, what, file)

    def table(self, key: str) -> dict:
        """Return a merged top-level table (empty if absent)."""
        return self.raw.data.get(key, {})

    def require(self, table: dict, key: str, path: str) -> Any:
        """Return the value of a required key, or None after recording its absence."""
        if key not in table:
            self.missing(path, self.where(path.rpartition(".")[0]) if "." in path else self.top, any_file=True)
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
            shown = f"{value:,}" if isinstance(value, int) else value  # counts with thousands separators
            self.bad(path, f"must be positive, not {shown}", file)
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
            self.bad(path, f"rectangle {rect} is not inside the {grid.width:,}x{grid.height:,} grid", file)
            return False
        return True


def _check_origin(c: _Checker, value: list | None) -> tuple[float, float] | None:
    """Check ``grid.origin`` (shape checked already): finite WGS84 degrees, on the Earth and off the poles."""
    if value is None:
        return None
    lon, lat = value
    if not (math.isfinite(lon) and math.isfinite(lat)):
        c.bad("grid.origin", f"must be finite numbers, not {value!r}")
        return None
    if not (-MAX_LON <= lon <= MAX_LON and -MAX_LAT <= lat <= MAX_LAT):
        c.bad(
            "grid.origin",
            f"[longitude, latitude] must lie within [-{MAX_LON:g}, {MAX_LON:g}] and [-{MAX_LAT:g}, {MAX_LAT:g}] "
            f"degrees, not {value!r}",
        )
        return None
    return float(lon), float(lat)


def _check_grid(c: _Checker) -> Grid | None:
    g = c.table("grid")
    if "grid" not in c.raw.data:
        c.missing("grid", c.top, "required table is missing", any_file=True)
        return None
    origin = _check_origin(c, g.get("origin", _default(Grid, "origin")))
    width, height = c.require(g, "width", "grid.width"), c.require(g, "height", "grid.height")
    cell_m = g.get("cell_m", _default(Grid, "cell_m"))
    ok = c.positive(width, "grid.width") & c.positive(height, "grid.height") & c.positive(cell_m, "grid.cell_m")
    if not ok:
        return None
    if width * height > MAX_CELLS:
        cells = f"{width:,}x{height:,} = {width * height:,} cells"
        c.bad("grid", f"{cells} is more than this version handles ({MAX_CELLS:,})")
        return None
    grid = Grid(width, height, float(cell_m))
    rects = []
    for i, r in enumerate(g.get("blocked", _default(Grid, "blocked"))):
        path = f"grid.blocked[{i}]"
        if not _kind_ok("rect", r):
            c.bad(path, f"must be {_KIND_WORDS['rect']}, not {r!r}")
        elif c.rect_in_grid(r, grid, path):
            rects.append(tuple(r))
    return Grid(width, height, float(cell_m), tuple(rects), origin)


def _check_population(c: _Checker):
    p = c.table("population")
    if "population" not in c.raw.data:
        c.missing("population", c.top, "required table is missing", any_file=True)
        return None, None, None
    groups = c.require(p, "groups", "population.groups")
    groups = c.shares(groups, "population.groups") if groups is not None else None
    ages = c.require(p, "ages", "population.ages")
    if ages is not None:
        shares = c.shares(ages, "population.ages")
        ages = c.bands(shares, "population.ages", cover_all=False) if shares else None
    mixing = p.get("mixing", _default(Scenario, "mixing"))
    if not 0.0 <= mixing <= 1.0:
        c.bad("population.mixing", f"must be between 0 and 1, not {mixing}")
        mixing = None
    return groups, ages, mixing


def _check_walking(c: _Checker) -> tuple[dict[AgeBand, float] | None, Pace | None]:
    w = c.table("walking")
    if "walking" not in c.raw.data:
        c.missing("walking", c.top, "required table is missing", any_file=True)
        return None, None
    pace = _check_pace(c, w)
    speeds = c.require(w, "m_per_min", "walking.m_per_min")
    if speeds is None:
        return None, pace
    ok = True
    for k, v in speeds.items():
        if not _is_number(v):
            c.bad(f"walking.m_per_min.{k}", f"must be a speed in metres per minute, not {v!r}")
            ok = False
        elif not c.positive(v, f"walking.m_per_min.{k}"):
            ok = False
    bands = c.bands(speeds, "walking.m_per_min", cover_all=True)
    return ({b: float(v) for b, v in bands.items()} if (bands and ok) else None), pace


def _check_pace(c: _Checker, w: dict) -> Pace | None:
    """Check how pace varies within a band: ``pace_cv``, ``pace_limits``, ``reduced_mobility``, ``reduced_pace``."""
    n_before = len(c.problems)
    cv = w.get("pace_cv", _default(Pace, "cv"))
    if not (math.isfinite(cv) and 0 <= cv <= 1):
        c.bad("walking.pace_cv", f"must be a standard deviation between 0 and 1 (a share of the band's pace), not {cv}")
    limits = w.get("pace_limits", list(_default(Pace, "limits")))
    lo, hi = limits
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo <= 1 <= hi):
        c.bad("walking.pace_limits", f"must be [lowest, highest] with 0 < lowest <= 1 <= highest, not {limits!r}")
    reduced_pace = w.get("reduced_pace", _default(Pace, "reduced_pace"))
    if not (math.isfinite(reduced_pace) and 0 < reduced_pace <= 1):
        c.bad("walking.reduced_pace", f"must be a share of the pace, above 0 and at most 1, not {reduced_pace}")
    reduced = w.get("reduced_mobility", _default(Pace, "reduced_mobility"))
    for k, v in reduced.items():
        if not _is_number(v) or not math.isfinite(v) or not 0 <= v <= 1:
            c.bad(f"walking.reduced_mobility.{k}", f"must be a share between 0 and 1, not {v!r}")
    if len(c.problems) > n_before:
        return None
    bands = c.bands(reduced, "walking.reduced_mobility", cover_all=False) if reduced else {}
    if bands is None:
        return None
    return Pace(float(cv), (float(lo), float(hi)), {b: float(v) for b, v in bands.items()}, float(reduced_pace))


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
        reference_m_per_min=float(s.get("reference_m_per_min", d.reference_m_per_min)),
    )
    ok = True
    for key in ("tick_min", "cutoff_min", "block_m", "contact_min", "reference_m_per_min"):
        ok &= c.positive(values[key], f"simulation.{key}")
    if end <= start:
        c.bad("simulation.day_end", "the day must end after it starts")
        ok = False
    elif ok and (end - start) % tick:
        c.bad("simulation.tick_min", f"must divide the day's {end - start:,} minutes")
        ok = False
    if not 0 <= values["first_weekday"] <= 6:
        c.bad("simulation.first_weekday", "must be 0 (Monday) to 6 (Sunday)")
        ok = False
    return Simulation(**values) if ok else None


def load_scenario(
    path: str | Path | None = None, *, overrides: Mapping[str, object] | None = None, overrides_file: str = "overrides"
) -> Scenario:
    """Load, merge and validate a scenario file, with values overridden if given.

    Overrides are applied as one more layer on top of the file and its bases, exactly as if a
    variant file named ``overrides_file`` that ``extends`` the scenario had set them:

    * keys are dotted paths of the schema (``population.mixing``, ``grid.cell_m``, ``seed``,
      ``facility_types.elderly_care.capacity``, ``population.groups``); a value has the shape a
      file would give it (an integer for an integer key: ``40``, not ``40.5``; a table for a share
      table, e.g. ``{"han": 0.8, "mongol": 0.2}``); :func:`override_kind` gives a key's kind;
    * they merge as a file does: tables key by key, share and speed tables replaced whole;
    * the shape and semantic checks are those of a file, and every problem at a key they set
      names ``overrides_file`` and the key (``overrides: population.mixing: must be between 0 and
      1, not 1.5``); an unknown key suggests a close one;
    * ``[[communities]]`` and ``[[facilities]]`` entries, ``name`` and ``extends`` cannot be
      overridden (a problem), nor can a key inside a value that is not a table
      (``population.mixing.x``).

    None or an empty mapping changes nothing. The scenario keeps its name and files.

    Args:
        path: A scenario file; a bare name ("demo" or "demo.toml") finds a bundled scenario; None
            is the bundled default (demo).
        overrides: Dotted key -> value, applied on top of the scenario.
        overrides_file: The file name that problems caused by ``overrides`` give.

    Returns:
        The validated scenario, with the files it was read from and its warnings.

    Raises:
        ScenarioError: With every problem found, each naming file and key path (a file that cannot
            be read is named as given).
        TypeError: If ``overrides`` is not a mapping.

    """
    given = "" if path is None else str(path)
    path = resolve_scenario_path(path)
    problems: list[Problem] = []
    raw = _read_chain(path, (), None, problems, given or str(path))
    layer = _overrides_layer(overrides or {}, overrides_file, problems)
    if raw is None:
        raise ScenarioError(problems)
    _apply_overrides(raw, layer, overrides_file)
    top = raw.files[0].name
    c = _Checker(raw, top, problems)
    name = raw.data.get("name")
    if name is None:
        c.missing("name", top)
    elif not name.strip(". ") or _UNSAFE_NAME.search(name):
        c.bad("name", f'must be usable in a folder name (no / \\ : * ? " < > | or control characters), not {name!r}')
    elif len(name.encode("utf-8")) > MAX_NAME_BYTES:
        c.bad("name", f"must be at most {MAX_NAME_BYTES:,} bytes long in UTF-8")
    seed = raw.data.get("seed", _default(Scenario, "seed"))
    if seed < 0:
        c.bad("seed", f"must not be negative, not {seed}")
    grid = _check_grid(c)
    groups, ages, mixing = _check_population(c)
    speeds, pace = _check_walking(c)
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
        path=raw.files[0],
        files=tuple(raw.files),
        description=raw.data.get("description", _default(Scenario, "description")),
        seed=seed,
        grid=grid,
        groups=groups,
        ages=ages,
        mixing=float(mixing),
        speeds=speeds,
        pace=pace,
        communities=communities,
        facilities=facilities,
        types=types,
        simulation=simulation,
        warnings=tuple(c.warnings),
    )
