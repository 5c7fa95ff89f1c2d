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
from tests.in_process import lifecircle


def cli(*args, cwd):
    """``lifecircle ARGS`` as a real subprocess (the first test; the others: in_process or run_cli)."""
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
        (["--type", "park", "--add", "0"], "--add: must be a number of sites from 1 to 50,000,000"),
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
        (
            ["--type", "park", "--add", "1", "--minutes", "-5"],
            "--minutes: must be minutes greater than 0 and at most 1440",
        ),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, args, message):
    small = write_small(tmp_path, residents=30)
    (tmp_path / "bad.csv").write_text("x,y\n99,1\n9,1\n", encoding="utf-8")
    (tmp_path / "one.csv").write_text("x,y\n2,2\n", encoding="utf-8")
    before = set(tmp_path.iterdir())
    done = lifecircle("optimize", str(small), *args, "--out", "new.toml", cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert set(tmp_path.iterdir()) == before


def test_geojson_of_the_proposed_scenario(tmp_path):
    small = write_small(tmp_path, residents=60)
    done = lifecircle(
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
    again = lifecircle(
        "optimize", str(small), "--type", "park", "--add", "1", "--geojson", "--out", "new.toml", cwd=tmp_path
    )
    assert again.returncode == 2 and "exists" in again.stderr


def test_remove_with_simulate_reports_the_closed_and_the_kept_sites(tmp_path):
    small = write_small(tmp_path, residents=80)
    done = lifecircle(
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


# --------------------------------------------------------------------------- issue 20: who loses, words, sizing


def run_cli(capsys, *args) -> tuple[int, str, str]:
    """The command in this process (faster than a subprocess): exit status, stdout, stderr."""
    from model.cli import main

    try:
        status = main([str(a) for a in args])
    except SystemExit as exc:  # argparse's own check of a flag's value (--share)
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def site_minutes(model, ftype: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The type's sites and, per site (rows) and resident, the resident's own walking minutes (scipy's Dijkstra)."""
    city, res = model.city, model.built.residents
    sites = city.facilities[city.facilities["type"] == ftype]
    metres = csgraph.dijkstra(city.graph, directed=False, indices=sites["node"].to_numpy())
    return sites, metres[:, res.node] / res.m_per_min


def test_remove_reports_the_losers_by_community_before_writing(tmp_path, capsys):
    """The losers of closing one park, by community, against a brute force resident by resident."""
    small = write_small(tmp_path, residents=150)
    status, out, err = run_cli(
        capsys, "optimize", small, "--type", "park", "--remove", "1", "--out", tmp_path / "less.toml"
    )
    assert status == 0, err
    model = LifeCircleModel(load_scenario(small))
    res = model.built.residents
    sites, minutes = site_minutes(model, "park")
    less = load_scenario(tmp_path / "less.toml")
    gone = [i for i, name in enumerate(sites["name"]) if name not in {f.name for f in less.facilities}]
    assert len(gone) == 1
    before = minutes.min(axis=0)
    after = np.delete(minutes, gone, axis=0).min(axis=0)
    level = model.spec.types["park"].level_min
    cutoff = model.spec.simulation.cutoff_min
    horizon = max(level, 15.0, cutoff)
    table = pd.read_csv(tmp_path / "less_communities.csv")
    for c, name in enumerate(res.community_names):
        mine = res.community == c  # every resident uses parks
        row = table[table["community"] == name].iloc[0]
        assert row["users"] == mine.sum()
        assert row["lose_level"] == ((before <= level) & (after > level) & mine).sum()
        assert row["within_15_after"] == ((after <= 15) & mine).sum()
        assert row["within_cutoff_before"] == ((before <= cutoff) & mine).sum()
        assert row["lose_cutoff"] == ((before <= cutoff) & (after > cutoff) & mine).sum()
        assert row["mean_min_after"] == pytest.approx(np.minimum(after[mine], horizon).mean(), rel=1e-9)
    losers = int(((before <= level) & (after > level)).sum())
    assert losers > 0
    closed = sites.iloc[gone[0]]
    # printed first, before the file is written; the closed park named, in the file's data too
    first = out.splitlines()[0]
    assert first.startswith("Closing 1 of the 2 park sites: ") and closed["name"] in first
    assert f"{losers:,} users lose their {level:g}-min level" in out
    assert out.index("Closing") < out.index("new scenario written")
    assert closed["name"] in less.description and f"cell ({closed['x']}, {closed['y']})" in less.description


def test_a_community_cut_off_is_the_first_line(tmp_path, capsys):
    """Two communities, each with its own elderly care out of the other's reach: closing one cuts its community off."""
    from tests.conftest import community, facility, ftype, write_tiny

    tiny = write_tiny(
        tmp_path,
        width=40,
        height=1,
        communities=community(0, 0, 5, name="Near") + community(39, 0, 5, name="Far"),
        facilities=facility("elderly_care", 0, 0) + facility("elderly_care", 39, 0),
        types=ftype("elderly_care", ages=[0, 100]),
        simulation='day_start = "07:00"\nday_end = "10:00"\ncutoff_min = 20',
    )
    # 39 cells of 50 m at 60 m/min: 32.5 minutes apart, beyond the 20-minute cut-off
    status, out, err = run_cli(
        capsys, "optimize", tiny, "--type", "elderly_care", "--remove", "1", "--out", tmp_path / "one.toml"
    )
    assert status == 0, err
    first = out.splitlines()[0]
    assert first.startswith("CUT OFF: ") and "(5 users)" in first
    table = pd.read_csv(tmp_path / "one_communities.csv")
    assert table["lose_cutoff"].sum() == 5 and table["within_cutoff_after"].tolist().count(0) == 1


def test_proven_optimal_when_the_gap_is_0_and_the_gap_otherwise():
    from model.cli.optimize import quality
    from model.planning.location import Solution, coverage

    # two users, one candidate each: the MIP is exact, its bound equals its value
    minutes = np.array([[1.0, np.inf], [np.inf, 1.0]])
    sol = coverage(minutes, [2.0, 1.0], 1, limit_min=5.0)
    assert sol.objective == 2.0 and sol.gap == 0
    assert quality(sol).startswith("proven optimal")
    open_gap = Solution(
        "coverage", np.array([0]), 90.0, 50.0, 100.0, "max", "greedy-swap", "heuristic", 0.1, np.zeros(1)
    )
    assert quality(open_gap) == "within 10.0 (10.00%) of the bound 100.0"
    assert quality(
        Solution("coverage", np.array([0]), 90.0, 50.0, None, "max", "x", "heuristic", 0.1, np.zeros(1))
    ) == ("no bound")


def test_pmedian_prints_minutes_per_user(tmp_path, capsys):
    """Minutes per user = total / users, both computed by brute force (every park within the horizon here)."""
    small = write_small(tmp_path, residents=60)
    status, out, err = run_cli(
        capsys, "optimize", small, "--type", "park", "--add", "1", "--objective", "pmedian", "--exact",
        "--out", tmp_path / "pm.toml",
    )  # fmt: skip
    assert status == 0, err
    model = LifeCircleModel(load_scenario(small))
    city, res = model.city, model.built.residents
    _, minutes = site_minutes(model, "park")
    new = [f for f in load_scenario(tmp_path / "pm.toml").facilities if f.name == "park proposed 1"][0]
    extra = (
        csgraph.dijkstra(city.graph, directed=False, indices=[new.y * city.width + new.x])[0][res.node] / res.m_per_min
    )
    before, after = minutes.min(axis=0), np.minimum(minutes.min(axis=0), extra)
    assert before.max() < 30  # nobody beyond the p-median's horizon: no cap applies
    per_user = re.search(r"minutes per user before: ([\d.]+); after: ([\d.]+) \(([\d,]+) users\)", out)
    totals = re.search(r"weighted minutes before: ([\d,.]+); after: ([\d,.]+)", out)
    assert per_user and totals, out
    users = len(res)
    assert int(per_user[3].replace(",", "")) == users
    assert float(totals[1].replace(",", "")) == pytest.approx(before.sum(), abs=0.05)
    assert float(totals[2].replace(",", "")) == pytest.approx(after.sum(), abs=0.05)
    assert float(per_user[1]) == pytest.approx(before.sum() / users, abs=0.005)
    assert float(per_user[2]) == pytest.approx(after.sum() / users, abs=0.005)
    assert "proven optimal" in out


def test_sites_are_named_by_their_community_and_cell(tmp_path, capsys):
    from model.planning.optimize import place_of

    small = write_small(tmp_path, residents=30)
    model = LifeCircleModel(load_scenario(small))
    w = model.city.width
    assert place_of(model, 3, 3, 3 * w + 3) == "West, cell (3, 3)"
    assert place_of(model, 12, 5, 5 * w + 12) == "East, cell (12, 5)"
    # (10, 5): half a cell (25 m) from East's area (x from 11), two and a half (125 m) from West's (x below 8)
    assert place_of(model, 10, 5, 5 * w + 10) == "near East (25 m), cell (10, 5)"
    status, out, err = run_cli(
        capsys, "optimize", small, "--type", "elderly_care", "--add", "1", "--out", tmp_path / "n.toml"
    )
    assert status == 0, err
    new = [f for f in load_scenario(tmp_path / "n.toml").facilities if f.name == "elderly_care proposed 1"][0]
    assert f"new site 1: {place_of(model, new.x, new.y, new.y * w + new.x)}" in out


def test_allocate_by_largest_remainders():
    from model.planning.sizing import allocate

    # one place each, then 7 shared 3 : 1 : 0 -> 5.25, 1.75, 0 -> 5, 1, 0 and the one left to the largest remainder
    assert allocate(10, np.array([3, 1, 0])).tolist() == [6, 3, 1]
    assert allocate(3, np.array([5, 5, 5])).tolist() == [1, 1, 1]
    assert allocate(5, np.array([0, 0])).tolist() == [3, 2]  # equal shares, ties to the lower index
    with pytest.raises(ValueError):
        allocate(1, np.array([1, 1]))


def served_share(scenario, places: int) -> float:
    """Served / wanted visits of elderly care in one simulated day, from the summary's own unmet share."""
    from dataclasses import replace

    facilities = tuple(replace(f, capacity=places) if f.type == "elderly_care" else f for f in scenario.facilities)
    model = LifeCircleModel(replace(scenario, facilities=facilities), days=1)
    model.run()
    return 1.0 - model.summary()["usage"]["elderly_care"]["unmet_share"]


def test_size_finds_the_fewest_places_that_serve_the_share(tmp_path, capsys):
    """One elderly-care site too small: S is served with the answer's places and not with one place fewer."""
    from tests.conftest import write_busy_small

    busy = write_busy_small(tmp_path, residents=200)
    status, out, err = run_cli(
        capsys, "optimize", busy, "--size", "elderly_care", "--share", "0.9", "--out", tmp_path / "sized.toml"
    )
    assert status == 0, err
    sized = load_scenario(tmp_path / "sized.toml")
    places = [f.capacity for f in sized.facilities if f.type == "elderly_care"]
    assert len(places) == 1 and places[0] > 2
    base = load_scenario(busy)
    assert served_share(base, 2) < 0.9
    assert served_share(base, places[0]) >= 0.9 > served_share(base, places[0] - 1)
    assert f"2 -> {places[0]} places" in out and "simulations in" in out
    name = [f.name for f in base.facilities if f.type == "elderly_care"][0]
    assert f"{name}: 2 -> {places[0]}" in sized.description


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "elderly_care", "--share", "0"], "--share: must be a share greater than 0 and at most 1"),
        (["--size", "elderly_care", "--share", "1.5"], "--share: must be a share greater than 0 and at most 1"),
        (["--size", "elderly_car", "--share", "0.9"], "did you mean 'elderly_care'"),
        (["--size", "park", "--share", "0.9"], "open space"),
        (["--size", "nursery", "--share", "0.9"], "enrolment"),
        (["--size", "elderly_care"], "give --share"),
        (["--type", "park", "--add", "1", "--share", "0.9"], "--share goes with --size"),
        (["--type", "park", "--size", "elderly_care", "--share", "0.9"], "contradicts"),
        (["--size", "elderly_care", "--share", "0.9", "--objective", "pmedian"], "does not go with --size"),
        (["--add", "1"], "--type: give the facility type"),
        # a 3-minute cut-off and one candidate cell: the West's elders reach no site at all
        (["--size", "elderly_care", "--share", "1", "--candidates", "one.csv"], "cannot be reached"),
    ],
)
def test_size_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, args, message):
    small = write_small(tmp_path, residents=40, extra="\n[simulation]\ncutoff_min = 3\n")
    (tmp_path / "one.csv").write_text("x,y\n12,5\n", encoding="utf-8")
    before = set(tmp_path.iterdir())
    args = [tmp_path / a if a == "one.csv" else a for a in args]
    status, _, err = run_cli(capsys, "optimize", small, *args, "--out", tmp_path / "new.toml")
    assert status == 2 and message in err and "Traceback" not in err, err
    assert set(tmp_path.iterdir()) == before


