"""Walking access against independent computations: networkx Dijkstra and hand-worked cases."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from model.city.access import access_minutes, distance_field
from model.city.grid import City, walkable_mask, walking_graph
from model.measures.access import access_summary

SQRT2 = math.sqrt(2)


def make_city(walkable: np.ndarray, cell_m: float = 50.0) -> City:
    import pandas as pd

    h, w = walkable.shape
    return City(w, h, cell_m, walkable, walking_graph(walkable, cell_m), (), pd.DataFrame())


def reference_graph(walkable: np.ndarray, cell_m: float) -> nx.Graph:
    """The walking graph built literally from the rule, one cell at a time."""
    h, w = walkable.shape
    g = nx.Graph()
    for y in range(h):
        for x in range(w):
            if not walkable[y, x]:
                continue
            g.add_node((x, y))
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    if (dx, dy) == (0, 0):
                        continue
                    x2, y2 = x + dx, y + dy
                    if not (0 <= x2 < w and 0 <= y2 < h) or not walkable[y2, x2]:
                        continue
                    if dx and dy and not (walkable[y, x2] and walkable[y2, x]):
                        continue  # no cutting corners
                    g.add_edge((x, y), (x2, y2), weight=cell_m * (SQRT2 if dx and dy else 1.0))
    return g


def test_open_grid_distances_are_octile():
    city = make_city(np.ones((7, 9), dtype=bool), cell_m=10.0)
    field = distance_field(city, [city.cell_of(0, 0)])
    for x in range(9):
        for y in range(7):
            octile = 10.0 * (abs(x - y) + SQRT2 * min(x, y))
            assert field[city.cell_of(x, y)] == pytest.approx(octile, abs=1e-9)


def test_wall_with_gap_forces_detour():
    # A wall in column 2, rows 0..3, leaves a gap at row 4 (the bottom row):
    #   S . # . .
    #   . . # . .
    #   . . # . T
    #   . . # . .
    #   . . . . .
    walkable = walkable_mask(5, 5, [(2, 0, 1, 4)])
    city = make_city(walkable, cell_m=1.0)
    field = distance_field(city, [city.cell_of(0, 0)])
    # Hand-worked: (0,0) -> (1,1) -> (1,2) -> (1,3) -> (2,4) is forbidden? The diagonal
    # (1,3)->(2,4) needs (2,3) [wall] and (1,4) walkable: (2,3) is wall, so it is not allowed.
    # Shortest: (0,0) d (1,1) | (1,2) | (1,3) | (1,4) | (2,4) d (3,3) | (4,2)... to T=(4,2):
    # diagonal (0,0)->(1,1): sqrt2; (1,1)->(1,4): 3; (1,4)->(2,4): 1;
    # (2,4)->(3,3): needs (3,4) and (2,3): (2,3) is wall -> not allowed; so (2,4)->(3,4): 1;
    # (3,4)->(4,3): sqrt2; (4,3)->(4,2): 1.   Total = 6 + 2*sqrt2.
    assert field[city.cell_of(4, 2)] == pytest.approx(6 + 2 * SQRT2)
    # The gap cell itself: sqrt2 + 3 + 1.
    assert field[city.cell_of(2, 4)] == pytest.approx(4 + SQRT2)
    # Blocked cells are unreachable.
    assert np.isinf(field[city.cell_of(2, 0)])


def test_no_corner_cutting_between_diagonal_blocks():
    # Two blocked cells touching at a corner seal the diagonal between them.
    walkable = np.ones((2, 2), dtype=bool)
    walkable[0, 1] = walkable[1, 0] = False
    city = make_city(walkable)
    field = distance_field(city, [city.cell_of(0, 0)])
    assert np.isinf(field[city.cell_of(1, 1)])


def test_enclosed_area_is_unreachable():
    walkable = walkable_mask(7, 7, [(2, 2, 3, 1), (2, 4, 3, 1), (2, 3, 1, 1), (4, 3, 1, 1)])
    city = make_city(walkable)
    field = distance_field(city, [city.cell_of(0, 0)])
    assert np.isinf(field[city.cell_of(3, 3)])
    assert np.isfinite(field[city.cell_of(6, 6)])


@pytest.mark.parametrize("seed", range(6))
def test_multi_source_field_matches_networkx(seed):
    rng = np.random.default_rng(seed)
    h, w = 13, 17
    walkable = rng.random((h, w)) > 0.28
    cell_m = 35.0
    sources = [(int(x), int(y)) for x, y in zip(*np.nonzero(walkable.T)) if rng.random() < 0.03][:4]
    if not sources:
        sources = [tuple(int(v) for v in np.argwhere(walkable.T)[0])]
    city = make_city(walkable, cell_m)
    field = distance_field(city, [city.cell_of(x, y) for x, y in sources])
    g = reference_graph(walkable, cell_m)
    ref = nx.multi_source_dijkstra_path_length(g, sources)
    for y in range(h):
        for x in range(w):
            expected = ref.get((x, y), math.inf)
            got = field[city.cell_of(x, y)]
            if math.isinf(expected):
                assert math.isinf(got), (x, y)
            else:
                assert got == pytest.approx(expected, rel=1e-12), (x, y)


def test_access_minutes_use_each_residents_own_speed():
    field = {"park": np.array([0.0, 600.0, np.inf])}
    minutes = access_minutes(field, np.array([1, 1, 2]), np.array([60.0, 40.0, 78.0]))
    np.testing.assert_allclose(minutes["park"][:2], [10.0, 15.0])
    assert np.isinf(minutes["park"][2])


def test_access_summary_hand_worked():
    # 5 residents; the type is needed by residents 0..3; resident 3 cannot reach it.
    mins = np.array([4.0, 5.0, 12.0, np.inf, 30.0])
    needs = np.array([True, True, True, True, False])
    types, complete = access_summary({"t": mins}, {"t": needs}, {"t": 5.0})
    a = types["t"]
    assert a["users"] == 4 and a["unreachable"] == 1
    assert a["mean_min"] == pytest.approx(7.0)
    assert a["max_min"] == 12.0
    assert a["p90_min"] == pytest.approx(5.0 + 0.8 * 7.0)  # linear percentile of [4, 5, 12]
    assert (a["within_5"], a["within_10"], a["within_15"]) == (0.5, 0.5, 0.75)
    # residents 0, 1 reach within the 5-minute level; 4 needs nothing: 3 of 5 complete
    assert complete == pytest.approx(0.6)


def test_path_trees_give_shortest_paths_both_ways_within_their_memory_bound():
    from model.city.access import PathTrees

    rng = np.random.default_rng(9)
    walkable = rng.random((15, 18)) > 0.25
    city = make_city(walkable, cell_m=40.0)
    g = reference_graph(walkable, 40.0)
    cells = [int(c) for c in np.flatnonzero(walkable.ravel())]
    paths = PathTrees(city, max_trees=3)
    checked = 0
    for _ in range(40):
        a, b = (int(c) for c in rng.choice(cells, 2, replace=False))
        xa, ya = a % city.width, a // city.width
        xb, yb = b % city.width, b // city.width
        if not nx.has_path(g, (xa, ya), (xb, yb)):
            continue
        expected = nx.dijkstra_path_length(g, (xa, ya), (xb, yb))
        for source, target in ((a, b), (b, a)):  # the second direction reads the first's tree backwards
            route, along = paths.path(source, target)
            assert route[0] == source and route[-1] == target
            assert along[0] == 0 and along[-1] == pytest.approx(expected, rel=1e-12)
            for (c1, c2), step in zip(zip(route, route[1:]), np.diff(along)):
                assert g.has_edge((c1 % city.width, c1 // city.width), (c2 % city.width, c2 // city.width))
                assert step == pytest.approx(
                    g.edges[(c1 % city.width, c1 // city.width), (c2 % city.width, c2 // city.width)]["weight"],
                    rel=1e-9,
                )
            assert paths.metres(source, target) == pytest.approx(expected, rel=1e-12)
        checked += 1
        assert len(paths._trees) <= 3
    assert checked > 10
