"""The browser page's parts without a browser: re-planning, knobs, saving, the map's pixels, the
clock, the offline asset step (against a registry on loopback) and the commands' bad input; and
the same on street scenarios (the hand-made streets_small and helsinki_centre): the map along the
streets against networkx, clicks in metres, facilities added at a point joining the nearest street
node, removal of the nearest, and plans saved and loaded back."""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import math
import socket
import tarfile
import threading
import warnings
from importlib import metadata
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from model.cli import main
from model.scenario import load_scenario
from model.web import assets, figures, widget_bundle
from model.web.state import (
    PageModel,
    Plan,
    PlanError,
    add_facility,
    clock_text,
    coverage_rows,
    first_point,
    plan_file,
    save_plan,
    scenario_choices,
    users_paces,
    with_knobs,
)
from tests.conftest import ROOT, write_small

STREETS_SMALL = Path(__file__).parent / "data" / "streets_small" / "small.toml"
HELSINKI = ROOT / "scenarios" / "helsinki_centre.toml"


@pytest.fixture
def small(tmp_path):
    return write_small(tmp_path, residents=300)


def _within(model, ftype):
    return next(r["within_level"] for r in coverage_rows(model) if r["type"] == ftype)


# --------------------------------------------------------------------------- re-planning


def test_a_plan_adds_and_removes_facilities_and_refuses_bad_cells(small):
    scenario = load_scenario(small)
    plan = Plan()
    with pytest.raises(PlanError, match="blocked"):
        plan.add(scenario, "park", 9, 0)  # the wall
    with pytest.raises(PlanError, match="outside the 20x12 grid"):
        plan.add(scenario, "park", 20, 3)
    with pytest.raises(PlanError, match="unknown facility type"):
        plan.add(scenario, "parc", 3, 3)
    with pytest.raises(PlanError, match="no park or pocket park at"):
        plan.remove(scenario, "park", 4, 4)
    assert plan.add(scenario, "elderly_care", 4, 5).startswith("added a new elderly care")
    plan.remove(scenario, "park", 3, 3)
    sites = {(f.type, f.x, f.y): f for f in plan.apply(scenario).facilities}
    assert ("park", 3, 3) not in sites and ("park", 15, 9) in sites
    assert sites[("elderly_care", 4, 5)].capacity == scenario.types["elderly_care"].capacity
    with pytest.raises(PlanError, match="no park or pocket park at"):
        plan.remove(scenario, "park", 3, 3)  # only one stood there
    plan.remove(scenario, "elderly_care", 4, 5)  # an added one goes from the plan
    assert plan.added == [] and plan.removed == [("park", 3, 3)]
    plan.attach(load_scenario("demo"))  # another scenario: the plan starts empty
    assert plan.empty


def test_a_second_facility_of_a_type_at_the_same_cell_is_refused(small):
    """small has one park at (3, 3): a second there is refused, as is a second added elderly care centre;
    once the park is removed on the page one may be added there again (the plan unchanged by refusals)."""
    scenario = load_scenario(small)
    plan = Plan()
    with pytest.raises(PlanError, match=r"there is already one park or pocket park at \(3, 3\)"):
        plan.add(scenario, "park", 3, 3)
    plan.add(scenario, "elderly_care", 4, 5)
    with pytest.raises(PlanError, match=r"there is already one elderly care .* at \(4, 5\)"):
        plan.add(scenario, "elderly_care", 4, 5)
    plan.add(scenario, "nursery", 4, 5)  # another type at the cell: allowed
    assert plan.added == [("elderly_care", 4, 5), ("nursery", 4, 5)] and plan.removed == []
    plan.remove(scenario, "park", 3, 3)
    plan.add(scenario, "park", 3, 3)
    assert plan.removed == [("park", 3, 3)] and plan.added[-1] == ("park", 3, 3)


def test_knobs_multiply_capacities_and_decays(small):
    scenario = load_scenario(small)
    changed = with_knobs(scenario, capacity_multiplier=0.001, decay_multiplier=0.5)
    assert all(f.capacity == 1 for f in changed.facilities)  # rounded, at least 1
    for t, ft in scenario.types.items():
        beta = changed.types[t].beta_per_min
        assert beta == ft.beta_per_min if math.isinf(ft.beta_per_min) else beta == 0.5 * ft.beta_per_min
    with pytest.raises(PlanError):
        with_knobs(scenario, capacity_multiplier=0)


def test_the_page_refuses_a_facility_no_resident_needs_and_adds_the_first_of_a_type(small, tmp_path):
    adults = tmp_path / "adults.toml"
    adults.write_text('name = "adults"\nextends = "small.toml"\n[population]\nages = { "30-59" = 1.0 }\n')
    model = PageModel(str(adults))
    with pytest.raises(PlanError, match=r"no resident of adults needs nursery \(ages 0-2\); .*market"):
        add_facility(model, "nursery", 4, 5)
    assert model.plan.empty
    # the small scenario has children and no nursery: the first one is added, and has users
    model = PageModel(str(small))
    assert "nursery" not in model.spec.types_present
    add_facility(model, "nursery", 4, 5)
    again = model.replanned()
    assert "nursery" in again.spec.types_present
    assert next(r["users"] for r in coverage_rows(again) if r["type"] == "nursery") > 0


