"""LifeCircleModel under Mesa's own batch runner, unchanged.

batch_run in Mesa 3.5 calls step() until the model stops or has made max_steps steps, and by default
reads the last record the DataCollector made (found through ``_collection_steps``; Mesa PR 3109 fixed
the off-by-one read of issues #2987 and #3057). The model collects once in __init__ and once per step,
so the row is the state after max_steps steps, or the finished run's. The seeds are given as batch_run's
``rng`` (Mesa passes each to the model's ``seed``; a ``seed`` among the parameters would be overwritten).
"""

from __future__ import annotations

import json
import subprocess
import sys

import mesa
import numpy as np
import pandas as pd
import pytest

from model.measures import segregation
from model.measures.summary import flatten
from model.model import LifeCircleModel
from model.simulation.rules import State
from tests.conftest import write_small

MAX_STEPS = 30
# the day starts at 08:00, inside the market's departure window (06:30-09:30, clipped to the
# day): residents set off from the first tick, so every reporter moves within 30 steps
BUSY_MORNING = '\n[simulation]\nday_start = "08:00"\n'
KEYS = ("RunId", "iteration", "Step")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    return str(write_small(tmp_path_factory.mktemp("batch"), residents=200, extra=BUSY_MORNING))


def batch(scenario, **extra):
    """Seeds 1 and 2, twice each."""
    return mesa.batch_run(
        LifeCircleModel,
        parameters={"scenario": scenario, "days": 1, **extra},
        rng=[1, 2, 1, 2],
        max_steps=MAX_STEPS,
        number_processes=1,
        display_progress=False,
    )


@pytest.fixture(scope="module")
def rows(scenario):
    """The batch with the model's defaults (whatever its default engine)."""
    return batch(scenario)


@pytest.fixture(scope="module")
def agent_rows(scenario):
    """The batch with the per-agent engine, whose state is checked agent by agent."""
    return batch(scenario, engine="agents")


def reporters_after(scenario: str, seed: int, steps: int) -> dict:
    """The reporters' values computed here from the agents, after ``steps`` steps of a per-agent
    model built by hand."""
    model = LifeCircleModel(scenario, seed=seed, days=1, engine="agents")
    for _ in range(steps):
        model.step()
    agents = model.engine
    states = np.array([int(r.state) for r in agents.residents])
    out = {
        "home": int((states == State.HOME).sum()),
        "walking": int((states == State.WALKING).sum()),
        "waiting": int((states == State.WAITING).sum()),
        "at_facilities": int((states == State.VISITING).sum()),
        "escorting": int((states == State.ESCORTING).sum()),  # carers at a child's facility (households)
        "day": 0,
        "minute": 8 * 60 + steps - 1,  # the minute of the last tick simulated
    }
    for t in model.city.types:
        out[f"occupancy_{t}"] = sum(len(f.visitors) for f in agents.facilities if model.city.types[f.type_index] == t)
    groups = [r.group for f in agents.facilities for r in f.visitors]
    cross = 0
    for f in agents.facilities:
        gs = [r.group for r in f.visitors]
        cross += sum(g != h for g in gs for h in gs)
    out["cross_group_copresence"] = cross
    assert len(groups) == out["at_facilities"]
    return out


def test_batch_run_returns_one_row_per_run_with_the_reporters(rows, scenario):
    assert len(rows) == 4  # 2 seeds x 2 iterations, model reporters only: one row each
    frame = pd.DataFrame(rows)
    assert sorted(frame["seed"]) == [1, 1, 2, 2]
    # batch_run calls step() max_steps times and reads the record of step max_steps, the last
    assert (frame["Step"] == MAX_STEPS).all()
    model = LifeCircleModel(scenario, seed=1)
    expected_columns = set(model.datacollector.model_reporters)
    assert expected_columns <= set(frame.columns)
    assert {"occupancy_park", "occupancy_market", "cross_group_copresence", "walking"} <= expected_columns
    # the row is the state after MAX_STEPS steps of the same model stepped by hand
    for seed in (1, 2):
        by_hand = LifeCircleModel(scenario, seed=seed, days=1)
        for _ in range(MAX_STEPS):
            by_hand.step()
        counts = np.bincount(by_hand.resident_states(), minlength=len(State))
        row = frame[frame["seed"] == seed].iloc[0]
        assert [row[k] for k in ("home", "walking", "waiting", "at_facilities", "escorting")] == list(counts)
        assert row["minute"] == 8 * 60 + MAX_STEPS - 1
        assert row["walking"] + row["waiting"] + row["at_facilities"] + row["escorting"] > 0


def test_agent_batch_rows_are_the_agents_state(agent_rows, scenario):
    """With the per-agent engine every reporter is recomputed from the agents: the row is the state
    after exactly MAX_STEPS steps (collected once per step plus once at the start)."""
    frame = pd.DataFrame(agent_rows)
    assert len(frame) == 4 and (frame["engine"] == "agents").all()
    for seed in (1, 2):
        row = frame[frame["seed"] == seed].iloc[0]
        for key, value in reporters_after(scenario, seed, MAX_STEPS).items():
            assert row[key] == value, (seed, key)


