"""Running a batch: every run once, on a local process pool or a Dask cluster, resumable.

Each finished run is written at once as ``runs/<run_id>.json`` in the output folder (to a
temporary file, then renamed, so a record is whole or absent). A batch stopped by Ctrl-C or
kill -9 is resumed by running only the runs without a record. The tables are assembled from the
records in design order, so they do not depend on the number of workers or the order in which
runs finish.

A run that fails is recorded with its error and the others go on. In each worker process a
:class:`model.city.cache.CityCache` keeps the grid, walking fields and candidate table of the
places it has built, so runs that differ only in seed or behaviour parameters share them.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import multiprocessing
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from model.batch.design import RunSpec, code_digest
from model.city.cache import CityCache

IDENTITY = ("scenario", "seed", "residents", "engine", "days")  # columns of their own, not metrics
_CACHE = CityCache()  # one per worker process


def run_one(spec: RunSpec) -> dict:
    """Run one design point with one seed; return its record (never raises)."""
    from model.measures.static import twins
    from model.measures.summary import flatten
    from model.model import LifeCircleModel
    from model.report.results import provenance
    from model.scenario import load_scenario, scenario_toml

    t0 = time.perf_counter()
    record = {"run_id": spec.run_id, "status": "failed", "error": "", "metrics": {}}
    try:
        scenario = load_scenario(spec.scenario_file, overrides=spec.parameters, overrides_file=spec.experiment_file)
        model = LifeCircleModel(scenario, seed=spec.seed, days=spec.days, engine=spec.engine, city_cache=_CACHE)
        model.run()
        flat = flatten(model.summary())
        record["metrics"] = {
            k: v for k, v in flat.items() if k not in IDENTITY and (v is None or isinstance(v, (int, float)))
        }
        # agent - static for every figure with a static twin (docs/static.md), beside static.<path>
        record["metrics"].update({f"diff.{path}": diff for path, (_, _, diff) in twins(flat).items()})
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


def _share_cores(threads: int) -> None:
    """In a pool worker: numba's parallel kernels use this worker's share of the cores, not all of them."""
    import numba

    numba.set_num_threads(threads)


def _failed(spec: RunSpec, error: str) -> dict:
    return {"run_id": spec.run_id, "status": "failed", "error": error, "metrics": {}, "wall_s": 0.0}


def _pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """Worker processes started fresh ("spawn"), never forked.

    A forked child of a process whose numba kernels have run on GNU OpenMP threads dies at its
    first parallel kernel ("fork() called from a process already using GNU OpenMP"). Mesa 3.3
    set "spawn" for the whole program on import; Mesa 3.5 no longer does, so the pool asks for it.
    """
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")
    return concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=context, initializer=_share_cores, initargs=(threads,)
    )


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


def _on_dask(todo, folder, scheduler, run, records, progress) -> None:
    """A Dask cluster: a run whose worker dies is run again on another (Dask's own retries)."""
    from distributed import Client, as_completed

    with Client(scheduler) as client:
        futures = client.map(run, todo, pure=False, retries=2)
        by_key = {f.key: spec for f, spec in zip(futures, todo, strict=True)}
        for future in as_completed(futures):
            spec = by_key[future.key]
            try:
                record = future.result()
            except Exception as exc:  # the task itself was lost (e.g. its workers kept dying)
                record = _failed(spec, repr(exc))
            _finish(record, spec, folder, records, progress)
