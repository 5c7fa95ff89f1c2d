"""The geography of model/report/geo.py and gpkg.py, checked against brute force, pyproj and hand-worked geodesy.

A grid without ``[grid] origin`` is written as a GeoPackage (read back here with geopandas,
i.e. GDAL, a reader independent of the writer) in local metres with northing = -y; a grid with an
origin as RFC 7946 GeoJSON in WGS84 longitude and latitude.
"""

from __future__ import annotations

import json
import math
import sqlite3
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from shapely.geometry import shape

from model.city.candidates import type_fields
from model.city.grid import build_city
from model.city.surface import GridSurface
from model.measures.access import BANDS_MIN
from model.report.geo import cells_union, geojson_problem, write_geojson, write_geopackage
from model.scenario import load_scenario
from tests.conftest import community, facility, write_small, write_tiny

ORIGIN = (106.79, 39.72)
# WGS84's ellipsoid (NIMA TR8350.2, table 3.1), for the hand-worked radii of curvature below
A_M = 6378137.0
F = 1 / 298.257223563
E2 = F * (2 - F)


def _refuse(constant):
    raise ValueError(f"not JSON: {constant}")


def read(path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh, parse_constant=_refuse)  # NaN and Infinity are not JSON


def geometry(feature) -> shapely.Geometry:
    return shapely.Polygon() if feature["geometry"] is None else shape(feature["geometry"])


def place(path, origin) -> None:
    """Give the scenario file at ``path`` a ``[grid] origin``."""
    text = path.read_text(encoding="utf-8").replace("cell_m = 50.0", f"cell_m = 50.0\norigin = {list(origin)}", 1)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """City, scenario and distance fields of the small scenario (blocked cells added inside East)."""
    path = write_small(tmp_path_factory.mktemp("geo"))
    text = path.read_text(encoding="utf-8").replace("[9, 6, 1, 6]]", "[9, 6, 1, 6], [13, 3, 2, 3], [17, 8, 1, 1]]")
    path.write_text(text, encoding="utf-8")
    scenario = load_scenario(path)
    city = build_city(scenario)
    return city, scenario, type_fields(GridSurface(city), city)


def facility_table(city) -> pd.DataFrame:
    """facilities.csv's columns and some of a run's: numpy integers and floats, a NaN, an infinity."""
    table = city.facilities[["id", "type", "name", "x", "y", "capacity"]].copy()
    table["visits"] = np.arange(len(table), dtype=np.int64) * 7
    table["mean_wait_min"] = [1.5, np.nan, np.inf, 0.25][: len(table)]
    return table


@pytest.fixture(scope="module")
def packaged(small, tmp_path_factory):
    """The GeoPackage of the small scenario (no origin) with three paces: one slow enough that 15 minutes is not all."""
    city, scenario, fields = small
    paces = dict(zip(fields, [12.0, 30.0, 78.0]))
    folder = tmp_path_factory.mktemp("out")
    path = write_geopackage(folder, city, scenario, fields, paces, facility_table(city))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # GDAL's complaints (a bad application_id, version, ...) are warnings
        layers = {name: gpd.read_file(path, layer=name) for name, _ in pyogrio.list_layers(path)}
    return path, layers, paces, folder


def centres(city):
    """Cell centres in grid metres (x east, y south)."""
    ys, xs = np.divmod(np.arange(city.n_cells), city.width)
    return (xs + 0.5) * city.cell_m, (ys + 0.5) * city.cell_m


# --------------------------------------------------------------------------- no origin: the GeoPackage


def test_geopackage_file_layers_and_crs(packaged, small):
    path, layers, _, folder = packaged
    _, scenario, fields = small
    assert path == folder / "geo" / "small.gpkg"
    assert [p.name for p in (folder / "geo").iterdir()] == ["small.gpkg"]  # no GeoJSON in grid metres
    assert list(layers) == ["facilities", "communities", "blocked", *(f"bands_{t}" for t in fields)]
    for name, frame in layers.items():
        crs = frame.crs
        assert crs is not None and crs.is_engineering and not crs.is_geographic, name
        assert [(a.direction, a.unit_name) for a in crs.axis_info] == [("east", "metre"), ("north", "metre")]
        assert "not placed on the Earth" in crs.name
    with sqlite3.connect(path) as con:  # GeoPackage's own marks (OGC 12-128r18 §1.1.1.1.1)
        assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]  # requirement 6
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []  # requirement 7
        types = dict(con.execute("SELECT table_name, geometry_type_name FROM gpkg_geometry_columns"))
    assert types == {"facilities": "POINT", "communities": "POLYGON", "blocked": "POLYGON"} | {
        f"bands_{t}": "MULTIPOLYGON" for t in fields
    }


