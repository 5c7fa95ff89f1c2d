"""Findings that survive review: agent model against its static baseline, over seeds and structural variations.

    python -m experiments.findings [--place wuhai_life_circle] [--seeds 10] [--days 7]
                                   [--variations all] [--workers 2] [--json PATH]

For one grid scenario, every structural variation below runs with seeds 1..N for D days (a week
from a Monday by default: five weekdays and a weekend); each run reports its summary.json figures
and the static baseline of the same city (``summary["static"]``, docs/static.md). Printed, per
figure:

* at the catalogue's values: the mean over seeds with its Student's t 95% interval, and for a
  figure with a static twin the paired difference agent - static with its interval (the effect
  the agent model adds, and how sure the seeds make it);
* the range of the mean over the structural variations (which variation gives the lowest and the
  highest), the uncertainty that more seeds cannot shrink.

Structural variations (``--variations``; all by default):

* ``catalogue``: the scenario as bundled;
* ``layout 1`` .. ``layout 3``: every facility moved to a random walkable cell within
  ``--move-m`` metres (150 by default: three 50 m cells) of its place, with the experiment's own
  generator seeded 1, 2, 3 (an input transformation, not a draw of the run);
* ``beta x0.5`` / ``beta x2``: the distance decay of every type chosen by a logit halved / doubled;
* ``patience x0.5`` / ``patience x2``: every type's patience halved / doubled;
* ``tries 1`` / ``tries 3``: every type tries 1 / 3 facilities;
* ``gated``: the bundled gated twin (``<place>_gated``, walls and gates: the network detour);
* ``households off``: every resident lives alone and no child is escorted (``households.on = false``);
* ``three generations x2``: twice the catalogue's share of three-generation households (0.16, taken
  from couples without children: 0.25 -> 0.17), so more children have a grandparent at home;
* ``escort school 7`` / ``escort school 12``: primary-school children escorted below age 7 (the
  first grade only) / below 12 (every grade), against the catalogue's 10;
* ``learning off``: days that learn turned off (``simulation.learning = false``);
* ``penalty x0.5`` / ``penalty x2``: the learning penalty of a turn-away halved / doubled (5 and 20
  minutes against 10).

Nothing here is tested by the suite as a result: it is a way to produce the README's Results from
the model. What varies over seeds is who lives where, paces and the day's draws.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

LAYOUT_SEEDS = (1, 2, 3)
PAIRED = (
    "mixing.activity.relative_exposure.mongol",
    "mixing.activity.relative_exposure.hui",
    "mixing.activity.multigroup_dissimilarity",
    "usage.elderly_care.unmet_share",
    "usage.culture_room.unmet_share",
    "usage.market.unmet_share",
    "usage.elderly_care.visits",
    "usage.kindergarten.visits",
)
"""Figures with a static twin (``static.<same path>``): agent, static and agent - static."""
AGENT_ONLY = (
    *(
        f"dynamics.{t}.{k}"
        for t in ("elderly_care", "culture_room", "market", "health_station")
        for k in ("displaced_share", "displaced_extra_min", "wait_person_min", "peak_queue")
    ),
    "dynamics.elderly_care.change.displaced_share",
    "dynamics.elderly_care.change.wait_person_min",
    "enrolment.kindergarten.without_place_share",
    "enrolment.kindergarten.beyond_level_share",
    "enrolment.primary_school.beyond_level_share",
    "households.no_escort_per_day",
    *(
        f"households.carers.{band}.{k}"
        for band in ("30-39", "60-69", "70-79")
        for k in ("escort_min_per_day", "given_up_per_day")
    ),
)
"""Figures only the agent model has (queues, displacement, enrolment and escorts)."""


def _flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, path + "."))
        elif value is None or isinstance(value, (int, float)):
            out[path] = math.nan if value is None else float(value)
    return out


def perturb_layout(spec, move_m: float, seed: int):
    """The scenario with every facility moved to a uniformly drawn walkable cell within ``move_m`` metres.

    Grid scenarios only: a facility's new cell is drawn among the walkable cells whose centre is
    within ``move_m`` of its own (Euclidean, in cells of ``grid.cell_m``), its own cell included;
    the draws come from a generator seeded ``seed``, one per facility in file order.
    """
    from model.city.grid import walkable_mask

    grid = spec.grid
    if grid is None:
        raise ValueError(f"{spec.name}: layout perturbation needs a grid scenario")
    walkable = walkable_mask(grid.width, grid.height, grid.blocked)
    reach = int(move_m // grid.cell_m)
    dx, dy = np.meshgrid(np.arange(-reach, reach + 1), np.arange(-reach, reach + 1))
    near = dx**2 + dy**2 <= (move_m / grid.cell_m) ** 2
    dx, dy = dx[near], dy[near]
    rng = np.random.default_rng(seed)
    moved = []
    for f in spec.facilities:
        x, y = int(f.x) + dx, int(f.y) + dy
        inside = (x >= 0) & (x < grid.width) & (y >= 0) & (y < grid.height)
        x, y = x[inside], y[inside]
        ok = walkable[y, x]
        pick = rng.integers(int(ok.sum()))
        moved.append(dataclasses.replace(f, x=int(x[ok][pick]), y=int(y[ok][pick])))
    return dataclasses.replace(spec, facilities=tuple(moved))


def _types_where(spec, key: str) -> list[str]:
    """Types present whose field ``key`` is finite and positive (the ones a factor changes)."""
    present = spec.types_present
    return [t for t in present if math.isfinite(getattr(spec.types[t], key)) and getattr(spec.types[t], key) > 0]


def variation_specs(place: str, names: list[str], move_m: float) -> dict:
    """Scenario of each structural variation of the bundled grid scenario ``place``."""
    from model.scenario import bundled_scenarios, load_scenario

    base = load_scenario(place)
    out = {}
    for name in names:
        if name == "catalogue":
            out[name] = base
        elif name.startswith("layout "):
            out[name] = perturb_layout(base, move_m, int(name.split()[1]))
        elif name.startswith(("beta x", "patience x")):
            factor = float(name.split("x")[1])
            key = "beta_per_min" if name.startswith("beta") else "patience_min"
            types = _types_where(base, key)
            overrides = {f"facility_types.{t}.{key}": _shaped(getattr(base.types[t], key) * factor, key) for t in types}
            out[name] = load_scenario(place, overrides=overrides, overrides_file=name)
        elif name.startswith("tries "):
            n = int(name.split()[1])
            overrides = {f"facility_types.{t}.tries": n for t in base.types_present}
            out[name] = load_scenario(place, overrides=overrides, overrides_file=name)
        elif name in HOUSEHOLD_VARIATIONS:
            overrides = HOUSEHOLD_VARIATIONS[name](base)
            out[name] = load_scenario(place, overrides=overrides, overrides_file=name)
        elif name == "gated":
            if f"{place}_gated" not in bundled_scenarios():
                continue
            out[name] = load_scenario(f"{place}_gated")
        else:
            raise ValueError(f"unknown variation {name!r}")
    return out


def _three_generations_x2(base) -> dict:
    shares = dict(base.households.compositions)
    extra = shares["three_generations"]
    shares["three_generations"] += extra
    shares["couple"] -= extra
    return {"households.compositions": shares}


HOUSEHOLD_VARIATIONS = {
    "households off": lambda base: {"households.on": False},
    "three generations x2": _three_generations_x2,
    "escort school 7": lambda base: {"facility_types.primary_school.escort_below_age": 7},
    "escort school 12": lambda base: {"facility_types.primary_school.escort_below_age": 12},
    "learning off": lambda base: {"simulation.learning": False},
    "penalty x0.5": lambda base: {"simulation.learning_penalty_min": base.simulation.learning_penalty_min * 0.5},
    "penalty x2": lambda base: {"simulation.learning_penalty_min": base.simulation.learning_penalty_min * 2},
}
"""Variations of the households, the escort age and the learning rule: name -> overrides of the scenario."""


def _shaped(value: float, key: str):
    """A value in the shape a file gives ``key``: patience in whole minutes (rounded half up), at least 1."""
    return max(1, int(math.floor(value + 0.5))) if key == "patience_min" else value


def run_one(job: tuple) -> dict:
    """One run: (variation, scenario, seed, days) -> flat agent figures and flat static figures."""
    name, spec, seed, days = job
    from model.model import LifeCircleModel

    model = LifeCircleModel(spec, seed=seed, days=days, engine="fast")
    model.run()
    summary = model.summary()
    static = summary.get("static")
    if static is None:  # before summary.json carried its static block
        from model.measures.static import static_baseline

        static = static_baseline(model.context)
    return {"variation": name, "seed": seed, "agent": _flat(summary), "static": _flat(static)}


def mean_ci(values) -> tuple[float, float, float]:
    """Mean and Student's t 95% interval over seeds (NaNs dropped; NaN bounds with one value)."""
    a = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if a.size == 0:
        return (math.nan, math.nan, math.nan)
    m = float(a.mean())
    if a.size < 2:
        return (m, math.nan, math.nan)
    h = float(stats.t.ppf(0.975, a.size - 1) * a.std(ddof=1) / math.sqrt(a.size))
    return (m, m - h, m + h)


