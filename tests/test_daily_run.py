"""`lifecircle run --days N` end to end: the files, and every figure recomputed from them.

The summary's usage and mixing figures are recomputed here from visits.csv, facilities.csv and
residents.csv with code written for the test (a literal per-facility, per-minute loop for the
activity figures, simple pandas for the rest), never with the model's own functions.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tomllib
from collections import defaultdict

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from model.cli import main
from tests.conftest import ROOT, read_exact_csv, write_small
from tests.test_access import reference_graph

DAYS = 2
DAY_START_MIN = 6 * 60  # both scenarios keep the default day, 06:00 to 22:00, 1-minute ticks
TICKS_PER_DAY = 16 * 60
TIGHT = """
[facility_types.park]
capacity = 6
patience_min = 3
daily_prob = 0.5

[facility_types.market]
capacity = 4
patience_min = 5
daily_prob = 0.6

[facility_types.elderly_care]
capacity = 3
daily_prob = 0.6
"""
DETERMINISTIC = ("summary.json", "residents.csv", "facilities.csv", "visits.csv", "turned_away.csv", "timeseries.csv")
BAD_DAYS = ("0", "-1", "abc", "1.5")


def cli(*args) -> list[str]:
    return [sys.executable, "-m", "model.cli", *args]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """All command-line runs of this module, started together (they are independent processes)."""
    base = tmp_path_factory.mktemp("daily")
    small = write_small(base, residents=150, extra=TIGHT)
    common = ("--days", str(DAYS), "--log-visits", "--contacts", "--quiet")
    agents, fast = ("--engine", "agents"), ("--engine", "fast")
    jobs = {
        # demo on the default engine (the one users run; its 3,000 residents on the per-agent
        # engine cost a worker 40 s): the small scenario covers the per-agent engine's files
        "demo": cli("run", str(ROOT / "scenarios" / "demo.toml"), *common, *fast),
        "small": cli("run", str(small), "--seed", "9", *common, *agents),
        "small_again": cli("run", str(small), "--seed", "9", *common, *agents),
        # the output contracts hold whatever the engine: the default fast one too
        "small_fast": cli("run", str(small), "--seed", "9", *common, *fast),
        "small_fast_again": cli("run", str(small), "--seed", "9", *common, *fast),
    }
    outs = {k: base / k for k in jobs}
    for k in jobs:
        jobs[k] += ["--out", str(outs[k])]
    # one bad --days through the command line (the others in this process: test_bad_days_exit_2_and_write_nothing)
    outs[f"bad{BAD_DAYS[0]}"] = base / f"bad_{BAD_DAYS[0]}"
    jobs[f"bad{BAD_DAYS[0]}"] = cli("run", str(small), "--days", BAD_DAYS[0], "--out", str(outs[f"bad{BAD_DAYS[0]}"]))
    # the repeated runs get another string-hash seed: results must not depend on Python's hashing
    # (e.g. the order of a set of group names)
    procs = {
        k: subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=base,
            env={**os.environ, "PYTHONHASHSEED": "1" if k.endswith("_again") else "0"},
        )
        for k, cmd in jobs.items()
    }
    results = {}
    for k, p in procs.items():
        stdout, stderr = p.communicate(timeout=600)
        results[k] = (p.returncode, stdout, stderr, outs[k])
    return results


def finished(runs, name):
    code, _, stderr, out = runs[name]
    assert code == 0, stderr
    return out


def read(out):
    """The run's files; floats read back exactly (round trip). Visit times become one timeline:
    clock minutes since midnight of day 0 (day * 1440 + clock minute)."""
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    visits = read_exact_csv(out / "visits.csv")
    for column in ("arrive_min", "leave_min"):
        visits[column] = visits["day"] * 1440 + visits[column]
    facilities = read_exact_csv(out / "facilities.csv")
    residents = read_exact_csv(out / "residents.csv", keep_default_na=False, na_values=[""])
    return summary, visits, facilities, residents


def close(a, b, tol=1e-9):
    """Equal within tol; None in the summary stands for NaN."""
    if a is None or b is None or (isinstance(b, float) and math.isnan(b)):
        return (a is None or (isinstance(a, float) and math.isnan(a))) and (
            b is None or (isinstance(b, float) and math.isnan(b))
        )
    return abs(a - b) <= tol


SCENARIOS = ("small", "small_fast", "demo")
SMALL = ("small", "small_fast")


# --------------------------------------------------------------------------- files and keys


@pytest.mark.parametrize("name", SCENARIOS)
def test_files_and_contract_keys(runs, name):
    out = finished(runs, name)
    for f in (*DETERMINISTIC, "contacts.graphml", "run.json"):
        assert (out / f).is_file(), f
    summary, visits, facilities, residents = read(out)
    assert summary["days"] == DAYS
    types = list(dict.fromkeys(facilities["type"]))
    everyday = {"fifteen_minute_usage", "unmet_share"}  # over the everyday types together
    assert set(summary["usage"]) == set(types) | everyday
    for t in types:
        assert set(summary["usage"][t]) == {
            "visits",
            "turned_away",
            "turned_away_people",
            "turned_away_visits",
            "unmet_share",
            "mean_walk_min",
            "own_pace_within_15",
            "fifteen_minute_usage",
            "peak_occupancy_ratio",
            *(("peak_people_per_1000m2",) if t == "park" else ()),
        }
    mixing = summary["mixing"]
    assert set(mixing) == {"block_cells", "block_m", "residential", "activity"}
    cell_m = tomllib.loads((out / "scenario.toml").read_text(encoding="utf-8"))["grid"].get("cell_m", 50.0)
    assert mixing["block_m"] == mixing["block_cells"] * cell_m  # the block's side in whole cells, and in metres
    groups = set(residents["group"])
    assert set(mixing["residential"]) == {"blocks", "communities", "catchment"}
    for unit in ("blocks", "communities"):
        r = mixing["residential"][unit]
        assert set(r) == {
            "dissimilarity",
            "isolation",
            "exposure",
            "relative_exposure",
            "multigroup_dissimilarity",
            "information_theory",
        }
        for k in ("dissimilarity", "isolation", "exposure", "relative_exposure"):
            assert set(r[k]) == groups
    for k in ("exposure", "relative_exposure"):
        assert set(mixing["residential"]["catchment"][k]) == groups
    act = mixing["activity"]
    assert set(act) == {
        "exposure",
        "exposure_matrix",
        "cross_group_person_minutes_per_resident_day",
        "relative_exposure",
        "experienced_isolation",
        "multigroup_dissimilarity",
        "coverage",
        "coverage_by_group",
    }
    for k in ("exposure", "exposure_matrix", "relative_exposure", "experienced_isolation", "coverage_by_group"):
        assert set(act[k]) == groups
    for t in types:
        assert {"within_level", "sfca_mean", "sfca_p10", "sfca_zero", "gini_min", "by_group", "by_age"} <= set(
            summary["access"][t]
        )
        assert set(summary["access"][t]["by_group"]) == groups
    assert "group_assortativity" in summary["contacts"]
    assert list(visits.columns) == [
        "resident",
        "facility",
        "type",
        "day",
        "arrive_min",
        "leave_min",
        "walk_min",
        "choice_rank",
        "escorted_by",  # households are on by default
        "chain",
    ]
    assert (visits["choice_rank"] >= 1).all()
    assert set(summary["dynamics"]) == set(types)
    for t in types:
        assert set(summary["dynamics"][t]) == {
            "displaced_share",
            "displaced_extra_min",
            "wait_person_min",
            "peak_queue",
            "peak_queue_day",
            "peak_queue_minute",
            "unmet",
            "by_day",  # a run of several days (DAYS > 1): each day's figures, and their change
            "change",
        }
        assert set(summary["dynamics"][t]["change"]) == set(summary["dynamics"][t]["by_day"])
        assert all(len(v) == DAYS for v in summary["dynamics"][t]["by_day"].values())
    raw = pd.read_csv(out / "visits.csv")
    day_start, day_end = DAY_START_MIN, DAY_START_MIN + TICKS_PER_DAY
    assert raw["day"].between(0, DAYS - 1).all()
    assert (raw["arrive_min"] >= day_start).all() and (raw["leave_min"] <= day_end).all()  # clock minutes
    assert {"block", *(f"unmet_{t}" for t in types), *(f"sfca_{t}" for t in types)} <= set(residents.columns)
    assert {"visits", "peak_occupancy", "turned_away"} <= set(facilities.columns)
    series = pd.read_csv(out / "timeseries.csv")
    assert {
        "home",
        "walking",
        "waiting",
        "at_facilities",
        "cross_group_copresence",
        *(f"occupancy_{t}" for t in types),
        *(f"waiting_{t}" for t in types),
    } <= set(series.columns)
    assert (series[[f"waiting_{t}" for t in types]].sum(axis=1) == series["waiting"]).all()
    assert list(series.columns[:2]) == ["day", "minute"]
    assert len(series) == DAYS * TICKS_PER_DAY  # one row per tick
    states = ["home", "walking", "waiting", "at_facilities", "escorting"]  # escorting: carers at a child's facility
    assert (series[states].sum(axis=1) == len(residents)).all()
    assert len(visits) > 0


# --------------------------------------------------------------------------- usage

# the everyday amenities of 15-minute usage (docs/metrics.md)
EVERYDAY = ("market", "convenience", "park", "culture_room", "service_centre", "health_station")


def walking_graph_of(grid: dict) -> nx.Graph:
    """The walking graph of a scenario's [grid] table, built literally (docs/metrics.md, "Walking access")."""
    width, height, cell_m = grid["width"], grid["height"], grid["cell_m"]
    walkable = np.ones((height, width), dtype=bool)
    for x, y, w, h in grid["blocked"]:
        walkable[y : y + h, x : x + w] = False
    return reference_graph(walkable, cell_m)