def test_geopackage_columns_are_plain_and_readable(packaged, small):
    _, layers, paces, _ = packaged
    city, scenario, _ = small
    fac = layers["facilities"]
    assert list(fac.columns) == [*facility_table(city).columns, "label", "geometry"]
    assert fac["label"].tolist() == [scenario.types[t].label for t in fac["type"]]
    assert fac["mean_wait_min"].tolist()[0] == 1.5
    assert fac["mean_wait_min"].isna().tolist() == [False, True, True, False]  # NaN and infinity: NULL
    assert fac["visits"].dtype.kind == "i" and fac["capacity"].dtype.kind == "i"
    com = layers["communities"]
    assert list(com.columns) == ["name", "residents", "x", "y", "w", "h", "gates", "gates_given", "geometry"]
    assert com["gates_given"].dtype == bool
    for name, frame in layers.items():
        for column in frame.columns.drop("geometry"):
            values = frame[column].dropna()
            assert all(isinstance(v, (str, bool, int, float, np.integer, np.floating, np.bool_)) for v in values), (
                name,
                column,
            )
    for t, pace in paces.items():
        bands = layers[f"bands_{t}"]
        assert bands["band"].tolist() == [f"within {k} min" for k in BANDS_MIN]
        assert bands["max_min"].tolist() == list(BANDS_MIN)
        assert (bands["type"] == t).all() and (bands["label"] == scenario.types[t].label).all()
        assert (bands["m_per_min"] == pace).all()


def test_15_minute_band_holds_exactly_the_walkable_centres_within_15_minutes(packaged, small):
    _, layers, paces, _ = packaged
    city, _, fields = small
    cx, cy = centres(city)
    walkable = city.walkable.ravel()
    partial = 0
    for t, field in fields.items():
        minutes = field / paces[t]
        for g, k, cells in layers[f"bands_{t}"][["geometry", "max_min", "cells"]].itertuples(index=False):
            expected = walkable & (minutes <= k)
            got = shapely.contains_xy(g, cx, -cy)  # northing = -y
            np.testing.assert_array_equal(got, expected, err_msg=f"{t} within {k} min")
            assert cells == expected.sum()
            partial += k == 15 and 0 < expected.sum() < walkable.sum()
    assert partial  # at the slow pace, the 15-minute band is not the whole grid


def test_bands_are_cumulative(packaged, small):
    _, layers, _, _ = packaged
    for t in small[2]:
        polygons = list(layers[f"bands_{t}"].geometry)
        for inner, outer in zip(polygons, polygons[1:]):
            assert outer.covers(inner)
            assert outer.area >= inner.area


def test_facility_points_are_the_table_rows_north_up(packaged, small):
    _, layers, _, _ = packaged
    city, _, _ = small
    table = facility_table(city)
    fac = layers["facilities"]
    assert len(fac) == len(table)
    for point, (_, row) in zip(fac.geometry, table.iterrows()):
        assert (point.x, point.y) == ((row["x"] + 0.5) * city.cell_m, -(row["y"] + 0.5) * city.cell_m)
    pd.testing.assert_frame_equal(
        pd.DataFrame(fac.drop(columns=["geometry", "label"])),
        table.replace(np.inf, np.nan).reset_index(drop=True),
        check_dtype=False,
    )


def test_blocked_union(packaged, small):
    _, layers, _, _ = packaged
    city, _, _ = small
    blocked = layers["blocked"]
    assert (blocked.geom_type == "Polygon").all()
    assert len(blocked) == 4  # the wall's two parts, a 2 x 3 block and a single cell
    assert blocked.area.sum() == pytest.approx((~city.walkable).sum() * city.cell_m**2)
    assert blocked["cells"].sum() == (~city.walkable).sum()
    cx, cy = centres(city)
    union = shapely.union_all(list(blocked.geometry))
    np.testing.assert_array_equal(shapely.contains_xy(union, cx, -cy), (~city.walkable).ravel())


