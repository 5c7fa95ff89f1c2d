"""Running a batch: every run once, on a local process pool or a Dask cluster, resumable.

Each finished run is written at once as ``runs/<run_id>.json`` in the output folder (to a
temporary file, then renamed, so a record is whole or absent). A batch stopped by Ctrl-C or
kill -9 is resumed by running only the runs without a record. The tables are assembled from the
records in design order, so they do not depend on the number of workers or the order in which
runs finish.

A run that fails is recorded with its error and the others go on. In each worker process a
:class:`model.city.cache.CityCache` keeps the grid, walking fields and candidate table of the
places it has built, so runs that differ only in seed or behaviour parameters share them.

Workers share the machine's cores: each run's numba kernels use the cores of its machine divided
by the runs that machine runs at once (its worker processes x threads per worker), in the local
pool and on Dask alike; without it every run takes all the cores and they fight for them.

On Dask, a run's result is released as soon as its record is written, so that a worker lost
later holds nothing the scheduler would have to compute again. The local pool's workers die
with the batch's process, even when it is killed by SIGKILL (Linux's parent-death signal, and a
thread that watches the parent elsewhere); Ctrl-C or SIGTERM ends them at once and the command
exits without a traceback.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from model.batch.design import RunSpec, code_digest
from model.city.cache import CityCache

IDENTITY = ("scenario", "seed", "residents", "engine", "days")  # columns of their own, not metrics
_CACHE = CityCache()  # one per worker process
_PR_SET_PDEATHSIG = 1  # prctl option, linux/prctl.h
_WATCH_S = 0.5  # how often a pool worker without the parent-death signal looks for its parent (an assumption)


def run_one(spec: RunSpec) -> dict:
    """Run one design point with one seed; return its record (never raises)."""
    return run_recorded(spec, _CACHE, _add_static_differences)


def _add_static_differences(record: dict, model, flat: dict) -> None:
    """Agent - static for every figure with a static twin (docs/static.md), beside static.<path>."""
    from model.measures.static import twins

    record["metrics"].update({f"diff.{path}": diff for path, (_, _, diff) in twins(flat).items()})


def run_recorded(spec: RunSpec, cache: CityCache, add: Callable[[dict, object, dict], None]) -> dict:
    """Run one spec and return its record: status, error, every scalar of the summary, provenance, wall_s.

    ``add(record, model, flat)`` adds what the caller needs of the finished model (``flat``: the
    summary flattened to dotted keys) before the record is marked done. Never raises: an error
    inside the model fails the run, recorded with its error and traceback.
    """
    from model.measures.summary import flatten
    from model.model import LifeCircleModel
    from model.report.results import provenance
    from model.scenario import load_scenario, scenario_toml

    t0 = time.perf_counter()
    record = {"run_id": spec.run_id, "status": "failed", "error": "", "metrics": {}}
    try:
        scenario = load_scenario(spec.scenario_file, overrides=spec.parameters, overrides_file=spec.experiment_file)
        model = LifeCircleModel(scenario, seed=spec.seed, days=spec.days, engine=spec.engine, city_cache=cache)
        model.run()
        flat = flatten(model.summary())
        record["metrics"] = {
            k: v for k, v in flat.items() if k not in IDENTITY and (v is None or isinstance(v, (int, float)))
        }
        add(record, model, flat)
        record["status"] = "done"
        content = "\n".join(line for line in scenario_toml(scenario).splitlines() if not line.startswith("#"))
        files = provenance(scenario)
        record["provenance"] = {
            "scenario_sha256": hashlib.sha256(content.encode()).hexdigest(),
            "scenario_files_sha256": ";".join(f["sha256"] for f in files["scenario_files"]),
            "catalogue_sha256": files["catalogue"]["sha256"],
            "code_sha256": code_digest(),
        }
    except Exception as exc:  # a failed run is a result: recorded, and the batch goes on
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["traceback"] = traceback.format_exc(limit=6)
    record["wall_s"] = time.perf_counter() - t0
    return record


def holds_outputs(out: Path, names) -> bool:
    """Whether ``out`` holds run records (``runs/``) or any of the files ``names``."""
    return (out / "runs").is_dir() and any((out / "runs").glob("*.json")) or any((out / n).exists() for n in names)


def clear_outputs(out: Path, names) -> None:
    """Remove the run records, the charts (``plots/``) and the files ``names`` from ``out`` (nothing else)."""
    shutil.rmtree(out / "runs", ignore_errors=True)
    shutil.rmtree(out / "plots", ignore_errors=True)
    for name in names:
        (out / name).unlink(missing_ok=True)


def write_record(folder: Path, record: dict) -> None:
    """``runs/<run_id>.json``, atomically (temporary file, then rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{record['run_id']}.json"
    tmp = folder / f".{record['run_id']}.json.tmp"
    # keys in the order of the record (the summary's order): tables built from records read back
    # from disk are then the same as those built from records just made
    tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    os.replace(tmp, final)


def read_records(folder: Path) -> dict[str, dict]:
    """Every whole record in ``runs/`` by run id (temporary files of interrupted writes are ignored)."""
    out = {}
    if folder.is_dir():
        for path in folder.glob("*.json"):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue
            out[record.get("run_id", path.stem)] = record
    return out


class Progress:
    """Done, failed and time left: a bar on a terminal, a line per run otherwise."""

    def __init__(self, total: int, already: int, quiet: bool = False):
        """Start counting; ``already`` runs were done before (a resumed batch)."""
        self.total, self.done, self.failed = total, already, 0
        self.quiet = quiet
        self.bar = None
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=already, unit="run", file=sys.stderr, desc="batch")

    def update(self, record: dict, spec: RunSpec) -> None:
        """One run finished."""
        self.done += 1
        self.failed += record["status"] != "done"
        if self.bar is not None:
            self.bar.set_postfix(failed=self.failed)
            self.bar.update(1)
        elif not self.quiet:
            state = "done" if record["status"] == "done" else f"FAILED ({record['error']})"
            point = str(spec.parameters) if len(str(spec.parameters)) <= 80 else f"point {spec.point + 1}"
            print(
                f"run {self.done}/{self.total} {spec.run_id} {spec.scenario} seed {spec.seed} "
                f"{point}: {state} in {record['wall_s']:.1f} s",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        """Finish the bar."""
        if self.bar is not None:
            self.bar.close()


def execute(
    runs: list[RunSpec],
    folder: Path,
    workers: int = 1,
    scheduler: str | None = None,
    run: Callable[[RunSpec], dict] | None = None,
    quiet: bool = False,
) -> dict[str, dict]:
    """Run every run that has no record in ``folder`` yet; return every record by run id.

    Args:
        runs: The design's runs.
        folder: Where records are kept (``<out>/runs``).
        workers: Local worker processes (1: in this process).
        scheduler: Address of a Dask scheduler (``tcp://host:port``) to run on instead.
        run: The function that runs one spec (a module-level function: it is sent to workers);
            None: :func:`run_one`.
        quiet: No progress output.
    """
    run = run or run_one
    records = read_records(folder)
    todo = [r for r in runs if records.get(r.run_id, {}).get("status") != "done"]
    progress = Progress(len(runs), len(runs) - len(todo), quiet)
    try:
        if not todo:
            return records
        with _term_as_interrupt():
            if scheduler:
                _on_dask(todo, folder, scheduler, run, records, progress)
            elif workers <= 1:
                for spec in todo:
                    try:
                        record = run(spec)
                    except Exception as exc:  # a run function that raises fails its run, not the batch
                        record = _failed(spec, f"{type(exc).__name__}: {exc}")
                    _finish(record, spec, folder, records, progress)
            else:
                _on_pool(todo, folder, workers, run, records, progress)
    finally:
        progress.close()
    return records


def _finish(record: dict, spec: RunSpec, folder: Path, records: dict, progress: Progress) -> None:
    write_record(folder, record)
    records[spec.run_id] = record
    progress.update(record, spec)


@contextlib.contextmanager
def _term_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill PID``) stops the runs as Ctrl-C does: KeyboardInterrupt, so that workers are ended.

    Python's default for SIGTERM ends the process on the spot, skipping every ``finally``; the
    command would leave its pool behind until the workers noticed their parent's death. Only the
    main thread may handle signals: elsewhere (a caller's thread) SIGTERM keeps its handler.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it, else all)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _share_cores(threads: int) -> None:
    """Numba's parallel kernels, when called from this thread, use ``threads`` threads (its share of the cores).

    numba's thread count is a setting of the calling thread: a thread started later (Dask runs
    tasks on a thread pool of its own) starts again from all the cores.
    """
    import numba

    if numba.get_num_threads() != threads:
        numba.set_num_threads(threads)


def _start_worker(threads: int, parent: int) -> None:
    """A pool worker's initializer: its share of the cores, Ctrl-C left to the batch's process, death with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the batch's process ends its workers on Ctrl-C
    _die_with(parent)
    _share_cores(threads)


def _die_with(parent: int) -> None:
    """End this process (SIGKILL) as soon as its parent process ``parent`` ends, however it ends.

    On Linux the kernel sends the signal (``prctl(PR_SET_PDEATHSIG, SIGKILL)``: it comes when the
    thread that started this process ends, i.e. the thread that created the pool, which outlives
    its pool). Everywhere a daemon thread also checks every ``_WATCH_S`` seconds that the parent
    is still this process's parent (a process whose parent dies is given another one). A parent
    that died before either was set up is caught by the first check.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no C library to call: the watching thread alone
            pass
    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="watch-parent", daemon=True).start()


