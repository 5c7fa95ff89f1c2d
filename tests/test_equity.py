"""Equity of walking access: the Gini coefficient of users' minutes, coverage by group and age band.

Hand-worked values, the Gini coefficient against the pairwise definition, and every figure of
summary.json recomputed from a run's residents.csv with pandas.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tomllib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.measures.access import access_summary, within
from model.measures.equity import access_by, age_band_index, gini
from tests.conftest import read_exact_csv, write_small


def pairwise_gini(x) -> float:
    """Gini's mean difference over twice the mean: Σ_i Σ_j |x_i − x_j| / (2 n² mean)."""
    n = len(x)
    return sum(abs(a - b) for a in x for b in x) / (2 * n * sum(x))


# --------------------------------------------------------------------------- gini


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([3.0, 3.0, 3.0, 3.0], 0.0),  # everyone walks as far
        ([0.0, 0.0, 0.0, 1.0], 0.75),  # (2*4 - 4 - 1) * 1 / (4 * 1)
        ([1.0, 2.0, 3.0], 2 / 9),  # ((-2) * 1 + 0 * 2 + 2 * 3) / (3 * 6)
        ([3.0, 1.0, 2.0], 2 / 9),  # any order
        ([0.0, 0.0], 0.0),  # nobody walks: 0 by definition
        ([7.5], 0.0),
    ],
)
def test_gini_hand_worked(values, expected):
    assert gini(values) == pytest.approx(expected, abs=1e-15)


def test_gini_of_nobody_is_nan():
    assert math.isnan(gini([]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=120, allow_nan=False), min_size=1, max_size=40))
def test_gini_equals_the_pairwise_definition(values):
    if sum(values) == 0:
        assert gini(values) == 0.0
    else:
        assert gini(values) == pytest.approx(pairwise_gini(values), rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------- by group, by age band


def test_access_by_part_hand_worked():
    # six residents: minutes, who uses the type, group (0, 1; group 2 has nobody)
    minutes = np.array([2.0, 6.0, np.inf, 4.0, 9.0, 1.0])
    needs = np.array([True, True, True, True, True, False])
    group = np.array([0, 0, 0, 1, 1, 1])
    out = access_by(minutes, needs, 5.0, group, ["a", "b", "absent"])
    assert list(out) == ["a", "b", "absent"]
    # a: 2, 6 and unreachable: mean of the reachable 4.0, within 5 minutes 1 of 3
    assert out["a"] == {"users": 3, "mean_min": 4.0, "within_level": 1 / 3}
    # b: 4 and 9 (resident 5 does not use the type)
    assert out["b"] == {"users": 2, "mean_min": 6.5, "within_level": 0.5}
    assert out["absent"] == {"users": 0, "mean_min": None, "within_level": None}


def test_age_bands_and_within_level():
    age = np.array([0, 9, 10, 59, 60, 100])
    np.testing.assert_array_equal(age_band_index(age, [(0, 9), (10, 59), (60, 99)]), [0, 0, 1, 1, 2, -1])
    mins = np.array([4.0, 5.0, 12.0, np.inf, 30.0])
    needs = np.array([True, True, True, True, False])
    types, _ = access_summary({"t": mins}, {"t": needs}, {"t": 5.0})
    assert types["t"]["within_level"] == 0.5  # 4 and 5 of 4 users; the unreachable one counts
    assert list(types["t"])[:2] == ["users", "within_level"]  # the headline comes first
    types, _ = access_summary({"t": mins}, {"t": needs}, {"t": 12.0})
    assert types["t"]["within_level"] == 0.75
    assert within(np.array([]), 5.0) is None


# --------------------------------------------------------------------------- from the run's files


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("equity")
    out = base / "out"
    done = subprocess.run(
        [sys.executable, "-m", "model.cli", "run", str(write_small(base, residents=300)), "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return out


def test_equity_recomputes_from_residents_csv(run):
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    scenario = tomllib.loads((run / "scenario.toml").read_text(encoding="utf-8"))
    residents = read_exact_csv(run / "residents.csv", keep_default_na=False, na_values=[""])
    bands = [tuple(int(a) for a in band.split("-")) for band in scenario["population"]["ages"]]
    groups = sorted(set(residents["group"]))
    checked = 0
    for t, a in summary["access"].items():
        spec = scenario["facility_types"][t]
        lo, hi, level = *spec["ages"], spec["level_min"]
        users = residents[(residents["age"] >= lo) & (residents["age"] <= hi)]
        mins = users[f"min_{t}"]
        assert a["within_level"] == pytest.approx((mins <= level).sum() / len(users), abs=1e-15)
        reach = sorted(mins.dropna())
        assert a["gini_min"] == pytest.approx(pairwise_gini(reach), rel=1e-9)
        assert set(a["by_group"]) == set(groups)
        for g, part in a["by_group"].items():
            mine = users[users["group"] == g][f"min_{t}"]
            assert part["users"] == len(mine)
            assert part["mean_min"] == pytest.approx(mine.mean(), rel=1e-12)
            assert part["within_level"] == pytest.approx((mine <= level).mean(), abs=1e-15)
        # every band of population.ages that overlaps the type's ages, in order, and no other
        assert list(a["by_age"]) == [f"{b0}-{b1}" for b0, b1 in bands if b0 <= hi and b1 >= lo]
        for band, part in a["by_age"].items():
            b0, b1 = (int(v) for v in band.split("-"))
            mine = users[(users["age"] >= b0) & (users["age"] <= b1)][f"min_{t}"]
            assert part["users"] == len(mine)
            if len(mine):
                assert part["within_level"] == pytest.approx((mine <= level).mean(), abs=1e-15)
                assert part["mean_min"] == pytest.approx(mine.mean(), rel=1e-12)
            else:
                assert part["within_level"] is None and part["mean_min"] is None
        checked += 1
    assert checked == 3
    # coverage.csv's within_level by age band is the summary's by_age figure (one computation)
    coverage = read_exact_csv(run / "coverage.csv")
    for row in coverage.itertuples():
        part = summary["access"][row.type]["by_age"][row.age_band]
        assert (row.users, row.within_level) == (part["users"], part["within_level"])
