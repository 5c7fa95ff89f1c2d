"""The walking surfaces (model/city/surface.py): hand-worked cases on both, networkx and brute force
as references for the street surface, and the grid surface against today's grid functions, bit for bit.

The hand-worked cases are built twice, as a grid and as the street network of the same cells
(nodes at the cell centres, the grid's steps as edges), so the same expectations hold for both.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import model.city.surface as surface_module
from model.city.access import PathTrees, distance_field, nearest_source
from model.city.build import build
from model.city.candidates import facility_reach
from model.city.grid import City, block_cells_of, build_city, walking_graph
from model.city.gridsearch import bounded_distances
from model.city.surface import GridSurface, StreetSurface, WalkingSurface, unit_keys
from model.measures.segregation import block_keys, count_table
from model.scenario import load_scenario

SQRT2 = math.sqrt(2.0)


# --- building the same small surfaces as a grid and as a street network -----------------------


def tiny_city(walkable, cell_m: float) -> City:
    walkable = np.asarray(walkable, dtype=bool)
    height, width = walkable.shape
    facilities = pd.DataFrame({"id": [], "type": [], "name": [], "x": [], "y": [], "capacity": [], "node": []})
    return City(width, height, cell_m, walkable, walking_graph(walkable, cell_m), (), facilities)


def street_of_city(city: City) -> StreetSurface:
    """The grid's walking graph as a street network: cell centres as nodes, its steps as edges."""
    coo = sparse.triu(city.graph + city.graph.T).tocoo()  # each step once, whichever way it was stored
    ys, xs = np.divmod(np.arange(city.n_cells), city.width)
    xy = np.column_stack([(xs + 0.5) * city.cell_m, (ys + 0.5) * city.cell_m])
    return StreetSurface.from_edges(xy, coo.row, coo.col, coo.data)


def both(walkable, cell_m):
    city = tiny_city(walkable, cell_m)
    return [GridSurface(city), street_of_city(city)]


SURFACE_KINDS = ["grid", "street"]


def make(kind, walkable, cell_m) -> WalkingSurface:
    grid, street = both(walkable, cell_m)
    return grid if kind == "grid" else street


# --- hand-worked cases, on both surfaces ------------------------------------------------------


@pytest.mark.parametrize("kind", SURFACE_KINDS)
def test_four_node_path(kind):
    s = make(kind, [[1, 1, 1, 1]], 10.0)  # nodes at x = 5, 15, 25, 35 m
    assert s.n_nodes == 4
    np.testing.assert_array_equal(s.node_xy_m, [[5, 5], [15, 5], [25, 5], [35, 5]])
    np.testing.assert_array_equal(s.distance_field([0]), [0, 10, 20, 30])
    np.testing.assert_array_equal(s.distance_field([0, 3]), [0, 10, 10, 0])
    np.testing.assert_array_equal(s.distance_field([0], limit_m=15), [0, 10, np.inf, np.inf])
    metres, src = s.nearest_source([3, 0, 3])
    np.testing.assert_array_equal(metres, [0, 10, 10, 0])
    assert src[0] == 0 and src[1] == 0 and src[3] == 3 and src[2] in (0, 3)
    row, node, m = s.within([0, 3], 15.0)
    assert sorted(zip(row.tolist(), node.tolist(), m.tolist())) == [(0, 0, 0), (0, 1, 10), (1, 2, 10), (1, 3, 0)]
    nodes, along = s.path(0, 3)
    np.testing.assert_array_equal(nodes, [0, 1, 2, 3])
    np.testing.assert_array_equal(along, [0, 10, 20, 30])
    nodes, along = s.path(3, 1)
    np.testing.assert_array_equal(nodes, [3, 2, 1])
    np.testing.assert_array_equal(along, [0, 10, 20])
    nodes, along = s.path(2, 2)
    assert nodes.tolist() == [2] and along.tolist() == [0]
    node, conn = s.snap([16.0, 0.0, 35.0], [7.0, 5.0, 5.0])
    assert node.tolist() == [1, 0, 3]
    np.testing.assert_allclose(conn, [math.hypot(1, 2), 5, 0])
    assert s.components().tolist() == [0, 0, 0, 0]
    assert s.main_component.all()


@pytest.mark.parametrize("kind", SURFACE_KINDS)
def test_square_with_diagonals(kind):
    s = make(kind, [[1, 1], [1, 1]], 100.0)  # 0 1 / 2 3: sides of 100 m, diagonals of 141.4 m
    field = s.distance_field([0])
    np.testing.assert_allclose(field, [0, 100, 100, 100 * SQRT2], rtol=1e-15)
    nodes, along = s.path(0, 3)
    assert nodes.tolist() == [0, 3]
    np.testing.assert_allclose(along, [0, 100 * SQRT2], rtol=1e-15)
    row, node, m = s.within([1], 100.0)
    assert sorted(node.tolist()) == [0, 1, 3] and sorted(m.tolist()) == [0, 100, 100]


def test_street_square_with_one_long_diagonal_goes_round():
    xy = [[0, 0], [100, 0], [100, 100], [0, 100]]
    s = StreetSurface.from_edges(xy, [0, 1, 2, 3, 0], [1, 2, 3, 0, 2], [100, 100, 100, 100, 250])
    assert s.distance_field([0])[2] == 200  # round two sides, not the 250 m diagonal way
    nodes, along = s.path(0, 2)
    assert nodes.tolist() in ([0, 1, 2], [0, 3, 2]) and along.tolist() == [0, 100, 200]
    s = StreetSurface.from_edges(xy, [0, 1, 2, 3, 0], [1, 2, 3, 0, 2], [100, 100, 100, 100, 150])
    assert s.distance_field([0])[2] == 150
    assert s.path(2, 0)[0].tolist() == [2, 0]


