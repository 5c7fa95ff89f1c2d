"""Days that learn ([simulation] learning, rules.ranked_minutes): hand-worked runs on both engines,
the choice kernel against a brute force of the penalised ranking, and bad input.

The rule: a facility that turned a resident away on an earlier day of the run is ranked as if it
were ``learning_penalty_min`` minutes farther per remembered turn-away; which facilities may be
chosen, and every walk, use the real minutes.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from model.model import LifeCircleModel
from model.scenario import load_scenario
from model.simulation import rules
from model.simulation.choice import choose_many
from tests.conftest import community, facility, ftype, write_busy_small, write_tiny

FALSE_ALARM = 1e-3  # each statistical test below fails with at most this probability when correct


@pytest.fixture(params=["agents", "fast"])
def engine(request):
    """Both engines."""
    return request.param


# --------------------------------------------------------------------------- by hand


def two_parks(tmp_path, learning="true", penalty_min=10.0, name="tiny"):
    """Two residents on a line of cells (50 m, walked at 50 m/min: one minute a cell) leave at 08:00
    for the nearer park A (capacity 1) at x = 4; the far one, at x = 1 (3 min from A), arrives a
    minute after the near one at x = 2 (2 min), who stays 60 minutes. With a patience of 5 the far
    one gives up in tick 68 (08:08) and walks on to park B at x = 9 (5 min from A; 8 min from its
    home, 7 from the near one's), arriving in tick 74: walk 3 + 5 = 8 minutes, choice rank 2.
    Remembering A once makes it 3 + penalty minutes away for the far resident: B (8 min) comes
    first when the penalty is above 5."""
    return write_tiny(
        tmp_path,
        width=12,
        height=3,
        speeds='{ "0-100" = 50.0 }',
        communities=community(2, 1, 1, name="near") + "\n" + community(1, 1, 1, name="far"),
        facilities=facility("park", 4, 1, capacity=1) + "\n" + facility("park", 9, 1, capacity=10),
        types=ftype(
            "park",
            daily_prob=1.0,
            depart=["08:00", "08:00"],
            visit_min=60,
            beta_per_min=math.inf,
            patience_min=5,
            tries=2,
            open_space=False,
        ),
        simulation=(
            f'day_start = "07:00"\nday_end = "10:00"\nlearning = {learning}\nlearning_penalty_min = {penalty_min}'
        ),
        name=name,
    )


def run(path, engine, days, seed=1):
    model = LifeCircleModel(path, seed=seed, days=days, engine=engine)
    model.run()
    return model


def visits_by_day(model) -> list[tuple[int, str, int, int, float]]:
    """(day, resident's home x, facility, choice rank, walk minutes) of every visit, in that order."""
    v = pd.DataFrame(model.visit_log.columns())
    home_x = model.population.node % model.city.width
    rows = zip(v["arrive_min"] // 1440, home_x[v["resident"]], v["facility"], v["choice_rank"], v["walk_min"])
    return sorted((int(d), int(x), int(f), int(r), round(float(w), 9)) for d, x, f, r, w in rows)


NEAR, FAR = 2, 1  # home x of the two residents
A, B = 0, 1  # facility ids
DAY_ONE = [(NEAR, A, 1, 2.0), (FAR, B, 2, 8.0)]  # the far one turned away at A, served at B


def by_day(days: list[list[tuple]]) -> list[tuple]:
    return sorted((d, *visit) for d, visits in enumerate(days) for visit in visits)


def test_turned_away_on_day_one_chooses_the_other_park_on_day_two(tmp_path, engine):
    model = run(two_parks(tmp_path, penalty_min=10.0), engine, days=2)
    # day 2: A is 3 + 10 = 13 minutes to the far resident, B 8: B first, no turn-away
    assert visits_by_day(model) == by_day([DAY_ONE, [(NEAR, A, 1, 2.0), (FAR, B, 1, 8.0)]])
    park = model.summary()["dynamics"]["park"]["by_day"]
    assert park["turned_away"] == [1, 0] and park["displaced_share"] == [0.5, 0.0]
    assert model.summary()["dynamics"]["park"]["change"]["turned_away"] == -1


def test_without_learning_it_tries_the_nearer_park_again(tmp_path, engine):
    model = run(two_parks(tmp_path, learning="false"), engine, days=2)
    assert visits_by_day(model) == by_day([DAY_ONE, DAY_ONE])
    assert model.summary()["dynamics"]["park"]["by_day"]["turned_away"] == [1, 1]


def test_each_remembered_turn_away_adds_the_penalty(tmp_path, engine):
    """Penalty 4: one remembered turn-away makes A 7 minutes away, still before B (8); two make it 11."""
    model = run(two_parks(tmp_path, penalty_min=4.0), engine, days=3)
    assert visits_by_day(model) == by_day([DAY_ONE, DAY_ONE, [(NEAR, A, 1, 2.0), (FAR, B, 1, 8.0)]])
    assert model.summary()["dynamics"]["park"]["by_day"]["turned_away"] == [1, 1, 0]


def test_the_turn_aways_of_the_day_itself_do_not_count(tmp_path, engine):
    """A run of one day is the same with learning on or off: the memory starts with the next day."""
    on, off = (run(two_parks(tmp_path, learning=x, name=x), engine, days=1) for x in ("true", "false"))
    assert visits_by_day(on) == visits_by_day(off) == by_day([DAY_ONE])


def test_both_engines_make_the_same_visits_over_days_that_learn(tmp_path):
    agents, fast = (run(two_parks(tmp_path, penalty_min=4.0), e, days=4) for e in ("agents", "fast"))
    assert visits_by_day(agents) == visits_by_day(fast)
    assert np.array_equal(agents.unmet_counts(), fast.unmet_counts())
    a, f = agents.summary()["dynamics"], fast.summary()["dynamics"]
    assert a["park"]["by_day"] == f["park"]["by_day"]


# --------------------------------------------------------------------------- a run with randomness


@pytest.fixture(scope="module")
def busy_small(tmp_path_factory):
    """The small scenario with turn-aways every day (conftest.write_busy_small)."""
    return write_busy_small(tmp_path_factory.mktemp("busy"))


def files_of(model) -> tuple:
    """Everything a run decides: its visits, unmet counts and facility totals."""
    totals = model.facility_totals()
    return pd.DataFrame(model.visit_log.columns()), model.unmet_counts(), {k: v.tolist() for k, v in totals.items()}


@pytest.mark.parametrize("engine", ["agents", "fast"])
def test_an_empty_memory_changes_nothing(busy_small, engine):
    """Learning off, and learning on with a penalty of 0 (the memory filled, every ranked minute the real
    one), make the very same run: the memory's bookkeeping draws no random number and moves nothing."""
    runs = []
    for overrides in ({"simulation.learning": False}, {"simulation.learning_penalty_min": 0.0}):
        model = LifeCircleModel(load_scenario(busy_small, overrides=overrides), seed=5, days=3, engine=engine)
        model.run()
        runs.append(files_of(model))
    (v0, u0, t0), (v1, u1, t1) = runs
    pd.testing.assert_frame_equal(v0, v1)
    assert np.array_equal(u0, u1) and t0 == t1
    assert sum(t0["turned_away"]) > 0  # the run has turn-aways to remember


@pytest.mark.parametrize("engine", ["agents", "fast"])
def test_learning_changes_the_days_after_the_first(busy_small, engine):
    """Same seed, learning on against off: identical on day 1 (nothing remembered yet), and the residents
    turned away learn to go elsewhere, so the run differs after it."""
    summaries = {}
    for on in (True, False):
        model = LifeCircleModel(
            load_scenario(busy_small, overrides={"simulation.learning": on}), seed=2, days=3, engine=engine
        )
        model.run()
        summaries[on] = model.summary()["dynamics"]
    for t in summaries[True]:
        on, off = summaries[True][t]["by_day"], summaries[False][t]["by_day"]
        assert on["turned_away"][0] == off["turned_away"][0] and on["unmet"][0] == off["unmet"][0], t
    on, off = summaries[True]["market"]["by_day"], summaries[False]["market"]["by_day"]
    assert on != off


# --------------------------------------------------------------------------- the kernel


def kernel(metres, facility, speed, beta, tries, n, remembered, penalty_min, limit_min=30.0, seed=0, fn=choose_many):
    """One origin, departures of residents 0 .. n - 1; ``remembered[r]`` is resident r's {facility: count}."""
    n_fac = int(max(facility)) + 1
    pairs = sorted((r * n_fac + f, c) for r, memory in enumerate(remembered) for f, c in memory.items())
    out_f = np.full((n, tries), -1, dtype=np.int64)
    out_m = np.zeros((n, tries))
    counts = fn(
        np.array([0, len(metres)]),
        np.asarray(facility, dtype=np.int64),
        np.asarray(metres, dtype=float),
        np.zeros(n, dtype=np.int64),
        np.full(n, float(speed)),
        np.full(n, float(beta)),
        np.full(n, tries, dtype=np.int64),
        np.full(n, float(limit_min)),
        np.random.default_rng(seed).random((n, tries)),
        out_f,
        out_m,
        np.arange(n, dtype=np.int64),
        np.array([k for k, _ in pairs], dtype=np.int64),
        np.array([c for _, c in pairs], dtype=np.int64),
        n_fac,
        float(penalty_min),
    )
    return counts, out_f


def test_nearest_first_ranks_by_the_penalised_minutes_like_a_brute_force():
    rng = np.random.default_rng(7)
    for _ in range(200):
        u = int(rng.integers(1, 9))
        facility = rng.choice(20, size=u, replace=False)
        metres = rng.integers(0, 40, size=u) * 25.0  # many ties
        n = 6
        remembered = [
            {int(f): int(rng.integers(1, 4)) for f in facility if rng.random() < 0.4} if r % 3 else {} for r in range(n)
        ]
        penalty, tries, limit = float(rng.choice([0.0, 2.5, 10.0])), int(rng.integers(1, 5)), 15.0
        counts, got = kernel(metres, facility, 50.0, math.inf, tries, n, remembered, penalty, limit_min=limit)
        for r in range(n):
            usable = [(m / 50.0 + penalty * remembered[r].get(int(f), 0), int(f)) for f, m in zip(facility, metres)]
            usable = [(key, f) for (key, f), m in zip(usable, metres) if m / 50.0 <= limit]  # real minutes decide
            expected = [f for _, f in sorted(usable)][:tries]
            assert counts[r] == len(expected)
            assert got[r, : counts[r]].tolist() == expected


def test_logit_shares_follow_the_penalised_utility():
    """First choices by frequency: exp(-beta (m + penalty k)) / sum, with k remembered turn-aways."""
    metres = np.array([60.0, 120.0, 180.0, 300.0])  # 1, 2, 3, 5 minutes at 60 m/min
    facility = [3, 0, 2, 1]
    beta, penalty, n = 0.4, 2.0, 30_000
    memory = {3: 2, 2: 1}  # the nearest remembered twice, the third once
    counts, got = kernel(metres, facility, 60.0, beta, 1, n, [memory] * n, penalty)
    assert (counts == 1).all()
    ranked = np.array([m / 60.0 + penalty * memory.get(f, 0) for f, m in zip(facility, metres)])
    w = np.exp(-beta * ranked)
    observed = np.array([(got[:, 0] == f).sum() for f in facility])
    assert stats.chisquare(observed, w / w.sum() * n).pvalue > FALSE_ALARM


def test_another_residents_memory_changes_nothing():
    """Departures of residents who remember nothing draw exactly what they draw with no memory at all."""
    metres, facility = [300.0, 100.0, 100.0, 50.0, 420.0], [7, 9, 4, 8, 1]
    for beta in (math.inf, 0.3):
        plain = kernel(metres, facility, 50.0, beta, 3, 40, [{}] * 40, 10.0, seed=3)
        others = [{8: 1, 4: 2} if r % 2 else {} for r in range(40)]
        mixed = kernel(metres, facility, 50.0, beta, 3, 40, others, 10.0, seed=3)
        even = slice(0, None, 2)
        np.testing.assert_array_equal(plain[1][even], mixed[1][even])
        assert (mixed[1][1::2, 0] != 8).any()  # the odd ones do see their memory


def test_the_compiled_kernel_is_its_own_source_with_a_memory():
    """numba's cache does not notice a change in rules.ranked_minutes: compiled and Python source agree."""
    metres, facility = [300.0, 100.0, 100.0, 50.0, 420.0, 250.0], [7, 9, 4, 8, 1, 3]
    memory = [{8: 1, 4: 3}] * 30
    for beta in (math.inf, 0.3):
        compiled = kernel(metres, facility, 50.0, beta, 3, 30, memory, 2.0, seed=4)
        source = kernel(metres, facility, 50.0, beta, 3, 30, memory, 2.0, seed=4, fn=choose_many.py_func)
        for a, b in zip(compiled, source):
            np.testing.assert_array_equal(a, b)


def test_ranked_minutes_by_hand():
    assert rules.ranked_minutes(3.0, 0, 10.0) == 3.0
    assert rules.ranked_minutes(3.0, 2, 4.0) == 11.0
    np.testing.assert_array_equal(rules.ranked_minutes(np.array([1.0, 2.0]), np.array([1, 0]), 5.0), [6.0, 2.0])


# --------------------------------------------------------------------------- bad input


def validate(path):
    return subprocess.run(
        [sys.executable, "-m", "model.cli", "validate", str(path)], capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    ("line", "key", "words"),
    [
        ("learning_penalty_min = -1.0", "simulation.learning_penalty_min", "from 0 to 1,440"),
        ("learning_penalty_min = inf", "simulation.learning_penalty_min", "from 0 to 1,440"),
        ("learning_penalty_min = nan", "simulation.learning_penalty_min", "must be a number"),
        ("learning_penalty_min = 1e9", "simulation.learning_penalty_min", "from 0 to 1,440"),
        ('learning_penalty_min = "10"', "simulation.learning_penalty_min", "must be"),
        ('learning = "yes"', "simulation.learning", "true or false"),
        ("learning = 1", "simulation.learning", "true or false"),
        ("learnig = true", "simulation.learnig", "did you mean 'learning'"),
    ],
)
def test_bad_learning_keys_are_problems_with_file_and_key(tmp_path, line, key, words):
    path = write_tiny(
        tmp_path,
        width=3,
        height=3,
        communities=community(0, 0, 1),
        facilities=facility("park", 2, 2),
        types="",
        simulation=f'day_start = "07:00"\nday_end = "10:00"\n{line}',
        name="bad_learning",
    )
    proc = validate(path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"bad_learning.toml: {key}: " in proc.stderr and words in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_good_learning_keys_validate(tmp_path):
    path = write_tiny(
        tmp_path,
        width=3,
        height=3,
        communities=community(0, 0, 1),
        facilities=facility("park", 2, 2),
        types="",
        simulation='day_start = "07:00"\nday_end = "10:00"\nlearning = false\nlearning_penalty_min = 1440',
    )
    proc = validate(path)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("days", ["0", "-1", "1.5"])
def test_a_run_of_no_days_is_refused(tmp_path, days):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "model.cli", "run", "demo", "--days", days, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2 and "--days" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


# --------------------------------------------------------------------------- experiments/learning_week.py


def learning_week(*args):
    return subprocess.run(
        [sys.executable, "-m", "experiments.learning_week", *args], capture_output=True, text=True, timeout=600
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--days", "0"], "--days: must be days, a whole number from 1 to 366"),
        (["--seeds", "1"], "--seeds: must be a number of seeds from 2 to 1,000"),
        (["--penalty-min", "-1"], "learning_week: simulation.learning_penalty_min: must be minutes from 0"),
        (["--penalty-min", "inf"], "learning_week: simulation.learning_penalty_min"),
    ],
)
def test_the_experiment_refuses_bad_input_and_writes_nothing(tmp_path, args, words):
    out = tmp_path / "out"
    proc = learning_week(*args, "--out", str(out))
    assert proc.returncode == 2 and words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not out.exists()


def test_the_experiment_on_two_parks(tmp_path):
    """Two days of the hand-worked two parks, two seeds (the same run: nothing is random in it): with
    learning the far resident is not turned away on day 2, without it is, as worked out above."""
    out = tmp_path / "out"
    proc = learning_week("--scenario", str(two_parks(tmp_path)), "--days", "2", "--seeds", "2", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(out / "learning_week.csv")
    park = frame[frame["type"] == "park"].set_index(["figure", "learning", "day"])["mean"]
    assert park[("displaced_share", True, 1)] == park[("displaced_share", False, 1)] == 0.5
    assert park[("displaced_share", True, 2)] == 0.0 and park[("displaced_share", False, 2)] == 0.5
    row = "| park | displaced share | on | 50.0% [50.0%, 50.0%] | 0.0% [0.0%, 0.0%] | -50.0% [-50.0%, -50.0%] "
    assert row + "| -50.0% [-50.0%, -50.0%] |" in proc.stdout  # change by day, and on less off
    assert (out / "learning_week.png").stat().st_size > 0
    record = json.loads((out / "learning_week.json").read_text())
    assert record["by_day"]["on"]["1"]["park"]["turned_away"] == [1, 0]
    assert record["by_day"]["off"]["2"]["park"]["turned_away"] == [1, 1]


def test_the_interval_by_hand():
    from experiments.learning_week import interval

    mean, lo, hi = interval([1.0, 2.0, 3.0, float("nan")])
    half = 4.302652729911275 / math.sqrt(3)  # t(0.975, 2) x s (= 1) / sqrt(n)
    assert mean == 2.0 and lo == pytest.approx(2.0 - half) and hi == pytest.approx(2.0 + half)
