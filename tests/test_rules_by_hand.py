"""Every hand-worked case of the rules, on both engines.

Tiny scenarios written here, where the answer is known by calculation: walking times, queues at
a full facility, giving up, next choices with ``tries`` from 1 to 5, closing time, the end of the
day, a walk of zero length, destination choice, the cut-off, weekdays, two departure windows a day
(a visit in each, none in the gap, a delayed plan made in the gap). Every test runs on the
agents engine and on the fast engine (the ``engine`` fixture), through the interface both
implement, so a rule that one engine stops applying fails here.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
import pytest
from scipy.stats import binomtest

from model.model import LifeCircleModel
from model.simulation.rules import State
from tests.conftest import CELL_M, chebyshev, community, facility, ftype, visits_of, write_tiny


@pytest.fixture(params=["agents", "fast"])
def engine(request):
    """Both engines."""
    return request.param


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
def test_one_walk_by_hand(tmp_path, engine, blocked, metres, tick_min, expected):
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
    model = LifeCircleModel(path, seed=1, days=1, engine=engine)
    assert model.population.m_per_min[0] == 60.0 and model.population.node[0] == 0
    fac_cell = model.city.facilities["node"][0]
    walkable = model.city.walkable.reshape(-1)
    bound = math.ceil(60.0 * tick_min / CELL_M) + 1
    states, prev = [], 0
    while model.running:
        model.step()
        state, position = model.resident_states()[0], model.positions()[0]
        assert walkable[position]
        assert chebyshev(model, np.array([prev]), np.array([position]))[0] <= bound
        prev = position
        states.append(state)
        if state == State.VISITING:
            assert position == fac_cell
        if state == State.HOME:
            assert position == 0
    dep, arrive, leave, home = expected
    want = [State.HOME] * dep + [State.WALKING] * (arrive - dep) + [State.VISITING] * (leave - arrive)
    want += [State.WALKING] * (home - leave) + [State.HOME] * (len(states) - home)
    assert [int(s) for s in states] == [int(s) for s in want]
    v = visits_of(model)
    assert list(v["facility"]) == [0]
    assert v["arrive_min"][0] == arrive * tick_min and v["leave_min"][0] == leave * tick_min
    assert v["walk_min"][0] == pytest.approx(metres / 60.0, abs=1e-9)


# --------------------------------------------------------------------------- (b) a full facility


def queue_scenario(tmp_path, *, patience, tries, visit_min=30, second_capacity=None, open_space=False):
    """Five residents on one cell leave at 08:00 for the nearest park (150 m = 3 min at 50 m/min),
    capacity 1, not an open space unless asked; an optional second park 150 m further on (6 min
    from home)."""
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
            open_space=open_space,
        ),
    )


def test_an_open_space_turns_nobody_away(tmp_path, engine):
    """The queue of the test below, at a park that is an open space: all five are admitted at once."""
    model = LifeCircleModel(
        queue_scenario(tmp_path, patience=0, tries=1, open_space=True), seed=2, days=1, engine=engine
    )
    model.run()
    totals = model.facility_totals()
    v = visits_of(model)
    assert totals["visits"][0] == 5 and totals["turned_away"][0] == 0
    assert totals["peak_occupancy"][0] == 5  # five present at once where the capacity says 1
    assert list(v["arrive_min"]) == [63] * 5 and list(v["leave_min"]) == [93] * 5
    assert model.unmet_counts().sum() == 0


def test_full_facility_patience_zero_turns_all_but_one_away(tmp_path, engine):
    model = LifeCircleModel(queue_scenario(tmp_path, patience=0, tries=1), seed=2, days=1, engine=engine)
    model.run()
    totals = model.facility_totals()
    v = visits_of(model)
    # all five arrive in tick 60 + 3 = 63; one is admitted, four give up at once and go home
    assert totals["visits"][0] == 1 and len(v["resident"]) == 1
    assert list(v["arrive_min"]) == [63] and list(v["leave_min"]) == [93]
    assert totals["turned_away"][0] == 4
    assert totals["peak_occupancy"][0] == 1
    assert model.unmet_counts().sum() == 4
    assert sorted(model.unmet_counts()[:, 0]) == [0, 1, 1, 1, 1]
    assert model.unmet_counts()[v["resident"][0], 0] == 0


@pytest.mark.parametrize(
    ("second_capacity", "second_visits", "unmet"),
    [(10, 4, 0), (1, 1, 3)],
)
def test_turned_away_go_on_to_the_second_choice(tmp_path, engine, second_capacity, second_visits, unmet):
    path = queue_scenario(tmp_path, patience=0, tries=2, second_capacity=second_capacity)
    model = LifeCircleModel(path, seed=2, days=1, engine=engine)
    model.run()
    visits, turned = model.facility_totals()["visits"], model.facility_totals()["turned_away"]
    v = visits_of(model)
    assert (visits[0], turned[0]) == (1, 4)
    assert (visits[1], turned[1]) == (second_visits, 4 - second_visits)
    assert model.unmet_counts().sum() == unmet
    first = v["facility"] == 0
    second = v["facility"] == 1
    assert list(v["arrive_min"][first]) == [63]
    # turned away in tick 63, they leave in tick 64 and walk 3 min to the second park
    assert list(v["arrive_min"][second]) == [67] * second_visits
    assert v["walk_min"][first] == pytest.approx([3.0], abs=1e-9)
    assert v["walk_min"][second] == pytest.approx([6.0] * second_visits, abs=1e-9)  # both legs
    assert set(v["resident"][first]).isdisjoint(v["resident"][second])


def test_patience_lets_the_queue_wait(tmp_path, engine):
    """Capacity 1, visits of 5 min, patience 10 min, five arrive in tick 63: admitted at 63, 68
    and 73 (the third exactly when its patience runs out); the last two give up at 73."""
    path = queue_scenario(tmp_path, patience=10, tries=1, visit_min=5)
    model = LifeCircleModel(path, seed=2, days=1, engine=engine)
    waiting = []
    while model.running:
        model.step()
        waiting.append(int((model.resident_states() == State.WAITING).sum()))
    v = visits_of(model)
    assert sorted(v["arrive_min"]) == [63, 68, 73]
    assert sorted(v["leave_min"]) == [68, 73, 78]
    assert model.facility_totals()["turned_away"][0] == 2
    assert model.unmet_counts().sum() == 2
    assert waiting[63] == 4 and waiting[68] == 3 and waiting[72] == 3 and waiting[73] == 0


# --------------------------------------------------------------------------- (c) destination choice


def test_beta_inf_always_picks_the_nearest(tmp_path, engine):
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
    model = LifeCircleModel(path, seed=3, days=2, engine=engine)
    model.run()
    v = visits_of(model)
    assert len(v["resident"]) == 2 * 190
    x = model.population.x[v["resident"]]
    nearest = np.where(x <= 10, 0, 1)
    assert (v["facility"] == nearest).all()


def test_logit_choice_shares(tmp_path, engine):
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
    model = LifeCircleModel(path, seed=4, days=1, engine=engine)
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


def test_cutoff_uses_own_walking_time(tmp_path, engine):
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
    model = LifeCircleModel(path, seed=6, days=days, engine=engine)
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
def test_weekdays_only_types_rest_at_weekends(tmp_path, engine, first_weekday, weekday_days):
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
    model = LifeCircleModel(path, seed=7, days=3, engine=engine)
    model.run()
    v = visits_of(model)
    day = v["arrive_min"] // 1440
    per_day = defaultdict(Counter)
    for d, t in zip(day, np.asarray(model.city.types)[v["type"]]):
        per_day[t][int(d)] += 1
    assert [per_day["park"][d] for d in range(3)] == [30 if d in weekday_days else 0 for d in range(3)]
    assert [per_day["market"][d] for d in range(3)] == [30, 30, 30]
    assert model.unmet_counts().sum() == 0  # a weekend is not an unmet need


# --------------------------------------------------------------------------- (f) closing time

# The park closes at 09:00 here; the day runs 07:00-10:00, so tick k starts at 07:00 + k min and
# the park is closed from tick 120. Homes at (0, 1), the park at (3, 1): 150 m, 3 min at 50 m/min.


def closing_scenario(tmp_path, *, residents, depart, capacity=100, patience=0):
    return write_tiny(
        tmp_path,
        width=6,
        height=3,
        speeds='{ "0-100" = 50.0 }',
        communities=community(0, 1, residents),
        facilities=facility("park", 3, 1, capacity=capacity),
        types=ftype(
            "park",
            open_space=False,  # capacity is enforced: not an open space
            daily_prob=1.0,
            open="07:00",
            close="09:00",
            depart=[depart, depart],
            visit_min=30,
            beta_per_min=math.inf,
            patience_min=patience,
            tries=1,
        ),
    )


def test_closing_time_cuts_a_visit_short(tmp_path, engine):
    """Leave at 08:40 (tick 100), arrive 103, admitted 103; the 30-minute visit would end at 133
    but the park closes at tick 120: out at 120, home at 123."""
    model = LifeCircleModel(closing_scenario(tmp_path, residents=1, depart="08:40"), seed=1, engine=engine)
    states = []
    while model.running:
        model.step()
        states.append(int(model.resident_states()[0]))
    v = visits_of(model)
    assert (list(v["arrive_min"]), list(v["leave_min"])) == ([103], [120])
    assert states[102] == State.WALKING and states[103] == State.VISITING
    assert states[119] == State.VISITING and states[120] == State.WALKING and states[123] == State.HOME


def test_no_departure_that_would_arrive_after_closing(tmp_path, engine):
    """Leave at 08:58 (tick 118): arrival at 121 is after closing (120), so the trip does not fit;
    the resident never leaves home and the visit is unmet."""
    model = LifeCircleModel(closing_scenario(tmp_path, residents=3, depart="08:58"), seed=1, engine=engine)
    ever_out = False
    while model.running:
        model.step()
        ever_out |= bool((model.resident_states() != State.HOME).any())
    assert not ever_out
    assert len(visits_of(model)["resident"]) == 0
    assert list(model.unmet_counts()[:, 0]) == [1, 1, 1]


def test_waiters_give_up_at_closing_time(tmp_path, engine):
    """Capacity 1, patience 60 min: two arrive at 103, one is admitted; the other would wait until
    163 but gives up when the park closes at 120 (and the visitor leaves then)."""
    path = closing_scenario(tmp_path, residents=2, depart="08:40", capacity=1, patience=60)
    model = LifeCircleModel(path, seed=1, engine=engine)
    waiting = []
    while model.running:
        model.step()
        waiting.append(int((model.resident_states() == State.WAITING).sum()))
    v = visits_of(model)
    assert (list(v["arrive_min"]), list(v["leave_min"])) == ([103], [120])
    assert waiting[103] == 1 and waiting[119] == 1 and waiting[120] == 0
    assert model.facility_totals()["turned_away"][0] == 1
    assert model.unmet_counts().sum() == 1


# --------------------------------------------------------------------------- (g) the end of the day


def end_of_day_scenario(tmp_path, *, residents, visit_min, market=False):
    """Day 07:00-10:00 (last tick 179). Park (capacity 1, patience 30) 3 min from home, departures
    at 09:30 (tick 150); with ``market``, a market 2 min away wanted at 09:59 (tick 179)."""
    types = ftype(
        "park",
        open_space=False,  # capacity is enforced: not an open space
        daily_prob=1.0,
        depart=["09:30", "09:30"],
        visit_min=visit_min,
        beta_per_min=math.inf,
        patience_min=30,
        tries=1,
    )
    facilities = facility("park", 3, 1, capacity=1)
    if market:
        types += ftype("market", daily_prob=1.0, depart=["09:59", "09:59"], beta_per_min=math.inf, tries=1)
        facilities += "\n" + facility("market", 2, 1, capacity=100)
    return write_tiny(
        tmp_path,
        width=6,
        height=3,
        speeds='{ "0-100" = 50.0 }',
        communities=community(0, 1, residents),
        facilities=facilities,
        types=types,
    )


def test_no_trip_that_would_end_after_the_day(tmp_path, engine):
    """Leave at 150, arrive 153, 30 minutes' visit, 3 back: home at 186, after the last tick 179."""
    path = end_of_day_scenario(tmp_path, residents=2, visit_min=30)
    model = LifeCircleModel(path, seed=1, engine=engine)
    model.run()
    assert len(visits_of(model)["resident"]) == 0
    assert list(model.unmet_counts()[:, 0]) == [1, 1]