@pytest.mark.parametrize("kind", SURFACE_KINDS)
def test_disconnected_nodes(kind):
    # cells 0-1-2 joined; 3 blocked (no edge); 4 walkable but cut off by 3
    s = make(kind, [[1, 1, 1, 0, 1]], 10.0)
    labels = s.components()
    assert labels[0] == labels[1] == labels[2] and len({labels[0], labels[3], labels[4]}) == 3
    assert s.main_component.tolist() == [True, True, True, False, False]
    np.testing.assert_array_equal(s.distance_field([0]), [0, 10, 20, np.inf, np.inf])
    # a source off the main component reaches only itself
    np.testing.assert_array_equal(s.distance_field([4]), [np.inf, np.inf, np.inf, np.inf, 0])
    metres, src = s.nearest_source([0, 4])
    assert src.tolist() == [0, 0, 0, -1, 4] and metres[3] == np.inf
    with pytest.raises(ValueError, match="reached|connected"):
        s.path(0, 4)
    row, node, m = s.within([4, 3], 1000.0)
    assert list(zip(row.tolist(), node.tolist(), m.tolist())) == [(0, 4, 0), (1, 3, 0)]
    # a point at node 4 joins the main component at node 2, 20 m away
    node, conn = s.snap(45.0, 5.0, among=s.main_component)
    assert node.shape == () and int(node) == 2 and float(conn) == 20


def test_snap_defaults_differ_where_the_grid_is_blocked():
    grid, street = both([[1, 1, 1, 0, 1]], 10.0)
    assert grid.snap(33.0, 5.0)[0].tolist() == 2  # x = 33 lies in blocked cell 3: nearest walkable centre 25 m
    assert grid.snap(33.0, 5.0)[1].tolist() == 8
    assert street.snap(33.0, 5.0)[0].tolist() == 3  # every street node may be joined
    assert grid.snap(-100.0, 5.0)[0].tolist() == 0  # outside the grid: nearest walkable cell


@pytest.mark.parametrize("kind", SURFACE_KINDS)
def test_empty_sources_and_limit_zero(kind):
    s = make(kind, [[1, 1, 1, 1]], 10.0)
    assert np.isinf(s.distance_field([])).all()
    metres, src = s.nearest_source(np.array([], dtype=np.int64))
    assert np.isinf(metres).all() and (src == -1).all()
    row, node, m = s.within([], 100.0)
    assert row.size == node.size == m.size == 0
    np.testing.assert_array_equal(s.distance_field([1], limit_m=0), [np.inf, 0, np.inf, np.inf])
    row, node, m = s.within([2, 1], 0.0)
    assert row.tolist() == [0, 1] and node.tolist() == [2, 1] and m.tolist() == [0, 0]
    node, conn = s.snap([], [])
    assert node.size == 0 and conn.size == 0


@pytest.mark.parametrize("kind", SURFACE_KINDS)
def test_bad_arguments(kind):
    s = make(kind, [[1, 1, 1, 1]], 10.0)
    with pytest.raises(ValueError, match="source 4 .*not a node"):
        s.distance_field([0, 4])
    with pytest.raises(ValueError, match="origin -1"):
        s.within([-1], 10.0)
    with pytest.raises(ValueError, match="whole node numbers"):
        s.distance_field([0.5])
    with pytest.raises(ValueError, match="limit_m"):
        s.distance_field([0], limit_m=-1)
    with pytest.raises(ValueError, match="limit_m"):
        s.within([0], float("nan"))
    with pytest.raises(ValueError, match="unique and sorted"):
        s.within([0], 10.0, targets=[2, 1])
    with pytest.raises(ValueError, match="finite"):
        s.snap([float("nan")], [0.0])
    with pytest.raises(ValueError, match="shape"):
        s.snap([0.0, 1.0], [0.0])
    with pytest.raises(ValueError, match="size_m"):
        s.units(0)


@pytest.mark.parametrize("kind", SURFACE_KINDS)
def test_within_targets(kind):
    s = make(kind, [[1, 1, 1, 1]], 10.0)
    row, node, m = s.within([0, 3], 25.0, targets=[1, 3])
    assert sorted(zip(row.tolist(), node.tolist(), m.tolist())) == [(0, 1, 10), (1, 1, 20), (1, 3, 0)]


@pytest.mark.parametrize("kind", SURFACE_KINDS)
def test_units_on_hand(kind):
    s = make(kind, [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1]], 100.0)  # centres x 50 .. 450, y 50, 150
    keys = s.units(200.0)
    # columns 0, 0, 1, 1, 2 in both rows; all in row 0: (0,0) (1,0) (2,0) -> 0, 1, 2
    assert keys.tolist() == [0, 0, 1, 1, 2, 0, 0, 1, 1, 2]
    assert unit_keys([2, 0, 1, 0], [5, 7, 5, 5]).tolist() == [6, 2, 3, 0]  # sorts as (column, row)


# --- the street surface's own edge cases ------------------------------------------------------


def test_duplicate_edges_keep_the_shortest_either_way_round():
    s = StreetSurface.from_edges([[0, 0], [10, 0], [20, 0]], [0, 1, 0, 1, 2], [1, 0, 1, 2, 2], [10, 4, 7, 6, 1])
    assert s.graph_m.nnz == 2  # one edge 0-1 (the 4 m one) and 1-2; the loop 2-2 dropped
    np.testing.assert_array_equal(s.distance_field([0]), [0, 4, 10])


