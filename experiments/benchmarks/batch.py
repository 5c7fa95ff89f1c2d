"""Benchmark: N seeds of a scenario as one ``lifecircle batch`` against N separate ``lifecircle run``.

    python -m experiments.benchmarks.batch [--scenario wuhai_life_circle] [--seeds 20] [--workers 1 2]

The separate runs are N commands one after another, each a fresh process that builds the city,
simulates the day and writes its whole results folder (what a researcher without the batch tool
does). The batch runs the same N seeds from one experiment file: its workers build the city,
walking fields and candidate table once each and write one record per run (no maps). Both
measured from outside, wall clock, on this machine, in the same benchmark run; the numba kernels
are compiled beforehand. Prints a Markdown table with the speed-up.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from experiments.benchmarks.harness import machine


def _time(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    """Time the separate runs and the batches; print the table."""
    parser = argparse.ArgumentParser(prog="python -m experiments.benchmarks.batch", description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="wuhai_life_circle")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    cli = [sys.executable, "-m", "model.cli"]
    print(f"machine: {machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="lifecircle-bench-") as tmp:
        folder = Path(tmp)
        _time([*cli, "run", "demo", "--quiet", "--out", "warm"], folder)  # numba's cache, once
        separate = 0.0
        for seed in range(1, args.seeds + 1):
            separate += _time(
                [*cli, "run", args.scenario, "--seed", str(seed), "--quiet", "--out", f"run{seed}"], folder
            )
        print(f"{args.seeds} separate runs: {separate:.1f} s", file=sys.stderr, flush=True)
        experiment = folder / "seeds.toml"
        experiment.write_text(
            f'name = "seeds"\nscenarios = ["{args.scenario}"]\nreplicates = {args.seeds}\n', encoding="utf-8"
        )
        rows = [("separate `lifecircle run`", 1, separate)]
        for workers in args.workers:
            out = f"batch{workers}"
            wall = _time([*cli, "batch", str(experiment), "--workers", str(workers), "--quiet", "--out", out], folder)
            print(f"batch with {workers} worker(s): {wall:.1f} s", file=sys.stderr, flush=True)
            rows.append((f"one `lifecircle batch`, {workers} worker(s)", workers, wall))
    print(f"\n{args.seeds} seeds of {args.scenario}, one day each\n")
    print("| how | processes | wall s | per run s | speed-up |")
    print("|---|---:|---:|---:|---:|")
    for how, processes, wall in rows:
        print(f"| {how} | {processes} | {wall:.1f} | {wall / args.seeds:.2f} | {separate / wall:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
