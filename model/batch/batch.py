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
    return (out / "runs").is_dir() and any((out / "runs").glob("*.json")) or any((out / n).exists() for n in OUTPUTS)


def clear(out: Path) -> None:
    """Remove an earlier batch's records, tables and charts from ``out`` (nothing else)."""
    shutil.rmtree(out / "runs", ignore_errors=True)
    shutil.rmtree(out / "plots", ignore_errors=True)
    for name in OUTPUTS:
        (out / name).unlink(missing_ok=True)


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
        from model.batch.sensitivity import analyze

        parts = []
        for scenario in dict.fromkeys(spec.scenario for spec in runs):
            ids = [members[(scenario, p)] for p in range(len(points))]
            means = tables.point_means(results[results["scenario"] == scenario], ids, metrics)
            parts.append(analyze(experiment.sensitivity, design, means).assign(scenario=scenario))
        sensitivity = tables.pd.concat(parts, ignore_index=True)
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