def test_zero_length_edges_are_edges():
    s = StreetSurface.from_edges([[0, 0], [0, 0], [5, 0], [9, 9]], [0, 1], [1, 2], [0.0, 5.0])
    np.testing.assert_array_equal(s.distance_field([0]), [0, 0, 5, np.inf])
    nodes, along = s.path(0, 2)
    assert nodes.tolist() == [0, 1, 2] and along.tolist() == [0, 0, 5]
    assert s.main_component.tolist() == [True, True, True, False]
    row, node, m = s.within([0], 0.0)
    assert node.tolist() == [0, 1] and m.tolist() == [0, 0]


@pytest.mark.parametrize(
    ("lengths", "bad"),
    [([1.0, -2.0, 3.0], 1), ([1.0, 2.0, float("nan")], 2), ([float("inf"), 1.0, 1.0], 0)],
)
def test_bad_lengths_name_the_edge(lengths, bad):
    with pytest.raises(ValueError, match=rf"^edge {bad} \(.*length"):
        StreetSurface.from_edges([[0, 0], [1, 0], [2, 0]], [0, 1, 0], [1, 2, 2], lengths)


def test_bad_edges_and_nodes():
    xy = [[0, 0], [1, 0], [2, 0]]
    with pytest.raises(ValueError, match=r"^edge 1 \(1, 3\) names a node"):
        StreetSurface.from_edges(xy, [0, 1], [1, 3], [1, 1])
    with pytest.raises(ValueError, match="differ in length"):
        StreetSurface.from_edges(xy, [0, 1], [1], [1, 1])
    with pytest.raises(ValueError, match="node 1 has coordinates"):
        StreetSurface.from_edges([[0, 0], [np.nan, 0]], [0], [1], [1])
    with pytest.raises(ValueError, match="shape"):
        StreetSurface.from_edges([0, 1, 2], [0], [1], [1])
    with pytest.raises(ValueError, match="repeated ids"):
        StreetSurface.from_edges(xy, [0], [1], [1], node_id=[7, 7, 8])


def osmnx_like(seed=3, n=60):
    """A MultiDiGraph as osmnx gives one after project_graph: OSM ids, x/y and length in metres."""
    rng = np.random.default_rng(seed)
    xy, u, v, length = random_street_edges(rng, n)
    ids = rng.choice(10**10, n, replace=False) + 10**9
    g = nx.MultiDiGraph(crs="EPSG:32649")
    for i in range(n):
        g.add_node(int(ids[i]), x=float(xy[i, 0]), y=float(xy[i, 1]))
    for a, b, d in zip(u, v, length):
        g.add_edge(int(ids[a]), int(ids[b]), length=float(d))
        g.add_edge(int(ids[b]), int(ids[a]), length=float(d))  # osmnx: both directions of a two-way street
    return g, ids, (xy, u, v, length)


def test_from_networkx_keeps_ids_and_equals_from_edges():
    g, ids, (xy, u, v, length) = osmnx_like()
    s = StreetSurface.from_networkx(g)
    ref = StreetSurface.from_edges(xy, u, v, length)
    assert s.node_id.tolist() == [int(i) for i in ids]
    np.testing.assert_array_equal(s.node_index(ids[[5, 0]]), [5, 0])
    np.testing.assert_array_equal(s.node_xy_m, xy)
    np.testing.assert_array_equal(s.distance_field([0, 7]), ref.distance_field([0, 7]))
    with pytest.raises(ValueError, match="not in the graph"):
        s.node_index([1])


def test_from_networkx_refuses_degrees_and_missing_attributes():
    g, ids, _ = osmnx_like()
    g.graph["crs"] = "epsg:4326"
    with pytest.raises(ValueError, match="project it"):
        StreetSurface.from_networkx(g)
    g.graph["crs"] = "EPSG:32649"
    a, b, k = next(iter(g.edges(keys=True)))
    del g.edges[a, b, k]["length"]
    with pytest.raises(ValueError, match=rf"^edge 0 \({a}, {b}\) has no 'length'"):
        StreetSurface.from_networkx(g)
    h = nx.Graph()
    h.add_node("a", x=0.0)
    with pytest.raises(ValueError, match="node 'a'"):
        StreetSurface.from_networkx(h)


# --- the street surface against networkx and brute force on random street graphs -------------