def tables(rows: list[dict], variations: list[str]) -> dict:
    """Per figure: the catalogue's mean and interval, the paired difference to static, the range over variations."""
    by = {v: [r for r in rows if r["variation"] == v] for v in variations}
    out = {}
    for key in (*PAIRED, *AGENT_ONLY):
        entry = {"per_variation": {}}
        for v, rs in by.items():
            agent = [r["agent"].get(key, math.nan) for r in rs]
            e = {"agent": mean_ci(agent)}
            if key in PAIRED:
                static = [r["static"].get(key, math.nan) for r in rs]
                e["static"] = mean_ci(static)
                e["difference"] = mean_ci([a - s for a, s in zip(agent, static)])
            entry["per_variation"][v] = e
        out[key] = entry
    return out


def _fmt(m: tuple[float, float, float], digits: int) -> str:
    if not math.isfinite(m[0]):
        return "–"
    if not math.isfinite(m[1]):
        return f"{m[0]:.{digits}f}"
    return f"{m[0]:.{digits}f} [{m[1]:.{digits}f}, {m[2]:.{digits}f}]"


def _range(entry: dict, what: str, digits: int) -> str:
    means = {v: e[what][0] for v, e in entry["per_variation"].items() if math.isfinite(e[what][0])}
    if not means:
        return "–"
    lo, hi = min(means, key=means.get), max(means, key=means.get)
    return f"{means[lo]:.{digits}f} ({lo}) to {means[hi]:.{digits}f} ({hi})"


