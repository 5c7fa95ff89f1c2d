"""``--geojson`` on the commands: WGS84 GeoJSON, a GeoPackage for a grid without origin, refusals writing nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from shapely.geometry import shape

from tests.conftest import read_exact_csv, write_small
from tests.in_process import lifecircle
from tests.test_geo import coordinates, place

STREETS_SMALL = Path(__file__).parent / "data" / "streets_small"


def cli(*args, cwd):
    """``lifecircle ARGS`` as a real subprocess (the first run here; the other commands: in_process)."""
    return subprocess.run(
        [sys.executable, "-m", "model.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def snapshot(folder) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_run_without_origin_writes_the_geopackage_and_says_so(tmp_path):
    small = write_small(tmp_path, residents=40)
    done = cli("run", str(small), "--geojson", "--quiet", "--out", "run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "no [grid] origin" in done.stderr and "[grid] origin = [lon, lat]" in done.stderr
    assert "geo/small.gpkg" in done.stderr
    geo = tmp_path / "run" / "geo"
    assert [p.name for p in geo.iterdir()] == ["small.gpkg"]
    gpkg = geo / "small.gpkg"
    assert [name for name, _ in pyogrio.list_layers(gpkg)] == [
        "facilities",
        "communities",
        "blocked",
        "bands_elderly_care",
        "bands_market",
        "bands_park",
    ]
    # the facilities layer holds facilities.csv as it is (its column names, its values), and the type's label
    csv = read_exact_csv(tmp_path / "run" / "facilities.csv")
    layer = gpd.read_file(gpkg, layer="facilities")
    assert list(layer.columns) == [*csv.columns, "label", "geometry"]
    pd.testing.assert_frame_equal(pd.DataFrame(layer.drop(columns=["geometry", "label"])), csv, check_dtype=False)
    assert layer.geometry.x.tolist() == ((csv["x"] + 0.5) * 50.0).tolist()
    assert layer.geometry.y.tolist() == (-(csv["y"] + 0.5) * 50.0).tolist()  # north up
    assert layer.crs.is_engineering
    again = lifecircle("run", str(small), "--quiet", "--out", "run", "--overwrite", cwd=tmp_path)
    assert again.returncode == 0 and not gpkg.exists()  # --overwrite removes the earlier run's GeoPackage


def test_run_with_origin_writes_wgs84_geojson_with_the_csv_columns(tmp_path):
    small = write_small(tmp_path, residents=40)
    place(small, (106.79, 39.72))
    done = lifecircle("run", str(small), "--geojson", "--quiet", "--out", "run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "origin" not in done.stderr
    geo = tmp_path / "run" / "geo"
    assert sorted(p.name for p in geo.iterdir()) == sorted(
        f"{n}.geojson"
        for n in ("facilities", "communities", "blocked", "bands_elderly_care", "bands_market", "bands_park")
    )
    csv = read_exact_csv(tmp_path / "run" / "facilities.csv")
    facilities = json.loads((geo / "facilities.geojson").read_text(encoding="utf-8"))
    assert "crs" not in facilities
    for feature, (_, row) in zip(facilities["features"], csv.iterrows(), strict=True):
        assert list(feature["properties"]) == [*csv.columns, "label"]
        assert (feature["properties"]["name"], feature["properties"]["x"]) == (row["name"], row["x"])
        lon, lat = feature["geometry"]["coordinates"]
        assert 106.79 < lon < 106.81 and 39.71 < lat < 39.72  # east and south of the north-west corner


@pytest.mark.parametrize("command", ["run", "compare", "optimize"])
def test_geojson_of_a_grid_past_the_antimeridian_is_refused_and_nothing_written(tmp_path, command):
    small = write_small(tmp_path, residents=40)
    place(small, (179.999, 10.0))
    args = {
        "run": ["run", str(small), "--out", "out"],
        "compare": ["compare", str(small), str(small), "--out", "out"],
        "optimize": ["optimize", str(small), "--type", "park", "--add", "1", "--out", "out.toml"],
    }[command]
    if command == "compare":  # two names: the second a copy under another name
        other = tmp_path / "other.toml"
        other.write_text(small.read_text(encoding="utf-8").replace('name = "small"', 'name = "other"'), "utf-8")
        args[2] = str(other)
    before = snapshot(tmp_path)
    done = lifecircle(*args, "--geojson", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "--geojson: small.toml: grid.origin:" in done.stderr and "antimeridian" in done.stderr
    assert snapshot(tmp_path) == before


def test_streets_geojson_is_rfc_7946_with_plain_columns(tmp_path):
    """A street scenario (its CRS is UTM 35N, Helsinki): WGS84 GeoJSON as on the grid with an origin."""
    scenario = tmp_path / "scenario"
    shutil.copytree(STREETS_SMALL, scenario)
    done = lifecircle("run", str(scenario / "small.toml"), "--geojson", "--quiet", "--out", "run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "origin" not in done.stderr
    geo = tmp_path / "run" / "geo"
    assert not list(geo.glob("*.gpkg"))
    csv = read_exact_csv(tmp_path / "run" / "facilities.csv")
    to_utm = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32635", always_xy=True)
    for path in geo.glob("*.geojson"):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert "crs" not in data and data["lifecircle"]["coordinates"] == "WGS84 longitude, latitude"
        for feature in data["features"]:
            assert all(not isinstance(v, (list, dict)) for v in feature["properties"].values()), path.name
            if feature["geometry"] is None:
                continue
            values = coordinates(feature["geometry"]["coordinates"])
            assert all(round(v, 7) == v for v in values), path.name
            g = shape(feature["geometry"])
            for polygon in shapely.get_parts(g) if g.geom_type in ("Polygon", "MultiPolygon") else []:
                assert polygon.exterior.is_ccw
    facilities = json.loads((geo / "facilities.geojson").read_text(encoding="utf-8"))["features"]
    for feature, (_, row) in zip(facilities, csv.iterrows(), strict=True):
        assert list(feature["properties"]) == [*csv.columns, "label"]
        x, y = to_utm.transform(*feature["geometry"]["coordinates"])  # back to the scenario's metres
        assert (x, y) == pytest.approx((row["x_m"], row["y_m"]), abs=0.01)
    bands = json.loads((geo / "bands_park.geojson").read_text(encoding="utf-8"))["features"]
    assert [b["properties"]["band"] for b in bands] == ["within 5 min", "within 10 min", "within 15 min"]
