"""Semantic checks of a merged scenario, and :func:`load_scenario`, the entry point of this stage.

The checks of the grid, the population, walking and the simulation settings are here, those of
facility types, communities and facilities in :mod:`.sites`, those of a street network's
``[streets]`` table and data files in :mod:`.streets`, the warnings of values outside their
plausible ranges in :mod:`.plausible`; all record what they find in a :class:`~.checker.Checker`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from .checker import Checker
from .errors import Problem, ScenarioError
from .files import read_chain, resolve_scenario_path
from .kinds import KIND_WORDS, AgeBand, is_finite, is_number, kind_ok, parse_time
from .limits import MAX_AGE, MAX_CELLS, MAX_LAT, MAX_LEARNING_PENALTY_MIN, MAX_LON, MAX_NAME_BYTES, MAX_RESIDENTS
from .overrides import apply_overrides, overrides_layer
from .plausible import check_plausible
from .sites import check_communities, check_facilities, check_types
from .spec import (
    COMPOSITIONS,
    Community,
    FacilitySite,
    FacilityType,
    Grid,
    Households,
    Pace,
    Scenario,
    Simulation,
    Streets,
    default_of,
)
from .streets import check_streets

# the scenario name becomes part of the results folder's name (results/<name>-<time>)
_UNSAFE_NAME = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f]')


def _check_origin(c: Checker, value: list | None) -> tuple[float, float] | None:
    """Check ``grid.origin`` (shape checked already): finite WGS84 degrees, on the Earth and off the poles."""
    if value is None:
        return None
    lon, lat = value
    if not (is_finite(lon) and is_finite(lat)):
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


def _check_place(c: Checker) -> str | None:
    """Where the scenario walks: "grid" or "streets"; None after recording that it gives both, or neither."""
    has_grid, has_streets = "grid" in c.raw.data, "streets" in c.raw.data
    if has_grid and has_streets:
        c.bad(
            "streets",
            f"a scenario walks a grid or streets, not both: [grid] is set in {c.where('grid')}, "
            f"[streets] in {c.where('streets')}",
        )
        return None
    if has_grid:
        return "grid"
    if has_streets:
        return "streets"
    if not c.reported("streets"):  # a [streets] of the wrong shape: reported, and removed
        c.missing("grid", c.top, "required table is missing (or [streets], for a street network)", any_file=True)
    return None


def _check_grid(c: Checker) -> Grid | None:
    g = c.table("grid")
    origin = _check_origin(c, g.get("origin", default_of(Grid, "origin")))
    width, height = c.require(g, "width", "grid.width"), c.require(g, "height", "grid.height")
    cell_m = g.get("cell_m", default_of(Grid, "cell_m"))
    ok = c.positive(width, "grid.width") & c.positive(height, "grid.height") & c.positive(cell_m, "grid.cell_m")
    if not ok:
        return None
    if width * height > MAX_CELLS:
        cells = f"{width:,}x{height:,} = {width * height:,} cells"
        c.bad("grid", f"{cells} is more than this version handles ({MAX_CELLS:,})")
        return None
    grid = Grid(width, height, float(cell_m))
    rects = []
    for i, r in enumerate(g.get("blocked", default_of(Grid, "blocked"))):
        path = f"grid.blocked[{i}]"
        if not kind_ok("rect", r):
            c.bad(path, f"must be {KIND_WORDS['rect']}, not {r!r}")
        elif c.rect_in_grid(r, grid, path):
            rects.append(tuple(r))
    return Grid(width, height, float(cell_m), tuple(rects), origin)


def _check_population(c: Checker):
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
    mixing = p.get("mixing", default_of(Scenario, "mixing"))
    if not 0.0 <= mixing <= 1.0:
        c.bad("population.mixing", f"must be between 0 and 1, not {mixing}")
        mixing = None
    return groups, ages, mixing


def _check_walking(c: Checker) -> tuple[dict[AgeBand, float] | None, Pace | None]:
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
        if not is_number(v):
            c.bad(f"walking.m_per_min.{k}", f"must be a speed in metres per minute, not {v!r}")
            ok = False
        elif not c.positive(v, f"walking.m_per_min.{k}"):
            ok = False
    bands = c.bands(speeds, "walking.m_per_min", cover_all=True)
    return ({b: float(v) for b, v in bands.items()} if (bands and ok) else None), pace


def _check_pace(c: Checker, w: dict) -> Pace | None:
    """Check how pace varies within a band: ``pace_cv``, ``pace_limits``, ``reduced_mobility``, ``reduced_pace``."""
    n_before = len(c.problems)
    cv = w.get("pace_cv", default_of(Pace, "cv"))
    if not (is_finite(cv) and 0 <= cv <= 1):
        c.bad("walking.pace_cv", f"must be a standard deviation between 0 and 1 (a share of the band's pace), not {cv}")
    limits = w.get("pace_limits", list(default_of(Pace, "limits")))
    lo, hi = limits
    if not (is_finite(lo) and is_finite(hi) and 0 < lo <= 1 <= hi):
        c.bad("walking.pace_limits", f"must be [lowest, highest] with 0 < lowest <= 1 <= highest, not {limits!r}")
    reduced_pace = w.get("reduced_pace", default_of(Pace, "reduced_pace"))
    if not (is_finite(reduced_pace) and 0 < reduced_pace <= 1):
        c.bad("walking.reduced_pace", f"must be a share of the pace, above 0 and at most 1, not {reduced_pace}")
    bands = _reduced_mobility(c, w.get("reduced_mobility", default_of(Pace, "reduced_mobility")), n_before)
    if bands is None:
        return None
    return Pace(float(cv), (float(lo), float(hi)), bands, float(reduced_pace))


def _reduced_mobility(c: Checker, reduced: dict, n_before: int) -> dict[AgeBand, float] | None:
    """Check ``walking.reduced_mobility``; None if it, or any pace key before it (``n_before``), has a problem."""
    for k, v in reduced.items():
        if not is_finite(v) or not 0 <= v <= 1:
            c.bad(f"walking.reduced_mobility.{k}", f"must be a share between 0 and 1, not {v!r}")
    if len(c.problems) > n_before:
        return None
    bands = c.bands(reduced, "walking.reduced_mobility", cover_all=False) if reduced else {}
    return None if bands is None else {b: float(v) for b, v in bands.items()}


def _check_simulation(c: Checker) -> Simulation | None:
    s = c.table("simulation")
    d = Simulation()
    tick = s.get("tick_min", d.tick_min)
    start = parse_time(s["day_start"]) if "day_start" in s else d.day_start_min
    end = parse_time(s["day_end"]) if "day_end" in s else d.day_end_min
    values = dict(
        tick_min=tick,
        day_start_min=start,
        day_end_min=end,
        cutoff_min=float(s.get("cutoff_min", d.cutoff_min)),
        block_m=float(s.get("block_m", d.block_m)),
        contact_min=s.get("contact_min", d.contact_min),
        first_weekday=s.get("first_weekday", d.first_weekday),
        reference_m_per_min=float(s.get("reference_m_per_min", d.reference_m_per_min)),
        learning=s.get("learning", d.learning),
        learning_penalty_min=float(s.get("learning_penalty_min", d.learning_penalty_min)),
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
    penalty = values["learning_penalty_min"]
    if not (is_finite(penalty) and 0 <= penalty <= MAX_LEARNING_PENALTY_MIN):
        c.bad(
            "simulation.learning_penalty_min",
            f"must be minutes from 0 to {MAX_LEARNING_PENALTY_MIN:,} (a day), not {penalty:g}",
        )
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
      (``population.mixing.x``);
    * a facility type must be the catalogue's or the scenario's: ``facility_types.spaceport.capacity``
      is an unknown type, with the closest known one (a new type is defined whole in a file).

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
    raw = read_chain(path, (), None, problems, given or str(path))
    layer = overrides_layer(overrides or {}, overrides_file, problems)
    if raw is None:
        raise ScenarioError(problems)
    apply_overrides(raw, layer, overrides_file, problems)
    top = raw.files[0].name
    c = Checker(raw, top, problems)
    name = raw.data.get("name")
    if name is None:
        c.missing("name", top)
    elif not name.strip(". ") or _UNSAFE_NAME.search(name):
        c.bad("name", f'must be usable in a folder name (no / \\ : * ? " < > | or control characters), not {name!r}')
    elif len(name.encode("utf-8")) > MAX_NAME_BYTES:
        c.bad("name", f"must be at most {MAX_NAME_BYTES:,} bytes long in UTF-8")
    seed = raw.data.get("seed", default_of(Scenario, "seed"))
    if seed < 0:
        c.bad("seed", f"must not be negative, not {seed}")
    place = _check_place(c)
    grid = _check_grid(c) if place == "grid" else None
    groups, ages, mixing = _check_population(c)
    speeds, pace = _check_walking(c)
    types, type_names = check_types(c)
    simulation = _check_simulation(c)
    households = _check_households(c, types)
    communities = check_communities(c, grid, groups, place)
    total = sum(com.residents for com in communities)
    if total > MAX_RESIDENTS:
        c.bad("communities", f"{total:,} residents in all is more than this version handles ({MAX_RESIDENTS:,})")
    streets, facilities = _streets_and_facilities(c, place, grid, communities, types, type_names)
    check_plausible(c)
    if problems:
        raise ScenarioError(problems)
    return Scenario(
        name=name,
        path=raw.files[0],
        files=tuple(raw.files),
        description=raw.data.get("description", default_of(Scenario, "description")),
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
        streets=streets,
        households=households,
    )


def _check_households(c: Checker, types: dict[str, FacilityType] | None) -> Households | None:
    """Check ``[households]``: compositions (known keys, shares summing to 1), the role ages, the escort ages."""
    h = c.table("households")
    compositions = h.get("compositions", default_of(Households, "compositions"))
    ok = True
    for k in compositions:
        if k not in COMPOSITIONS:
            close = [n for n in COMPOSITIONS if n.startswith(k[:4])]
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            c.bad(f"households.compositions.{k}", f"unknown composition{hint}; known: {', '.join(COMPOSITIONS)}")
            ok = False
    shares = c.shares(compositions, "households.compositions")
    adult_age = h.get("adult_age", default_of(Households, "adult_age"))
    elder_age = h.get("elder_age", default_of(Households, "elder_age"))
    ages_ok = 1 <= adult_age < elder_age <= MAX_AGE
    if not ages_ok:
        c.bad(
            "households.adult_age",
            f"must satisfy 1 <= adult_age < elder_age <= {MAX_AGE}, not {adult_age} and {elder_age}",
        )
        ok = False
    two = {k: h.get(k, default_of(Households, k)) for k in ("two_children", "two_grandparents")}
    for k, v in two.items():
        if not (is_finite(v) and 0.0 <= v <= 1.0):
            c.bad(f"households.{k}", f"must be a share between 0 and 1, not {v}")
            ok = False
    for tid, t in (types or {}).items():
        if ages_ok and t.escort_below_age > adult_age:  # every type that does
            c.bad(
                f"facility_types.{tid}.escort_below_age",
                f"{t.escort_below_age} is above the carers' own minimum age (households.adult_age = {adult_age}): "
                "a child old enough to be a carer would need one",
            )
            ok = False
    if shares is None or not ok:
        return None
    return Households(
        on=bool(h.get("on", default_of(Households, "on"))),
        escort=bool(h.get("escort", default_of(Households, "escort"))),
        compositions=shares,
        adult_age=int(adult_age),
        elder_age=int(elder_age),
        two_children=float(two["two_children"]),
        two_grandparents=float(two["two_grandparents"]),
    )


def _streets_and_facilities(
    c: Checker,
    place: str | None,
    grid: Grid | None,
    communities: tuple[Community, ...],
    types: dict[str, FacilityType],
    type_names: set[str],
) -> tuple[Streets | None, tuple[FacilitySite, ...]]:
    """The streets (on streets) and every facility: the facilities file's rows, then the ``[[facilities]]``."""
    if place != "streets":
        return None, check_facilities(c, grid, types, type_names, place)
    read = check_streets(c, communities, types, type_names)
    facilities = check_facilities(c, None, types, type_names, place, read.sites, read.taken)
    streets = read.streets
    if streets is not None:  # the file's rows as named: a resolved scenario leaves them in the file
        streets = replace(streets, file_facilities=facilities[: len(read.sites)])
    return streets, facilities
