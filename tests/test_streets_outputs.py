"""What a run on a street network writes: the bands along ways, residents.csv, facilities.csv, GeoJSON, maps.

Checked against hand-worked cases (the pieces of a way within a walk), against the data files
themselves (connectors recomputed by brute force, pyproj for longitude and latitude) and against
networkx on the same ways (a resident's minutes = home node_m + network metres + facility node_m,
over its pace).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest

from model.cli import main
from model.report.bands import covered_metres, reached_segments

SMALL = Path(__file__).parent / "data" / "streets_small"


# ------------------------------------------------------------------ the bands along a way, by hand


def test_a_way_reached_from_one_end_is_cut_where_the_walk_ends():
    # a 100 m way east from (0, 0); its west end 30 m from the source, its east end 400 m
    seg = reached_segments([[0, 0]], [[100, 0]], [30.0], [400.0], [100.0], budget_m=80.0)
    assert seg.shape == (1, 2, 2)
    assert np.allclose(seg[0], [[0, 0], [50, 0]])  # 80 - 30 = 50 m of it
    assert covered_metres([30.0], [400.0], [100.0], 80.0).tolist() == [50.0]


def test_a_way_reached_from_both_ends_is_two_pieces_or_whole():
    # ends at 60 m and 70 m from sources, way 100 m: a 100 m walk covers 40 + 30 m
    seg = reached_segments([[0, 0]], [[0, 100]], [60.0], [70.0], [100.0], budget_m=100.0)
    assert sorted(map(tuple, np.round(seg.reshape(-1, 4), 9))) == [(0, 0, 0, 40), (0, 70, 0, 100)]
    assert covered_metres([60.0], [70.0], [100.0], 100.0).tolist() == [70.0]
    # 130 m: 70 + 60 >= 100, the whole way once
    whole = reached_segments([[0, 0]], [[0, 100]], [60.0], [70.0], [100.0], budget_m=130.0)
    assert np.allclose(whole, [[[0, 0], [0, 100]]])
    assert covered_metres([60.0], [70.0], [100.0], 130.0).tolist() == [100.0]


def test_a_way_out_of_reach_or_unreachable_gives_nothing():
    assert reached_segments([[0, 0]], [[1, 0]], [90.0], [np.inf], [1.0], budget_m=80.0).shape == (0, 2, 2)
    assert reached_segments([[0, 0]], [[1, 0]], [np.inf], [np.inf], [1.0], budget_m=80.0).shape == (0, 2, 2)
    assert covered_metres([np.inf], [np.inf], [5.0], 80.0).tolist() == [0.0]


def test_a_longer_way_than_its_chord_is_cut_by_walking_share():
    # the way is 200 m of walking between nodes 100 m apart: 50 m walked is a quarter of it
    seg = reached_segments([[0, 0]], [[100, 0]], [0.0], [500.0], [200.0], budget_m=50.0)
    assert np.allclose(seg[0], [[0, 0], [25, 0]])


# ------------------------------------------------------------------ a run's files


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("streets")
    scenario = root / "scenario"
    shutil.copytree(SMALL, scenario)
    out = root / "out"
    assert main(["run", str(scenario / "small.toml"), "--seed", "3", "--out", str(out), "--geojson", "--quiet"]) == 0
    return out


def _graph_and_joins():
    """networkx graph of the small scenario's ways, and every point joined by brute force to its main component."""
    nodes = pd.read_csv(SMALL / "csv" / "nodes.csv")
    edges = pd.read_csv(SMALL / "csv" / "edges.csv")
    g = nx.Graph()
    for u, v, m in edges[["u", "v", "length_m"]].itertuples(index=False):
        if u != v and (not g.has_edge(u, v) or g[u][v]["m"] > m):
            g.add_edge(int(u), int(v), m=float(m))
    main_nodes = max(nx.connected_components(g), key=len)
    xy = nodes.set_index("node_id")[["x_m", "y_m"]]
    main_xy = xy.loc[sorted(main_nodes)]

    def join(x, y):
        d = np.hypot(main_xy["x_m"].to_numpy() - x, main_xy["y_m"].to_numpy() - y)
        k = int(np.argmin(d))
        return int(main_xy.index[k]), float(d[k])

    return g, join


