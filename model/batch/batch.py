"""A whole batch: check the experiment, run what is missing, write the tables and charts.

batch.json records every invocation of the batch in its folder: ``history.jsonl`` gets a line
when an invocation starts and one when it ends, so that an invocation killed before its end
(``kill -9``) is in the history of the one that resumes it, with no end.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from model.batch import replicates, runner, tables
from model.batch.design import RunSpec, build_runs, code_digest
from model.batch.experiment import Experiment
from model.scenario import Problem, ScenarioError

OUTPUTS = (
    "runs.csv",
    "results.csv",
    "summary.csv",
    "sensitivity.csv",
    "batch.json",
    "experiment.toml",
    "convergence.csv",
    "replicates.csv",
    "runs.parquet",
    "results.parquet",
    "summary.parquet",
    "history.jsonl",
)
HISTORY = "history.jsonl"


def check_metrics(experiment: Experiment) -> None:
    """Every listed metric must be a scalar of the summary of every scenario (checked before any run)."""
    from model.model import LifeCircleModel
    from model.scenario import load_scenario

    problems = []
    for scenario_file in experiment.scenarios:
        model = LifeCircleModel(load_scenario(scenario_file), days=1, engine="fast")
        known = [k for k in model.summary_keys if k not in runner.IDENTITY]
        for i, metric in enumerate(experiment.metrics):
            if metric not in known:
                import difflib

                close = difflib.get_close_matches(metric, known, n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                problems.append(
                    Problem(
                        experiment.path.name,
                        f"metrics[{i}]",
                        f"{metric!r} is not a figure of {model.spec.name}{hint}",
                    )
                )
    if problems:
        raise ScenarioError(problems)


def parameter_names(experiment: Experiment) -> list[str]:
    """The parameters' dotted keys in the file's order (grid, then cases; or the sensitivity's)."""
    if experiment.sensitivity is not None:
        return list(experiment.sensitivity.parameters)
    return list(dict.fromkeys([*experiment.grid, *(k for case in experiment.cases for k in case)]))


def earlier_batch(out: Path) -> bool:
    """Whether ``out`` holds records or tables of a batch."""
    return runner.holds_outputs(out, OUTPUTS)


def clear(out: Path) -> None:
    """Remove an earlier batch's records, tables and charts from ``out`` (nothing else)."""
    runner.clear_outputs(out, OUTPUTS)


def run_batch(
    experiment: Experiment,
    out: Path,
    workers: int = 1,
    scheduler: str | None = None,
    run: Callable[[RunSpec], dict] | None = None,
    quiet: bool = False,
    command: list[str] | None = None,
) -> dict:
    """Run the experiment's missing runs and write every table and chart into ``out``.

    Args:
        experiment: The checked experiment.
        out: The output folder.
        workers: Local worker processes.
        scheduler: A Dask scheduler's address, or None.
        run: The function that runs one spec (None: the model's).
        quiet: No progress output.
        command: The command line as run (recorded in batch.json), or None.

    Returns:
        Counts: ``{"runs": n, "done": n, "failed": n}``.
    """
    started = time.perf_counter()
    this = _invocation(command, workers, scheduler)
    runs, points, design, members = build_runs(experiment)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(experiment.path, out / "experiment.toml")
    _note(out, {"event": "start", **this})
    before = runner.read_records(out / "runs")
    announce(experiment, runs, out / "runs", workers=workers, scheduler=scheduler, run=run, quiet=quiet)
    done = replicates.execute_rounds(
        experiment, runs, points, members, out / "runs", workers=workers, scheduler=scheduler, run=run, quiet=quiet
    )
    runs, members, records = done.runs, done.members, done.records
    parameters = parameter_names(experiment)
    runs_frame = tables.runs_table(runs, records, parameters, rounds=done.rounds)
    results = tables.results_table(runs, records, parameters, tables.stored(experiment.metrics, experiment.store))
    summary = tables.summary_table(results, parameters)
    for name, frame in (("runs", runs_frame), ("results", results), ("summary", summary)):
        _write_csv(frame, out / f"{name}.csv")
        _write_parquet(tables.arrow_table(frame, experiment.kinds), out / f"{name}.parquet")
    metrics = list(experiment.metrics) or list(dict.fromkeys(results["metric"]))
    sensitivity = None
    if experiment.sensitivity is not None:
        sensitivity = sensitivity_table(experiment.sensitivity, runs, points, design, members, results, metrics)
        _write_csv(sensitivity, out / "sensitivity.csv")
    _plots(experiment, out, summary, sensitivity, parameters)
    if experiment.adaptive is not None:
        _write_csv(replicates.replicates_table(experiment, done, parameters), out / "replicates.csv")
        replicates.plot(experiment, out / "plots", done, parameters)
    counts = {
        "runs": len(runs),
        "done": int((runs_frame["status"] == "done").sum()),
        "failed": int((runs_frame["status"] != "done").sum()),
    }
    this.update(
        end=_now(),
        wall_s=time.perf_counter() - started,
        ran=sum(1 for run_id, record in records.items() if before.get(run_id) != record),
        done=counts["done"],
        failed=counts["failed"],
    )
    _note(out, {"event": "end", **this})
    _write_json(out / "batch.json", experiment, counts, this, _history(out))
    return counts


def check_convergence(
    experiment: Experiment,
    out: Path,
    workers: int = 1,
    scheduler: str | None = None,
    run: Callable[[RunSpec], dict] | None = None,
    quiet: bool = False,
    command: list[str] | None = None,
) -> dict:
    """The batch at N, then the same design at 2N, and how much every index moved (convergence.csv).

    The design at 2N (Morris: twice the trajectories; Sobol': twice the base samples; the same
    seed) begins with the design at N, so the runs already recorded stand for their points (same
    run ids) and only the new points run. Its records go into the same ``runs/`` folder; the
    other tables stay those of the experiment as written (N). Prints the largest change of each index.

    Returns:
        Counts over the runs of both designs: ``{"runs": n, "done": n, "failed": n}``.
    """
    import dataclasses

    from model.batch import sizes
    from model.batch.sensitivity import convergence

    run_batch(experiment, out, workers=workers, scheduler=scheduler, run=run, quiet=quiet, command=command)
    s = experiment.sensitivity
    doubled = dataclasses.replace(
        experiment, sensitivity=dataclasses.replace(s, **{sizes.size_key(s.method): 2 * sizes.size(s)})
    )
    folder = out / "runs"
    tables_at, every = {}, set()
    for label, design_of in (("N", experiment), ("2N", doubled)):
        runs, points, design, members = build_runs(design_of)
        if label == "2N":
            announce(design_of, runs, folder, workers=workers, scheduler=scheduler, run=run, quiet=quiet)
        # at N every run is recorded (the batch above): its rounds replay from the records
        done = replicates.execute_rounds(
            design_of, runs, points, members, folder, workers=workers, scheduler=scheduler, run=run, quiet=quiet
        )
        every |= {spec.run_id for spec in done.runs}
        keep = tables.stored(experiment.metrics, experiment.store)
        results = tables.results_table(done.runs, done.records, parameter_names(design_of), keep)
        metrics = list(experiment.metrics) or list(dict.fromkeys(results["metric"]))
        tables_at[label] = sensitivity_table(
            design_of.sensitivity, done.runs, points, design, done.members, results, metrics
        )
    records = runner.read_records(folder)
    changes = convergence(tables_at["N"], tables_at["2N"], s.method)
    _write_csv(changes, out / "convergence.csv")
    n = sizes.size(s)
    print(f"{experiment.name}: indices at N = {n:,} and 2N = {2 * n:,} ({sizes.size_key(s.method)}):")
    for index, part in changes.groupby("index", sort=False):
        moved = part["change"].abs()
        if moved.notna().any():
            r = part.loc[moved.idxmax()]
            print(
                f"  largest change of {index}: {r['change']:+.4g} ({r['value_N']:.4g} -> {r['value_2N']:.4g}; "
                f"{r['parameter']}, {r['metric']}, {r['scenario']})"
            )
        else:
            print(f"  {index}: undefined (no run gave a value)")
    finished = sum(records.get(i, {}).get("status") == "done" for i in every)
    return {"runs": len(every), "done": finished, "failed": len(every) - finished}


def sensitivity_table(sensitivity, runs, points, design, members, results, metrics: list[str]):
    """sensitivity.csv: per scenario, the indices of every metric, the design's size, seed noise and flags.

    Columns: ``parameter``, ``metric``, the method's indices, ``scenario``, then ``method``,
    ``N``, ``seeds_per_point``, ``design_points``, ``seed_variance_share``,
    ``seed_noise_in_means`` and ``flag`` (model/batch/sensitivity.py, docs/experiments.md).
    """
    from model.batch.sensitivity import design_table

    parts = []
    for scenario in dict.fromkeys(spec.scenario for spec in runs):
        ids = [members[(scenario, p)] for p in range(len(points))]
        mine = results[results["scenario"] == scenario]
        means = tables.point_means(mine, ids, metrics)
        values = mine[mine["metric"].isin(metrics)].set_index(["metric", "run_id"])["value"]
        distinct = list(dict.fromkeys(tuple(i) for i in ids))  # a point repeated in the design counts once
        per_point = {}
        for metric in metrics:
            of = values.loc[metric] if metric in values.index.get_level_values(0) else tables.pd.Series(dtype=float)
            per_point[metric] = [of.reindex(list(i)).to_numpy(dtype=float) for i in distinct]
        seeds = min(len(i) for i in ids)
        table = design_table(sensitivity, design, means, per_point, seeds)
        at = table.columns.get_loc("method")
        table.insert(at, "scenario", scenario)  # where it always was: after the indices
        parts.append(table)
    return tables.pd.concat(parts, ignore_index=True)


def announce(
    experiment: Experiment,
    runs: list[RunSpec],
    folder: Path,
    workers: int = 1,
    scheduler: str | None = None,
    run: Callable[[RunSpec], dict] | None = None,
    quiet: bool = False,
) -> None:
    """Before the bulk of the runs: a design below the minimum size, the number of runs and the time they take.

    A sensitivity design that ``allow_small`` let through is named on stderr even with ``quiet``.
    Unless ``quiet``, the first missing run is run here (it is a run of the batch: its record is
    kept and the batch does not run it again), timed, and the wall time of the rest estimated as
    runs left x that time / workers, said to be an estimate from one run. On stderr, beside the
    progress.
    """
    from model.batch import sizes

    s = experiment.sensitivity
    if s is not None and s.allow_small:
        why = sizes.why_small(s.method, sizes.size(s), len(s.parameters))
        if why:
            print(
                f"lifecircle batch: warning: sensitivity.{sizes.size_key(s.method)}: {why} (allow_small = true)",
                file=sys.stderr,
                flush=True,
            )
    if quiet:
        return
    recorded = runner.read_records(folder)
    todo = [spec for spec in runs if recorded.get(spec.run_id, {}).get("status") != "done"]
    head = f"{experiment.name}: {len(runs):,} runs"
    if experiment.adaptive is not None:
        head += " in the first round (later rounds add seeds where the intervals are too wide)"
    if len(todo) < len(runs):
        head += f", {len(runs) - len(todo):,} already recorded"
    if not todo:
        print(f"{head}: nothing left to run", file=sys.stderr, flush=True)
        return
    print(f"{head}; timing the first of the {len(todo):,} to run ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    first = runner.execute([todo[0]], folder, workers=1, run=run, quiet=True)[todo[0].run_id]
    seconds = time.perf_counter() - t0
    progress = runner.Progress(len(runs), len(runs) - len(todo))  # its line, numbered among the batch's
    progress.update(first, todo[0])
    progress.close()
    rest = len(todo) - 1
    state = "" if first.get("status") == "done" else " (it failed: see runs.csv)"
    if scheduler:
        where = f"on the Dask cluster: {_duration(rest * seconds)} of run time, divided among its workers"
    else:
        where = f"on {workers:,} worker(s): about {_duration(rest * seconds / max(1, workers))}"
    print(
        f"{experiment.name}: the first run took {seconds:.1f} s{state}; the other {rest:,} {where} "
        "(an estimate from one run)",
        file=sys.stderr,
        flush=True,
    )


def _duration(seconds: float) -> str:
    """A wall time for a person: seconds, minutes or hours."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _write_csv(frame, path: Path) -> None:
    """A table, atomically; floats at full precision."""
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_csv(tmp, index=False, lineterminator="\n")
    tmp.replace(path)


def _write_parquet(table, path: Path) -> None:
    """A typed table as Parquet, atomically."""
    import pyarrow.parquet as pq

    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _invocation(command: list[str] | None, workers: int, scheduler: str | None) -> dict:
    """What starts an invocation: its start, command line and folder, workers or scheduler."""
    return {
        "start": _now(),
        "command": command,
        "cwd": os.getcwd(),
        "workers": None if scheduler else workers,
        "scheduler": scheduler,
    }


def _note(out: Path, line: dict) -> None:
    """One line of history.jsonl, appended and flushed to disk (it must outlive a kill -9)."""
    with open(out / HISTORY, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _history(out: Path) -> list[dict]:
    """Every invocation of the batch in ``out``, oldest first: start, end (None if it never ended), runs run.

    An end line belongs to the last start before it. A batch.json of a version without
    history.jsonl gives its one invocation (its end and counts) first.
    """
    history: list[dict] = []
    try:
        earlier = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        earlier = {}
    if isinstance(earlier, dict) and earlier and "history" not in earlier:
        counts = earlier.get("counts", {})
        history.append(
            {
                "start": None,
                "end": earlier.get("finished"),
                "ran": None,
                "done": counts.get("done"),
                "failed": counts.get("failed"),
            }
        )
    for text in (out / HISTORY).read_text(encoding="utf-8").splitlines():
        try:
            line = json.loads(text)
        except json.JSONDecodeError:  # a line cut short by a kill
            continue
        event = line.pop("event", None)
        if event == "start":
            history.append({**line, "end": None, "wall_s": None, "ran": None, "done": None, "failed": None})
        elif event == "end" and history:
            history[-1].update(line)
    return history


def _write_json(path: Path, experiment: Experiment, counts: dict, this: dict, history: list[dict]) -> None:
    from model.report.results import code_version, dependency_versions

    record = {
        "experiment": experiment.name,
        "experiment_file": str(experiment.path),
        "counts": counts,
        "code_sha256": code_digest(),
        "version": code_version(),
        "versions": dependency_versions(),
        "finished": this["end"],
        "machine": {"platform": platform.platform(), "processor": platform.machine()},
        "command": this["command"],
        "cwd": this["cwd"],
        "start": this["start"],
        "end": this["end"],
        "wall_s": this["wall_s"],
        "workers": this["workers"],
        "scheduler": this["scheduler"],
        "store": experiment.store,
        "history": history,
    }
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def _plots(experiment: Experiment, out: Path, summary, sensitivity, parameters: list[str]) -> None:
    """The charts of the listed metrics (none are drawn for every metric of an unlisted batch)."""
    if not experiment.metrics:
        return
    from model.report.drawing import batch as charts

    folder = out / "plots"
    folder.mkdir(exist_ok=True)
    if sensitivity is not None:
        draw = charts.plot_morris if experiment.sensitivity.method == "morris" else charts.plot_sobol
        for scenario, part in sensitivity.groupby("scenario", sort=False):
            for metric in experiment.metrics:
                draw(folder / f"{experiment.sensitivity.method}_{scenario}_{metric}.png", part, metric)
        return
    # a number or true/false on the x axis (a time or a table has no axis: its lines are told apart)
    numeric = [p for p in parameters if experiment.kinds.get(p) in ("int", "float", "bool")]
    swept = [p for p in numeric if summary[p].nunique(dropna=True) > 1]
    for metric in experiment.metrics:
        for parameter in swept:
            charts.plot_sweep(folder / f"{metric}_vs_{parameter}.png", summary, metric, parameter, parameters)
