"""Semantic checks of what stands on the grid or the streets: facility types, communities and facilities.

A facility type is the catalogue's entry with the scenario's changes (or a new type the scenario
defines whole); its fields, their checks and their conversion to :class:`FacilityType` come from
the catalogue field table (:mod:`.fields`).

The community and facility checks take the scenario's ``place``: "grid" (a ``[grid]`` table:
areas, gates and ``at`` cells), "streets" (a ``[streets]`` table: no areas or gates, facilities
placed by ``at_m``; homes, gates and the facilities file are :mod:`.streets`'), or None when the
scenario has both tables or neither (reported already: where things stand is then not checked).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from .checker import Checker
from .fields import FIELD_BY_NAME, FIELDS, entry_problems, type_attributes
from .files import Entry, facility_names, load_catalogue
from .kinds import KIND_WORDS, is_finite, kind_ok
from .limits import MAX_RESIDENTS
from .schema import suggest
from .spec import Community, FacilitySite, FacilityType, Grid, default_of


def check_types(c: Checker) -> tuple[dict[str, FacilityType], set[str]]:
    """Check the facility types: the catalogue's, changed by the scenario, and new ones.

    Args:
        c: The checker of the scenario (its ``[facility_types]`` table is read).

    Returns:
        The valid types by name, in catalogue order and then the scenario's order; and the names
        of all types, valid or not (a facility of a type with a problem is not reported again).

    """
    catalogue = load_catalogue()
    merged: dict[str, dict] = {k: dict(v) for k, v in catalogue.items()}
    given = c.table("facility_types")
    for tname, fields in given.items():
        if tname in merged:
            merged[tname] = _changed(c, f"facility_types.{tname}", catalogue[tname], fields)
        elif _complete(c, tname, fields, list(catalogue)):
            merged[tname] = dict(fields)
    types = {}
    for tname, entry in merged.items():
        problems = entry_problems(entry)
        for key, message in problems:
            c.bad(f"facility_types.{tname}.{key}", message)
        if not problems:
            types[tname] = FacilityType(id=tname, **type_attributes(entry))
    return types, set(merged) | set(given)


def _changed(c: Checker, path: str, entry: dict, fields: dict) -> dict:
    """A catalogue entry with a scenario's changes; a table (``source``) is merged key by key.

    A field that a scenario may not change (see the field table) is reported if given another
    value (a resolved scenario.toml repeats the catalogue's), and keeps the catalogue's.
    """
    out = dict(entry)
    for key, value in fields.items():
        if not FIELD_BY_NAME[key].overridable and value != entry.get(key):
            c.bad(f"{path}.{key}", "is the catalogue's for every scenario: a scenario cannot change it")
        else:
            out[key] = {**entry.get(key, {}), **value} if isinstance(value, dict) else value
    return out


def _complete(c: Checker, tname: str, fields: dict, catalogue: list[str]) -> bool:
    """Whether a new type gives every required field; report those missing (not those given wrong)."""
    missing = [f.name for f in FIELDS if f.required and f.name not in fields]
    # a field given with a wrong type is reported (and removed) already: not missing as well
    unreported = [f for f in missing if not c.reported(f"facility_types.{tname}.{f}")]
    if unreported:
        c.bad(
            f"facility_types.{tname}",
            f"a new facility type must give every field; missing: {', '.join(unreported)}{suggest(tname, catalogue)}",
        )
    return not missing


def _cell_blocked(grid: Grid, x: int, y: int) -> bool:
    """Whether cell (x, y) lies in a blocked rectangle."""
    return any(bx <= x < bx + bw and by <= y < by + bh for bx, by, bw, bh in grid.blocked)


def _blocked_cells(grid: Grid, area: tuple[int, int, int, int]) -> int:
    """Count the cells of ``area`` that lie in at least one blocked rectangle (which may overlap).

    Works on the area compressed to the rectangles' edges, so that the cost does not grow with
    the size of the grid or the area (a scenario may give any size; the loader must not run out
    of memory checking it): each compressed cell is wholly blocked or not, and weighs its size.
    """
    x0, y0, w, h = area
    x1, y1 = x0 + w, y0 + h
    clipped = [(max(bx, x0), max(by, y0), min(bx + bw, x1), min(by + bh, y1)) for bx, by, bw, bh in grid.blocked]
    clipped = [r for r in clipped if r[0] < r[2] and r[1] < r[3]]
    if not clipped:
        return 0
    xs = sorted({x0, x1, *(r[0] for r in clipped), *(r[2] for r in clipped)})
    ys = sorted({y0, y1, *(r[1] for r in clipped), *(r[3] for r in clipped)})
    xi, yi = {x: i for i, x in enumerate(xs)}, {y: i for i, y in enumerate(ys)}
    covered = np.zeros((len(ys) - 1, len(xs) - 1), dtype=bool)
    for rx0, ry0, rx1, ry1 in clipped:
        covered[yi[ry0] : yi[ry1], xi[rx0] : xi[rx1]] = True
    widths = np.diff(np.array(xs, dtype=np.int64))
    heights = np.diff(np.array(ys, dtype=np.int64))
    return sum(int(dy) * int(widths[row].sum()) for dy, row in zip(heights, covered))


def check_communities(
    c: Checker, grid: Grid | None, groups: dict | None, place: str | None = "grid"
) -> tuple[Community, ...]:
    """Check the ``[[communities]]`` entries: at least one; each named once, placed, with residents.

    Args:
        c: The checker of the scenario.
        grid: The checked grid, or None if it has a problem (areas are then checked for shape only).
        groups: The population's checked group shares, or None if they have a problem.
        place: "grid", "streets" (no ``area`` nor ``gates``: the homes and gates files give them)
            or None (both tables or neither: areas and gates are not checked).

    Returns:
        The valid communities, in order.

    """
    entries = c.raw.lists["communities"]
    if not entries:
        c.missing("communities", c.top, "at least one [[communities]] entry is required", any_file=True)
        return ()
    out, seen = [], set()
    for e in entries:
        community = _community(c, e, grid, groups, seen, place)
        if community is not None:
            out.append(community)
    return tuple(out)


def _community(
    c: Checker, e: Entry, grid: Grid | None, groups: dict | None, seen: set, place: str | None
) -> Community | None:
    """Check one community entry; the community, or None if it has a problem."""
    path, file, d = f"communities[{e.index}]", e.file, e.data
    n_before = len(c.problems)
    name = d.get("name")
    if name is None:
        c.missing(f"{path}.name", file)
    elif name in seen:
        c.bad(f"{path}.name", f"community name {name!r} is used twice", file)
    seen.add(name)
    area, gates = _community_place(c, e, grid, place)
    residents = d.get("residents")
    if residents is None:
        c.missing(f"{path}.residents", file)
    elif c.positive(residents, f"{path}.residents", file) and residents > MAX_RESIDENTS:
        c.bad(f"{path}.residents", f"{residents:,} is more than this version handles ({MAX_RESIDENTS:,})", file)
    own = d.get("groups", default_of(Community, "groups"))
    if own is not None:
        own = _community_groups(c, own, groups, path, file)
    placed = area is not None or place == "streets"
    if len(c.problems) == n_before and placed and None not in (name, residents):  # a wrong type: reported, None
        return Community(name, area, residents, own, gates)
    return None


# why a key of a [[communities]] entry is not given on streets
_NOT_ON_STREETS = {
    "area": "a community on streets has no area: its homes are the rows of the streets' homes file",
    "gates": "a community on streets has no gates key: its gates are the rows of the streets' gates file",
}


def _community_place(
    c: Checker, e: Entry, grid: Grid | None, place: str | None
) -> tuple[tuple[int, int, int, int] | None, tuple[tuple[int, int], ...] | None]:
    """Check where a community lies: its ``area`` and ``gates`` on the grid, none on streets.

    Returns:
        (area, gates): the area (None when missing, bad or not on the grid) and the checked gates
        (None when not given, bad or not on the grid).

    """
    path, file, d = f"communities[{e.index}]", e.file, e.data
    if place == "streets":
        for key, why in _NOT_ON_STREETS.items():
            if key in d:
                c.bad(f"{path}.{key}", why, file)
        return None, None
    if place is None:
        return None, None
    area = d.get("area")
    area_ok = area is not None and _community_area(c, area, grid, path, file)
    if area is None:
        c.missing(f"{path}.area", file)
    gates = d.get("gates", default_of(Community, "gates"))
    if gates is not None:
        gates = _check_gates(c, gates, grid, area if area_ok else None, f"{path}.gates", file)
    return (tuple(area) if area is not None else None), gates


def _community_area(c: Checker, area: list[int], grid: Grid | None, path: str, file: str) -> bool:
    """Check a community's area: inside the grid, with walkable cells (a warning if mostly blocked).

    Returns:
        Whether the area lies inside a valid grid (its gates can then be checked against it).

    """
    if not (c.rect_in_grid(area, grid, f"{path}.area", file) and grid):
        return False
    cells = area[2] * area[3]
    walkable = cells - _blocked_cells(grid, area)
    if not walkable:
        c.bad(f"{path}.area", f"area {area} has no walkable cell", file)
    elif 2 * walkable < cells:
        c.warn(
            f"{path}.area",
            f"only {walkable:,} of {cells:,} cells ({100 * walkable // cells}%) are walkable; "
            "the community's homes crowd onto them",
            file,
        )
    return True


def _community_groups(c: Checker, own: dict, groups: dict | None, path: str, file: str) -> dict[str, float] | None:
    """Check a community's own group shares: shares, and every group one of the population's."""
    own = c.shares(own, f"{path}.groups", file)
    if own and groups:
        for g in own:
            if g not in groups:
                c.bad(f"{path}.groups.{g}", f"group not in population.groups{suggest(g, list(groups))}", file)
    return own


def _check_gates(
    c: Checker, gates: list, grid: Grid | None, area: list[int] | None, path: str, file: str
) -> tuple[tuple[int, int], ...] | None:
    """Check a community's gates: at least one; each a walkable cell of the grid inside its ``area``.

    ``area`` is None when the community's area is bad (reported already): the gates are then
    checked against the grid alone.
    """
    if not gates:
        c.bad(path, "must list at least one [x, y] cell; leave the key out for the default gate", file)
        return None
    out, ok = [], True
    for i, cell in enumerate(gates):
        gpath = f"{path}[{i}]"
        if not kind_ok("cell", cell):
            c.bad(gpath, f"must be {KIND_WORDS['cell']}, not {cell!r}", file)
            ok = False
            continue
        x, y = cell
        if grid and not (0 <= x < grid.width and 0 <= y < grid.height):
            c.bad(gpath, f"cell ({x}, {y}) is outside the {grid.width:,}x{grid.height:,} grid", file)
        elif area is not None and not (area[0] <= x < area[0] + area[2] and area[1] <= y < area[1] + area[3]):
            c.bad(gpath, f"cell ({x}, {y}) is outside the community's area {list(area)}", file)
        elif grid and _cell_blocked(grid, x, y):
            c.bad(gpath, f"cell ({x}, {y}) is blocked", file)
        elif (x, y) in out:
            c.bad(gpath, f"cell ({x}, {y}) is given twice", file)
        else:
            out.append((x, y))
            continue
        ok = False
    return tuple(out) if ok else None


def check_facilities(
    c: Checker,
    grid: Grid | None,
    types: dict[str, FacilityType],
    type_names: set[str],
    place: str | None = "grid",
    file_sites: Sequence[FacilitySite] = (),
    taken: Mapping[str, str] | None = None,
) -> tuple[FacilitySite, ...]:
    """Check the ``[[facilities]]`` entries and name those without a name.

    Args:
        c: The checker of the scenario.
        grid: The checked grid, or None if it has a problem.
        types: The valid facility types.
        type_names: The names of all facility types, valid or not.
        place: "grid" (entries give ``at``), "streets" (entries give ``at_m``) or None (both
            tables or neither: where the facilities stand is not checked, none is returned).
        file_sites: On streets, the valid rows of the facilities file, in file order (perhaps
            unnamed): they come first.
        taken: The names the facilities file gives -> where ("facilities.csv line 4"): an entry
            of the same name is a problem.

    Returns:
        The valid facilities, in order (``file_sites``, then the entries), each named: an unnamed
        one gets "<type> <n>", the n-th facility of its type in that order, or the next free
        number if that name is taken.

    """
    out, seen = list(file_sites), dict(taken or {})
    for e in c.raw.lists["facilities"]:
        site = _facility(c, e, grid, types, type_names, seen, place)
        if site is not None:
            out.append(site)
    return _named(out)


def _facility(
    c: Checker,
    e: Entry,
    grid: Grid | None,
    types: dict[str, FacilityType],
    type_names: set[str],
    seen: dict[str, str],
    place: str | None,
) -> FacilitySite | None:
    """Check one facility entry; the facility (perhaps unnamed), or None if it has a problem."""
    path, file, d = f"facilities[{e.index}]", e.file, e.data
    n_before = len(c.problems)
    ftype = d.get("type")
    if ftype is None:
        c.missing(f"{path}.type", file)
    elif ftype not in type_names:
        c.bad(f"{path}.type", f"unknown facility type {ftype!r}{suggest(ftype, sorted(type_names))}", file)
    at = _facility_at(c, e, grid, place)
    capacity = d.get("capacity")
    if capacity is not None:
        c.positive(capacity, f"{path}.capacity", file)
    name = d.get("name")
    if name is not None:
        if name in seen:
            also = f" (also in {seen[name]})" if seen[name] else ""
            c.bad(f"{path}.name", f"facility name {name!r} is used twice{also}", file)
        seen.setdefault(name, "")
    # a bad type's own problem is reported; a value of a wrong type is reported and None
    if len(c.problems) == n_before and ftype in types and at is not None:
        cap = capacity if capacity is not None else types[ftype].capacity
        return FacilitySite(ftype, at[0], at[1], cap, name or "", d.get("osm_id"))
    return None


# the key that places a facility, and why the other one is not given there
_AT_KEY = {"grid": "at", "streets": "at_m"}
_WRONG_AT = {
    "grid": "at_m places a facility on streets; on the grid give its cell, at = [x, y]",
    "streets": "at is a cell of a grid; on streets give at_m = [x_m, y_m], metres in the streets' CRS",
}


def _facility_at(c: Checker, e: Entry, grid: Grid | None, place: str | None) -> tuple[int | float, int | float] | None:
    """Check where a facility entry stands: ``at`` on the grid, ``at_m`` on streets.

    Returns:
        (x, y), a cell on the grid or metres on streets; None if missing or bad, on a grid with a
        problem, or when the place is not known (``place`` None).

    """
    if place is None:
        return None
    path, file, d = f"facilities[{e.index}]", e.file, e.data
    key = _AT_KEY[place]
    other = _AT_KEY["streets" if place == "grid" else "grid"]
    if other in d:
        c.bad(f"{path}.{other}", _WRONG_AT[place], file)
    at = d.get(key)
    if at is None:
        c.missing(f"{path}.{key}", file)
        return None
    if place == "streets":
        if not all(is_finite(v) for v in at):
            c.bad(f"{path}.at_m", f"must be finite numbers, not {at!r}", file)
            return None
        return float(at[0]), float(at[1])
    if grid is None:
        return None
    _check_cell(c, grid, at, f"{path}.at", file)
    return at[0], at[1]


def _check_cell(c: Checker, grid: Grid, at: list[int], path: str, file: str) -> None:
    """Check that a facility's cell lies inside the grid and is walkable."""
    x, y = at
    if not (0 <= x < grid.width and 0 <= y < grid.height):
        c.bad(path, f"cell ({x}, {y}) is outside the {grid.width:,}x{grid.height:,} grid", file)
    elif _cell_blocked(grid, x, y):
        c.bad(path, f"cell ({x}, {y}) is blocked", file)


def _named(sites: list[FacilitySite]) -> tuple[FacilitySite, ...]:
    """Name the unnamed facilities "<type> <n>", n their position among their type's in file order.

    If a facility was given that name explicitly, the next free number: names stay unique
    (:func:`~.files.facility_names`, the rule ``replaces`` also finds a base's facilities by).
    """
    names = facility_names([f.type for f in sites], [f.name for f in sites])
    return tuple(f if f.name else replace(f, name=name) for f, name in zip(sites, names, strict=True))
