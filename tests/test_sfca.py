"""Two-step floating catchment access (Luo & Wang 2003): hand-worked cases and brute force.

The brute force takes docs/metrics.md literally: every user against every facility of the type,
d_ij = the shortest walk (networkx on the grid of the run's own scenario.toml) over the user's
own pace, P_j, R_j and A_i by their definitions, recomputed from the run's residents.csv and
facilities.csv.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tomllib
from collections import defaultdict

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from model.measures.sfca import sfca_summary, two_step_fca
from model.scenario import ScenarioError, load_scenario
from tests.conftest import read_exact_csv, write_small
from tests.test_access import reference_graph

# --------------------------------------------------------------------------- hand-worked


def test_one_facility_shared_by_the_users_within_its_catchment():
    # one facility of 10 places; homes at 100, 250, 300 and 400 m; everyone walks 50 m/min:
    # 2, 5, 6 and 8 minutes. Catchment 5: the first two users compete, R = 10 / 2.
    access, ratio = two_step_fca(
        user_home=[0, 1, 2, 3],
        user_pace=[50.0] * 4,
        pair_home=[0, 1, 2, 3],
        pair_facility=[0, 0, 0, 0],
        pair_metres=[100.0, 250.0, 300.0, 400.0],
        capacity=[10],
        catchment_min=5.0,
    )
    np.testing.assert_array_equal(ratio, [5.0])
    np.testing.assert_array_equal(access, [5.0, 5.0, 0.0, 0.0])


def test_two_facilities_sharing_users():
    # F0: 6 places, F1: 4 places. u0 reaches F0 only, u1 both, u2 F1 only, u3 neither.
    # P = (2, 2), R = (3, 2); A = (3, 3 + 2, 2, 0).
    access, ratio = two_step_fca(
        user_home=[0, 1, 2, 3],
        user_pace=[60.0] * 4,
        pair_home=[0, 1, 1, 2, 3, 3],
        pair_facility=[0, 0, 1, 1, 0, 1],
        pair_metres=[120.0, 240.0, 300.0, 180.0, 900.0, 960.0],  # minutes 2, 4, 5, 3, 15, 16
        capacity=[6, 4],
        catchment_min=5.0,
    )
    np.testing.assert_array_equal(ratio, [3.0, 2.0])
    np.testing.assert_array_equal(access, [3.0, 5.0, 2.0, 0.0])
    summary = sfca_summary(access)
    assert summary["sfca_mean"] == 2.5
    assert summary["sfca_p10"] == pytest.approx(0.6)  # linear: 0 + 0.3 * (2 - 0) on (0, 2, 3, 5)
    assert summary["sfca_zero"] == 0.25


def test_each_user_walks_at_its_own_pace():
    # two users on one home cell, 300 m from the only facility (3 places), catchment 5 minutes:
    # at 60 m/min exactly 5.0 minutes (inside: the catchment includes its bound), at 59 m/min
    # 5.08 minutes (outside). A facility nobody reaches keeps R = 0.
    access, ratio = two_step_fca(
        user_home=[0, 0],
        user_pace=[59.0, 60.0],
        pair_home=[0, 0],
        pair_facility=[0, 1],
        pair_metres=[300.0, 2000.0],
        capacity=[3, 7],
        catchment_min=5.0,
    )
    np.testing.assert_array_equal(ratio, [3.0, 0.0])
    np.testing.assert_array_equal(access, [0.0, 3.0])


def test_order_of_users_and_pairs_does_not_matter():
    rng = np.random.default_rng(5)
    n_users, n_homes, n_fac = 60, 9, 5
    home, pace = rng.integers(0, n_homes, n_users), rng.uniform(30, 90, n_users)
    pairs = [(h, f, rng.uniform(0, 900)) for h in range(n_homes) for f in range(n_fac) if rng.random() < 0.7]
    ph, pf, pm = (np.array(c) for c in zip(*pairs, strict=True))
    cap = rng.integers(1, 30, n_fac)
    access, ratio = two_step_fca(home, pace, ph, pf, pm, cap, 8.0)
    users, shuffled = rng.permutation(n_users), rng.permutation(len(pairs))
    again, ratio_again = two_step_fca(home[users], pace[users], ph[shuffled], pf[shuffled], pm[shuffled], cap, 8.0)
    np.testing.assert_allclose(again, access[users], rtol=1e-12)
    np.testing.assert_array_equal(ratio_again, ratio)
    # and the literal double loop
    expected = brute_force(
        {u: {f: m / pace[u] for h, f, m in pairs if h == home[u]} for u in range(n_users)}, dict(enumerate(cap)), 8.0
    )
    np.testing.assert_allclose(access, [expected[u] for u in range(n_users)], rtol=1e-12)


def test_no_users_and_bad_input():
    access, ratio = two_step_fca([], [], [0], [0], [10.0], [5], 5.0)
    assert access.size == 0 and ratio.tolist() == [0.0]
    assert all(math.isnan(v) for v in sfca_summary([]).values())
    with pytest.raises(ValueError, match="pair_facility"):
        two_step_fca([0], [50.0], [0], [3], [10.0], [5], 5.0)
    with pytest.raises(ValueError, match="pace"):
        two_step_fca([0], [0.0], [0], [0], [10.0], [5], 5.0)


def brute_force(minutes: dict, capacity: dict, catchment: float) -> dict:
    """docs/metrics.md literally: minutes[i][j] = d_ij of user i to facility j (all of them, or all within reach)."""
    competing = defaultdict(int)
    for row in minutes.values():
        for j, d in row.items():
            competing[j] += d <= catchment
    ratio = {j: (capacity[j] / competing[j] if competing[j] else 0.0) for j in capacity}
    return {i: sum(ratio[j] for j, d in row.items() if d <= catchment) for i, row in minutes.items()}


# --------------------------------------------------------------------------- the settings


def test_catchment_min_is_optional_positive_and_written_back(tmp_path):
    base = write_small(tmp_path, residents=20)
    variant = tmp_path / "variant.toml"
    variant.write_text(
        f'name = "variant"\nextends = "{base.as_posix()}"\n[facility_types.park]\ncatchment_min = 7.5\n',
        encoding="utf-8",
    )
    scenario = load_scenario(variant)
    assert scenario.types["park"].catchment_min == 7.5
    assert scenario.types["market"].catchment_min is None  # not set: the level is the catchment
    variant.write_text(variant.read_text(encoding="utf-8").replace("7.5", "0"), encoding="utf-8")
    with pytest.raises(ScenarioError, match="catchment_min: must be positive"):
        load_scenario(variant)


# --------------------------------------------------------------------------- from the run's files

VARIANT = """
name = "small_paces"
extends = "{base}"