def random_street_edges(rng, n, side_m=1000.0, radius_m=150.0):
    """Random geometric street graph: points in a square, ways between points closer than radius_m.

    A way is longer than the straight line by a random detour factor; some ways appear twice
    with other lengths (either way round), a few have length 0, a few are loops.
    """
    xy = rng.random((n, 2)) * side_m
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    u, v = np.nonzero(np.triu(d < radius_m, k=1))
    length = d[u, v] * rng.uniform(1.0, 1.4, u.size)
    dup = rng.choice(u.size, u.size // 10, replace=False)
    zero = rng.choice(u.size, 3, replace=False)
    loops = rng.choice(n, 3, replace=False)
    u2 = np.concatenate([u, v[dup], u[zero], loops])
    v2 = np.concatenate([v, u[dup], v[zero], loops])
    length2 = np.concatenate([length, length[dup] * rng.uniform(0.5, 1.5, dup.size), np.zeros(3), np.ones(3)])
    return xy, u2, v2, length2


def reference_graph(n, u, v, length):
    g = nx.MultiGraph()  # parallel edges kept: networkx's Dijkstra takes the shortest of them
    g.add_nodes_from(range(n))
    for a, b, d in zip(u.tolist(), v.tolist(), length.tolist()):
        g.add_edge(a, b, length=d)
    return g


SEEDS = range(6)


@pytest.fixture(params=SEEDS)
def street(request):
    rng = np.random.default_rng(request.param)
    n = 120
    xy, u, v, length = random_street_edges(rng, n)
    return StreetSurface.from_edges(xy, u, v, length), reference_graph(n, u, v, length), rng


@pytest.mark.parametrize("limit_m", [0.0, 240.0, math.inf])
def test_street_distance_field_equals_networkx(street, limit_m):
    s, g, rng = street
    sources = rng.choice(s.n_nodes, 3, replace=False)
    got = s.distance_field(sources, limit_m=limit_m)
    ref = nx.multi_source_dijkstra_path_length(g, set(sources.tolist()), cutoff=limit_m, weight="length")
    expected = np.full(s.n_nodes, np.inf)
    expected[list(ref)] = list(ref.values())
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
    assert np.array_equal(np.isinf(got), np.isinf(expected))


def test_street_nearest_source_equals_networkx(street):
    s, g, rng = street
    sources = rng.choice(s.n_nodes, 4, replace=False)
    metres, src = s.nearest_source(sources)
    ref = nx.multi_source_dijkstra_path_length(g, set(sources.tolist()), weight="length")
    from_each = {int(t): nx.single_source_dijkstra_path_length(g, int(t), weight="length") for t in sources}
    for node in range(s.n_nodes):
        if node in ref:
            assert metres[node] == pytest.approx(ref[node], rel=1e-12)
            assert from_each[int(src[node])][node] == pytest.approx(ref[node], rel=1e-12)  # the nearest, or as near
        else:
            assert metres[node] == np.inf and src[node] == -1


@pytest.mark.parametrize("limit_m", [0.0, 180.0, 500.0, math.inf])
def test_street_within_equals_networkx(street, limit_m):
    s, g, rng = street
    origins = rng.choice(s.n_nodes, 15)  # repeats allowed
    row, node, metres = s.within(origins, limit_m)
    assert (np.diff(row) >= 0).all()
    for k, o in enumerate(origins.tolist()):
        mine = row == k
        ref = nx.single_source_dijkstra_path_length(g, o, cutoff=limit_m, weight="length")
        assert sorted(node[mine].tolist()) == sorted(ref)
        np.testing.assert_allclose(metres[mine], [ref[x] for x in node[mine].tolist()], rtol=1e-12)
        order = np.lexsort((node[mine], metres[mine]))
        assert (order == np.arange(order.size)).all()  # nearest first, ties by node


def test_street_within_over_threads_equals_one_search_after_another(street, monkeypatch):
    s, _, rng = street
    origins = rng.choice(s.n_nodes, 40)
    monkeypatch.setattr(surface_module, "_THREADED_SEARCHES", 10**9)  # one call, one thread
    whole = s.within(origins, 400.0, targets=np.arange(0, s.n_nodes, 3))
    monkeypatch.setattr(surface_module, "_THREADED_SEARCHES", 1)
    monkeypatch.setattr(surface_module, "_CHUNKS_PER_THREAD", 7)  # many chunks, over the threads
    chunked = s.within(origins, 400.0, targets=np.arange(0, s.n_nodes, 3))
    for a, b in zip(whole, chunked):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert (whole[1] % 3 == 0).all() and whole[0].size > 0


def test_street_path_equals_networkx(street):
    s, g, rng = street
    main = np.flatnonzero(s.main_component)
    for a, b in rng.choice(main, (25, 2)).tolist():
        nodes, along = s.path(a, b)
        length = nx.shortest_path_length(g, a, b, weight="length")
        assert nodes[0] == a and nodes[-1] == b and along[0] == 0
        assert along[-1] == pytest.approx(length, rel=1e-12)
        steps = [min(d["length"] for d in g.get_edge_data(x, y).values()) for x, y in zip(nodes[:-1], nodes[1:])]
        np.testing.assert_allclose(np.diff(along), steps, rtol=1e-9, atol=1e-9)  # each step is an edge
        back, along_back = s.path(b, a, root=b)  # read from the same tree, the other way
        assert back.tolist() == nodes[::-1].tolist()
        np.testing.assert_allclose(along_back, along[-1] - along[::-1], atol=1e-9)


def test_street_path_nodes_equal_networkx_without_ties():
    rng = np.random.default_rng(11)
    xy = rng.random((150, 2)) * 1000
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    u, v = np.nonzero(np.triu(d < 140, k=1))
    length = d[u, v] * rng.uniform(1.0, 1.4, u.size)  # continuous lengths: no two walks equal
    s = StreetSurface.from_edges(xy, u, v, length)
    g = reference_graph(150, u, v, length)
    main = np.flatnonzero(s.main_component)
    for a, b in rng.choice(main, (30, 2)).tolist():
        assert s.path(a, b)[0].tolist() == nx.shortest_path(g, a, b, weight="length")


def test_street_components_equal_networkx(street):
    s, g, _ = street
    labels = s.components()
    parts = sorted(nx.connected_components(g), key=len, reverse=True)
    assert len(set(labels.tolist())) == len(parts)
    for part in parts:
        assert len({labels[x] for x in part}) == 1
    if len(parts) > 1 and len(parts[0]) > len(parts[1]):
        assert set(np.flatnonzero(s.main_component).tolist()) == parts[0]


def test_street_snap_equals_brute_force(street):
    s, _, rng = street
    x, y = rng.uniform(-100, 1100, (2, 300))
    node, conn = s.snap(x, y)
    d = np.hypot(x[:, None] - s.node_xy_m[None, :, 0], y[:, None] - s.node_xy_m[None, :, 1])
    np.testing.assert_array_equal(node, d.argmin(axis=1))
    np.testing.assert_allclose(conn, d.min(axis=1), rtol=1e-12)
    main = s.main_component
    node, conn = s.snap(x.reshape(20, 15), y.reshape(20, 15), among=main)
    assert node.shape == (20, 15) and main[node].all()
    d[:, ~main] = np.inf
    np.testing.assert_array_equal(node.ravel(), d.argmin(axis=1))


def test_street_units_are_squares_from_the_origin(street):
    s, _, _ = street
    keys = s.units(250.0)
    col, row = np.floor(s.node_xy_m / 250.0).astype(int).T
    pairs, pair_of = np.unique(np.column_stack([col, row]), axis=0, return_inverse=True)
    ukeys, key_of = np.unique(keys, return_inverse=True)
    assert ukeys.size == len(pairs)
    np.testing.assert_array_equal(key_of.ravel(), pair_of.ravel())  # same units, listed in the same order


def test_street_surface_of_a_grid_equals_the_grid_surface():
    city = build_city(load_scenario("demo"))
    grid, street = GridSurface(city), street_of_city(city)
    for t in city.types[:4]:
        np.testing.assert_allclose(
            street.distance_field(city.facility_nodes(t)), grid.distance_field(city.facility_nodes(t)), rtol=1e-12
        )
    origins = np.unique(city.facilities["node"].to_numpy())
    g_row, g_node, g_m = grid.within(origins, 600.0)
    s_row, s_node, s_m = street.within(origins, 600.0)
    g_order, s_order = np.lexsort((g_node, g_row)), np.lexsort((s_node, s_row))
    np.testing.assert_array_equal(g_row[g_order], s_row[s_order])
    np.testing.assert_array_equal(g_node[g_order], s_node[s_order])
    np.testing.assert_allclose(g_m[g_order], s_m[s_order], rtol=1e-12)
    np.testing.assert_array_equal(street.main_component, grid.main_component)


# --- the grid surface against today's grid functions, bit for bit -----------------------------


@pytest.fixture(scope="module", params=["demo", "huimin_block"])
def scenario_city(request):
    scenario = load_scenario(request.param)
    return scenario, build_city(scenario)


def test_grid_fields_equal_access(scenario_city):
    _, city = scenario_city
    s = GridSurface(city)
    assert s.n_nodes == city.n_cells and s.graph_m is city.graph
    for t in city.types:
        cells = city.facility_nodes(t)
        assert np.array_equal(s.distance_field(cells), distance_field(city, cells))
        assert np.array_equal(s.distance_field(cells, limit_m=700.0), distance_field(city, cells, 700.0))
        got, ref = s.nearest_source(cells), nearest_source(city, cells)
        assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1])