def test_communities_north_up(packaged, small):
    _, layers, _, _ = packaged
    city, scenario, _ = small
    com = layers["communities"]
    assert com["name"].tolist() == [c.name for c in scenario.communities]
    c = city.cell_m
    for (_, f), s in zip(com.iterrows(), scenario.communities):
        x, y, w, h = s.area
        # rows grow southwards: the area's first row is its northern edge, at northing -y * cell_m
        assert f.geometry.equals(shapely.box(x * c, -(y + h) * c, (x + w) * c, -y * c))
        assert (f["x"], f["y"], f["w"], f["h"], f["residents"]) == (x, y, w, h, s.residents)
        assert not f["gates_given"]
    # East = [11, 2, 8, 8] with (13..14, 3..5) blocked: its centre cells (14, 5) and (15, 5) are
    # (blocked, walkable), so the default gate is (15, 5)
    assert com["gates"].tolist()[1] == "15:5"


def test_rings_follow_the_right_hand_rule(packaged):
    _, layers, _, _ = packaged
    polygons = [p for name, f in layers.items() if name != "facilities" for g in f.geometry for p in _parts(g)]
    assert polygons and all(p.exterior.is_ccw and not any(r.is_ccw for r in p.interiors) for p in polygons)


def _parts(g):
    return [] if g is None else list(shapely.get_parts(g))


def test_a_type_nobody_uses_has_empty_bands(small, tmp_path):
    city, scenario, fields = small
    t = next(iter(fields))
    path = write_geopackage(tmp_path, city, scenario, {t: fields[t]}, {t: float("nan")}, facility_table(city))
    bands = gpd.read_file(path, layer=f"bands_{t}")
    assert bands.geometry.isna().all() and bands["m_per_min"].isna().all()
    assert bands["cells"].tolist() == [0] * len(BANDS_MIN)


def test_the_same_grid_writes_the_same_bytes(packaged, small, tmp_path):
    path, _, paces, _ = packaged
    city, scenario, fields = small
    again = write_geopackage(tmp_path, city, scenario, fields, paces, facility_table(city))
    assert again.read_bytes() == path.read_bytes()
    assert write_geopackage(tmp_path, city, scenario, fields, paces, facility_table(city)) == again  # replaced


def test_geojson_of_a_grid_without_origin_is_refused(small, tmp_path):
    city, scenario, fields = small
    with pytest.raises(ValueError, match="WGS84 only"):
        write_geojson(tmp_path, city, scenario, fields, dict.fromkeys(fields, 60.0), facility_table(city))
    assert not (tmp_path / "geo").exists()


@pytest.mark.parametrize("seed", range(6))
def test_cells_union_of_random_masks(seed):
    rng = np.random.default_rng(seed)
    height, width = rng.integers(1, 30, size=2)
    mask = rng.random((height, width)) < rng.uniform(0.1, 0.9)
    cell_m = float(rng.choice([1.0, 33.3, 50.0]))
    union = cells_union(mask, cell_m)
    assert union.area == pytest.approx(mask.sum() * cell_m**2)
    ys, xs = np.mgrid[0:height, 0:width]
    np.testing.assert_array_equal(shapely.contains_xy(union, (xs + 0.5) * cell_m, (ys + 0.5) * cell_m), mask)


def test_cells_union_of_nothing():
    assert cells_union(np.zeros((3, 4), dtype=bool), 50.0).is_empty


# --------------------------------------------------------------------------- with an origin: WGS84


@pytest.fixture(scope="module")
def placed(tmp_path_factory):
    """The small scenario placed on the Earth, written with two hand-made facilities one cell apart in a row."""
    path = write_small(tmp_path_factory.mktemp("placed"))
    place(path, ORIGIN)
    scenario = load_scenario(path)
    city = build_city(scenario)
    fields = type_fields(GridSurface(city), city)
    table = pd.DataFrame({"name": ["a", "b", "c", "d"], "x": [2, 3, 2, 19], "y": [4, 4, 5, 11]})
    folder = tmp_path_factory.mktemp("out")
    write_geojson(folder, city, scenario, fields, dict.fromkeys(fields, 60.0), table)
    return city, fields, table, folder / "geo"


def local_metres():
    """WGS84 -> the documented local transverse Mercator (easting, northing), built here independently."""
    lon, lat = ORIGIN
    local = f"+proj=tmerc +lat_0={lat} +lon_0={lon} +k_0=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
    return pyproj.Transformer.from_crs("EPSG:4326", local, always_xy=True)


