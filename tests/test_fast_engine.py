"""Conservation checks of the fast engine, tick by tick (the agents engine has its own in test_behaviour)."""

from __future__ import annotations

import numpy as np
import pytest

from model.model import LifeCircleModel
from model.scenario import ScenarioError, load_scenario
from model.simulation.rules import State
from tests.conftest import write_small

CROWDED = """
[facility_types.elderly_care]
capacity = 3
daily_prob = 0.9
depart = ["10:30", "10:40"]
[facility_types.market]
capacity = 5
daily_prob = 0.8
"""


@pytest.fixture(scope="module")
def stepped(tmp_path_factory):
    path = write_small(tmp_path_factory.mktemp("fast"), residents=500, extra=CROWDED)
    model = LifeCircleModel(path, seed=11, days=2, engine="fast")
    eng = model.engine
    checks = {"max_ratio": 0.0, "ticks": 0}
    while model.running:
        model.step()
        tick = model.current_tick
        checks["ticks"] += 1
        assert eng.state_count.sum() == len(model.population)
        assert np.array_equal(np.bincount(eng.state, minlength=len(State)), eng.state_count)
        assert np.array_equal(eng.occupancy.sum(axis=1), eng.f_total)
        assert (eng.f_total <= eng.f_capacity).all()
        assert (eng.occupancy >= 0).all()
        visiting = eng.state == State.VISITING
        at = eng.choice[visiting, eng.choice_ptr[visiting]]
        assert np.array_equal(np.bincount(at, minlength=eng.f_total.size), eng.f_total)
        checks["max_ratio"] = max(checks["max_ratio"], float((eng.f_total / eng.f_capacity).max()))
        if tick % 37 == 0 or model.clock.is_last_tick_of_day(tick):
            pos = model.positions()
            assert model.city.walkable.ravel()[pos].all()
        if model.clock.is_last_tick_of_day(tick):
            assert (eng.state == State.HOME).all()
    return model, checks


def test_capacity_binds_and_is_never_exceeded(stepped):
    model, checks = stepped
    assert checks["ticks"] == model.total_ticks
    assert checks["max_ratio"] == 1.0  # the crowded types really fill up
    assert model.facility_totals()["turned_away"].sum() > 0


def test_visit_log_matches_facility_totals_and_occupancy(stepped):
    model, _ = stepped
    v = model.visit_log.columns()
    totals = model.facility_totals()
    assert np.array_equal(np.bincount(v["facility"], minlength=len(model.city.facilities)), totals["visits"])
    assert (v["leave_min"] > v["arrive_min"]).all()
    # presence rebuilt from the log equals the occupancy the DataCollector saw, every tick
    series = model.datacollector.get_model_vars_dataframe().iloc[1:]
    clock = model.clock
    run_min = np.array([clock.run_minute(t) for t in range(model.total_ticks)])
    fac_type = model.city.facilities["type"].to_numpy()
    for t in model.city.types:
        mine = fac_type[v["facility"]] == t
        present = (
            (v["arrive_min"][mine][None, :] <= run_min[:, None]) & (run_min[:, None] < v["leave_min"][mine][None, :])
        ).sum(axis=1)
        assert np.array_equal(present, series[f"occupancy_{t}"].to_numpy()), t
    # peaks: the most present at once, from the log, per facility
    for f in np.unique(v["facility"]):
        mine = v["facility"] == f
        present = (
            (v["arrive_min"][mine][None, :] <= run_min[:, None]) & (run_min[:, None] < v["leave_min"][mine][None, :])
        ).sum(axis=1)
        assert present.max() == totals["peak_occupancy"][f]


def test_wanted_visits_are_served_or_unmet(stepped):
    """Served + unmet = wanted: rebuild the wanted count from the engine's plans is not possible after
    the run, so check the weaker identity that unmet visits happen only for needed types."""
    model, _ = stepped
    unmet = model.unmet_counts()
    needs = model.engine.needs
    assert (unmet[~needs] == 0).all()
    assert unmet.sum() > 0


def test_depart_window_must_fall_within_opening_hours(tmp_path):
    path = write_small(tmp_path, extra='[facility_types.park]\ndepart = ["05:00", "06:30"]\n')
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert any(p.key == "facility_types.park.depart" and "opening hours" in p.message for p in err.value.problems)


