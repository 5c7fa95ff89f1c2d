"""Households and escorts (docs/behaviour.md, "Households and escorts"; docs/metrics.md, "Households").

1. Hand-worked escorts on a one-street grid, on both engines: a grandparent of 70 (40 m/min) and
   a child of 4 (60 m/min) living together; the pair's walk at the slower pace, the carer's trip
   chain from the kindergarten to the market, the pick-up in time for the child's leaving, an own
   visit given up when it cannot fit before the pick-up, a child who stays home without a carer.
2. Household formation against brute force: every child lives with an adult or an elder, every
   household in one home, ages, groups and communities those drawn without households, the
   compositions' shares within sampling error of the table.
3. The summary's ``households`` recomputed from residents.csv and visits.csv.
4. Bad input: compositions that do not sum to 1, an escort age above the carers' minimum age.
5. ``[households] on = false`` draws exactly what a run without households draws.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import binomtest

from model.city.households import CHILD, roles
from model.city.residents import build_residents
from model.model import LifeCircleModel
from model.scenario import load_scenario
from model.simulation.rules import State
from tests.conftest import ROOT, community, facility, ftype, read_exact_csv, visits_of, write_small, write_tiny


@pytest.fixture(params=["agents", "fast"])
def engine(request):
    """Both engines."""
    return request.param


# --------------------------------------------------------------------------- (1) by hand

# One street of 20 cells of 50 m; home at x = 0, the market at x = 4 (200 m), the kindergarten at
# x = 10 (500 m from home, 300 m from the market). Day 07:00-12:00, one tick a minute: 08:00 is
# tick 60. The child leaves for the kindergarten at 08:00 with its grandparent: the pair walks at
# 40 m/min (the grandparent's, slower than the child's 60), 500 / 40 = 12.5 min -> 13 ticks,
# arriving in tick 73 (alone the child would arrive in tick 69: 500 / 60 = 8.3 -> 9 ticks).
# Admitted in tick 73, the child leaves after 120 min, in tick 193. The grandparent's own walk
# from home is 13 ticks: it sets off to fetch the child in tick 193 - 13 = 180, and walks home
# first (73 + 1 + 13 = 87 <= 180). Its market visit was due at 08:10 (tick 70), by the time it
# would be home (tick 87): it goes on from the kindergarten, 300 / 40 = 7.5 min -> 8 ticks, from
# tick 74 to tick 82, visits 30 min (82 -> 112) and walks home 200 / 40 = 5 ticks (tick 117 <= 180).
# The pair walks home from tick 193 to 206. Escort minutes: 74 - 60 (taking the child there, until
# setting off for the market) + 206 - 180 (fetching it) = 14 + 26 = 40.
DEPART_TICK, PAIR_ARRIVE, CHILD_LEAVE, PICKUP, PAIR_HOME = 60, 73, 193, 180, 206


def escort_street(
    tmp_path,
    market_visit_min=30,
    elder_park=False,
    households="",
    close="17:00",
    visit_min=120,
    ages='{ "4-4" = 0.5, "70-70" = 0.5 }',
    residents=2,
    capacity=10,
):
    """The one-street scenario of a grandparent and a child; the seed's draw gives ages 4 and 70 (checked)."""
    types = ftype(
        "kindergarten",
        ages=[3, 5],
        daily_prob=1.0,
        weekdays_only=False,
        depart=["08:00", "08:00"],
        visit_min=visit_min,
        open="07:00",
        close=close,
        capacity=capacity,
        beta_per_min=float("inf"),
        patience_min=0,
        escort_below_age=6,
        enrolment="none",  # places competed for each morning: the turn-away is what some tests need
    )
    types += ftype(
        "market",
        ages=[18, 100],
        daily_prob=1.0,
        depart=["08:10", "08:10"],
        visit_min=market_visit_min,
        open="07:00",
        close="12:00",
        capacity=10,
        beta_per_min=float("inf"),
    )
    facilities = facility("market", 4, 0) + facility("kindergarten", 10, 0)
    if elder_park:  # the grandparent is out at the park from 07:50 to 08:50
        types += ftype(
            "park", ages=[60, 100], daily_prob=1.0, depart=["07:50", "07:50"], visit_min=60, beta_per_min=float("inf")
        )
        facilities += facility("park", 2, 0)
    path = write_tiny(
        tmp_path,
        width=20,
        height=1,
        communities=community(0, 0, residents),
        facilities=facilities,
        types=types,
        ages=ages,
        speeds='{ "0-17" = 60.0, "18-100" = 40.0 }',
        simulation='day_start = "07:00"\nday_end = "12:00"',
    )
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"[households]\n{households or 'compositions = { elder_alone = 1.0 }'}\n")
    return path


