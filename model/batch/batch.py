"""A whole batch: check the experiment, run what is missing, write the tables and charts."""

from __future__ import annotations

import json
import platform
import shutil
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
)


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
) -> dict:
    """Run the experiment's missing runs and write every table and chart into ``out``.

    Returns:
        Counts: ``{"runs": n, "done": n, "failed": n}``.
    """
    runs, points, design, members = build_runs(experiment)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(experiment.path, out / "experiment.toml")
    done = replicates.execute_rounds(
        experiment, runs, points, members, out / "runs", workers=workers, scheduler=scheduler, run=run, quiet=quiet
    )
    runs, members, records = done.runs, done.members, done.records
    parameters = parameter_names(experiment)
    runs_frame = tables.runs_table(runs, records, parameters, rounds=done.rounds)
    results = tables.results_table(runs, records, parameters)
    summary = tables.summary_table(results, parameters)
    _write_csv(runs_frame, out / "runs.csv")
    _write_csv(results, out / "results.csv")
    _write_csv(summary, out / "summary.csv")
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
    _write_json(out / "batch.json", experiment, counts)
    return counts


def _write_csv(frame, path: Path) -> None:
    """A table, atomically; floats at full precision."""
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_csv(tmp, index=False, lineterminator="\n")
    tmp.replace(path)


def _write_json(path: Path, experiment: Experiment, counts: dict) -> None:
    from model.report.results import code_version, dependency_versions

    record = {
        "experiment": experiment.name,
        "experiment_file": str(experiment.path),
        "counts": counts,
        "code_sha256": code_digest(),
        "version": code_version(),
        "versions": dependency_versions(),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "processor": platform.machine()},
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
    swept = [p for p in parameters if summary[p].nunique(dropna=True) > 1] if parameters else []
    for metric in experiment.metrics:
        for parameter in swept:
            charts.plot_sweep(folder / f"{metric}_vs_{parameter}.png", summary, metric, parameter, parameters)
