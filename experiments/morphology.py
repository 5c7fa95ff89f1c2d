"""Walking detours and coverage on the open grid against gated compounds on streets.

    python -m experiments.morphology [--seeds 10] [--city-seeds 5] [--json PATH]

For the Wuhai life circle and for the whole of Wuhai, the same residents and facilities on:

* ``grid``: the bundled grid scenario (8-neighbour steps over 50 m cells);
* ``lattice``: ways every 100 m over the grid's walkable cells, no walls (the streets benchmark's
  lattice, ``experiments.benchmarks.streets.write_lattice``);
* ``gated``: the bundled ``*_gated`` twin (walled compounds with 1-4 gates, drawn);
* ``gated, 1 gate`` and ``gated, 4 gates``: the twin with every compound given 1 or 4 gates
  (``generate_gated.py --gates``), the assumption that drives the detour.

It prints, per variant, the median detour (walk / straight line to the same facility, homes under
1 m from it left out: ``experiments.benchmarks.streets.detours``, seed 1) and the coverage at each
type's own level (``access.<type>.within_level``) and ``life_circle_complete`` over seeds: mean
and Student's t 95% interval. Coverage is fixed before the day runs, so only the build is run.
What varies over seeds is who lives where and each resident's pace.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import stats

from experiments.benchmarks.streets import detours, write_lattice

ROOT = Path(__file__).resolve().parents[1]
TYPES = ("elderly_care", "kindergarten", "health_station", "primary_school", "market")
"""Types reported (their levels: 5, 5, 5, 10 and 10 minutes)."""


def _generator():
    import importlib.util

    path = ROOT / "scenarios" / "generators" / "generate_gated.py"
    spec = importlib.util.spec_from_file_location("generate_gated", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def variants(grid: str, folder: Path) -> dict[str, str]:
    """Scenario (bundled name or written file) of each variant of the grid scenario ``grid``."""
    gen = _generator()
    out = {"grid": grid}
    lattice_toml, _ = write_lattice(grid, folder / "lattice")
    out["lattice (100 m, no walls)"] = str(lattice_toml)
    out["gated (1-4 gates)"] = f"{grid}_gated"
    for gates in (1, 4):
        where = folder / f"gates{gates}"
        with contextlib.redirect_stdout(io.StringIO()):  # its "wrote ..." lines
            gen.main([grid, "--gates", str(gates), "--out", str(where)])
        out[f"gated, {gates} gate{'s' if gates > 1 else ''}"] = str(where / f"{grid}_gated.toml")
    return out


def coverage(scenario: str, seeds: list[int]) -> dict:
    """Mean and 95% interval over seeds of within_level per type and life_circle_complete."""
    from model.measures.summary import static_summary
    from model.model import LifeCircleModel
    from model.scenario import load_scenario

    spec = load_scenario(scenario)
    rows = []
    for seed in seeds:
        model = LifeCircleModel(spec, seed=seed, days=1, engine="fast")
        s = static_summary(model.context)
        rows.append([s["access"][t]["within_level"] for t in TYPES] + [s["life_circle_complete"]])
    a = np.asarray(rows, dtype=float)
    mean = a.mean(axis=0)
    half = stats.t.ppf(0.975, len(seeds) - 1) * a.std(axis=0, ddof=1) / np.sqrt(len(seeds))
    keys = [*TYPES, "life_circle_complete"]
    return {k: (float(m), float(m - h), float(m + h)) for k, m, h in zip(keys, mean, half)}


def main(argv: list[str]) -> int:
    """Run every variant of both places; print the tables (and write them as JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds of the life circle (1..N)")
    parser.add_argument("--city-seeds", type=int, default=5, help="seeds of the whole city (1..N)")
    parser.add_argument("--places", nargs="+", default=["wuhai_life_circle", "wuhai_city"])
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="lifecircle-morphology-") as tmp:
        for grid in args.places:
            n = args.seeds if grid == "wuhai_life_circle" else args.city_seeds
            seeds = list(range(1, n + 1))
            for label, scenario in variants(grid, Path(tmp) / grid).items():
                t0 = time.perf_counter()
                d = detours(scenario, 1, TYPES)["types"]
                cov = coverage(scenario, seeds)
                results[f"{grid}: {label}"] = {
                    "detour_median": {t: d[t]["detour_median"] for t in TYPES},
                    "detour_median_far": {t: d[t]["detour_median_far"] for t in TYPES},
                    "coverage": cov,
                    "seeds": n,
                }
                print(f"  {grid}: {label}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    print("| scenario | " + " | ".join(TYPES) + " |")
    print("|---|" + "---:|" * len(TYPES))
    for name, r in results.items():
        print(f"| {name} | " + " | ".join(f"{r['detour_median'][t]:.2f}" for t in TYPES) + " |")
    print()
    keys = [*TYPES, "life_circle_complete"]
    print("| scenario | " + " | ".join(keys) + " |")
    print("|---|" + "---:|" * len(keys))
    for name, r in results.items():
        cells = [f"{m:.3f} [{lo:.3f}, {hi:.3f}]" for m, lo, hi in (r["coverage"][k] for k in keys)]
        print(f"| {name} ({r['seeds']} seeds) | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
