"""``lifecircle optimize`` end to end: the proposed site is the best one by brute force over every cell."""

from __future__ import annotations

import re
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.sparse import csgraph

from model.model import LifeCircleModel
from model.scenario import load_scenario
from tests.conftest import write_small


def cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "model.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def covered_by_brute_force(model, ftype: str, extra_cell: int | None, limit: float) -> int:
    """Users of the type within ``limit`` minutes at their own pace of an existing facility or the extra
    cell: shortest paths by scipy's Dijkstra on the walking graph, resident by resident."""
    city, res = model.city, model.built.residents
    ft = model.spec.types[ftype]
    users = (res.age >= ft.ages.lo) & (res.age <= ft.ages.hi)
    sources = list(city.facilities.loc[city.facilities["type"] == ftype, "node"])
    if extra_cell is not None:
        sources.append(extra_cell)
    dist = csgraph.dijkstra(city.graph, directed=False, indices=sources, min_only=True)
    return int((users & (dist[res.node] / res.m_per_min <= limit)).sum())


def test_one_new_site_covers_what_the_best_cell_covers(tmp_path):
    small = write_small(tmp_path, residents=120)
    done = cli("optimize", str(small), "--type", "elderly_care", "--add", "1", "--out", "new.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    model = LifeCircleModel(load_scenario(small))
    before = covered_by_brute_force(model, "elderly_care", None, 5.0)
    best = max(
        covered_by_brute_force(model, "elderly_care", c, 5.0) for c in np.flatnonzero(model.city.walkable.reshape(-1))
    )
    printed = [int(m.replace(",", "")) for m in re.findall(r"covered (?:before|after):\s+([\d,]+)", done.stdout)]
    assert printed == [before, best] and best > before
    new = load_scenario(tmp_path / "new.toml")
    added = [f for f in new.facilities if f.name.startswith("elderly_care proposed")]
    assert len(added) == 1
    cell = added[0].y * model.city.width + added[0].x
    assert covered_by_brute_force(model, "elderly_care", cell, 5.0) == best
    assert "extends" in (tmp_path / "new.toml").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--type", "parkk", "--add", "1"], "did you mean 'park'"),
        (["--type", "park", "--add", "0"], "must be positive"),
        (["--type", "park", "--remove", "9"], "more than the 2 facilities"),
        (
            ["--type", "park", "--add", "1", "--candidates", "bad.csv"],
            "bad.csv:2: x, y: cell (99, 1) is outside the grid",
        ),
        (
            ["--type", "park", "--add", "1", "--candidates", "bad.csv"],
            "bad.csv:3: x, y: cell (9, 1) is blocked",
        ),
        (["--type", "park", "--add", "2", "--candidates", "one.csv"], "more than the 1 candidate cells"),
        (["--type", "park", "--add", "1", "--weight", "group:zz"], "--weight"),
        (["--type", "park", "--add", "1", "--minutes", "-5"], "--minutes must be positive"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, args, message):
    small = write_small(tmp_path, residents=30)
    (tmp_path / "bad.csv").write_text("x,y\n99,1\n9,1\n", encoding="utf-8")
    (tmp_path / "one.csv").write_text("x,y\n2,2\n", encoding="utf-8")
    before = set(tmp_path.iterdir())
    done = cli("optimize", str(small), *args, "--out", "new.toml", cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert set(tmp_path.iterdir()) == before


def test_geojson_of_the_proposed_scenario(tmp_path):
    small = write_small(tmp_path, residents=60)
    done = cli(
        "optimize", str(small), "--type", "elderly_care", "--add", "1", "--geojson", "--out", "new.toml", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    # no [grid] origin: the new scenario's GeoPackage, in local metres with northing = -y
    (gpkg,) = (tmp_path / "new" / "geo").glob("*.gpkg")
    facilities = gpd.read_file(gpkg, layer="facilities")
    proposed = facilities[facilities["name"] == "elderly_care proposed 1"]
    assert len(proposed) == 1
    x, y = proposed["x"].item(), proposed["y"].item()
    point = shapely.Point((x + 0.5) * 50.0, -(y + 0.5) * 50.0)
    assert proposed.geometry.item().equals(point)
    bands = gpd.read_file(gpkg, layer="bands_elderly_care")
    assert bands["max_min"].tolist()[0] == 5
    assert bands.geometry[0].contains(point)
    again = cli("optimize", str(small), "--type", "park", "--add", "1", "--geojson", "--out", "new.toml", cwd=tmp_path)
    assert again.returncode == 2 and "exists" in again.stderr


def test_remove_with_simulate_reports_the_closed_and_the_kept_sites(tmp_path):
    small = write_small(tmp_path, residents=80)
    done = cli(
        "optimize", str(small), "--type", "park", "--remove", "1", "--simulate", "--out", "less.toml", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    sites = pd.read_csv(tmp_path / "less" / "sites_park.csv")
    after = sites[sites["scenario"] == "small_without_1_park"]
    assert sorted(after["status"]) == ["closed", "kept"]
    closed = after[after["status"] == "closed"]
    assert closed[["x", "y"]].values.tolist() in ([[3, 3]], [[15, 9]])
    assert closed["visits"].isna().all()
    kept = after[after["status"] == "kept"]
    residents = pd.read_csv(tmp_path / "less" / "small_without_1_park" / "residents.csv")
    users = np.isfinite(residents["min_park"])  # every resident uses parks in this scenario
    assert kept["catchment_users"].item() == users.sum()
    assert kept["unmet_visits"].item() == residents["unmet_park"].sum()
    report = (tmp_path / "less" / "comparison.md").read_text(encoding="utf-8")
    assert "| small_without_1_park | closed | 1 |" in report


def test_pmedian_rows_by_cell_keep_the_objective_exact_when_paces_vary(tmp_path):
    """Rows by home cell at the harmonic mean pace give every plan the same total minutes as rows by
    resident: checked against a brute force over residents (Dijkstra from each site)."""
    from model.planning import location
    from model.planning.optimize import build_instance, user_weights

    small = write_small(tmp_path, residents=150)
    variant = tmp_path / "varied.toml"
    variant.write_text(f'name = "varied"\nextends = "{small.as_posix()}"\n\n[walking]\npace_cv = 0.2\n')
    model = LifeCircleModel(load_scenario(variant), seed=3)
    res, city = model.built.residents, model.city
    assert len(np.unique(res.m_per_min)) > 100  # paces vary resident by resident
    weight = user_weights(model, "park", "users")
    candidates = np.flatnonzero(city.walkable.reshape(-1))
    by_cell = build_instance(model, "park", weight, candidates, 10_000.0, by_cell=True)
    by_user = build_instance(model, "park", weight, candidates, 10_000.0)
    assert by_cell.weight.size == np.unique(res.node[weight > 0]).size < by_user.weight.size
    rng = np.random.default_rng(0)
    for _ in range(5):
        sites = np.sort(rng.choice(candidates.size, size=2, replace=False))
        dist = csgraph.dijkstra(city.graph, directed=False, indices=candidates[sites], min_only=True)
        existing = csgraph.dijkstra(
            city.graph, directed=False, indices=city.facilities.loc[city.facilities["type"] == "park", "node"]
        ).min(axis=0)
        users = weight > 0
        brute = float((np.minimum(dist, existing)[res.node[users]] / res.m_per_min[users]).sum())
        for inst in (by_cell, by_user):
            total = location.evaluate(
                "pmedian", inst.minutes, inst.weight, sites, existing=inst.existing, unserved_min=1e9
            )
            assert total == pytest.approx(brute, rel=1e-9)
