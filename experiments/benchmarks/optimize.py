"""Benchmark: ``lifecircle optimize`` on the issue's instances, with the solver's own time and the gap.

    python -m experiments.benchmarks.optimize [--cases life_circle city] [--objectives coverage pmedian]

Cases: elderly care on wuhai_life_circle with K = 5 and on wuhai_city with K = 20, every walkable
cell a candidate, the type's own level (5 minutes) as the standard. Each command is timed from
outside (wall clock, including Python's start, building the city and writing NEW.toml); the
solve time, the solver and the bound are read from what the command prints. Peak memory is the
largest resident set of the command's process tree (``resource.getrusage`` of the children).
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from experiments.benchmarks.harness import machine

CASES = {"life_circle": ("wuhai_life_circle", 5), "city": ("wuhai_city", 20)}


def _number(pattern: str, text: str) -> float | None:
    found = re.search(pattern, text)
    return float(found.group(1).replace(",", "")) if found else None


def main(argv: list[str] | None = None) -> int:
    """Time every case and objective; print the table."""
    parser = argparse.ArgumentParser(
        prog="python -m experiments.benchmarks.optimize", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--objectives", nargs="+", choices=["coverage", "pmedian", "capacitated"], default=["coverage"])
    args = parser.parse_args(argv)
    print(f"machine: {machine()}\n")
    print("| scenario | K | objective | solver | solve s | command s | covered / minutes before | after | bound |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="lifecircle-bench-") as tmp:
        for case in args.cases:
            scenario, k = CASES[case]
            for objective in args.objectives:
                out = Path(tmp) / f"{case}_{objective}.toml"
                cmd = [sys.executable, "-m", "model.cli", "optimize", scenario, "--type", "elderly_care"]
                cmd += ["--add", str(k), "--objective", objective, "--out", str(out)]
                t0 = time.perf_counter()
                done = subprocess.run(cmd, capture_output=True, text=True, check=True)
                wall = time.perf_counter() - t0
                text = done.stdout
                solver = re.search(r"standard [\d.]+ min, (.+)$", text, re.M)
                before = _number(r"(?:covered before|weighted minutes before):\s+([\d,.]+)", text)
                after = _number(r"(?:covered after|after):\s+([\d,.]+)", text.split("before", 1)[-1])
                bound = _number(r"bound on the optimum:\s+([\d,.]+)", text)
                solve = _number(r"solved in ([\d.]+) s", text)
                print(
                    f"| {scenario} | {k} | {objective} | {solver.group(1) if solver else '?'} | {solve} | {wall:.1f} "
                    f"| {before:,.1f} | {after:,.1f} | {'-' if bound is None else f'{bound:,.1f}'} |",
                    flush=True,
                )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"\npeak memory of one command: {peak:,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
