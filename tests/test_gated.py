"""The gated-compound street twins of the Inner Mongolian scenarios (scenarios/generators/generate_gated.py).

The network is read from the bundled CSV files with the csv module and walked with networkx; the
walls, gates and obstacles are checked against the grid scenario's areas and blocked cells.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import sys
from collections import Counter
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from model.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def _generator():
    spec = importlib.util.spec_from_file_location("generate_gated", SCENARIOS / "generators" / "generate_gated.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


GEN = _generator()


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


class Network:
    """A gated twin's files, in the grid's cell units (x east, y south) of its frame."""

    def __init__(self, grid_name: str):
        place = GEN.PLACES[grid_name]
        self.grid = load_scenario(grid_name)
        self.cell = self.grid.grid.cell_m
        folder = SCENARIOS / f"{grid_name}_gated" / "streets"

        def cells(row):
            return (float(row["x_m"]) - place.x0) / self.cell, (place.y0 - float(row["y_m"])) / self.cell

        self.nodes = {int(r["node_id"]): cells(r) for r in _rows(folder / "nodes.csv")}
        self.graph = nx.Graph()
        for r in _rows(folder / "edges.csv"):
            self.graph.add_edge(int(r["u"]), int(r["v"]), length=float(r["length_m"]))
        self.gates = [(r["community"], *cells(r), int(r["compound"])) for r in _rows(folder / "gates.csv")]
        self.homes = [(r["community"], *cells(r)) for r in _rows(folder / "homes.csv")]
        self.facilities = [
            (r["type"], r["name"], *cells(r), int(r["capacity"])) for r in _rows(folder / "facilities.csv")
        ]
        self.compounds = GEN.lay_out(self.grid, place.seed).compounds

    def blocked(self, x: int, y: int) -> bool:
        g = self.grid.grid
        if not (0 <= x < g.width and 0 <= y < g.height):
            return True
        return any(bx <= x < bx + bw and by <= y < by + bh for bx, by, bw, bh in g.blocked)


@pytest.fixture(scope="module")
def circle() -> Network:
    return Network("wuhai_life_circle")


def test_the_bundled_twins_are_what_the_generator_writes(capsys):
    """Deterministic and up to date: ``--check`` renders every twin again and compares the bytes."""
    assert GEN.main(["--check"]) == 0, capsys.readouterr().err


def test_edge_lengths_are_the_straight_lines_between_their_nodes(circle):
    for u, v, d in circle.graph.edges(data="length"):
        (ux, uy), (vx, vy) = circle.nodes[u], circle.nodes[v]
        assert d == pytest.approx(math.hypot(ux - vx, uy - vy) * circle.cell, abs=0.01)


def test_walls_are_crossed_only_through_the_gates_of_their_compound(circle):
    """Per compound: ways leave its inside only at its 1-4 gates, on its wall, listed in gates.csv."""
    gate_rows = Counter(k for *_, k in circle.gates)
    assert len(circle.compounds) > 20
    for k, (name, x0, y0, w, h, n_gates) in enumerate(circle.compounds):

        def inside(p, x0=x0, y0=y0, w=w, h=h):
            return x0 < p[0] < x0 + w and y0 < p[1] < y0 + h

        exits = set()
        for u, v in circle.graph.edges():
            a, b = circle.nodes[u], circle.nodes[v]
            if inside(a) != inside(b):
                out = b if inside(a) else a
                on_wall = (out[0] in (x0, x0 + w) and y0 <= out[1] <= y0 + h) or (
                    out[1] in (y0, y0 + h) and x0 <= out[0] <= x0 + w
                )
                assert on_wall, f"compound {k} of {name}: a way leaves it at {out}, off its wall"
                exits.add(out)
            elif not inside(a):  # a way between two outside points must not run over the inside
                assert not inside(((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)), f"a way crosses compound {k}"
        assert 1 <= len(exits) <= 4 and len(exits) == n_gates == gate_rows[k + 1]
        listed = [(gx, gy) for c, gx, gy, kk in circle.gates if kk == k + 1]
        assert all(c == name for c, *_, kk in circle.gates if kk == k + 1)
        for ex, ey in exits:  # the gates file's point is 1 m from the gate's node
            assert min(math.hypot(ex - gx, ey - gy) for gx, gy in listed) * circle.cell == pytest.approx(1.0)


def test_without_its_gates_a_compound_is_cut_off(circle):
    """Remove one compound's gate nodes: none of its inner nodes reaches a node far outside."""
    name, x0, y0, w, h, _ = circle.compounds[0]
    inner = [n for n, (x, y) in circle.nodes.items() if x0 < x < x0 + w and y0 < y < y0 + h]
    gate_nodes = [
        n
        for n, (x, y) in circle.nodes.items()
        if any(abs(x - gx) < 0.05 and abs(y - gy) < 0.05 for c, gx, gy, k in circle.gates if k == 1)
    ]
    assert inner and gate_nodes
    cut = circle.graph.copy()
    cut.remove_nodes_from(gate_nodes)
    reach = nx.node_connected_component(cut, inner[0])
    assert set(inner) <= reach
    assert all(x0 < circle.nodes[n][0] < x0 + w and y0 < circle.nodes[n][1] < y0 + h for n in reach)
    assert nx.has_path(circle.graph, inner[0], max(circle.nodes))  # with them it is not