def test_the_end_of_the_day_cuts_visits_and_waits_and_plans(tmp_path, engine):
    """Three residents, 20-minute visits, capacity 1, patience 30, all arrive at 153 (the trip fits:
    153 + 20 + 3 = 176 <= 179).

    - the first is admitted at 153 and leaves at 173, home at 176;
    - the second is admitted at 173 when the first leaves; its visit would last to 193, but it
      leaves at 176 to be home by the last tick (179 - 3 back);
    - the third would wait until 183 (patience), but gives up at 175, when only the walk home
      and one tick of visit would still fit (179 - 3 - 1); it walks home from 176 to 179.
    The market visit wanted at tick 179 is unmet for everyone: the first is home and the trip
    no longer fits; the other two are still walking home at the check, so the plan is never
    started and counts as unmet at the day's end.
    """
    path = end_of_day_scenario(tmp_path, residents=3, visit_min=20, market=True)
    model = LifeCircleModel(path, seed=1, engine=engine)
    park, market = model.type_index["park"], model.type_index["market"]
    states = []
    while model.running:
        model.step()
        states.append(model.resident_states())
    v = visits_of(model)
    assert sorted(zip(v["arrive_min"].tolist(), v["leave_min"].tolist())) == [(153, 173), (173, 176)]
    assert list(model.facility_totals()["turned_away"]) == [1, 0]  # facility 0 is the park
    unmet = model.unmet_counts()
    assert sorted(unmet[:, park]) == [0, 0, 1] and list(unmet[:, market]) == [1, 1, 1]
    assert (states[-1] == State.HOME).all()
    assert int((states[178] == State.WALKING).sum()) == 2  # the second and third, on their way home


