"""A whole calibration: search, then the tables, charts and provenance in the output folder.

Outputs (docs/calibration.md): calibration.csv (best value and 95% profile interval per
parameter), fit.csv (each observation against the best point), trials.csv (every evaluated
point), plots/ (each parameter's profile, observed against simulated), calibration.json
(provenance), calibration.toml and observations.csv (copies of the inputs), runs/ (the records).
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from model.batch import runner
from model.batch.calibration.file import Calibration
from model.batch.calibration.likelihood import PROFILE_DROP, Estimate, estimate, fit_table, quadratic_size
from model.batch.calibration.search import Trial, evaluate, search
from model.batch.design import code_digest

OUTPUTS = ("calibration.csv", "fit.csv", "trials.csv", "calibration.json", "calibration.toml", "observations.csv")


def earlier_calibration(out: Path) -> bool:
    """Whether ``out`` holds records or tables of a calibration (or of a batch: runs/)."""
    return runner.holds_outputs(out, OUTPUTS)


def clear(out: Path) -> None:
    """Remove an earlier calibration's records, tables and charts from ``out`` (nothing else)."""
    runner.clear_outputs(out, OUTPUTS)


def run_calibration(
    calibration: Calibration,
    observations: list,
    out: Path,
    workers: int = 1,
    scheduler: str | None = None,
    quiet: bool = False,
    command: list[str] | None = None,
) -> dict:
    """Search, then write every table and chart into ``out``; return what the command prints.

    Returns:
        ``{"points", "failed", "runs", "parameters": calibration.csv's frame, "fit": fit.csv's
        frame or None}``: points and failed count the search's points; runs every run, the
        best values' too.
    """
    started = datetime.now(UTC).isoformat(timespec="seconds")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(calibration.path, out / "calibration.toml")
    shutil.copyfile(calibration.observations, out / "observations.csv")
    trials, runs = search(calibration, observations, out / "runs", workers=workers, scheduler=scheduler, quiet=quiet)
    done = [t for t in trials if t.status == "done"]
    found = _estimate(calibration, observations, done)
    table = parameters_table(calibration, found, len(done))
    fit, best = None, []
    if found is not None:
        best = [_run_best(calibration, observations, found, trials, runs, out / "runs", workers, scheduler, quiet)]
        if best[0].status == "done":
            fit = fit_table(observations, best[0].values, found.best_seed_variance)
            fit = fit.assign(surrogate_mean=found.best_mean, trial=best[0].number)
    _write_csv(table, out / "calibration.csv")
    _write_csv(trials_table(observations, trials + best, done, found), out / "trials.csv")
    if fit is not None:
        _write_csv(fit, out / "fit.csv")
        _plots(calibration, done, table, found, fit, out / "plots")
    result = {
        "correlation": None if found is None else found.correlation.tolist(),
        "points": len(trials),
        "failed": len(trials) - len(done),
        "runs": len(runs),
        "parameters": table,
        "fit": fit,
    }
    _write_json(out / "calibration.json", calibration, result, started, workers, scheduler, command)
    return result


def _run_best(calibration, observations, found: Estimate, trials, runs, folder, workers, scheduler, quiet) -> Trial:
    """The best values run over every seed after the search (fit.csv is their simulation, not the surrogate's)."""
    best = {
        key: int(round(found.best[j])) if calibration.kinds[key] == "int" else float(found.best[j])
        for j, key in enumerate(calibration.parameters)
    }
    by_id = {spec.run_id: spec for spec in runs}
    number, last_round = len(trials), max(t.round for t in trials)
    (trial,) = evaluate(
        calibration, observations, [(number, best)], last_round + 1, by_id, folder, workers, scheduler, quiet
    )
    runs[:] = list(by_id.values())
    return trial


def _estimate(calibration: Calibration, observations: list, done: list[Trial]) -> Estimate | None:
    """The surrogate's estimate, or None with fewer evaluated points than the quadratic has coefficients."""
    keys = list(calibration.parameters)
    if len(done) < quadratic_size(len(keys)):
        return None
    return estimate(
        np.array([[t.parameters[k] for k in keys] for t in done], dtype=float),
        [t.values for t in done],
        np.array([o.value for o in observations]),
        np.array([o.sd for o in observations]),
        [(b.low, b.high) for b in calibration.parameters.values()],
        [calibration.kinds[k] == "int" for k in keys],
        calibration.method.seed,
    )


