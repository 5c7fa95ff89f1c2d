"""A day on a real street network, checked against computations written for the test.

Everything expected here comes from the scenario's CSV files, read with pandas and worked with
networkx and numpy (or by hand, for tests/data/streets_small), never from the model's own output:

* the walking graph: the street nodes and ways of the files (of parallel ways the shortest), its
  largest connected component, and every home and facility as a leaf joined to its nearest
  component node (brute force over every component node, straight-line metres) by an edge of
  that length, so that a walk between a home and a facility is ``home connector + network metres
  + facility connector`` (and just the two connectors when both join the same street node);
* residents per home: each community's residents shared over its homes by floor area, largest
  remainders, in exact fractions;
* the residential blocks: residents counted by ``(floor(x / block_m), floor(y / block_m))`` of
  their homes.

A point exactly as near to two street nodes (streets_small has three such homes, and one
facility of helsinki_centre stands where two unconnected nodes are) may join either: the test
checks that the model's node is one of the nearest and follows it from there.

The model is run at the model level (``LifeCircleModel(...).run()``), without writing files.
"""

from __future__ import annotations

import json
import math
import shutil
import tomllib
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import networkx as nx
import numba
import numpy as np
import pandas as pd
import pytest

from model.measures.segregation import count_table
from model.measures.summary import block_units, flatten
from model.model import LifeCircleModel
from model.scenario import load_scenario
from tests.conftest import ROOT, read_exact_csv

HELSINKI = ROOT / "scenarios" / "helsinki_centre.toml"
SMALL = ROOT / "tests" / "data" / "streets_small" / "small.toml"
TOL_M = 1e-6  # metres: every walk is compared to this
TIE_M = 1e-9  # two nodes this close in straight-line metres to a point are equally near


# --------------------------------------------------------------------------- the reference


@dataclass
class Reference:
    """The walking graph of a street scenario as the test builds it from the files.

    Attributes:
        graph: networkx Graph: street nodes by their file id, ``("home", home_id)`` and
            ``("facility", k)`` leaves (``k``: the facility's position among the facilities
            file's rows, then the TOML's ``[[facilities]]``), edge attribute ``m``.
        homes: The homes file, plus ``join`` (street node id) and ``join_m`` (connector metres).
        facilities: type, x_m, y_m of every facility, plus ``join`` and ``join_m``.
        key: Surface node number of the model -> node of ``graph`` (street nodes, homes, facilities).
        home_of: Surface node number of the model's home -> home_id.
        ties: How many homes and facilities were equally near two or more component nodes.
    """

    graph: nx.Graph
    homes: pd.DataFrame
    facilities: pd.DataFrame
    key: dict[int, object]
    home_of: dict[int, int]
    ties: int


def data_files(toml_path: Path) -> tuple[dict[str, Path], list[dict]]:
    """The ``[streets]`` files of a scenario (relative to the TOML) and its ``[[facilities]]`` entries."""
    doc = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    files = {k: toml_path.parent / v for k, v in doc["streets"].items() if k != "crs"}
    return files, doc.get("facilities", [])


def street_graph(files: dict[str, Path]) -> tuple[pd.DataFrame, nx.Graph]:
    """The nodes file and the graph of its ways, the shortest of parallel ways kept."""
    nodes = read_exact_csv(files["nodes"])
    edges = read_exact_csv(files["edges"])
    graph = nx.Graph()
    graph.add_nodes_from(nodes["node_id"].tolist())
    for u, v, m in zip(edges["u"].tolist(), edges["v"].tolist(), edges["length_m"].tolist(), strict=True):
        if u != v and not (graph.has_edge(u, v) and graph[u][v]["m"] <= m):
            graph.add_edge(u, v, m=m)
    return nodes, graph


def nearest(xy_points: np.ndarray, xy_nodes: np.ndarray, ids: np.ndarray) -> tuple[list[set], np.ndarray]:
    """For every point, the ids of the nodes nearest to it (all of them, if equally near) and the metres."""
    d = np.sqrt(((xy_points[:, None, :] - xy_nodes[None, :, :]) ** 2).sum(axis=2))
    m = d.min(axis=1)
    return [set(ids[row <= best + TIE_M].tolist()) for row, best in zip(d, m, strict=True)], m