def _watch_parent(parent: int) -> None:
    """Poll the parent's pid; end this process without cleaning up when it is gone."""
    while os.getppid() == parent:
        time.sleep(_WATCH_S)
    os._exit(1)


def _failed(spec: RunSpec, error: str) -> dict:
    return {"run_id": spec.run_id, "status": "failed", "error": error, "metrics": {}, "wall_s": 0.0}


@contextlib.contextmanager
def _pool(workers: int) -> Iterator[concurrent.futures.ProcessPoolExecutor]:
    """Worker processes started fresh ("spawn"), never forked, that die with this process.

    A forked child of a process whose numba kernels have run on GNU OpenMP threads dies at its
    first parallel kernel ("fork() called from a process already using GNU OpenMP"). Mesa 3.3
    set "spawn" for the whole program on import; Mesa 3.5 no longer does, so the pool asks for it.

    On leaving normally the pool waits for its runs; on an exception (Ctrl-C, SIGTERM, an error
    of the batch itself) its workers are killed at once and the runs in flight abandoned (they
    have no record: a resumed batch runs them). The workers are started with SIGINT ignored
    (Python keeps an ignored SIGINT ignored), so that a Ctrl-C on the terminal, which reaches
    every process of the command, interrupts only this one, even while a worker is still
    importing.
    """
    threads = max(1, _cores() // workers)
    context = multiprocessing.get_context("spawn")
    pool = concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(threads, os.getpid())
    )
    try:
        with _sigint_ignored():
            for _ in range(workers):  # each submit starts a worker while none is idle: all start now
                pool.submit(int)
        yield pool
    except BaseException:
        _kill_workers(pool)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored in this process (main thread only) while the pool's workers are started: they inherit it.

    A Ctrl-C in these few milliseconds is lost; one after them interrupts the batch.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)


