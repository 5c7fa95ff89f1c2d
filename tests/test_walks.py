"""The walking distances of the measures shared with the candidate table, against their own searches and scipy.

walks.facility_pairs takes the 2SFCA pairs from the candidate table (Reach.of_type) when the
table was searched from the same homes at least as far. Checked here: the pairs are those of
scipy's Dijkstra from each facility's node (the brute force), they equal the pairs of a search
of their own bit for bit and, home by home, in the same order, so the 2SFCA access computed
from them has the same bits; and the table is used only when it covers the bound.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.sparse import csgraph

from model.city.build import build
from model.city.candidates import facility_reach
from model.measures import walks
from model.measures.sfca import two_step_fca
from model.scenario import load_scenario
from tests.test_surface import small_street_city  # noqa: F401 (a fixture)


@pytest.fixture(scope="module", params=["demo", "huimin_block"])
def grid_city(request):
    built = build(load_scenario(request.param), np.random.default_rng(3), 3)
    return built.surface, built.city, built.residents.node


@pytest.fixture(params=["grid", "streets"])
def place(request, grid_city, small_street_city):  # noqa: F811 (the imported fixture)
    return grid_city if request.param == "grid" else small_street_city


def by_home(home, facility, metres):
    """Per home, the sequence of (facility, metres bits) in the order given."""
    out = {}
    for h, f, m in zip(home.tolist(), facility.tolist(), metres.view(np.int64).tolist(), strict=True):
        out.setdefault(h, []).append((f, m))
    return out


@pytest.mark.parametrize("walk_min", [0.05, 2.0, 6.0, 13.0])
def test_pairs_from_the_candidate_table_equal_their_own_search_and_scipy(place, walk_min):
    surface, city, nodes = place
    homes = np.unique(nodes)
    pace = 60.0
    reach = facility_reach(surface, city, homes, 15.0 * pace)
    fac = city.facilities
    for t, ftype in enumerate(city.types):
        limit = walk_min * pace * walks._SLACK
        assert walks.covers(reach, homes, limit)
        ids, home, facility, metres = walks.facility_pairs(surface, fac, ftype, homes, walk_min, pace, reach, t)
        ids2, home2, facility2, metres2 = walks.facility_pairs(surface, fac, ftype, homes, walk_min, pace)
        assert np.array_equal(ids, ids2)
        assert by_home(home, facility, metres) == by_home(home2, facility2, metres2)
        # the brute force: every (home, facility) pair within the bound, from scipy's Dijkstra
        dist = csgraph.dijkstra(surface.graph_m, directed=False, indices=fac["node"].to_numpy()[ids])
        want = {(h, f) for f in range(ids.size) for h in range(homes.size) if dist[f, homes[h]] <= limit}
        assert set(zip(home.tolist(), facility.tolist(), strict=True)) == want
        assert home.size == len(want)
        np.testing.assert_allclose(metres, dist[facility, homes[home]], rtol=1e-12)


def test_two_step_fca_has_the_same_bits_from_either_source(place):
    surface, city, nodes = place
    homes, home_of = np.unique(nodes, return_inverse=True)
    rng = np.random.default_rng(7)
    pace = rng.uniform(40.0, 80.0, nodes.size)
    order = np.lexsort((pace, home_of))
    reach = facility_reach(surface, city, homes, 12.0 * 80.0)
    capacity = city.facilities["capacity"].to_numpy()
    for t, ftype in enumerate(city.types):
        shared = walks.facility_pairs(surface, city.facilities, ftype, homes, 10.0, pace.max(), reach, t)
        searched = walks.facility_pairs(surface, city.facilities, ftype, homes, 10.0, pace.max())
        for ids, home, facility, metres in (shared, searched):
            access, ratio = two_step_fca(home_of[order], pace[order], home, facility, metres, capacity[ids], 10.0)
            if ids is shared[0]:
                first = access.view(np.int64), ratio.view(np.int64)
        assert np.array_equal(first[0], access.view(np.int64)) and np.array_equal(first[1], ratio.view(np.int64))


def test_the_candidate_table_is_used_only_when_it_covers_the_bound(grid_city):
    surface, city, nodes = grid_city
    homes = np.unique(nodes)
    reach = facility_reach(surface, city, homes, 150.0)
    assert reach.limit_m == 150.0
    assert walks.covers(reach, homes, 150.0)
    assert not walks.covers(reach, homes, 150.0 * walks._SLACK)  # farther than searched
    assert not walks.covers(reach, homes[1:], 100.0)  # other homes
    assert not walks.covers(dataclasses.replace(reach, limit_m=None), homes, 100.0)  # limit unknown
    # farther than the table: facility_pairs searches, and finds more than the table holds
    t, ftype = 0, city.types[0]
    far = walks.facility_pairs(surface, city.facilities, ftype, homes, 20.0, 60.0, reach, t)
    own = walks.facility_pairs(surface, city.facilities, ftype, homes, 20.0, 60.0)
    assert all(np.array_equal(a, b) for a, b in zip(far, own, strict=True))
    assert far[1].size > reach.of_type(t, 150.0)[0].size


def test_of_type_at_the_table_limit_is_every_entry_of_the_type(grid_city):
    surface, city, nodes = grid_city
    reach = facility_reach(surface, city, np.unique(nodes), 700.0)
    for t in range(reach.n_types):
        origin, facility, metres = reach.of_type(t, reach.limit_m)
        for o in range(reach.origins.size):
            want_f, want_m = reach.candidates(o, t)
            mine = origin == o
            assert np.array_equal(facility[mine], want_f) and np.array_equal(metres[mine], want_m)
