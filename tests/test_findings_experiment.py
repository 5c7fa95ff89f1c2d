"""experiments/findings.py: the layout perturbation and the interval it reports, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments.findings import mean_ci, perturb_layout, tables
from model.city.grid import walkable_mask
from model.scenario import load_scenario


@pytest.mark.parametrize("seed", [1, 2])
def test_perturbed_layout_moves_each_facility_within_reach_onto_walkable_cells(seed):
    spec = load_scenario("wuhai_life_circle")
    moved = perturb_layout(spec, 150.0, seed)
    grid = spec.grid
    walkable = walkable_mask(grid.width, grid.height, grid.blocked)
    assert len(moved.facilities) == len(spec.facilities)
    shifts = []
    for old, new in zip(spec.facilities, moved.facilities):
        assert (new.type, new.capacity, new.name) == (old.type, old.capacity, old.name)
        d_m = math.hypot(new.x - old.x, new.y - old.y) * grid.cell_m
        assert d_m <= 150.0 + 1e-9
        assert walkable[new.y, new.x]
        shifts.append(d_m)
    assert max(shifts) > 0  # something moved
    again = perturb_layout(spec, 150.0, seed)
    assert again.facilities == moved.facilities  # the same seed, the same layout


def test_mean_ci_is_students_t_by_hand():
    # values 1, 2, 3: mean 2, sd 1, t(0.975, 2) = 4.302652729749464 (tables of Student's t)
    m, lo, hi = mean_ci([1.0, 2.0, 3.0, math.nan])
    half = 4.302652729749464 / math.sqrt(3)
    assert m == pytest.approx(2.0)
    assert (lo, hi) == pytest.approx((2.0 - half, 2.0 + half))
    assert math.isnan(mean_ci([5.0])[1]) and mean_ci([5.0])[0] == 5.0


def test_paired_difference_is_per_seed():
    key = "mixing.activity.multigroup_dissimilarity"
    rows = [
        {"variation": "catalogue", "seed": s, "agent": {key: a}, "static": {key: b}}
        for s, a, b in [(1, 0.10, 0.08), (2, 0.20, 0.17), (3, 0.30, 0.29)]
    ]
    e = tables(rows, ["catalogue"])[key]["per_variation"]["catalogue"]
    assert e["difference"][0] == pytest.approx(np.mean([0.02, 0.03, 0.01]))
    assert e["agent"][0] == pytest.approx(0.2) and e["static"][0] == pytest.approx((0.08 + 0.17 + 0.29) / 3)