def presence(visits: pd.DataFrame) -> dict[tuple[int, int], list[int]]:
    """(facility, minute) -> residents present, from arrive_min <= t < leave_min."""
    present = defaultdict(list)
    for r, f, a, b in zip(visits["resident"], visits["facility"], visits["arrive_min"], visits["leave_min"]):
        for t in range(a, b):
            present[(f, t)].append(r)
    return present


@pytest.mark.parametrize("name", SCENARIOS)
def test_usage_recomputes_from_the_files(runs, name):
    summary, visits, facilities, residents = read(finished(runs, name))
    present = presence(visits)
    peak = defaultdict(int)
    for (f, _), rs in present.items():
        peak[f] = max(peak[f], len(rs))
    # per facility: totals over the run
    per_fac = visits.groupby("facility").size()
    written = tomllib.loads((finished(runs, name) / "scenario.toml").read_text(encoding="utf-8"))
    scenario_types = written["facility_types"]
    for row in facilities.itertuples():
        assert row.visits == per_fac.get(row.id, 0)
        assert row.peak_occupancy == peak.get(row.id, 0)
        if scenario_types[row.type].get("open_space", False):  # admits everyone: nobody turned away
            assert row.turned_away == 0
        else:
            assert row.peak_occupancy <= row.capacity
        assert (visits.loc[visits["facility"] == row.id, "type"] == row.type).all()
    # 15-minute usage (Abbiasov et al. 2024): home -> destination within 15 minutes at the
    # reference pace, by networkx on the grid of the run's own scenario.toml
    scenario = tomllib.loads((finished(runs, name) / "scenario.toml").read_text(encoding="utf-8"))
    reach_m = 15 * scenario["simulation"]["reference_m_per_min"]
    graph = walking_graph_of(scenario["grid"])
    from_facility = {
        row.id: nx.single_source_dijkstra_path_length(graph, (row.x, row.y), cutoff=reach_m)
        for row in facilities.itertuples()
    }
    home = dict(zip(residents["id"], zip(residents["x"], residents["y"])))
    visits["near_home"] = [home[r] in from_facility[f] for r, f in zip(visits["resident"], visits["facility"])]
    checked = 0
    types = list(dict.fromkeys(facilities["type"]))
    turned = pd.read_csv(finished(runs, name) / "turned_away.csv")
    assert turned.groupby("facility").size().reindex(facilities["id"], fill_value=0).tolist() == list(
        facilities["turned_away"]
    )
    for t in types:
        u = summary["usage"][t]
        mine = visits[visits["type"] == t]
        fac = facilities[facilities["type"] == t]
        unmet = int(residents[f"unmet_{t}"].sum())
        walks = list(mine["walk_min"])
        gave_up = turned[turned["type"] == t]  # the turn-away log: one row per attempt
        expected = {
            "visits": len(mine) / DAYS,
            "turned_away": fac["turned_away"].sum() / DAYS,
            "turned_away_people": len(gave_up[["day", "resident"]].drop_duplicates()) / DAYS,
            "turned_away_visits": (gave_up["choice_rank"] == 1).sum() / DAYS,
            "unmet_share": unmet / (len(mine) + unmet) if len(mine) + unmet else None,
            "mean_walk_min": sum(walks) / len(walks) if walks else None,
            "own_pace_within_15": sum(w <= 15.0 for w in walks) / len(walks) if walks else None,
            "fifteen_minute_usage": mine["near_home"].mean() if walks else None,
            "peak_occupancy_ratio": max(fac["peak_occupancy"] / fac["capacity"]),
        }
        if t == "park":  # an open space: crowding per 1,000 m² of the catalogue's area
            area = scenario["facility_types"]["park"]["area_m2"]
            expected["peak_people_per_1000m2"] = max(fac["peak_occupancy"]) / area * 1000
        for key, value in expected.items():
            assert close(u[key], value), (t, key, u[key], value)
            checked += value is not None
    assert checked >= 6 * len(types)
    everyday = [t for t in types if t in EVERYDAY]
    trips = visits[visits["type"].isin(everyday)]
    unmet = sum(int(residents[f"unmet_{t}"].sum()) for t in everyday)
    assert close(summary["usage"]["fifteen_minute_usage"], trips["near_home"].mean())
    assert close(summary["usage"]["unmet_share"], unmet / (len(trips) + unmet))
    if name == "demo":  # some everyday trips go beyond the reference walk, or the test shows nothing
        assert 0 < summary["usage"]["fifteen_minute_usage"] < 1
    if name in SMALL:  # the tight capacities were reached
        assert sum(summary["usage"][t]["turned_away"] for t in types) > 0
        assert sum(summary["usage"][t]["unmet_share"] or 0 for t in types) > 0