def grandparent_and_child(path, engine):
    """The model of the first seed whose two residents are aged 4 and 70 (one household), and their ids."""
    for seed in range(1, 40):
        model = LifeCircleModel(path, seed=seed, days=1, engine=engine)
        if sorted(model.population.age) == [4, 70]:
            child = int(np.flatnonzero(model.population.age == 4)[0])
            assert model.population.household[0] == model.population.household[1]
            return model, child, 1 - child
    raise AssertionError("no seed gives one child and one grandparent")


def run_states(model):
    """Step to the end; every resident's state after each tick."""
    states = []
    while model.running:
        model.step()
        states.append(model.resident_states().copy())
    return np.array(states)


@pytest.mark.parametrize(
    ("close", "leave"),
    [
        ("17:00", CHILD_LEAVE),  # after the visit's 120 minutes
        ("10:00", 180),  # at closing (10:00 is tick 180): the carer sets off in 180 - 13 = 167
    ],
)
def test_the_pair_walks_at_the_slower_pace_and_the_carer_chains_to_the_market(tmp_path, engine, close, leave):
    model, child, carer = grandparent_and_child(escort_street(tmp_path, close=close), engine)
    states = run_states(model)
    pickup, pair_home = leave - 13, leave + 13
    v = visits_of(model)
    kid = v["resident"] == child
    assert list(v["type"][kid]) == [model.type_index["kindergarten"]]
    assert v["arrive_min"][kid][0] == PAIR_ARRIVE and v["leave_min"][kid][0] == leave
    assert v["walk_min"][kid][0] == pytest.approx(500 / 40)  # at the pair's pace
    assert v["escorted_by"][kid][0] == carer and v["chain"][kid][0] == 1
    mine = v["resident"] == carer
    assert list(v["type"][mine]) == [model.type_index["market"]]
    assert v["arrive_min"][mine][0] == 82 and v["leave_min"][mine][0] == 112
    assert v["walk_min"][mine][0] == pytest.approx(300 / 40)  # the leg from the kindergarten
    assert v["chain"][mine][0] == 2 and v["escorted_by"][mine][0] == -1
    # the carer walks with the child (ticks 60..72), is in the market's queue or inside, home by
    # 117, sets off at 180 (167), waits for nobody (arrives as the child leaves), home at 206 (193)
    c = states[:, carer]
    assert (c[DEPART_TICK:PAIR_ARRIVE] == State.WALKING).all()
    assert c[PAIR_ARRIVE] == State.WALKING  # the child admitted at the end of tick 73: the carer set off
    assert (c[82:112] == State.VISITING).all()
    assert (c[117:pickup] == State.HOME).all()
    assert (c[pickup:pair_home] == State.WALKING).all()
    assert (c[pair_home:] == State.HOME).all()
    k = states[:, child]
    assert (k[PAIR_ARRIVE:leave] == State.VISITING).all() and (k[pair_home:] == State.HOME).all()
    totals = model.escort_totals()
    assert totals["escort_min"][carer] == 14 + 26 and totals["escort_min"][child] == 0
    assert totals["given_up_escort"].sum() == 0 and totals["no_escort"].sum() == 0
    assert model.unmet_counts().sum() == 0


