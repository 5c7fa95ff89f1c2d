"""The static baseline (model/measures/static.py, docs/static.md): known answers by hand on tiny
streets, a brute-force loop over the demo's residents, and the demo's agent-model figures beside it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.measures import activity, segregation, static
from model.model import LifeCircleModel
from model.simulation import rules
from tests.conftest import facility, ftype, write_tiny

BETA = 0.2
VISIT_MIN = 10
PARK_OPEN_MIN = 22 * 60 - 6 * 60  # the catalogue's park: 06:00-22:00


def _home(x: int, residents: int, group: str, name: str) -> str:
    return (
        f'[[communities]]\nname = "{name}"\narea = [{x}, 0, 1, 1]\nresidents = {residents}\n'
        f"groups = {{ {group} = 1.0 }}\n"
    )


def _street(tmp_path, width, homes, parks, beta, simulation='day_start = "07:00"\nday_end = "10:00"', groups=None):
    """One row of cells, 50 m each, everyone at 50 m/min (1 cell a minute): homes and parks on it."""
    return write_tiny(
        tmp_path,
        width=width,
        height=1,
        speeds='{ "0-100" = 50.0 }',
        groups=groups or "{ a = 0.75, b = 0.25 }",
        simulation=simulation,
        communities="\n".join(_home(x, n, g, f"home{k}") for k, (x, n, g) in enumerate(homes)),
        facilities="\n".join(facility("park", x, 0, capacity=1) for x in parks),
        types=ftype("park", daily_prob=1.0, depart=["07:30", "08:30"], visit_min=VISIT_MIN, beta_per_min=beta),
    )


def _context(path, days=1):
    return LifeCircleModel(path, seed=1, days=days).context


def test_two_homes_two_parks_by_hand(tmp_path):
    """Three residents of group a live 2 and 5 minutes from parks 0 and 1, one of group b 5 and 2
    minutes from them. With beta 0.2 each goes to its near park with p = 1 / (1 + e^-0.6) and to
    the far one with q = 1 - p, once a day, for 10 minutes; capacity (1 place) is ignored."""
    path = _street(tmp_path, 8, [(2, 3, "a"), (5, 1, "b")], [0, 7], BETA)
    ctx = _context(path)
    a_first = ctx.population.group_names.index("a") == 0
    assert a_first and (ctx.population.group == np.array([0, 0, 0, 1])).all()
    p = math.exp(-2 * BETA) / (math.exp(-2 * BETA) + math.exp(-5 * BETA))
    q = 1 - p
    alloc = static.allocate(ctx)
    # expected visits: park 0 gets 3p of a and q of b, park 1 3q of a and p of b
    assert np.allclose(alloc.visits, [[3 * p, q], [3 * q, p]], rtol=1e-12)
    assert np.allclose(alloc.person_min, VISIT_MIN * np.array([[3 * p, q], [3 * q, p]]), rtol=1e-12)
    # an a-resident meets, besides itself, 2p a and q b at park 0 and 2q a and p b at park 1
    e_ab = p * q / (2 * p + q) + q * p / (2 * q + p)
    out = static.static_baseline(ctx)
    mix = out["mixing"]["activity"]
    assert mix["exposure_matrix"]["a"]["b"] == pytest.approx(e_ab, rel=1e-12)
    assert mix["exposure_matrix"]["a"]["a"] == pytest.approx(1 - e_ab, rel=1e-12)
    assert mix["exposure_matrix"]["b"] == pytest.approx({"a": 1.0, "b": 0.0}, abs=1e-12)  # b meets only a
    assert mix["exposure"] == pytest.approx({"a": e_ab, "b": 1.0}, rel=1e-12)
    assert mix["relative_exposure"] == pytest.approx({"a": e_ab / 0.25, "b": 1.0 / 0.75}, rel=1e-12)
    # isolation: a meets a 1 - e_ab, b meets a always; b meets b never, a meets b e_ab
    assert mix["experienced_isolation"] == pytest.approx({"a": -e_ab, "b": -e_ab}, rel=1e-12)
    # person-minutes table [[3p, q], [3q, p]]: pi = (3/4, 1/4), I = 3/8, so D = |p - q|
    assert mix["multigroup_dissimilarity"] == pytest.approx(abs(p - q), rel=1e-12)
    assert mix["coverage"] == 1.0 and mix["coverage_by_group"] == {"a": 1.0, "b": 1.0}
    # spread over the park's 960 opening minutes: sum over parks and groups of m_g (m - m_g) / 960
    cross = 2 * (30 * p * 10 * q) + 2 * (30 * q * 10 * p)
    assert mix["cross_group_person_minutes_per_resident_day"] == pytest.approx(cross / PARK_OPEN_MIN / 4, rel=1e-12)
    use = out["usage"]["park"]
    assert use["visits"] == pytest.approx(4.0) and use["unmet_share"] == 0.0
    assert use["mean_walk_min"] == pytest.approx(2 * p + 5 * q, rel=1e-12)
    assert use["visits_per_place"] == pytest.approx(2.0) and use["visits_per_place_max"] == pytest.approx(3 * p + q)
    assert use["load"] == pytest.approx(40 / (2 * PARK_OPEN_MIN))
    # the catchment: park 0's users are 3p a and q b
    catchment = out["catchment"]["park"]
    assert catchment["share"] == pytest.approx({"a": 0.75, "b": 0.25})
    assert catchment["multigroup_dissimilarity"] == pytest.approx(abs(p - q), rel=1e-12)
    frame = static.static_facilities(ctx)
    assert np.allclose(frame["static_share_a"], [3 * p / (3 * p + q), 3 * q / (3 * q + p)], rtol=1e-12)
    assert np.allclose(frame["static_visits"], [3 * p + q, 3 * q + p], rtol=1e-12)


def test_nearest_choice_gives_every_visit_to_the_nearest(tmp_path):
    """beta = inf: homes 2, 4 and 6 cells from park 0 on a street with parks at 0 and 8. The middle
    home is as far from both: its visits go to the lower id, as the simulation's ranking does."""
    path = _street(tmp_path, 9, [(2, 2, "a"), (4, 3, "a"), (6, 5, "b")], [0, 8], math.inf)
    ctx = _context(path, days=3)
    alloc = static.allocate(ctx)
    assert (alloc.visits == np.array([[3 * (2 + 3), 0], [0, 3 * 5]])).all()
    use = static.static_baseline(ctx)["usage"]["park"]
    assert use["visits"] == 10.0 and use["mean_walk_min"] == pytest.approx(2.0 * 0.2 + 4.0 * 0.3 + 2.0 * 0.5)


