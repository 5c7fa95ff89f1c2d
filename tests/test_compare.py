"""``lifecircle compare``: placement options side by side, checked against each run's own files."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from model.measures.access import users_pace
from model.measures.summary import flatten
from tests.conftest import write_small

VARIANT = """
name = "{name}"
extends = "{base}"

[[facilities]]
type = "elderly_care"
at = [4, 6]
"""


def cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "model.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    base = write_small(folder, residents=150)
    variant = folder / "more_care.toml"
    variant.write_text(VARIANT.format(name="more_care", base=base.as_posix()), encoding="utf-8")
    done = cli("compare", str(base), str(variant), "--seed", "4", "--out", "out", "--quiet", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder / "out", done


def test_comparison_csv_is_each_runs_summary_and_the_difference(compared):
    out, _ = compared
    table = pd.read_csv(out / "comparison.csv").set_index("metric")
    assert list(table.columns) == ["small", "more_care", "diff_more_care"]
    a = flatten(json.loads((out / "small" / "summary.json").read_text()))
    b = flatten(json.loads((out / "more_care" / "summary.json").read_text()))
    checked = 0
    for key, value in a.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and b.get(key) is not None:
            assert float(table.loc[key, "small"]) == pytest.approx(value, rel=1e-12, abs=1e-12)
            assert float(table.loc[key, "diff_more_care"]) == pytest.approx(b[key] - value, rel=1e-9, abs=1e-12)
            checked += 1
    assert checked > 50
    # the new care centre brings elders closer: their mean walk is shorter
    assert table.loc["access.elderly_care.mean_min", "diff_more_care"] < 0


def test_report_maps_and_group_table(compared):
    out, done = compared
    report = (out / "comparison.md").read_text(encoding="utf-8")
    assert "elderly_care" in report and "## What changed, and for whom" in report
    assert "elderly_care" in done.stdout
    for name in ("elderly_care_side_by_side.png", "elderly_care_minutes_more_care_minus_small.png", "who_gained.png"):
        assert (out / "maps" / name).stat().st_size > 10_000, name
        assert f"maps/{name}" in report
    assert not any(p.name.startswith("park_") for p in (out / "maps").iterdir())  # parks did not move
    groups = pd.read_csv(out / "groups.csv")
    residents = pd.read_csv(out / "small" / "residents.csv")
    elders = residents[(residents["age"] >= 60)]
    row = groups[(groups["scenario"] == "small") & (groups["type"] == "elderly_care") & (groups["by"] == "group")]
    for _, r in row.iterrows():
        mine = elders[elders["group"] == r["value"]]
        assert r["users"] == len(mine)
        assert r["within_level"] == pytest.approx((mine["min_elderly_care"] <= 5).mean(), abs=1e-12)


@pytest.mark.parametrize(
    "args",
    [["demo"], ["demo", "demo"], ["demo", "dmeo"]],
    ids=["one scenario", "same name twice", "unknown name"],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, args):
    done = cli("compare", *args, "--out", "out", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_users_pace_is_the_median_own_pace_of_the_users():
    paces = np.array([45.0, 60.0, 60.0, 78.0, 78.0, 55.0])
    needs = np.array([True, True, False, False, True, True])
    assert users_pace(paces, needs) == pytest.approx(np.median([45.0, 60.0, 78.0, 55.0]))  # 57.5
    assert math.isnan(users_pace(paces, np.zeros(6, dtype=bool)))


def test_geojson_is_written_by_run_and_compare(compared, tmp_path):
    out, _ = compared
    small = write_small(tmp_path, residents=40)
    done = cli("run", str(small), "--geojson", "--quiet", "--out", "run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # no [grid] origin: a GeoPackage in local metres, not GeoJSON (WGS84 only; tests/test_geo_cli.py)
    assert [p.name for p in (tmp_path / "run" / "geo").iterdir()] == ["small.gpkg"]
    bands = gpd.read_file(tmp_path / "run" / "geo" / "small.gpkg", layer="bands_park")
    assert bands["max_min"].tolist() == [5, 10, 15]
    again = cli("run", str(small), "--quiet", "--out", "run", "--overwrite", cwd=tmp_path)
    assert again.returncode == 0 and not (tmp_path / "run" / "geo" / "small.gpkg").exists()


def test_sites_table_places_each_users_unmet_visits_at_the_nearest_site(compared):
    """sites_elderly_care.csv against a brute force: one Dijkstra search per site, every elder's nearest."""
    from scipy.sparse import csgraph

    from model.model import LifeCircleModel
    from model.scenario import load_scenario

    out, _ = compared
    sites = pd.read_csv(out / "sites_elderly_care.csv")
    assert set(sites["status"]) == {"kept", "new"}
    assert sites.loc[sites["status"] == "new", ["scenario", "x", "y"]].values.tolist() == [["more_care", 4, 6]]
    for name in ("small", "more_care"):
        mine = sites[sites["scenario"] == name].reset_index(drop=True)
        facilities = pd.read_csv(out / name / "facilities.csv")
        care = facilities[facilities["type"] == "elderly_care"].reset_index(drop=True)
        assert mine["id"].tolist() == care["id"].tolist()
        assert mine["visits"].tolist() == care["visits"].tolist()
        residents = pd.read_csv(out / name / "residents.csv")
        elders = residents[residents["age"] >= 60]
        city = LifeCircleModel(load_scenario(out / name / "scenario.toml"), seed=4).city
        dist = csgraph.dijkstra(city.graph, directed=False, indices=(care["y"] * city.width + care["x"]).to_numpy())
        at_home = dist[:, (elders["y"] * city.width + elders["x"]).to_numpy()]  # sites x elders
        nearest = at_home.min(axis=0)
        reach = np.isfinite(nearest)
        ties = (at_home == nearest).sum(axis=0) > 1
        assert mine["catchment_users"].sum() == reach.sum()
        assert mine["unmet_visits"].sum() == elders["unmet_elderly_care"].to_numpy()[reach].sum()
        for j in range(len(care)):
            strictly = reach & ~ties & (at_home[j] == nearest)
            maybe = reach & (at_home[j] == nearest)
            assert strictly.sum() <= mine.loc[j, "catchment_users"] <= maybe.sum()
            unmet = elders["unmet_elderly_care"].to_numpy()
            assert unmet[strictly].sum() <= mine.loc[j, "unmet_visits"] <= unmet[maybe].sum()