def test_a_carer_without_time_to_go_home_stays_at_the_facility(tmp_path, engine):
    # a visit of 20 min: admitted in 73, the child leaves in 93; home and back would take
    # 74 + 13 = 87 > 93 - 13 = 80: the carer stays (ESCORTING) until 93; home at 106; its market
    # visit, due since 08:10, starts in the tick after (107), from home (chain 1)
    model, child, carer = grandparent_and_child(escort_street(tmp_path, visit_min=20), engine)
    states = run_states(model)
    assert (states[PAIR_ARRIVE:93, carer] == State.ESCORTING).all()
    assert (states[93:106, carer] == State.WALKING).all() and states[106, carer] == State.HOME
    v = visits_of(model)
    mine = v["resident"] == carer
    assert v["arrive_min"][mine][0] == 107 + 5 and v["chain"][mine][0] == 1
    assert model.escort_totals()["escort_min"][carer] == 106 - 60


def test_a_child_turned_away_walks_home_with_its_carer(tmp_path, engine):
    # two parents of 40 (40 m/min) and two children of 4 in one household; both children leave at
    # 08:00 with a parent each, arrive in tick 73 at a kindergarten with one place and no patience:
    # one is admitted, the other turned away at the end of tick 73 and walks home with its
    # parent from tick 74 at the pair's pace: home in tick 87
    path = escort_street(
        tmp_path,
        ages='{ "4-4" = 0.5, "40-40" = 0.5 }',
        residents=4,
        capacity=1,
        households="compositions = { couple_with_children = 1.0 }\ntwo_children = 1.0",
    )
    for seed in range(1, 60):
        model = LifeCircleModel(path, seed=seed, days=1, engine=engine)
        if sorted(model.population.age) == [4, 4, 40, 40]:
            break
    assert np.unique(model.population.household).size == 1
    states = run_states(model)
    v = visits_of(model)
    kg = model.type_index["kindergarten"]
    served = v["resident"][v["type"] == kg]
    assert served.size == 1
    kids = np.flatnonzero(model.population.age == 4)
    away = int(kids[kids != served[0]][0])
    assert model.unmet_counts()[away, kg] == 1
    assert (states[74:87, away] == State.WALKING).all() and states[87, away] == State.HOME
    parents = np.flatnonzero(model.population.age == 40)
    with_it = [p for p in parents if (states[74:87, p] == State.WALKING).all() and states[87, p] == State.HOME]
    assert with_it and model.escort_totals()["escort_min"][parents].min() > 0
    assert v["escorted_by"][v["type"] == kg][0] in parents


def test_an_own_visit_that_cannot_fit_before_the_pick_up_is_given_up(tmp_path, engine):
    # a market visit of 120 min: from the kindergarten 74 + 8 + 120 + 5 = 207 > 180, no chain;
    # home at 74 + 13 = 87, the visit due since tick 70 is looked at in tick 88: even the walk of
    # 5 ticks there and back with 120 min inside ends after 180, while without the pick-up it
    # would fit: given up for escorting, and unmet
    model, child, carer = grandparent_and_child(escort_street(tmp_path, market_visit_min=120), engine)
    states = run_states(model)
    assert (states[87:PICKUP, carer] == State.HOME).all()
    v = visits_of(model)
    assert list(v["resident"]) == [child]
    totals = model.escort_totals()
    assert totals["given_up_escort"][carer] == 1
    assert model.unmet_counts()[carer, model.type_index["market"]] == 1
    assert totals["escort_min"][carer] == (87 - 60) + (PAIR_HOME - PICKUP)


def test_a_child_without_a_carer_at_home_stays_home(tmp_path, engine):
    model, child, carer = grandparent_and_child(escort_street(tmp_path, elder_park=True), engine)
    run_states(model)
    v = visits_of(model)
    assert model.type_index["kindergarten"] not in set(v["type"])
    assert model.escort_totals()["no_escort"][child] == 1
    assert model.unmet_counts()[child, model.type_index["kindergarten"]] == 1


def test_without_escorts_the_child_walks_alone_at_its_own_pace(tmp_path, engine):
    model, child, carer = grandparent_and_child(escort_street(tmp_path, households="escort = false"), engine)
    run_states(model)
    v = visits_of(model)
    kid = v["resident"] == child
    assert v["arrive_min"][kid][0] == DEPART_TICK + 9  # 500 / 60 = 8.3 min -> 9 ticks
    assert v["escorted_by"][kid][0] == -1
    assert model.escort_totals()["escort_min"].sum() == 0


