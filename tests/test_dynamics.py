"""The cut-off on every leg, choice ranks, and the dynamics block of summary.json (issue 18, items 3 and 5).

1. No walk of any leg (home to a first choice, a facility that turned the resident away on to
   the next choice, back home) is longer than the resident's cut-off: ``cutoff_min`` of its own
   walking minutes, metres over its own pace (docs/behaviour.md, "Turned away"). Shown on a run
   of both engines with every walk recorded as it starts, and on a hand-built line where the old
   rule (no cut-off between facilities) sent residents on a too-long second walk.
2. ``choice_rank`` in the visit log: 1 at the trip's first choice, k after k - 1 turn-aways.
3. Every figure of ``dynamics`` recomputed with pandas from the files of a ``lifecircle run``
   (visits.csv, timeseries.csv, residents.csv, scenario.toml), independently of
   model/measures/dynamics.py.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tomllib

import numpy as np
import pandas as pd
import pytest

from model.model import LifeCircleModel
from model.simulation import rules
from model.simulation.agents import Resident
from model.simulation.fast import FastEngine
from tests.conftest import community, facility, ftype, read_exact_csv, visits_of, write_tiny

# The two engines' walks are timed with distances from different searches of one graph
# (docs/behaviour.md, section 8); they agree to floating-point rounding.
ROUNDING = 1e-9


@pytest.fixture(params=["agents", "fast"])
def engine(request):
    """Both engines."""
    return request.param


# --------------------------------------------------------------------------- a hand-built line

# A line of 19 cells of 50 m at 50 m/min (1 minute a cell). Two residents at x = 9 leave at
# 08:00 for a park; park A (capacity 1) at x = 1 is 8 minutes away, park B at x = 18 is 9 minutes
# away on the other side, so A is the nearest (beta = inf) and B the next choice; A to B is 17
# minutes. One resident is admitted at A in tick 68; the other is turned away (patience 0) and
# may walk on to B from tick 69: 17 minutes, arriving in tick 86, a visit of 30 and 9 minutes
# home fit the day (07:00-10:00), so the old rule sent it on (walk_min 8 + 17 = 25).
LINE_SPEED = 50.0


def line_scenario(tmp_path, cutoff_min: float):
    return write_tiny(
        tmp_path,
        width=19,
        height=1,
        speeds=f'{{ "0-100" = {LINE_SPEED} }}',
        communities=community(9, 0, 2),
        facilities=facility("park", 1, 0, capacity=1) + "\n" + facility("park", 18, 0, capacity=10),
        types=ftype(
            "park",
            open_space=False,
            daily_prob=1.0,
            depart=["08:00", "08:00"],
            visit_min=30,
            beta_per_min=math.inf,
            patience_min=0,
            tries=2,
        ),
        simulation=f'day_start = "07:00"\nday_end = "10:00"\ncutoff_min = {cutoff_min}',
    )


def test_the_old_rule_would_have_sent_the_resident_on(tmp_path):
    """The walk on from A to B fits the day (rules.trip_fits, the old rule) but exceeds a 10-minute cut-off."""
    model = LifeCircleModel(line_scenario(tmp_path, 10.0), seed=1, engine="fast")
    park = model.type_index["park"]
    there, back = 17.0, 9.0
    assert rules.trip_fits(model.clock, 69, there, back, model.types, park)
    assert not rules.next_choice_fits(model.clock, 69, there, back, 10.0, model.types, park)
    assert rules.next_choice_fits(model.clock, 69, there, back, 17.0, model.types, park)  # the bound is included


@pytest.mark.parametrize(
    ("cutoff_min", "second"),
    [(10.0, False), (16.9, False), (17.0, True), (30.0, True)],
)
def test_no_walk_on_beyond_the_cutoff(tmp_path, engine, cutoff_min, second):
    """Both parks are within the cut-off of home; the walk between them (17 min) only within 17 or more."""
    model = LifeCircleModel(line_scenario(tmp_path, cutoff_min), seed=1, engine=engine)
    model.run()
    v = visits_of(model)
    totals = model.facility_totals()
    assert list(totals["turned_away"]) == [1, 0]
    at_a = v["facility"] == 0
    assert list(v["choice_rank"][at_a]) == [1] and v["walk_min"][at_a] == pytest.approx([8.0], abs=1e-9)
    if second:
        at_b = v["facility"] == 1
        assert list(v["choice_rank"][at_b]) == [2]
        assert list(v["arrive_min"][at_b]) == [86]
        assert v["walk_min"][at_b] == pytest.approx([25.0], abs=1e-9)  # both legs
        assert model.unmet_counts().sum() == 0
    else:
        assert len(v["resident"]) == 1  # only the visit at A
        assert model.unmet_counts().sum() == 1  # the turned-away resident went home unserved


# --------------------------------------------------------------------------- every leg of a run

# Residents spread over a 30 x 30 grid (1 minute a cell), eight small parks far apart, a logit
# choice that often ranks a far park second, three tries and 3 minutes' patience: queues, many turn-aways, and
# second walks longer than the 12-minute cut-off under the old rule.
SPREAD_CUTOFF = 12.0
SPREAD_PARKS = ((3, 3), (26, 3), (3, 26), (26, 26), (14, 14), (14, 3), (3, 14), (26, 14))


def spread_scenario(tmp_path):
    """400 residents spread over 30 x 30 cells, parks of 4 places: displaced visits (households off: homes as drawn)."""
    path = write_tiny(
        tmp_path,
        width=30,
        height=30,
        speeds=f'{{ "0-100" = {LINE_SPEED} }}',
        communities=community(0, 0, 400, w=30, h=30),
        facilities="\n".join(facility("park", x, y, capacity=4) for x, y in SPREAD_PARKS),
        types=ftype(
            "park",
            open_space=False,
            daily_prob=1.0,
            depart=["08:00", "08:20"],
            visit_min=60,
            beta_per_min=0.05,
            patience_min=3,
            tries=3,
        ),
        simulation=f'day_start = "07:00"\nday_end = "12:00"\ncutoff_min = {SPREAD_CUTOFF}',
    )
    path.write_text(path.read_text(encoding="utf-8") + "[households]\non = false\n", encoding="utf-8")
    return path


def recorded_legs(monkeypatch, engine: str) -> list[tuple[int, float]]:
    """Every walk either engine starts, as (resident, own walking minutes), recorded as it starts."""
    legs: list[tuple[int, float]] = []
    if engine == "fast":
        start_walk = FastEngine._start_walk

        def record_fast(self, residents, start, from_cells, to_cells, minutes):
            legs.extend(zip(np.asarray(residents).tolist(), np.broadcast_to(minutes, residents.shape).tolist()))
            start_walk(self, residents, start, from_cells, to_cells, minutes)

        monkeypatch.setattr(FastEngine, "_start_walk", record_fast)
    else:
        walk_to = Resident.walk_to

        def record_agent(self, target, start, now):
            legs.append((self.rid, self.engine.paths.metres(self.position, target) / self.m_per_min))
            walk_to(self, target, start, now)

        monkeypatch.setattr(Resident, "walk_to", record_agent)
    return legs


def old_rule(clock, start, there_min, back_min, cutoff_min, table, t, until=rules.NO_DEADLINE):
    """The rule before issue 18: the walk on to a next choice had only to fit the day."""
    return rules.trip_fits(clock, start, there_min, back_min, table, t, until)


@pytest.mark.parametrize(("engine", "cutoff_everywhere"), [("agents", True), ("fast", True), ("agents", False)])
def test_no_leg_of_a_run_exceeds_the_cutoff(tmp_path, monkeypatch, engine, cutoff_everywhere):
    """Every walk of a run within the cut-off; the same run under the old rule has longer second walks.

    The old rule is replayed on the agents engine only: the fast engine measures walks between
    facilities only up to the cut-off at the fastest pace (``FastEngine._pairs``), so under it a
    longer walk on is unreachable whatever the rule.
    """
    if not cutoff_everywhere:
        monkeypatch.setattr(rules, "next_choice_fits", old_rule)
    legs = recorded_legs(monkeypatch, engine)
    model = LifeCircleModel(spread_scenario(tmp_path), seed=4, engine=engine)
    model.run()
    minutes = np.array([m for _, m in legs])
    v = visits_of(model)
    assert (v["choice_rank"] >= 2).sum() > 0  # residents did walk on to next choices
    assert (v["choice_rank"] >= 1).all() and (v["choice_rank"] <= 3).all()
    if cutoff_everywhere:
        assert minutes.size > 2 * len(v["resident"])  # every visit's walks there and back, and more
        assert (minutes <= SPREAD_CUTOFF + ROUNDING).all()
        # from the visit log: a first choice is within the cut-off, a k-th choice within k cut-offs
        assert (v["walk_min"] <= v["choice_rank"] * SPREAD_CUTOFF + ROUNDING).all()
    else:
        assert (minutes > SPREAD_CUTOFF + ROUNDING).any()
    first = v["choice_rank"] == 1
    assert (v["walk_min"][first] <= SPREAD_CUTOFF + ROUNDING).all()


# --------------------------------------------------------------------------- dynamics from the files


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "model.cli", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def spread_run(tmp_path_factory):
    """``lifecircle run`` of the spread scenario over two days, with the visit log."""
    folder = tmp_path_factory.mktemp("spread")
    out = folder / "out"
    proc = run_cli("run", str(spread_scenario(folder)), "--seed", "4", "--days", "2", "--log-visits", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_visits_csv_has_the_choice_rank(spread_run):
    out, _ = spread_run
    visits = pd.read_csv(out / "visits.csv")
    assert list(visits.columns) == [
        "resident",
        "facility",
        "type",
        "day",
        "arrive_min",
        "leave_min",
        "walk_min",
        "choice_rank",
    ]
    assert set(visits["choice_rank"]) <= {1, 2, 3} and visits["choice_rank"].max() >= 2  # tries = 3


def test_dynamics_recompute_from_the_files(spread_run):
    """Every figure of summary.json's dynamics, recomputed from visits.csv, timeseries.csv and residents.csv."""
    out, _ = spread_run
    summary = json.loads((out / "summary.json").read_text())
    scenario = tomllib.loads((out / "scenario.toml").read_text())
    tick_min = scenario["simulation"].get("tick_min", 1)
    days = summary["days"]
    visits = read_exact_csv(out / "visits.csv")
    series = pd.read_csv(out / "timeseries.csv")
    residents = read_exact_csv(out / "residents.csv").set_index("id")
    facilities = pd.read_csv(out / "facilities.csv")
    types = list(dict.fromkeys(facilities["type"]))
    turned = facilities.groupby("type")["turned_away"].sum()
    assert set(summary["dynamics"]) == set(types)
    # the queues by type add up to the queues of timeseries.csv
    assert (series[[f"waiting_{t}" for t in types]].sum(axis=1) == series["waiting"]).all()
    for t in types:
        got = summary["dynamics"][t]
        mine = visits[visits["type"] == t]
        displaced = mine[mine["choice_rank"] >= 2]
        nearest = residents.loc[displaced["resident"], f"min_{t}"].to_numpy()
        queue = series[f"waiting_{t}"]
        peak_row = series.loc[queue.idxmax()] if queue.max() > 0 else None
        extra = displaced["walk_min"].to_numpy() - nearest
        expected = {
            "displaced_share": len(displaced) / len(mine) if len(mine) else None,
            "displaced_extra_min": float(extra.mean()) if len(displaced) else None,
            "wait_person_min": queue.sum() * tick_min / days,
            "peak_queue": int(queue.max()),
            "peak_queue_day": None if peak_row is None else int(peak_row["day"]),
            "peak_queue_minute": None if peak_row is None else int(peak_row["minute"]),
            "unmet": residents[f"unmet_{t}"].sum() / days,
        }
        assert set(got) == set(expected) | {"by_day", "change"}  # by_day and change: a run of several days
        check_by_day(got, mine, series, queue, tick_min, days, residents[f"unmet_{t}"].sum(), turned[t])
        for key, value in expected.items():
            if value is None or isinstance(value, int):
                assert got[key] == value, (t, key)
            else:
                assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-12), (t, key)
    park = summary["dynamics"]["park"]
    assert park["displaced_share"] > 0 and park["displaced_extra_min"] > 0  # the run shows displacement
    assert park["wait_person_min"] > 0 and park["peak_queue"] > 0
    assert park["unmet"] > 0


