"""``lifecircle optimize``: where the next facilities of a type should go, from a scenario's residents.

Builds the matrices of the location models (model/planning/location/) from the city and
residents of a scenario: the users of a type, aggregated by home node and walking pace; the
candidates (on a grid every walkable cell, or a CSV of cells; on streets every street node of the
network's main component, or a CSV of points joined to it by their connector walks); walking
minutes at each user's own pace through the walking surface's bounded search
(``WalkingSurface.within``). model/cli/optimize.py solves them and writes a new scenario that
``extends`` the input and adds the chosen facilities (``model.scenario.extend_toml``; for
``--remove``: the resolved scenario without the closed ones).

For the report of a plan: each user's walks to the nearest site before and after it
(:func:`walks_before_after`), who loses the level or every site within the cut-off, by community
(:func:`losses_by_community`), and where a site stands in words (:func:`place_of`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from model.city.streets import FAR_JOIN_M
from model.scenario import Problem, ScenarioError
from model.scenario.reading import check_readable

WEIGHTS = ("users", "elders")
ELDER_AGE = 60  # "elders": users of this age or older (the catalogue's elderly-care band starts at 60)
HORIZON_MIN = 30.0  # p-median and removal: walks longer than this count as this (the choice cut-off's default)


@dataclass
class Instance:
    """The matrices of one optimisation, and where their rows and columns come from."""

    minutes: sparse.csr_array  # users x candidates
    weight: np.ndarray  # per user row
    existing: np.ndarray  # per user row: minutes to the nearest existing facility of the type
    user_cell: np.ndarray  # per user row: its home node (a cell on the grid)
    user_pace: np.ndarray
    candidates: np.ndarray  # nodes (cells on the grid)
    resident_row: np.ndarray | None = None  # per resident: its user row, -1 for a resident of weight 0


@dataclass
class Candidates:
    """Where new facilities may go: the surface's nodes, and the points a new facility would stand at.

    Attributes:
        nodes: Per candidate, the node of the surface it joins (a cell on the grid).
        connector_m: Per candidate, its connector walk to that node in metres (None: every
            candidate stands on its node, as a cell or a street node does).
        at: Per candidate, the (x, y) written for a new facility there: its cell on the grid,
            metres of the scenario's CRS on streets.
    """

    nodes: np.ndarray
    connector_m: np.ndarray | None
    at: list[tuple]

    @property
    def size(self) -> int:
        """Number of candidates."""
        return int(self.nodes.size)


def read_candidates(path: Path, city) -> np.ndarray:
    """Candidate cells from a CSV with columns x, y (problems name the file and line; exit 2)."""
    problems, cells = [], []
    check_readable(path)  # a folder, a pipe, a device, a huge file: refused before it is opened
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {"x", "y"} <= {f.strip() for f in reader.fieldnames}:
                raise ScenarioError([Problem(str(path), "", "needs a header with columns x and y")])
            for line, row in enumerate(reader, start=2):
                try:
                    x, y = int(row["x"]), int(row["y"])
                except (TypeError, ValueError):
                    problems.append(Problem(str(path), "x, y", f"not two integers: {row}", line))
                    continue
                if not (0 <= x < city.width and 0 <= y < city.height):
                    problems.append(Problem(str(path), "x, y", f"cell ({x}, {y}) is outside the grid", line))
                elif not city.walkable[y, x]:
                    problems.append(Problem(str(path), "x, y", f"cell ({x}, {y}) is blocked", line))
                else:
                    cells.append(y * city.width + x)
    except OSError as exc:
        raise ScenarioError([Problem(str(path), "", f"cannot read file: {exc.strerror or exc}")]) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ScenarioError([Problem(str(path), "", f"not a UTF-8 CSV file: {exc}")]) from None
    if not cells and not problems:
        problems.append(Problem(str(path), "", "no candidate cells"))
    if problems:
        raise ScenarioError(problems)
    return np.unique(np.array(cells, dtype=np.int64))


FAR_CANDIDATE_M = FAR_JOIN_M
"""A candidate point farther than this from the street network's main part is refused (as
``lifecircle import`` reports homes this far off: ``model.city.streets.FAR_JOIN_M``)."""


def candidates_of(model, path: Path | None) -> Candidates:
    """The candidates of ``lifecircle optimize --add``: from ``path`` (a CSV), or every site of the surface.

    On a grid: every walkable cell, or the cells of a CSV with columns x, y. On streets: every
    street node of the network's main component, or the points of a CSV with columns x_m, y_m
    (metres of the scenario's CRS) or lon, lat (WGS84), each joined to the nearest street node of
    the main component by its straight connector walk, as the scenario's own facilities are.
    """
    city = model.city
    if not hasattr(city, "n_street"):
        cells = read_candidates(path, city) if path else np.flatnonzero(city.walkable.reshape(-1))
        return Candidates(cells, None, [(int(c % city.width), int(c // city.width)) for c in cells])
    main = model.surface.main_component.copy()
    main[city.n_street :] = False
    if path is None:
        nodes = np.flatnonzero(main)
        xy = model.surface.node_xy_m[nodes]
        return Candidates(nodes, None, [(float(x), float(y)) for x, y in xy])
    xy, lines = read_street_points(path, city.crs)
    nodes, connector = model.surface.snap(xy[:, 0], xy[:, 1], among=main)
    far = np.flatnonzero(connector > FAR_CANDIDATE_M)
    if far.size:
        raise ScenarioError(
            [
                Problem(
                    str(path),
                    "x_m, y_m",
                    f"point ({xy[i, 0]:.1f}, {xy[i, 1]:.1f}) is {connector[i]:,.0f} m from the street network's "
                    f"main part (at most {FAR_CANDIDATE_M:g} m): not on the scenario's streets",
                    lines[i],
                )
                for i in far[:10]
            ]
        )
    return Candidates(np.asarray(nodes, dtype=np.int64), connector, [(float(x), float(y)) for x, y in xy])


def _header(path: Path, fieldnames) -> tuple[str, str, bool]:
    """The two coordinate columns of a street candidates file and whether they are lon, lat."""
    names = {f.strip() for f in fieldnames or ()}
    if {"x_m", "y_m"} <= names:
        return "x_m", "y_m", False
    if {"lon", "lat"} <= names:
        return "lon", "lat", True
    raise ScenarioError(
        [
            Problem(
                str(path), "", "needs a header with columns x_m and y_m (metres of the scenario's CRS) or lon and lat"
            )
        ]
    )


def read_street_points(path: Path, crs: str) -> tuple[np.ndarray, list[int]]:
    """Candidate points of a street scenario from a CSV: (n, 2) metres in ``crs``, and each one's line.

    Columns x_m, y_m (metres of the scenario's CRS) or lon, lat (WGS84 degrees, converted with
    pyproj); a point given twice counts once. Problems name the file, the columns and the line.
    """
    problems, points, lines = [], [], []
    check_readable(path)  # a folder, a pipe, a device, a huge file: refused before it is opened
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh, skipinitialspace=True)
            kx, ky, degrees = _header(path, reader.fieldnames)
            rows = [
                (line, row) for line, row in enumerate(reader, start=2) if any((v or "").strip() for v in row.values())
            ]
    except OSError as exc:
        raise ScenarioError([Problem(str(path), "", f"cannot read file: {exc.strerror or exc}")]) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ScenarioError([Problem(str(path), "", f"not a UTF-8 CSV file: {exc}")]) from None
    for line, row in rows:
        try:
            a, b = float(row.get(kx) or ""), float(row.get(ky) or "")
        except ValueError:
            a = b = float("nan")
        if not (np.isfinite(a) and np.isfinite(b)):
            problems.append(
                Problem(str(path), f"{kx}, {ky}", f"not two finite numbers: {row.get(kx)!r}, {row.get(ky)!r}", line)
            )
        elif degrees and not (-180 <= a <= 180 and -90 <= b <= 90):
            problems.append(
                Problem(str(path), f"{kx}, {ky}", f"({a}, {b}) is not a WGS84 longitude and latitude", line)
            )
        else:
            points.append((a, b))
            lines.append(line)
    if not points and not problems:
        problems.append(Problem(str(path), "", "no candidate points"))
    if problems:
        raise ScenarioError(problems)
    xy = np.array(points, dtype=float)
    if degrees:
        import pyproj

        x, y = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(xy[:, 0], xy[:, 1])
        xy = np.column_stack([x, y])
        bad = np.flatnonzero(~np.isfinite(xy).all(axis=1))
        if bad.size:
            raise ScenarioError(
                [Problem(str(path), "lon, lat", f"cannot be converted to {crs}", lines[i]) for i in bad[:10]]
            )
    _, first = np.unique(xy, axis=0, return_index=True)
    first = np.sort(first)
    return xy[first], [lines[i] for i in first]


def user_weights(model, ftype: str, weight: str) -> np.ndarray:
    """Per resident, how much its coverage counts: users of the type, only elders, or one group.

    Who needs the type is the rulebook's ``needs`` on the type's catalogue entry, so that a type
    the scenario has no facility of yet (the first nursery of a district) has its users too.
    """
    from model.measures.access import users_of

    res = model.built.residents
    needs = users_of(res.age, model.spec.types[ftype]).astype(float)
    if weight == "elders":
        return needs * (res.age >= ELDER_AGE)
    if weight.startswith("group:"):
        name = weight.split(":", 1)[1]
        return needs * (res.group == res.group_names.index(name))
    return needs


def build_instance(
    model,
    ftype: str,
    weight: np.ndarray,
    candidates: np.ndarray,
    limit_min: float,
    by_cell: bool = False,
    connector_m: np.ndarray | None = None,
) -> Instance:
    """Users and candidates with the minutes between them, within ``limit_min``.

    A user row is a home cell and a walking pace (residents who share both share a row). With
    ``by_cell`` (for the p-median, whose objective is a weighted sum of minutes) a row is a home
    cell, at the weighted harmonic mean pace of its users: every resident of a cell has the same
    nearest facility, and the sum of w_i · metres / pace_i over the cell's users is w · metres /
    that pace, so the objective is exact; only the horizon (walks longer than it count as it)
    then applies at the cell's pace rather than each user's. Paces that vary within an age band
    make rows of (cell, pace) nearly as many as the users, and a p-median's 30-minute pairs too
    many to hold (wuhai_city).

    ``candidates`` are nodes of the run's walking surface (repeats allowed); ``connector_m``, one
    per candidate, is the walk from a candidate point to its node, added to each of its walks.
    """
    res = model.built.residents
    keep = weight > 0
    if by_cell:
        cell, inverse = np.unique(res.node[keep], return_inverse=True)
        w = np.bincount(inverse, weights=weight[keep], minlength=cell.size)
        per_pace = np.bincount(inverse, weights=weight[keep] / res.m_per_min[keep], minlength=cell.size)
        pace = w / per_pace
    else:
        keys = np.stack([res.node[keep], res.m_per_min[keep]], axis=1)
        rows, inverse = np.unique(keys, axis=0, return_inverse=True)
        w = np.bincount(inverse.reshape(-1), weights=weight[keep], minlength=len(rows))
        cell, pace = rows[:, 0].astype(np.int64), rows[:, 1]
    resident_row = np.full(len(res), -1, dtype=np.int64)
    resident_row[keep] = inverse.reshape(-1)
    origins = np.unique(cell)
    src, node, metres = model.surface.within(candidates, limit_min * pace.max(), targets=origins)
    org = np.searchsorted(origins, node)
    if connector_m is not None:
        metres = metres + np.asarray(connector_m, dtype=float)[src]
    # every user row of an origin cell gets that cell's distances, at its own pace
    by_origin = np.searchsorted(origins, cell)
    order = np.argsort(by_origin, kind="stable")
    starts = np.searchsorted(by_origin[order], np.arange(origins.size))
    counts = np.bincount(by_origin, minlength=origins.size)
    per = counts[org]
    user = order[np.repeat(starts[org], per) + _ramp(per)]
    site = np.repeat(src, per)
    minutes = np.repeat(metres, per) / pace[user]
    inside = minutes <= limit_min
    matrix = sparse.coo_array((minutes[inside], (user[inside], site[inside])), shape=(w.size, candidates.size)).tocsr()
    field = model.built.fields_m.get(ftype)
    existing = field[cell] / pace if field is not None else np.full(w.size, np.inf)
    return Instance(matrix, w, existing, cell, pace, candidates, resident_row)


def _ramp(lengths: np.ndarray) -> np.ndarray:
    """0, 1, .., n-1 for each length n, concatenated."""
    total = int(lengths.sum())
    return np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)


# --------------------------------------------------------------------------- who gains, who loses

LIFE_CIRCLE_MIN = 15.0  # the 15-minute life circle of GB 50180-2018, reported beside the level and the cut-off
LOSS_COLUMNS = [
    "community",
    "users",
    "within_level_before",
    "within_level_after",
    "lose_level",
    "within_15_before",
    "within_15_after",
    "within_cutoff_before",
    "within_cutoff_after",
    "lose_cutoff",
    "mean_min_before",
    "mean_min_after",
]


@dataclass
class Walks:
    """Per resident, its own walking minutes to the nearest site of a type before and after a plan.

    Attributes:
        before: Per resident, minutes before (NaN for a resident of weight 0; inf beyond ``horizon_min``).
        after: The same after.
        weight: Per resident, how much it counts (``user_weights``).
        horizon_min: Walks are searched up to this many minutes; longer ones are inf.
    """

    before: np.ndarray
    after: np.ndarray
    weight: np.ndarray
    horizon_min: float


def walks_before_after(
    model,
    ftype: str,
    weight: np.ndarray,
    nodes: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    horizon_min: float,
    connector_m: np.ndarray | None = None,
) -> Walks:
    """Each user's minutes to the nearest of the sites ``before`` and of the sites ``after``.

    Args:
        model: The model (its residents and walking surface).
        ftype: The facility type.
        weight: Per resident, its weight (0: not counted).
        nodes: The nodes of every site of either plan.
        before: Boolean mask over ``nodes``: the sites open before the plan.
        after: Boolean mask over ``nodes``: the sites open after it.
        horizon_min: The longest walk searched, at each user's own pace (longer: inf).
        connector_m: Per site, its connector walk to its node in metres (None: none).
    """
    inst = build_instance(model, ftype, weight, np.asarray(nodes, dtype=np.int64), horizon_min, connector_m=connector_m)
    coo = inst.minutes.tocoo()  # keeps a stored 0 (a site on the home cell)
    per_row = []
    for mask in (before, after):
        sel = np.asarray(mask, dtype=bool)[coo.col]
        best = np.full(inst.weight.size, np.inf)
        np.minimum.at(best, coo.row[sel], coo.data[sel])
        per_resident = np.full(inst.resident_row.size, np.nan)
        users = inst.resident_row >= 0
        per_resident[users] = best[inst.resident_row[users]]
        per_row.append(per_resident)
    return Walks(per_row[0], per_row[1], np.asarray(weight, dtype=float), float(horizon_min))


def losses_by_community(model, walks: Walks, level_min: float, cutoff_min: float) -> pd.DataFrame:
    """Per community, the users within the level, 15 minutes and the cut-off before and after, and who loses.

    Counts are weights (users, for ``--weight users``). ``lose_level``: users within ``level_min``
    before and beyond it after; ``lose_cutoff``: users with a site within ``cutoff_min`` before
    and none after (they can no longer reach the type at all). ``mean_min_*``: the weighted mean
    of the walks, each walk longer than the horizon counted as the horizon (NaN without users).
    """
    res = model.built.residents
    names = list(res.community_names)
    w = np.where(walks.weight > 0, walks.weight, 0.0)
    users = w > 0
    b = np.where(users, walks.before, np.inf)
    a = np.where(users, walks.after, np.inf)
    community = res.community

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(community, weights=w * mask, minlength=len(names))

    total = count(users)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_b = count(np.minimum(np.nan_to_num(b, posinf=walks.horizon_min), walks.horizon_min)) / total
        mean_a = count(np.minimum(np.nan_to_num(a, posinf=walks.horizon_min), walks.horizon_min)) / total
    frame = pd.DataFrame(
        {
            "community": names,
            "users": total,
            "within_level_before": count(b <= level_min),
            "within_level_after": count(a <= level_min),
            "lose_level": count((b <= level_min) & (a > level_min)),
            "within_15_before": count(b <= LIFE_CIRCLE_MIN),
            "within_15_after": count(a <= LIFE_CIRCLE_MIN),
            "within_cutoff_before": count(b <= cutoff_min),
            "within_cutoff_after": count(a <= cutoff_min),
            "lose_cutoff": count((b <= cutoff_min) & (a > cutoff_min)),
            "mean_min_before": mean_b,
            "mean_min_after": mean_a,
        }
    )
    counts = [c for c in LOSS_COLUMNS[1:] if not c.startswith("mean_")]
    if np.array_equal(w, np.round(w)):  # users (0/1 weights): whole numbers
        frame[counts] = frame[counts].round().astype(np.int64)
    return frame[LOSS_COLUMNS]


# --------------------------------------------------------------------------- naming a site


def place_of(model, x: float, y: float, node: int) -> str:
    """Where a site stands, in words: its community (or the nearest one and how far) and its cell or street node.

    On a grid: the community whose area holds the cell, else ``near <community> (<d> m)`` with d the
    distance from the cell's centre to the nearest community's area; then ``cell (x, y)``. On
    streets (communities are their homes): the community of the nearest home and its distance,
    then the street node the site joins (its id in the network's files, the OpenStreetMap node
    id when imported) and the point in metres of the CRS. The street files carry no way names
    (docs/streets.md), so no street name is given.
    """
    city = model.city
    names = model.built.residents.community_names
    if hasattr(city, "n_street"):
        homes = city.homes
        d = np.hypot(homes["x"].to_numpy(dtype=float) - x, homes["y"].to_numpy(dtype=float) - y)
        i = int(np.argmin(d))
        street = int(city.street_id[city.join[int(node)]])
        who = f"{names[int(homes['community'].iloc[i])]} (nearest home {d[i]:,.0f} m)"
        return f"{who}, street node {street} at ({x:,.0f}, {y:,.0f}) m"
    cell_m = model.spec.grid.cell_m
    best, name = np.inf, ""
    for c in model.spec.communities:
        if c.area is None:
            continue
        x0, y0, w, h = c.area
        if x0 <= x < x0 + w and y0 <= y < y0 + h:
            return f"{c.name}, cell ({x}, {y})"
        dx = max(x0 - (x + 0.5), 0.0, (x + 0.5) - (x0 + w))
        dy = max(y0 - (y + 0.5), 0.0, (y + 0.5) - (y0 + h))
        d = float(np.hypot(dx, dy)) * cell_m
        if d < best:
            best, name = d, c.name
    return f"near {name} ({best:,.0f} m), cell ({x}, {y})" if name else f"cell ({x}, {y})"
