"""The timing rules of model/clock.py on hand-worked cases (06:00-22:00 days of 1-minute ticks)."""

from __future__ import annotations

import math

import numpy as np

from model.clock import Clock
from model.scenario import Simulation, load_scenario

CLOCK = Clock(Simulation())  # 960 ticks a day, tick k = 06:00 + k minutes
PARK = load_scenario("demo").types["park"]  # visit 45 min, patience 5, closes 22:00 (tick 960)
MARKET = load_scenario("demo").types["market"]  # visit 30, patience 10, closes 21:00 (tick 900)


def test_ticks_days_and_minutes():
    assert CLOCK.ticks_per_day == 960
    assert CLOCK.minute_of_day(960 + 90) == 7 * 60 + 30
    assert CLOCK.run_minute(960 + 90) == 1440 + 90
    assert CLOCK.tick_at(1, 6 * 60 + 30) == 990
    assert CLOCK.is_last_tick_of_day(959) and not CLOCK.is_last_tick_of_day(960)
    assert CLOCK.is_weekend(5) and CLOCK.is_weekend(6) and not CLOCK.is_weekend(7)


def test_walks_round_up_to_whole_ticks_with_a_tolerance():
    assert CLOCK.walk_ticks(0.0) == 0
    assert CLOCK.walk_ticks(5.0) == 5
    assert CLOCK.walk_ticks(5.0 + 1e-12) == 5  # rounding noise of a path sum stays at 5
    assert CLOCK.walk_ticks(5.01) == 6
    assert list(Clock(Simulation(tick_min=5)).walk_ticks(np.array([4.9, 5.0, 5.1]))) == [1, 1, 2]


def test_trip_fits_before_closing_and_before_the_day_ends():
    # market closes at tick 900: arriving at 899 is fine, at 900 not
    assert CLOCK.trip_fits(890, 9.0, 1.0, MARKET)
    assert not CLOCK.trip_fits(890, 10.0, 1.0, MARKET)
    # park: start + there + 45 + back must be <= 959
    assert CLOCK.trip_fits(900, 7.0, 7.0, PARK)  # 900 + 7 + 45 + 7 = 959
    assert not CLOCK.trip_fits(900, 7.5, 7.0, PARK)  # 900 + 8 + 45 + 7 = 960
    assert not CLOCK.trip_fits(100, math.inf, 3.0, PARK)  # unreachable never fits
    assert list(CLOCK.trip_fits(np.array([900, 900]), np.array([7.0, np.inf]), 7.0, PARK)) == [True, False]


def test_give_up_and_leave_ticks():
    # patience 10: a waiter who arrived at 100 gives up at 110
    assert CLOCK.give_up_tick(100, MARKET, 5.0) == 110
    # near closing, at closing (tick 900)
    assert CLOCK.give_up_tick(895, MARKET, 5.0) == 900
    # near the day's end: only the walk home and one tick of visit still fit (959 - 12 - 1)
    assert CLOCK.give_up_tick(945, PARK, 12.0) == 946  # (patience would say 950)
    # a visit lasts its 45 minutes, or ends at closing, or in time to walk home by tick 959
    assert CLOCK.leave_tick(100, PARK, 5.0) == 145
    assert CLOCK.leave_tick(880, MARKET, 5.0) == 900
    assert CLOCK.leave_tick(930, PARK, 20.0) == 939
    assert CLOCK.leave_tick(950, PARK, 20.0) == 951  # never before admission + 1