@pytest.mark.parametrize("limit_m", [0.0, 1200.0, 2400.0])
def test_grid_within_equals_bounded_distances(scenario_city, limit_m):
    scenario, city = scenario_city
    s = GridSurface(city)
    homes = np.unique(build(scenario, np.random.default_rng(1), 1).residents.node)
    origins = np.unique(city.facilities["node"].to_numpy())
    row, node, metres = s.within(origins, limit_m, targets=homes)
    ref_row, ref_k, ref_metres = bounded_distances(city.walkable, city.cell_m, origins, homes, limit_m)
    assert np.array_equal(row, ref_row) and np.array_equal(node, homes[ref_k]) and np.array_equal(metres, ref_metres)
    everything = np.arange(city.n_cells)
    row, node, metres = s.within(origins[::3], limit_m)
    ref_row, ref_k, ref_metres = bounded_distances(city.walkable, city.cell_m, origins[::3], everything, limit_m)
    assert np.array_equal(row, ref_row) and np.array_equal(node, ref_k) and np.array_equal(metres, ref_metres)


def test_grid_path_equals_path_trees(scenario_city):
    _, city = scenario_city
    s, ref = GridSurface(city), PathTrees(city)
    rng = np.random.default_rng(5)
    main = np.flatnonzero(s.main_component)
    facilities = city.facilities["node"].to_numpy()
    pairs = list(zip(rng.choice(main, 30).tolist(), rng.choice(facilities, 30).tolist()))
    for a, b in pairs + [(b, a) for a, b in pairs]:
        nodes, along = s.path(a, b)
        cells, ref_along = ref.path(a, b)
        assert nodes.tolist() == cells and np.array_equal(along, ref_along)


def test_grid_units_equal_block_keys(scenario_city):
    scenario, city = scenario_city
    s = GridSurface(city)
    residents = build(scenario, np.random.default_rng(2), 2).residents
    block_m = scenario.simulation.block_m
    keys = s.units(block_m)[residents.node]
    n_groups = len(residents.group_names)
    ref_keys, ref_counts = count_table(
        block_keys(residents.x, residents.y, block_cells_of(city.cell_m, block_m)), residents.group, n_groups
    )
    got_keys, got_counts = count_table(keys, residents.group, n_groups)
    assert np.array_equal(got_counts, ref_counts) and len(got_keys) == len(ref_keys)
    # every cell: the same partition as block_keys, whatever the block size
    ys, xs = np.divmod(np.arange(city.n_cells), city.width)
    for size_m in (50.0, 120.0, 200.0, 330.0, 10_000.0):
        pairs = block_keys(xs, ys, block_cells_of(city.cell_m, size_m))
        _, pair_of = np.unique(pairs, axis=0, return_inverse=True)
        _, key_of = np.unique(s.units(size_m), return_inverse=True)
        assert np.array_equal(pair_of.ravel(), key_of.ravel())


def test_grid_snap_and_coordinates(scenario_city):
    _, city = scenario_city
    s = GridSurface(city)
    cells = city.facilities["node"].to_numpy()
    x, y = s.node_xy_m[cells].T
    np.testing.assert_array_equal(x, (city.facilities["x"] + 0.5) * city.cell_m)  # as the run's GeoJSON
    node, conn = s.snap(x, y)
    assert np.array_equal(node, cells) and (conn == 0).all()
    rng = np.random.default_rng(9)
    px = rng.uniform(-2, city.width + 2, 400) * city.cell_m
    py = rng.uniform(-2, city.height + 2, 400) * city.cell_m
    node, conn = s.snap(px, py)
    walkable = city.walkable.ravel()
    d = np.hypot(px[:, None] - s.node_xy_m[None, :, 0], py[:, None] - s.node_xy_m[None, :, 1])
    d[:, ~walkable] = np.inf
    np.testing.assert_array_equal(node, d.argmin(axis=1))  # brute force: the nearest walkable centre
    np.testing.assert_allclose(conn, d.min(axis=1), rtol=1e-12)


