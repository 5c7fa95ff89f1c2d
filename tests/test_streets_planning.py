"""``lifecircle optimize`` and ``compare`` on street scenarios.

Coverage is checked against a brute force of its own: the street graph built with networkx from
the scenario's CSV files, every home and facility joined to its nearest street node of the largest
component by the straight line (a tie between equally near nodes takes the model's choice among
them), walks by networkx's Dijkstra, every candidate (or pair, or closure) tried.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest

from model.model import LifeCircleModel
from model.scenario import load_scenario

SMALL = Path(__file__).parent / "data" / "streets_small" / "small.toml"


def cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "model.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def printed(stdout: str) -> list[int]:
    return [int(m.replace(",", "")) for m in re.findall(r"covered (?:before|after):\s+([\d,]+)", stdout)]


class Brute:
    """The street network of a scenario from its CSV files, and its residents' walks, by brute force."""

    def __init__(self, toml: Path, ftype: str, limit: float, seed: int | None = None):
        scenario = load_scenario(toml)
        files = dict(zip(scenario.streets.file_keys, scenario.streets.files, strict=True))
        nodes = pd.read_csv(files["nodes"])
        edges = pd.read_csv(files["edges"])
        self.graph = nx.Graph()
        self.graph.add_nodes_from(nodes["node_id"])
        for u, v, m in edges[["u", "v", "length_m"]].itertuples(index=False):
            if u != v and (not self.graph.has_edge(u, v) or self.graph[u][v]["length"] > m):
                self.graph.add_edge(u, v, length=float(m))
        main = max(nx.connected_components(self.graph), key=len)
        keep = nodes["node_id"].isin(main).to_numpy()
        self.main_id = nodes["node_id"].to_numpy()[keep]
        self.main_xy = nodes[["x_m", "y_m"]].to_numpy(dtype=float)[keep]
        self.model = LifeCircleModel(scenario, seed=seed)
        self.city = self.model.city
        self.ftype, self.limit = ftype, limit
        ft = scenario.types[ftype]
        res = self.model.built.residents
        users = (res.age >= ft.ages.lo) & (res.age <= ft.ages.hi)
        # each user's home (by the model's home node: the population is the input here), and pace
        home_of_node = dict(zip(self.city.homes["node"], self.city.homes["home_id"], strict=True))
        homes = pd.read_csv(files["homes"]).set_index("home_id")
        self.user_home = np.array([home_of_node[n] for n in res.node[users]])
        self.user_pace = res.m_per_min[users]
        self.n_users = int(users.sum())
        self.homes = homes
        # walks from every home's street node
        self.home_join = {}
        self.reach = {}
        for hid, row in homes.iterrows():
            street, join_m = self.snap(row["x_m"], row["y_m"], node=self._model_home_street(hid))
            if street not in self.reach:
                self.reach[street] = nx.single_source_dijkstra_path_length(self.graph, street, weight="length")
            self.home_join[hid] = (street, join_m)
        sites = scenario.facilities
        self.existing = [(f.x, f.y) for f in sites if f.type == ftype]
        self.existing_ids = [i for i, f in enumerate(sites) if f.type == ftype]

    def _model_home_street(self, hid) -> int:
        node = int(self.city.homes.loc[self.city.homes["home_id"] == hid, "node"].iloc[0])
        return int(self.city.street_id[self.city.join[node]])

    def snap(self, x: float, y: float, node: int | None = None) -> tuple[int, float]:
        """The nearest street node of the main component (a tie: ``node`` if it is among the nearest)."""
        d = np.hypot(self.main_xy[:, 0] - x, self.main_xy[:, 1] - y)
        tied = np.flatnonzero(d <= d.min() + 1e-9)
        ids = self.main_id[tied]
        pick = node if node is not None and node in set(ids.tolist()) else int(ids[0])
        return int(pick), float(d.min())

    def walk_m(self, hid, street: int, join_m: float) -> float:
        home_street, home_m = self.home_join[hid]
        return home_m + self.reach[home_street].get(street, np.inf) + join_m

    def covered_by(self, street: int, join_m: float) -> np.ndarray:
        """Per user: whether a facility joined at ``street`` by ``join_m`` metres is within the limit."""
        by_home = {h: self.walk_m(h, street, join_m) for h in set(self.user_home.tolist())}
        metres = np.array([by_home[h] for h in self.user_home])
        return metres / self.user_pace <= self.limit

    def point_cover(self, x: float, y: float) -> np.ndarray:
        return self.covered_by(*self.snap(x, y))

    def base_cover(self, drop: int | None = None) -> np.ndarray:
        out = np.zeros(self.n_users, dtype=bool)
        for i, (x, y) in enumerate(self.existing):
            if i != drop:
                out |= self.point_cover(x, y)
        return out


