"""``lifecircle optimize`` and ``compare`` on street scenarios.

Coverage is checked against a brute force of its own: the street graph built with networkx from
the scenario's CSV files, every home and facility joined to its nearest street node of the largest
component by the straight line (a tie between equally near nodes takes the model's choice among
them), walks by networkx's Dijkstra, every candidate (or pair, or closure) tried.
"""

from __future__ import annotations

import itertools
import json
import math
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
from tests.in_process import lifecircle

SMALL = Path(__file__).parent / "data" / "streets_small" / "small.toml"


def cli(*args, cwd):
    """``lifecircle ARGS`` as a real subprocess (the helsinki fixture; the tests: in_process)."""
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
    done = lifecircle(
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
    done = lifecircle(
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
    done = lifecircle(
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
    done = lifecircle(
        "optimize", "helsinki_centre", "--type", "health_station", "--remove", "1", "--out", "r.toml", cwd=tmp_path,
    )  # fmt: skip
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


# --------------------------------------------------------------------------- a tiny street scenario
# the p-median and the capacitated models, --simulate, --geojson and candidate points, each checked
# against a brute force over the candidates with networkx's walks (the class Brute above)

X0, Y0, STEP = 630_000.0, 4_400_000.0, 80.0  # UTM zone 48N (Wuhai), a lattice of 80 m ways
TO_DEGREES = pyproj.Transformer.from_crs("EPSG:32648", "EPSG:4326", always_xy=True)


def write_tiny(folder: Path) -> Path:
    """A street lattice of 5 x 4 nodes 80 m apart (two ways missing, one row of ways 87.5 m long),
    a scrap of way apart from it, 8 homes off the ways, a health station with 9 places, a park and
    a market. Half the residents are 60 or over, the health station's users."""
    folder.mkdir(parents=True, exist_ok=True)
    rows, cols = 4, 5
    nodes = [(r * cols + c + 1, X0 + STEP * c, Y0 + STEP * r) for r in range(rows) for c in range(cols)]
    nodes += [(91, X0 + 900.0, Y0), (92, X0 + 960.0, Y0)]
    edges = [(91, 92, 60.0)]
    for r in range(rows):
        for c in range(cols):
            n = r * cols + c + 1
            if c + 1 < cols and (r, c) != (1, 1):
                edges.append((n, n + 1, STEP + (7.5 if r == 2 else 0.0)))
            if r + 1 < rows and (r, c) != (0, 3):
                edges.append((n, n + cols, STEP))
    homes = [
        (1, "West", 900, 12, 35), (2, "West", 1500, 75, 170), (3, "West", 600, 150, 10), (4, "West", 1100, 30, 230),
        (5, "East", 800, 250, 90), (6, "East", 1300, 330, 250), (7, "East", 700, 300, 20), (8, "East", 1000, 200, 235),
    ]  # fmt: skip
    (folder / "nodes.csv").write_text("node_id,x_m,y_m\n" + "".join(f"{i},{x},{y}\n" for i, x, y in nodes))
    (folder / "edges.csv").write_text("u,v,length_m\n" + "".join(f"{u},{v},{m}\n" for u, v, m in edges))
    (folder / "homes.csv").write_text(
        "home_id,community,floor_m2,x_m,y_m\n" + "".join(f"{h},{c},{f},{X0 + x},{Y0 + y}\n" for h, c, f, x, y in homes)
    )
    (folder / "facilities.csv").write_text(
        "type,name,x_m,y_m,capacity\n"
        f"health_station,Corner station,{X0 + 5},{Y0 + 3},\n"
        f"park,Green,{X0 + 160},{Y0 + 160},\n"
        f"market,Market,{X0 + 320},{Y0},\n"
    )
    toml = folder / "tiny.toml"
    toml.write_text(
        """name = "tiny_streets"
description = "A 5 x 4 street lattice of 80 m with 8 homes, for the planning commands"
seed = 11

[streets]
crs = "EPSG:32648"
nodes = "nodes.csv"
edges = "edges.csv"
homes = "homes.csv"
facilities = "facilities.csv"

[population]
groups = { a = 0.5, b = 0.5 }
ages = { "0-17" = 0.15, "18-59" = 0.35, "60-100" = 0.5 }
mixing = 0.5

[walking]
m_per_min = { "0-59" = 78.0, "60-100" = 55.0 }

[facility_types.health_station]
capacity = 9

[facility_types.health_station.source]
capacity = "a test: few places, so that the capacitated model's capacities bind"

[[communities]]
name = "West"
residents = 90

[[communities]]
name = "East"
residents = 70
""",
        encoding="utf-8",
    )
    return toml


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny(tmp_path_factory.mktemp("tiny") / "scenario")


def weighted_minutes(stdout: str) -> tuple[float, float]:
    found = re.search(r"weighted minutes before: ([\d,.]+); after: ([\d,.]+)", stdout)
    assert found, stdout
    return float(found.group(1).replace(",", "")), float(found.group(2).replace(",", ""))


class Median:
    """The p-median of ``lifecircle optimize --objective pmedian`` by brute force (docs/planning.md).

    One row per home at the weighted harmonic mean pace of its users; minutes to a site counted up
    to the horizon (30 minutes); the cap of every row the largest minute of the matrix and of the
    existing facilities; a home that reaches nothing is left out; cost = Σ weight · min(existing,
    the chosen sites, cap).
    """

    def __init__(self, brute: Brute, sites: list[tuple[int, float]], horizon_min: float = 30.0):
        homes = sorted(set(brute.user_home.tolist()))
        self.weight = np.array([(brute.user_home == h).sum() for h in homes], dtype=float)
        self.pace = self.weight / np.array([(1 / brute.user_pace[brute.user_home == h]).sum() for h in homes])
        metres = np.array([[brute.walk_m(h, street, join_m) for street, join_m in sites] for h in homes])
        self.minutes = np.where(metres / self.pace[:, None] <= horizon_min, metres / self.pace[:, None], np.inf)
        existing = [brute.snap(x, y) for x, y in brute.existing]
        self.existing = np.array([min(brute.walk_m(h, s, m) for s, m in existing) for h in homes]) / self.pace
        finite = np.concatenate([self.minutes[np.isfinite(self.minutes)], self.existing[np.isfinite(self.existing)]])
        self.cap = finite.max()
        self.reached = np.isfinite(self.existing) | np.isfinite(self.minutes).any(axis=1)

    def cost(self, chosen) -> float:
        best = np.minimum(self.existing, self.cap)
        for j in chosen:
            best = np.minimum(best, self.minutes[:, j])
        return float(self.weight[self.reached] @ best[self.reached])


def test_tiny_pmedian_add_two_is_the_best_pair_of_street_nodes(tmp_path, tiny):
    done = lifecircle(
        "optimize", str(tiny), "--type", "health_station", "--add", "2", "--objective", "pmedian", "--exact",
        "--out", "p.toml", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    brute = Brute(tiny, "health_station", 5.0)
    assert sorted(brute.main_id.tolist()) == list(range(1, 21))  # the scrap of way 91-92 is no candidate
    sites = [(int(n), 0.0) for n in brute.main_id]
    median = Median(brute, sites)
    costs = {pair: median.cost(pair) for pair in itertools.combinations(range(len(sites)), 2)}
    best = min(costs.values())
    before, after = weighted_minutes(done.stdout)
    assert before == pytest.approx(median.cost(()), abs=0.051)
    assert after == pytest.approx(best, abs=0.051) and best < median.cost(()) - 100
    node_at = {tuple(xy): i for i, xy in enumerate(brute.main_xy.tolist())}
    chosen = tuple(sorted(node_at[p] for p in added_points(tmp_path / "p.toml")))
    assert costs[chosen] == pytest.approx(best, rel=1e-12)


def test_tiny_capacitated_add_two_serves_at_most_each_sites_places(tmp_path, tiny):
    done = lifecircle(
        "optimize", str(tiny), "--type", "health_station", "--add", "2", "--objective", "capacitated",
        "--minutes", "3", "--exact", "--out", "c.toml", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    brute = Brute(tiny, "health_station", 3.0)
    capacity = load_scenario(tiny).types["health_station"].capacity
    base = brute.base_cover()
    cover = {int(n): brute.covered_by(int(n), 0.0) & ~base for n in brute.main_id}

    def served(nodes) -> int:  # users not covered yet, each served once, a site up to its places
        g = nx.DiGraph()
        for n in nodes:
            g.add_edge(("site", n), "sink", capacity=capacity)
            for u in np.flatnonzero(cover[n]).tolist():
                g.add_edge("source", ("user", u), capacity=1)
                g.add_edge(("user", u), ("site", n))
        return nx.maximum_flow_value(g, "source", "sink") if g.has_node("source") else 0

    best = max(served(pair) for pair in itertools.combinations(cover, 2))
    assert printed(done.stdout) == [int(base.sum()), int(base.sum()) + best]
    assert best == 2 * capacity < max(int((a | b).sum()) for a, b in itertools.combinations(cover.values(), 2))
    node_at = {tuple(xy): int(n) for n, xy in zip(brute.main_id, brute.main_xy.tolist(), strict=True)}
    assert served([node_at[p] for p in added_points(tmp_path / "c.toml")]) == best


def test_tiny_pmedian_candidate_points_in_metres_and_in_degrees(tmp_path, tiny):
    points = [(X0 + 47.0, Y0 + 203.0), (X0 + 171.0, Y0 + 133.0), (X0 + 262.0, Y0 + 231.0), (X0 + 301.0, Y0 + 64.0)]
    pd.DataFrame(points, columns=["x_m", "y_m"]).to_csv(tmp_path / "m.csv", index=False)
    lon, lat = TO_DEGREES.transform(*np.array(points).T)
    pd.DataFrame({"lon": lon, "lat": lat}).to_csv(tmp_path / "d.csv", index=False, float_format="%.10f")
    brute = Brute(tiny, "health_station", 5.0)
    median = Median(brute, [brute.snap(x, y) for x, y in points])  # each point's connector added to its walks
    costs = [median.cost([j]) for j in range(len(points))]
    for name in ("m", "d"):
        done = lifecircle(
            "optimize", str(tiny), "--type", "health_station", "--add", "1", "--objective", "pmedian",
            "--candidates", f"{name}.csv", "--out", f"{name}.toml", cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        before, after = weighted_minutes(done.stdout)
        assert before == pytest.approx(median.cost(()), abs=0.051)
        assert after == pytest.approx(min(costs), abs=0.051)
        (at,) = added_points(tmp_path / f"{name}.toml")
        assert np.allclose(at, points[int(np.argmin(costs))], atol=1e-3)  # degrees: a pyproj round trip


def test_tiny_geojson_of_the_proposal_is_in_wgs84(tmp_path, tiny):
    done = lifecircle(
        "optimize", str(tiny), "--type", "health_station", "--add", "1", "--geojson",
        "--out", "g.toml", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    geo = tmp_path / "g" / "geo"
    names = {"facilities", "streets", "communities", "bands_health_station", "bands_park", "bands_market"}
    assert {p.stem for p in geo.glob("*.geojson")} == names
    facilities = json.loads((geo / "facilities.geojson").read_text(encoding="utf-8"))
    assert facilities["lifecircle"]["crs_of_metres"] == "EPSG:32648"
    (at,) = added_points(tmp_path / "g.toml")
    (new,) = [f for f in facilities["features"] if f["properties"]["name"] == "health_station proposed 1"]
    lon, lat = TO_DEGREES.transform(*at)
    assert new["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=0.51e-7)  # rounded to 7 decimals
    assert (new["properties"]["x_m"], new["properties"]["y_m"]) == at
    # the lattice's corner node (X0, Y0) is an end of ways, at its longitude and latitude
    streets = json.loads((geo / "streets.geojson").read_text(encoding="utf-8"))
    corner = TO_DEGREES.transform(X0, Y0)
    ends = [c for f in streets["features"] for line in _lines(f["geometry"]) for c in (line[0], line[-1])]
    assert min(math.dist(c, corner) for c in ends) < 0.72e-7  # each degree rounded to 7 decimals
    assert all(106 < c[0] < 107 and 39 < c[1] < 40 for c in ends)


def _lines(geometry: dict) -> list:
    return geometry["coordinates"] if geometry["type"] == "MultiLineString" else [geometry["coordinates"]]


def test_tiny_simulate_runs_both_on_streets(tmp_path, tiny):
    done = lifecircle(
        "optimize", str(tiny), "--type", "health_station", "--add", "1", "--simulate", "--geojson",
        "--out", "s.toml", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "s"
    names = ["tiny_streets", "tiny_streets_health_station_coverage"]
    for name in names:
        run = folder / name
        residents = pd.read_csv(run / "residents.csv")
        facilities = pd.read_csv(run / "facilities.csv")
        assert {"x_m", "y_m", "lon", "lat", "node", "node_m"} <= set(residents.columns)
        assert {"x_m", "y_m", "lon", "lat", "node", "node_m", "osm_id"} <= set(facilities.columns)
        assert "x" not in residents.columns
        assert (run / "geo" / "facilities.geojson").exists() and (run / "summary.json").exists()
    base, variant = (pd.read_csv(folder / n / "residents.csv") for n in names)
    assert base[["id", "age", "node", "m_per_min"]].equals(variant[["id", "age", "node", "m_per_min"]])  # same people
    (at,) = added_points(tmp_path / "s.toml")
    facilities = pd.read_csv(folder / names[1] / "facilities.csv")
    new = facilities[facilities["name"] == "health_station proposed 1"]
    assert (new["x_m"].iat[0], new["y_m"].iat[0]) == at and new["node_m"].iat[0] == 0
    assert new["node"].iat[0] in set(range(1, 21))  # a street node of the lattice, by its own id
    sites = pd.read_csv(folder / "sites_health_station.csv")
    assert sorted(sites.loc[sites["scenario"] == names[1], "status"]) == ["kept", "new"]
    (row,) = sites[(sites["scenario"] == names[1]) & (sites["status"] == "new")].itertuples()
    assert (row.x, row.y) == at
    comparison = pd.read_csv(folder / "comparison.csv")
    assert {"metric", *names, f"diff_{names[1]}"} <= set(comparison.columns)
    assert (folder / "comparison.md").exists() and (folder / "maps" / "health_station_side_by_side.png").exists()
