"""The rules of daily life (model/behaviour.py), checked tick by tick on small scenarios.

Two kinds of test:

* conservation laws that must hold at every tick of any run (one state and one walkable cell
  per resident, bounded walking speed, occupancy within capacity, everybody home at the end of
  the day, the visit log agreeing with the facilities and with the DataCollector);
* hand-worked cases on tiny scenarios written here, where the answer is known by calculation
  (walking times, queues at a full facility, destination choice, the cut-off, weekdays).
"""

from __future__ import annotations

import math
import textwrap
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest

from model.behaviour import State
from model.model import LifeCircleModel
from tests.conftest import write_small

CELL_M = 50.0


# --------------------------------------------------------------------------- helpers


def write_tiny(
    tmp_path: Path,
    *,
    width: int,
    height: int,
    communities: str,
    facilities: str,
    types: str,
    blocked: str = "[]",
    groups: str = "{ a = 1.0 }",
    ages: str = '{ "30-30" = 1.0 }',
    speeds: str = '{ "0-100" = 60.0 }',
    simulation: str = 'day_start = "07:00"\nday_end = "10:00"',
    name: str = "tiny",
) -> Path:
    """A tiny scenario file; every section is given as TOML text."""
    text = f"""
name = "{name}"
seed = 11

[grid]
width = {width}
height = {height}
cell_m = {CELL_M}
blocked = {blocked}

[population]
groups = {groups}
ages = {ages}
mixing = 1.0

[walking]
m_per_min = {speeds}

[simulation]
{simulation}

{communities}

{facilities}

{types}
"""
    path = tmp_path / f"{name}.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def community(x: int, y: int, residents: int, w: int = 1, h: int = 1, name: str = "home") -> str:
    return f'[[communities]]\nname = "{name}"\narea = [{x}, {y}, {w}, {h}]\nresidents = {residents}\n'


def facility(ftype: str, x: int, y: int, capacity: int | None = None) -> str:
    cap = f"capacity = {capacity}\n" if capacity is not None else ""
    return f'[[facilities]]\ntype = "{ftype}"\nat = [{x}, {y}]\n{cap}'


def ftype(name: str, **fields) -> str:
    """A [facility_types.<name>] override table."""
    lines = [f"[facility_types.{name}]"]
    for key, value in fields.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        elif isinstance(value, float) and math.isinf(value):
            lines.append(f"{key} = inf")
        elif isinstance(value, (list, tuple)):
            inner = ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in value)
            lines.append(f"{key} = [{inner}]")
        else:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


def visits_of(model) -> dict[str, np.ndarray]:
    return model.visit_log.columns()


