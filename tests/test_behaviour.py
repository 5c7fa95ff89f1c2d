"""Conservation laws of the agents engine, checked tick by tick on the agents themselves.

They must hold at every tick of any run: one state and one walkable cell per resident, bounded
walking speed, occupancy within capacity, queues and visitors agreeing with the residents'
states, everybody home at the end of the day, the visit log agreeing with the facilities and
with the DataCollector. (tests/test_fast_engine.py checks the same laws on the fast engine's
arrays; tests/test_rules_by_hand.py works the rules by hand on both engines.)
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from model.model import LifeCircleModel
from model.simulation.rules import State
from tests.conftest import chebyshev, visits_of, write_small

TIGHT = """
[facility_types.park]
capacity = 5
patience_min = 3
daily_prob = 0.5
depart = [["06:15", "06:45"], ["18:30", "20:00"]]  # two windows, neither in the day's first tick

[facility_types.market]
capacity = 3
patience_min = 4
daily_prob = 0.7
depart = ["06:30", "07:30"]

[facility_types.elderly_care]
capacity = 2
daily_prob = 0.6
"""


@pytest.fixture(scope="module", params=[1, 5], ids=["tick1", "tick5"])
def stepped(tmp_path_factory, request):
    """The small scenario with tight capacities, stepped tick by tick over two days, with a record
    of every tick and every check that needs the live agents (ticks of 1 and of 5 minutes)."""
    extra = TIGHT + f"\n[simulation]\ntick_min = {request.param}\n"
    path = write_small(tmp_path_factory.mktemp("small"), residents=120, extra=extra)
    model = LifeCircleModel(path, seed=5, days=2, engine="agents")
    residents, facilities = model.engine.residents, model.engine.facilities
    n = len(residents)
    walkable = model.city.walkable.reshape(-1)
    speed = np.array([r.m_per_min for r in residents])
    max_cells = np.ceil(speed * model.clock.tick_min / model.city.cell_m).astype(int) + 1
    home = np.array([r.home for r in residents])
    site = np.array([f.site for f in facilities])
    capacity = np.array([f.capacity for f in facilities])
    T = model.clock.ticks_per_day

    prev = home.copy()
    occupancy = []  # per tick, len(visitors) per facility
    states = []
    wanted = np.zeros((2, n), dtype=int)  # wanted visits per day and resident (plan at day start)
    unmet_before = np.zeros(n, dtype=int)
    unmet_per_day = np.zeros((2, n), dtype=int)
    problems: list[str] = []

    def fail(msg):
        if len(problems) < 20:
            problems.append(msg)

    while model.running:
        model.step()
        tick = model.current_tick
        day, tod = divmod(tick, T)
        state = np.array([int(r.state) for r in residents])
        pos = np.array([r.position for r in residents])
        states.append(state)
        if tod == 0:
            # nobody leaves in the first tick here (earliest departure window 06:15), so the
            # plan drawn at the day's start is still whole: it is the day's wanted visits
            if any(r.plan and r.plan[0][0] <= tick for r in residents) or (state != State.HOME).any():
                fail(f"tick {tick}: a trip started in the day's first tick; the wanted count would be wrong")
            wanted[day] = [len(r.plan) for r in residents]
        # exactly one state, one walkable cell
        if not np.isin(state, [s.value for s in State]).all():
            fail(f"tick {tick}: unknown state")
        if not walkable[pos].all():
            fail(f"tick {tick}: residents {np.flatnonzero(~walkable[pos])[:5]} on a blocked cell")
        moved = chebyshev(model, prev, pos)
        if (moved > max_cells).any():
            i = int(np.flatnonzero(moved > max_cells)[0])
            fail(f"tick {tick}: resident {i} moved {moved[i]} cells (at most {max_cells[i]})")
        prev = pos
        # where each resident is, from the facilities' side
        in_queue = np.full(n, -1)
        inside = np.full(n, -1)
        seen = Counter()
        for f in facilities:
            for r in f.queue:
                in_queue[r.rid] = f.fid
                seen[r.rid] += 1
            for r in f.visitors:
                inside[r.rid] = f.fid
                seen[r.rid] += 1
        if seen and max(seen.values()) > 1:
            fail(f"tick {tick}: a resident is in two queues or facilities at once")
        waiting, visiting = state == State.WAITING, state == State.VISITING
        if not ((in_queue >= 0) == waiting).all() or not ((inside >= 0) == visiting).all():
            fail(f"tick {tick}: states disagree with the facilities' queues and visitors")
        if not (pos[waiting] == site[in_queue[waiting]]).all() or not (pos[visiting] == site[inside[visiting]]).all():
            fail(f"tick {tick}: a waiting or visiting resident is not at the facility's cell")
        at_home = state == State.HOME
        if not (pos[at_home] == home[at_home]).all():
            fail(f"tick {tick}: a resident at HOME is not on the home cell")
        occ = np.array([len(f.visitors) for f in facilities])
        if (occ > capacity).any():
            fail(f"tick {tick}: occupancy {occ} over capacity {capacity}")
        occupancy.append(occ)
        if tod == T - 1:
            if not at_home.all():
                fail(f"tick {tick}: {int((~at_home).sum())} residents not home on the day's last tick")
            unmet_now = model.unmet_counts().sum(axis=1)
            unmet_per_day[day] = unmet_now - unmet_before
            unmet_before = unmet_now
    return {
        "model": model,
        "occupancy": np.array(occupancy),
        "states": np.array(states),
        "wanted": wanted,
        "unmet_per_day": unmet_per_day,
        "problems": problems,
    }


def test_every_tick_obeys_the_conservation_rules(stepped):
    assert stepped["problems"] == []
    model = stepped["model"]
    assert model.steps == 2 * model.clock.ticks_per_day
    states = stepped["states"]
    # the run exercised every state and the limits: queues, full facilities, turned-away visitors
    for s in State:
        if s == State.ESCORTING:  # the small scenario has no type whose users are escorted (tests/test_households.py)
            continue
        assert (states == s).any(), f"no resident was ever {s.name}"
    totals = model.facility_totals()
    assert totals["turned_away"].sum() > 0
    assert (stepped["occupancy"].max(axis=0) == [f.capacity for f in model.engine.facilities]).any()


def test_visit_log_agrees_with_facilities(stepped):
    model = stepped["model"]
    v = visits_of(model)
    facilities = model.engine.facilities
    counts = np.bincount(v["facility"], minlength=len(facilities))
    assert list(counts) == [f.visits for f in facilities]
    assert counts.sum() > 0
    # the type column is the facility's type
    names = np.asarray(model.city.types)[v["type"]]
    assert list(names) == [model.city.types[facilities[f].type_index] for f in v["facility"]]
    # peak = most visitors ever present at once, as seen tick by tick
    assert list(stepped["occupancy"].max(axis=0)) == [f.peak for f in facilities]


def test_presence_from_the_log_equals_occupancy_each_tick(stepped):
    """Visitors present at tick k from the log's intervals (arrive <= t < leave) equal both the live
    count of the facility's visitors and the DataCollector's occupancy_<type> after step k."""
    model = stepped["model"]
    v = visits_of(model)
    T, tick_min = model.clock.ticks_per_day, model.clock.tick_min
    ticks = np.arange(model.steps)
    run_min = (ticks // T) * 1440 + (ticks % T) * tick_min  # minutes since the run's start
    present = np.zeros((ticks.size, len(model.engine.facilities)), dtype=int)
    for f, a, b in zip(v["facility"], v["arrive_min"], v["leave_min"]):
        present[(run_min >= a) & (run_min < b), f] += 1
    assert (present == stepped["occupancy"]).all()
    series = model.datacollector.get_model_vars_dataframe()
    assert len(series) == model.steps + 1  # once in __init__, once per step
    fac_type = model.city.facilities["type"].to_numpy()
    for t in model.city.types:
        expected = present[:, fac_type == t].sum(axis=1)
        assert (series[f"occupancy_{t}"].to_numpy()[1:] == expected).all(), t
    # the state counts reported equal the residents' states
    states = stepped["states"]
    for col, s in (
        ("home", State.HOME),
        ("walking", State.WALKING),
        ("waiting", State.WAITING),
        ("at_facilities", State.VISITING),
    ):
        assert (series[col].to_numpy()[1:] == (states == s).sum(axis=1)).all(), col


def test_wanted_visits_are_served_or_unmet(stepped):
    """Every visit planned at the day's start is either completed that day or counted unmet."""
    model = stepped["model"]
    v = visits_of(model)
    n = len(model.population)
    for day in (0, 1):
        served = np.bincount(v["resident"][v["arrive_min"] // 1440 == day], minlength=n)
        assert (stepped["wanted"][day] == served + stepped["unmet_per_day"][day]).all()
    assert stepped["unmet_per_day"].sum() > 0  # the tight capacities left needs unmet
