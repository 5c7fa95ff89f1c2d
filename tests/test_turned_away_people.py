"""Turned-away attempts and people turned away, apart (issue 20, item 9).

``usage.<type>.turned_away`` counts attempts: every give-up at a facility, so a resident who walks
on to a next choice that is full too counts again. ``turned_away_people`` counts the residents
turned away at least once that day (the mean over the days), ``turned_away_visits`` the wanted
visits that met at least one turn-away (docs/metrics.md, "Usage"). Hand-worked tiny scenarios on
both engines, the bounds that tie the three together and to the visit log on a busy run, and all
three recomputed with pandas from turned_away.csv, the turn-away log of ``lifecircle run --log-visits``.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from model.cli.run import print_usage
from model.model import LifeCircleModel
from tests.conftest import community, facility, ftype, write_busy_small, write_tiny


@pytest.fixture(params=["agents", "fast"])
def engine(request):
    """Both engines."""
    return request.param


def run(path, engine, days=1, seed=3):
    model = LifeCircleModel(path, seed=seed, days=days, engine=engine)
    model.run()
    return model, model.summary()


# --------------------------------------------------------------------------- one trip, several tries


def chain_scenario(tmp_path, tries):
    """Six residents at (0, 1); five parks of capacity 1 at x = 2, 4, 6, 8, 10, 2 minutes apart at
    50 m/min; patience 0, nearest first (as tests/test_rules_by_hand.py, "tries 1 to 5")."""
    parks = "\n".join(facility("park", x, 1, capacity=1) for x in (2, 4, 6, 8, 10))
    return write_tiny(
        tmp_path,
        width=12,
        height=3,
        speeds='{ "0-100" = 50.0 }',
        communities=community(0, 1, 6),
        facilities=parks,
        types=ftype(
            "park",
            open_space=False,
            daily_prob=1.0,
            depart=["08:00", "08:00"],
            visit_min=30,
            beta_per_min=math.inf,
            patience_min=0,
            tries=tries,
        ),
    )


@pytest.mark.parametrize("tries", [1, 2, 3, 5])
def test_retries_are_attempts_not_people(tmp_path, engine, tries):
    """All six reach park 1 together: one stays, five are turned away. Each of the five walks on to
    park 2, where one stays and four are turned away, and so on: with ``tries`` = k, park j turns
    away 6 - j for j = 1..k, so the attempts are sum_{j=1..k} (6 - j), but the people turned away
    are the same five (one day: distinct residents), and so are the wanted visits that met a
    turn-away (one trip each)."""
    model, summary = run(chain_scenario(tmp_path, tries), engine)
    park = summary["usage"]["park"]
    attempts = sum(6 - j for j in range(1, tries + 1))  # 5, 9, 12, 15 for k = 1, 2, 3, 5
    assert park["turned_away"] == attempts
    assert park["turned_away_people"] == 5
    assert park["turned_away_visits"] == 5
    log = model.turn_aways()
    assert len(log["resident"]) == attempts
    # at park j (facility j - 1) the 6 - j still looking are turned away at their j-th choice
    assert sorted(zip(log["facility"].tolist(), log["choice_rank"].tolist(), strict=True)) == sorted(
        (j - 1, j) for j in range(1, tries + 1) for _ in range(6 - j)
    )
    assert len(set(log["resident"].tolist())) == 5
    # the five: each served at its k-th choice at most, or unmet; k - 1 of them served later
    served_later = int((model.visit_log.columns()["choice_rank"] >= 2).sum())
    assert served_later == tries - 1
    assert served_later + int(model.unmet_counts().sum()) == park["turned_away_visits"]


# --------------------------------------------------------------------------- two trips a day, two days


def twice_a_day_scenario(tmp_path):
    """A park of capacity 1 at (3, 0); one resident at (2, 0), 1 minute from it, and one at (0, 0),
    3 minutes, both leaving at 07:30 and at 09:00 (two windows), 20-minute visits, patience 0,
    tries 1. The near one arrives at 07:31 and is in until 07:51; the far one arrives at 07:33,
    finds it full and goes home. At 09:00 the same. Per day: 2 attempts, 2 wanted visits turned
    away, 1 person."""
    return write_tiny(
        tmp_path,
        width=4,
        height=1,
        speeds='{ "0-100" = 50.0 }',
        communities=community(2, 0, 1, name="near") + community(0, 0, 1, name="far"),
        facilities=facility("park", 3, 0, capacity=1),
        types=ftype(
            "park",
            open_space=False,
            daily_prob=1.0,
            visit_min=20,
            beta_per_min=math.inf,
            patience_min=0,
            tries=1,
        )
        + 'depart = [["07:30", "07:30"], ["09:00", "09:00"]]\n',
    )


def test_one_person_turned_away_twice_a_day(tmp_path, engine):
    model, summary = run(twice_a_day_scenario(tmp_path), engine, days=2)
    park = summary["usage"]["park"]
    assert park["visits"] == 2  # the near one, twice a day
    assert park["turned_away"] == 2  # per day
    assert park["turned_away_visits"] == 2
    assert park["turned_away_people"] == 1  # the far one, once a day however often
    assert len(model.turn_aways()["resident"]) == 4  # over the two days
    by_day = summary["dynamics"]["park"]["by_day"]
    assert by_day["turned_away"] == [2, 2]
    assert by_day["turned_away_people"] == [1, 1]
    assert summary["dynamics"]["park"]["change"]["turned_away_people"] == 0
    far = model.population.node.tolist().index(0)
    assert model.unmet_counts()[far].tolist() == [2 * 2]  # both wanted visits of both days unmet


def test_the_engines_count_the_same(tmp_path):
    """Exactly the same counts, type by type and day by day, on the hand-worked scenarios."""
    for path, days in ((chain_scenario(tmp_path, 3), 1), (twice_a_day_scenario(tmp_path), 2)):
        got = {}
        for engine in ("agents", "fast"):
            model, summary = run(path, engine, days=days)
            got[engine] = (
                {k: v.tolist() for k, v in model.turn_aways().items()},  # the log, row for row
                {t: summary["usage"][t] for t in summary["dynamics"]},
                {t: d.get("by_day") for t, d in summary["dynamics"].items()},
            )
        assert got["agents"] == got["fast"]


# --------------------------------------------------------------------------- bounds on a busy run


@pytest.fixture(scope="module")
def busy_runs(tmp_path_factory):
    """The busy small scenario (a market and elderly care too small), two days, on both engines."""
    path = write_busy_small(tmp_path_factory.mktemp("busy"))
    return {engine: run(path, engine, days=2, seed=4) for engine in ("agents", "fast")}


@pytest.mark.parametrize("engine_name", ["agents", "fast"])
def test_people_at_most_attempts_and_users(busy_runs, engine_name):
    model, summary = busy_runs[engine_name]
    days = summary["days"]
    v = model.visit_log.columns()
    unmet = model.unmet_counts().sum(axis=0)
    tries = {t: int(model.types.tries[i]) for t, i in model.type_index.items()}
    some = 0
    for t, i in model.type_index.items():
        u, d = summary["usage"][t], summary["dynamics"][t]["by_day"]
        users = summary["access"][t]["users"]
        assert u["turned_away_people"] <= u["turned_away_visits"] <= u["turned_away"]
        assert u["turned_away_people"] <= users
        assert all(p <= a for p, a in zip(d["turned_away_people"], d["turned_away"], strict=True))
        assert all(p <= users for p in d["turned_away_people"])
        assert sum(d["turned_away_people"]) == pytest.approx(u["turned_away_people"] * days, rel=1e-12)
        # a wanted visit that met a turn-away was served at a later choice (visits.csv) or is unmet
        served_later = int(((v["type"] == i) & (v["choice_rank"] >= 2)).sum())
        assert served_later <= u["turned_away_visits"] * days <= served_later + unmet[i]
        if tries[t] == 1:  # no second try: every attempt is a wanted visit's only turn-away
            assert u["turned_away_visits"] == u["turned_away"]
        some += u["turned_away"] > 0
    assert some >= 2  # the market and elderly care turn people away
    market = summary["usage"]["market"]
    assert tries["market"] == 2 and market["turned_away_people"] < market["turned_away"]  # retries counted apart


def test_the_printed_table_shows_attempts_and_people(busy_runs):
    _, summary = busy_runs["fast"]
    out = io.StringIO()
    print_usage(summary, out)
    lines = out.getvalue().splitlines()
    header = lines[1]
    assert "turned away/day" in header and "people turned away/day" in header
    market = next(line for line in lines if line.strip().startswith("market"))
    cells = market.split()
    u = summary["usage"]["market"]
    assert cells[2] == f"{u['turned_away']:,.1f}" and cells[3] == f"{u['turned_away_people']:,.1f}"


def test_flattened_summary_has_the_new_keys(busy_runs):
    model, _ = busy_runs["fast"]
    keys = set(model.summary_keys)
    for t in model.type_index:
        assert {f"usage.{t}.turned_away_people", f"usage.{t}.turned_away_visits"} <= keys
        assert f"dynamics.{t}.change.turned_away_people" in keys
    row = model.datacollector.get_model_vars_dataframe().iloc[-1]
    assert np.isfinite(row["usage.market.turned_away_people"])


# --------------------------------------------------------------------------- recomputed from the files


@pytest.fixture(scope="module")
def busy_files(tmp_path_factory):
    """``lifecircle run`` of the busy small scenario over two days, with the visit and turn-away logs."""
    folder = tmp_path_factory.mktemp("busy_files")
    out = folder / "out"
    cmd = [sys.executable, "-m", "model.cli", "run", str(write_busy_small(folder)), "--seed", "5", "--days", "2"]
    proc = subprocess.run([*cmd, "--log-visits", "--quiet", "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_figures_recompute_from_turned_away_csv(busy_files):
    out, proc = busy_files
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    days = summary["days"]
    turned = pd.read_csv(out / "turned_away.csv")
    assert list(turned.columns) == ["resident", "facility", "type", "day", "minute", "choice_rank"]
    facilities = pd.read_csv(out / "facilities.csv")
    visits = pd.read_csv(out / "visits.csv")
    residents = pd.read_csv(out / "residents.csv")
    # one row per attempt: the facilities' turned_away, facility by facility
    per_facility = turned.groupby("facility").size().reindex(facilities["id"], fill_value=0)
    assert per_facility.tolist() == facilities["turned_away"].tolist()
    assert (turned["type"] == facilities.set_index("id").loc[turned["facility"], "type"].to_numpy()).all()
    for t in facilities["type"].unique():
        mine = turned[turned["type"] == t]
        usage = summary["usage"][t]
        by_day = summary["dynamics"][t]["by_day"]
        assert usage["turned_away"] == pytest.approx(len(mine) / days, rel=1e-12)
        people = mine[["day", "resident"]].drop_duplicates()
        assert usage["turned_away_people"] == pytest.approx(len(people) / days, rel=1e-12)
        assert usage["turned_away_visits"] == pytest.approx((mine["choice_rank"] == 1).sum() / days, rel=1e-12)
        for d in range(days):
            assert by_day["turned_away"][d] == (mine["day"] == d).sum()
            assert by_day["turned_away_people"][d] == (people["day"] == d).sum()
        # a visit served at its r-th choice follows r - 1 turn-aways of its resident that day, at ranks 1 .. r - 1
        later = visits[(visits["type"] == t) & (visits["choice_rank"] >= 2)]
        for v in later.itertuples():
            ranks = mine.loc[(mine["resident"] == v.resident) & (mine["day"] == v.day), "choice_rank"]
            assert set(range(1, v.choice_rank)) <= set(ranks)
        # the other wanted visits that met a turn-away are unmet
        assert len(later) <= (mine["choice_rank"] == 1).sum() <= len(later) + residents[f"unmet_{t}"].sum()
    assert len(turned) > 0 and (turned["choice_rank"] >= 2).any()  # retries at a next choice happen here
    assert "people turned away/day" in proc.stdout


def test_no_turn_away_log_without_the_visit_log(busy_files, tmp_path):
    """A run without --log-visits over one with it (--overwrite) leaves neither log behind."""
    logged, _ = busy_files
    out = tmp_path / "out"
    shutil.copytree(logged, out)  # a copy: the module's run stays as it is for the other tests
    assert (out / "turned_away.csv").is_file() and (out / "visits.csv").is_file()
    scenario = logged.parent / "small.toml"
    cmd = [sys.executable, "-m", "model.cli", "run", str(scenario), "--quiet", "--overwrite", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (out / "summary.json").is_file()
    assert not (out / "turned_away.csv").exists() and not (out / "visits.csv").exists()