def test_a_new_facility_changes_coverage_and_the_model_keeps_its_knobs(small):
    model = PageModel(str(small), mixing=0.0, capacity_multiplier=2.0, decay_multiplier=0.5, days=1)
    assert model.spec.mixing == 0.0
    before = _within(model, "elderly_care")
    model.plan.add(model.base_scenario, "elderly_care", 4, 5)  # West is far from (12, 5) behind a wall
    again = model.replanned()
    assert again.params == model.params and again.plan is model.plan
    assert _within(again, "elderly_care") > before
    assert all(f.capacity == 2 * load_scenario(small).types[f.type].capacity for f in again.spec.facilities)


def test_the_clock_reads_day_and_time(tmp_path):
    short = write_small(tmp_path, residents=50, extra='\n[simulation]\nday_start = "07:00"\nday_end = "08:30"\n')
    model = PageModel(str(short), days=2)
    assert clock_text(model) == "Day 1 (Mon) 07:00"
    for _ in range(61):
        model.step()
    assert clock_text(model) == "Day 1 (Mon) 08:01"
    for _ in range(29):
        model.step()
    assert clock_text(model) == "Day 2 (Tue) 07:00"  # the end of a day is the start of the next
    model.run()
    assert clock_text(model) == "Day 2 (Tue) 08:30"  # the end of the run


# --------------------------------------------------------------------------- saving


def test_a_plan_of_additions_saves_as_a_scenario_that_extends_the_original(small, tmp_path):
    model = PageModel(str(small), days=1)
    with pytest.raises(PlanError, match="nothing to save"):
        save_plan(model, tmp_path / "plan.toml")
    model.plan.add(model.base_scenario, "elderly_care", 4, 5)
    model.plan.add(model.base_scenario, "park", 16, 3)
    model.plan.add(model.base_scenario, "elderly_care", 2, 9)
    target = tmp_path / "sub" / "plan.toml"
    target.parent.mkdir()
    assert "extending small.toml" in save_plan(model, target)
    text = target.read_text()
    assert 'extends = "../small.toml"' in text
    saved = load_scenario(target)
    assert len(saved.facilities) == len(model.base_scenario.facilities) + 3
    with pytest.raises(PlanError, match="exists"):
        save_plan(model, target)
    for name in ("../plan.toml", "/tmp/plan.toml", "", ".."):
        with pytest.raises(PlanError, match="without a folder"):
            plan_file(tmp_path, name)
    assert plan_file(tmp_path, " plan.toml ") == tmp_path / "plan.toml"


def test_names_taken_in_the_original_do_not_replace_its_facilities(small, tmp_path):
    taken = small.read_text() + '\n[[facilities]]\ntype = "park"\nat = [6, 2]\nname = "park added 1"\n'
    base = tmp_path / "base.toml"
    base.write_text(taken)
    model = PageModel(str(base), days=1)
    model.plan.add(model.base_scenario, "park", 16, 3)  # the plan's first: "park added 1", taken
    save_plan(model, tmp_path / "plan.toml")
    parks = {(f.x, f.y): f.name for f in load_scenario(tmp_path / "plan.toml").facilities if f.type == "park"}
    assert set(parks) == {(3, 3), (15, 9), (6, 2), (16, 3)}
    assert parks[(6, 2)] == "park added 1" and parks[(16, 3)] == "park added 1 (2)"


def test_a_plan_that_removes_saves_the_resolved_scenario(small, tmp_path):
    model = PageModel(str(small), days=1)
    model.plan.remove(model.base_scenario, "market", 5, 8)
    assert "resolved scenario" in save_plan(model, tmp_path / "without_market.toml")
    saved = load_scenario(tmp_path / "without_market.toml")
    assert "market" not in saved.types_present and saved.name == "without_market"


# --------------------------------------------------------------------------- the map


