"""Households: residents grouped into households of the scenario's compositions, each in one home.

Households are formed after the residents are drawn (model/city/residents.py keeps its draws
and their order, so ages, groups and communities are those of a run without households), from
the same random generator, within each community and group (an assumption: a household's members
share the group their community drew for them). Roles by age (``[households]``): a child is
younger than ``adult_age``, an elder ``elder_age`` or older, an adult in between.

Within one pool (a community's residents of one group), in rounds until nobody is left:

1. the compositions whose smallest form the pool can still fill (one child, one elder for a
   three-generation household) are drawn with the scenario's shares renormalised over them, as
   many as there are residents left; each draw with children has one child, or two with
   probability ``two_children``, a three-generation one one elder or two (``two_grandparents``);
2. the draws are taken in order while the pool can fill them all; the first draw that does not
   fit ends the round (it is taken with its children and elders cut to what is left when it is
   the round's first draw).

Members are taken from the pool's children, adults and elders in a random order (one uniform
key per resident). What no composition can take is placed so that every child lives with an
adult or an elder: children left over join households of the pool that have one (chosen
uniformly); adults and elders left over (their compositions have share 0) live alone, as
``single_adult`` and ``elder_alone``. Only a pool with no adult and no elder at all leaves its
children together in one household of their own, ``children_only``. Every member then moves to
the home of the household's first member (the lowest resident id), and households are numbered
in the order of their first members.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from model.city.residents import Residents
from model.scenario import COMPOSITIONS, Households

CHILD, ADULT, ELDER = 0, 1, 2
KINDS = (*COMPOSITIONS, "children_only")
"""Composition names by composition index: the scenario's, then the fallback of a pool without adults."""
_CHILDREN_ONLY = len(COMPOSITIONS)
# the smallest form of each composition (children, adults, elders), and which parts may grow
_SMALLEST = {
    "elder_alone": (0, 0, 1),
    "elder_couple": (0, 0, 2),
    "single_adult": (0, 1, 0),
    "couple": (0, 2, 0),
    "couple_with_children": (1, 2, 0),
    "single_parent": (1, 1, 0),
    "three_generations": (1, 2, 1),
}


@dataclass(frozen=True)
class _Pool:
    """The households of one pool: members per household by role, and compositions."""

    composition: np.ndarray
    members: np.ndarray  # (households, 3): children, adults, elders


def roles(age: np.ndarray, spec: Households) -> np.ndarray:
    """Each resident's role by age: CHILD, ADULT or ELDER."""
    return np.where(age < spec.adult_age, CHILD, np.where(age < spec.elder_age, ADULT, ELDER))


def _draw_pool(counts: np.ndarray, spec: Households, rng: np.random.Generator) -> _Pool:
    """The households of a pool with ``counts`` children, adults and elders (see the module docstring)."""
    smallest = np.array([_SMALLEST[c] for c in COMPOSITIONS], dtype=np.int64)
    grows = smallest[:, CHILD] > 0  # children: one or two
    grand = np.array([c == "three_generations" for c in COMPOSITIONS])
    shares = np.array([spec.compositions.get(c, 0.0) for c in COMPOSITIONS])
    left = counts.astype(np.int64).copy()
    comps, parts = [], []
    while left.sum() > 0:
        feasible = (shares > 0) & (smallest <= left).all(axis=1)
        if not feasible.any():
            break
        p = np.where(feasible, shares, 0.0)
        m = int(left.sum())
        comp = rng.choice(len(COMPOSITIONS), size=m, p=p / p.sum())
        need = smallest[comp].copy()
        need[:, CHILD] += grows[comp] & (rng.random(m) < spec.two_children)
        need[:, ELDER] += grand[comp] & (rng.random(m) < spec.two_grandparents)
        fits = (np.cumsum(need, axis=0) <= left).all(axis=1)
        take = m if fits.all() else int(np.argmin(fits))
        if take == 0:  # the first draw is feasible in its smallest form: cut what grows
            need[0] = np.minimum(need[0], left)
            take = 1
        comps.append(comp[:take])
        parts.append(need[:take])
        left -= need[:take].sum(axis=0)
    # adults and elders no composition can take live alone
    for role, kind in ((ADULT, "single_adult"), (ELDER, "elder_alone")):
        if left[role] > 0:
            one = np.zeros((left[role], 3), dtype=np.int64)
            one[:, role] = 1
            comps.append(np.full(left[role], COMPOSITIONS.index(kind)))
            parts.append(one)
            left[role] = 0
    comp = np.concatenate(comps) if comps else np.zeros(0, dtype=np.int64)
    members = np.concatenate(parts) if parts else np.zeros((0, 3), dtype=np.int64)
    if left[CHILD] > 0 and members[:, ADULT:].sum() == 0:  # nobody to live with
        comp = np.append(comp, _CHILDREN_ONLY)
        members = np.vstack([members, [[left[CHILD], 0, 0]]])
        left[CHILD] = 0
    return _Pool(comp.astype(np.int64), members)


def form_households(residents: Residents, spec: Households, rng: np.random.Generator) -> Residents:
    """The residents grouped into households and moved to their households' homes.

    Args:
        residents: The residents as drawn (model/city/residents.py).
        spec: The scenario's ``[households]``.
        rng: The run's generator (drawn from after the residents' own draws).

    Returns:
        The same residents (ages, groups, communities, paces unchanged) with ``household``,
        ``household_kind`` and homes (``node``, ``x``, ``y``) of their households.
    """
    n = len(residents)
    role = roles(residents.age, spec)
    pool = residents.community * len(residents.group_names) + residents.group
    key = rng.random(n)
    order = np.lexsort((key, role, pool))  # by pool, then role, members of a role in random order
    household = np.full(n, -1, dtype=np.int64)
    kinds, next_id = [], 0
    pools, starts = np.unique(pool[order], return_index=True)
    ends = np.append(starts[1:], n)
    for start, end in zip(starts, ends):
        members = order[start:end]
        by_role = [members[role[members] == r] for r in (CHILD, ADULT, ELDER)]
        drawn = _draw_pool(np.array([m.size for m in by_role]), spec, rng)
        ids = next_id + np.arange(drawn.composition.size)
        for r in (CHILD, ADULT, ELDER):
            slots = np.repeat(ids, drawn.members[:, r])
            household[by_role[r][: slots.size]] = slots
        extra = by_role[CHILD][int(drawn.members[:, CHILD].sum()) :]
        if extra.size:  # children left over join households with an adult or an elder
            hosts = ids[drawn.members[:, ADULT:].sum(axis=1) > 0]
            household[extra] = hosts[rng.integers(0, hosts.size, size=extra.size)]
        kinds.append(drawn.composition)
        next_id += drawn.composition.size
    kind = np.concatenate(kinds) if kinds else np.zeros(0, dtype=np.int64)
    first = np.full(next_id, n, dtype=np.int64)
    np.minimum.at(first, household, np.arange(n))
    renumber = np.argsort(np.argsort(first, kind="stable"), kind="stable")  # by first member
    household = renumber[household]
    kind_by_id = np.empty_like(kind)
    kind_by_id[renumber] = kind
    home = np.sort(first)[household]  # the first member of each resident's household
    return replace(
        residents,
        node=residents.node[home],
        x=residents.x[home],
        y=residents.y[home],
        household=household,
        household_kind=kind_by_id,
        household_kinds=KINDS,
    )