# --------------------------------------------------------------------------- (2) formation


def small_with(tmp_path, households: str, residents: int = 1500):
    """The small scenario (tests/conftest.py) with a [households] table."""
    return write_small(tmp_path, residents=residents, extra=f"\n[households]\n{households}\n")


def test_households_against_brute_force(tmp_path):
    path = small_with(tmp_path, "")
    scenario = load_scenario(path)
    model = LifeCircleModel(scenario, seed=5, days=1)
    pop = model.population
    spec = scenario.households
    # the same residents as without households: the household draws come after theirs
    drawn = build_residents(scenario, model.city, np.random.default_rng(5))
    assert (drawn.age == pop.age).all() and (drawn.group == pop.group).all()
    assert (drawn.community == pop.community).all() and (drawn.m_per_min == pop.m_per_min).all()
    members: dict[int, list[int]] = {}
    for i, h in enumerate(pop.household):
        members.setdefault(int(h), []).append(i)
    assert sorted(members) == list(range(len(members)))  # ids 0..H-1
    assert pop.household_kind.size == len(members)
    first_members = [m[0] for m in members.values()]
    assert first_members == sorted(first_members)  # numbered in the order of their first members
    for h, ids in members.items():
        ages = pop.age[ids]
        assert len({int(pop.node[i]) for i in ids}) == 1  # one home
        assert pop.node[ids[0]] == drawn.node[min(ids)]  # the first member's home
        assert len({(int(pop.community[i]), int(pop.group[i])) for i in ids}) == 1  # one pool
        if (ages < spec.adult_age).any():
            assert (ages >= spec.adult_age).any(), f"household {h}: children alone"
        kind = pop.household_kinds[pop.household_kind[h]]
        n_child, n_adult, n_elder = (
            int((ages < spec.adult_age).sum()),
            int(((ages >= spec.adult_age) & (ages < spec.elder_age)).sum()),
            int((ages >= spec.elder_age).sum()),
        )
        if kind in ("elder_alone", "single_adult"):
            assert n_child + n_adult + n_elder >= 1 and n_child + n_adult + n_elder - n_child == 1
        if kind == "couple":
            assert (n_adult, n_elder) == (2, 0)
        if kind == "couple_with_children":
            assert n_adult == 2 and n_elder == 0 and n_child >= 1
        if kind == "three_generations":
            assert n_adult == 2 and n_elder in (1, 2) and n_child >= 1


def test_composition_shares_follow_the_table(tmp_path):
    # adults only and two compositions of adults: no pool runs short before the end, so the
    # households are draws from the table (but the last few): shares within sampling error
    path = small_with(tmp_path, "compositions = { single_adult = 0.4, couple = 0.6 }", residents=3000)
    ages = 'ages = { "0-5" = 0.1, "6-17" = 0.15, "18-59" = 0.5, "60-100" = 0.25 }'
    text = path.read_text().replace(ages, 'ages = { "18-59" = 1.0 }')
    path.write_text(text)
    model = LifeCircleModel(path, seed=2, days=1)
    kinds = model.population.household_kind
    singles = int((kinds == model.population.household_kinds.index("single_adult")).sum())
    assert binomtest(singles, kinds.size, 0.4).pvalue > 0.001
    sizes = np.bincount(model.population.household)
    assert set(sizes) <= {1, 2}


def test_children_live_with_an_adult_or_an_elder_whatever_the_shares(tmp_path):
    # no composition holds children: every child joins a household with an adult or an elder
    path = small_with(tmp_path, "compositions = { couple = 0.5, elder_alone = 0.5 }")
    model = LifeCircleModel(path, seed=3, days=1)
    pop, spec = model.population, model.spec.households
    child = roles(pop.age, spec) == CHILD
    with_grown = np.bincount(pop.household, weights=~child) > 0
    assert child.any() and with_grown[pop.household[child]].all()