@pytest.mark.parametrize(("dots_max", "trace_max"), [(10_000, 10_000), (10, 10_000), (10, 20)])
def test_the_map_holds_every_cell_and_takes_no_random_numbers(small, monkeypatch, dots_max, trace_max):
    """Dots, density of residents where they are, density of residents at home: the map's image is the
    grid's (a pixel per cell, rows down), it spans the grid, and drawing leaves the model's generator alone."""
    monkeypatch.setattr(figures, "DOTS_MAX", dots_max)
    monkeypatch.setattr(figures, "TRACE_MAX", trace_max)
    model = PageModel(str(small), days=1)
    for _ in range(150):  # to 08:30: residents out, visitors at facilities
        model.step()
    state = model.rng.bit_generator.state
    view = figures.MapView(colour_by="age", band_type="park", selected=(3, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = figures.map_figure(model, view)
    assert model.rng.bit_generator.state == state  # drawing takes no random numbers from the model
    image = next(t for t in fig.data if t.type == "image")
    assert np.asarray(image.z).shape == (model.city.height, model.city.width, 3)
    assert list(fig.layout.xaxis.range) == [-0.5, model.city.width - 0.5]
    assert list(fig.layout.yaxis.range) == [model.city.height - 0.5, -0.5]  # row 0 at the top
    chosen = next(t for t in fig.data if t.name == "chosen cell (3, 3)")
    assert (min(chosen.x), max(chosen.x), min(chosen.y), max(chosen.y)) == (2.5, 3.5, 2.5, 3.5)
    figures.map_figure(model, figures.MapView(band_type="no_such_type"))  # a type the plan removed: no bands


def test_each_cell_of_the_map_has_its_bands_colour():
    """A 20 x 10 grid whose column 5 is blocked, walking bands from x = 0 at 2 minutes a column, nobody:
    the colour of each cell's pixel, worked by hand from the colours (blocked; within 5, 10, 15 minutes;
    beyond 15; beyond reach, the last column)."""
    from matplotlib.colors import to_rgb

    from model.report.drawing import live
    from model.report.drawing.maps import BAND_COLOURS, BLOCKED_COLOUR, UNREACHABLE_COLOUR
    from model.web import plots

    walkable = np.ones((10, 20), dtype=bool)
    walkable[:, 5] = False
    minutes = np.tile(np.arange(20, dtype=float) * 2.0, (10, 1))
    minutes[:, 19] = np.inf  # beyond reach
    nobody = live.ResidentLayer("residents", ("a",), "group", np.array([], dtype=int), np.array([], dtype=int))
    none = np.array([])
    marks = plots.FacilityMarks((), none, none, none, none, none, none)
    fig = plots.grid_map(walkable, "test", nobody, marks, [], minutes=minutes, band_title="bands")
    z = np.asarray(next(t for t in fig.data if t.type == "image").z, dtype=float) / 255
    ground = np.array(to_rgb(live.WALKABLE_COLOUR))

    def band(colour):
        return plots.BAND_ALPHA * np.array(to_rgb(colour)) + (1 - plots.BAND_ALPHA) * ground

    for x in range(20):  # bands: up to 5, 10 and 15 minutes, then beyond
        m = 2.0 * x
        colour = next((c for c, most in zip(BAND_COLOURS, (5, 10, 15), strict=False) if m <= most), BAND_COLOURS[3])
        colour = UNREACHABLE_COLOUR if x == 19 else colour
        expected = np.array(to_rgb(BLOCKED_COLOUR)) if x == 5 else band(colour)
        assert np.allclose(z[:, x], expected, atol=1 / 255), x


# --------------------------------------------------------------------------- the page on streets


@pytest.fixture(scope="module")
def helsinki():
    """helsinki_centre on the page at 09:00 of the first day (residents out)."""
    model = PageModel("helsinki_centre", days=1)
    for _ in range(180):
        model.step()
    return model


class Network:
    """helsinki_centre's ways read from its CSV files with pandas, as a networkx graph (no model code)."""

    def __init__(self, toml: Path):
        folder = toml.parent / "helsinki_centre" / "streets"
        nodes = pd.read_csv(folder / "nodes.csv")
        edges = pd.read_csv(folder / "edges.csv")
        self.xy = nodes[["x_m", "y_m"]].to_numpy(dtype=float)
        index = {node_id: i for i, node_id in enumerate(nodes["node_id"])}
        self.u = edges["u"].map(index).to_numpy()
        self.v = edges["v"].map(index).to_numpy()
        self.length = edges["length_m"].to_numpy(dtype=float)
        self.graph = nx.Graph()
        self.graph.add_nodes_from(range(len(nodes)))
        for a, b, metres in zip(self.u, self.v, self.length, strict=True):
            if a != b and not (self.graph.has_edge(a, b) and self.graph[a][b]["weight"] <= metres):
                self.graph.add_edge(a, b, weight=metres)
        self.main = np.zeros(len(nodes), dtype=bool)
        self.main[list(max(nx.connected_components(self.graph), key=len))] = True

    def nearest(self, x: float, y: float) -> tuple[set[int], float]:
        """The main component's nodes nearest the point (all of them, if several are as near), and the metres."""
        metres = np.where(self.main, np.hypot(self.xy[:, 0] - x, self.xy[:, 1] - y), np.inf)
        best = metres.min()
        return set(np.flatnonzero(np.isclose(metres, best, rtol=0, atol=1e-9)).tolist()), float(best)

    def metres_from(self, points: list[tuple[float, float]]) -> np.ndarray:
        """Walking metres from the nearest of the points (joined by their connectors) to every node."""
        graph = self.graph.copy()
        for x, y in points:
            nodes, metres = self.nearest(x, y)
            node = min(nodes)
            if not graph.has_edge("source", node) or graph["source"][node]["weight"] > metres:
                graph.add_edge("source", node, weight=metres)
        found = nx.single_source_dijkstra_path_length(graph, "source", weight="weight")
        return np.array([found.get(i, np.inf) for i in range(len(self.xy))])


@pytest.fixture(scope="module")
def network():
    return Network(HELSINKI)


@pytest.mark.parametrize(("dots_max", "trace_max"), [(10_000, 10_000), (10, 10_000), (10, 20)])
def test_the_street_map_spans_the_network_at_one_scale(monkeypatch, dots_max, trace_max):
    """streets_small's nodes, homes, facilities and gates span x 385000-385300 and y 6671000-6671230 (the
    care station placed by hand); the map adds 3% of 300 m around them, at one scale both ways."""
    monkeypatch.setattr(figures, "DOTS_MAX", dots_max)
    monkeypatch.setattr(figures, "TRACE_MAX", trace_max)
    model = PageModel(str(STREETS_SMALL), days=1)
    for _ in range(150):  # to 08:30: residents out, visitors at facilities
        model.step()
    state = model.rng.bit_generator.state
    view = figures.MapView(colour_by="age", band_type="park", selected=(385150.0, 6671050.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = figures.map_figure(model, view)
    assert model.rng.bit_generator.state == state  # drawing takes no random numbers from the model
    assert list(fig.layout.xaxis.range) == pytest.approx([384991, 385309])
    assert list(fig.layout.yaxis.range) == pytest.approx([6670991, 6671239])
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    figures.map_figure(model, figures.MapView(band_type="no_such_type"))  # a type the plan removed: no bands


def test_the_page_offers_and_builds_street_scenarios():
    choices = scenario_choices(str(STREETS_SMALL))
    assert choices["helsinki_centre"] == "helsinki_centre" and "demo" in choices
    assert choices["small"] == str(STREETS_SMALL)
    model = PageModel(str(STREETS_SMALL), days=1)
    assert model.spec.streets is not None and len(model.population.age) == 200
    assert first_point(model) == (385150.0, 6671100.2)  # the middle of the street nodes' extent


def test_a_facility_added_on_streets_joins_the_nearest_street_node_or_is_refused(helsinki, network):
    """Points over and around the network: each added facility's node joins the nearest node of the main
    component (brute force with numpy, over networkx's components), by the straight line to it."""
    west, south = network.xy.min(axis=0)
    east, north = network.xy.max(axis=0)
    rng = np.random.default_rng(11)
    points = [(float(x), float(y)) for x, y in rng.uniform((west, south), (east, north), size=(12, 2))]
    points += [tuple(network.xy[i] + (3.0, -4.0)) for i in (0, 100, 2000)]  # 5 m from a street node
    model = PageModel("helsinki_centre", days=1)
    for x, y in points:
        assert "joined to the streets by a" in add_facility(model, "health_station", x, y)
    far = (float(east) + 600.0, float(north))
    with pytest.raises(PlanError, match="at most 500 m"):
        add_facility(model, "health_station", *far)
    assert len(model.plan.added) == len(points)
    again = model.replanned()
    fac = again.city.facilities.set_index("name")
    for i, (x, y) in enumerate(points, start=1):
        row = fac.loc[f"health_station added {i}"]
        nodes, metres = network.nearest(x, y)
        assert (row["x"], row["y"]) == (x, y)
        assert again.city.join[row["node"]] in nodes
        assert again.city.join_m[row["node"]] == pytest.approx(metres)
    near = again.city.join_m[fac.loc[[f"health_station added {i}" for i in (13, 14, 15)], "node"]]
    assert (near <= 5.0).all()  # a street node 5 m away, or one nearer


def test_far_points_by_hand_on_streets_small():
    """Node 58 at (385300, 6671100) is the main component's easternmost; node 103 is on no way."""
    scenario = load_scenario(STREETS_SMALL)
    plan = Plan()
    with pytest.raises(PlanError, match="501 m from the nearest street node"):
        plan.add(scenario, "park", 385801.0, 6671100.0)
    assert "by a 499 m walk" in plan.add(scenario, "park", 385799.0, 6671100.0)
    assert "by a 71 m walk" in plan.add(scenario, "park", 385150.0, 6671050.0)  # 50 m and 50 m to four nodes
    # 9.5 m from node 103, which joins nothing: the walk is to node 102, 100.5 m away
    assert "by a 100 m walk" in plan.add(scenario, "park", 385300.0, 6671210.0)
    with pytest.raises(PlanError, match="unknown facility type"):
        plan.add(scenario, "parc", 385150.0, 6671050.0)
    with pytest.raises(PlanError, match="not one"):
        plan.add(scenario, "park", float("nan"), 6671050.0)
    model = PageModel(str(STREETS_SMALL), days=1, plan=plan)
    fac = model.city.facilities.set_index("name")
    street_id = model.city.street_id
    assert [street_id[model.city.join[fac.loc[f"park added {i}", "node"]]] for i in (1, 2, 3)] == [58, 42, 102]


def test_remove_on_streets_takes_the_nearest_facility_of_the_type():
    scenario = load_scenario(STREETS_SMALL)
    plan = Plan()
    # as far from the chosen point as Kamppi care at (385090, 6671110) (a second at its very point is refused)
    plan.add(scenario, "elderly_care", 385092.0, 6671112.0)
    with pytest.raises(PlanError, match=r"there is already one elderly care .* at \(385090.0, 6671110.0\)"):
        plan.add(scenario, "elderly_care", 385090.0, 6671110.0)
    assert plan.remove(scenario, "elderly_care", 385091.0, 6671111.0).startswith("removed the added")  # first
    assert plan.added == [] and plan.removed == []
    done = plan.remove(scenario, "elderly_care", 385091.0, 6671111.0)
    assert "'Kamppi care'" in done and "1 m from the chosen point" in done
    done = plan.remove(scenario, "elderly_care", 385091.0, 6671111.0)  # the next: 78.5 m west, 119 m north
    assert "'New care station'" in done and "143 m from" in done
    with pytest.raises(PlanError, match="there is no elderly care centre with canteen to remove"):
        plan.remove(scenario, "elderly_care", 385091.0, 6671111.0)
    assert {f.type for f in plan.apply(scenario).facilities} == {"park", "market"}
    plan.add(scenario, "park", 385150.0, 6671050.0)
    assert plan.remove(scenario, "park", 385210.0, 6671110.0).startswith(
        "removed the park or pocket park 'Riverside park'"
    )
    assert plan.added == [("park", 385150.0, 6671050.0)]


def test_a_street_plan_saves_and_loads_back(tmp_path):
    model = PageModel(str(STREETS_SMALL), days=1)
    add_facility(model, "park", 385150.0, 6671050.0)
    add_facility(model, "market", 385012.25, 6671187.125)
    assert "extending small.toml" in save_plan(model, tmp_path / "more.toml")
    assert "at_m = [385012.25, 6671187.125]" in (tmp_path / "more.toml").read_text()
    saved = load_scenario(tmp_path / "more.toml")
    planned = model.plan.apply(model.base_scenario)
    assert sorted((f.type, f.x, f.y, f.name) for f in saved.facilities) == sorted(
        (f.type, f.x, f.y, f.name) for f in planned.facilities
    )
    loaded, replanned = PageModel(str(tmp_path / "more.toml"), days=1), model.replanned()
    for a in (loaded.city.facilities, replanned.city.facilities):
        assert a[["type", "x", "y"]].equals(replanned.city.facilities[["type", "x", "y"]])
    assert np.array_equal(loaded.city.join, replanned.city.join)
    model.plan.remove(model.base_scenario, "elderly_care", 385090.0, 6671110.0)
    assert "resolved scenario" in save_plan(model, tmp_path / "less.toml")
    names = {f.name for f in load_scenario(tmp_path / "less.toml").facilities}
    assert names == {"Riverside park", "market 1", "New care station", "park added 1", "market added 2"}


def _isolated_points(a: np.ndarray, b: np.ndarray, share: float, min_len: float, apart: float) -> np.ndarray:
    """Ways (ends a, b) at least ``min_len`` long whose point ``share`` of the way from a lies ``apart``
    from every other way (shapely's distances)."""
    ways = _segments(a, b)
    keep = []
    for e in np.flatnonzero(np.hypot(*(b - a).T) > min_len):
        distance = shapely.distance(shapely.points(a[e] + share * (b[e] - a[e])), ways)
        distance[e] = np.inf
        if distance.min() >= apart:
            keep.append(e)
    return np.array(keep, dtype=int)


def _segments(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """shapely lines of the segments ``start``-``end`` ((k, 2) each)."""
    return shapely.linestrings(np.stack([start, end], axis=1))


def test_the_street_bands_agree_with_networkx(helsinki, network):
    """Per type (few, some and many facilities): the kilometres of ways within each band, as the legend
    gives them, and the length of the map's lines of the band (each way drawn straight between its
    nodes, its length as the street data give it); and whether the point a quarter of the way
    from either end of ways apart from others lies on the band's lines: as networkx puts it (the
    nearer of the walks via either end, from the nearest facility of the type by its connector), at
    the median pace of the type's users."""
    from model.measures.access import BANDS_MIN
    from model.report.drawing import live
    from model.report.drawing.maps import band_labels
    from model.web import plots

    nobody = live.ResidentLayer("residents", ("a",), "group", np.array([], dtype=int), np.array([], dtype=int))
    none = np.array([])
    marks = plots.FacilityMarks((), none, none, none, none, none, none)
    a, b = network.xy[network.u], network.xy[network.v]
    isolated = {share: _isolated_points(a, b, share, min_len=5.0, apart=1.0) for share in (0.25, 0.75)}
    checked = np.zeros(4, dtype=int)
    for ftype in ("primary_school", "health_station", "park"):
        layer, title = figures.street_layer(helsinki, ftype)
        pace = users_paces(helsinki)[ftype]
        assert title == f"{ftype} at {pace:.0f} m/min:"
        d = network.metres_from([(f.x, f.y) for f in helsinki.spec.facilities if f.type == ftype])
        du, dv, length = d[network.u], d[network.v], network.length
        budgets = np.array(BANDS_MIN) * pace
        fig = plots.street_map(layer, "test", nobody, marks, [], band_title=title)
        for i, (budget, km) in enumerate(zip(budgets, layer.band_km, strict=True)):
            reached = np.minimum(length, np.clip(budget - du, 0, None) + np.clip(budget - dv, 0, None))
            assert km == pytest.approx(reached.sum() / 1000, rel=1e-9)
            lines = next(t for t in fig.data if t.name == f"walk {band_labels()[i]}")
            start, end = _pieces(lines)
            drawn = shapely.multilinestrings(_segments(start, end))
            # drawn straight between the way's nodes: the reached share of each way's straight line
            straight = np.hypot(*(b - a).T) * np.divide(reached, length, out=np.zeros_like(length), where=length > 0)
            assert np.hypot(*(end - start).T).sum() == pytest.approx(straight.sum(), rel=1e-9)
            for share, ways in isolated.items():  # which end is which counts
                at_m = np.minimum(du + share * length, dv + (1 - share) * length)
                clear = np.abs(at_m - budget) > 0.05 * budgets[0]
                for e in ways[clear[ways] & np.isfinite(at_m[ways])]:
                    on_lines = shapely.distance(shapely.points(a[e] + share * (b[e] - a[e])), drawn) < 0.01
                    assert on_lines == (at_m[e] <= budget), (ftype, e, share, i)
                    checked[i] += at_m[e] <= budget
                    checked[3] += at_m[e] > budgets[-1]
    assert (checked >= 10).all(), checked  # ways in each band, and beyond


def _pieces(lines) -> tuple[np.ndarray, np.ndarray]:
    """The segments of a lines trace drawn as (start, end, gap) triples: their starts and ends, (k, 2) each."""
    x, y = np.asarray(lines.x, dtype=float), np.asarray(lines.y, dtype=float)
    xy = np.column_stack([x, y])
    assert np.isnan(xy[2::3]).all()  # a gap after each piece
    return xy[0::3], xy[1::3]


def test_serve_takes_a_street_scenario(capsys):
    """It gets past the scenario to the address: the port in use is what stops it."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["serve", "helsinki_centre", "--port", str(taken.getsockname()[1])]) == 2
    err = capsys.readouterr().err
    assert "cannot listen on 127.0.0.1" in err and "street" not in err


# --------------------------------------------------------------------------- assets, from a registry on loopback


def _tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def registry():
    """A tiny npm registry on loopback: requirejs 2.3.6 (good), evil 1.0.0 (a path out of the
    folder), bad 1.0.0 (a checksum that does not match)."""
    good = _tarball({"package/package.json": b"{}", "package/require.js": b"// require"})
    evil = _tarball({"package/package.json": b"{}", "package/../../outside.js": b"x"})
    files = {"/t/requirejs.tgz": good, "/t/evil.tgz": evil, "/t/bad.tgz": good}

    def meta(name, tgz, data):
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        return {"versions": {tgz[1]: {"dist": {"tarball": f"{{base}}/t/{tgz[0]}", "integrity": integrity}}}}

    docs = {
        "/requirejs": meta("requirejs", ("requirejs.tgz", "2.3.6"), good),
        "/evil": meta("evil", ("evil.tgz", "1.0.0"), evil),
        "/bad": meta("bad", ("bad.tgz", "1.0.0"), b"something else"),
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the handler's name)
            base = f"http://127.0.0.1:{self.server.server_port}"
            if self.path in docs:
                body = json.dumps(docs[self.path]).replace("{base}", base).encode()
            elif self.path in files:
                body = files[self.path]
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_assets_are_fetched_checked_and_unpacked_where_solara_looks(registry, tmp_path):
    cache = tmp_path / "cdn"
    wanted = [assets.Package("requirejs", "2.3.6")]
    fetched = assets.fill_cache(wanted, cache, registry=registry, use_npm=False, report=lambda line: None)
    assert fetched == wanted and (cache / "requirejs@2.3.6" / "require.js").read_bytes() == b"// require"
    assert assets.fill_cache(wanted, cache, registry=registry, use_npm=False) == []  # already there
    with pytest.raises(assets.AssetError, match="checksum"):
        assets.fill_cache([assets.Package("bad", "1.0.0")], cache, registry=registry, use_npm=False)
    with pytest.raises(assets.AssetError, match="unpack"):
        assets.fill_cache([assets.Package("evil", "1.0.0")], cache, registry=registry, use_npm=False)
    with pytest.raises(assets.AssetError, match="no version 9.9.9"):
        assets.fill_cache([assets.Package("requirejs", "9.9.9")], cache, registry=registry, use_npm=False)
    assert not (tmp_path / "outside.js").exists() and sorted(p.name for p in cache.iterdir()) == ["requirejs@2.3.6"]


def test_the_packages_are_read_from_solaras_own_files(tmp_path):
    (tmp_path / "server" / "templates").mkdir(parents=True)
    (tmp_path / "widgets" / "vue").mkdir(parents=True)
    (tmp_path / "components").mkdir()
    (tmp_path / "server" / "templates" / "solara.html.j2").write_text(
        '<link href="{{cdn}}/@widgetti/solara-vuetify3-app@5.2.0/dist/main.css">'
        '<script src="{{cdn}}/@widgetti/solara-vuetify-app@10.1.1/dist/app.js"></script>'
        '<script src="{{cdn}}/requirejs@2.3.6/require.js"></script>'
    )
    (tmp_path / "server" / "settings.py").write_text(
        'fontawesome_path = "/font-awesome@4.5.0/css/font-awesome.min.css"'
    )
    (tmp_path / "widgets" / "vue" / "vegalite.vue").write_text("`${cdn}/vega@5/build/vega.js`")  # a range: no folder
    (tmp_path / "components" / "markdown.py").write_text('f"{cdn}/mermaid@10.8.0/dist/mermaid.js"')
    v2 = [str(p) for p in assets.pinned_packages(tmp_path, vuetify3=False)]
    assert v2 == ["@widgetti/solara-vuetify-app@10.1.1", "font-awesome@4.5.0", "requirejs@2.3.6"]
    v3 = [str(p) for p in assets.pinned_packages(tmp_path, vuetify3=True)]
    assert v3 == ["@widgetti/solara-vuetify3-app@5.2.0", "font-awesome@4.5.0", "requirejs@2.3.6"]
    installed = int(metadata.version("ipyvuetify").split(".")[0]) >= 3  # Solara's front end follows ipyvuetify
    assert [str(p) for p in assets.pinned_packages(tmp_path)] == (v3 if installed else v2)
    assert "mermaid@10.8.0" in [str(p) for p in assets.pinned_packages(tmp_path, everything=True)]


# --------------------------------------------------------------------------- plotly's widget bundle, from the cache


def test_plotlys_bundle_is_put_in_the_cache_whole_once_under_its_version_and_hash(tmp_path):
    import plotly

    bundle = Path(plotly.__file__).parent / "package_data" / "widgetbundle.js"
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()[:12]
    cache = tmp_path / "cdn"
    assert not widget_bundle.installed(cache)
    there = widget_bundle.install(cache)
    assert there == cache / f"lifecircle-plotly-widget@{plotly.__version__}-{digest}" / "widgetbundle.js"
    assert there.read_bytes() == bundle.read_bytes() and widget_bundle.installed(cache)
    assert [p.name for p in there.parent.iterdir()] == ["widgetbundle.js"]  # no temporary file left
    before = there.stat().st_mtime_ns
    widget_bundle.install(cache)
    assert there.stat().st_mtime_ns == before  # there already: not written again
    there.write_bytes(bundle.read_bytes()[:1000])  # cut short (a disk filled mid-copy)
    assert not widget_bundle.installed(cache)
    widget_bundle.install(cache)
    assert there.read_bytes() == bundle.read_bytes()


def test_the_widgets_module_imports_the_cached_bundle_or_stays_plotlys(tmp_path, monkeypatch):
    """Where Solara serves the bundle (its proxy on, the file in its cache), the figure widget's
    ``_esm`` imports it by URL; otherwise (not there, the proxy off, a cache it cannot write) the
    page gets plotly's own module, and ``serve`` warns."""
    import solara.settings

    monkeypatch.setattr(assets, "cache_dir", lambda: tmp_path)
    monkeypatch.setattr(solara.settings.assets, "proxy", True)
    assert widget_bundle.esm() is None  # not in the cache
    widget_bundle.install(tmp_path)
    esm = widget_bundle.esm()
    assert f'"/{widget_bundle.folder()}/widgetbundle.js"' in esm and "await import(" in esm
    assert "export default bundle.default" in esm  # anywidget takes the module's default export
    monkeypatch.setattr(solara.settings.assets, "proxy", False)  # the page loads from the public CDN itself
    assert widget_bundle.esm() is None


def test_serve_warns_when_the_cache_cannot_hold_the_bundle(tmp_path, monkeypatch, capsys):
    from model.cli import serve

    cache = tmp_path / "cdn"
    cache.mkdir()
    (cache / widget_bundle.folder()).write_text("a file where the folder should be")
    monkeypatch.setattr(assets, "cache_dir", lambda: cache)
    monkeypatch.setattr(assets, "missing", lambda packages, where: [])
    serve.ensure_assets()
    err = capsys.readouterr().err
    assert "warning: cannot put plotly's widget bundle into" in err and "Traceback" not in err
    assert not widget_bundle.installed(cache)


# --------------------------------------------------------------------------- the commands' bad input


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["serve", "no_such_scenario"], "no_such_scenario"),
        (["serve", "demo", "--port", "70000"], "port number from 1 to 65,535"),
        (["serve", "demo", "--port", "http"], "port number from 1 to 65,535"),
        (["serve", "demo", "--save-dir", "/no/such/folder"], "--save-dir"),
    ],
)
def test_serve_refuses_bad_input_with_a_message(argv, says, capsys):
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own check of --port
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_serve_refuses_a_port_in_use(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["serve", "demo", "--port", str(taken.getsockname()[1])]) == 2
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().err


def test_assets_list_names_the_cache(capsys):
    assert main(["assets", "--list"]) == 0
    out = capsys.readouterr().out
    assert "requirejs@" in out and "cache: " in out and f"{widget_bundle.folder()}: " in out


# --------------------------------------------------------------------------- what the page computes per step


def test_the_exposure_chart_shows_the_summarys_mixing(small):
    """The chart reads summary.json's ``mixing`` alone (``mixing_summary``): the same figures mid-run."""
    from model.measures.summary import mixing_summary

    model = PageModel(str(small), days=1)
    for _ in range(200):  # to 09:20: visits done, others under way
        model.step()
    assert len(model.context.visit_log.columns()["resident"]) > 0
    assert mixing_summary(model.context) == model.summary()["mixing"]


def test_the_occupancy_places_and_paces_are_the_models(small):
    """What the figures keep per model: each type's places (its capacities summed by hand from the
    scenario file's facilities) and its users' median pace; a re-planned model gets its own."""
    model = PageModel(str(small), days=1)
    fixed = figures._fixed(model)
    by_hand = {}
    for f in model.spec.facilities:
        by_hand[f.type] = by_hand.get(f.type, 0) + f.capacity
    assert fixed.places == {t: by_hand[t] for t in model.city.types}
    assert fixed.paces == users_paces(model) and figures._fixed(model) is fixed
    model.plan.add(model.base_scenario, "park", 16, 3)
    again = model.replanned()
    assert figures._fixed(again).places["park"] == by_hand["park"] + model.spec.types["park"].capacity


def test_a_step_waits_for_a_figure_reading_the_model(small):
    """Mesa's "Use Threads" steps the page's model in another thread: while a figure reads the model
    (``figures.reading``, its lock) a step started then waits, Mesa's counter included, and runs after."""
    model = PageModel(str(small), days=1)
    model.step()
    rows = len(model.datacollector.model_vars["day"])
    with figures.reading(model):
        stepping = threading.Thread(target=model.step)
        stepping.start()
        stepping.join(timeout=0.5)
        assert stepping.is_alive()  # waiting for the lock
        assert (model.steps, len(model.datacollector.model_vars["day"])) == (1, rows)
    stepping.join(timeout=30)
    assert not stepping.is_alive()
    assert (model.steps, len(model.datacollector.model_vars["day"])) == (2, rows + 1)


def test_a_figure_that_fails_is_a_message_not_a_traceback(caplog):
    """A figure whose drawing raises gives the page a message naming the figure and the error (and the
    server's log the traceback); one that draws gives its picture and no message."""

    def broken(model):
        raise IndexError("boolean index did not match")

    picture, message = figures.drawn("occupancy chart", broken, None)
    assert picture is None
    assert message.startswith("The occupancy chart could not be drawn (IndexError: boolean index did not match)")
    assert "Traceback" in caplog.text
    assert figures.drawn("map", lambda a, b: a + b, 2, 3) == (5, "")


# --------------------------------------------------------------------------- the kernels, warmed at server start


def test_the_warmup_says_compiling_only_while_numba_compiles(caplog):
    """A warm-up that makes numba compile a new function says "compiling"; one that compiles nothing
    says "loading"; one that fails is logged and counts as done (the page then builds its own model)."""
    import numba

    from model.web import warmup

    warmed = []

    def compiles(name):
        warmed.append(name)

        @numba.njit
        def plus_one(x):  # a new function: numba compiles it on its first call
            return x + 1

        assert plus_one(1) == 2

    compiling = warmup.KernelWarmup("demo", warm=compiles)
    assert not compiling.ready and compiling.message == warmup.LOADING_MESSAGE
    assert compiling.start().wait(60) and compiling.ready and compiling.seconds >= 0
    assert warmed == ["demo"] and compiling.compiling and compiling.compiled >= 1
    assert compiling.message == warmup.COMPILING_MESSAGE
    assert warmup.COMPILING_MESSAGE == "Compiling the simulation kernels, once after installing: about 30 s"
    loading = warmup.KernelWarmup(str(STREETS_SMALL), warm=warmed.append).start()
    assert loading.wait(60) and not loading.compiling and loading.message == warmup.LOADING_MESSAGE
    assert warmed[-1] == "helsinki_centre"  # a street scenario's kernels: warmed on the bundled street scenario

    def fails(name):
        raise RuntimeError("no kernels today")

    with caplog.at_level("ERROR", logger="model.web.warmup"):
        broken = warmup.KernelWarmup("demo", warm=fails).start()
        assert broken.wait(60) and broken.ready
    assert "warming the simulation kernels failed" in caplog.text and "no kernels today" in caplog.text


_SIGNATURES = """
import sys
import numba

def signatures():
    found = {}
    for name, module in list(sys.modules.items()):
        if name.startswith("model."):
            for obj in vars(module).values():
                if isinstance(obj, numba.core.registry.CPUDispatcher):
                    key = f"{obj.py_func.__module__}.{obj.py_func.__qualname__}"
                    found[key] = found.get(key, set()) | {str(s) for s in obj.signatures}
    return found

from model.web import figures
from model.web.state import PageModel, first_point
from model.web.warmup import warm_kernels, warm_scenario

warm_kernels(warm_scenario(sys.argv[1]))
before = signatures()
model = PageModel(sys.argv[1], days=1)
view = figures.MapView(band_type=model.city.types[0], selected=first_point(model))
figures.map_figure(model, view)
figures.coverage_figure(model)
for _ in range(int(sys.argv[2])):
    model.step()
figures.map_figure(model, view)
figures.occupancy_figure(model)
figures.exposure_figure(model)
model.summary()
after = signatures()
new = {k: sorted(after[k] - before.get(k, set())) for k in after if after[k] - before.get(k, set())}
print("NEW", new)
"""


def test_the_warmup_calls_every_kernel_the_page_calls():
    """In a fresh process: after the warm-up (demo, half an hour), the page's model of wuhai_life_circle,
    built, run to 11:00, drawn and summarised, calls no numba kernel with argument types the warm-up did
    not (numba compiles, or loads, one version of a kernel per argument types)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _SIGNATURES, "wuhai_life_circle", "300"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "NEW {}" in done.stdout, done.stdout[-3000:]
