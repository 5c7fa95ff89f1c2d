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
from tests.in_process import lifecircle

VARIANT = """
name = "{name}"
extends = "{base}"

[[facilities]]
type = "elderly_care"
at = [4, 6]
"""


def cli(*args, cwd):
    """``lifecircle ARGS`` as a real subprocess (the ``compared`` fixture; the other tests: in_process)."""
    return subprocess.run(
        [sys.executable, "-m", "model.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    base = write_small(folder, residents=150)
    variant = folder / "more_care.toml"
    variant.write_text(VARIANT.format(name="more_care", base=base.as_posix()), encoding="utf-8")
    done = lifecircle(
        "compare", str(base), str(variant), "--seed", "4", "--replicates", "1", "--out", "out", "--quiet", cwd=folder
    )
    assert done.returncode == 0, done.stderr
    return folder / "out", done


def test_comparison_csv_is_each_runs_summary_and_the_difference(compared):
    out, _ = compared
    table = pd.read_csv(out / "comparison.csv").set_index("metric")
    # the columns of one seed, as before --replicates; then those added (no interval with one seed)
    assert list(table.columns)[:3] == ["small", "more_care", "diff_more_care"]
    assert list(table.columns)[3:] == ["replicates", "diff_more_care_lo", "diff_more_care_hi", "beyond_noise_more_care"]
    assert (table["replicates"] == 1).all() and table["diff_more_care_lo"].isna().all()
    assert table["beyond_noise_more_care"].isna().all()
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
    [["demo"], ["demo", "demo"], ["demo", "dmeo"], ["demo", "wuhai_life_circle", "--replicates", "0"]],
    ids=["one scenario", "same name twice", "unknown name", "no replicates"],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, args):
    done = lifecircle("compare", *args, "--out", "out", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--replicates" in done.stderr or "--replicates" not in args
    assert not (tmp_path / "out").exists()


def test_users_pace_is_the_median_own_pace_of_the_users():
    paces = np.array([45.0, 60.0, 60.0, 78.0, 78.0, 55.0])
    needs = np.array([True, True, False, False, True, True])
    assert users_pace(paces, needs) == pytest.approx(np.median([45.0, 60.0, 78.0, 55.0]))  # 57.5
    assert math.isnan(users_pace(paces, np.zeros(6, dtype=bool)))


def test_geojson_is_written_by_run_and_compare(compared, tmp_path):
    out, _ = compared
    small = write_small(tmp_path, residents=40)
    done = lifecircle("run", str(small), "--geojson", "--quiet", "--out", "run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # no [grid] origin: a GeoPackage in local metres, not GeoJSON (WGS84 only; tests/test_geo_cli.py)
    assert [p.name for p in (tmp_path / "run" / "geo").iterdir()] == ["small.gpkg"]
    bands = gpd.read_file(tmp_path / "run" / "geo" / "small.gpkg", layer="bands_park")
    assert bands["max_min"].tolist() == [5, 10, 15]
    again = lifecircle("run", str(small), "--quiet", "--out", "run", "--overwrite", cwd=tmp_path)
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
        few = " (few users)" if users < 100 else ""
        line = f"| elderly_care | {label} | {users:,}{few} | {a:.1%} | {b:.1%} | {100 * (b - a):+.1f} pp |"
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


# --replicates: the base and an option that closes the only elderly care centre (cutting both
# communities off), moves a named park and adds a named market
NAMED_PARK = '\n[[facilities]]\ntype = "park"\nat = [5, 2]\nname = "Riverside park"\n'
CLOSED_CARE = '[[facilities]]\ntype = "elderly_care"\nat = [12, 5]\n'
SEEDS = (4, 5, 6)


@pytest.fixture(scope="module")
def replicated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("replicated")
    base = write_small(folder, residents=150, extra=NAMED_PARK)
    text = base.read_text(encoding="utf-8")
    assert CLOSED_CARE in text
    plan = text.replace('name = "small"', 'name = "plan"').replace(CLOSED_CARE, "")
    plan = plan.replace("at = [5, 2]", "at = [6, 9]")
    plan += '\n[[facilities]]\ntype = "market"\nat = [16, 3]\nname = "North market"\n'
    (folder / "plan.toml").write_text(plan, encoding="utf-8")
    args = ("compare", "small.toml", "plan.toml", "--seed", "4", "--replicates", "3", "--out", "out")
    done = lifecircle(*args, cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder / "out", done


def _per_seed(out, name):
    return [flatten(json.loads((out / "replicates" / name / f"summary_seed{s}.json").read_text())) for s in SEEDS]


def test_paired_interval_is_students_t_on_the_per_seed_differences(replicated):
    """comparison.csv's difference and interval against scipy.stats.t on the differences of the per-seed summaries."""
    from scipy import stats

    out, done = replicated
    assert "seed 4" in done.stderr and "seed 6" in done.stderr and "seed 7" not in done.stderr
    table = pd.read_csv(out / "comparison.csv").set_index("metric")
    base, plan = _per_seed(out, "small"), _per_seed(out, "plan")
    assert flatten(json.loads((out / "small" / "summary.json").read_text())) == base[0]  # the first seed's folder
    t = stats.t.ppf(0.975, len(SEEDS) - 1)
    checked = 0
    assert table.loc["seed", "small"] == "4-6" and pd.isna(table.loc["seed", "diff_plan"])  # the seeds, not a mean
    for key in table.index.drop("seed"):
        a, b = [f.get(key) for f in base], [f.get(key) for f in plan]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in a + b):
            continue
        diffs = [y - x for x, y in zip(a, b, strict=True)]
        mean = sum(diffs) / 3
        sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / 2)
        row = table.loc[key]
        assert float(row["small"]) == pytest.approx(sum(a) / 3, rel=1e-9, abs=1e-12), key
        assert float(row["diff_plan"]) == pytest.approx(mean, rel=1e-9, abs=1e-12), key
        assert float(row["diff_plan_lo"]) == pytest.approx(mean - t * sd / math.sqrt(3), rel=1e-9, abs=1e-9), key
        assert float(row["diff_plan_hi"]) == pytest.approx(mean + t * sd / math.sqrt(3), rel=1e-9, abs=1e-9), key
        low, high = mean - t * sd / math.sqrt(3), mean + t * sd / math.sqrt(3)
        if abs(low) > 1e-9 and abs(high) > 1e-9:  # not on the edge
            assert row["beyond_noise_plan"] == (low > 0 or high < 0), key
        checked += 1
    assert checked > 100
    assert (table["replicates"] == 3).all()


def test_beyond_noise_on_a_constructed_case():
    """Three seeds, t(0.975, 2) = 4.302653: diffs 0.5 each (no spread) are beyond noise; -1, 1, -1 are not;
    1, 2, 3 (mean 2, half width 4.302653 / sqrt 3 = 2.484) are not; 2, 3, 4 (low +0.516) are."""
    from model.planning.replicates import comparison_table

    a = [{"x": 1.0, "y": 1.0, "u": 0.0, "v": 0.0, "name": "k"} for _ in range(3)]
    b = [
        {"x": 1.5, "y": 0.0, "u": 1.0, "v": 2.0, "name": "k"},
        {"x": 1.5, "y": 2.0, "u": 2.0, "v": 3.0, "name": "k"},
        {"x": 1.5, "y": 0.0, "u": 3.0, "v": 4.0, "name": "k"},
    ]
    table = comparison_table({"a": a, "b": b}).set_index("metric")
    assert table.loc["x", "diff_b_lo"] == pytest.approx(0.5) and table.loc["x", "diff_b_hi"] == pytest.approx(0.5)
    assert table.loc["u", "diff_b_lo"] == pytest.approx(2 - 2.484, abs=1e-3)
    assert table.loc["v", "diff_b_lo"] == pytest.approx(3 - 2.484, abs=1e-3)
    assert table.loc["y", "diff_b_hi"] == pytest.approx(-1 / 3 + 4.302653 * math.sqrt(4 / 3) / math.sqrt(3), abs=1e-5)
    assert table["beyond_noise_b"].to_dict() == {"x": True, "y": False, "u": False, "v": True, "name": None}
    one = comparison_table({"a": a[:1], "b": b[:1]}).set_index("metric")
    assert one.loc["u", "diff_b"] == 1.0 and math.isnan(one.loc["u", "diff_b_lo"])
    assert one["beyond_noise_b"].isna().all()


def test_a_closure_that_cuts_communities_off_is_the_first_line(replicated):
    out, done = replicated
    lines = (out / "comparison.md").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("**CUT OFF**: in plan, the ")
    cut = [line for line in lines[: lines.index(next(x for x in lines if x.startswith("# ")))] if line]
    assert {("West" in line, "East" in line) for line in cut} == {(True, False), (False, True)}
    for line in cut:
        assert "elderly_care users of" in line and "within the cut-off (30 min)" in line
        assert line.endswith("closed: elderly_care at (12, 5).")  # unnamed: type and cell
    assert "CUT OFF: in plan" in done.stdout
    # the residents who lose the cut-off: on the first seed, every elder within 30 minutes in the base
    residents = pd.read_csv(out / "small" / "residents.csv")
    elders = residents[residents["age"] >= 60]
    per_seed = pd.read_csv(out / "replicates" / "communities_by_type.csv")
    mine = per_seed[(per_seed["scenario"] == "plan") & (per_seed["type"] == "elderly_care") & (per_seed["seed"] == 4)]
    for community, part in elders.groupby("community"):
        row = mine[mine["community"] == community].iloc[0]
        assert row["users"] == len(part)
        assert row["lost_cutoff"] == (part["min_elderly_care"] <= 30).sum() > 0
        assert row["within_cutoff"] == 0 and row["within_15"] == 0
    table = pd.read_csv(out / "communities_by_type.csv", keep_default_na=False)
    care = table[(table["scenario"] == "plan") & (table["type"] == "elderly_care")]
    assert set(care["cut_off"]) == {"cut-off"}
    assert set(table.loc[(table["scenario"] == "plan") & (table["type"] == "market"), "cut_off"]) == {""}


def test_closed_moved_and_new_sites_are_named(replicated):
    out, _ = replicated
    report = (out / "comparison.md").read_text(encoding="utf-8")
    section = report.split("## Sites closed, moved and new")[1].split("## ")[0]
    assert "- plan, elderly_care: closed: elderly_care at (12, 5)." in section
    assert "- plan, park: moved: Riverside park (from (5, 2) to (6, 9))." in section
    assert "- plan, market: new: North market." in section
    parks = pd.read_csv(out / "sites_park.csv")
    moved = parks[parks["status"] == "moved"]
    assert moved[["scenario", "name", "x", "y", "from_x", "from_y"]].values.tolist() == [
        ["plan", "Riverside park", 6, 9, 5.0, 2.0]
    ]
    assert "closed" not in set(parks["status"])  # the moved park is not also closed


def test_groups_with_few_users_are_flagged_not_ranked(replicated):
    out, _ = replicated
    groups = pd.read_csv(out / "groups.csv")
    per_seed = pd.read_csv(out / "replicates" / "groups.csv")
    mean_users = per_seed.groupby(["scenario", "type", "by", "value"])["users"].mean()
    for _, row in groups.iterrows():
        users = mean_users[(row["scenario"], row["type"], row["by"], row["value"])]
        assert row["few_users"] == (users < 100)
        assert row["users"] == round(users)
    assert groups["few_users"].any() and not groups["few_users"].all()
    report = (out / "comparison.md").read_text(encoding="utf-8")
    few = groups[groups["few_users"] & (groups["scenario"] == "small")]
    changed = report.split("## What changed, and for whom")[1].split("## ")[0]
    ranked = 0
    for part in changed.split("\n**")[1:]:  # one part per changed type: "park** (facilities moved ...)"
        t = part.split("**")[0]
        line = next(x for x in part.splitlines() if x.startswith("- plan:"))
        if t == "elderly_care":  # every group of the elders has fewer than 100 users: none ranked
            assert "most gained" not in line
            continue
        named = line.split("most gained: ")[1]
        for _, g in few[few["type"] == t].iterrows():
            assert f"{g['by']} {g['value']} (" not in named, line
        ranked += 1
    assert ranked == 2  # park and market
    for _, g in few[few["type"] == "park"].iterrows():
        label = f"ages {g['value']}" if g["by"] == "age" else g["value"]
        assert f"| park | {label} | {g['users']:,} (few users) |" in report


def test_report_html_is_self_contained_and_pdf_has_pages(replicated):
    import re

    out, _ = replicated
    page = (out / "report.html").read_text(encoding="utf-8")
    assert re.findall(r"""(?:src|href)\s*=\s*["'](?!data:)""", page) == []
    assert page.count("<img ") == len(list((out / "maps").glob("*.png"))) >= 3
    assert "<table>" in page and "life circle complete" in page and "CUT OFF" in page
    assert page.index("CUT OFF") < page.index("<h1>")
    assert "Student&#x27;s t with 2 degrees of freedom" in page  # the method
    pdf = (out / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) > 1


def test_chinese_report_on_a_tiny_closure(tmp_path):
    """--lang zh --excel on two tiny scenarios named in Chinese: closing the park by 东区 leaves its residents
    21.7 minutes from the other (26 cells of 50 m at 60 m/min): cut off within 15 minutes, the first line."""
    from tests.conftest import community, write_tiny

    parks = '[[facilities]]\ntype = "park"\nat = [2, 0]\nname = "河滨公园"\n'
    east = '\n[[facilities]]\ntype = "park"\nat = [27, 0]\n'
    homes = community(1, 0, 10, name="滨河社区") + "\n" + community(28, 0, 10, name="东区")
    for name, facilities in (("乌海现状", parks + east), ("乌海方案一", parks)):
        write_tiny(tmp_path, width=30, height=1, communities=homes, facilities=facilities, types="", name=name)
    done = lifecircle(
        "compare", "乌海现状.toml", "乌海方案一.toml", "--replicates", "2", "--lang", "zh", "--excel", "--quiet",
        "--out", "out", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    lines = (out / "comparison.md").read_text(encoding="utf-8").splitlines()
    assert lines[0] == (
        "**断供**: 在 乌海方案一 中，东区 的 10 名 park 使用者在 15 分钟 以内已无设施"
        "（在 乌海现状 中有 100.0% 的人有）；关闭：park at (27, 0)。"
    )
    assert "# 方案比较: 乌海现状 vs 乌海方案一" in lines and "## 谁受损失：按社区" in lines
    assert any(line.startswith("| 社区 | 设施类型 | 使用者 |") for line in lines)
    for name in ("comparison.csv", "groups.csv", "communities_by_type.csv", "replicates/groups.csv"):
        assert (out / name).read_bytes().startswith("\ufeff".encode()), name
    by_type = pd.read_csv(out / "communities_by_type.csv", encoding="utf-8-sig", keep_default_na=False)
    east_row = by_type[(by_type["scenario"] == "乌海方案一") & (by_type["community"] == "东区")].iloc[0]
    assert east_row["cut_off"] == "15 min"
    assert float(east_row["lost_15"]) == 10 and float(east_row["lost_cutoff"]) == 0
    assert float(east_row["mean_min"]) == pytest.approx(26 * 50 / 60)
    assert "<h2>谁受损失：按社区</h2>" in (out / "report.html").read_text(encoding="utf-8")
