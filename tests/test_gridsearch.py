"""The numba grid kernels against scipy.sparse.csgraph on the same walking graph."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csgraph

from model.city.grid import walkable_mask, walking_graph
from model.city.gridsearch import PairDistances, bounded_distances


def random_grid(seed, width=23, height=17, density=0.25):
    rng = np.random.default_rng(seed)
    walkable = rng.random((height, width)) > density
    # a wall with one gap, so that some pairs must detour
    walkable[:, width // 2] = False
    walkable[height // 3, width // 2] = True
    return walkable


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("limit_m", [180.0, 600.0, np.inf])
def test_bounded_distances_equal_scipy(seed, limit_m):
    walkable = random_grid(seed)
    cell_m = 50.0
    graph = walking_graph(walkable, cell_m)
    cells = np.flatnonzero(walkable.ravel())
    rng = np.random.default_rng(100 + seed)
    sources = rng.choice(cells, 12, replace=False)
    origins = np.sort(rng.choice(cells, 60, replace=False))
    src, org, metres = bounded_distances(walkable, cell_m, sources, origins, limit_m)
    got = {(int(sources[s]), int(origins[o])): d for s, o, d in zip(src, org, metres)}
    ref = csgraph.dijkstra(graph, directed=False, indices=sources, limit=limit_m)
    for i, s in enumerate(sources):
        for o in origins:
            d = ref[i, o]
            if np.isfinite(d):
                assert got[(int(s), int(o))] == pytest.approx(d, rel=1e-12, abs=1e-9)
            else:
                assert (int(s), int(o)) not in got
    assert len(got) == np.isfinite(ref[:, origins]).sum()


def test_bounded_distances_respects_corners():
    # two blocked cells touching at a corner: the diagonal between them is closed
    walkable = np.ones((2, 2), dtype=bool)
    walkable[0, 1] = walkable[1, 0] = False
    src, org, metres = bounded_distances(walkable, 1.0, np.array([0]), np.array([0, 3]), np.inf)
    assert list(org) == [0]  # only the source itself; cell 3 is unreachable


@pytest.mark.parametrize("seed", range(4))
def test_pair_distances_equal_scipy(seed):
    walkable = random_grid(seed, density=0.15)
    cell_m = 35.0
    graph = walking_graph(walkable, cell_m)
    cells = np.flatnonzero(walkable.ravel())
    rng = np.random.default_rng(seed)
    a = rng.choice(cells, 200)
    b = rng.choice(cells, 200)
    limit = 700.0
    pairs = PairDistances(walkable, cell_m, limit)
    got = pairs.metres(a, b)
    again = pairs.metres(a, b)  # from the cache
    ref = csgraph.dijkstra(graph, directed=False, indices=np.unique(b))
    row = {int(c): i for i, c in enumerate(np.unique(b))}
    for k in range(a.size):
        d = ref[row[int(b[k])], a[k]]
        expected = d if d <= limit else np.inf
        if np.isinf(expected):
            assert np.isinf(got[k])
        else:
            assert got[k] == pytest.approx(expected, rel=1e-12)
    np.testing.assert_array_equal(got, again)


def test_pair_distances_octile_in_open_rectangles():
    walkable = walkable_mask(30, 20, [(25, 0, 1, 20)])
    pairs = PairDistances(walkable, 10.0, 1e9)
    a = np.array([0, 0, 5 * 30 + 3])
    b = np.array([0, 19 * 30 + 7, 2 * 30 + 20])
    # hand-worked: (0,0)->(0,0) = 0; (0,0)->(7,19): 12 straight + 7 diagonal; (3,5)->(20,2): 14 + 3 diagonal
    expected = [0.0, 10 * (12 + 7 * np.sqrt(2)), 10 * (14 + 3 * np.sqrt(2))]
    np.testing.assert_allclose(pairs.metres(a, b), expected, rtol=1e-12)