@pytest.mark.parametrize("name", SCENARIOS)
def test_timeseries_agrees_with_the_visit_log(runs, name):
    """Row k of timeseries.csv is the state after tick k: its occupancy_<type> equals the visitors
    present at that tick's minute by visits.csv, and cross_group_copresence summed over the ticks
    is the out-group person-minutes of the activity figures."""
    out = finished(runs, name)
    summary, visits, facilities, residents = read(out)
    series = pd.read_csv(out / "timeseries.csv")
    ticks = np.arange(DAYS * TICKS_PER_DAY)
    assert (series["day"].to_numpy() == ticks // TICKS_PER_DAY).all()
    assert (series["minute"].to_numpy() == DAY_START_MIN + ticks % TICKS_PER_DAY).all()
    minute = series["day"].to_numpy() * 1440 + series["minute"].to_numpy()  # the timeline of read()
    for t in facilities["type"].unique():
        mine = visits[visits["type"] == t]
        counts = np.zeros(minute[-1] + 2, dtype=int)
        np.add.at(counts, mine["arrive_min"].to_numpy(), 1)
        np.add.at(counts, mine["leave_min"].to_numpy(), -1)
        assert (series[f"occupancy_{t}"].to_numpy() == np.cumsum(counts)[minute]).all(), t
    per_capita = summary["mixing"]["activity"]["cross_group_person_minutes_per_resident_day"]
    total = series["cross_group_copresence"].sum()
    assert close(per_capita, total / (len(residents) * DAYS))


# --------------------------------------------------------------------------- activity mixing


def brute_force_activity(visits: pd.DataFrame, residents: pd.DataFrame, days: int) -> dict:
    """docs/metrics.md "Activity-space mixing", literally: each facility, each minute, each person present."""
    group = dict(zip(residents["id"], residents["group"]))
    names = sorted(set(residents["group"]))
    share_sum = defaultdict(lambda: defaultdict(float))  # r -> h -> sum of share_rh(t)
    company_minutes = defaultdict(int)
    out_group_others = 0
    for (_, _), present in sorted(presence(visits).items()):
        n = len(present) - 1
        if n < 1:
            continue
        for r in present:
            others = list(present)
            others.remove(r)
            for h in names:
                share_sum[r][h] += sum(group[o] == h for o in others) / n
            company_minutes[r] += 1
            out_group_others += sum(group[o] != group[r] for o in others)
    matrix = {}
    for g in names:
        members = [r for r in company_minutes if group[r] == g]
        matrix[g] = {
            h: (sum(share_sum[r][h] / company_minutes[r] for r in members) / len(members) if members else None)
            for h in names
        }
    exposure = {g: (sum(matrix[g][h] for h in names if h != g) if matrix[g][g] is not None else None) for g in names}
    everyone = list(residents["group"])
    share = {g: everyone.count(g) / len(everyone) for g in names}

    def mean(values):
        return sum(values) / len(values) if values else None

    # experienced isolation (Athey et al. 2021): g's exposure to g minus everyone else's exposure to g
    isolation = {}
    for g in names:
        mine = mean([share_sum[r][g] / company_minutes[r] for r in company_minutes if group[r] == g])
        theirs = mean([share_sum[r][g] / company_minutes[r] for r in company_minutes if group[r] != g])
        isolation[g] = mine - theirs if mine is not None and theirs is not None else None
    # activity dissimilarity: the multigroup formula on the (facility x group) person-minutes
    minutes = defaultdict(lambda: defaultdict(int))
    for r, f, a, b in zip(visits["resident"], visits["facility"], visits["arrive_min"], visits["leave_min"]):
        minutes[f][group[r]] += b - a
    units = [u for u in minutes.values() if sum(u.values()) > 0]
    total = sum(sum(u.values()) for u in units)
    pi = {g: sum(u[g] for u in units) / total for g in names}
    spread = sum(sum(u.values()) * abs(u[g] / sum(u.values()) - pi[g]) for u in units for g in names)
    return {
        "exposure": exposure,
        "exposure_matrix": matrix,
        "cross_group_person_minutes_per_resident_day": out_group_others / (len(residents) * days),
        "relative_exposure": {g: exposure[g] / (1 - share[g]) if exposure[g] is not None else None for g in names},
        "experienced_isolation": isolation,
        "multigroup_dissimilarity": spread / (2 * total * sum(p * (1 - p) for p in pi.values())),
        "coverage": len(company_minutes) / len(residents),
        "coverage_by_group": {g: sum(group[r] == g for r in company_minutes) / everyone.count(g) for g in names},
    }


def table_activity(visits: pd.DataFrame, residents: pd.DataFrame, days: int) -> dict:
    """The same definitions with pandas tables: one row per visitor-minute (for the larger demo run)."""
    lengths = (visits["leave_min"] - visits["arrive_min"]).to_numpy()
    rows = visits.loc[visits.index.repeat(lengths), ["resident", "facility", "arrive_min"]].reset_index(drop=True)
    rows["minute"] = rows["arrive_min"].to_numpy() + np.concatenate([np.arange(n) for n in lengths])
    rows["group"] = residents.set_index("id").loc[rows["resident"], "group"].to_numpy()
    heads = rows.groupby(["facility", "minute", "group"]).size().unstack(fill_value=0)
    names = sorted(set(residents["group"]))
    heads = heads.reindex(columns=names, fill_value=0)
    at = heads.loc[list(zip(rows["facility"], rows["minute"]))].to_numpy()
    everyone = at.sum(axis=1)
    own = (rows["group"].to_numpy()[:, None] == np.array(names)[None, :]).astype(int)
    others = at - own
    n = everyone - 1
    company = n >= 1
    share = pd.DataFrame(others[company] / n[company, None], columns=names)
    share["resident"] = rows["resident"].to_numpy()[company]
    e = share.groupby("resident").mean()
    e["group"] = residents.set_index("id").loc[e.index, "group"].to_numpy()
    matrix = e.groupby("group")[names].mean()
    exposure, table = {}, {}
    for g in names:
        if g in matrix.index:
            table[g] = {h: float(matrix.loc[g, h]) for h in names}
            exposure[g] = sum(table[g][h] for h in names if h != g)
        else:
            table[g] = {h: None for h in names}
            exposure[g] = None
    out_group = (everyone - at[own.astype(bool)]).sum()
    return {
        "exposure": exposure,
        "exposure_matrix": table,
        "cross_group_person_minutes_per_resident_day": out_group / (len(residents) * days),
    }


def check_activity(act: dict, expected: dict) -> None:
    for g, value in expected["exposure"].items():
        assert close(act["exposure"][g], value), (g, act["exposure"][g], value)
        for h, v in expected["exposure_matrix"][g].items():
            assert close(act["exposure_matrix"][g][h], v), (g, h, act["exposure_matrix"][g][h], v)
    assert close(
        act["cross_group_person_minutes_per_resident_day"], expected["cross_group_person_minutes_per_resident_day"]
    )
    # the matched-scale figures, where both sides give them (the table version does not)
    for key in ("relative_exposure", "experienced_isolation", "coverage_by_group"):
        for g, value in expected.get(key, {}).items() if key in act else ():
            assert close(act[key][g], value), (key, g, act[key][g], value)
    for key in ("multigroup_dissimilarity", "coverage"):
        if key in expected and key in act:
            assert close(act[key], expected[key]), (key, act[key], expected[key])
    assert expected["cross_group_person_minutes_per_resident_day"] > 0
    assert sum(v is not None for v in expected["exposure"].values()) >= 2


@pytest.mark.parametrize("name", SMALL)
def test_activity_mixing_recomputes_by_brute_force(runs, name):
    """The small runs, by the literal loop (and the table version agrees with it)."""
    summary, visits, _, residents = read(finished(runs, name))
    expected = brute_force_activity(visits, residents, DAYS)
    check_activity(summary["mixing"]["activity"], expected)
    check_activity(table_activity(visits, residents, DAYS), expected)


def test_activity_mixing_recomputes_on_the_demo(runs):
    summary, visits, _, residents = read(finished(runs, "demo"))
    check_activity(summary["mixing"]["activity"], table_activity(visits, residents, DAYS))


# --------------------------------------------------------------------------- residential mixing


def residential_indices(units: pd.Series, groups: pd.Series) -> dict:
    """The docs/metrics.md formulas on the unit x group table, written out term by term."""
    table = pd.crosstab(units, groups)
    t = table.sum(axis=1)
    T = t.sum()
    out = {"dissimilarity": {}, "isolation": {}, "exposure": {}}
    for g in table.columns:
        m = table[g]
        M = m.sum()
        o = t - m
        out["dissimilarity"][g] = 0.5 * sum(abs(m / M - o / (T - M)))
        out["isolation"][g] = sum((m / M) * (m / t))
        out["exposure"][g] = sum((m / M) * (o / t))
    pi = table.sum(axis=0) / T
    interaction = sum(pi * (1 - pi))
    share = table.div(t, axis=0)
    out["multigroup_dissimilarity"] = sum(
        t[i] * abs(share.loc[i, g] - pi[g]) for i in table.index for g in table.columns
    ) / (2 * T * interaction)

    def entropy(p):
        return -sum(x * math.log(x) for x in p if x > 0)

    E = entropy(pi)
    out["information_theory"] = sum(t[i] * (E - entropy(share.loc[i])) for i in table.index) / (T * E)
    return out


@pytest.mark.parametrize("name", SCENARIOS)
def test_residential_mixing_recomputes_from_residents(runs, name):
    summary, _, _, residents = read(finished(runs, name))
    mixing = summary["mixing"]
    bc = mixing["block_cells"]
    assert bc == 4  # block_m 200 m (default) over 50 m cells
    # the block column is (x // 4, y // 4)
    assert list(residents["block"]) == [f"{x // 4}:{y // 4}" for x, y in zip(residents["x"], residents["y"])]
    for unit, column in (("blocks", "block"), ("communities", "community")):
        expected = residential_indices(residents[column], residents["group"])
        got = mixing["residential"][unit]
        for key in ("dissimilarity", "isolation", "exposure"):
            for g, v in expected[key].items():
                assert close(got[key][g], v), (unit, key, g)
        assert close(got["multigroup_dissimilarity"], expected["multigroup_dissimilarity"])
        assert close(got["information_theory"], expected["information_theory"])
        share = residents["group"].value_counts(normalize=True)
        for g, v in expected["exposure"].items():  # relative to random mixing: over 1 - the group's share
            assert close(got["relative_exposure"][g], v / (1 - share[g])), (unit, g)


@pytest.mark.parametrize("name", SMALL)
def test_catchment_exposure_recomputes_from_residents(runs, name):
    """Each resident's neighbours within 15 minutes at its own pace, by networkx on the run's grid."""
    out = finished(runs, name)
    summary, _, _, residents = read(out)
    scenario = tomllib.loads((out / "scenario.toml").read_text(encoding="utf-8"))
    graph = walking_graph_of(scenario["grid"])
    homes = list(zip(residents["x"], residents["y"]))
    reach = {
        h: nx.single_source_dijkstra_path_length(graph, h, cutoff=15 * residents["m_per_min"].max() + 1)
        for h in set(homes)
    }
    shares = defaultdict(list)
    for r, (h, pace, g) in enumerate(zip(homes, residents["m_per_min"], residents["group"])):
        near = [s for s, k in enumerate(homes) if s != r and k in reach[h] and reach[h][k] / pace <= 15]
        if near:
            shares[g].append(sum(residents["group"][s] != g for s in near) / len(near))
    got = summary["mixing"]["residential"]["catchment"]
    share = residents["group"].value_counts(normalize=True)
    for g in set(residents["group"]):
        expected = sum(shares[g]) / len(shares[g])
        assert close(got["exposure"][g], expected), (g, got["exposure"][g], expected)
        assert close(got["relative_exposure"][g], expected / (1 - share[g]))


# --------------------------------------------------------------------------- contacts


@pytest.mark.parametrize("name", SCENARIOS)
def test_contacts_graph_and_assortativity(runs, name):
    out = finished(runs, name)
    summary, visits, _, residents = read(out)
    graph = nx.read_graphml(out / "contacts.graphml")
    contacts = summary["contacts"]
    assert contacts["nodes"] == graph.number_of_nodes() == len(residents)
    assert contacts["edges"] == graph.number_of_edges() > 0
    assert close(contacts["group_assortativity"], nx.attribute_assortativity_coefficient(graph, "group"))
    if name not in SMALL:
        return  # rebuilding every pair is quadratic in visitors: the small run only
    # the edges: pairs present at the same facility for at least contact_min minutes in all
    together = defaultdict(int)
    for (_, _), present in presence(visits).items():
        present = sorted(present)
        for i, a in enumerate(present):
            for b in present[i + 1 :]:
                together[(a, b)] += 1
    edges = {(a, b): m for (a, b), m in together.items() if m >= contacts["contact_min"]}
    got = {tuple(sorted((int(a), int(b)))): d["minutes"] for a, b, d in graph.edges(data=True)}
    assert got == edges


# --------------------------------------------------------------------------- determinism, bad input


@pytest.mark.parametrize("name", SMALL)
def test_same_seed_same_bytes(runs, name):
    a, b = finished(runs, name), finished(runs, f"{name}_again")
    for f in DETERMINISTIC:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def _in_process(args: list[str], capsys) -> tuple[int, str, str]:
    """``lifecircle ARGS`` run by its main() here: the exit code, stdout and stderr (argparse exits with 2)."""
    try:
        code = main(args)
    except SystemExit as stop:
        code = stop.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("bad", BAD_DAYS)
def test_bad_days_exit_2_and_write_nothing(runs, bad, tmp_path, capsys):
    """The first bad value through the command line (a process of the fixture), the others by main() here."""
    if f"bad{bad}" in runs:
        code, stdout, stderr, out = runs[f"bad{bad}"]
    else:
        out = tmp_path / f"bad_{bad}"
        small = write_small(tmp_path, residents=150, extra=TIGHT)
        code, stdout, stderr = _in_process(["run", str(small), "--days", bad, "--out", str(out)], capsys)
    assert code == 2, (stdout, stderr)
    assert "Traceback" not in stderr and "Traceback" not in stdout
    assert "--days" in stderr
    assert not out.exists()
