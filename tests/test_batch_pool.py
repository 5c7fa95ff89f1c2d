"""The batch's workers: their share of the cores, released Dask results, no orphans (issue 21 item 3).

- numba's threads in a run: the machine's cores over the runs it executes at once, in the local
  pool (2 workers) and on a Dask cluster (2 workers x 1 thread), computed here from the CPU
  affinity;
- on Dask, a run whose record is written is forgotten by the scheduler; a worker killed later
  (holding such results) makes no recorded run execute twice (each execution appends a line to
  a log file);
- ``lifecircle batch --workers 2`` killed by SIGKILL leaves none of its child processes (the
  pool's workers, multiprocessing's resource tracker) alive after 10 s; SIGTERM and Ctrl-C
  (SIGINT to the whole process group, as a terminal sends it) end it with "interrupted", status
  130, no traceback, and no child left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from model.batch import runner
from model.batch.design import RunSpec
from tests.conftest import write_small

LOG = "LIFECIRCLE_TEST_RUN_LOG"  # set before a cluster's workers start: they inherit it
_FINISHED_HERE = 0  # runs finished by this process (a worker's count)


def specs(n: int) -> list[RunSpec]:
    """``n`` runs of nothing (the run functions below do not read a scenario)."""
    return [
        RunSpec(f"{i:016x}", i, "none", "", 0, {}, seed=i, days=1, engine="fast", experiment_file="")
        for i in range(1, n + 1)
    ]


def numba_threads(spec: RunSpec) -> dict:
    """A run that records how many threads numba's parallel kernels would use in it."""
    import numba

    threads = numba.get_num_threads()
    return {"run_id": spec.run_id, "status": "done", "error": "", "metrics": {"threads": threads}, "wall_s": 0.0}


def logged_run(spec: RunSpec) -> dict:
    """A short run that appends ``<run id> <pid>`` to the log file once it has finished.

    The first run that a worker starts after finishing two stalls instead (writing its pid to
    ``<log>.stall``, once in the whole cluster), so that the test can kill that worker while it
    holds finished runs.
    """
    global _FINISHED_HERE
    log = Path(os.environ[LOG])
    if _FINISHED_HERE >= 2:
        try:
            with open(log.with_suffix(".stall"), "x", encoding="utf-8") as fh:
                fh.write(str(os.getpid()))
        except FileExistsError:
            pass
        else:
            time.sleep(120)  # killed in this sleep
    time.sleep(0.05)
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"{spec.run_id} {os.getpid()}\n")
    _FINISHED_HERE += 1
    return {"run_id": spec.run_id, "status": "done", "error": "", "metrics": {"seed": spec.seed}, "wall_s": 0.0}


def share() -> int:
    """The numba threads a run should get with 2 runs at once on this machine: its cores (affinity) over 2."""
    return max(1, len(os.sched_getaffinity(0)) // 2)


def wait_for(condition, timeout_s: float, what: str) -> None:
    """Poll ``condition`` every 20 ms until it holds; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout_s} s for {what}"
        time.sleep(0.02)


def cluster(**kwargs):
    """A LocalCluster of worker processes, every socket on 127.0.0.1, no dashboard."""
    from distributed import LocalCluster

    kwargs = {"n_workers": 2, "threads_per_worker": 1, **kwargs}
    return LocalCluster(processes=True, host="127.0.0.1", dashboard_address=None, **kwargs)


# ---------------------------------------------------------------------------------------------
# 1. numba threads: each run's share of the cores


def test_pool_workers_use_their_share_of_the_cores(tmp_path):
    records = runner.execute(specs(4), tmp_path / "runs", workers=2, run=numba_threads, quiet=True)
    assert {r["metrics"]["threads"] for r in records.values()} == {share()}


@pytest.fixture(scope="module")
def dask_local(tmp_path_factory):
    """One cluster for the module's two Dask tests (started, and its workers' imports paid, once): the
    cluster and the run log ``logged_run`` writes, named in the workers' environment before they start."""
    log = tmp_path_factory.mktemp("dask") / "executions.log"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(LOG, str(log))
        with cluster() as local:
            yield local, log


def test_dask_runs_use_their_share_of_the_cores(tmp_path, dask_local):
    """Dask runs tasks on threads of its own, which start from all the cores: the share is set in each task."""
    local, _ = dask_local
    records = runner.execute(
        specs(4), tmp_path / "runs", scheduler=local.scheduler_address, run=numba_threads, quiet=True
    )
    # the tasks are named after the run function, as they were before they were wrapped
    assert local.scheduler.task_prefixes["numba_threads"].state_counts["memory"] == 4
    assert {r["metrics"]["threads"] for r in records.values()} == {share()}


# ---------------------------------------------------------------------------------------------
# 2. Dask: a lost worker does not run again what is recorded


