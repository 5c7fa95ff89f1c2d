"""The GeoJSON files of model/report/geo.py, checked against brute-force computations with shapely and pyproj."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from shapely.geometry import shape

from model.city.candidates import type_fields
from model.city.grid import build_city
from model.city.surface import GridSurface
from model.measures.access import BANDS_MIN
from model.report.geo import cells_union, write_geojson
from model.scenario import load_scenario
from tests.conftest import write_small

ORIGIN = (106.79, 39.72)


def _refuse(constant):
    raise ValueError(f"not JSON: {constant}")


def read(path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh, parse_constant=_refuse)  # NaN and Infinity are not JSON


def geometry(feature) -> shapely.Geometry:
    return shapely.Polygon() if feature["geometry"] is None else shape(feature["geometry"])


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """City, scenario and distance fields of the small scenario (blocked cells added inside East)."""
    path = write_small(tmp_path_factory.mktemp("geo"))
    text = path.read_text(encoding="utf-8").replace("[9, 6, 1, 6]]", "[9, 6, 1, 6], [13, 3, 2, 3], [17, 8, 1, 1]]")
    path.write_text(text, encoding="utf-8")
    scenario = load_scenario(path)
    city = build_city(scenario)
    return city, scenario, type_fields(GridSurface(city), city)


@pytest.fixture(scope="module")
def written(small, tmp_path_factory):
    """The files, written in grid metres with three paces: one slow enough that 15 minutes is not everything."""
    city, scenario, fields = small
    paces = dict(zip(fields, [12.0, 30.0, 78.0]))
    folder = tmp_path_factory.mktemp("out")
    files = write_geojson(folder, city, scenario, fields, paces, facility_table(city))
    return {p.name: read(p) for p in files}, paces, folder


def facility_table(city) -> pd.DataFrame:
    """facilities.csv's columns and some of a run's: numpy integers and floats, a NaN, an infinity."""
    table = city.facilities[["id", "type", "name", "x", "y", "capacity"]].copy()
    table["visits"] = np.arange(len(table), dtype=np.int64) * 7
    table["mean_wait_min"] = [1.5, np.nan, np.inf, 0.25][: len(table)]
    return table


def centres(city):
    ys, xs = np.divmod(np.arange(city.n_cells), city.width)
    return (xs + 0.5) * city.cell_m, (ys + 0.5) * city.cell_m


def test_the_files(written, small):
    files, _, folder = written
    _, _, fields = small
    assert sorted(files) == sorted(
        ["facilities.geojson", "communities.geojson", "blocked.geojson", *(f"bands_{t}.geojson" for t in fields)]
    )
    assert all(p.parent.name == "geo" and p.parent.parent == folder for p in folder.glob("geo/*"))
    for data in files.values():
        assert data["type"] == "FeatureCollection"
        assert "crs" not in data
        assert data["lifecircle"]["coordinates"] == "grid metres, y southwards"


def test_15_minute_band_holds_exactly_the_walkable_centres_within_15_minutes(written, small):
    files, paces, _ = written
    city, _, fields = small
    cx, cy = centres(city)
    walkable = city.walkable.ravel()
    partial = 0
    for t, field in fields.items():
        minutes = field / paces[t]
        for feature in files[f"bands_{t}.geojson"]["features"]:
            k = feature["properties"]["max_min"]
            expected = walkable & (minutes <= k)
            got = shapely.contains_xy(geometry(feature), cx, cy)
            np.testing.assert_array_equal(got, expected, err_msg=f"{t} within {k} min")
            assert feature["properties"]["cells"] == expected.sum()
            partial += k == 15 and 0 < expected.sum() < walkable.sum()
    assert partial  # at the slow pace, the 15-minute band is not the whole grid


def test_bands_are_cumulative_and_described(written, small):
    files, paces, _ = written
    _, scenario, fields = small
    for t in fields:
        features = files[f"bands_{t}.geojson"]["features"]
        assert [f["properties"]["max_min"] for f in features] == list(BANDS_MIN)
        for f in features:
            props = f["properties"]
            assert (props["type"], props["m_per_min"], props["label"]) == (t, paces[t], scenario.types[t].label)
        polygons = [geometry(f) for f in features]
        for inner, outer in zip(polygons, polygons[1:]):
            assert outer.covers(inner)
            assert outer.area >= inner.area


def test_facility_points_are_the_table_rows(written, small):
    files, _, _ = written
    city, _, _ = small
    table = facility_table(city)
    features = files["facilities.geojson"]["features"]
    assert len(features) == len(table)
    for feature, row in zip(features, table.to_dict("records")):
        assert feature["geometry"] == {
            "type": "Point",
            "coordinates": [(row["x"] + 0.5) * city.cell_m, (row["y"] + 0.5) * city.cell_m],
        }
        expected = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
        assert feature["properties"] == expected
    assert [f["properties"]["mean_wait_min"] for f in features] == [1.5, None, None, 0.25]


def test_blocked_union(written, small):
    files, _, _ = written
    city, _, _ = small
    features = files["blocked.geojson"]["features"]
    blocked = ~city.walkable
    pieces = [geometry(f) for f in features]
    assert all(p.geom_type == "Polygon" for p in pieces)
    assert len(pieces) == 4  # the wall's two parts, a 2 x 3 block and a single cell
    assert sum(p.area for p in pieces) == pytest.approx(blocked.sum() * city.cell_m**2)
    assert sum(f["properties"]["cells"] for f in features) == blocked.sum()
    cx, cy = centres(city)
    union = shapely.union_all(pieces)
    np.testing.assert_array_equal(shapely.contains_xy(union, cx, cy), blocked.ravel())


def test_communities(written, small):
    files, _, _ = written
    city, scenario, _ = small
    features = files["communities.geojson"]["features"]
    assert [f["properties"]["name"] for f in features] == [c.name for c in scenario.communities]
    for f, com in zip(features, scenario.communities):
        x, y, w, h = com.area
        c = city.cell_m
        assert geometry(f).equals(shapely.box(x * c, y * c, (x + w) * c, (y + h) * c))
        assert f["properties"]["area"] == list(com.area)
        assert f["properties"]["residents"] == com.residents
        assert f["properties"]["gates"] == [list(g) for g in com.gate_cells(city.walkable)]
        assert f["properties"]["gates_given"] is False
    # East = [11, 2, 8, 8] with (13..14, 3..5) blocked: its centre cells (14, 5) and (15, 5) are
    # (blocked, walkable), so the default gate is (15, 5)
    assert features[1]["properties"]["gates"] == [[15, 5]]


def test_rings_follow_the_right_hand_rule(written):
    files, _, _ = written
    for data in files.values():
        for f in data["features"]:
            g = geometry(f)
            for polygon in shapely.get_parts(g) if g.geom_type != "Point" else []:
                assert polygon.exterior.is_ccw
                assert not any(ring.is_ccw for ring in polygon.interiors)


def test_a_type_nobody_uses_has_empty_bands(small, tmp_path):
    city, scenario, fields = small
    t = next(iter(fields))
    write_geojson(tmp_path, city, scenario, {t: fields[t]}, {t: float("nan")}, facility_table(city))
    features = read(tmp_path / "geo" / f"bands_{t}.geojson")["features"]
    assert [(f["geometry"], f["properties"]["m_per_min"], f["properties"]["cells"]) for f in features] == [
        (None, None, 0)
    ] * len(BANDS_MIN)


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
    text = path.read_text(encoding="utf-8").replace("cell_m = 50.0", f"cell_m = 50.0\norigin = {list(ORIGIN)}")
    path.write_text(text, encoding="utf-8")
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


def test_facilities_in_lonlat_round_trip_to_grid_metres(placed):
    city, _, table, geo = placed
    data = read(geo / "facilities.geojson")
    assert "crs" not in data and data["lifecircle"]["coordinates"] == "WGS84 longitude, latitude"
    lonlat = np.array([f["geometry"]["coordinates"] for f in data["features"]])
    assert np.all(np.abs(lonlat[:, 0] - ORIGIN[0]) < 0.05) and np.all(np.abs(lonlat[:, 1] - ORIGIN[1]) < 0.05)
    east, north = local_metres().transform(lonlat[:, 0], lonlat[:, 1])
    np.testing.assert_allclose(east, (table["x"] + 0.5) * city.cell_m, rtol=0, atol=1e-6)
    np.testing.assert_allclose(north, -(table["y"] + 0.5) * city.cell_m, rtol=0, atol=1e-6)


def test_distances_on_the_earth_match_the_grid(placed):
    city, _, _, geo = placed
    (lon_a, lat_a), (lon_b, lat_b), (lon_c, lat_c), _ = (
        f["geometry"]["coordinates"] for f in read(geo / "facilities.geojson")["features"]
    )
    geod = pyproj.Geod(ellps="WGS84")
    _, _, along_row = geod.inv(lon_a, lat_a, lon_b, lat_b)
    assert along_row == pytest.approx(city.cell_m, rel=1e-3)
    _, _, along_column = geod.inv(lon_a, lat_a, lon_c, lat_c)
    assert along_column == pytest.approx(city.cell_m, rel=1e-3)
    assert lon_b > lon_a  # x grows eastwards
    assert lat_c < lat_a  # y grows southwards
    # the far corner facility, (19, 11): its distance from a, on the Earth and on the grid
    lon_d, lat_d = read(geo / "facilities.geojson")["features"][3]["geometry"]["coordinates"]
    _, _, diagonal = geod.inv(lon_a, lat_a, lon_d, lat_d)
    assert diagonal == pytest.approx(math.hypot(17, 7) * city.cell_m, rel=1e-3)


def test_bands_in_lonlat_hold_the_same_cells(placed):
    city, fields, _, geo = placed
    to_metres = local_metres()
    walkable = city.walkable.ravel()
    cx, cy = centres(city)
    for t, field in fields.items():
        for feature in read(geo / f"bands_{t}.geojson")["features"]:
            g = geometry(feature)
            assert all(polygon.exterior.is_ccw for polygon in shapely.get_parts(g))  # in longitude, latitude
            metres = shapely.transform(g, lambda ll: np.column_stack(to_metres.transform(ll[:, 0], ll[:, 1])))
            got = shapely.contains_xy(metres, cx, -cy)  # northing = -y
            np.testing.assert_array_equal(got, walkable & (field / 60.0 <= feature["properties"]["max_min"]))


def test_communities_and_blocked_in_lonlat(placed):
    city, _, _, geo = placed
    to_metres = local_metres()
    pieces = [geometry(f) for f in read(geo / "blocked.geojson")["features"]]
    metres = [shapely.transform(p, lambda ll: np.column_stack(to_metres.transform(ll[:, 0], ll[:, 1]))) for p in pieces]
    assert sum(p.area for p in metres) == pytest.approx((~city.walkable).sum() * city.cell_m**2, rel=1e-9)
    west = geometry(read(geo / "communities.geojson")["features"][0])
    west_m = shapely.transform(west, lambda ll: np.column_stack(to_metres.transform(ll[:, 0], ll[:, 1])))
    c = city.cell_m
    assert shapely.equals_exact(shapely.normalize(west_m), shapely.normalize(shapely.box(c, -11 * c, 8 * c, -c)), 1e-6)
