"""15-minute usage as Abbiasov et al. (2024) define it, beside the own-pace figure, and the crowding of open spaces.

Hand-worked: a fast walker whose market is 1,300 m away walks 13 minutes (within 15 at its own
pace) but the market is not within 15 minutes of home at the reference pace of 80 m/min
(1,200 m); a slow walker whose market is 1,000 m away walks 25 minutes, and the market is local.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.measures.usage import facility_usage, fifteen_minute_usage, people_per_1000m2
from model.model import LifeCircleModel
from tests.conftest import community, facility, ftype, write_tiny


def test_facility_usage_hand_worked():
    # types: market (everyday), primary_school (not), park (everyday, an open space of 4,000 m²)
    out = facility_usage(
        visit_type=np.array([0, 0, 1, 2]),
        walk_min=np.array([5.0, 20.0, 10.0, 3.0]),
        near_home=np.array([True, False, False, True]),
        facility_type=np.array([0, 1, 2, 2]),
        turned_away=np.array([0, 0, 0, 0]),
        turned_away_people=np.array([0, 0, 0]),
        turned_away_visits=np.array([0, 0, 0]),
        peak_occupancy=np.array([3, 40, 30, 50]),
        capacity=np.array([10, 100, 400, 400]),
        area_m2=[None, None, 4000.0],
        unmet=np.array([1, 5, 0]),
        type_names=["market", "primary_school", "park"],
        days=1,
    )
    # over the everyday types together: 3 trips (market 2, park 1), 2 local; 1 unmet of 4 wanted
    assert out["fifteen_minute_usage"] == 2 / 3
    assert out["unmet_share"] == 1 / 4
    assert out["market"]["fifteen_minute_usage"] == 0.5 and out["market"]["own_pace_within_15"] == 0.5
    assert out["primary_school"]["fifteen_minute_usage"] == 0.0  # per type for every type
    assert out["primary_school"]["own_pace_within_15"] == 1.0
    assert out["primary_school"]["unmet_share"] == 5 / 6
    assert out["park"]["peak_people_per_1000m2"] == 50 / 4000 * 1000
    assert "peak_people_per_1000m2" not in out["market"]  # no area: not an open space measured so
    assert list(out)[:2] == ["fifteen_minute_usage", "unmet_share"]


def test_no_everyday_type_no_overall_figures():
    out = facility_usage(
        np.array([0]),
        np.array([4.0]),
        np.array([True]),
        np.array([0]),
        np.array([0]),
        np.array([0]),
        np.array([0]),
        np.array([1]),
        np.array([10]),
        [None],
        np.array([0]),
        ["kindergarten"],
        1,
    )
    assert list(out) == ["kindergarten"]


def test_empty_figures_are_nan():
    assert math.isnan(fifteen_minute_usage([]))
    assert math.isnan(people_per_1000m2([], []))


def market_run(tmp_path, home_x: int, speed: float, reference: float | None = None):
    sim = 'day_start = "07:00"\nday_end = "10:00"\ncutoff_min = 60.0'
    if reference is not None:
        sim += f"\nreference_m_per_min = {reference}"
    path = write_tiny(
        tmp_path,
        width=30,
        height=1,
        communities=community(home_x, 0, 1),
        facilities=facility("market", 0, 0),
        types=ftype("market", daily_prob=1.0, depart=["07:00", "07:10"]),
        speeds=f'{{ "0-100" = {speed} }}',
        simulation=sim,
    )
    model = LifeCircleModel(path, days=1, engine="fast")
    model.run()
    return model.summary()["usage"]


@pytest.mark.parametrize(
    ("home_x", "speed", "reference", "own_pace", "local"),
    [
        (26, 100.0, None, 1.0, 0.0),  # 1,300 m: 13 min at its own pace, beyond 15 x 80 m
        (20, 40.0, None, 0.0, 1.0),  # 1,000 m: 25 min at its own pace, within 15 x 80 m
        (26, 100.0, 100.0, 1.0, 1.0),  # a reference pace of 100 m/min reaches 1,500 m
        (24, 40.0, None, 0.0, 1.0),  # exactly 1,200 m = 15 x 80: the bound is inside
    ],
)
def test_fifteen_minute_usage_at_the_reference_pace(tmp_path, home_x, speed, reference, own_pace, local):
    usage = market_run(tmp_path, home_x, speed, reference)
    market = usage["market"]
    assert market["visits"] == 1
    assert market["own_pace_within_15"] == own_pace
    assert market["fifteen_minute_usage"] == local
    assert usage["fifteen_minute_usage"] == local  # the market is the only everyday type present
    assert usage["unmet_share"] == 0.0