def check_by_day(got, visits, series, queue, tick_min, days, unmet_total, turned_total):
    """A type's ``by_day`` and ``change`` against visits.csv (its ``day``) and timeseries.csv, day by day; the
    day's unmet and turned-away counts add up to residents.csv's and facilities.csv's totals."""
    by_day = got["by_day"]
    figures = {"displaced_share", "wait_person_min", "peak_queue", "unmet", "turned_away", "turned_away_people"}
    assert set(by_day) == figures
    assert all(len(values) == days for values in by_day.values())
    for d in range(days):
        today = visits[visits["day"] == d]
        share = (today["choice_rank"] >= 2).mean() if len(today) else None
        day_queue = queue[series["day"] == d]
        if share is None:
            assert by_day["displaced_share"][d] is None
        else:
            assert by_day["displaced_share"][d] == pytest.approx(share, rel=1e-12)
        assert by_day["wait_person_min"][d] == pytest.approx(day_queue.sum() * tick_min, rel=1e-12)
        assert by_day["peak_queue"][d] == int(day_queue.max())
        # the people turned away that day: at most one per turn-away, and at least every resident who
        # was served that day at a later choice (visits.csv: a choice rank of 2 or more follows a turn-away)
        displaced_people = today.loc[today["choice_rank"] >= 2, "resident"].nunique()
        assert displaced_people <= by_day["turned_away_people"][d] <= by_day["turned_away"][d]
    assert sum(by_day["unmet"]) == unmet_total and sum(by_day["turned_away"]) == turned_total
    assert all(value >= 0 for value in by_day["unmet"] + by_day["turned_away"])
    for key, values in by_day.items():
        if values[0] is None or values[-1] is None:
            assert got["change"][key] is None
        else:
            assert got["change"][key] == pytest.approx(values[-1] - values[0], rel=1e-12, abs=1e-12)


def test_the_terminal_summary_shows_the_dynamics(spread_run):
    _, proc = spread_run
    assert "displaced" in proc.stdout and "peak queue" in proc.stdout