@pytest.mark.parametrize("which", ["rows", "agent_rows"])
def test_same_seed_same_results(request, which):
    frame = pd.DataFrame(request.getfixturevalue(which)).drop(columns=list(KEYS))
    one, two = frame[frame["seed"] == 1], frame[frame["seed"] == 2]
    # (equals: the summary columns of unfinished runs are empty, and empty equals empty)
    assert one.iloc[0].equals(one.iloc[1])
    assert two.iloc[0].equals(two.iloc[1])
    assert not (one.iloc[0].drop("seed") == two.iloc[0].drop("seed")).all()  # the seed is used


def test_mixing_override_changes_residential_dissimilarity(scenario):
    rows = mesa.batch_run(
        LifeCircleModel,
        parameters={"scenario": scenario, "mixing": [0.0, 1.0]},
        rng=[1],
        max_steps=2,
        number_processes=1,
        display_progress=False,
    )
    assert sorted(r["mixing"] for r in rows) == [0.0, 1.0]

    def dissimilarity(mixing):
        model = LifeCircleModel(scenario, seed=1, mixing=mixing)
        assert model.spec.mixing == mixing
        pop = model.population
        blocks = np.stack([pop.x // 4, pop.y // 4], axis=1)  # blocks of 200 m = 4 cells of 50 m
        _, table = segregation.count_table(blocks, pop.group, len(pop.group_names))
        return [segregation.dissimilarity(table, g) for g in range(len(pop.group_names))], model

    separated, model = dissimilarity(0.0)
    mixed, _ = dissimilarity(1.0)
    assert all(s > m for s, m in zip(separated, mixed)), (separated, mixed)
    # the model reports what its file says when there is no override (write_small: mixing 1.0)
    default = LifeCircleModel(scenario, seed=1)
    pop = default.population
    assert default.spec.mixing == 1.0
    assert np.array_equal(pop.node, LifeCircleModel(scenario, seed=1, mixing=1.0).population.node)
    assert not np.array_equal(pop.node, model.population.node)


def test_bad_mixing_is_a_scenario_error(scenario):
    from model.scenario import ScenarioError

    with pytest.raises(ScenarioError, match="mixing"):
        LifeCircleModel(scenario, seed=1, mixing=1.5)


# --------------------------------------------------------------------------- whole runs: summary.json


def lifecircle_run(scenario: str, seed: int, out) -> tuple[dict, pd.DataFrame]:
    """summary.json (flattened) and timeseries.csv written by ``lifecircle run``, read back from disk."""
    done = subprocess.run(
        [sys.executable, "-m", "model.cli", "run", scenario, "--seed", str(seed), "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return flatten(summary), pd.read_csv(out / "timeseries.csv")


def test_batch_run_rows_are_the_figures_lifecircle_run_writes(scenario, tmp_path):
    """The README's use: one row per run, with the very numbers of summary.json and the last tick.

    max_steps = days x ticks per day finishes the run; the row is the collector's last record, so
    the figures that only the finished run has (usage, activity mixing) are there, and the per-tick
    columns are those of the last row of timeseries.csv. The record before it (the last tick's,
    before the summary), or another seed's, would differ.
    """
    seeds = (1, 2)
    written = {seed: lifecircle_run(scenario, seed, tmp_path / f"seed{seed}") for seed in seeds}
    ticks = len(written[1][1])  # timeseries.csv: a row per tick
    rows = mesa.batch_run(
        LifeCircleModel,
        parameters={"scenario": scenario, "days": 1},
        rng=list(seeds),
        max_steps=ticks,
        number_processes=1,
        display_progress=False,
    )
    assert [row["seed"] for row in rows] == list(seeds)
    for row in rows:
        summary, series = written[row["seed"]]
        assert row["Step"] == ticks
        assert len(summary) > 50 and summary["usage.park.visits"] > 0
        assert {k: row[k] for k in summary} == summary  # every figure, run-dependent ones included
        last = series.iloc[-1]
        assert {k: row[k] for k in series.columns} == last.to_dict()
        # the timeseries' rows differ from one tick to the next, so an earlier record would not match
        assert (series.iloc[-2] != last).any()
    one, two = (written[s][0] for s in seeds)
    assert one["usage.park.visits"] != two["usage.park.visits"]  # the seeds' rows are told apart


def test_the_collector_notes_the_step_of_every_record(scenario):
    """_collection_steps, which batch_run searches, has the model time of each record: the start, then each step."""
    model = LifeCircleModel(scenario, seed=1)
    model.run()
    collector = model.datacollector
    assert collector._collection_steps == list(range(model.total_ticks + 1)) == list(range(model.steps + 1))
    assert all(len(column) == model.total_ticks + 1 for column in collector.model_vars.values())
    assert collector.model_vars["usage.park.visits"][-2] is None  # the figures of the whole run are in the last
    assert collector.model_vars["usage.park.visits"][-1] == model.summary()["usage"]["park"]["visits"]
