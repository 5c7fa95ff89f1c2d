"""Mixing at matched scales: relative exposure, experienced isolation, coverage, dissimilarity, catchment exposure.

Hand-worked visit logs and corridors where the answer is known by calculation (two groups
sharing a facility, a resident alone, a group absent, nobody co-present, nobody within a walk),
and catchment exposure against networkx on random grids with walls.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from model.city.surface import GridSurface
from model.measures.activity import activity_mixing, presence_table
from model.measures.catchment import catchment_exposure, neighbours_within
from model.measures.segregation import multigroup_dissimilarity, relative_exposure
from model.measures.walks import home_neighbours
from tests.test_access import make_city, reference_graph

# --------------------------------------------------------------------------- relative exposure


def test_relative_exposure_hand_worked():
    assert relative_exposure(0.5, 0.75) == 2.0  # half the company out-group, where chance gives a quarter
    assert relative_exposure(0.9, 0.1) == pytest.approx(1.0)  # as mixed as chance
    assert math.isnan(relative_exposure(float("nan"), 0.1))
    assert math.isnan(relative_exposure(0.0, 1.0))  # the group is everyone: no random out-group


# --------------------------------------------------------------------------- activity


def test_activity_figures_hand_worked():
    # residents 0, 1 (group a) and 2 (b) share facility 0 for minutes 0-9; resident 3 (a) is
    # alone at facility 1 for minutes 0-4. Shares of all residents: a 3/4, b 1/4.
    # e: r0 and r1 meet (a, b) half and half; r2 meets a only.
    act = activity_mixing(
        resident=[0, 1, 2, 3],
        facility=[0, 0, 0, 1],
        arrive_min=[0, 0, 0, 0],
        leave_min=[10, 10, 10, 5],
        group_of=[0, 0, 1, 0],
        group_names=["a", "b"],
        n_residents=4,
        days=1,
    )
    assert act["exposure"] == {"a": 0.5, "b": 1.0}
    assert act["relative_exposure"] == {"a": 0.5 / (1 - 0.75), "b": 1.0 / (1 - 0.25)}
    # Athey et al.: a's exposure to a (1/2) minus everyone else's exposure to a (r2: 1);
    # b's exposure to b (0) minus everyone else's exposure to b (r0, r1: 1/2)
    assert act["experienced_isolation"] == {"a": -0.5, "b": -0.5}
    assert act["coverage"] == 0.75  # resident 3 never had company
    assert act["coverage_by_group"] == {"a": 2 / 3, "b": 1.0}
    # person-minutes: facility 0 (a 20, b 10), facility 1 (a 5, b 0). T = 35, pi = (5/7, 2/7),
    # I = 2 (5/7)(2/7) = 20/49; spread = 30 (1/21 + 1/21) + 5 (2/7 + 2/7) = 120/21;
    # D = (120/21) / (2 * 35 * 20/49) = 0.2
    assert act["multigroup_dissimilarity"] == pytest.approx(0.2, abs=1e-15)


def test_activity_dissimilarity_is_the_residential_formula_on_person_minutes():
    rng = np.random.default_rng(3)
    n = 80
    facility, group = rng.integers(0, 6, n), rng.integers(0, 3, n)
    arrive = rng.integers(0, 100, n)
    leave = arrive + rng.integers(0, 40, n)
    table = presence_table(facility, arrive, leave, group, 3)
    expected = np.zeros((6, 3), dtype=np.int64)
    np.add.at(expected, (facility, group), leave - arrive)
    np.testing.assert_array_equal(
        table, expected[expected.sum(axis=1) > 0] if (expected.sum(axis=1) > 0).all() else table
    )
    act = activity_mixing(np.arange(n), facility, arrive, leave, group, ["x", "y", "z"], n, 1)
    assert act["multigroup_dissimilarity"] == multigroup_dissimilarity(expected)


def test_nobody_co_present_and_a_group_absent():
    # a and b use one facility one after the other; c has no residents
    act = activity_mixing([0, 1], [0, 0], [0, 10], [10, 20], [0, 1], ["a", "b", "c"], 2, 1)
    assert act["coverage"] == 0.0
    assert act["coverage_by_group"]["a"] == 0.0 and math.isnan(act["coverage_by_group"]["c"])
    for key in ("exposure", "relative_exposure", "experienced_isolation"):
        assert all(math.isnan(v) for v in act[key].values()), key
    assert act["multigroup_dissimilarity"] == 0.0  # both groups spent 10 minutes at the one facility
    empty = activity_mixing([], [], [], [], [0, 1], ["a", "b"], 2, 1)
    assert empty["coverage"] == 0.0 and math.isnan(empty["multigroup_dissimilarity"])


# --------------------------------------------------------------------------- catchment exposure


def test_catchment_exposure_hand_worked_on_a_corridor():
    # a corridor of 40 cells of 50 m. r0 (a, 50 m/min: 750 m) and r1 (b, 10 m/min: 150 m) live
    # at x = 0, r2 (b, 50 m/min) at x = 10 (500 m away), r3 (a, 50 m/min) at x = 30 (1,000 m
    # from r2, 1,500 m from the others: nobody within its walk).
    city = make_city(np.ones((1, 40), dtype=bool))
    cell, group = np.array([0, 0, 10, 30]), np.array([0, 1, 1, 0])
    pace = np.array([50.0, 10.0, 50.0, 50.0])
    neighbours = home_neighbours(GridSurface(city), cell, group, pace, 2, 15.0)
    # itself included: r0 sees r0, r1, r2; r1 sees r0, r1; r2 sees all three; r3 only itself
    np.testing.assert_array_equal(neighbours, [[1, 2], [1, 1], [1, 2], [1, 0]])
    # r0: b, b -> 1; r1: a -> 1; r2: a, b -> 1/2; r3 left out
    assert catchment_exposure(neighbours, group, ["a", "b"]) == {"a": 1.0, "b": 0.75}
    # at exactly the bound: 750 m at 50 m/min is 15.0 minutes, inside
    edge = home_neighbours(GridSurface(city), np.array([0, 15]), np.array([0, 1]), np.array([50.0, 50.0]), 2, 15.0)
    np.testing.assert_array_equal(edge, [[1, 1], [1, 1]])


def test_nobody_within_the_walk_gives_nan():
    neighbours = np.array([[1, 0], [0, 1]])  # each alone with itself
    out = catchment_exposure(neighbours, np.array([0, 1]), ["a", "b"])
    assert math.isnan(out["a"]) and math.isnan(out["b"])


def test_neighbours_within_any_order_of_pairs():
    # one source cell with three residents; pairs to cells 0 (itself), 1, 2 given out of order
    counts = np.array([[2, 1], [0, 3], [4, 0]])
    out = neighbours_within([0, 3], [2, 0, 1], [300.0, 0.0, 150.0], counts, [0, 3], [10.0, 20.0, 10.0], 15.0)
    # 10 m/min: 150 m inside (15 min), 300 m not; 20 m/min: all three
    np.testing.assert_array_equal(out, [[2, 4], [6, 4], [2, 4]])


@pytest.mark.parametrize("seed", range(4))
def test_catchment_exposure_against_networkx(seed):
    rng = np.random.default_rng(seed)
    height, width = 9, 14
    walkable = rng.random((height, width)) > 0.3
    city = make_city(walkable, cell_m=40.0)
    graph = reference_graph(walkable, 40.0)
    cells = np.flatnonzero(walkable.ravel())
    n = 70
    cell = rng.choice(cells, n)
    group = rng.integers(0, 3, n)
    pace = rng.uniform(8.0, 30.0, n)  # walks of 120 to 450 m: part of the grid
    walk = 15.0
    got = home_neighbours(GridSurface(city), cell, group, pace, 3, walk)
    xy = [(c % width, c // width) for c in cell]
    shares = {g: [] for g in range(3)}
    for r in range(n):
        reach = nx.single_source_dijkstra_path_length(graph, xy[r])
        near = [s for s in range(n) if xy[s] in reach and reach[xy[s]] / pace[r] <= walk]
        assert got[r].tolist() == [sum(group[s] == g for s in near) for g in range(3)], r
        others = [s for s in near if s != r]
        if others:
            shares[group[r]].append(sum(group[s] != group[r] for s in others) / len(others))
    expected = {name: (np.mean(shares[g]) if shares[g] else float("nan")) for g, name in enumerate("abc")}
    out = catchment_exposure(got, group, ["a", "b", "c"])
    for name, value in expected.items():
        assert out[name] == pytest.approx(value, rel=1e-12, nan_ok=True), name
    assert sum(len(s) for s in shares.values()) > n / 2  # most residents have someone within their walk
