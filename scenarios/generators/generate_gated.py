"""Write the gated-compound street versions of the Inner Mongolian scenarios.

    python scenarios/generators/generate_gated.py            # rewrites every *_gated scenario
    python scenarios/generators/generate_gated.py --check    # exit 1 if a file is out of date
    python scenarios/generators/generate_gated.py wuhai_life_circle --out /tmp/x --gates 1

Each grid scenario written by generate.py (``wuhai_life_circle``) and generate_city.py
(``wuhai_city``, ``qingshan_city``) gets a street twin, ``<name>_gated``: the same communities,
residents, groups, ages, facilities (types, names, capacities) and behaviour, on a street network
with the morphology of Chinese residential districts instead of the open grid:

* **Superblocks of gated compounds (小区).** Each community's area is a superblock cut into
  compounds of about 150-200 m a side (3 or 4 cells of 50 m, 5 where a superblock's side is 5 cells;
  :data:`COMPOUND_CELLS`): the
  residential block (居住街坊) of GB 50180-2018 covers 2-4 hm², as commonly cited, i.e. 141-200 m
  a side when square. A compound is walled: no way crosses its edge except through its gates.
* **Gates.** Each compound has 1 to 4 gates (:data:`GATE_WEIGHTS`, an ASSUMPTION: no source
  gives the share of compounds with one, two, three or four gates), at the middle of distinct
  sides, preferring sides that open onto walkable land. A gate joins the compound's inner paths
  to the lane along its wall.
* **Inner paths.** Inside a compound, paths join the centres of neighbouring 50 m cells (an
  ASSUMPTION: a compound's inner roads reach every building; their layout is not published).
* **Streets between blocks.** A lane runs outside every compound wall, so compounds are
  separated by streets; outside compounds, ways run every 100 m (:data:`PUBLIC_EVERY`) over
  walkable land, and along the edge of every obstacle (river banks, the rail line, walled yards).
  Obstacles are the grid scenario's blocked cells: a way never crosses a blocked cell, so the rail
  line is crossed only where the grid has its crossings.
* **Homes.** One home per walkable cell of a compound (equal floor area, so a community's
  residents spread evenly over its cells as on the grid), 11 m off the cell's centre on the inner
  path.
* **Facilities** stand where the grid puts them; one inside a compound is moved straight out to
  the nearest wall that faces land outside the compounds, 5 m beyond it (or, in a compound walled
  in by others, onto the lane along its nearest wall). ASSUMPTION: facilities open onto a street,
  like the ground-floor shops (底商) and the clinics and care stations that face one.

Coordinates are metres of a UTM zone near the city (WGS84 outputs land near it; the place itself
is the grid scenario's invention). The scenario file is the grid scenario resolved (every number
comes from it; the grid files say where each comes from), with ``[streets]`` instead of ``[grid]``
and the facilities in the facilities file.

Deterministic: the gates are drawn by ``random.Random(seed)`` with a fixed seed per scenario;
running the script twice writes the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SCENARIOS = Path(__file__).resolve().parents[1]

COMPOUND_CELLS = 3.5
"""A superblock is cut into round(side / 3.5) compounds along each axis: sides of 3 or 4 cells
(150-200 m on 50 m cells; GB 50180-2018's residential block of 2-4 hm², as commonly cited)."""
GATE_WEIGHTS = {1: 0.2, 2: 0.4, 3: 0.25, 4: 0.15}
"""ASSUMPTION: the share of compounds with 1, 2, 3 and 4 gates (no published figure was found)."""
PUBLIC_EVERY = 2
"""Outside compounds, ways run along every 2nd cell edge (100 m on 50 m cells): an ASSUMPTION."""
HOME_OFFSET_M = 8.0
"""A home stands this far east and north of its cell's centre (11.3 m from the inner path's node)."""
FACILITY_OUTSIDE_M = 5.0
"""A facility moved out of a compound stands this far outside its wall."""
GATE_POINT_OUTSIDE_M = 1.0
"""The gates file's point of a gate lies this far outside the gate's node (so that it joins it)."""


@dataclass(frozen=True)
class Place:
    """Where a gated twin goes: its grid scenario, UTM frame and the seed of its gates."""

    grid: str
    crs: str
    x0: float  # easting of the grid's west edge
    y0: float  # northing of the grid's north edge (the grid's row 0; y grows southwards)
    seed: int
    note: str


PLACES = {
    # Wuhai lies near 106.8 E, 39.7 N (UTM zone 48N); Qingshan, Baotou near 109.8 E, 40.6 N (zone 49N).
    # The frames are round numbers near them, so that 200 m mixing blocks align with the cells.
    "wuhai_life_circle": Place("wuhai_life_circle", "EPSG:32648", 650_000.0, 4_400_000.0, 14, "One Wuhai life circle"),
    "wuhai_city": Place("wuhai_city", "EPSG:32648", 650_000.0, 4_400_000.0, 83, "Wuhai as a whole"),
    "qingshan_city": Place("qingshan_city", "EPSG:32649", 400_000.0, 4_500_000.0, 77, "Baotou's Qingshan district"),
}


# --------------------------------------------------------------------------- the layout


@dataclass
class Layout:
    """A street network in cell units: node points, ways, homes, gates and facilities.

    Points are in grid units (x east, y south, 1 = one cell); :func:`write` turns them into metres.
    """

    points: list[tuple[float, float]]
    ways: list[tuple[int, int]]
    homes: list[tuple[str, float, float]]  # community, x, y
    gates: list[tuple[str, float, float, int]]  # community, x, y, compound
    compounds: list[tuple[str, int, int, int, int, int]]  # community, x0, y0, w, h, gates
    facilities: list[tuple[object, float, float]]  # FacilitySite, x, y


def split(length: int) -> list[int]:
    """Sides of the compounds along one side of a superblock: as equal as can be, about 3.5 cells each."""
    n = max(1, round(length / COMPOUND_CELLS))
    base, extra = divmod(length, n)
    return [base + (1 if i < extra else 0) for i in range(n)]


def compounds_of(area: tuple[int, int, int, int]) -> list[tuple[int, int, int, int]]:
    """The compounds (x, y, w, h) a community's area is cut into, row by row from the north-west."""
    x0, y0, w, h = area
    out = []
    y = y0
    for ch in split(h):
        x = x0
        for cw in split(w):
            out.append((x, y, cw, ch))
            x += cw
        y += ch
    return out


def lay_out(scenario, seed: int, gates_fixed: int | None = None) -> Layout:
    """The gated street network of a grid scenario (see the module's docstring)."""
    from model.city.grid import walkable_mask

    g = scenario.grid
    W, H = g.width, g.height
    walk = walkable_mask(W, H, g.blocked)
    comp = np.full((H, W), -1, dtype=np.int64)
    compounds: list[tuple[str, int, int, int, int, int]] = []
    boxes = []
    for com in scenario.communities:
        for box in compounds_of(com.area):
            x, y, w, h = box
            if walk[y : y + h, x : x + w].any():
                comp[y : y + h, x : x + w] = np.where(walk[y : y + h, x : x + w], len(boxes), -1)
                boxes.append((com.name, box))
    rng = random.Random(seed)
    points: dict[tuple[float, float], int] = {}

    def node(p: tuple[float, float]) -> int:
        return points.setdefault(p, len(points))

    ways: set[tuple[int, int]] = set()

    def way(a: tuple[float, float], b: tuple[float, float]) -> None:
        i, j = node(a), node(b)
        ways.add((min(i, j), max(i, j)))

    def cell_comp(x: int, y: int) -> int:
        return int(comp[y, x]) if 0 <= x < W and 0 <= y < H else -1

    def cell_walk(x: int, y: int) -> bool:
        return bool(walk[y, x]) if 0 <= x < W and 0 <= y < H else False

    # gates first: the wall segment a gate sits on is split at the gate
    gate_of: dict[tuple[str, int, int], tuple[float, float]] = {}  # (h|v, i, j) segment -> gate point
    gates = []
    for k, (name, (x, y, w, h)) in enumerate(boxes):
        sides = []  # (outer cell walkable, order, segment, gate point, inner cell)
        mx, my = x + (w - 1) // 2, y + (h - 1) // 2
        for order, (inner, outer, seg, point) in enumerate(
            [
                ((mx, y), (mx, y - 1), ("h", mx, y), (mx + 0.5, y)),  # north wall
                ((x + w - 1, my), (x + w, my), ("v", x + w, my), (x + w, my + 0.5)),  # east
                ((mx, y + h - 1), (mx, y + h), ("h", mx, y + h), (mx + 0.5, y + h)),  # south
                ((x, my), (x - 1, my), ("v", x, my), (x, my + 0.5)),  # west
            ]
        ):
            if cell_comp(*inner) == k:
                rank = 0 if cell_walk(*outer) and cell_comp(*outer) < 0 else 1 if cell_walk(*outer) else 2
                sides.append((rank, order, seg, point, inner))
        n = gates_fixed or rng.choices(list(GATE_WEIGHTS), weights=list(GATE_WEIGHTS.values()))[0]
        rng.shuffle(sides)
        sides.sort(key=lambda s: s[0])  # onto open land, then a lane between compounds, then beside an obstacle
        chosen = sides[: min(n, len(sides))]
        for _, _, seg, point, inner in chosen:
            gate_of[seg] = point
            way(point, (inner[0] + 0.5, inner[1] + 0.5))
            gates.append((name, point[0], point[1], k))
        compounds.append((name, x, y, w, h, len(chosen)))

    # inner paths: centres of neighbouring cells of one compound
    ys, xs = np.nonzero(comp >= 0)
    for x, y in zip(xs.tolist(), ys.tolist()):
        k = comp[y, x]
        for dx, dy in ((1, 0), (0, 1)):
            if cell_comp(x + dx, y + dy) == k:
                way((x + 0.5, y + 0.5), (x + dx + 0.5, y + dy + 0.5))

    # ways along cell edges: walls' lanes, public ways every PUBLIC_EVERY, obstacles' edges
    def keep(a: tuple[int, int], b: tuple[int, int], line: int) -> bool:
        ca, cb = cell_comp(*a), cell_comp(*b)
        wa, wb = cell_walk(*a), cell_walk(*b)
        if not (wa or wb):
            return False  # between two blocked cells (or off the grid): through an obstacle
        if ca >= 0 and ca == cb:
            return False  # inside a compound: its own paths serve it
        if ca != cb:
            return True  # along a wall: the lane between compound and street
        return line % PUBLIC_EVERY == 0 or wa != wb  # a public way, or along an obstacle's edge

    for j in range(H + 1):  # horizontal edges on line y = j, between cells (i, j-1) and (i, j)
        for i in range(W):
            if keep((i, j - 1), (i, j), j):
                gate = gate_of.get(("h", i, j))
                if gate is None:
                    way((i, j), (i + 1, j))
                else:
                    way((i, j), gate)
                    way(gate, (i + 1, j))
    for i in range(W + 1):  # vertical edges on line x = i, between cells (i-1, j) and (i, j)
        for j in range(H):
            if keep((i - 1, j), (i, j), i):
                gate = gate_of.get(("v", i, j))
                if gate is None:
                    way((i, j), (i, j + 1))
                else:
                    way((i, j), gate)
                    way(gate, (i, j + 1))

    off = HOME_OFFSET_M / g.cell_m
    homes = [
        (boxes[comp[y, x]][0], x + 0.5 + off, y + 0.5 - off)  # east, and north (y grows southwards)
        for x, y in zip(xs.tolist(), ys.tolist())
    ]
    facilities = [(f, *_frontage(f.x, f.y, comp, boxes, g.cell_m)) for f in scenario.facilities]
    return Layout(list(points), sorted(ways), homes, gates, compounds, facilities)


def _frontage(x: int, y: int, comp: np.ndarray, boxes: list, cell_m: float) -> tuple[float, float]:
    """Where a facility of cell (x, y) stands: the cell's centre, or by the nearest wall of its compound.

    Out of a compound the facility moves straight to its nearest wall that faces land outside
    every compound, 5 m beyond it. A compound walled in by other compounds on all four sides has
    no such wall: the facility then stands on the lane along its nearest wall, 1 m from the lane's
    node nearest to it (so that it joins the lane, not a compound's inner path).
    """
    k = comp[y, x]
    cx, cy = x + 0.5, y + 0.5
    if k < 0:
        return cx, cy
    bx, by, bw, bh = boxes[k][1]
    h, w = comp.shape

    def open_beyond(ox: int, oy: int) -> bool:
        return not (0 <= ox < w and 0 <= oy < h) or comp[oy, ox] < 0

    out = FACILITY_OUTSIDE_M / cell_m
    walls = [  # (distance to the wall, cell beyond it, point 5 m beyond it, point on its lane), N, S, W, E
        (cy - by, (x, by - 1), (cx, by - out), (round(cx) + 1 / cell_m, by)),
        (by + bh - cy, (x, by + bh), (cx, by + bh + out), (round(cx) + 1 / cell_m, by + bh)),
        (cx - bx, (bx - 1, y), (bx - out, cy), (bx, round(cy) + 1 / cell_m)),
        (bx + bw - cx, (bx + bw, y), (bx + bw + out, cy), (bx + bw, round(cy) + 1 / cell_m)),
    ]
    facing = [wall for wall in walls if open_beyond(*wall[1])]
    if facing:
        return min(facing, key=lambda wall: wall[0])[2]
    return min(walls, key=lambda wall: wall[0])[3]


# --------------------------------------------------------------------------- writing


def _csv(header: list[str], rows) -> bytes:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(header)
    out.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _m(v: float) -> str:
    """Metres with at most two decimals and no trailing zeros (compact, exact for the layout's points)."""
    return f"{v:.2f}".rstrip("0").rstrip(".")


def render(place: Place, gates_fixed: int | None = None, name: str | None = None) -> dict[str, bytes]:
    """The files of the gated twin of ``place.grid``: {relative path: bytes}."""
    import tomli_w

    from model.scenario import load_scenario
    from model.scenario.write import scenario_toml

    scenario = load_scenario(place.grid)
    cell = float(scenario.grid.cell_m)
    layout = lay_out(scenario, place.seed, gates_fixed)
    name = name or f"{place.grid}_gated"

    def xm(x: float) -> str:
        return _m(place.x0 + x * cell)

    def ym(y: float) -> str:
        return _m(place.y0 - y * cell)

    pts = np.asarray(layout.points)
    ways = np.asarray(layout.ways)
    lengths = np.hypot(*(pts[ways[:, 0]] - pts[ways[:, 1]]).T) * cell
    out = SCENARIOS / name / "streets"  # only for the relative paths
    rel = out.relative_to(SCENARIOS).as_posix()
    files = {
        f"{rel}/nodes.csv": _csv(
            ["node_id", "x_m", "y_m"], ((i + 1, xm(x), ym(y)) for i, (x, y) in enumerate(layout.points))
        ),
        f"{rel}/edges.csv": _csv(
            ["u", "v", "length_m"], ((u + 1, v + 1, _m(d)) for (u, v), d in zip(layout.ways, lengths.tolist()))
        ),
        f"{rel}/homes.csv": _csv(
            ["home_id", "community", "x_m", "y_m", "floor_m2"],
            ((i + 1, c, xm(x), ym(y), 1) for i, (c, x, y) in enumerate(layout.homes)),
        ),
        f"{rel}/gates.csv": _csv(
            ["community", "x_m", "y_m", "compound"],
            ((c, xm(x + dx), ym(y + dy), k + 1) for c, x, y, k in layout.gates for dx, dy in [_outward(x, y)]),
        ),
        f"{rel}/facilities.csv": _csv(
            ["type", "name", "x_m", "y_m", "capacity"],
            ((f.type, f.name, xm(x), ym(y), f.capacity) for f, x, y in layout.facilities),
        ),
    }
    data = tomllib.loads(scenario_toml(scenario))
    data.pop("grid")
    data.pop("facilities", None)
    data.pop("extends", None)
    for com in data["communities"]:
        com.pop("area", None)
        com.pop("gates", None)
    data["name"] = name
    gates = f"{gates_fixed} gate(s) each" if gates_fixed else "1-4 gates each"
    data["description"] = f"{place.note} on streets: walled compounds of 150-200 m with {gates}"
    data["streets"] = {
        "crs": place.crs,
        **{k: f"{rel}/{k}.csv" for k in ("nodes", "edges", "homes", "facilities", "gates")},
    }
    counts = np.bincount([c[5] for c in layout.compounds], minlength=5)[1:]
    header = [
        f"# GENERATED by scenarios/generators/generate_gated.py from {place.grid}.toml (deterministic, seed",
        f"# {place.seed}): rerun it rather than editing this file or the CSV files in {name}/streets/.",
        "#",
        f"# {place.grid} on a street network of gated compounds (小区). Every number below is the grid",
        f"# scenario's, resolved: {place.grid}.toml says where each comes from. What is new here:",
        f"#   - {len(layout.compounds):,} compounds in {len(scenario.communities)} superblocks (the communities' areas),",
        "#     cut into sides of 150-200 m: GB 50180-2018's residential block (居住街坊) of 2-4 hm², as",
        "#     commonly cited; walled, entered only through their gates;",
        f"#   - gates per compound, 1 / 2 / 3 / 4: {' / '.join(f'{c:,}' for c in counts.tolist())}"
        + (f" (all {gates_fixed}: a variant)" if gates_fixed else " (ASSUMPTION: drawn 20/40/25/15%)")
        + ";",
        f"#   - lanes along every wall; public ways every {PUBLIC_EVERY * cell:g} m elsewhere (ASSUMPTION), none across",
        "#     the grid's blocked cells (river, rail line, walled yards), so crossings are the grid's;",
        "#   - facilities inside a compound moved 5 m out of its nearest open wall (ASSUMPTION: they face a street);",
        f"#   - coordinates: {place.crs}, a frame near the real city; the layout itself is invented.",
        "",
    ]
    text = "\n".join(header) + tomli_w.dumps(data)
    files[f"{name}.toml"] = text.encode("utf-8")
    return files


def _outward(x: float, y: float) -> tuple[float, float]:
    """A small step from a gate's point away from its compound's inside, in cell units.

    A gate sits at the middle of a cell edge: on a horizontal wall (integer y, x + 0.5) or a
    vertical one (integer x). The gates file's point only needs to join that gate's node, which it
    does from either side of the wall; the step is along the wall, so it never crosses it.
    """
    step = GATE_POINT_OUTSIDE_M / 50.0
    return (step, 0.0) if float(y).is_integer() else (0.0, step)


def main(argv: list[str]) -> int:
    """Write (or with ``--check`` compare) the gated twins; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("grids", nargs="*", default=list(PLACES), help="grid scenarios (default: all)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a bundled file is out of date")
    parser.add_argument("--out", type=Path, help="write here instead of scenarios/ (a variant)")
    parser.add_argument("--gates", type=int, choices=(1, 2, 3, 4), help="this many gates per compound (a variant)")
    args = parser.parse_args(argv)
    stale = []
    for grid in args.grids:
        if grid not in PLACES:
            parser.error(f"unknown grid scenario {grid!r}; choose from {', '.join(PLACES)}")
        files = render(PLACES[grid], args.gates)
        root = args.out or SCENARIOS
        for rel, data in files.items():
            path = root / rel
            if args.check:
                if not path.is_file() or path.read_bytes() != data:
                    stale.append(rel)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                print(f"wrote {path} ({len(data):,} bytes)")
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