# --------------------------------------------------------------------------- (3) the summary from the files


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "model.cli", *args], capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("households")
    schools = '\n[[facilities]]\ntype = "kindergarten"\nat = [4, 6]\n'
    schools += '[[facilities]]\ntype = "primary_school"\nat = [14, 5]\n'
    path = small_with(tmp, "", residents=1200)
    path.write_text(path.read_text() + schools)
    out = tmp / "out"
    proc = run_cli("run", str(path), "--days", "2", "--log-visits", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    return load_scenario(path), out


def test_summary_households_recomputed_from_the_files(small_run):
    scenario, out = small_run
    res = read_exact_csv(out / "residents.csv")
    visits = read_exact_csv(out / "visits.csv")
    h = json.loads((out / "summary.json").read_text())["households"]
    sizes = res.groupby("household").size()
    assert h["households"] == sizes.size == sum(h["compositions"].values())
    assert h["mean_size"] == pytest.approx(len(res) / sizes.size)
    assert h["no_escort"] == res["no_escort"].sum()
    for band in scenario.ages:
        mine = res[(res["age"] >= band.lo) & (res["age"] <= band.hi)]
        carers = mine[mine["escort_min"] > 0]
        row = h["carers"][str(band)]
        assert row["carers"] == len(carers)
        assert row["given_up"] == mine["given_up_escort"].sum()
        if len(carers):
            assert row["escort_min_per_day"] == pytest.approx(carers["escort_min"].mean() / 2)
    # every escorted visit: a child younger than the type's escort age, escorted by an adult of its household
    escorted = visits[visits["escorted_by"].notna()]
    assert len(escorted) > 0
    carer = escorted["escorted_by"].astype(int).to_numpy()
    kid = escorted["resident"].to_numpy()
    assert (res["household"].to_numpy()[carer] == res["household"].to_numpy()[kid]).all()
    assert (res["age"].to_numpy()[carer] >= scenario.households.adult_age).all()
    below = escorted["type"].map({t: scenario.types[t].escort_below_age for t in scenario.types})
    assert (res["age"].to_numpy()[kid] < below.to_numpy()).all()
    assert set(visits["chain"]) <= {1, 2}
    # a visit at chain 2 is a carer's, on a day it escorted someone
    chained = visits[visits["chain"] == 2]
    days_escorting = set(zip(escorted["escorted_by"].astype(int), escorted["day"]))
    assert all((r, d) in days_escorting for r, d in zip(chained["resident"], chained["day"]))
    assert (res.loc[res["escort_min"] > 0, "id"].isin(escorted["escorted_by"].astype(int))).all()


# --------------------------------------------------------------------------- (4) bad input


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("[households]\ncompositions = { couple = 0.5, elder_alone = 0.4 }", "households.compositions"),
        ("[households]\ncompositions = { couple = 0.5, grandparents = 0.5 }", "households.compositions.grandparents"),
        ("[facility_types.primary_school]\nescort_below_age = 19", "facility_types.primary_school.escort_below_age"),
        ("[households]\nadult_age = 8", "facility_types.primary_school.escort_below_age"),  # 10 > 8
        ("[households]\ntwo_children = 1.5", "households.two_children"),
    ],
)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_households_are_clear_errors(tmp_path, table, key, command):
    path = tmp_path / "bad.toml"
    demo = (ROOT / "scenarios" / "demo.toml").as_posix()
    path.write_text(f'extends = "{demo}"\nname = "bad"\n{table}\n', encoding="utf-8")
    out = tmp_path / "out"
    args = [command, str(path)] + (["--out", str(out)] if command == "run" else [])
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text and "bad.toml" in text and key in text, text
    assert not out.exists()


# --------------------------------------------------------------------------- (5) off


def test_households_off_draws_what_a_run_without_households_draws(tmp_path, engine):
    path = small_with(tmp_path, "on = false", residents=300)
    scenario = load_scenario(path)
    model = LifeCircleModel(scenario, seed=4, days=1, engine=engine)
    drawn = build_residents(scenario, model.city, np.random.default_rng(4))
    assert model.population.household is None
    assert (model.population.node == drawn.node).all()
    assert "household" not in model.population.frame().columns
    model.run()
    assert "households" not in model.summary()
    assert "escorting" not in model.tick_reporters
    assert (visits_of(model)["escorted_by"] == -1).all() and (visits_of(model)["chain"] == 1).all()
