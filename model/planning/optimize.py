"""``lifecircle optimize``: where the next facilities of a type should go, from a scenario's residents.

Builds the matrices of the location models (model/planning/location/) from the city and
residents of a scenario: the users of a type, aggregated by home cell and walking pace; every
walkable cell, or a CSV of cells, as candidates; walking minutes at each user's own pace through
the grid search of destination choice. model/cli/optimize.py solves them and writes a new
scenario that ``extends`` the input and adds the chosen facilities
(``model.scenario.extend_toml``; for ``--remove``: the resolved scenario without the closed ones).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from model.city.gridsearch import bounded_distances
from model.scenario import Problem, ScenarioError

WEIGHTS = ("users", "elders")
ELDER_AGE = 60  # "elders": users of this age or older (the catalogue's elderly-care band starts at 60)
HORIZON_MIN = 30.0  # p-median and removal: walks longer than this count as this (the choice cut-off's default)


@dataclass
class Instance:
    """The matrices of one optimisation, and where their rows and columns come from."""

    minutes: sparse.csr_array  # users x candidates
    weight: np.ndarray  # per user row
    existing: np.ndarray  # per user row: minutes to the nearest existing facility of the type
    user_cell: np.ndarray
    user_pace: np.ndarray
    candidates: np.ndarray  # cells


def read_candidates(path: Path, city) -> np.ndarray:
    """Candidate cells from a CSV with columns x, y (problems name the file and line; exit 2)."""
    problems, cells = [], []
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
    if not cells and not problems:
        problems.append(Problem(str(path), "", "no candidate cells"))
    if problems:
        raise ScenarioError(problems)
    return np.unique(np.array(cells, dtype=np.int64))


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
    model, ftype: str, weight: np.ndarray, candidates: np.ndarray, limit_min: float, by_cell: bool = False
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
    """
    city, res = model.city, model.built.residents
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
    origins = np.unique(cell)
    src, org, metres = bounded_distances(city.walkable, city.cell_m, candidates, origins, limit_min * pace.max())
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
    matrix = sparse.coo_array(
        (minutes[inside], (user[inside], site[inside])), shape=(w.size, candidates.size)
    ).tocsr()
    field = model.built.fields_m.get(ftype)
    existing = field[cell] / pace if field is not None else np.full(w.size, np.inf)
    return Instance(matrix, w, existing, cell, pace, candidates)


def _ramp(lengths: np.ndarray) -> np.ndarray:
    """0, 1, .., n-1 for each length n, concatenated."""
    total = int(lengths.sum())
    return np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)