def test_headline_shows_coverage_by_age_band_and_group(compared):
    out, _ = compared
    report = (out / "comparison.md").read_text(encoding="utf-8")
    groups = pd.read_csv(out / "groups.csv")
    care = groups[groups["type"] == "elderly_care"]
    for (by, value), rows in care.groupby(["by", "value"]):
        a = rows.loc[rows["scenario"] == "small", "within_level"].item()
        b = rows.loc[rows["scenario"] == "more_care", "within_level"].item()
        users = rows.loc[rows["scenario"] == "small", "users"].item()
        label = f"ages {value}" if by == "age" else value
        line = f"| elderly_care | {label} | {users:,} | {a:.1%} | {b:.1%} | {100 * (b - a):+.1f} pp |"
        assert line in report, line
    assert "| park |" not in report.split("## What changed")[0].split("by age band and by group")[1]


def test_static_baseline_beside_each_scenario(compared):
    """comparison.csv holds static.<path> and diff.<path> = agent - static; comparison.md's last
    section shows agent / static / difference per scenario, the difference matching the two."""
    out, _ = compared
    table = pd.read_csv(out / "comparison.csv").set_index("metric")
    checked = 0
    for name in ("small", "more_care"):
        flat = flatten(json.loads((out / name / "summary.json").read_text()))
        for key in table.index:
            if not key.startswith("diff."):
                continue
            path = key[len("diff.") :]
            agent, static = flat.get(path), flat.get(f"static.{path}")
            if agent is None or static is None:
                assert math.isnan(float(table.loc[key, name])), key
                continue
            assert float(table.loc[key, name]) == pytest.approx(agent - static, rel=1e-9, abs=1e-12), key
            checked += 1
    assert checked > 20
    assert "diff.usage.park.visits" in table.index and "static.usage.park.load" in table.index
    md = (out / "comparison.md").read_text(encoding="utf-8")
    section = md.split("## The agent model beside the static baseline")[1]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) > 10
    flats = {n: flatten(json.loads((out / n / "summary.json").read_text())) for n in ("small", "more_care")}
    visits = next(r for r in rows if r.startswith("| park: visits per day |"))
    cells = [c.strip() for c in visits.strip("|").split("|")][1:]
    for k, name in enumerate(("small", "more_care")):
        agent, static, diff = (float(c.replace(",", "")) for c in cells[3 * k : 3 * k + 3])
        assert agent == pytest.approx(flats[name]["usage.park.visits"], abs=0.051)
        assert static == pytest.approx(flats[name]["static.usage.park.visits"], abs=0.051)
        assert diff == pytest.approx(agent - static, abs=0.11)