def chebyshev(model, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w = model.city.width
    return np.maximum(np.abs(a % w - b % w), np.abs(a // w - b // w))


# --------------------------------------------------------------------------- conservation


TIGHT = """
[facility_types.park]
capacity = 5
patience_min = 3
daily_prob = 0.5

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
    residents, facilities = model.residents, model.facilities
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
        tick = model.tick - 1
        day, tod = divmod(tick, T)
        state = np.array([int(r.state) for r in residents])
        pos = np.array([r.position for r in residents])
        states.append(state)
        if tod == 0:
            # nobody leaves in the first tick here (earliest departure window 06:30), so the
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
    assert model.tick == 2 * model.clock.ticks_per_day
    states = stepped["states"]
    # the run exercised every state and the limits: queues, full facilities, turned-away visitors
    for s in State:
        assert (states == s).any(), f"no resident was ever {s.name}"
    totals = model.facility_totals()
    assert totals["turned_away"].sum() > 0
    assert (stepped["occupancy"].max(axis=0) == [f.capacity for f in model.facilities]).any()


def test_visit_log_agrees_with_facilities(stepped):
    model = stepped["model"]
    v = visits_of(model)
    counts = np.bincount(v["facility"], minlength=len(model.facilities))
    assert list(counts) == [f.visits for f in model.facilities]
    assert counts.sum() > 0
    # the type column is the facility's type
    names = np.asarray(model.city.types)[v["type"]]
    assert list(names) == [model.facilities[f].ftype.id for f in v["facility"]]
    # peak = most visitors ever present at once, as seen tick by tick
    assert list(stepped["occupancy"].max(axis=0)) == [f.peak for f in model.facilities]


def test_presence_from_the_log_equals_occupancy_each_tick(stepped):
    """Visitors present at tick k from the log's intervals (arrive <= t < leave) equal both the live
    count of the facility's visitors and the DataCollector's occupancy_<type> after step k."""
    model = stepped["model"]
    v = visits_of(model)
    T, tick_min = model.clock.ticks_per_day, model.clock.tick_min
    ticks = np.arange(model.tick)
    run_min = (ticks // T) * 1440 + (ticks % T) * tick_min  # minutes since the run's start
    present = np.zeros((ticks.size, len(model.facilities)), dtype=int)
    for f, a, b in zip(v["facility"], v["arrive_min"], v["leave_min"]):
        present[(run_min >= a) & (run_min < b), f] += 1
    assert (present == stepped["occupancy"]).all()
    series = model.datacollector.get_model_vars_dataframe()
    assert len(series) == model.tick + 1  # once in __init__, once per step
    fac_type = np.array([f.ftype.id for f in model.facilities])
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
    n = len(model.residents)
    for day in (0, 1):
        served = np.bincount(v["resident"][v["arrive_min"] // 1440 == day], minlength=n)
        assert (stepped["wanted"][day] == served + stepped["unmet_per_day"][day]).all()
    assert stepped["unmet_per_day"].sum() > 0  # the tight capacities left needs unmet


# --------------------------------------------------------------------------- (a) one walk


# A 7 x 5 grid with a wall at x = 3, y = 0..3: the only way through is the gap at (3, 4).
# From home (0, 0) to the park at (6, 0): to (2, 4) is 2 diagonal + 2 straight steps; (2, 4) ->
# (3, 4) -> (4, 4) is 2 straight steps (a diagonal through the gap would cut the wall's
# corner); (4, 4) -> (6, 0) is again 2 diagonal + 2 straight. 6 straight + 4 diagonal steps.
DETOUR_M = CELL_M * (6 + 4 * math.sqrt(2))  # 582.84 m: 9.714 min at 60 m/min
STRAIGHT_M = 6 * CELL_M  # 300 m: exactly 5.0 min at 60 m/min


@pytest.mark.parametrize(
    ("blocked", "metres", "tick_min", "expected"),
    [
        # expected ticks: (departure, arrival = departure + ceil(minutes / tick), leave, home)
        # departure at 08:00 with the day from 07:00: tick 60 / tick_min; visit 30 min
        ("[[3, 0, 1, 4]]", DETOUR_M, 1, (60, 70, 100, 110)),  # ceil(9.714) = 10
        ("[[3, 0, 1, 4]]", DETOUR_M, 5, (12, 14, 20, 22)),  # ceil(9.714 / 5) = 2
        ("[]", STRAIGHT_M, 1, (60, 65, 95, 100)),  # exactly 5 ticks, not 6
        ("[]", STRAIGHT_M, 2, (30, 33, 48, 51)),  # ceil(2.5) = 3
    ],
)
def test_one_walk_by_hand(tmp_path, blocked, metres, tick_min, expected):
    path = write_tiny(
        tmp_path,
        width=7,
        height=5,
        blocked=blocked,
        communities=community(0, 0, 1),
        facilities=facility("park", 6, 0),
        types=ftype("park", daily_prob=1.0, depart=["08:00", "08:00"], visit_min=30, beta_per_min=math.inf),
        simulation=f'day_start = "07:00"\nday_end = "10:00"\ntick_min = {tick_min}',
    )
    model = LifeCircleModel(path, seed=1, days=1, engine="agents")
    (me,) = model.residents
    assert me.m_per_min == 60.0 and me.home == 0
    fac_cell = model.facilities[0].site
    walkable = model.city.walkable.reshape(-1)
    bound = math.ceil(60.0 * tick_min / CELL_M) + 1
    states, prev = [], me.position
    while model.running:
        model.step()
        assert walkable[me.position]
        assert chebyshev(model, np.array([prev]), np.array([me.position]))[0] <= bound
        prev = me.position
        states.append(me.state)
        if me.state == State.VISITING:
            assert me.position == fac_cell
        if me.state == State.HOME:
            assert me.position == me.home
    dep, arrive, leave, home = expected
    want = [State.HOME] * dep + [State.WALKING] * (arrive - dep) + [State.VISITING] * (leave - arrive)
    want += [State.WALKING] * (home - leave) + [State.HOME] * (len(states) - home)
    assert [int(s) for s in states] == [int(s) for s in want]
    v = visits_of(model)
    assert list(v["facility"]) == [0]
    assert v["arrive_min"][0] == arrive * tick_min and v["leave_min"][0] == leave * tick_min
    assert v["walk_min"][0] == pytest.approx(metres / 60.0, abs=1e-9)


# --------------------------------------------------------------------------- (b) a full facility


def queue_scenario(tmp_path, *, patience, tries, visit_min=30, second_capacity=None):
    """Five residents on one cell leave at 08:00 for the nearest park (150 m = 3 min at 50 m/min),
    capacity 1; an optional second park 150 m further on (6 min from home)."""
    facilities = facility("park", 3, 1, capacity=1)
    if second_capacity is not None:
        facilities += "\n" + facility("park", 6, 1, capacity=second_capacity)
    return write_tiny(
        tmp_path,
        width=10,
        height=3,
        speeds='{ "0-100" = 50.0 }',
        communities=community(0, 1, 5),
        facilities=facilities,
        types=ftype(
            "park",
            daily_prob=1.0,
            depart=["08:00", "08:00"],
            visit_min=visit_min,
            beta_per_min=math.inf,
            patience_min=patience,
            tries=tries,
        ),
    )


def test_full_facility_patience_zero_turns_all_but_one_away(tmp_path):
    model = LifeCircleModel(queue_scenario(tmp_path, patience=0, tries=1), seed=2, days=1, engine="agents")
    model.run()
    f0 = model.facilities[0]
    v = visits_of(model)
    # all five arrive in tick 60 + 3 = 63; one is admitted, four give up at once and go home
    assert f0.visits == 1 and len(v["resident"]) == 1
    assert list(v["arrive_min"]) == [63] and list(v["leave_min"]) == [93]
    assert f0.turned_away == 4
    assert f0.peak == 1
    assert model.unmet_counts().sum() == 4
    assert sorted(model.unmet_counts()[:, 0]) == [0, 1, 1, 1, 1]
    assert model.unmet_counts()[v["resident"][0], 0] == 0


@pytest.mark.parametrize(
    ("second_capacity", "second_visits", "unmet"),
    [(10, 4, 0), (1, 1, 3)],
)
def test_turned_away_go_on_to_the_second_choice(tmp_path, second_capacity, second_visits, unmet):
    path = queue_scenario(tmp_path, patience=0, tries=2, second_capacity=second_capacity)
    model = LifeCircleModel(path, seed=2, days=1, engine="agents")
    model.run()
    f0, f1 = model.facilities
    v = visits_of(model)
    assert (f0.visits, f0.turned_away) == (1, 4)
    assert (f1.visits, f1.turned_away) == (second_visits, 4 - second_visits)
    assert model.unmet_counts().sum() == unmet
    first = v["facility"] == 0
    second = v["facility"] == 1
    assert list(v["arrive_min"][first]) == [63]
    # turned away in tick 63, they leave in tick 64 and walk 3 min to the second park
    assert list(v["arrive_min"][second]) == [67] * second_visits
    assert v["walk_min"][first] == pytest.approx([3.0], abs=1e-9)
    assert v["walk_min"][second] == pytest.approx([6.0] * second_visits, abs=1e-9)  # both legs
    assert set(v["resident"][first]).isdisjoint(v["resident"][second])


def test_patience_lets_the_queue_wait(tmp_path):
    """Capacity 1, visits of 5 min, patience 10 min, five arrive in tick 63: admitted at 63, 68
    and 73 (the third exactly when its patience runs out); the last two give up at 73."""
    path = queue_scenario(tmp_path, patience=10, tries=1, visit_min=5)
    model = LifeCircleModel(path, seed=2, days=1, engine="agents")
    waiting = []
    while model.running:
        model.step()
        waiting.append(sum(r.state == State.WAITING for r in model.residents))
    v = visits_of(model)
    assert sorted(v["arrive_min"]) == [63, 68, 73]
    assert sorted(v["leave_min"]) == [68, 73, 78]
    assert model.facilities[0].turned_away == 2
    assert model.unmet_counts().sum() == 2
    assert waiting[63] == 4 and waiting[68] == 3 and waiting[72] == 3 and waiting[73] == 0


# --------------------------------------------------------------------------- (c) destination choice


def test_beta_inf_always_picks_the_nearest(tmp_path):
    """A one-row street with a park at each end; 10 residents on each cell in between. The nearer
    park is chosen every time; on the middle cell (equal distance) the lower id."""
    path = write_tiny(
        tmp_path,
        width=21,
        height=1,
        communities=community(1, 0, 190, w=19),
        facilities=facility("park", 0, 0, capacity=1000) + "\n" + facility("park", 20, 0, capacity=1000),
        types=ftype("park", daily_prob=1.0, depart=["07:30", "08:30"], visit_min=10, beta_per_min=math.inf),
    )
    model = LifeCircleModel(path, seed=3, days=2, engine="agents")
    model.run()
    v = visits_of(model)
    assert len(v["resident"]) == 2 * 190
    x = model.population.x[v["resident"]]
    nearest = np.where(x <= 10, 0, 1)
    assert (v["facility"] == nearest).all()


def test_logit_choice_shares(tmp_path):
    """Finite beta: from one home cell the parks are 2 and 5 minutes away (100 m and 250 m at
    50 m/min); P(near) = exp(-2 beta) / (exp(-2 beta) + exp(-5 beta)). The count of 2,000 choices
    must pass an exact two-sided binomial test at level 0.001 (a false alarm in 1 run of 1,000
    seeds if the rule is right)."""
    beta = 0.2
    path = write_tiny(
        tmp_path,
        width=8,
        height=1,
        speeds='{ "0-100" = 50.0 }',
        communities=community(5, 0, 2000),
        facilities=facility("park", 7, 0, capacity=10_000) + "\n" + facility("park", 0, 0, capacity=10_000),
        types=ftype("park", daily_prob=1.0, depart=["07:30", "08:30"], visit_min=10, beta_per_min=beta),
    )
    model = LifeCircleModel(path, seed=4, days=1, engine="agents")
    model.run()
    v = visits_of(model)
    n = len(v["facility"])
    assert n == 2000 and model.unmet_counts().sum() == 0
    near = int((v["facility"] == 0).sum())
    p = math.exp(-beta * 2) / (math.exp(-beta * 2) + math.exp(-beta * 5))  # 0.646
    assert binomtest(near, n, p).pvalue > 0.001, (near / n, p)
    # and the walked minutes are those of the chosen park
    assert np.allclose(v["walk_min"], np.where(v["facility"] == 0, 2.0, 5.0), atol=1e-9)


# --------------------------------------------------------------------------- (d) the cut-off


def test_cutoff_uses_own_walking_time(tmp_path):
    """cutoff 5 min. Young residents walk 100 m/min, old ones 50 m/min. Parks 100 m (1 or 2 min)
    and 400 m (4 or 8 min) away, chosen uniformly (beta 0) among those within the cut-off: the old
    never go to the far park. The only market is 400 m away: every old resident's market visit is
    unmet (and they never leave home for it); every young resident's is served."""
    path = write_tiny(
        tmp_path,
        width=12,
        height=1,
        ages='{ "20-20" = 0.5, "70-70" = 0.5 }',
        speeds='{ "0-59" = 100.0, "60-100" = 50.0 }',
        simulation='day_start = "07:00"\nday_end = "10:00"\ncutoff_min = 5.0',
        communities=community(0, 0, 200),
        facilities="\n".join([facility("park", 2, 0), facility("park", 8, 0), facility("market", 8, 0)]),
        types=ftype("park", daily_prob=1.0, depart=["07:10", "07:20"], visit_min=10, beta_per_min=0.0)
        + ftype("market", daily_prob=1.0, depart=["08:30", "08:40"], visit_min=10, beta_per_min=0.0),
    )
    days = 2
    model = LifeCircleModel(path, seed=6, days=days, engine="agents")
    old = model.population.age == 70
    n_old, n_young = int(old.sum()), int((~old).sum())
    assert n_old > 50 and n_young > 50
    model.run()
    v = visits_of(model)
    park, market = model.type_index["park"], model.type_index["market"]
    visitor_old = old[v["resident"]]
    # parks: the far one (facility 1) only ever by the young, who use both
    assert not ((v["facility"] == 1) & visitor_old).any()
    young_far = int(((v["facility"] == 1) & ~visitor_old).sum())
    assert 0.3 < young_far / (n_young * days) < 0.7
    assert (v["type"] == park).sum() == (n_old + n_young) * days
    # market: served for the young only; the old count it unmet
    unmet = model.unmet_counts()
    assert (v["type"] == market).sum() == n_young * days
    assert not ((v["type"] == market) & visitor_old).any()
    assert (unmet[old, market] == days).all() and (unmet[~old, market] == 0).all()
    assert unmet[:, park].sum() == 0


# --------------------------------------------------------------------------- (e) weekdays


@pytest.mark.parametrize(
    ("first_weekday", "weekday_days"),
    [(5, [2]), (4, [0]), (0, [0, 1, 2])],  # Sat Sun Mon / Fri Sat Sun / Mon Tue Wed
)
def test_weekdays_only_types_rest_at_weekends(tmp_path, first_weekday, weekday_days):
    path = write_tiny(
        tmp_path,
        width=6,
        height=1,
        simulation=f'day_start = "07:00"\nday_end = "10:00"\nfirst_weekday = {first_weekday}',
        communities=community(0, 0, 30),
        facilities=facility("park", 3, 0) + "\n" + facility("market", 5, 0),
        types=ftype("park", daily_prob=1.0, depart=["07:10", "07:20"], visit_min=10, weekdays_only=True)
        + ftype("market", daily_prob=1.0, depart=["08:30", "08:40"], visit_min=10, weekdays_only=False),
    )
    model = LifeCircleModel(path, seed=7, days=3, engine="agents")
    model.run()
    v = visits_of(model)
    day = v["arrive_min"] // 1440
    per_day = defaultdict(Counter)
    for d, t in zip(day, np.asarray(model.city.types)[v["type"]]):
        per_day[t][int(d)] += 1
    assert [per_day["park"][d] for d in range(3)] == [30 if d in weekday_days else 0 for d in range(3)]
    assert [per_day["market"][d] for d in range(3)] == [30, 30, 30]
    assert model.unmet_counts().sum() == 0  # a weekend is not an unmet need