[walking]
pace_cv = 0.2
reduced_mobility = {{ "60-100" = 0.3 }}

[facility_types.park]
catchment_min = 4.0

[facility_types.elderly_care]
capacity = 9
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run of the small scenario with paces varying within each age band and a park catchment of 4 minutes."""
    base = tmp_path_factory.mktemp("sfca")
    small = write_small(base, residents=200)
    scenario = base / "small_paces.toml"
    scenario.write_text(VARIANT.format(base=small.as_posix()), encoding="utf-8")
    out = base / "out"
    done = subprocess.run(
        [sys.executable, "-m", "model.cli", "run", str(scenario), "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return out


def test_sfca_recomputes_by_brute_force_from_the_files(run):
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    scenario = tomllib.loads((run / "scenario.toml").read_text(encoding="utf-8"))
    residents = read_exact_csv(run / "residents.csv", keep_default_na=False, na_values=[""])
    facilities = pd.read_csv(run / "facilities.csv")
    grid = scenario["grid"]
    walkable = np.ones((grid["height"], grid["width"]), dtype=bool)
    for x, y, w, h in grid["blocked"]:
        walkable[y : y + h, x : x + w] = False
    graph = reference_graph(walkable, grid["cell_m"])
    assert residents["m_per_min"].nunique() > 20  # paces vary resident by resident
    checked = 0
    for t in dict.fromkeys(facilities["type"]):
        spec = scenario["facility_types"][t]
        catchment = spec.get("catchment_min", spec["level_min"])
        lo, hi = spec["ages"]
        users = residents[(residents["age"] >= lo) & (residents["age"] <= hi)]
        mine = facilities[facilities["type"] == t]
        metres = {row.id: nx.single_source_dijkstra_path_length(graph, (row.x, row.y)) for row in mine.itertuples()}
        minutes = {
            u.id: {j: metres[j][(u.x, u.y)] / u.m_per_min for j in mine["id"] if (u.x, u.y) in metres[j]}
            for u in users.itertuples()
        }
        expected = brute_force(minutes, dict(zip(mine["id"], mine["capacity"], strict=True)), catchment)
        got = users.set_index("id")[f"sfca_{t}"]
        for i, value in expected.items():
            assert got[i] == pytest.approx(value, rel=1e-12, abs=1e-15), (t, i)
        others = residents[~residents["id"].isin(users["id"])]
        assert others[f"sfca_{t}"].isna().all()  # empty for non-users
        values = np.array([expected[i] for i in users["id"]])
        a = summary["access"][t]
        assert a["sfca_mean"] == pytest.approx(values.mean(), rel=1e-12)
        assert a["sfca_p10"] == pytest.approx(np.percentile(values, 10), rel=1e-12, abs=1e-15)
        assert a["sfca_zero"] == pytest.approx((values == 0).mean(), abs=1e-15)
        checked += 1
    assert checked == 3
    # the park's own catchment of 4 minutes, not its level of 10, bounds its users' access
    park = residents.dropna(subset=["min_park"])
    assert (park.loc[park["min_park"] > 4.0 + 1e-9, "sfca_park"] == 0).all()
    assert (park.loc[park["min_park"] <= 4.0 - 1e-9, "sfca_park"] > 0).all()
    assert (park["min_park"] > 4.0).any() and (park["min_park"] <= 4.0).any()