# --------------------------------------------------------------------------- (h) a walk of zero length


def test_a_walk_of_zero_length_arrives_and_is_admitted_in_the_same_tick(tmp_path, engine):
    """Home and park on the same cell: leave at 08:00 (tick 60), arrive and be admitted in tick 60,
    leave at 90 and be home in the same tick."""
    path = write_tiny(
        tmp_path,
        width=4,
        height=1,
        communities=community(2, 0, 1),
        facilities=facility("park", 2, 0),
        types=ftype("park", daily_prob=1.0, depart=["08:00", "08:00"], visit_min=30, beta_per_min=math.inf),
    )
    model = LifeCircleModel(path, seed=1, engine=engine)
    states = []
    while model.running:
        model.step()
        states.append(int(model.resident_states()[0]))
    assert states == [State.HOME] * 60 + [State.VISITING] * 30 + [State.HOME] * (180 - 90)
    v = visits_of(model)
    assert (list(v["arrive_min"]), list(v["leave_min"]), list(v["walk_min"])) == ([60], [90], [0.0])


# --------------------------------------------------------------------------- (i) tries 1 to 5


@pytest.mark.parametrize("tries", [1, 2, 3, 4, 5])
def test_each_try_goes_on_to_the_next_nearest(tmp_path, engine, tries):
    """Six residents at (0, 1); five parks of capacity 1 at x = 2, 4, 6, 8, 10 (2, 4, ..., 10 min
    at 50 m/min; 2 min apart); patience 0, nearest first. All reach park 1 at 08:02 (tick 62): one
    stays, five are turned away and walk on from 63 to park 2 (arrive 65), and so on: park j is
    reached at 62 + 3 (j - 1) after j walks of 2 minutes. With ``tries`` = k, parks 1..k get one
    visitor each, 6 - j are turned away at park j, and 6 - k go home unserved."""
    parks = "\n".join(facility("park", x, 1, capacity=1) for x in (2, 4, 6, 8, 10))
    path = write_tiny(
        tmp_path,
        width=12,
        height=3,
        speeds='{ "0-100" = 50.0 }',
        communities=community(0, 1, 6),
        facilities=parks,
        types=ftype(
            "park",
            open_space=False,  # capacity is enforced: not an open space
            daily_prob=1.0,
            depart=["08:00", "08:00"],
            visit_min=30,
            beta_per_min=math.inf,
            patience_min=0,
            tries=tries,
        ),
    )
    model = LifeCircleModel(path, seed=3, engine=engine)
    model.run()
    v = visits_of(model)
    order = np.argsort(v["facility"])
    assert list(v["facility"][order]) == list(range(tries))
    assert list(v["arrive_min"][order]) == [62 + 3 * j for j in range(tries)]
    assert v["walk_min"][order] == pytest.approx([2.0 * (j + 1) for j in range(tries)], abs=1e-9)
    totals = model.facility_totals()
    assert list(totals["turned_away"]) == [6 - (j + 1) if j < tries else 0 for j in range(5)]
    assert model.unmet_counts().sum() == 6 - tries
    assert len(set(v["resident"])) == tries