def print_tables(result: dict, base: str = "catalogue", out=sys.stdout) -> None:
    """The two Markdown tables: figures with a static twin, then agent-only figures."""
    print("| figure | agent | static | agent − static | agent − static over variations |", file=out)
    print("|---|---:|---:|---:|---|", file=out)
    for key in PAIRED:
        e = result[key]
        b = e["per_variation"].get(base)
        if b is None:
            continue
        d = 1 if key.endswith(".visits") else 4
        print(
            f"| {key} | {_fmt(b['agent'], d)} | {_fmt(b['static'], d)} | {_fmt(b['difference'], d)} "
            f"| {_range(e, 'difference', d)} |",
            file=out,
        )
    print(file=out)
    print("| figure | agent model | over variations |", file=out)
    print("|---|---:|---|", file=out)
    for key in AGENT_ONLY:
        e = result[key]
        b = e["per_variation"].get(base)
        if b is None:
            continue
        d = 3 if key.endswith("share") else 1
        print(f"| {key} | {_fmt(b['agent'], d)} | {_range(e, 'agent', d)} |", file=out)


ALL = ("catalogue", *(f"layout {k}" for k in LAYOUT_SEEDS), "beta x0.5", "beta x2")
ALL = (*ALL, "patience x0.5", "patience x2", "tries 1", "tries 3", "gated", *HOUSEHOLD_VARIATIONS)


def _worker_init() -> None:
    os.environ["NUMBA_NUM_THREADS"] = "1"


def main(argv: list[str]) -> int:
    """Run every variation and seed; print the tables (and write everything as JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--place", default="wuhai_life_circle", help="a bundled grid scenario")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 1..N of every variation")
    parser.add_argument("--days", type=int, default=7, help="days per run (7: a week from a Monday)")
    parser.add_argument("--variations", nargs="+", default=list(ALL), help=f"any of: {', '.join(ALL)}")
    parser.add_argument("--move-m", type=float, default=150.0, help="how far a layout variation moves a facility")
    parser.add_argument("--workers", type=int, default=2, help="processes (each with one numba thread)")
    parser.add_argument("--json", type=Path, help="write the runs and the tables here")
    args = parser.parse_args(argv)
    specs = variation_specs(args.place, args.variations, args.move_m)
    jobs = [(name, spec, seed, args.days) for name, spec in specs.items() for seed in range(1, args.seeds + 1)]
    t0 = time.perf_counter()
    rows = []
    with concurrent.futures.ProcessPoolExecutor(args.workers, initializer=_worker_init) as pool:
        for i, row in enumerate(pool.map(run_one, jobs), 1):
            rows.append(row)
            print(f"  {i}/{len(jobs)} runs, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    result = tables(rows, list(specs))
    print_tables(result)
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "tables": result}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
