"""Benchmark: one batch on the local pool against the same batch on a local Dask cluster.

    python -m experiments.benchmarks.dask_vs_pool [--scenario S] [--seeds 8] [--days 1] [--workers 2] [--repeat 3]

The same experiment (N seeds of a scenario, wuhai_life_circle by default, at its own values,
``--days`` days each) runs as a fresh ``lifecircle batch`` command timed from outside: with
``--workers W`` (the local pool), and with ``--scheduler`` on a Dask cluster started here on
this machine, all on 127.0.0.1: ``dask scheduler --host 127.0.0.1`` (dashboard on 127.0.0.1 too) and ``dask worker
--nworkers W --nthreads 1 --host 127.0.0.1``. The cluster is up and its W workers connected
before the clock starts, and stopped after. The numba kernels are compiled beforehand. Every
command is started in a session of its own: with Linux's autogroup scheduling each session gets
an equal share of a busy machine's cores, so a cluster in sessions of its own beside a pool in
the benchmark's session would get more than the pool.

Each is timed ``--repeat`` times, alternately, and the fastest kept (on a machine shared with
other work, the least disturbed). Prints a Markdown table: wall time of the batch, the mean time
of one run in a worker (the ``wall_s`` column of runs.csv) and the CPU seconds spent per run
(the batch's command, its pool or the Dask workers: threads that fight for cores spend more),
with Dask's figures relative to the pool's.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import psutil

from experiments.benchmarks.harness import machine


def _batch(cli: list[str], experiment: Path, out: Path, *how: str, cluster: int | None = None) -> tuple[float, ...]:
    """Wall seconds of the batch, the mean seconds of one run in its workers, and CPU seconds a run.

    The CPU time is that of the batch's command and its pool (children waited for), plus that of
    the Dask workers' command ``cluster`` and its processes during the batch.
    """
    cpu0, t0 = _children_cpu() + _tree_cpu(cluster), time.perf_counter()
    subprocess.run(
        [*cli, "batch", str(experiment), *how, "--quiet", "--out", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=out.parent,
        start_new_session=True,  # like the cluster's commands: a scheduling group of its own (Linux autogroup)
    )
    wall, cpu = time.perf_counter() - t0, _children_cpu() + _tree_cpu(cluster) - cpu0
    runs = pd.read_csv(out / "runs.csv")
    return wall, float(runs["wall_s"].mean()), cpu / len(runs)


def _children_cpu() -> float:
    """User and system CPU seconds of this process's ended children (and theirs, which they waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tree_cpu(pid: int | None) -> float:
    """User and system CPU seconds of a running process and its running descendants (0 for None)."""
    if pid is None:
        return 0.0
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _dask() -> list[str]:
    """The ``dask`` command of this interpreter's environment."""
    here = Path(sys.executable).parent / "dask"
    return [str(here)] if here.exists() else [shutil.which("dask") or "dask"]


def _stop(proc: subprocess.Popen) -> None:
    """End a process started here (and its own children: it leads a process group of its own)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _on_dask(cli: list[str], experiment: Path, out: Path, workers: int, folder: Path) -> tuple[float, float]:
    """The batch on a local cluster of ``workers`` single-threaded worker processes, all on 127.0.0.1."""
    from distributed import Client

    file = folder / "scheduler.json"
    logs = open(folder / "dask.log", "w")  # noqa: SIM115 (closed below, after the cluster)
    started = []
    try:
        started.append(
            subprocess.Popen(
                [*_dask(), "scheduler", "--host", "127.0.0.1", "--port", "0"]
                + ["--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(file)],
                stdout=logs,
                stderr=logs,
                start_new_session=True,
            )
        )
        while not file.exists():
            time.sleep(0.1)
        started.append(
            subprocess.Popen(
                [*_dask(), "worker", "--scheduler-file", str(file), "--nworkers", str(workers), "--nthreads", "1"]
                + ["--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0"],
                stdout=logs,
                stderr=logs,
                start_new_session=True,
            )
        )
        with Client(scheduler_file=str(file)) as client:
            client.wait_for_workers(workers, timeout=120)
            address = client.scheduler.address
        return _batch(cli, experiment, out, "--scheduler", address, cluster=started[-1].pid)
    finally:
        for proc in reversed(started):
            _stop(proc)
        logs.close()


def main(argv: list[str] | None = None) -> int:
    """Time the batch on the pool and on Dask; print the table."""
    parser = argparse.ArgumentParser(
        prog="python -m experiments.benchmarks.dask_vs_pool", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--scenario", default="wuhai_life_circle")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="times each, alternately (the fastest is kept)")
    args = parser.parse_args(argv)
    cli = [sys.executable, "-m", "model.cli"]
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    pool, dask = [], []
    with tempfile.TemporaryDirectory(prefix="lifecircle-dask-") as tmp:
        folder = Path(tmp)
        subprocess.run(
            [*cli, "run", "demo", "--quiet", "--out", "warm"], cwd=folder, check=True, stdout=subprocess.DEVNULL
        )  # numba's cache
        experiment = folder / "seeds.toml"
        experiment.write_text(
            f'name = "seeds"\nscenarios = ["{args.scenario}"]\nreplicates = {args.seeds}\ndays = {args.days}\n',
            encoding="utf-8",
        )
        for i in range(args.repeat):  # alternately, so that a busy spell of the machine weighs on both
            pool.append(_batch(cli, experiment, folder / f"pool{i}", "--workers", str(args.workers)))
            print(
                f"pool of {args.workers}: {pool[-1][0]:.1f} s, {pool[-1][1]:.2f} s a run", file=sys.stderr, flush=True
            )
            dask.append(_on_dask(cli, experiment, folder / f"dask{i}", args.workers, folder))
            print(f"Dask, {args.workers} workers: {dask[-1][0]:.1f} s, {dask[-1][1]:.2f} s a run", file=sys.stderr)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    print(
        f"\n{args.seeds} seeds of {args.scenario}, {args.days} day(s) each, {args.workers} worker processes, ", end=""
    )
    print(f"the fastest of {args.repeat} batches each (all: pool {_all(pool)} s, Dask {_all(dask)} s)\n")
    best_pool, best_dask = min(pool), min(dask)
    print("| where | batch wall s | one run s (mean) | CPU s a run | Dask / pool: wall, run, CPU |")
    print("|---|---:|---:|---:|---:|")
    print(f"| local pool, `--workers {args.workers}` | {_row(best_pool)} | 1.00, 1.00, 1.00 |")
    ratios = ", ".join(f"{d / p:.2f}" for d, p in zip(best_dask, best_pool, strict=True))
    print(f"| local Dask cluster, {args.workers} workers x 1 thread | {_row(best_dask)} | {ratios} |")
    return 0


def _line(times: tuple[float, ...]) -> str:
    return f"{times[0]:.1f} s, {times[1]:.2f} s a run, {times[2]:.2f} CPU s a run"


def _row(times: tuple[float, ...]) -> str:
    return f"{times[0]:.1f} | {times[1]:.2f} | {times[2]:.2f}"


def _all(times: list[tuple[float, ...]]) -> str:
    return ", ".join(f"{t[0]:.1f}" for t in times)


if __name__ == "__main__":
    sys.exit(main())