def test_the_cut_off_leaves_far_parks_out_and_nothing_in_reach_unmet(tmp_path):
    """cutoff 4 minutes: from a home 2 and 5 minutes from the parks only the near park is usable
    (all its visits there, whatever beta); a home 6 minutes from both reaches none (unmet)."""
    sim = 'day_start = "07:00"\nday_end = "10:00"\ncutoff_min = 4.0'
    path = _street(tmp_path, 13, [(2, 3, "a"), (6, 1, "b")], [0, 12], BETA, simulation=sim)
    ctx = _context(path)
    alloc = static.allocate(ctx)
    assert np.allclose(alloc.visits, [[3.0, 0.0], [0.0, 0.0]])
    out = static.static_baseline(ctx)
    assert out["usage"]["park"]["unmet_share"] == pytest.approx(0.25)
    assert out["mixing"]["activity"]["coverage_by_group"] == {"a": 1.0, "b": 0.0}


def test_weighted_isolation_with_unit_weights_is_the_summary_formula():
    rng = np.random.default_rng(5)
    e = rng.dirichlet(np.ones(3), size=200)
    group = rng.integers(0, 3, size=200)
    expected = activity.experienced_isolation(e, group, 3)
    assert np.allclose(static.weighted_isolation(e, group, np.ones(200), 3), expected, rtol=1e-12)
    # and a weight of 0 is leaving the resident out
    w = (rng.random(200) < 0.5).astype(float)
    keep = w > 0
    assert np.allclose(
        static.weighted_isolation(e, group, w, 3), activity.experienced_isolation(e[keep], group[keep], 3), rtol=1e-12
    )


