"""Residents: placement, the mixing knob, ages, speeds and determinism."""

from __future__ import annotations

import numpy as np
import pytest

from model.city.grid import build_city
from model.city.residents import build_residents
from model.scenario import load_scenario
from tests.conftest import write_small


def residents_of(path, seed=0):
    scenario = load_scenario(path)
    city = build_city(scenario)
    return scenario, city, build_residents(scenario, city, np.random.default_rng(seed))


def test_counts_homes_ages_and_speeds(small_scenario):
    scenario, city, res = residents_of(small_scenario)
    assert len(res) == 800
    for ci, com in enumerate(scenario.communities):
        mine = res.community == ci
        assert mine.sum() == com.residents
        x, y, w, h = com.area
        assert ((res.x[mine] >= x) & (res.x[mine] < x + w) & (res.y[mine] >= y) & (res.y[mine] < y + h)).all()
    assert city.walkable[res.y, res.x].all()
    assert np.array_equal(res.cell, res.y * city.width + res.x)
    assert res.age.min() >= 0 and res.age.max() <= 100
    expected_speed = np.select([res.age <= 11, res.age <= 59], [55.0, 78.0], 60.0)
    assert np.array_equal(res.m_per_min, expected_speed)


def test_age_bands_follow_shares(small_scenario):
    _, _, res = residents_of(write_small(small_scenario.parent, residents=20000))
    share_old = (res.age >= 60).mean()
    # binomial standard error at n = 40000, p = 0.25 is 0.0022: 5 SE
    assert share_old == pytest.approx(0.25, abs=0.011)
    # ages fill each band: every year 0..5 appears
    assert set(range(0, 6)) <= set(res.age[res.age <= 5].tolist())


def test_community_group_shares(small_scenario):
    scenario, _, res = residents_of(write_small(small_scenario.parent, residents=10000))
    east = res.community == 1
    names = list(scenario.groups)
    assert not (res.group[east] == names.index("c")).any()  # East has no group c
    assert (res.group[east] == names.index("b")).mean() == pytest.approx(0.8, abs=0.02)


def _strip_segregation(res, community: int) -> float:
    """Share of adjacent home slots (column-major order) whose residents differ in group,
    relative to the same share expected at random: 0 = contiguous parts, about 1 = random."""
    mine = np.nonzero(res.community == community)[0]
    order = mine[np.lexsort((res.y[mine], res.x[mine]))]
    g = res.group[order]
    observed = (g[1:] != g[:-1]).mean()
    p = np.bincount(g) / g.size
    expected = 1 - (p**2).sum()
    return observed / expected


def test_mixing_zero_gives_contiguous_group_parts(tmp_path):
    _, _, res = residents_of(write_small(tmp_path, mixing=0.0, residents=600))
    for ci in (0, 1):
        mine = np.nonzero(res.community == ci)[0]
        # column-major order; residents sharing a cell (at a boundary) in group order
        order = mine[np.lexsort((res.group[mine], res.y[mine], res.x[mine]))]
        g = res.group[order]
        # each group is one run in column-major order: the number of changes is groups - 1
        assert (g[1:] != g[:-1]).sum() == np.unique(g).size - 1


def test_mixing_one_assigns_homes_regardless_of_group(tmp_path):
    _, _, res = residents_of(write_small(tmp_path, mixing=1.0, residents=3000))
    assert _strip_segregation(res, 0) == pytest.approx(1.0, abs=0.1)
    # the group is independent of the home column: chi-square test of group x column-half
    mine = res.community == 0
    left = res.x[mine] < np.median(res.x[mine])
    g = res.group[mine]
    table = np.array([[np.sum(left & (g == k)), np.sum(~left & (g == k))] for k in np.unique(g)])
    from scipy.stats import chi2_contingency

    assert chi2_contingency(table).pvalue > 0.001


def test_mixing_in_between_is_in_between(tmp_path):
    values = []
    for m in (0.0, 0.5, 1.0):
        _, _, res = residents_of(write_small(tmp_path, mixing=m, residents=3000))
        values.append(_strip_segregation(res, 0))
    assert values[0] < values[1] < values[2]


def test_same_seed_same_residents_other_seed_differs(small_scenario):
    _, _, a = residents_of(small_scenario, seed=7)
    _, _, b = residents_of(small_scenario, seed=7)
    _, _, c = residents_of(small_scenario, seed=8)
    assert a.frame().equals(b.frame())
    assert not a.frame().equals(c.frame())
