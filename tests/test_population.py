"""Residents: placement, the mixing knob, ages (the census table), speeds (pace within a band) and determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chisquare, kstest, truncnorm

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
    assert np.array_equal(res.node, res.y * city.width + res.x)
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


# --------------------------------------------------------------------------- the census age structure

# Inner Mongolia, 7th national census (1 November 2020), residents by ten-year age band (China NBS;
# docs/sources.md#inner-mongolia-census): written here again, independently of the scenario file.
CENSUS = {
    (0, 9): 2_239_721,
    (10, 19): 2_143_219,
    (20, 29): 2_514_097,
    (30, 39): 3_966_350,
    (40, 49): 4_100_569,
    (50, 59): 4_327_966,
    (60, 69): 2_942_578,
    (70, 79): 1_267_438,
    (80, 89): 492_510,
    (90, 100): 54_707,
}
CENSUS_TOTAL = 24_049_155


def census_share(lo: int, hi: int) -> float:
    """Share of ages lo..hi under the census table, ages uniform within each band (the stated rule)."""
    total = 0.0
    for (a, b), count in CENSUS.items():
        overlap = max(0, min(hi, b) - max(lo, a) + 1)
        total += count * overlap / (b - a + 1)
    return total / CENSUS_TOTAL


def test_the_inner_mongolian_scenarios_carry_the_census_table():
    assert sum(CENSUS.values()) == CENSUS_TOTAL
    assert census_share(60, 100) == pytest.approx(0.1978, abs=5e-5)  # "60 and over 19.78%", as published
    for name in ("demo", "huimin_block", "wuhai_life_circle", "wuhai_city", "qingshan_city"):
        ages = load_scenario(name).ages
        assert {(b.lo, b.hi) for b in ages} == set(CENSUS), name
        for band, share in ages.items():
            assert share == pytest.approx(CENSUS[(band.lo, band.hi)] / CENSUS_TOTAL, abs=1e-7), (name, band)


@pytest.fixture(scope="module")
def circle_residents():
    scenario = load_scenario("wuhai_life_circle")
    return build_residents(scenario, build_city(scenario), np.random.default_rng(12))


@pytest.mark.parametrize(
    ("lo", "hi"),
    [(0, 2), (3, 5), (6, 11), (12, 14), (15, 17), (18, 59), (60, 100), (80, 100)],
    ids=["nursery", "kindergarten", "primary", "junior-middle", "senior-high", "adults", "elders", "80+"],
)
def test_life_stages_come_out_of_the_census_bands(circle_residents, lo, hi):
    """Each life stage's share of 40,000 drawn residents is within 5 binomial standard errors of
    the census share (uniform within the ten-year bands)."""
    age = circle_residents.age
    p = census_share(lo, hi)
    got = float(((age >= lo) & (age <= hi)).mean())
    assert got == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / age.size))


def test_ages_are_uniform_within_a_census_band(circle_residents):
    for lo, hi in [(0, 9), (10, 19), (60, 69)]:
        age = circle_residents.age
        counts = np.bincount(age[(age >= lo) & (age <= hi)] - lo, minlength=hi - lo + 1)
        assert chisquare(counts).pvalue > 0.001, (lo, hi, counts)


# --------------------------------------------------------------------------- pace within a band

PACE = """
[walking]
m_per_min = {{ "0-11" = 55.0, "12-59" = 78.0, "60-79" = 60.0, "80-100" = 45.0 }}
pace_cv = {cv}
pace_limits = [0.6, 1.4]
reduced_mobility = {{ "80-100" = 0.2 }}
reduced_pace = 0.5
"""
SMALL_WALKING = '[walking]\nm_per_min = { "0-11" = 55.0, "12-59" = 78.0, "60-100" = 60.0 }\n'


def paced(tmp_path, cv=0.15, residents=10_000):
    path = write_small(tmp_path, residents=residents)
    text = path.read_text(encoding="utf-8")
    assert text.count(SMALL_WALKING) == 1
    path.write_text(text.replace(SMALL_WALKING, PACE.format(cv=cv)), encoding="utf-8")
    return residents_of(path, seed=5)


def band_mean(age):
    return np.select([age <= 11, age <= 59, age <= 79], [55.0, 78.0, 60.0], 45.0)


def test_pace_is_a_truncated_normal_around_the_band_mean(tmp_path):
    """Below 80 nobody has reduced mobility: pace / band mean follows the normal distribution of
    mean 1 and sd 0.15 truncated to [0.6, 1.4] (scipy's truncnorm, a reference independent of the
    model's inverse-CDF draw): a Kolmogorov-Smirnov test at level 0.001, and its moments."""
    _, _, res = paced(tmp_path)
    factor = res.m_per_min / band_mean(res.age)
    young = factor[res.age < 80]
    assert young.min() >= 0.6 and young.max() <= 1.4
    law = truncnorm((0.6 - 1) / 0.15, (1.4 - 1) / 0.15, loc=1.0, scale=0.15)
    assert kstest(young, law.cdf).pvalue > 0.001
    se = law.std() / math.sqrt(young.size)
    assert young.mean() == pytest.approx(1.0, abs=5 * se)  # symmetric limits keep the band's mean
    assert young.std() == pytest.approx(law.std(), rel=0.05)


def test_a_share_of_the_oldest_walks_at_reduced_pace(tmp_path):
    """From 80 on, a fifth walks at half the drawn pace: the factor's law is the mixture
    0.8 T(x) + 0.2 T(2x) of the truncated normal T above (KS test at level 0.001); factors
    below 0.6 can only be reduced ones, and their share is that of the reduced whose halved
    factor is below 0.6, 0.2 P(T < 1.2), within 5 binomial standard errors."""
    _, _, res = paced(tmp_path)
    old = res.age >= 80
    assert old.sum() > 1500
    factor = res.m_per_min[old] / 45.0
    law = truncnorm((0.6 - 1) / 0.15, (1.4 - 1) / 0.15, loc=1.0, scale=0.15)
    assert kstest(factor, lambda x: 0.8 * law.cdf(x) + 0.2 * law.cdf(2 * x)).pvalue > 0.001
    p = 0.2 * law.cdf(1.2)
    slow = float((factor < 0.6).mean())
    assert slow == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / factor.size))
    assert factor.min() >= 0.3 and factor.max() <= 1.4


def test_no_variation_gives_every_resident_the_band_mean_but_reduced_mobility_still_applies(tmp_path):
    _, _, res = paced(tmp_path, cv=0.0, residents=3000)
    factor = res.m_per_min / band_mean(res.age)
    assert set(np.unique(factor[res.age < 80])) == {1.0}
    assert set(np.unique(factor[res.age >= 80])) <= {0.5, 1.0}


def test_the_pace_draws_are_repeatable(tmp_path):
    _, _, a = paced(tmp_path, residents=2000)
    _, _, b = paced(tmp_path, residents=2000)
    assert np.array_equal(a.m_per_min, b.m_per_min)


def test_nobody_is_faster_than_the_scenario_says(tmp_path):
    """The reach of destination choice is cut-off x the fastest pace (Scenario.fastest_m_per_min)."""
    scenario, _, res = paced(tmp_path)
    assert res.m_per_min.max() <= scenario.fastest_m_per_min == pytest.approx(78.0 * 1.4)