def reference(toml_path: Path, model: LifeCircleModel) -> Reference:
    """The test's walking graph of a street scenario, its leaves keyed to the model's node numbers.

    Only the join of a point equally near two nodes is taken from the model (after checking that
    its node is one of them); every other join and every length comes from the files.
    """
    files, toml_facilities = data_files(toml_path)
    nodes, graph = street_graph(files)
    main = max(nx.connected_components(graph), key=len)
    in_main = nodes["node_id"].isin(main).to_numpy()
    xy_main = nodes.loc[in_main, ["x_m", "y_m"]].to_numpy(dtype=float)
    id_main = nodes.loc[in_main, "node_id"].to_numpy()

    homes = read_exact_csv(files["homes"])
    fac_file = read_exact_csv(files["facilities"]) if "facilities" in files else pd.DataFrame()
    facilities = pd.DataFrame(
        {
            "type": [*fac_file.get("type", []), *(f["type"] for f in toml_facilities)],
            "x_m": [*fac_file.get("x_m", []), *(f["at_m"][0] for f in toml_facilities)],
            "y_m": [*fac_file.get("y_m", []), *(f["at_m"][1] for f in toml_facilities)],
        }
    )

    city = model.city
    model_join = {}  # (kind, key) -> the model's street node id
    key: dict[int, object] = {int(i): int(n) for i, n in enumerate(nodes["node_id"])}
    home_of = {}
    for row in city.homes.itertuples():
        mine = homes.loc[homes["home_id"] == row.home_id].iloc[0]
        assert (row.x, row.y) == (mine["x_m"], mine["y_m"])
        key[int(row.node)] = ("home", int(row.home_id))
        home_of[int(row.node)] = int(row.home_id)
        model_join[("home", int(row.home_id))] = int(city.street_id[city.join[row.node]])
    assert len(city.facilities) == len(facilities)
    for row in city.facilities.itertuples():
        mine = facilities.iloc[int(row.id)]
        assert (row.type, row.x, row.y) == (mine["type"], mine["x_m"], mine["y_m"])
        key[int(row.node)] = ("facility", int(row.id))
        model_join[("facility", int(row.id))] = int(city.street_id[city.join[row.node]])

    ties = 0
    for kind, table, keys in (
        ("home", homes, homes["home_id"].tolist()),
        ("facility", facilities, list(range(len(facilities)))),
    ):
        near, metres = nearest(table[["x_m", "y_m"]].to_numpy(dtype=float), xy_main, id_main)
        join = []
        for k, candidates in zip(keys, near, strict=True):
            chosen = model_join[(kind, k)]
            assert chosen in candidates, f"{kind} {k} joins node {chosen}, not the nearest {candidates}"
            ties += len(candidates) > 1
            join.append(next(iter(candidates)) if len(candidates) == 1 else chosen)
        table["join"] = join
        table["join_m"] = metres
        for k, j, m in zip(keys, join, metres, strict=True):
            graph.add_edge((kind, k), j, m=float(m))
    return Reference(graph, homes, facilities, key, home_of, ties)


def access_metres(ref: Reference, ftype: str) -> dict:
    """Metres from the nearest facility of a type to every node of the reference graph."""
    sources = [("facility", k) for k in np.flatnonzero(ref.facilities["type"] == ftype).tolist()]
    return nx.multi_source_dijkstra_path_length(ref.graph, sources, weight="m")


def home_metres(ref: Reference, facility: int, limit_m: float) -> dict:
    """Metres from a facility to the node of every home within ``limit_m``."""
    return nx.single_source_dijkstra_path_length(ref.graph, ("facility", facility), cutoff=limit_m, weight="m")


# --------------------------------------------------------------------------- the runs


def run(scenario, seed: int, engine: str) -> LifeCircleModel:
    model = LifeCircleModel(scenario, seed=seed, engine=engine)
    model.run()
    return model