@pytest.fixture(scope="module")
def demo():
    """The demo run of seed 1, one day, on the fast engine."""
    model = LifeCircleModel("demo", seed=1, days=1)
    model.run()
    return model


def _brute_force(ctx):
    """The allocation resident by resident in plain Python: visits and person-minutes per facility
    and group, each resident's expected visits and the probability it goes out at all."""
    res, types, clock = ctx.population, ctx.types, ctx.clock
    cutoff = ctx.spec.simulation.cutoff_min
    n_f, n_g = len(ctx.city.facilities), ctx.n_groups
    visits = np.zeros((n_f, n_g))
    per_resident = []
    present = np.zeros(len(res))
    days = [
        sum(bool(rules.wanted_today(types, clock.is_weekend(d))[t]) for d in range(ctx.days)) for t in range(len(types))
    ]
    # the walk limit of every departure minute of every window, minute by minute
    limits, sizes = {}, {}
    for w, t in enumerate(types.window_type):
        departs = range(types.window_lo[w], types.window_hi[w] + 1)
        limits[w], sizes[w] = {}, len(departs)
        for m in departs:
            limit = float(rules.walk_limit_min(clock, clock.tick_at(0, m), cutoff, types, t))
            limits[w][limit] = limits[w].get(limit, 0) + 1
    for r in range(len(res)):
        mine: dict[int, float] = {}
        none = 1.0
        for t in range(len(types)):
            if not types.age_lo[t] <= res.age[r] <= types.age_hi[t]:
                continue
            k = ctx.enrolment.column[t]
            if k >= 0 and not ctx.enrolment.applied[r, k]:
                continue  # a type with enrolment is wanted only by the children who sought a place
            ids, metres = ctx.reach.candidates(ctx.origin_of[r], t)
            minutes = metres / res.m_per_min[r]
            for w in types.windows_of(t):
                reached = 0.0
                for limit, count in limits[w].items():
                    ok = minutes <= limit
                    if not ok.any():
                        continue
                    reached += count / sizes[w]
                    if math.isinf(types.beta_per_min[t]):
                        best = min(zip(minutes[ok], ids[ok], strict=True))[1]
                        shares = {int(best): 1.0}
                    else:
                        weight = np.exp(-types.beta_per_min[t] * minutes[ok])
                        shares = dict(zip(ids[ok].tolist(), weight / weight.sum(), strict=True))
                    for f, s in shares.items():
                        v = days[t] * types.daily_prob[t] * s * count / sizes[w]
                        mine[f] = mine.get(f, 0.0) + v
                        visits[f, res.group[r]] += v
                none *= (1 - types.daily_prob[t] * reached) ** days[t]
        per_resident.append(mine)
        present[r] = 1 - none
    return visits, per_resident, present


def _brute_exposure(ctx, per_resident, minutes):
    """Every resident's e_rh by its definition: its expected minutes at each facility, the others' shares there."""
    res = ctx.population
    visit_min = ctx.types.visit_min[ctx.facility_type]
    e = np.full((len(res), ctx.n_groups), np.nan)
    for r, mine in enumerate(per_resident):
        total, share = 0.0, np.zeros(ctx.n_groups)
        for f, v in mine.items():
            own = v * visit_min[f]
            others = minutes[f].sum() - own
            if others <= 1e-9 * minutes[f].sum():
                continue
            total += own
            of_h = minutes[f].copy()
            of_h[res.group[r]] -= own
            share += own * np.maximum(of_h, 0) / others
        if total > 0:
            e[r] = share / total
    return e