# --------------------------------------------------------------------------- (j) two windows a day

# A park 300 m from home (exactly 5.0 min at 60 m/min), room for everyone, nearest first; the day
# runs 07:00-11:00, so tick k starts at 07:00 + k minutes and visit minutes below are ticks.


def windows_scenario(tmp_path, *, residents, park_windows, daily_prob=1.0, market=None):
    """Residents on cell (0, 0); a park at (6, 0); with ``market`` (its window), a market at (0, 6)."""
    types = ftype("park", daily_prob=daily_prob, visit_min=30, beta_per_min=math.inf, capacity=10_000)
    types += f"depart = {park_windows}\n"
    facilities = facility("park", 6, 0)
    if market is not None:
        types += ftype("market", daily_prob=1.0, depart=[market, market], visit_min=40, beta_per_min=math.inf)
        facilities += "\n" + facility("market", 0, 6)
    return write_tiny(
        tmp_path,
        width=7,
        height=7,
        communities=community(0, 0, residents),
        facilities=facilities,
        types=types,
        simulation='day_start = "07:00"\nday_end = "11:00"',
    )


def test_two_windows_give_one_visit_in_each_and_none_in_the_gap(tmp_path, engine):
    """Windows 07:10-07:20 and 08:30-08:40, daily_prob 1: every resident goes twice, leaving at a
    minute of each window, arriving 5 minutes later (ticks 15..25 and 95..105); nobody arrives in
    the gap between them. Both windows' departure minutes are drawn uniformly: each of the 11
    minutes of a window is chosen by 300 residents with probability 1/11, so its count must
    pass a two-sided binomial test (Bonferroni over 22 minutes, family-wise level 0.001)."""
    path = windows_scenario(tmp_path, residents=300, park_windows='[["07:10", "07:20"], ["08:30", "08:40"]]')
    model = LifeCircleModel(path, seed=8, days=1, engine=engine)
    model.run()
    v = visits_of(model)
    assert len(v["resident"]) == 600 and model.unmet_counts().sum() == 0
    arrive = v["arrive_min"]
    for r in range(300):  # one visit in each window, none in the gap
        early, late = sorted(arrive[v["resident"] == r].tolist())
        assert 15 <= early <= 25 and 95 <= late <= 105
    counts = Counter((arrive - 5).tolist())
    for minute in [*range(10, 21), *range(90, 101)]:
        assert binomtest(counts[minute], 300, 1 / 11).pvalue > 0.001 / 22, minute