def parameters_table(calibration: Calibration, found: Estimate | None, points: int) -> pd.DataFrame:
    """calibration.csv: per parameter its range, best value, 95% profile interval and the points behind it."""
    rows = []
    for j, (key, bounds) in enumerate(calibration.parameters.items()):
        row = {"parameter": key, "min": bounds.low, "max": bounds.high}
        if found is None:
            row.update(best=math.nan, ci95_low=math.nan, ci95_high=math.nan, at_range_end=None)
        else:
            low, high = float(found.low[j]), float(found.high[j])
            row.update(
                best=float(found.best[j]),
                ci95_low=low,
                ci95_high=high,
                at_range_end=bool(low <= bounds.low or high >= bounds.high),
            )
        row["points"] = points
        rows.append(row)
    return pd.DataFrame(rows)


def trials_table(observations: list, trials: list[Trial], done: list[Trial], found: Estimate | None) -> pd.DataFrame:
    """trials.csv: every point in the order asked: parameters, status, log L (its own and the surrogate's), means."""
    surrogate = {t.number: float(v) for t, v in zip(done, found.at_points, strict=True)} if found is not None else {}
    rows = []
    for t in trials:
        means = t.values.mean(axis=1) if t.values.size else np.full(len(observations), math.nan)
        at = surrogate.get(t.number, math.nan)
        rows.append(
            {
                "trial": t.number,
                "round": t.round,
                **t.parameters,
                "status": t.status,
                "log_likelihood": t.loglik,
                "surrogate_log_likelihood": at,
                "within_95": bool(at >= found.top - PROFILE_DROP) if found is not None and math.isfinite(at) else False,
                **{f"simulated.{o.name}": float(m) for o, m in zip(observations, means, strict=True)},
                "run_ids": ";".join(t.run_ids),
            }
        )
    return pd.DataFrame(rows)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """A table, atomically; floats at full precision."""
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_csv(tmp, index=False, lineterminator="\n")
    tmp.replace(path)


def _plots(
    calibration: Calibration, done, table: pd.DataFrame, found: Estimate, fit: pd.DataFrame, folder: Path
) -> None:
    from model.report.drawing import calibration as charts

    folder.mkdir(exist_ok=True)
    loglik = found.at_points
    for j, row in table.iterrows():
        x = np.array([t.parameters[row["parameter"]] for t in done], dtype=float)
        centres, profile = found.profiles[j]
        charts.plot_profile(
            folder / f"profile_{row['parameter']}.png", row, x, loglik, centres, profile, found.top - PROFILE_DROP
        )
    charts.plot_fit(folder / "observed_vs_simulated.png", fit)


def _write_json(path: Path, calibration: Calibration, result: dict, started, workers, scheduler, command) -> None:
    from importlib import metadata

    from model.report.results import code_version, dependency_versions

    versions = dependency_versions()
    versions["optuna"] = metadata.version("optuna")
    table = result["parameters"]
    record = {
        "calibration": calibration.name,
        "calibration_file": str(calibration.path),
        "scenario_file": str(calibration.scenario),
        "observations_file": str(calibration.observations),
        "observations_sha256": hashlib.sha256(calibration.observations.read_bytes()).hexdigest(),
        "method": {
            "sampler": calibration.method.sampler,
            "budget": calibration.method.budget,
            "batch": calibration.method.batch,
            "seed": calibration.method.seed,
            "likelihood": "Gaussian synthetic likelihood, observations correlated as over seeds",
            "surrogate": "full quadratic in the scaled parameters of each figure's mean and log seed variance",
            "interval": f"profile, log-likelihood within {PROFILE_DROP:.4f} of the best (chi-square(1, 0.95) / 2)",
        },
        "seeds": list(calibration.seeds),
        "days": calibration.days,
        "engine": calibration.engine,
        "counts": {"points": result["points"], "failed": result["failed"], "runs": result["runs"]},
        "best": {r["parameter"]: r["best"] for _, r in table.iterrows()},
        "ci95": {r["parameter"]: [r["ci95_low"], r["ci95_high"]] for _, r in table.iterrows()},
        "observations_correlation": result["correlation"],
        "best_trial": None if result["fit"] is None else int(result["fit"]["trial"].iloc[0]),
        "command": command if command is not None else sys.argv,
        "workers": None if scheduler else workers,
        "scheduler": scheduler,
        "code_sha256": code_digest(),
        "version": code_version(),
        "versions": versions,
        "started": started,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "processor": platform.machine()},
    }
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