def added_points(toml: Path) -> list[tuple[float, float]]:
    import tomllib

    data = tomllib.loads(toml.read_text(encoding="utf-8"))
    assert "extends" in data
    return [tuple(f["at_m"]) for f in data["facilities"]]


@pytest.fixture(scope="module")
def small_brute():
    return Brute(SMALL, "park", 3.0)


def test_small_add_two_exact_is_the_best_pair_of_street_nodes(tmp_path, small_brute):
    brute = small_brute
    done = cli(
        "optimize", str(SMALL), "--type", "park", "--add", "2", "--minutes", "3", "--exact", "--out", "new.toml",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    base = brute.base_cover()
    cover = {int(n): brute.covered_by(int(n), 0.0) for n in brute.main_id}
    best = max(int((base | cover[a] | cover[b]).sum()) for a, b in itertools.combinations(cover, 2))
    assert printed(done.stdout) == [int(base.sum()), best] and best > base.sum()
    points = added_points(tmp_path / "new.toml")
    assert len(points) == 2
    node_at = {tuple(xy): i for i, xy in zip(brute.main_id, brute.main_xy.tolist(), strict=True)}
    chosen = [node_at[p] for p in points]  # the new facilities stand on street nodes
    assert int((base | cover[chosen[0]] | cover[chosen[1]]).sum()) == best
    new = load_scenario(tmp_path / "new.toml")
    assert len(new.facilities) == len(load_scenario(SMALL).facilities) + 2
    assert new.streets is not None


def test_small_candidate_points_add_their_connector(tmp_path, small_brute):
    """Points off the network: the walk is connector + network + the home's connector."""
    brute = small_brute
    points = [(385150.0, 6671105.0), (385000.0, 6671140.0), (385290.0, 6671000.0), (385105.0, 6671230.0)]
    pd.DataFrame(points, columns=["x_m", "y_m"]).to_csv(tmp_path / "c.csv", index=False)
    done = cli(
        "optimize", str(SMALL), "--type", "park", "--add", "1", "--minutes", "3", "--exact",
        "--candidates", "c.csv", "--out", "new.toml", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    base = brute.base_cover()
    gains = [int((base | brute.point_cover(x, y)).sum()) for x, y in points]
    assert printed(done.stdout) == [int(base.sum()), max(gains)]
    (at,) = added_points(tmp_path / "new.toml")
    assert at in points and gains[points.index(at)] == max(gains)
    # the same points in WGS84 give the same choice, at the same metres (pyproj round trip)
    to_deg = pyproj.Transformer.from_crs("EPSG:32635", "EPSG:4326", always_xy=True)
    lon, lat = to_deg.transform(*np.array(points).T)
    pd.DataFrame({"lon": lon, "lat": lat}).to_csv(tmp_path / "d.csv", index=False, float_format="%.10f")
    done = cli(
        "optimize", str(SMALL), "--type", "park", "--add", "1", "--minutes", "3", "--exact",
        "--candidates", "d.csv", "--out", "deg.toml", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (deg,) = added_points(tmp_path / "deg.toml")
    assert np.allclose(deg, at, atol=1e-3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x,y\n1,2\n", "c.csv: needs a header with columns x_m and y_m"),
        ("x_m,y_m\n385100,6671100\n385100,north\n", "c.csv:3: x_m, y_m: not two finite numbers"),
        ("x_m,y_m\n395100,6671100\n", "c.csv:2: x_m, y_m: point (395100.0, 6671100.0) is 9,800 m from"),
        ("lon,lat\n24.93,60.1\n240,60\n", "c.csv:3: lon, lat: (240.0, 60.0) is not a WGS84"),
        ("x_m,y_m\n", "c.csv: no candidate points"),
    ],
)
def test_bad_candidates_on_streets_exit_2_and_write_nothing(tmp_path, monkeypatch, capsys, text, message):
    from model.cli import main

    (tmp_path / "c.csv").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code = main(["optimize", str(SMALL), "--type", "park", "--add", "1", "--candidates", "c.csv", "--out", "new.toml"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "new.toml").exists()


@pytest.fixture(scope="module")
def helsinki(tmp_path_factory):
    """helsinki_centre with 2 new health stations (optimize --add 2 --exact), and the brute force."""
    folder = tmp_path_factory.mktemp("helsinki")
    done = cli(
        "optimize", "helsinki_centre", "--type", "health_station", "--add", "2", "--exact", "--out", "plus.toml",
        cwd=folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    brute = Brute(load_scenario("helsinki_centre").path, "health_station", 5.0)
    return folder, done.stdout, brute


def test_helsinki_add_two_is_the_best_pair(helsinki):
    folder, stdout, brute = helsinki
    base = brute.base_cover()
    # every street node of the main component, as coverage patterns (equal patterns tried once)
    patterns = {}
    for n in brute.main_id:
        cover = brute.covered_by(int(n), 0.0) & ~base
        patterns.setdefault(cover.tobytes(), (int(n), cover))
    covers = [c for _, c in patterns.values()]
    best = int(base.sum()) + max(int((a | b).sum()) for a, b in itertools.combinations(covers, 2))
    assert printed(stdout) == [int(base.sum()), best] and best > base.sum()
    points = added_points(folder / "plus.toml")
    got = base.copy()
    for x, y in points:
        got |= brute.point_cover(x, y)
    assert int(got.sum()) == best
    plus = load_scenario(folder / "plus.toml")
    assert [f.name for f in plus.facilities[-2:]] == ["health_station proposed 1", "health_station proposed 2"]


def test_helsinki_remove_one_closes_the_least_loss(tmp_path, helsinki):
    brute = helsinki[2]
    done = cli(
        "optimize", "helsinki_centre", "--type", "health_station", "--remove", "1", "--out", "r.toml", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    after = {i: int(brute.base_cover(drop=i).sum()) for i in range(len(brute.existing))}
    assert printed(done.stdout) == [int(brute.base_cover().sum()), max(after.values())]
    left = load_scenario(tmp_path / "r.toml")
    kept = {(f.x, f.y) for f in left.facilities if f.type == "health_station"}
    (closed,) = [i for i, xy in enumerate(brute.existing) if xy not in kept]
    assert after[closed] == max(after.values())
    assert len(left.facilities) == len(load_scenario("helsinki_centre").facilities) - 1


def test_compare_helsinki_with_its_optimized_variant(helsinki):
    from model.planning.compare import compare

    folder, _, brute = helsinki
    out = folder / "cmp"
    text = compare([load_scenario("helsinki_centre"), load_scenario(folder / "plus.toml")], out, quiet=True)
    assert "facilities differ for: health_station" in text
    maps = out / "maps"
    for name in (
        "health_station_side_by_side.png",
        "health_station_minutes_helsinki_centre_health_station_coverage_minus_helsinki_centre.png",
        "who_gained.png",
    ):
        assert (maps / name).stat().st_size > 10_000
    # coverage per scenario: the brute force's (users within 5 minutes at their own pace)
    groups = pd.read_csv(out / "groups.csv")
    ages = groups[(groups["type"] == "health_station") & (groups["by"] == "age")]
    after = brute.base_cover()
    for x, y in added_points(folder / "plus.toml"):
        after |= brute.point_cover(x, y)
    for name, cover in (("helsinki_centre", brute.base_cover()), ("helsinki_centre_health_station_coverage", after)):
        part = ages[ages["scenario"] == name]
        assert part["users"].sum() == brute.n_users
        assert np.isclose((part["users"] * part["within_level"]).sum(), cover.sum())
    sites = pd.read_csv(out / "sites_health_station.csv")
    variant = sites[sites["scenario"] == "helsinki_centre_health_station_coverage"]
    assert sorted(variant["status"]) == ["kept"] * len(brute.existing) + ["new", "new"]
    assert "![health_station: health_station_side_by_side]" in (out / "comparison.md").read_text()