def test_size_adds_sites_when_the_reach_falls_short(tmp_path, capsys):
    """With a 6-minute cut-off the West's elders reach no elderly care: sites are added until S can be served."""
    small = write_small(tmp_path, residents=100, extra="\n[simulation]\ncutoff_min = 6\n")
    model = LifeCircleModel(load_scenario(small))
    res = model.built.residents
    _, minutes = site_minutes(model, "elderly_care")
    elders = res.age >= 60
    assert (minutes.min(axis=0)[elders] > 6).mean() > 0.2  # far more than 1 - S of the users beyond reach
    status, out, err = run_cli(
        capsys, "optimize", small, "--size", "elderly_care", "--share", "0.8", "--out", tmp_path / "sized.toml"
    )
    assert status == 0, err
    sized = load_scenario(tmp_path / "sized.toml")
    added = [f for f in sized.facilities if f.name.startswith("elderly_care proposed")]
    assert added and "new sites for the reach" in out
    run = LifeCircleModel(sized, days=1)
    run.run()
    assert 1.0 - run.summary()["usage"]["elderly_care"]["unmet_share"] >= 0.8


def test_chinese_headings_and_a_table_for_excel(tmp_path, capsys):
    small = write_small(tmp_path, residents=30)
    status, out, err = run_cli(
        capsys, "optimize", small, "--type", "park", "--remove", "1", "--lang", "zh", "--excel",
        "--out", tmp_path / "zh.toml",
    )  # fmt: skip
    assert status == 0, err
    assert out.splitlines()[0].startswith("关闭 2 个 park 中的 1 个：") and "社区" in out and "新方案已写入" in out
    raw = (tmp_path / "zh_communities.csv").read_bytes()
    assert raw.startswith("\ufeffcommunity,users,".encode())  # the byte-order mark, the columns in English