def test_the_demo_against_a_brute_force_loop_over_residents(demo):
    ctx = demo.context
    visits, per_resident, present = _brute_force(ctx)
    alloc = static.allocate(ctx)
    assert np.allclose(alloc.visits, visits, rtol=1e-9, atol=1e-12)
    assert np.allclose(alloc.present, present, rtol=1e-9, atol=1e-12)
    visit_min = ctx.types.visit_min[ctx.facility_type]
    minutes = visits * visit_min[:, None]
    assert np.allclose(alloc.person_min, minutes, rtol=1e-9)
    # every resident's company, then the group figures by their definitions
    res = ctx.population
    n_g = ctx.n_groups
    e = _brute_exposure(ctx, per_resident, minutes)
    assert np.allclose(alloc.exposure, e, rtol=1e-9, equal_nan=True)
    had = ~np.isnan(e[:, 0])
    mix = static.static_baseline(ctx)["mixing"]["activity"]
    shares = np.bincount(res.group, minlength=n_g) / len(res)
    for g, name in enumerate(res.group_names):
        mine = had & (res.group == g)
        out_group = [h for h in range(n_g) if h != g]
        exposure = (present[mine] * e[mine][:, out_group].sum(axis=1)).sum() / present[mine].sum()
        assert mix["exposure"][name] == pytest.approx(exposure, rel=1e-9)
        assert mix["relative_exposure"][name] == pytest.approx(exposure / (1 - shares[g]), rel=1e-9)
        rest = had & (res.group != g)
        isolation = (present[mine] * e[mine, g]).sum() / present[mine].sum() - (
            present[rest] * e[rest, g]
        ).sum() / present[rest].sum()
        assert mix["experienced_isolation"][name] == pytest.approx(isolation, rel=1e-9, abs=1e-12)
    assert mix["multigroup_dissimilarity"] == pytest.approx(
        segregation.multigroup_dissimilarity(minutes[minutes.sum(axis=1) > 0]), rel=1e-9
    )
    assert mix["coverage"] == pytest.approx(present.mean(), rel=1e-9)


def test_the_demo_static_figures_are_close_to_the_agent_models_but_not_equal(demo):
    """On the demo (3,000 residents, one day) the static mixing figures come within a few hundredths
    of the agent model's (differences seen with seed 1: exposure 0.005-0.014, relative exposure up to
    0.051 for the Han, whose 1 - pi is 0.10, isolation under 0.007, dissimilarity of person-minutes
    0.039); none is the same number."""
    agent = demo.summary()["mixing"]["activity"]
    mix = static.static_baseline(demo.context)["mixing"]["activity"]
    tolerance = {"exposure": 0.03, "relative_exposure": 0.08, "experienced_isolation": 0.02}
    for key, tol in tolerance.items():
        for g, value in agent[key].items():
            assert abs(mix[key][g] - value) < tol, (key, g, mix[key][g], value)
            assert mix[key][g] != value
    assert abs(mix["multigroup_dissimilarity"] - agent["multigroup_dissimilarity"]) < 0.06
    assert mix["multigroup_dissimilarity"] != agent["multigroup_dissimilarity"]
    assert abs(mix["coverage"] - agent["coverage"]) < 0.03


def test_differences_pair_the_summary_and_the_baseline_by_path(demo):
    from model.measures.summary import flatten

    agent = flatten(demo.summary())
    baseline = flatten(static.static_baseline(demo.context))
    diff = static.differences(agent, baseline)
    key = "mixing.activity.exposure.mongol"
    assert diff[key] == agent[key] - baseline[key]
    assert diff["usage.park.visits"] == agent["usage.park.visits"] - baseline["usage.park.visits"]
    assert "usage.park.load" not in diff and "catchment.park.share.han" not in diff  # static only
    assert set(diff) == {k for k in baseline if k in agent}
    assert math.isnan(static.differences({"a": None}, {"a": 1.0})["a"])


def test_the_same_city_gives_the_same_figures(demo):
    first = static.static_baseline(demo.context)
    static._ALLOCATIONS.clear()
    again = static.static_baseline(demo.context)
    assert first == again
    assert static.static_baseline(demo.context) is not first  # a fresh dict each call