def tenth(scenario):
    """The scenario with a tenth of each community's residents (for the slower agents engine)."""
    return replace(scenario, communities=tuple(replace(c, residents=c.residents // 10) for c in scenario.communities))


@pytest.fixture(scope="module", autouse=True)
def one_numba_thread():
    """The fast engine's choice kernel on one thread while this module runs, restored after.

    choose_many (model/simulation/choice.py) was ``parallel=True``; with both cores busy (pytest
    -n 2) its threads waited on each other at every tick and a day on helsinki_centre took 4 to 15 s
    instead of 0.6 s. It now runs on one thread; the searches of model/city still use numba's
    threads, and results depend on the number of threads nowhere.
    """
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


@pytest.fixture(scope="module")
def helsinki():
    return load_scenario(HELSINKI)


@pytest.fixture(scope="module")
def helsinki_fast(helsinki):
    model = run(helsinki, 1, "fast")
    return model, reference(HELSINKI, model)


@pytest.fixture(scope="module")
def helsinki_agents(helsinki):
    model = run(tenth(helsinki), 1, "agents")
    return model, reference(HELSINKI, model)


@pytest.fixture(scope="module")
def small_agents():
    model = run(load_scenario(SMALL), 5, "agents")
    return model, reference(SMALL, model)


@pytest.fixture(scope="module")
def small_fast():
    model = run(load_scenario(SMALL), 5, "fast")
    return model, reference(SMALL, model)


@pytest.fixture(params=["helsinki_fast", "helsinki_agents", "small_agents", "small_fast"])
def day(request):
    return request.getfixturevalue(request.param)


# --------------------------------------------------------------------------- 1. access


def check_access(model: LifeCircleModel, ref: Reference) -> int:
    """Every resident's metres to the nearest facility of every type present, against networkx."""
    res = model.built.residents
    types_in_files = set(ref.facilities["type"])
    assert set(model.city.types) == types_in_files
    keys = [ref.key[int(n)] for n in res.node]
    assert all(k[0] == "home" for k in keys)
    checked = 0
    for t in model.city.types:
        expected = access_metres(ref, t)
        want = np.array([expected[k] for k in keys])
        np.testing.assert_allclose(model.built.minutes[t] * res.m_per_min, want, rtol=0, atol=TOL_M, err_msg=t)
        np.testing.assert_allclose(model.built.fields_m[t][res.node], want, rtol=0, atol=TOL_M, err_msg=t)
        # and the field at every street node: inf off the main component (node 103 of streets_small)
        streets = [(i, k) for i, k in ref.key.items() if not isinstance(k, tuple)]
        field = model.built.fields_m[t][[i for i, _ in streets]]
        want_field = [expected.get(k, math.inf) for _, k in streets]
        np.testing.assert_allclose(field, want_field, rtol=0, atol=TOL_M, err_msg=t)
        checked += want.size
    return checked


def test_access_on_helsinki_equals_networkx(helsinki_fast):
    model, ref = helsinki_fast
    assert check_access(model, ref) == len(model.built.residents) * len(model.city.types)
    # the model's connectors are the straight lines to the nearest component node
    city = model.city
    home_join_m = ref.homes.set_index("home_id").loc[city.homes["home_id"], "join_m"]
    np.testing.assert_allclose(city.join_m[city.homes["node"].to_numpy()], home_join_m, rtol=0, atol=1e-9)
    fac_join_m = ref.facilities.loc[city.facilities["id"], "join_m"]
    np.testing.assert_allclose(city.join_m[city.facilities["node"].to_numpy()], fac_join_m, rtol=0, atol=1e-9)
    # homes and facilities joining the same street node are among those checked
    assert set(ref.homes["join"]) & set(ref.facilities["join"])
    assert ref.ties == 1  # Alepa stands where two unconnected nodes are, 3.848 m away


# --------------------------------------------------------------------------- 2. by hand on streets_small

# tests/data/streets_small, metres from (385000, 6671000):
#
#   100 (0,200) -- 101 (100,200) -- 102 (200,200)       103 (300,200.5): on no way
#    |                 101.25 m
#   55 (0,100) --- 56 (100,100) --- 57 (200,100) --- 58 (300,100)
#    |               |                                 |
#   9001 (0,0) --- 42 (100,0) ----- 7 (200,0) ------ 1300 (300,0)
#
# every way 100 m but 101-102 (101.25 m). Facilities: park (210,120) joins 57 by sqrt(10² + 20²)
# = sqrt(500); elderly_care "Kamppi care" (90,110) joins 56 by sqrt(200), "New care station"
# (12.5,230) joins 100 by sqrt(12.5² + 30²) = 32.5; market (300,0) stands on 1300 (0 m).
# Homes: 70003 (20,20) joins 9001 by sqrt(800); 70001 (50,180) is sqrt(2900) from both 100 and
# 101, 70002 (150,190) sqrt(2600) from both 101 and 102, 70004 (250,30) sqrt(3400) from both 7
# and 1300: the expected walks are given for either join.
#
# 70003 (9001): park 9001-42-56-57 = 300; elderly_care min(9001-42-56 = 200 + sqrt(200),
#   9001-55-100 = 200 + 32.5); market 9001-42-7-1300 = 300.
# 70001 at 100: park 100-55-56-57 = 300; elderly_care: New care station, on 100, 0 + 32.5; market 500.
# 70001 at 101: each 100 m more: the way to 101 leads through 100.
# 70002 at 101: as 70001 at 101; at 102: 101.25 m more again (102 is a dead end beyond 101).
# 70004 at 7: park 7-42-56-57 = 300 (or 7-1300-58-57); elderly_care 7-42-56 = 200 + sqrt(200);
#   market 7-1300 = 100.
# 70004 at 1300: park 1300-58-57 = 200; elderly_care 1300-58-57-56 = 300 + sqrt(200) (New care
#   station: 500 + 32.5); market 0 + 0.
S = math.sqrt
HAND = {  # home -> its street node -> type -> metres (home connector included)
    70003: {9001: {"park": S(800) + 300 + S(500), "elderly_care": S(800) + 200 + S(200), "market": S(800) + 300}},
    70001: {
        100: {"park": S(2900) + 300 + S(500), "elderly_care": S(2900) + 32.5, "market": S(2900) + 500},
        101: {"park": S(2900) + 400 + S(500), "elderly_care": S(2900) + 132.5, "market": S(2900) + 600},
    },
    70002: {
        101: {"park": S(2600) + 400 + S(500), "elderly_care": S(2600) + 132.5, "market": S(2600) + 600},
        102: {"park": S(2600) + 501.25 + S(500), "elderly_care": S(2600) + 233.75, "market": S(2600) + 701.25},
    },
    70004: {
        7: {"park": S(3400) + 300 + S(500), "elderly_care": S(3400) + 200 + S(200), "market": S(3400) + 100},
        1300: {"park": S(3400) + 200 + S(500), "elderly_care": S(3400) + 300 + S(200), "market": S(3400)},
    },
}


def test_access_on_streets_small_by_hand(small_fast):
    model, ref = small_fast
    city, res = model.city, model.built.residents
    assert sorted(model.city.types) == ["elderly_care", "market", "park"]
    seen = set()
    for i in range(len(res)):
        home = ref.home_of[int(res.node[i])]
        street = int(city.street_id[city.join[res.node[i]]])
        for t, metres in HAND[home][street].items():
            assert model.built.minutes[t][i] * res.m_per_min[i] == pytest.approx(metres, abs=TOL_M), (home, t)
        seen.add(home)
    assert seen == set(HAND)  # every home has residents, so every hand-worked walk was compared
    assert ref.ties == 3
    assert check_access(model, ref) == 3 * len(res)


def test_connectors_on_one_street_node_and_off_the_main_component(tmp_path):
    """streets_small with a home beside node 1300, where the market stands and a convenience store
    (placed by hand) joins too, a home beside node 103, which lies on no way, and ways repeated."""
    shutil.copytree(SMALL.parent, tmp_path / "small")
    path = tmp_path / "small" / "small.toml"
    homes = path.parent / "csv" / "homes.csv"
    more = "70005,South,100,385305,6670995\n70006,North,500,385298,6671195\n"
    homes.write_text(homes.read_text(encoding="utf-8") + more, encoding="utf-8")
    # a shorter way beside 58-1300, a longer one beside 9001-42, a loop at 57
    edges = path.parent / "csv" / "edges.csv"
    edges.write_text(edges.read_text(encoding="utf-8") + "58,1300,40,1\n9001,42,250,2\n57,57,5,3\n", encoding="utf-8")
    path.write_text(
        path.read_text(encoding="utf-8") + '\n[[facilities]]\ntype = "convenience"\nat_m = [385295.0, 6671008.0]\n'
        # the homes as drawn: households (on by default) would move each household into one of them
        "[households]\non = false\n",
        encoding="utf-8",
    )
    model = LifeCircleModel(path, seed=5, engine="fast")
    ref = reference(path, model)
    res = model.built.residents
    home = np.array([ref.home_of[int(n)] for n in res.node])
    # South: 120 x 100 / 2600 = 4.62 (and 92.31, 23.08): 4, and the one left over goes to .62
    assert (home == 70005).sum() == 5
    assert (home == 70006).sum() == 16  # North: 80 x 500 / 2500.5 = 15.997
    # 70005 (305,-5) joins 1300 by sqrt(50); the market is on 1300 (0 m); the convenience store
    # (295,8) joins 1300 by sqrt(5² + 8²): neither walk leaves node 1300.
    # 70006 (298,195) is 5.85 m from 103, on no way: it joins 58 (300,100) by sqrt(2² + 95²).
    # 58-1300 is now 40 m; 9001-42 stays 100 m.
    expected = {
        70005: {
            "market": S(50),
            "convenience": S(50) + S(89),
            "park": S(50) + 140 + S(500),  # 1300-58-57
            "elderly_care": S(50) + 240 + S(200),  # 1300-58-57-56
        },
        70006: {
            "market": S(9029) + 40,  # 58-1300
            "convenience": S(9029) + 40 + S(89),
            "park": S(9029) + 100 + S(500),  # 58-57
            "elderly_care": S(9029) + 200 + S(200),  # 58-57-56
        },
        70003: {"market": S(800) + 300, "park": S(800) + 300 + S(500)},  # 9001-42-7-1300, 9001-42-56-57
    }
    for h, walks in expected.items():
        for t, metres in walks.items():
            got = model.built.minutes[t][home == h] * res.m_per_min[home == h]
            np.testing.assert_allclose(got, metres, rtol=0, atol=TOL_M, err_msg=f"{h} {t}")
    check_access(model, ref)


# --------------------------------------------------------------------------- 3. residents by floor area


def largest_remainders(n: int, floor: list[Fraction]) -> list[int]:
    """``n`` shared in proportion to ``floor``, largest remainders, equal remainders to the earlier entry."""
    total = sum(floor)
    share = [n * f / total for f in floor]
    count = [math.floor(s) for s in share]
    short = n - sum(count)
    by_remainder = sorted(range(len(floor)), key=lambda k: (-(share[k] - count[k]), k))
    for k in by_remainder[:short]:
        count[k] += 1
    return count


@pytest.mark.parametrize("path", [HELSINKI, SMALL], ids=["helsinki_centre", "streets_small"])
def test_residents_are_shared_over_homes_by_floor_area(path):
    scenario = load_scenario(path)
    # the homes as drawn: households (on by default) then move each household into one of them
    scenario = replace(scenario, households=replace(scenario.households, on=False))
    model = LifeCircleModel(scenario, seed=3, engine="fast")
    files, _ = data_files(path)
    homes = pd.read_csv(files["homes"], dtype=str)
    block = Fraction(str(scenario.simulation.block_m))
    key = {int(n): int(h) for n, h in zip(model.city.homes["node"], model.city.homes["home_id"], strict=True)}
    living = pd.Series([key[int(n)] for n in model.built.residents.node]).value_counts()
    communities = [c.name for c in scenario.communities]
    res_community = model.built.residents.community
    for ci, com in enumerate(scenario.communities):
        mine = homes.loc[homes["community"] == com.name]
        # strips of block_m west to east, south to north within a strip, then by home_id
        order = sorted(
            mine.itertuples(),
            key=lambda h: (math.floor(Fraction(h.x_m) / block), Fraction(h.y_m), int(h.home_id)),
        )
        counts = largest_remainders(com.residents, [Fraction(h.floor_m2) for h in order])
        assert sum(counts) == com.residents == int((res_community == ci).sum())
        for h, c in zip(order, counts, strict=True):
            assert int(living.get(int(h.home_id), 0)) == c, (com.name, h.home_id)
    # every resident lives in a home of their own community
    home_community = dict(zip(homes["home_id"].astype(int), homes["community"], strict=True))
    for n, ci in zip(model.built.residents.node, res_community, strict=True):
        assert home_community[key[int(n)]] == communities[ci]


# --------------------------------------------------------------------------- 4. a day on both engines


def test_a_day_finishes_with_every_visit_within_the_cut_off(day):
    model, ref = day
    assert not model.running and model.steps == model.total_ticks
    v = model.visit_log.columns()
    assert v["resident"].size > 0
    res = model.built.residents
    cutoff = model.spec.simulation.cutoff_min
    limit_m = cutoff * float(res.m_per_min.max()) + 1.0
    fac_type = model.city.facilities["type"].to_numpy()
    turned_away = model.facility_totals()["turned_away"]
    clean_types = {t for t in model.city.types if turned_away[fac_type == t].sum() == 0}
    # the pace of the trip: an escorted child walks at the slower of its own and its carer's
    # (docs/behaviour.md, "Households and escorts")
    pace = res.m_per_min[v["resident"]].copy()
    escorted = v["escorted_by"] >= 0
    pace[escorted] = np.minimum(pace[escorted], res.m_per_min[v["escorted_by"][escorted]])
    direct_min = np.empty(v["resident"].size)
    for f in np.unique(v["facility"]).tolist():
        reach = home_metres(ref, f, limit_m)
        at = np.flatnonzero(v["facility"] == f)
        who = v["resident"][at]
        metres = np.array([reach.get(ref.key[int(n)], math.inf) for n in res.node[who]])
        direct_min[at] = metres / pace[at]
    type_names = np.array(model.city.types, dtype=object)[v["type"]]
    assert (type_names == fac_type[v["facility"]]).all()
    # a carer's visit in a trip chain (chain 2) is reached from a child's facility, not from home:
    # its walk is within the cut-off from there (tests/test_households.py works it by hand)
    from_home = v["chain"] == 1
    assert (direct_min[from_home] <= cutoff + 1e-9).all()
    # the realised walk is the direct one, or longer when a first choice turned the resident away
    assert (v["walk_min"][from_home] >= direct_min[from_home] - 1e-9).all()
    clean = np.isin(type_names, list(clean_types)) & from_home
    assert clean.any()
    np.testing.assert_allclose(v["walk_min"][clean], direct_min[clean], rtol=1e-12, atol=1e-9)


def test_summary_figures_are_finite(helsinki_fast, helsinki_agents, small_agents):
    for model, _ in (helsinki_fast, helsinki_agents, small_agents):
        flat = flatten(model.summary())
        assert flat.pop("scenario") == model.spec.name
        assert flat.pop("engine") == model.engine_name
        assert flat.pop("mixing.block_cells") is None  # no cells on streets
        # null only where nobody was displaced or queued (docs/metrics.md, "Dynamics")
        for key in [k for k in flat if k.startswith("dynamics.")]:
            t, figure = key.split(".")[1:]
            if figure == "displaced_extra_min" and flat[f"dynamics.{t}.displaced_share"] == 0:
                assert flat.pop(key) is None, key
            elif figure in ("peak_queue_day", "peak_queue_minute") and flat[f"dynamics.{t}.peak_queue"] == 0:
                assert flat.pop(key) is None, key
        # null only for an age band with no carers (docs/metrics.md, "Households and escorts")
        for key in [k for k in flat if k.startswith("households.carers.") and k.endswith(".escort_min_per_day")]:
            if flat[key.replace("escort_min_per_day", "carers")] == 0:
                assert flat.pop(key) is None, key
        # every other figure is defined: every type has users, visits and facilities within reach
        bad = {k: v for k, v in flat.items() if not (isinstance(v, (int, float)) and math.isfinite(v))}
        assert not bad, (model.spec.name, model.engine_name, bad)
        assert flat["days"] == 1 and flat["residents"] == len(model.built.residents)
        for t in model.city.types:
            assert flat[f"access.{t}.unreachable"] == 0
            assert flat[f"usage.{t}.visits"] > 0


@pytest.mark.parametrize(
    ("day_of", "other_seed"),
    [("helsinki_fast", 2), ("small_agents", 6)],
    ids=["helsinki_centre-fast", "streets_small-agents"],
)
def test_same_seed_same_summary_another_seed_another(request, day_of, other_seed):
    model, _ = request.getfixturevalue(day_of)
    scenario = load_scenario(HELSINKI if model.spec.name == "helsinki_centre" else SMALL)
    text = json.dumps(model.summary())
    assert json.dumps(run(scenario, model.seed, model.engine_name).summary()) == text
    assert json.dumps(run(scenario, other_seed, model.engine_name).summary()) != text


# --------------------------------------------------------------------------- 5. walk paths


def test_walk_paths_are_networkx_shortest_paths_along_edges(helsinki_fast, small_agents):
    for model, ref in (helsinki_fast, small_agents):
        v = model.visit_log.columns()
        res = model.built.residents
        fac_node = model.city.facilities["node"].to_numpy()
        picks = np.unique(np.linspace(0, v["resident"].size - 1, 15).astype(int))
        walks = [(int(res.node[v["resident"][i]]), int(fac_node[v["facility"][i]])) for i in picks]
        walks.append((int(res.node[0]), int(res.node[-1])))  # home to home
        for a, b in walks:
            nodes, along = model.surface.path(a, b)
            keys = [ref.key[int(n)] for n in nodes]
            assert keys[0] == ref.key[a] and keys[-1] == ref.key[b]
            assert len(set(keys)) == len(keys)  # no node twice: no walk through another's door
            steps = [ref.graph[p][q]["m"] for p, q in zip(keys[:-1], keys[1:], strict=True)]  # KeyError: not an edge
            expected = nx.dijkstra_path_length(ref.graph, ref.key[a], ref.key[b], weight="m")
            assert along[0] == 0.0
            np.testing.assert_allclose(np.diff(along), steps, rtol=0, atol=TOL_M)
            assert along[-1] == pytest.approx(expected, abs=TOL_M)
            assert sum(steps) == pytest.approx(expected, abs=TOL_M)
            assert model.surface.metres(a, b) == pytest.approx(expected, abs=TOL_M)
            back, back_along = model.surface.path(b, a)
            assert back_along[-1] == pytest.approx(expected, abs=TOL_M)


# --------------------------------------------------------------------------- 6. mixing blocks


def block_table(model: LifeCircleModel, ref: Reference, block_m: float) -> tuple[list, np.ndarray]:
    """Residents by (floor(x / block_m), floor(y / block_m)) of their home (from the homes file) and group."""
    res = model.built.residents
    xy = ref.homes.set_index("home_id")[["x_m", "y_m"]]
    table: dict[tuple[int, int], np.ndarray] = {}
    for n, g in zip(res.node, res.group, strict=True):
        x, y = xy.loc[ref.home_of[int(n)]]
        row = table.setdefault((math.floor(x / block_m), math.floor(y / block_m)), np.zeros(len(res.group_names), int))
        row[g] += 1
    units = sorted(table)
    return units, np.array([table[u] for u in units])


@pytest.mark.parametrize("block_m", [None, 137.5], ids=["scenario-block", "block-137.5"])
def test_mixing_blocks_on_streets_count_residents_by_home_squares(helsinki_fast, block_m):
    if block_m is None:
        model, ref = helsinki_fast
    else:
        model = LifeCircleModel(load_scenario(HELSINKI, overrides={"simulation.block_m": block_m}), seed=2)
        ref = reference(HELSINKI, model)
    block_m = model.spec.simulation.block_m
    mixing = model.summary()["mixing"]
    assert mixing["block_m"] == block_m
    assert mixing["block_cells"] is None
    units, counts = block_table(model, ref, block_m)
    res = model.built.residents
    _, model_counts = count_table(block_units(model.context)[res.node], res.group, len(res.group_names))
    assert len(units) > 5
    np.testing.assert_array_equal(model_counts, counts)
    # the summary's block indices are those of this table
    blocks = mixing["residential"]["blocks"]
    total = counts.sum(axis=1)
    for g, name in enumerate(res.group_names):
        m, others = counts[:, g], total - counts[:, g]
        dissimilarity = 0.5 * np.abs(m / m.sum() - others / others.sum()).sum()
        isolation = (m / m.sum() * m / total).sum()
        assert blocks["dissimilarity"][name] == pytest.approx(dissimilarity, rel=1e-12)
        assert blocks["isolation"][name] == pytest.approx(isolation, rel=1e-12)