def to_metres(g):
    t = local_metres()
    return shapely.transform(g, lambda ll: np.column_stack(t.transform(ll[:, 0], ll[:, 1])))


def coordinates(node):
    """Every number of a GeoJSON coordinates array."""
    if isinstance(node, list):
        return [v for item in node for v in coordinates(item)]
    return [node]


def test_geojson_files_rfc_7946(placed):
    _, fields, _, geo = placed
    names = ["facilities", "communities", "blocked", *(f"bands_{t}" for t in fields)]
    assert sorted(p.name for p in geo.iterdir()) == sorted(f"{n}.geojson" for n in names)  # and no GeoPackage
    for name in names:
        data = read(geo / f"{name}.geojson")
        assert data["type"] == "FeatureCollection" and "crs" not in data
        assert data["lifecircle"]["coordinates"] == "WGS84 longitude, latitude"
        values = [v for f in data["features"] if f["geometry"] for v in coordinates(f["geometry"]["coordinates"])]
        assert values and all(round(v, 7) == v for v in values), name  # 7 decimals, about 1 cm
        for f in data["features"]:
            assert all(not isinstance(v, (list, dict)) for v in f["properties"].values()), name
            for polygon in _parts(geometry(f)) if f["geometry"] and f["geometry"]["type"] != "Point" else []:
                assert polygon.exterior.is_ccw and not any(r.is_ccw for r in polygon.interiors)


def test_facilities_in_lonlat_round_trip_to_grid_metres(placed):
    city, _, table, geo = placed
    lonlat = np.array([f["geometry"]["coordinates"] for f in read(geo / "facilities.geojson")["features"]])
    assert np.all(np.abs(lonlat[:, 0] - ORIGIN[0]) < 0.05) and np.all(np.abs(lonlat[:, 1] - ORIGIN[1]) < 0.05)
    east, north = local_metres().transform(lonlat[:, 0], lonlat[:, 1])
    # 7 decimals: half a unit of 1e-7 degree is at most 0.6 cm of latitude, less of longitude
    np.testing.assert_allclose(east, (table["x"] + 0.5) * city.cell_m, rtol=0, atol=0.01)
    np.testing.assert_allclose(north, -(table["y"] + 0.5) * city.cell_m, rtol=0, atol=0.01)


def test_distances_on_the_earth_match_the_grid(placed):
    city, _, _, geo = placed
    (lon_a, lat_a), (lon_b, lat_b), (lon_c, lat_c), (lon_d, lat_d) = (
        f["geometry"]["coordinates"] for f in read(geo / "facilities.geojson")["features"]
    )
    geod = pyproj.Geod(ellps="WGS84")
    _, _, along_row = geod.inv(lon_a, lat_a, lon_b, lat_b)
    assert along_row == pytest.approx(city.cell_m, rel=1e-3)
    _, _, along_column = geod.inv(lon_a, lat_a, lon_c, lat_c)
    assert along_column == pytest.approx(city.cell_m, rel=1e-3)
    assert lon_b > lon_a  # x grows eastwards
    assert lat_c < lat_a  # y grows southwards: the next row is south, at a smaller latitude
    _, _, diagonal = geod.inv(lon_a, lat_a, lon_d, lat_d)  # the far corner facility, (19, 11)
    assert diagonal == pytest.approx(math.hypot(17, 7) * city.cell_m, rel=1e-3)


def test_bands_in_lonlat_hold_the_same_cells(placed):
    city, fields, _, geo = placed
    walkable = city.walkable.ravel()
    cx, cy = centres(city)
    for t, field in fields.items():
        for feature in read(geo / f"bands_{t}.geojson")["features"]:
            got = shapely.contains_xy(to_metres(geometry(feature)), cx, -cy)  # northing = -y
            np.testing.assert_array_equal(got, walkable & (field / 60.0 <= feature["properties"]["max_min"]))


