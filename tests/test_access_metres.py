"""Coverage at the standard's metres: within_level_m beside within_level (docs/metrics.md, "Walking access").

GB 50180-2018's levels are distances: the 5-minute life circle 300 m, the 10-minute 500 m, the
15-minute 800-1,000 m (1,000 m taken). within_level_m is the share of a type's users whose walking
metres to the nearest facility are within the distance of the type's level, whatever their pace.
Checked by hand, by brute force on the demo (networkx shortest paths on the walking grid built
literally from the rule, users by the catalogue's ages) and on a street network (home connector +
network metres + facility connector, networkx on the ways of the CSV files).
"""

from __future__ import annotations

import io
import json
import math
import re
import shutil

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from model.cli import main
from model.cli.run import print_access
from model.measures.access import access_summary
from model.measures.summary import static_summary
from model.model import LifeCircleModel
from model.scenario import load_scenario
from tests.test_access import reference_graph
from tests.test_streets_outputs import SMALL as STREETS_SMALL
from tests.test_streets_outputs import _graph_and_joins

# the standard's distances, written here from docs/sources.md, not read from the code
STANDARD_M = {5: 300.0, 10: 500.0, 15: 1000.0}


def test_hand_worked_shares_at_the_standards_metres():
    # five residents; the type is needed by residents 0..3; resident 3 cannot reach it
    mins = np.array([4.0, 5.0, 12.0, np.inf, 30.0])
    metres = np.array([150.0, 300.0, 301.0, np.inf, 10.0])
    needs = np.array([True, True, True, True, False])
    types, _ = access_summary({"t": mins}, {"t": needs}, {"t": 5.0}, {"t": metres})
    a = types["t"]
    assert a["level_m"] == 300.0
    assert a["within_level_m"] == 0.5  # 150 and 300 (the bound included) of 4 users; inf counts
    assert a["within_level"] == 0.5
    # the same walks at the 10-minute level: 500 m
    types, _ = access_summary({"t": mins}, {"t": needs}, {"t": 10.0}, {"t": metres})
    assert (types["t"]["level_m"], types["t"]["within_level_m"]) == (500.0, 0.75)
    types, _ = access_summary({"t": mins}, {"t": needs}, {"t": 15.0}, {"t": metres})
    assert (types["t"]["level_m"], types["t"]["within_level_m"]) == (1000.0, 0.75)
    # a level the standard has no distance for, and a type nobody needs
    types, _ = access_summary({"t": mins}, {"t": needs}, {"t": 12.0}, {"t": metres})
    assert types["t"]["level_m"] is None and types["t"]["within_level_m"] is None
    types, _ = access_summary({"t": mins}, {"t": needs & False}, {"t": 5.0}, {"t": metres})
    assert types["t"]["level_m"] == 300.0 and types["t"]["within_level_m"] is None
    # the headline stays first; the metres come right after it
    types, _ = access_summary({"t": mins}, {"t": needs}, {"t": 5.0}, {"t": metres})
    assert list(types["t"])[:4] == ["users", "within_level", "level_m", "within_level_m"]


def test_pace_decides_minutes_not_metres():
    # two users 280 m from the facility: the slow one (45 m/min) takes 6.2 min, over the 5-minute
    # level, yet both are within the standard's 300 m
    metres = np.array([280.0, 280.0])
    mins = metres / np.array([45.0, 78.0])
    types, _ = access_summary({"t": mins}, {"t": np.ones(2, bool)}, {"t": 5.0}, {"t": metres})
    assert types["t"]["within_level"] == 0.5 and types["t"]["within_level_m"] == 1.0


@pytest.fixture(scope="module")
def demo():
    model = LifeCircleModel("demo")
    return model, static_summary(model.context)


def test_demo_by_brute_force_on_the_grid(demo):
    model, summary = demo
    spec, res = model.spec, model.population
    walkable = np.ones((spec.grid.height, spec.grid.width), dtype=bool)
    for x, y, w, h in spec.grid.blocked:
        walkable[y : y + h, x : x + w] = False
    g = reference_graph(walkable, spec.grid.cell_m)
    checked = 0
    for t, a in summary["access"].items():
        ftype = spec.types[t]
        sources = [(f.x, f.y) for f in spec.facilities if f.type == t]
        lengths = nx.multi_source_dijkstra_path_length(g, sources)
        users = (res.age >= ftype.ages.lo) & (res.age <= ftype.ages.hi)
        walks = np.array([lengths.get((int(x), int(y)), math.inf) for x, y in zip(res.x[users], res.y[users])])
        limit = STANDARD_M[int(ftype.level_min)]
        assert a["users"] == users.sum() > 0
        assert a["level_m"] == limit
        assert a["within_level_m"] == pytest.approx((walks <= limit).mean(), abs=1e-15), t
        # and the minutes beside it are the same walks at each user's own pace
        within = (walks / res.m_per_min[users] <= ftype.level_min).mean()
        assert a["within_level"] == pytest.approx(within, abs=1e-15), t
        checked += 1
    assert checked == 12
    # the two yardsticks part where paces differ from the standard's (60, 50, about 67 m/min)
    assert any(abs(a["within_level_m"] - a["within_level"]) > 0.05 for a in summary["access"].values())


def test_the_printed_table_shows_both_coverages(demo):
    model, summary = demo
    out = io.StringIO()
    print_access(summary, out, {t: ft.level_min for t, ft in model.spec.types.items()})
    lines = out.getvalue().splitlines()
    header = next(line for line in lines if line.split()[:2] == ["facility", "type"])
    assert re.split(r"\s{2,}", header.strip())[:5] == ["facility type", "level min", "<=level", "level m", "<=level m"]
    park = next(line for line in lines if line.split()[:1] == ["park"])
    a = summary["access"]["park"]
    assert park.split()[1:5] == ["5", f"{a['within_level']:.0%}", "300", f"{a['within_level_m']:.0%}"]


def test_on_a_street_network_the_metres_include_both_connectors(tmp_path):
    scenario = tmp_path / "scenario"
    shutil.copytree(STREETS_SMALL, scenario)
    out = tmp_path / "out"
    assert main(["run", str(scenario / "small.toml"), "--seed", "3", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    residents = pd.read_csv(out / "residents.csv")
    facilities = pd.read_csv(out / "facilities.csv")
    spec = load_scenario(scenario / "small.toml")
    g, _ = _graph_and_joins()
    network = {n: nx.single_source_dijkstra_path_length(g, int(n), weight="m") for n in residents["node"].unique()}
    checked = 0
    for ftype, fac in facilities.groupby("type"):
        a, ages = summary["access"][ftype], spec.types[ftype].ages
        users = residents[(residents["age"] >= ages.lo) & (residents["age"] <= ages.hi)]
        walks = np.array(
            [
                min(
                    (
                        node_m + network[node][int(f.node)] + f.node_m
                        for f in fac.itertuples()
                        if f.node in network[node]
                    ),
                    default=math.inf,
                )
                for node, node_m in zip(users["node"], users["node_m"])
            ]
        )
        limit = STANDARD_M[int(spec.types[ftype].level_min)]
        assert a["users"] == len(users) > 0 and a["level_m"] == limit
        assert a["within_level_m"] == pytest.approx((walks <= limit).mean(), abs=1e-15), ftype
        checked += 1
    assert checked >= 2