def _kill_workers(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """SIGKILL every worker of the pool and wait for them (Python 3.14's ``kill_workers``, or the same by hand)."""
    kill = getattr(pool, "kill_workers", None)
    if kill is not None:
        kill()
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(Exception):
            process.kill()
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(timeout=5)


def _on_pool(todo, folder, workers, run, records, progress) -> None:
    """A local process pool, fed a few runs at a time.

    A worker that dies (killed, out of memory) breaks the whole pool and every run in flight
    with it. Only ``2 x workers`` runs are in flight at once; those of a broken pool are run
    again one by one, each in a pool of its own, so that the run that kills its worker is the
    only one recorded as failed, and the rest go on in a new pool.
    """
    pending = list(reversed(todo))
    suspects: list[RunSpec] = []
    while pending or suspects:
        if suspects:
            spec = suspects.pop(0)
            with _pool(1) as alone:
                _collect(alone.submit(run, spec), spec, folder, records, progress, died="worker process died")
            continue
        with _pool(workers) as pool:
            in_flight: dict = {}
            broken = False
            while (pending or in_flight) and not broken:
                while pending and len(in_flight) < 2 * workers:
                    spec = pending.pop()
                    in_flight[pool.submit(run, spec)] = spec
                done, _ = concurrent.futures.wait(in_flight, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in done:
                    spec = in_flight.pop(future)
                    if not _collect(future, spec, folder, records, progress):
                        broken = True
                        suspects.append(spec)
            suspects.extend(in_flight.values())  # lost with the broken pool: retried alone


def _collect(future, spec, folder, records, progress, died: str | None = None) -> bool:
    """Record a finished future's run; False if its pool broke (and ``died`` is None)."""
    try:
        record = future.result()
    except concurrent.futures.process.BrokenProcessPool:
        if died is None:
            return False
        record = _failed(spec, died)
    except Exception as exc:  # a run function that raises fails its run, not the batch
        record = _failed(spec, f"{type(exc).__name__}: {exc}")
    _finish(record, spec, folder, records, progress)
    return True


@dataclass(frozen=True)
class _OnItsShare:
    """A run function that first limits numba to its run's share of its machine's cores (on a Dask worker).

    Attributes:
        run: The run function.
        runs_by_host: Host -> runs it executes at once (the threads of its workers), as the
            scheduler knew them when the batch started; a worker on a host that joined later
            counts its own threads only.
    """

    run: Callable[[RunSpec], dict]
    runs_by_host: dict[str, int]

    def __call__(self, spec: RunSpec) -> dict:
        """Set this thread's numba threads, then run the spec."""
        from distributed import get_worker
        from distributed.comm import get_address_host

        worker = get_worker()
        at_once = self.runs_by_host.get(get_address_host(worker.address), worker.state.nthreads)
        _share_cores(max(1, _cores() // max(1, at_once)))
        return self.run(spec)


def _runs_by_host(client) -> dict[str, int]:
    """Host -> the threads of the cluster's workers on it (the runs that host executes at once)."""
    from distributed.comm import get_address_host

    out: dict[str, int] = {}
    for address, threads in client.nthreads().items():
        host = get_address_host(address)
        out[host] = out.get(host, 0) + threads
    return out


def _on_dask(todo, folder, scheduler, run, records, progress) -> None:
    """A Dask cluster: a run whose worker dies is run again on another (Dask's own retries).

    Each finished run's future is released once its record is written: the scheduler forgets
    its result, and a worker lost later has nothing recorded to compute again. The keys are
    named after the run function (the dashboard's task name) and the run id.
    """
    from dask.utils import funcname
    from distributed import Client, as_completed

    with Client(scheduler) as client:
        task = _OnItsShare(run, _runs_by_host(client))
        name, batch = funcname(run), uuid.uuid4().hex
        keys = [f"{name}-{spec.run_id}-{batch}" for spec in todo]
        by_key = dict(zip(keys, todo, strict=True))
        finished = as_completed(client.map(task, todo, key=keys, pure=False, retries=2))
        # as_completed holds a future until it yields it; after that only this loop does
        for future in finished:
            spec = by_key.pop(future.key)
            try:
                record = future.result()
            except Exception as exc:  # the task itself was lost (e.g. its workers kept dying)
                record = _failed(spec, repr(exc))
            _finish(record, spec, folder, records, progress)
            future.release()
            del future