def test_grid_components_equal_networkx(scenario_city):
    _, city = scenario_city
    g = nx.Graph()
    g.add_nodes_from(range(city.n_cells))
    coo = city.graph.tocoo()
    g.add_edges_from(zip(coo.row.tolist(), coo.col.tolist()))
    biggest = max(nx.connected_components(g), key=len)
    s = GridSurface(city)
    assert set(np.flatnonzero(s.main_component).tolist()) == biggest
    assert not s.main_component[~city.walkable.ravel()].any()


def test_snap_joins_the_lowest_of_equally_near_nodes():
    # nodes 0..3 at the corners of a square listed so that the lowest number is not the first
    # cKDTree would find; a point at the centre is equally near all four: node 0 joins
    xy = np.array([[10.0, 10.0], [0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    s = StreetSurface.from_edges(xy, [0, 1, 2], [1, 2, 3], [10.0, 10.0, 10.0])
    for order in ([0, 1, 2, 3], [3, 2, 1, 0]):
        node, metres = s.snap(np.array([5.0, 5.0]), np.array([5.0, 5.0]), among=np.isin(np.arange(4), order))
        assert node.tolist() == [0, 0] and np.allclose(metres, math.hypot(5, 5))
    # among nodes 1..3 only, the lowest of them: 1
    node, _ = s.snap([5.0], [5.0], among=np.array([False, True, True, True]))
    assert node.tolist() == [1]


def test_snap_joins_the_lowest_of_equally_near_nodes_where_cKDTree_picks_another():
    # six nodes on a ring round the point, shuffled among 30 farther ones: cKDTree alone picks
    # node 10 of the six equally near (0, 3, 4, 6, 10, 34 by brute force); the rule says 0
    rng = np.random.default_rng(0)
    ring = 10 * np.column_stack([np.cos(np.arange(6) * np.pi / 3), np.sin(np.arange(6) * np.pi / 3)])
    far = rng.uniform(30, 100, (30, 2))
    xy = np.concatenate([far, ring])[rng.permutation(36)]
    brute = np.hypot(xy[:, 0], xy[:, 1])
    ties = np.flatnonzero(brute == brute.min())
    assert ties.size > 1
    s = StreetSurface.from_edges(xy, np.arange(35), np.arange(1, 36), np.ones(35))
    node, metres = s.snap([0.0], [0.0])
    assert node.tolist() == [int(ties.min())] and metres[0] == pytest.approx(brute.min())


def test_street_pairs_through_leaves_equal_networkx():
    # a random street graph with leaves hung on it (homes and facilities on their connectors):
    # pairs from leaves are searched from the node they hang on, plus the connector
    rng = np.random.default_rng(7)
    n_street, n_leaf = 60, 40
    xy = rng.uniform(0, 1000, (n_street + n_leaf, 2))
    u = rng.integers(0, n_street, 150)
    v = rng.integers(0, n_street, 150)
    length = np.hypot(*(xy[u] - xy[v]).T) * rng.uniform(1.0, 1.3, u.size)
    hang = rng.integers(0, n_street, n_leaf)
    leaf = np.arange(n_street, n_street + n_leaf)
    u, v = np.concatenate([u, leaf]), np.concatenate([v, hang])
    length = np.concatenate([length, rng.uniform(0, 80, n_leaf)])
    s = StreetSurface.from_edges(xy, u, v, length)
    g = nx.MultiGraph()
    g.add_nodes_from(range(n_street + n_leaf))
    g.add_weighted_edges_from(zip(u.tolist(), v.tolist(), length.tolist()))
    a = rng.integers(0, n_street + n_leaf, 400)
    b = rng.integers(0, n_street + n_leaf, 400)
    a[:5], b[:5] = leaf[:5], leaf[:5]  # a leaf to itself
    limit = 700.0
    got = s.pairs(limit).metres(a, b)
    for x, y, m in zip(a.tolist(), b.tolist(), got.tolist()):
        try:
            want = nx.dijkstra_path_length(g, x, y)
        except nx.NetworkXNoPath:
            want = math.inf
        if want > limit + 1e-9:
            want = math.inf
        assert m == pytest.approx(want, rel=1e-12, abs=1e-9), (x, y)


# --- within from leaves (homes, facilities and gates on their connectors) -----------------------


def plain_within(s: StreetSurface, origins, limit_m: float, targets=None):
    """The reference for :meth:`StreetSurface.within`: scipy's Dijkstra from each origin itself
    (a dense row of every node), its reached nodes (those among the targets) nearest first, ties by node."""
    origins = np.asarray(origins, dtype=np.int64)
    keep = np.ones(s.n_nodes, dtype=bool) if targets is None else np.isin(np.arange(s.n_nodes), targets)
    rows, nodes, metres = [], [], []
    for k, o in enumerate(origins.tolist()):
        d = sparse.csgraph.dijkstra(s.graph_m, directed=False, indices=o, limit=limit_m)
        found = np.flatnonzero(np.isfinite(d) & keep)
        found = found[np.lexsort((found, d[found]))]
        rows.append(np.full(found.size, k, dtype=np.int64))
        nodes.append(found)
        metres.append(d[found])
    return np.concatenate(rows), np.concatenate(nodes).astype(np.int64), np.concatenate(metres)


def assert_bitwise_equal(got, want):
    for a, b, name in zip(got, want, ("origin_row", "node", "metres"), strict=True):
        assert a.dtype == b.dtype, name
        assert np.array_equal(a, b), name
    assert np.array_equal(got[2].view(np.int64), want[2].view(np.int64))  # the same bits, not only equal


def leafy_street(seed: int, whole_metres: bool):
    """A random street graph with leaves hung on it as the city hangs homes and facilities.

    Leaves: several on one node with connectors of one length (they share a search), others of
    other lengths on the same nodes, connectors of 0 m, a pair of leaves joined only to each other
    (each the other's trunk), and street nodes that are dead ends. With ``whole_metres`` every
    length is a whole number of metres, so that many walks tie.
    """
    rng = np.random.default_rng(seed)
    n_street = 50
    xy, u, v, length = random_street_edges(rng, n_street, side_m=600.0, radius_m=130.0)
    if whole_metres:
        length = np.round(length)
    hang = np.concatenate([np.repeat(rng.choice(n_street, 6, replace=False), 4), rng.integers(0, n_street, 16)])
    w = rng.uniform(0, 60, hang.size)
    w[:24] = np.repeat(w[:6], 4)  # four leaves on each of six nodes, one connector length each
    w[1:24:4] = rng.uniform(0, 60, 6)  # but one of the four on a connector of its own
    w[24:28] = 0.0  # at the node itself
    if whole_metres:
        w = np.round(w)
    leaf = n_street + np.arange(hang.size)
    pair = n_street + hang.size + np.array([0, 1])  # two leaves joined to each other only
    n = n_street + hang.size + 2
    xy = np.concatenate([xy, xy[hang] + rng.uniform(-40, 40, (hang.size, 2)), [[10.0, 10.0], [20.0, 10.0]]])
    u = np.concatenate([u, leaf, pair[:1]])
    v = np.concatenate([v, hang, pair[1:]])
    length = np.concatenate([length, w, [7.0]])
    s = StreetSurface.from_edges(xy, u, v, length)
    trunk, step = s.leaf_trunks()
    assert (trunk[leaf] == hang).all() and trunk[pair[0]] == pair[1] and trunk[pair[1]] == pair[0]
    return s, reference_graph(n, u, v, length), rng, leaf, pair


LEAFY = [(seed, whole) for seed in range(4) for whole in (False, True)]


@pytest.mark.parametrize(("seed", "whole_metres"), LEAFY)
@pytest.mark.parametrize("limit_m", [0.0, 5.0, 30.0, 150.0, 420.0, math.inf])
def test_street_within_from_leaves_equals_the_search_from_each_leaf_bit_for_bit(seed, whole_metres, limit_m):
    # origins: every leaf (a home or facility), a few of their trunks (a leaf whose trunk is an
    # origin too), street nodes, repeats; limits below, at and beyond connectors' lengths
    s, _, rng, leaf, pair = leafy_street(seed, whole_metres)
    trunk, _ = s.leaf_trunks()
    origins = np.concatenate([leaf, pair, trunk[leaf[:8]], rng.integers(0, s.n_nodes, 10), leaf[:3]])
    rng.shuffle(origins)
    for targets in (None, np.arange(0, s.n_nodes, 3), np.sort(np.concatenate([leaf[::2], pair]))):
        assert_bitwise_equal(s.within(origins, limit_m, targets=targets), plain_within(s, origins, limit_m, targets))


@pytest.mark.parametrize(("seed", "whole_metres"), LEAFY)
def test_street_within_from_leaves_equals_networkx(seed, whole_metres):
    s, g, rng, leaf, _ = leafy_street(seed, whole_metres)
    limit = 250.0
    row, node, metres = s.within(leaf, limit)
    for k, o in enumerate(leaf.tolist()):
        mine = row == k
        ref = nx.single_source_dijkstra_path_length(g, o, cutoff=limit, weight="length")
        assert sorted(node[mine].tolist()) == sorted(ref)
        np.testing.assert_allclose(metres[mine], [ref[x] for x in node[mine].tolist()], rtol=1e-12)
        assert (metres[mine][node[mine] == o] == 0).all()
        order = np.lexsort((node[mine], metres[mine]))
        assert (order == np.arange(order.size)).all()  # nearest first, ties by node


def test_street_within_from_leaves_by_hand():
    # a way 0 - 1 - 2 of 10 m steps; on node 1 leaves 3 and 4 by 4 m (one search for both),
    # leaf 5 by 6 m; on node 2 leaf 6 by 0 m (it shares the search of node 2)
    xy = [[0, 0], [10, 0], [20, 0], [10, 4], [10, -4], [16, 0], [20, 0]]
    s = StreetSurface.from_edges(xy, [0, 1, 3, 4, 5, 6], [1, 2, 1, 1, 1, 2], [10.0, 10, 4, 4, 6, 0])

    def found(origins, limit_m, targets=None):
        row, node, metres = s.within(origins, limit_m, targets)
        return [
            [(n, m) for n, m in zip(node[row == k].tolist(), metres[row == k].tolist())] for k in range(len(origins))
        ]

    assert found([3, 4, 5], 3.0) == [[(3, 0)], [(4, 0)], [(5, 0)]]  # the limit cuts each connector
    assert found([3, 5], 4.0) == [[(3, 0), (1, 4)], [(5, 0)]]  # at the limit is within
    assert found([3, 4], 8.0) == [[(3, 0), (1, 4), (4, 8)], [(4, 0), (1, 4), (3, 8)]]
    assert found([3, 1], 14.0) == [
        [(3, 0), (1, 4), (4, 8), (5, 10), (0, 14), (2, 14), (6, 14)],  # ties by node
        [(1, 0), (3, 4), (4, 4), (5, 6), (0, 10), (2, 10), (6, 10)],  # the trunk, an origin too
    ]
    assert found([6, 2], 10.0) == [[(2, 0), (6, 0), (1, 10)], [(2, 0), (6, 0), (1, 10)]]  # 0 m: the node's own
    assert found([3, 6], 14.0, targets=[0, 3, 6]) == [[(3, 0), (0, 14), (6, 14)], [(6, 0), (3, 14)]]
    assert found([3], 14.0, targets=[0, 6]) == [[(0, 14), (6, 14)]]  # not a target: not itself either


SMALL_STREETS = Path(__file__).parent / "data" / "streets_small"


@pytest.fixture(scope="module")
def small_street_city(tmp_path_factory):
    """streets_small with facilities and a home added round node 56 (385100, 6671100): a park and a
    market 7 m from it (one search for both), a park 20 m from it, a care home on node 42 itself
    (0 m), and a home 5 m from node 56."""
    folder = tmp_path_factory.mktemp("streets") / "small"
    shutil.copytree(SMALL_STREETS, folder)
    homes = folder / "csv" / "homes.csv"
    homes.write_text(homes.read_text(encoding="utf-8") + "70005,North,300,385103,6671104\n", encoding="utf-8")
    facilities = folder / "csv" / "facilities.csv"
    facilities.write_text(
        facilities.read_text(encoding="utf-8")
        + "park,East of 56,385107,6671100,,\nmarket,South of 56,385100,6671093,,\n"
        + "park,West of 56,385080,6671100,,\nelderly_care,On 42,385100,6671000,12,\n",
        encoding="utf-8",
    )
    model = build(load_scenario(folder / "small.toml"), np.random.default_rng(5), 5)
    return model.surface, model.city, model.residents.node


@pytest.mark.parametrize("limit_m", [5.0, 12.0, 150.0, 400.0, math.inf])
def test_street_candidate_table_equals_the_search_from_each_facility(small_street_city, limit_m):
    # the candidate table (facility_reach) against scipy's Dijkstra from each facility's own node
    # (bit for bit) and networkx (to 1e-12); 12 m is the walk from the home 5 m from node 56 to
    # the facilities 7 m from it, exactly at the limit
    surface, city, homes = small_street_city
    trunk, step = surface.leaf_trunks()
    fac_node = city.facilities["node"].to_numpy()
    assert (trunk[fac_node[3:5]] == trunk[fac_node[5]]).all() and (step[fac_node[3:5]] == 7).all()
    assert step[fac_node[6]] == 0 and step[fac_node[5]] == 20
    reach = facility_reach(surface, city, homes, limit_m)
    g = nx.Graph()
    coo = surface.graph_m.tocoo()
    g.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()), weight="length")
    plain = sparse.csgraph.dijkstra(surface.graph_m, directed=False, indices=fac_node)
    by_nx = [nx.single_source_dijkstra_path_length(g, int(f), weight="length") for f in fac_node]
    types = list(city.types)
    n_found = 0
    for row, home in enumerate(reach.origins.tolist()):
        for t, ftype in enumerate(types):
            got_f, got_m = reach.candidates(row, t)
            order = np.argsort(got_f)
            want_f = [
                f for f in range(len(fac_node)) if city.facilities["type"].iat[f] == ftype and plain[f, home] <= limit_m
            ]
            assert got_f[order].tolist() == want_f, (home, ftype)
            want_m = plain[want_f, home]
            assert np.array_equal(got_m[order].view(np.int64), want_m.view(np.int64))
            np.testing.assert_allclose(got_m[order], [by_nx[f][home] for f in want_f], rtol=1e-12)
            n_found += len(want_f)
    assert (n_found > 0) == (limit_m >= 12)  # below 12 m no home reaches a facility
    if limit_m == 12.0:
        home = int(np.flatnonzero(step == 5)[0])
        assert home in reach.origins
        got_f, got_m = reach.candidates(int(np.searchsorted(reach.origins, home)), types.index("park"))
        assert got_f.tolist() == [3] and got_m.tolist() == [12.0]


@pytest.mark.parametrize("kind", SURFACE_KINDS)
def test_a_walk_does_not_depend_on_the_trees_cached(kind):
    """Issue 22: the same walk asked twice gave other cells when another tree had been cached between.

    On an open 5x4 grid of 50 m cells (diagonal steps 70.7 m) many walks have equally short
    variants, so the trees of a walk's two ends can give different ones (checked below, so the
    test can fail). Each walk a -> b is asked of a surface that has cached only a's tree and of
    one that has cached only b's: with the root fixed by the caller (default: the destination)
    the two give the same walk, and the same metres.
    """
    walkable = np.ones((4, 5), dtype=bool)
    n = walkable.size

    def cached_only(node: int) -> WalkingSurface:
        s = make(kind, walkable, 50.0)
        s.metres((node + 1) % n, node, root=node)
        return s

    from_end = {node: cached_only(node) for node in range(n)}
    differ = 0
    for a in range(n):
        for b in range(n):
            nodes, along = from_end[a].path(a, b)
            again, along_again = from_end[b].path(a, b)
            assert again.tolist() == nodes.tolist() and along_again.tolist() == along.tolist()
            assert from_end[a].metres(a, b) == from_end[b].metres(a, b)
            by_a = make(kind, walkable, 50.0).path(a, b, root=a)
            assert by_a[0][0] == a and by_a[0][-1] == b and by_a[1][-1] == pytest.approx(along[-1])
            differ += by_a[0].tolist() != nodes.tolist()
    assert differ > 0  # the two ends' trees do give different walks here


def test_a_walks_root_is_a_root_of_the_walk():
    s = make("grid", np.ones((2, 2), dtype=bool), 50.0)
    with pytest.raises(ValueError, match="neither end"):
        s.path(0, 3, root=1)