def test_each_window_is_its_own_chance(tmp_path, engine):
    """daily_prob 0.3 in each of two windows: the visits of each window and the residents who go
    in both are binomial (n = 2,000; p = 0.3, 0.3 and 0.09 when the draws are independent),
    each count tested at level 0.001 / 3."""
    path = windows_scenario(
        tmp_path, residents=2000, park_windows='[["07:10", "07:20"], ["08:30", "08:40"]]', daily_prob=0.3
    )
    model = LifeCircleModel(path, seed=9, days=1, engine=engine)
    model.run()
    v = visits_of(model)
    morning = set(v["resident"][v["arrive_min"] < 60].tolist())
    evening = set(v["resident"][v["arrive_min"] >= 60].tolist())
    assert len(morning) + len(evening) == len(v["resident"])  # one visit per window at most
    for k, p in ((len(morning), 0.3), (len(evening), 0.3), (len(morning & evening), 0.09)):
        assert binomtest(k, 2000, p).pvalue > 0.001 / 3, (k, p)


def test_a_plan_delayed_into_the_gap_is_kept_and_the_next_window_still_comes(tmp_path, engine):
    """One resident; market at 07:50 (5 min away, 40-minute visit); park windows at 08:00 and 09:30.

    - market: leave 50, arrive 55, visit to 95, home at 100;
    - the park's 08:00 plan (tick 60) falls while it is out: it is kept and started in the tick
      after it is home, 101, in the gap between the windows: arrive 106, visit to 136, home 141;
    - the 09:30 window (tick 150) then starts on time: arrive 155, visit to 185, home 190.
    """
    path = windows_scenario(
        tmp_path, residents=1, park_windows='[["08:00", "08:00"], ["09:30", "09:30"]]', market="07:50"
    )
    model = LifeCircleModel(path, seed=1, days=1, engine=engine)
    states = []
    while model.running:
        model.step()
        states.append(int(model.resident_states()[0]))
    v = visits_of(model)
    got = sorted(zip(v["arrive_min"].tolist(), v["leave_min"].tolist(), np.asarray(model.city.types)[v["type"]]))
    assert got == [(55, 95, "market"), (106, 136, "park"), (155, 185, "park")]
    assert states[100] == State.HOME and states[101] == State.WALKING  # leaves the tick after it is home
    assert states[141] == states[149] == State.HOME and states[150] == State.WALKING
    assert model.unmet_counts().sum() == 0