def test_sizes_beyond_the_implementation_limits_are_bad_input(tmp_path):
    from model.scenario import MAX_CELLS, MAX_RESIDENTS

    path = write_small(tmp_path, residents=MAX_RESIDENTS // 2 + 1)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert any(p.key == "communities" and "more than this version handles" in p.message for p in err.value.problems)
    text = path.read_text().replace("width = 20", f"width = {MAX_CELLS}")
    path.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert any(p.key == "grid" for p in err.value.problems)


@pytest.mark.parametrize("engine", ["agents", "fast"])
def test_mesa_grid_view_counts_everyone_where_they_are(tmp_path, engine):
    from mesa.discrete_space import OrthogonalMooreGrid

    path = write_small(tmp_path, residents=120)
    model = LifeCircleModel(path, seed=4, engine=engine)
    for _ in range(150):  # into the morning: some residents are out
        model.step()
    grid = model.grid
    assert isinstance(grid, OrthogonalMooreGrid)
    people = grid.people.data  # indexed [x, y]
    assert people.sum() == len(model.population)
    pos = model.positions()
    xs, ys = pos % model.city.width, pos // model.city.width
    expected = np.zeros_like(people)
    np.add.at(expected, (xs, ys), 1)
    np.testing.assert_array_equal(people, expected)
    assert (grid.walkable.data == model.city.walkable.T).all()
    assert (pos != model.population.node).any()  # somebody has left home


NO_FACILITIES = """
name = "empty"
[grid]
width = 10
height = 8
[population]
groups = { a = 1.0 }
ages = { "0-100" = 1.0 }
[walking]
m_per_min = { "0-100" = 70.0 }
[[communities]]
name = "c"
area = [1, 1, 3, 3]
residents = 20
"""


@pytest.mark.parametrize("engine", ["agents", "fast"])
def test_a_city_without_facilities_runs_end_to_end(tmp_path, engine):
    import json
    import subprocess
    import sys

    path = tmp_path / "empty.toml"
    path.write_text(NO_FACILITIES)
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "model.cli",
            "run",
            str(path),
            "--engine",
            engine,
            "--out",
            str(out),
            "--quiet",
            "--log-visits",
            "--contacts",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["access"] == {} and summary["usage"] == {} and summary["residents"] == 20
    header = "resident,facility,type,day,arrive_min,leave_min,walk_min,choice_rank,escorted_by,chain\n"  # households on
    assert (out / "visits.csv").read_text() == header


def test_walkers_cells_do_not_change_between_calls(tmp_path):
    """Issue 22: two back-to-back calls placed some walkers on other cells (a density above 1 on the page).

    A walker's cell comes from its shortest walk, and of equally short walks the tree read used to
    be whichever was cached. Checked: the same cells after other trees are cached and evicted
    between two calls, and (independently, by distance fields) every walker on a shortest walk
    between its ends, no farther from its start than its pace has taken it.
    """
    path = write_small(tmp_path, residents=500, extra=CROWDED)
    model = LifeCircleModel(path, seed=11, days=1, engine="fast")
    eng, surface = model.engine, model.surface
    while model.running and (eng.state == State.WALKING).sum() < 20:
        model.step()
    walking = np.flatnonzero(eng.state == State.WALKING)
    assert walking.size >= 20

    def cache_trees(nodes) -> None:  # a walk of a node to itself reads (and keeps) the node's own tree
        for node in nodes:
            surface.metres(int(node), int(node))

    cache_trees(eng.walk_from[walking])  # the walks' starts' trees first, then their ends'
    first = model.positions()
    cache_trees(eng.walk_to[walking])
    np.testing.assert_array_equal(model.positions(), first)
    graph = model.city.graph
    from scipy.sparse import csgraph

    for r in walking:
        a, b, at = int(eng.walk_from[r]), int(eng.walk_to[r]), int(first[r])
        d = csgraph.dijkstra(graph, directed=False, indices=[a, at])
        assert d[0, at] + d[1, b] == pytest.approx(d[0, b])  # on a shortest walk from a to b
        covered = (model.current_tick - eng.walk_start[r]) * eng.speed[r] * model.clock.tick_min
        assert d[0, at] <= covered + 1e-9
