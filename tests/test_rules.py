"""The rulebook (model/simulation/rules.py) and the clock on hand-worked cases and brute force.

06:00-22:00 days of 1-minute ticks unless a test says otherwise: tick k of day 0 starts at
06:00 + k minutes, and the day's last tick is 959.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest

from model.scenario import Simulation, load_scenario
from model.simulation import rules
from model.simulation.choice import nearest_first
from model.simulation.clock import Clock

CLOCK = Clock(Simulation())  # 960 ticks a day
DEMO = load_scenario("demo")
NAMES = ["park", "market", "kindergarten"]
TABLE = rules.TypeTable.from_types([DEMO.types[t] for t in NAMES])
PARK, MARKET, KINDERGARTEN = 0, 1, 2  # park: visit 45, patience 5, closes 22:00 (tick 960);
# market: visit 30, patience 10, closes 21:00 (tick 900)


def test_the_type_table_holds_the_catalogue_entries():
    park = DEMO.types["park"]
    assert TABLE.names == tuple(NAMES)
    assert (TABLE.visit_min[PARK], TABLE.patience_min[PARK], TABLE.close_min[PARK]) == (45, 5, 22 * 60)
    assert (TABLE.visit_min[MARKET], TABLE.patience_min[MARKET], TABLE.close_min[MARKET]) == (30, 10, 21 * 60)
    assert (TABLE.age_lo[PARK], TABLE.age_hi[PARK]) == (park.ages.lo, park.ages.hi)
    assert math.isinf(TABLE.beta_per_min[KINDERGARTEN])
    assert list(TABLE.name_rank) == [2, 1, 0]  # kindergarten < market < park


def test_ticks_days_and_minutes():
    assert CLOCK.ticks_per_day == 960
    assert CLOCK.minute_of_day(960 + 90) == 7 * 60 + 30
    assert CLOCK.run_minute(960 + 90) == 1440 + 90
    assert CLOCK.tick_at(1, 6 * 60 + 30) == 990
    assert CLOCK.is_last_tick_of_day(959) and not CLOCK.is_last_tick_of_day(960)
    assert CLOCK.first_tick(1500) == 960 and CLOCK.last_tick(1500) == 1919
    assert CLOCK.is_weekend(5) and CLOCK.is_weekend(6) and not CLOCK.is_weekend(7)


def test_walks_round_up_to_whole_ticks_with_one_tolerance():
    assert rules.whole_ticks(0.0, 1) == 0
    assert rules.whole_ticks(5.0, 1) == 5
    assert rules.whole_ticks(5.0 + 1e-12, 1) == 5  # rounding noise of a path sum stays at 5
    assert rules.whole_ticks(5.01, 1) == 6
    assert list(rules.whole_ticks(np.array([4.9, 5.0, 5.1]), 5)) == [1, 1, 2]
    assert math.isinf(rules.ticks_for(math.inf, 1))


def test_needs_follow_the_age_bands():
    ages = np.array([0, 3, 30, 70])
    got = rules.needs(ages, TABLE)
    for i, a in enumerate(ages):
        for t, name in enumerate(NAMES):
            assert got[i, t] == DEMO.types[name].ages.contains(int(a))
    assert got[1, KINDERGARTEN] and not got[2, KINDERGARTEN]


def test_opening_hours():
    assert rules.is_open(21 * 60 - 1, TABLE, MARKET) and not rules.is_open(21 * 60, TABLE, MARKET)
    opens = TABLE.open_min[MARKET]
    assert not rules.is_open(opens - 1, TABLE, MARKET) and rules.is_open(opens, TABLE, MARKET)
    assert list(rules.is_open(np.array([600, 1300]), TABLE, np.array([MARKET, PARK]))) == [True, True]


def test_weekday_only_types_are_not_wanted_at_weekends():
    table = rules.TypeTable.from_types([DEMO.types["park"], DEMO.types["primary_school"]])
    assert list(rules.wanted_today(table, weekend=False)) == [True, True]
    assert list(rules.wanted_today(table, weekend=True)) == [True, not DEMO.types["primary_school"].weekdays_only]


def test_plan_order_is_by_resident_then_tick_then_type_id():
    # the catalogue's park has two windows (0 and 1), the market and the kindergarten one each
    assert list(TABLE.window_type) == [PARK, PARK, MARKET, KINDERGARTEN]
    owner = np.array([1, 0, 0, 0, 1])
    tick = np.array([5, 9, 3, 3, 5])
    kind = np.array([PARK, PARK, MARKET, KINDERGARTEN, KINDERGARTEN])
    order = rules.plan_order(owner, tick, TABLE.window_start[kind], TABLE)
    got = [(owner[i], tick[i], NAMES[kind[i]]) for i in order]
    assert got == sorted(zip(owner.tolist(), tick.tolist(), (NAMES[k] for k in kind)))


def test_windows_are_numbered_type_by_type_and_ties_go_to_the_earlier_window():
    """A type with two windows: its windows get consecutive numbers in time order; two entries of
    one resident in the same tick (both windows clipped to the day's start) keep window order."""
    park = replace(DEMO.types["park"], depart_windows=((6 * 60, 6 * 60 + 45), (18 * 60 + 30, 20 * 60)))
    table = rules.TypeTable.from_types([DEMO.types["market"], park, DEMO.types["kindergarten"]])
    assert list(table.window_type) == [0, 1, 1, 2]
    assert [list(table.windows_of(t)) for t in range(3)] == [[0], [1, 2], [3]]
    assert list(table.window_lo) == [6 * 60 + 30, 6 * 60, 18 * 60 + 30, 7 * 60 + 30]
    owner = np.array([0, 0, 0, 0])
    tick = np.array([0, 0, 0, 7])
    window = np.array([2, 1, 3, 0])  # park (evening), park (morning), kindergarten, market
    got = [int(window[i]) for i in rules.plan_order(owner, tick, window, table)]
    assert got == [3, 1, 2, 0]  # tick 0: kindergarten < park (A-Z), then the park's morning first


def test_trip_fits_before_closing_and_before_the_day_ends():
    # market closes at tick 900: arriving at 899 is fine, at 900 not
    assert rules.trip_fits(CLOCK, 890, 9.0, 1.0, TABLE, MARKET)
    assert not rules.trip_fits(CLOCK, 890, 10.0, 1.0, TABLE, MARKET)
    # park: start + there + 45 + back must be <= 959
    assert rules.trip_fits(CLOCK, 900, 7.0, 7.0, TABLE, PARK)  # 900 + 7 + 45 + 7 = 959
    assert not rules.trip_fits(CLOCK, 900, 7.5, 7.0, TABLE, PARK)  # 900 + 8 + 45 + 7 = 960
    assert not rules.trip_fits(CLOCK, 100, math.inf, 3.0, TABLE, PARK)  # unreachable never fits
    fits = rules.trip_fits(CLOCK, np.array([900, 900]), np.array([7.0, np.inf]), 7.0, TABLE, PARK)
    assert list(fits) == [True, False]


@pytest.mark.parametrize("tick_min", [1, 2, 5])
def test_the_walk_limit_is_trip_fits_for_the_same_walk_both_ways(tick_min):
    """Destination choice uses rules.walk_limit_min; it must admit exactly the walks that trip_fits
    admits there and back, cut-off aside: brute force over start ticks and walks around every
    tick boundary, in every type, at every tick length."""
    clock = Clock(Simulation(tick_min=tick_min))
    cutoff = 1e9
    eps = 1e-12
    starts = np.arange(0, clock.ticks_per_day, 7)
    base = np.arange(0, 400, tick_min, dtype=float)
    walks = np.unique(np.concatenate([base, base + eps, base - eps, base + 0.5, [0.0]]))
    walks = walks[walks >= 0]
    for t in range(len(TABLE)):
        s, m = np.meshgrid(starts, walks, indexing="ij")
        expected = rules.trip_fits(clock, s, m, m, TABLE, t)
        got = rules.usable(m, rules.walk_limit_min(clock, s, cutoff, TABLE, t))
        assert np.array_equal(got, expected), NAMES[t]
        assert expected.any() and not expected.all()
    # and the cut-off bounds it
    assert not rules.usable(31.0, rules.walk_limit_min(CLOCK, 100, 30.0, TABLE, PARK))


def test_give_up_and_leave_ticks():
    # patience 10: a waiter who arrived at 100 gives up at 110
    assert rules.give_up_tick(CLOCK, 100, 5.0, TABLE, MARKET) == 110
    # near closing, at closing (tick 900)
    assert rules.give_up_tick(CLOCK, 895, 5.0, TABLE, MARKET) == 900
    # near the day's end: only the walk home and one tick of visit still fit (959 - 12 - 1)
    assert rules.give_up_tick(CLOCK, 945, 12.0, TABLE, PARK) == 946  # (patience would say 950)
    # a visit lasts its 45 minutes, or ends at closing, or in time to walk home by tick 959
    assert rules.leave_tick(CLOCK, 100, 5.0, TABLE, PARK) == 145
    assert rules.leave_tick(CLOCK, 880, 5.0, TABLE, MARKET) == 900
    assert rules.leave_tick(CLOCK, 930, 20.0, TABLE, PARK) == 939
    assert rules.leave_tick(CLOCK, 950, 20.0, TABLE, PARK) == 951  # never before admission + 1


@pytest.mark.parametrize("compiled", [True, False], ids=["numba", "python"])
def test_nearest_first_is_a_sort_by_minutes_then_id(compiled):
    rank = nearest_first if compiled else rules.nearest_first
    rng = np.random.default_rng(1)
    for _ in range(300):
        n = int(rng.integers(1, 9))
        ids = rng.permutation(20)[:n].astype(np.int64)
        minutes = rng.integers(0, 4, n).astype(float)  # many ties
        k = int(rng.integers(1, n + 1))
        expected = sorted(range(n), key=lambda q: (minutes[q], ids[q]))[:k]
        assert list(rank(ids, minutes, k)) == expected


def test_nearest_first_on_every_order_of_a_tie():
    for perm in itertools.permutations(range(4)):
        ids = np.array([10, 11, 12, 13], dtype=np.int64)[list(perm)]
        minutes = np.array([2.0, 1.0, 1.0, 1.0])[list(perm)]
        got = ids[nearest_first(ids, minutes, 4)]
        assert list(got) == [11, 12, 13, 10]