def test_a_lost_dask_worker_runs_no_recorded_run_again(tmp_path, dask_local):
    """On the module's cluster: its workers have run only numba_threads, which neither logs nor counts."""
    local, log = dask_local
    assert not log.exists()
    folder = tmp_path / "runs"
    runs = specs(12)
    outcome: dict = {}

    def batch():
        try:
            outcome["records"] = runner.execute(
                runs, folder, scheduler=local.scheduler_address, run=logged_run, quiet=True
            )
        except BaseException as exc:  # reported by the test's thread below
            outcome["error"] = exc

    thread = threading.Thread(target=batch)
    thread.start()
    try:
        stall = log.with_suffix(".stall")
        wait_for(stall.exists, 60, "a worker to stall after two runs")
        wait_for(lambda: stall.read_text(encoding="utf-8") != "", 5, "the stalled worker's pid")
        pid = int(stall.read_text(encoding="utf-8"))
        lines = [line.split() for line in log.read_text(encoding="utf-8").splitlines()]
        held = [run_id for run_id, by in lines if int(by) == pid]
        assert len(held) >= 2  # the worker to be lost holds finished runs

        def recorded_and_forgotten() -> bool:
            known = " ".join(str(key) for key in local.scheduler.tasks)
            return all((folder / f"{r}.json").exists() and r not in known for r in held)

        wait_for(recorded_and_forgotten, 20, f"runs {held} to be recorded and released by the scheduler")
        os.kill(pid, signal.SIGKILL)
        thread.join(timeout=120)
    finally:
        thread.join(timeout=120)
    assert "error" not in outcome, outcome.get("error")
    records = outcome["records"]
    assert sorted(records) == sorted(spec.run_id for spec in runs)
    assert {r["status"] for r in records.values()} == {"done"}
    executions = [line.split()[0] for line in log.read_text(encoding="utf-8").splitlines()]
    twice = sorted({r for r in executions if executions.count(r) > 1})
    assert twice == [], f"runs executed twice: {twice}"
    assert sorted(executions) == sorted(records)


# ---------------------------------------------------------------------------------------------
# 3. no orphans: the pool's workers end with the batch's process

# 40 runs of 20 days each: the batch is still running when it is killed
LONG = """
name = "long"
scenarios = ["small.toml"]
replicates = 40
days = 20
"""


@pytest.fixture(scope="module")
def long_batch(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("long")
    write_small(folder, residents=60)
    path = folder / "long.toml"
    path.write_text(LONG, encoding="utf-8")
    return path


def alive(pids: list[int]) -> list[int]:
    """Those of ``pids`` still running (a zombie, dead and not yet reaped, is not running)."""
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def pool_workers(batch: psutil.Process) -> list[psutil.Process]:
    """The batch's pool workers (spawned processes), those that still exist."""
    out = []
    for p in batch.children():
        try:
            if "spawn_main" in " ".join(p.cmdline()):
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def start_and_signal(experiment: Path, out: Path, how: str) -> tuple[subprocess.Popen, list[int], str]:
    """Start ``lifecircle batch --workers 2``, wait for its workers and a first record, signal it.

    Returns the process (ended), its children at the moment of the signal and its stderr.
    """
    err = out.parent / f"{out.name}.err"
    with open(err, "w", encoding="utf-8") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "model.cli", "batch", str(experiment), "--workers", "2", "--out", str(out)],
            cwd=experiment.parent,
            stdout=subprocess.DEVNULL,
            stderr=fh,
            start_new_session=True,  # a process group of its own, as a command started on a terminal
        )
    try:
        batch = psutil.Process(proc.pid)
        # the first run is run alone and timed before the pool starts (docs/experiments.md, "Before
        # the runs"): wait for a record and for both of the pool's workers
        wait_for(
            lambda: (
                proc.poll() is not None
                or (len(list((out / "runs").glob("*.json"))) >= 1 and len(pool_workers(batch)) >= 2)
            ),
            120,
            "a record and 2 workers",
        )
        assert proc.poll() is None, "the batch ended before it could be stopped"
        children = [p.pid for p in batch.children(recursive=True)]
        workers = pool_workers(batch)
        assert len(workers) >= 2, [p.cmdline() for p in batch.children()]
        if how == "SIGINT":  # Ctrl-C on a terminal: the whole foreground process group
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, getattr(signal, how))
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc, children, err.read_text(encoding="utf-8")


def test_sigkill_leaves_no_worker_alive(long_batch):
    proc, children, _ = start_and_signal(long_batch, long_batch.parent / "killed", "SIGKILL")
    assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while alive(children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive(children) == [], [psutil.Process(p).cmdline() for p in alive(children)]


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT"])
def test_sigterm_and_ctrl_c_end_the_batch_and_its_workers(long_batch, how):
    proc, children, stderr = start_and_signal(long_batch, long_batch.parent / how, how)
    assert proc.returncode == 130, stderr
    assert stderr.rstrip().endswith("lifecircle: interrupted"), stderr
    assert "Traceback" not in stderr
    deadline = time.monotonic() + 10
    while alive(children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive(children) == []