def test_communities_and_blocked_in_lonlat(placed):
    city, _, _, geo = placed
    pieces = [to_metres(geometry(f)) for f in read(geo / "blocked.geojson")["features"]]
    # each vertex within 0.6 cm (7 decimals): the areas within a few square metres of thousands
    assert sum(p.area for p in pieces) == pytest.approx((~city.walkable).sum() * city.cell_m**2, rel=1e-4)
    west = read(geo / "communities.geojson")["features"][0]
    c = city.cell_m
    assert shapely.hausdorff_distance(to_metres(geometry(west)), shapely.box(c, -11 * c, 8 * c, -c)) < 0.01
    assert west["properties"] == {
        "name": "West",
        "residents": 400,
        "x": 1,
        "y": 1,
        "w": 7,
        "h": 10,
        "gates": "4:5",
        "gates_given": False,
    }


def test_one_cell_grid_corners_by_hand(tmp_path):
    """A 1-cell grid of 50 m: its corners from the radii of curvature of WGS84, worked by hand.

    At latitude phi, one metre north is 1 / M radians of latitude and one metre east 1 / (N cos phi)
    radians of longitude, M = a (1 - e^2) / (1 - e^2 sin^2 phi)^1.5 and N = a / sqrt(1 - e^2 sin^2 phi)
    (meridian and prime vertical). Over 50 m the next terms are below 1e-9 degree.
    """
    lon0, lat0 = 116.3912757, 39.906217  # 7 decimals, so the origin is written exactly
    path = write_tiny(
        tmp_path, width=1, height=1, communities=community(0, 0, 5), facilities=facility("park", 0, 0), types=""
    )
    place(path, (lon0, lat0))
    scenario = load_scenario(path)
    city = build_city(scenario)
    fields = type_fields(GridSurface(city), city)
    table = city.facilities[["id", "type", "name", "x", "y", "capacity"]]
    write_geojson(tmp_path, city, scenario, fields, dict.fromkeys(fields, 60.0), table)
    ring = read(tmp_path / "geo" / "communities.geojson")["features"][0]["geometry"]["coordinates"][0]
    phi = math.radians(lat0)
    w = 1 - E2 * math.sin(phi) ** 2
    m, n = A_M * (1 - E2) / w**1.5, A_M / math.sqrt(w)
    dlat, dlon = math.degrees(50.0 / m), math.degrees(50.0 / (n * math.cos(phi)))
    nw, ne, sw, se = (lon0, lat0), (lon0 + dlon, lat0), (lon0, lat0 - dlat), (lon0 + dlon, lat0 - dlat)
    assert ring[0] == ring[-1] and len(ring) == 5
    corners = ring[:4]
    for expected in (nw, ne, sw, se):
        assert min(math.dist(expected, c) for c in corners) < 0.6e-7, expected
    assert [lon0, lat0] in corners  # the origin is the north-west corner, exactly
    assert shapely.Polygon(ring).exterior.is_ccw  # counter-clockwise: from the north-west corner, south first
    assert ring[ring.index([lon0, lat0]) + 1][1] < lat0
    point = read(tmp_path / "geo" / "facilities.geojson")["features"][0]["geometry"]["coordinates"]
    assert point == pytest.approx([lon0 + dlon / 2, lat0 - dlat / 2], abs=0.6e-7)  # the cell's centre


@pytest.mark.parametrize(
    ("origin", "cell_m", "problem"),
    [
        ((106.79, 39.72), 50.0, False),
        ((179.999, 10.0), 50.0, True),  # 1,000 m east of 179.999 degrees is past 180
        ((180.0, 10.0), 50.0, True),  # the same place is -180: eastwards from there it is on the map
        ((-180.0, 10.0), 50.0, False),
        ((10.0, -84.999), 50.0, False),
        ((10.0, -84.9), 40_000.0, False),  # 12 rows of 40 km south from 84.9 degrees south: 480 km, short of the pole
        ((10.0, -84.9), 50_000.0, True),  # 600 km: past the pole, 569.6 km south of 84.9 degrees south
        ((10.0, 85.0), 20_000.0, False),  # southwards from the north: away from the pole
    ],
)
def test_geojson_problem_of_grids_past_the_antimeridian_or_a_pole(tmp_path, origin, cell_m, problem):
    path = write_small(tmp_path)
    place(path, origin)
    text = path.read_text(encoding="utf-8").replace("cell_m = 50.0", f"cell_m = {cell_m}", 1)
    path.write_text(text, encoding="utf-8")
    found = geojson_problem(load_scenario(path))
    if problem:
        assert "small.toml: grid.origin:" in found and "antimeridian (180° longitude) or a pole" in found
    else:
        assert found is None


def test_no_problem_without_an_origin(small):
    assert geojson_problem(small[1]) is None
