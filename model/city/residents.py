"""Residents: who lives where, with an age, a group and a walking speed.

Residents are rows of arrays (a struct of arrays), drawn in bulk from the model's one random
generator, in this order: each community's groups and home order, then every resident's age
(:func:`draw_ages`), then the pace factors (:func:`pace_factors`). Homes are placed so that
``population.mixing`` really shapes the residential pattern:

* every community spreads its residents evenly over the walkable cells of its area, taken in
  column-major order (x, then y), so that consecutive home slots are neighbours; on a street
  network, over its homes by floor area, strip by strip (``streets.home_slots``, docs/streets.md);
* residents are sorted into those slots by the key ``(1 - mixing) * g + mixing * u``, where ``g``
  is the resident's position in the community's group-ordered list (scaled to 0..1) and ``u`` is
  uniform on 0..1. At mixing 0 each group fills a contiguous strip of the community; at mixing 1
  the order is a random permutation, so homes are assigned regardless of group; in between,
  groups overlap partly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from model.city.grid import City
from model.city.streets import StreetCity
from model.city.streets import home_slots as street_home_slots
from model.scenario import AgeBand, Pace, Scenario


@dataclass(frozen=True, eq=False)
class Residents:
    """All residents as parallel arrays (index = resident id).

    Attributes:
        community: Community index (into ``community_names``).
        group: Group index (into ``group_names``).
        age: Age in whole years.
        x: Home column on the grid; the home's x in metres on streets.
        y: Home row on the grid; the home's y in metres on streets.
        node: The node of the walking surface each resident lives at (the home cell on the
            grid, the home's own node on streets).
        m_per_min: Walking speed in metres per minute.
        community_names: Names of the communities.
        group_names: Names of the groups.
        household: Household id of each resident, or None without households
            (model/city/households.py).
        household_kind: Composition index of each household (into ``household_kinds``), or None.
        household_kinds: Names of the compositions.
    """

    community: np.ndarray
    group: np.ndarray
    age: np.ndarray
    x: np.ndarray
    y: np.ndarray
    node: np.ndarray
    m_per_min: np.ndarray
    community_names: tuple[str, ...]
    group_names: tuple[str, ...]
    household: np.ndarray | None = None  # without households
    household_kind: np.ndarray | None = None
    household_kinds: tuple[str, ...] = ()

    def __len__(self) -> int:
        """Number of residents."""
        return int(self.age.size)

    def frame(self) -> pd.DataFrame:
        """One row per resident: id, community, group, age, x, y, m_per_min (and household, with households)."""
        frame = pd.DataFrame(
            {
                "id": np.arange(len(self)),
                "community": np.asarray(self.community_names, dtype=object)[self.community],
                "group": np.asarray(self.group_names, dtype=object)[self.group],
                "age": self.age,
                "x": self.x,
                "y": self.y,
                "m_per_min": self.m_per_min,
            }
        )
        if self.household is not None:
            frame["household"] = self.household
        return frame


def draw_ages(scenario: Scenario, n: int, rng: np.random.Generator) -> np.ndarray:
    """Ages of ``n`` residents: a band by the population's shares, then a whole year uniformly within it.

    Uniform within the band is an assumption (docs/scenarios.md): with the census's ten-year
    bands, the life stages that cut across them (0-2, 3-5, 6-11, 12-14) get the band's share in
    proportion to the years they span.
    """
    bands = list(scenario.ages)
    shares = np.array([scenario.ages[b] for b in bands])
    which = rng.choice(len(bands), size=n, p=shares / shares.sum())
    lo = np.array([b.lo for b in bands])[which]
    hi = np.array([b.hi for b in bands])[which]
    return rng.integers(lo, hi + 1)


def by_band(table: dict[AgeBand, float], age: np.ndarray, default: float) -> np.ndarray:
    """The value of the band containing each age (``default`` for ages in no band)."""
    out = np.full(age.size, default, dtype=float)
    for band, value in table.items():
        out[(age >= band.lo) & (age <= band.hi)] = value
    return out


def speeds_for(scenario: Scenario, age: np.ndarray) -> np.ndarray:
    """Walking speed (m/min) for each age, from the [walking] bands: the band's mean pace."""
    return by_band(scenario.speeds, age, np.nan)


def pace_factors(pace: Pace, age: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each resident's pace as a share of its band's ``m_per_min`` (docs/scenarios.md#walking).

    A factor from the normal distribution of mean 1 and standard deviation ``pace.cv`` truncated
    to ``pace.limits``, drawn by inverting its distribution function at one uniform number per
    resident (exact, and one bulk draw); times ``pace.reduced_pace`` for the share
    ``pace.reduced_mobility`` of each band, drawn as one more uniform number per resident. Nothing
    is drawn for a part that is absent (cv 0, no reduced mobility), so that a scenario without
    variation draws exactly what it drew before the variation existed.
    """
    factor = np.ones(age.size)
    if pace.cv > 0:
        lo, hi = ((limit - 1.0) / pace.cv for limit in pace.limits)
        p_lo, p_hi = special.ndtr(lo), special.ndtr(hi)
        z = special.ndtri(p_lo + rng.random(age.size) * (p_hi - p_lo))
        factor = 1.0 + pace.cv * np.clip(z, lo, hi)  # clip: rounding at the very ends of the tails
    share = by_band(pace.reduced_mobility, age, 0.0)
    if share.any():
        reduced = rng.random(age.size) < share
        factor = np.where(reduced, factor * pace.reduced_pace, factor)
    return factor


def home_slots(walkable: np.ndarray, area: tuple[int, int, int, int], n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` home cells (x, y) spread evenly over the walkable cells of ``area``, neighbours consecutive.

    Cells are taken column by column (x, then y), so that slot order is spatial order.
    Many residents may share a cell: a 50 m cell holds apartment blocks.
    """
    x0, y0, w, h = area
    ys, xs = np.nonzero(walkable[y0 : y0 + h, x0 : x0 + w])
    order = np.lexsort((ys, xs))  # column-major
    xs, ys = xs[order] + x0, ys[order] + y0
    slot_cell = (np.arange(n) * xs.size) // n
    return xs[slot_cell], ys[slot_cell]


def _slots(scenario: Scenario, city: City | StreetCity, community: int, n: int) -> np.ndarray:
    """Home nodes of a community's ``n`` residents in slot order: grid cells, or homes on streets."""
    if isinstance(city, StreetCity):
        return street_home_slots(city, community, n, scenario.simulation.block_m)
    xs, ys = home_slots(city.walkable, scenario.communities[community].area, n)
    return ys.astype(np.int64) * city.width + xs


def build_residents(scenario: Scenario, city: City | StreetCity, rng: np.random.Generator) -> Residents:
    """Draw every resident of every community (see the module docstring for the placement rule)."""
    group_names = tuple(scenario.groups)
    parts = []
    for ci, com in enumerate(scenario.communities):
        n = com.residents
        shares_by_name = com.groups or scenario.groups
        shares = np.array([shares_by_name.get(g, 0.0) for g in group_names])
        group = rng.choice(len(group_names), size=n, p=shares / shares.sum())
        # position in the group-ordered list, ties (same group) in random order
        u = rng.random(n)
        g_pos = (np.argsort(np.lexsort((u, group))) + 0.5) / n
        key = (1.0 - scenario.mixing) * g_pos + scenario.mixing * rng.random(n)
        slot_of = np.argsort(np.argsort(key, kind="stable"), kind="stable")
        parts.append((np.full(n, ci), group, _slots(scenario, city, ci, n)[slot_of]))
    community = np.concatenate([p[0] for p in parts]).astype(np.int64)
    group = np.concatenate([p[1] for p in parts]).astype(np.int64)
    node = np.concatenate([p[2] for p in parts]).astype(np.int64)
    if isinstance(city, StreetCity):
        x, y = city.surface.node_xy_m[node].T
    else:
        y, x = np.divmod(node, city.width)
    age = draw_ages(scenario, community.size, rng).astype(np.int64)
    return Residents(
        community=community,
        group=group,
        age=age,
        x=x,
        y=y,
        node=node,
        m_per_min=speeds_for(scenario, age) * pace_factors(scenario.pace, age, rng),
        community_names=tuple(c.name for c in scenario.communities),
        group_names=group_names,
    )