def test_residents_and_facilities_files_name_their_street_node_and_connector(small_run):
    residents = pd.read_csv(small_run / "residents.csv")
    facilities = pd.read_csv(small_run / "facilities.csv")
    for column in ("x_m", "y_m", "lon", "lat", "node", "node_m"):
        assert column in residents.columns and column in facilities.columns
    assert "x" not in residents.columns and "osm_id" in facilities.columns
    _, join = _graph_and_joins()
    for table in (residents.drop_duplicates(["x_m", "y_m"]), facilities):
        for x, y, node, node_m in table[["x_m", "y_m", "node", "node_m"]].itertuples(index=False):
            want_node, want_m = join(x, y)
            assert (node, node_m) == pytest.approx((want_node, want_m), abs=1e-9)
    to_lonlat = pyproj.Transformer.from_crs("EPSG:32635", "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform(residents["x_m"].to_numpy(), residents["y_m"].to_numpy())
    assert np.allclose(residents["lon"], lon, atol=1e-9) and np.allclose(residents["lat"], lat, atol=1e-9)


def test_minutes_are_home_connector_plus_network_plus_facility_connector_over_pace(small_run):
    residents = pd.read_csv(small_run / "residents.csv")
    facilities = pd.read_csv(small_run / "facilities.csv")
    g, _ = _graph_and_joins()
    for ftype, fac in facilities.groupby("type"):
        column = f"min_{ftype}"
        if column not in residents.columns:
            continue
        for r in residents.drop_duplicates(["node", "node_m", "m_per_min"]).itertuples(index=False):
            lengths = nx.single_source_dijkstra_path_length(g, int(r.node), weight="m")
            walks = [r.node_m + lengths[int(f.node)] + f.node_m for f in fac.itertuples() if int(f.node) in lengths]
            want = min(walks) / r.m_per_min if walks else math.nan
            got = getattr(r, column)
            assert got == pytest.approx(want, rel=1e-12), (ftype, r)


def test_the_same_seed_writes_the_same_files(small_run, tmp_path):
    again = tmp_path / "again"
    scenario = small_run.parent / "scenario" / "small.toml"
    assert main(["run", str(scenario), "--seed", "3", "--out", str(again), "--geojson", "--quiet"]) == 0
    for name in ("summary.json", "residents.csv", "facilities.csv", "timeseries.csv", "geo/bands_park.geojson"):
        assert (again / name).read_bytes() == (small_run / name).read_bytes(), name


def test_geojson_is_wgs84_and_bands_grow_along_the_ways(small_run):
    geo = small_run / "geo"
    facilities = json.loads((geo / "facilities.geojson").read_text(encoding="utf-8"))
    table = pd.read_csv(small_run / "facilities.csv")
    for feature, row in zip(facilities["features"], table.itertuples(index=False), strict=True):
        assert feature["geometry"]["coordinates"] == [round(row.lon, 7), round(row.lat, 7)]  # 7 decimals, ~1 cm
        assert 20 < row.lon < 30 and 59 < row.lat < 61  # Helsinki's UTM zone 35N, not metres
    streets = json.loads((geo / "streets.geojson").read_text(encoding="utf-8"))
    edges = pd.read_csv(SMALL / "csv" / "edges.csv")
    assert len(streets["features"]) == len(edges[edges.u != edges.v].drop_duplicates(["u", "v"]))
    for path in geo.glob("bands_*.geojson"):
        bands = json.loads(path.read_text(encoding="utf-8"))["features"]
        metres = [b["properties"]["metres"] for b in bands]
        assert metres == sorted(metres)  # cumulative: 5 <= 10 <= 15 minutes
        assert metres[-1] <= edges["length_m"].sum() + 1e-9


def test_maps_are_drawn_for_every_type_and_community(small_run):
    maps = sorted(p.name for p in (small_run / "maps").glob("*.png"))
    types = set(pd.read_csv(small_run / "facilities.csv")["type"])
    assert {f"access_{t}.png" for t in types} - {"access_elderly_care.png"} <= set(maps)
    assert {"guidance_0.png", "guidance_1.png"} <= set(maps)
