"""Semantic checks of what stands on the grid: facility types, communities and facilities."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .files import load_catalogue
from .schema import _KIND_WORDS, _TYPE_FIELDS, OPTIONAL_TYPE_FIELDS, _kind_ok, _parse_time, _suggest, parse_windows
from .spec import MAX_AGE, MAX_RESIDENTS, MAX_TRIES, AgeBand, Community, FacilitySite, FacilityType, Grid, _default

if TYPE_CHECKING:
    from .checks import _Checker


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
            missing = [f for f in _TYPE_FIELDS if f not in fields and f not in OPTIONAL_TYPE_FIELDS]
            # a field given with a wrong type is reported (and removed) already: not missing as well
            unreported = [f for f in missing if not c.reported(f"facility_types.{tname}.{f}")]
            if unreported:
                c.bad(
                    f"facility_types.{tname}",
                    f"a new facility type must give every field; missing: {', '.join(unreported)}"
                    f"{_suggest(tname, list(catalogue))}",
                )
            if missing:
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
                c.bad(f"{path}.{key}", f"must be positive, not {f[key]:,}")
        if f["tries"] > MAX_TRIES:
            c.bad(f"{path}.tries", f"must be at most {MAX_TRIES:,} (facilities tried in one trip), not {f['tries']:,}")
        if f["patience_min"] < 0:
            c.bad(f"{path}.patience_min", f"must not be negative, not {f['patience_min']:,}")
        if f["beta_per_min"] < 0:
            c.bad(f"{path}.beta_per_min", f"must not be negative, not {f['beta_per_min']}")
        for key in ("catchment_min", "area_m2"):  # optional: only when given
            if key in f:
                c.positive(f[key], f"{path}.{key}")
        open_min, close_min = _parse_time(f["open"]), _parse_time(f["close"])
        if open_min >= close_min:
            c.bad(f"{path}.close", f"closing time {f['close']} must be after opening time {f['open']}")
        windows = _check_windows(c, f, path, open_min, close_min)
        if len(c.problems) > problems_before:
            continue
        types[tname] = FacilityType(
            id=tname,
            label=f["label"],
            level_min=float(f["level_min"]),
            ages=AgeBand(lo, hi),
            daily_prob=float(f["daily_prob"]),
            weekdays_only=f["weekdays_only"],
            depart_windows=windows,
            visit_min=f["visit_min"],
            open_min=open_min,
            close_min=close_min,
            capacity=f["capacity"],
            beta_per_min=float(f["beta_per_min"]),
            patience_min=f["patience_min"],
            tries=f["tries"],
            catchment_min=float(f["catchment_min"])
            if "catchment_min" in f
            else _default(FacilityType, "catchment_min"),
            area_m2=float(f["area_m2"]) if "area_m2" in f else _default(FacilityType, "area_m2"),
            open_space=bool(f.get("open_space", _default(FacilityType, "open_space"))),
            source=dict(f.get("source", _default(FacilityType, "source"))),
        )
    return types, set(merged) | set(overrides)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _check_windows(c: _Checker, f: dict, path: str, open_min: int, close_min: int) -> tuple[tuple[int, int], ...]:
    """Check a type's departure windows: each in order, within the opening hours, sorted, not overlapping.

    One window is reported at ``<type>.depart``, one of several at ``<type>.depart[i]``.
    """
    windows = parse_windows(f["depart"])  # the shape is checked already
    key = (lambda i: f"{path}.depart") if len(windows) == 1 else (lambda i: f"{path}.depart[{i}]")
    for i, (first, last) in enumerate(windows):
        shown = f"{_hhmm(first)}-{_hhmm(last)}"
        if first > last:
            c.bad(key(i), f"the window {shown} must not end before it starts")
        elif open_min < close_min and (first < open_min or last >= close_min):
            c.bad(
                key(i),
                f"departures {shown} must fall within the opening hours {f['open']}-{f['close']}",
            )
    for i in range(1, len(windows)):
        (a0, a1), (b0, b1) = windows[i - 1], windows[i]
        if a0 <= a1 and b0 <= b1 and b0 <= a1:
            c.bad(
                f"{path}.depart",
                f"windows must be in order of time and must not overlap: {_hhmm(a0)}-{_hhmm(a1)} "
                f"is followed by {_hhmm(b0)}-{_hhmm(b1)}",
            )
    return tuple(windows)


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


def _check_communities(c: _Checker, grid: Grid | None, groups: dict | None) -> tuple[Community, ...]:
    entries = c.raw.lists["communities"]
    if not entries:
        c.missing("communities", c.top, "at least one [[communities]] entry is required", any_file=True)
        return ()
    out, seen = [], set()
    for e in entries:
        path, file, d = f"communities[{e.index}]", e.file, e.data
        n_before = len(c.problems)
        name = d.get("name")
        if name is None:
            c.missing(f"{path}.name", file)
        elif name in seen:
            c.bad(f"{path}.name", f"community name {name!r} is used twice", file)
        seen.add(name)
        area, area_ok = d.get("area"), False
        if area is None:
            c.missing(f"{path}.area", file)
        elif c.rect_in_grid(area, grid, f"{path}.area", file) and grid:
            area_ok = True
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
        residents = d.get("residents")
        if residents is None:
            c.missing(f"{path}.residents", file)
        elif c.positive(residents, f"{path}.residents", file) and residents > MAX_RESIDENTS:
            c.bad(f"{path}.residents", f"{residents:,} is more than this version handles ({MAX_RESIDENTS:,})", file)
        own = d.get("groups", _default(Community, "groups"))
        if own is not None:
            own = c.shares(own, f"{path}.groups", file)
            if own and groups:
                for g in own:
                    if g not in groups:
                        c.bad(f"{path}.groups.{g}", f"group not in population.groups{_suggest(g, list(groups))}", file)
        gates = d.get("gates", _default(Community, "gates"))
        if gates is not None:
            gates = _check_gates(c, gates, grid, area if area_ok else None, f"{path}.gates", file)
        if len(c.problems) == n_before and None not in (name, area, residents):  # a wrong type: reported, None
            out.append(Community(name, tuple(area), residents, own, gates))
    return tuple(out)


def _check_gates(
    c: _Checker, gates: list, grid: Grid | None, area: list[int] | None, path: str, file: str
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
        if not _kind_ok("cell", cell):
            c.bad(gpath, f"must be {_KIND_WORDS['cell']}, not {cell!r}", file)
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


def _check_facilities(
    c: _Checker, grid: Grid | None, types: dict[str, FacilityType], type_names: set[str]
) -> tuple[FacilitySite, ...]:
    out, seen = [], set()
    for e in c.raw.lists["facilities"]:
        path, file, d = f"facilities[{e.index}]", e.file, e.data
        n_before = len(c.problems)
        ftype = d.get("type")
        if ftype is None:
            c.missing(f"{path}.type", file)
        elif ftype not in type_names:
            c.bad(f"{path}.type", f"unknown facility type {ftype!r}{_suggest(ftype, sorted(type_names))}", file)
        at = d.get("at")
        if at is None:
            c.missing(f"{path}.at", file)
        elif grid:
            x, y = at
            if not (0 <= x < grid.width and 0 <= y < grid.height):
                c.bad(f"{path}.at", f"cell ({x}, {y}) is outside the {grid.width:,}x{grid.height:,} grid", file)
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
        # a bad type's own problem is reported; a value of a wrong type is reported and None
        if len(c.problems) == n_before and grid and ftype in types and at is not None:
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
