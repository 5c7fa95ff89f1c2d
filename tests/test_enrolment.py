"""Enrolment (docs/behaviour.md, "Enrolment"): places held once per run, on both engines.

Hand-worked cases on a corridor one cell high (every walk a whole number of 50 m cells), where
who gets which kindergarten, who has no place and who walks beyond the level are known by
counting cells; the catchment greedy re-done in plain Python on random corridors (and, for the
lottery, the properties every order must give); enrolled children visit their own facility every
day and are never turned away, on both engines; residents.csv's columns and summary.json's
enrolment block recomputed from them; bad catalogue values refused with file and key.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from model.measures.enrolment import enrolment_figures
from model.model import LifeCircleModel
from model.scenario import ScenarioError, load_catalogue, load_scenario
from tests.conftest import CELL_M, community, facility, ftype, write_tiny


@pytest.fixture(params=["agents", "fast"])
def engine(request):
    """Both engines."""
    return request.param


PACE = 60.0  # m/min of every resident of the corridor
HOMES = (2, 3, 9)  # the three children's cells; kindergarten A at cell 0, B at cell 10
A, B = 0, 1  # facility ids


def corridor(tmp_path, *, kind: str, cutoff: float, cap_b: int, apply_share: float = 1.0, name: str = "corridor"):
    """Three children aged 3 on a corridor of 11 cells: A (capacity 1) at 0, B (capacity ``cap_b``) at 10.

    Walks, at 60 m/min: child 0 (cell 2) to A 100 m = 1.67 min, to B 400 m = 6.67 min; child 1
    (cell 3) to A 150 m = 2.5 min, to B 350 m = 5.83 min; child 2 (cell 9) to A 450 m = 7.5 min,
    to B 50 m = 0.83 min. The level is 5 minutes.
    """
    return write_tiny(
        tmp_path,
        name=name,
        width=11,
        height=1,
        ages='{ "3-3" = 1.0 }',
        speeds=f'{{ "0-100" = {PACE} }}',
        communities="\n".join(community(x, 0, 1, name=f"c{i}") for i, x in enumerate(HOMES)),
        facilities=facility("kindergarten", 0, 0, capacity=1) + "\n" + facility("kindergarten", 10, 0, capacity=cap_b),
        types=ftype("kindergarten", enrolment=kind, apply_share=apply_share, daily_prob=1.0, visit_min=60, level_min=5),
        simulation=f'day_start = "07:00"\nday_end = "10:00"\ncutoff_min = {cutoff}',
    )


def enrolled(model, ftype_name: str = "kindergarten") -> np.ndarray:
    e = model.context.enrolment
    return e.facility[:, e.column[model.type_index[ftype_name]]]


def test_the_corridor_is_as_drawn(tmp_path):
    model = LifeCircleModel(corridor(tmp_path, kind="catchment", cutoff=10, cap_b=2), seed=1)
    assert list(model.population.node) == list(HOMES)
    assert list(model.population.m_per_min) == [PACE] * 3
    assert list(model.city.facilities["node"]) == [0, 10]


# --------------------------------------------------------------------------- by hand


@pytest.mark.parametrize(
    ("cutoff", "cap_b", "expected"),
    [
        # cut-off 5 min = 300 m: child 0 and child 1 reach only A, child 2 only B. In order of the
        # walk to the nearest: child 2 (50 m) takes B, child 0 (100 m) A, child 1 (150 m) finds A
        # full and B beyond its cut-off: no place
        (5, 1, [A, -1, B]),
        # cut-off 10 min = 600 m, B has 2 places: child 2 takes B, child 0 A, child 1 finds A full
        # and takes B, 350 m = 5.83 min: beyond the 5-minute level
        (10, 2, [A, B, B]),
        # B has 1 place: child 1 finds A and B full
        (10, 1, [A, -1, B]),
    ],
)
def test_catchment_by_hand(tmp_path, cutoff, cap_b, expected):
    model = LifeCircleModel(corridor(tmp_path, kind="catchment", cutoff=cutoff, cap_b=cap_b), seed=1)
    assert list(enrolled(model)) == expected


def test_admission_by_hand_one_of_the_two_near_a_gets_its_place(tmp_path):
    """Cut-off 5: child 2 alone reaches B; children 0 and 1 both reach only A, one place: the lottery decides."""
    model = LifeCircleModel(corridor(tmp_path, kind="admission", cutoff=5, cap_b=1), seed=1)
    got = list(enrolled(model))
    assert got in ([A, -1, B], [-1, A, B])


def test_admission_is_a_fair_lottery(tmp_path):
    """Over 60 seeds, child 0 (nearer to A) gets A as often as child 1: about half the time (not by distance)."""
    path = corridor(tmp_path, kind="admission", cutoff=5, cap_b=1)
    wins = sum(int(enrolled(LifeCircleModel(path, seed=s))[0] == A) for s in range(60))
    assert 0 < wins < 60
    assert binomtest(wins, 60, 0.5).pvalue > 1e-3


def test_nobody_applies_with_apply_share_zero(tmp_path, engine):
    model = LifeCircleModel(
        corridor(tmp_path, kind="catchment", cutoff=10, cap_b=2, apply_share=0.0), seed=1, days=2, engine=engine
    )
    assert list(enrolled(model)) == [-1, -1, -1]
    model.run()
    assert model.visit_log.columns()["resident"].size == 0
    assert model.unmet_counts().sum() == 0  # no place sought: no visit wanted


# --------------------------------------------------------------------------- the days


@pytest.mark.parametrize(("cutoff", "cap_b"), [(5, 1), (10, 2)])
def test_enrolled_children_go_to_their_place_every_day_and_are_never_turned_away(tmp_path, engine, cutoff, cap_b):
    """Three weekdays, daily_prob 1: each placed child makes 3 visits, all at its place, at the first choice.

    With B of 2 places, child 1 walks past nothing to B (A is nearer but its one place is
    child 0's); the child without a place (cut-off 5) plans no visit and has no unmet visit.
    """
    model = LifeCircleModel(
        corridor(tmp_path, kind="catchment", cutoff=cutoff, cap_b=cap_b), seed=3, days=3, engine=engine
    )
    place = enrolled(model)
    model.run()
    v = model.visit_log.columns()
    for r in range(3):
        mine = v["resident"] == r
        if place[r] < 0:
            assert not mine.any()
        else:
            assert mine.sum() == 3
            assert set(v["facility"][mine]) == {place[r]}
            assert set(v["choice_rank"][mine]) == {1}
            walk_m = abs(HOMES[r] - (0 if place[r] == A else 10)) * CELL_M
            assert v["walk_min"][mine] == pytest.approx(walk_m / PACE, abs=1e-9)
    assert model.facility_totals()["turned_away"].sum() == 0
    assert model.unmet_counts().sum() == 0
    summary = model.summary()
    assert summary["dynamics"]["kindergarten"]["unmet"] == 0
    e = summary["enrolment"]["kindergarten"]
    placed = int((place >= 0).sum())
    assert (e["children"], e["applicants"], e["placed"], e["without_place"]) == (3, 3, placed, 3 - placed)
    assert e["beyond_level"] == (1 if cap_b == 2 else 0)  # child 1 at B: 5.83 min > 5


def test_the_engines_enrol_alike(tmp_path):
    """Enrolment is drawn before the engine is built: the same seed gives the same places on both."""
    path = corridor(tmp_path, kind="admission", cutoff=10, cap_b=1)
    for seed in range(5):
        a = LifeCircleModel(path, seed=seed, engine="agents").context.enrolment
        f = LifeCircleModel(path, seed=seed, engine="fast").context.enrolment
        assert np.array_equal(a.facility, f.facility) and np.array_equal(a.applied, f.applied)


# --------------------------------------------------------------------------- brute force


def random_corridor(tmp_path, rng, kind: str):
    """A corridor of 40 cells, 30 schoolchildren at random cells (slow and fast), 4 primary schools of 1-4 places."""
    width = 40
    homes = rng.integers(0, width, size=30)
    schools = rng.choice(width, size=4, replace=False)
    caps = rng.integers(1, 5, size=4)
    return write_tiny(
        tmp_path,
        name=f"random_{kind}",
        width=width,
        height=1,
        ages='{ "6-8" = 0.5, "9-11" = 0.5 }',
        speeds='{ "0-8" = 40.0, "9-100" = 70.0 }',
        communities="\n".join(community(int(x), 0, 1, name=f"c{i}") for i, x in enumerate(homes)),
        facilities="\n".join(facility("primary_school", int(x), 0, capacity=int(c)) for x, c in zip(schools, caps)),
        types=ftype("primary_school", enrolment=kind, apply_share=1.0, daily_prob=1.0, visit_min=60),
        simulation='day_start = "07:00"\nday_end = "10:00"\ncutoff_min = 8',
    )


def brute_force_catchment(home_x, pace, school_x, capacity, cutoff_min):
    """The catchment rule in plain Python: children by walk to their nearest school within the cut-off
    (ties by id), each to the nearest school with a place within its cut-off (ties by school id)."""
    near = {}
    for r, (x, v) in enumerate(zip(home_x, pace)):
        reach = [(abs(x - s) * CELL_M, f) for f, s in enumerate(school_x) if abs(x - s) * CELL_M / v <= cutoff_min]
        near[r] = sorted(reach)
    order = sorted(near, key=lambda r: (near[r][0][0] if near[r] else float("inf"), r))
    free = list(capacity)
    out = [-1] * len(home_x)
    for r in order:
        for _, f in near[r]:
            if free[f] > 0:
                out[r] = f
                free[f] -= 1
                break
    return out


def inputs(model):
    pop, fac = model.population, model.city.facilities
    return (
        [int(n) for n in pop.node],
        [float(v) for v in pop.m_per_min],
        [int(n) for n in fac["node"]],
        [int(c) for c in fac["capacity"]],
        model.spec.simulation.cutoff_min,
    )


@pytest.mark.parametrize("case", range(6))
def test_catchment_against_brute_force(tmp_path, case):
    rng = np.random.default_rng(100 + case)
    model = LifeCircleModel(random_corridor(tmp_path, rng, "catchment"), seed=case)
    assert list(enrolled(model, "primary_school")) == brute_force_catchment(*inputs(model))


@pytest.mark.parametrize("case", range(6))
def test_admission_gives_what_any_order_of_the_greedy_gives(tmp_path, case):
    """Whatever the lottery's order: places within the cut-off and the capacity; nobody left without a place
    while a school within its cut-off has one free; nobody placed farther than a school with a place free."""
    rng = np.random.default_rng(200 + case)
    model = LifeCircleModel(random_corridor(tmp_path, rng, "admission"), seed=case)
    home, pace, school, capacity, cutoff = inputs(model)
    got = enrolled(model, "primary_school")
    taken = np.bincount(got[got >= 0], minlength=len(school))
    assert (taken <= capacity).all()
    free = [f for f in range(len(school)) if taken[f] < capacity[f]]
    for r, f in enumerate(got):
        within = [g for g in range(len(school)) if abs(home[r] - school[g]) * CELL_M / pace[r] <= cutoff]
        if f < 0:
            assert not set(within) & set(free), r
            continue
        assert f in within
        mine = abs(home[r] - school[f])
        assert all(abs(home[r] - school[g]) >= mine for g in free if g in within), r


@pytest.mark.parametrize("kind", ["catchment", "admission"])
def test_nobody_is_turned_away_at_a_full_school(tmp_path, engine, kind):
    """Random corridors with more children than places: visits only by the enrolled, at their school."""
    rng = np.random.default_rng(7)
    model = LifeCircleModel(random_corridor(tmp_path, rng, kind), seed=2, days=2, engine=engine)
    place = enrolled(model, "primary_school")
    assert (place < 0).any() and (place >= 0).any()
    model.run()
    v = model.visit_log.columns()
    assert np.array_equal(v["facility"], place[v["resident"]])
    assert np.bincount(v["resident"], minlength=place.size).tolist() == [2 if p >= 0 else 0 for p in place]
    assert model.facility_totals()["turned_away"].sum() == 0 and model.unmet_counts().sum() == 0


# --------------------------------------------------------------------------- outputs


def test_enrolment_figures_by_hand():
    """Four children, three apply, two placed: one at 4 min, one at 6 min (beyond a 5-minute level)."""
    nan = float("nan")
    e = enrolment_figures(
        of_age=[True, True, True, True, False],
        applied=[True, True, True, False, False],
        placed=[True, True, False, False, False],
        place_min=[4.0, 6.0, nan, nan, nan],
        level_min=5.0,
    )
    assert (e["children"], e["applicants"], e["placed"], e["without_place"], e["beyond_level"]) == (4, 3, 2, 1, 1)
    assert e["applicant_share"] == 0.75 and e["placed_share"] == pytest.approx(2 / 3)
    assert e["without_place_share"] == pytest.approx(1 / 3) and e["beyond_level_share"] == 0.5
    assert e["mean_walk_min"] == 5.0
    # exactly at the level is within it; over nobody, shares and the mean are undefined
    assert enrolment_figures([True], [True], [True], [5.0], 5.0)["beyond_level"] == 0
    none = enrolment_figures([False], [False], [False], [nan], 5.0)
    assert none["children"] == 0 and all(
        np.isnan(none[k])
        for k in ("applicant_share", "placed_share", "without_place_share", "beyond_level_share", "mean_walk_min")
    )


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "model.cli", *args], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(("cutoff", "cap_b", "expected"), [(5, 1, [A, None, B]), (10, 2, [A, B, B])])
def test_residents_csv_and_the_summary(tmp_path, cutoff, cap_b, expected):
    path = corridor(tmp_path, kind="catchment", cutoff=cutoff, cap_b=cap_b)
    out = tmp_path / "out"
    proc = run_cli("run", str(path), "--out", str(out), "--days", "1")
    assert proc.returncode == 0, proc.stderr
    assert "enrolment, once per run" in proc.stdout
    res = pd.read_csv(out / "residents.csv")
    got = [None if pd.isna(x) else int(x) for x in res["enrolled_kindergarten"]]
    assert got == expected
    assert list(res["applied_kindergarten"]) == [1, 1, 1]
    walk_m = [None if f is None else abs(h - (0 if f == A else 10)) * CELL_M for h, f in zip(HOMES, expected)]
    for m, w in zip(res["place_min_kindergarten"], walk_m):
        assert (pd.isna(m) and w is None) or m == pytest.approx(w / PACE, abs=1e-9)
    # the summary's figures, recomputed from residents.csv alone
    summary = json.loads((out / "summary.json").read_text())
    e = summary["enrolment"]["kindergarten"]
    children = res["age"].between(3, 5)
    applied = res["applied_kindergarten"] == 1
    placed = res["enrolled_kindergarten"].notna()
    walks = res.loc[placed, "place_min_kindergarten"]
    assert e["children"] == children.sum() and e["applicants"] == applied.sum() and e["placed"] == placed.sum()
    assert e["without_place"] == (applied & ~placed).sum()
    assert e["beyond_level"] == (walks > 5).sum()
    assert e["without_place_share"] == pytest.approx((applied & ~placed).sum() / applied.sum())
    assert e["mean_walk_min"] == pytest.approx(walks.mean())
    assert summary["dynamics"]["kindergarten"]["unmet"] == 0


def test_the_demo_has_no_enrolment_columns_for_types_without_enrolment():
    model = LifeCircleModel("demo", seed=1)
    with_enrolment = [model.city.types[t] for t in model.context.enrolment.types]
    assert with_enrolment == ["nursery", "kindergarten", "primary_school", "middle_school"]
    assert list(model.summary()["enrolment"]) == with_enrolment


def test_the_catalogue_split_keeps_the_folded_probabilities():
    """apply_share x daily_prob is the daily share the catalogue gave before the split (0.05 and 0.8)."""
    cat = load_catalogue()
    assert cat["nursery"]["apply_share"] * cat["nursery"]["daily_prob"] == pytest.approx(0.054)
    assert cat["kindergarten"]["apply_share"] * cat["kindergarten"]["daily_prob"] == pytest.approx(0.8094)
    assert {t: cat[t]["enrolment"] for t in ("nursery", "kindergarten", "primary_school", "middle_school")} == {
        "nursery": "admission",
        "kindergarten": "admission",
        "primary_school": "catchment",
        "middle_school": "catchment",
    }


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("apply_share", 1.5, "must be a probability between 0 and 1"),
        ("apply_share", -0.1, "must be a probability between 0 and 1"),
        ("enrolment", "lottery", "must be one of 'none', 'catchment', 'admission'"),
        ("enrolment", 3, "string"),
    ],
)
def test_bad_enrolment_values_are_refused_with_file_and_key(tmp_path, field, value, words):
    path = corridor(tmp_path, kind="catchment", cutoff=10, cap_b=2)
    value_toml = f'"{value}"' if isinstance(value, str) else value
    # the kindergarten's override table is the file's last: the field's value is replaced there
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith(f"{field} =")] + [
        f"{field} = {value_toml}"
    ]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert f"facility_types.kindergarten.{field}" in message and words in message and path.name in message
    out = tmp_path / "out"
    proc = run_cli("run", str(path), "--out", str(out))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"facility_types.kindergarten.{field}" in proc.stderr and words in proc.stderr
    assert not out.exists()