@pytest.mark.parametrize("beta", [BETA, math.inf])
def test_limits_by_departure_minute_and_outlets_sharing_a_cell_against_brute_force(tmp_path, beta):
    """The day ends at 08:50, so a trip leaving late in the 07:30-08:30 window must be short (a
    departure at 08:30 has 20 minutes for the walk there, 10 minutes of visit and the walk back):
    the walk limit changes with the departure minute, and each minute's limit has its own usable
    parks. Two parks share cell 0 (equal metres: one class, ties by the lower id at beta = inf).
    The allocation, who goes out and the exposure match the brute-force loop over residents,
    windows and departure minutes."""
    sim = 'day_start = "07:00"\nday_end = "08:50"'
    path = write_tiny(
        tmp_path,
        width=14,
        height=1,
        speeds='{ "0-100" = 50.0 }',
        groups="{ a = 0.6, b = 0.4 }",
        simulation=sim,
        communities="\n".join(
            _home(x, n, g, f"home{k}") for k, (x, n, g) in enumerate([(3, 3, "a"), (6, 2, "b"), (9, 2, "a")])
        ),
        facilities="\n".join(facility("park", x, 0, capacity=1) for x in (0, 0, 7, 13)),
        types=ftype("park", daily_prob=0.7, depart=["07:30", "08:30"], visit_min=VISIT_MIN, beta_per_min=beta),
    )
    ctx = _context(path, days=2)
    plan = static.departures(ctx)
    assert np.unique(plan.limit_min).size > 2  # the limit does change with the minute
    visits, per_resident, present = _brute_force(ctx)
    alloc = static.allocate(ctx)
    assert np.allclose(alloc.visits, visits, rtol=1e-12, atol=1e-15)
    assert np.allclose(alloc.present, present, rtol=1e-12)
    minutes = visits * ctx.types.visit_min[ctx.facility_type][:, None]
    assert np.allclose(alloc.exposure, _brute_exposure(ctx, per_resident, minutes), rtol=1e-12, equal_nan=True)
    if math.isinf(beta):  # the two parks of cell 0 are as near: the lower id takes every visit
        assert alloc.visits[1].sum() == 0.0 and alloc.visits[0].sum() > 0.0


def test_summary_json_holds_the_static_block_and_facilities_csv_the_expected_use(demo, tmp_path):
    """summary.json's ``static`` block is the baseline recomputed on a fresh allocation (null for NaN),
    its visits per type and facilities.csv's ``static_visits`` are the brute-force loop's."""
    import json

    import pandas as pd

    from model.measures.summary import flatten
    from model.report.results import write_results

    write_results(demo, tmp_path, {})
    block = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))["static"]
    ctx = demo.context
    static._ALLOCATIONS.clear()
    assert flatten(block) == flatten(static.static_baseline(ctx, demo.summary()["access"]))
    visits, _, _ = _brute_force(ctx)
    per_facility = visits.sum(axis=1)
    for t, name in enumerate(ctx.city.types):
        assert block["usage"][name]["visits"] == pytest.approx(per_facility[ctx.facility_type == t].sum() / ctx.days)
        for key in static.SFCA_KEYS:  # 2SFCA is static already: the summary's own figure
            assert block["access"][name][key] == demo.summary()["access"][name][key]
    facilities = pd.read_csv(tmp_path / "facilities.csv")
    days = static.departures(ctx).days_wanted[ctx.facility_type]
    assert np.allclose(facilities["static_visits"], per_facility / np.maximum(days, 1), rtol=1e-9)
    shares = facilities[[f"static_share_{g}" for g in ctx.population.group_names]].to_numpy()
    used = per_facility > 0
    assert np.allclose(shares[used], visits[used] / per_facility[used, None], rtol=1e-9)
    assert np.isnan(shares[~used]).all()


def test_twins_pair_each_figure_with_its_static_twin_and_the_difference():
    flat = {
        "usage.park.visits": 10.0,
        "static.usage.park.visits": 7.5,
        "usage.park.turned_away": 3.0,  # no twin
        "static.usage.park.load": 0.2,  # static only
        "mixing.activity.exposure.a": None,
        "static.mixing.activity.exposure.a": 0.3,
        "access.park.sfca_mean": 0.25,
        "static.access.park.sfca_mean": 0.25,
    }
    assert static.twins(flat) == {
        "usage.park.visits": (10.0, 7.5, 2.5),
        "mixing.activity.exposure.a": (None, 0.3, None),
        "access.park.sfca_mean": (0.25, 0.25, 0.0),
    }