def test_no_way_runs_through_an_obstacle(circle):
    """Every point of every way touches a walkable cell: no way crosses the river, rail or a walled yard."""
    for u, v in circle.graph.edges():
        (ux, uy), (vx, vy) = circle.nodes[u], circle.nodes[v]
        for t in (0.25, 0.5, 0.75):
            px, py = ux + t * (vx - ux), uy + t * (vy - uy)
            touching = {(math.floor(px - e), math.floor(py - f)) for e in (0, 1e-9) for f in (0, 1e-9)}
            assert not all(circle.blocked(x, y) for x, y in touching), f"way {u}-{v} crosses blocked cells at {px, py}"


def test_the_rail_line_is_crossed_only_at_the_grids_crossings(circle):
    """The rail column (x = 41) is blocked but at its two crossings; ways across it lie there only."""
    rail = 41
    crossing_rows = {y for y in range(circle.grid.grid.height) if not circle.blocked(rail, y)}
    assert crossing_rows == {11, 38}
    for u, v in circle.graph.edges():
        (ux, uy), (vx, vy) = circle.nodes[u], circle.nodes[v]
        if min(ux, vx) <= rail and max(ux, vx) >= rail + 1:
            assert math.floor(min(uy, vy)) in crossing_rows or min(uy, vy) in {y + 1 for y in crossing_rows}


def test_people_facilities_and_behaviour_are_the_grid_scenarios(circle):
    gated = load_scenario("wuhai_life_circle_gated")
    grid = circle.grid
    assert gated.streets is not None and gated.grid is None
    assert [(c.name, c.residents, c.groups) for c in gated.communities] == [
        (c.name, c.residents, c.groups) for c in grid.communities
    ]
    for key in ("seed", "groups", "ages", "mixing", "speeds", "pace", "types", "simulation"):
        assert getattr(gated, key) == getattr(grid, key), key
    assert Counter((f.type, f.name, f.capacity) for f in gated.facilities) == Counter(
        (f.type, f.name, f.capacity) for f in grid.facilities
    )
    # one home per walkable cell of each community's area
    per_community = Counter(c for c, *_ in circle.homes)
    for com in grid.communities:
        x0, y0, w, h = com.area
        cells = sum(not circle.blocked(x, y) for x in range(x0, x0 + w) for y in range(y0, y0 + h))
        assert per_community[com.name] == cells


def test_facilities_face_a_street_outside_every_compound(circle):
    grid_at = {f.name: (f.x + 0.5, f.y + 0.5) for f in circle.grid.facilities}
    moved = 0
    for _, name, x, y, _ in circle.facilities:
        for _, x0, y0, w, h, _ in circle.compounds:
            assert not (x0 < x < x0 + w and y0 < y < y0 + h), f"{name} stands inside a compound"
        gx, gy = grid_at[name]
        if (x, y) != (gx, gy):
            moved += 1  # out of its cell's compound: at most a compound's side (4 cells here) and 5 m away
            assert math.hypot(x - gx, y - gy) * circle.cell <= 4 * circle.cell + 5.01
    assert moved > 0


def test_homes_hang_on_their_compounds_inner_paths():
    """The model joins each home to the inner path node of its own cell, 11.3 m away (not to the lane outside)."""
    from model.city.streets import build_street_city

    city = build_street_city(load_scenario("wuhai_life_circle_gated"))
    join_m = city.join_m[city.homes["node"].to_numpy()]
    assert np.allclose(join_m, math.hypot(GEN.HOME_OFFSET_M, GEN.HOME_OFFSET_M), atol=0.01)


def test_a_variant_with_one_gate_each(tmp_path):
    """``--gates 1 --out`` writes a loadable variant with exactly one gate per compound."""
    assert GEN.main(["wuhai_life_circle", "--gates", "1", "--out", str(tmp_path)]) == 0
    variant = load_scenario(tmp_path / "wuhai_life_circle_gated.toml")
    compounds = GEN.lay_out(load_scenario("wuhai_life_circle"), 14, gates_fixed=1).compounds
    assert variant.streets.gate_community.size == len(compounds)
    assert {c[5] for c in compounds} == {1}
