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
POOL_RESTARTS = 2  # a local worker that dies takes the pool with it: start a new pool this often


def run_one(spec: RunSpec) -> dict:
    """Run one design point with one seed; return its record (never raises)."""
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
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")
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
            print(
                f"run {self.done}/{self.total} {spec.run_id} {spec.scenario} seed {spec.seed} "
                f"{spec.parameters}: {state} in {record['wall_s']:.1f} s",
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
    run: Callable[[RunSpec], dict] = run_one,
    quiet: bool = False,
) -> dict[str, dict]:
    """Run every run that has no record in ``folder`` yet; return every record by run id.

    Args:
        runs: The design's runs.
        folder: Where records are kept (``<out>/runs``).
        workers: Local worker processes (1: in this process).
        scheduler: Address of a Dask scheduler (``tcp://host:port``) to run on instead.
        run: The function that runs one spec (a module-level function: it is sent to workers).
        quiet: No progress output.
    """
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
                _finish(run(spec), spec, folder, records, progress)
        else:
            _on_pool(todo, folder, workers, run, records, progress)
    finally:
        progress.close()
    return records


def _finish(record: dict, spec: RunSpec, folder: Path, records: dict, progress: Progress) -> None:
    write_record(folder, record)
    records[spec.run_id] = record
    progress.update(record, spec)


def _on_pool(todo, folder, workers, run, records, progress) -> None:
    """A local process pool; a worker that dies breaks the pool, which is started again."""
    remaining = list(todo)
    for _ in range(POOL_RESTARTS + 1):
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(run, spec): spec for spec in remaining}
            broken = False
            for future in concurrent.futures.as_completed(futures):
                spec = futures[future]
                try:
                    record = future.result()
                except concurrent.futures.process.BrokenProcessPool:
                    broken = True
                    continue
                _finish(record, spec, folder, records, progress)
        remaining = [s for s in remaining if s.run_id not in records]
        if not broken or not remaining:
            return
    for spec in remaining:  # the pool broke every time these ran
        record = {
            "run_id": spec.run_id,
            "status": "failed",
            "error": "worker process died",
            "metrics": {},
            "wall_s": 0.0,
        }
        _finish(record, spec, folder, records, progress)


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
                record = {"run_id": spec.run_id, "status": "failed", "error": repr(exc), "metrics": {}, "wall_s": 0.0}
            _finish(record, spec, folder, records, progress)
