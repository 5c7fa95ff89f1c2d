"""The search: a seeded optuna sampler asked for points in rounds, each round run through the batch runner.

optuna's ask-and-tell interface (https://optuna.readthedocs.io, "Ask-and-Tell Interface") keeps
the model call outside optuna, as SALib's ``sample`` and ``analyze`` do for the sensitivity
analysis: each round asks ``batch`` points, builds their runs (every seed of the file) with
:func:`model.batch.design.make_run`, runs them all with :func:`model.batch.runner.execute` (a
local pool or a Dask cluster, one record per run in ``<out>/runs``) and tells the sampler each
point's log-likelihood (:mod:`model.batch.calibration.likelihood`).

A seeded sampler asked the same questions after the same answers asks the same points: a
calibration run again (``--resume``, after Ctrl-C or kill -9) asks the points it asked before,
whose runs have their records already, so nothing already run is run again, and the outputs are
the same bytes.
"""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.batch import runner
from model.batch.calibration.figures import run_calibration_point
from model.batch.calibration.file import Calibration
from model.batch.calibration.likelihood import log_likelihood
from model.batch.design import RunSpec, make_run, resolved_content


@dataclass
class Trial:
    """One evaluated point.

    Attributes:
        number: The point's number (the sampler's trial number, from 0).
        round: The round it was asked in (from 1).
        parameters: Dotted key -> value.
        run_ids: Its runs, one per seed, in seed order.
        status: "done", or "failed" when a run failed or a figure was undefined.
        loglik: log L (NaN when failed).
        values: Simulated values, observation x seed.
    """

    number: int
    round: int
    parameters: dict
    run_ids: list[str]
    status: str = "done"
    loglik: float = math.nan
    values: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


def make_sampler(calibration: Calibration):
    """The method's optuna sampler, seeded by the file (its only random source).

    TPE (Bergstra et al. 2011; Watanabe 2023): the first round at random, then points drawn where
    the fit has been good; multivariate (the parameters' joint density), with the constant liar
    so that the points of one round spread out. QMC: optuna's scrambled Sobol' sequence.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    method = calibration.method
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if method.sampler == "qmc":
            return optuna.samplers.QMCSampler(qmc_type="sobol", scramble=True, seed=method.seed)
        return optuna.samplers.TPESampler(
            n_startup_trials=method.batch, multivariate=True, constant_liar=True, seed=method.seed
        )


def _distributions(calibration: Calibration) -> dict:
    from optuna.distributions import FloatDistribution, IntDistribution

    return {
        key: IntDistribution(int(b.low), int(b.high))
        if calibration.kinds[key] == "int"
        else FloatDistribution(b.low, b.high)
        for key, b in calibration.parameters.items()
    }


def point_values(observations, records: list[dict]) -> np.ndarray:
    """The simulated value of every observation (rows) in every run of a point (columns); NaN where missing."""
    values = np.full((len(observations), len(records)), math.nan)
    for j, record in enumerate(records):
        for i, o in enumerate(observations):
            value = (record.get("metrics") if o.figure == "summary" else record.get("figures", {})).get(o.name)
            values[i, j] = math.nan if value is None else float(value)
    return values


def search(
    calibration: Calibration,
    observations: list,
    folder: Path,
    workers: int = 1,
    scheduler: str | None = None,
    quiet: bool = False,
) -> tuple[list[Trial], list[RunSpec]]:
    """Ask, run and tell until the budget is spent; return every trial and every run.

    Args:
        calibration: The checked file.
        observations: The checked observations.
        folder: Where run records are kept (``<out>/runs``).
        workers: Local worker processes (1: in this process).
        scheduler: A Dask scheduler's address, or None.
        quiet: No progress output.
    """
    import optuna
    from optuna.trial import TrialState

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study = optuna.create_study(direction="maximize", sampler=make_sampler(calibration))
    distributions = _distributions(calibration)
    method = calibration.method
    trials: list[Trial] = []
    all_runs: dict[str, RunSpec] = {}
    rounds = math.ceil(method.budget / method.batch)
    for r in range(1, rounds + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            asked = [study.ask(distributions) for _ in range(min(method.batch, method.budget - len(trials)))]
        points = [(t.number, {key: t.params[key] for key in calibration.parameters}) for t in asked]
        mine = evaluate(calibration, observations, points, r, all_runs, folder, workers, scheduler, quiet)
        for t, trial in zip(asked, mine, strict=True):
            if trial.status == "done":
                study.tell(t, trial.loglik)
            else:
                study.tell(t, state=TrialState.FAIL)
        trials += mine
        if not quiet:
            _report_round(r, rounds, trials)
    return trials, list(all_runs.values())


def evaluate(
    calibration: Calibration,
    observations: list,
    points: list[tuple[int, dict]],
    round_: int,
    all_runs: dict[str, RunSpec],
    folder: Path,
    workers: int = 1,
    scheduler: str | None = None,
    quiet: bool = False,
) -> list[Trial]:
    """Run points over every seed through the runner; return their trials with values and log L.

    Args:
        calibration: The checked file.
        observations: The checked observations.
        points: (number, parameters) of every point.
        round_: The round they belong to.
        all_runs: Every run so far by id (the new ones are added).
        folder: Where run records are kept.
        workers: Local worker processes.
        scheduler: A Dask scheduler's address, or None.
        quiet: No progress output.
    """
    from model.scenario import load_scenario

    trials = []
    for number, parameters in points:
        scenario = load_scenario(calibration.scenario, overrides=parameters, overrides_file=calibration.path.name)
        resolved = resolved_content(scenario)
        ids = []
        for seed in calibration.seeds:
            spec = make_run(
                calibration.scenario, scenario.name, resolved, number, parameters, seed, calibration, len(all_runs)
            )
            all_runs.setdefault(spec.run_id, spec)
            ids.append(spec.run_id)
        trials.append(Trial(number, round_, parameters, ids))
    wanted = list(dict.fromkeys(i for trial in trials for i in trial.run_ids))
    records = runner.execute(
        [all_runs[i] for i in wanted],
        folder,
        workers=workers,
        scheduler=scheduler,
        run=run_calibration_point,
        quiet=quiet,
    )
    observed = np.array([o.value for o in observations])
    sd = np.array([o.sd for o in observations])
    for trial in trials:
        runs = [records.get(i, {"status": "missing"}) for i in trial.run_ids]
        trial.values = point_values(observations, runs)
        if all(run["status"] == "done" for run in runs):
            trial.loglik = log_likelihood(trial.values, observed, sd)
        if not math.isfinite(trial.loglik):
            trial.status = "failed"
    return trials


def _report_round(r: int, rounds: int, trials: list[Trial]) -> None:
    done = [t for t in trials if t.status == "done"]
    if done:
        best = max(done, key=lambda t: t.loglik)
        where = ", ".join(f"{k} = {v:.4g}" for k, v in best.parameters.items())
        text = f"best log-likelihood {best.loglik:.2f} at {where}"
    else:
        text = "no point evaluated yet"
    print(f"round {r}/{rounds}: {len(trials):,} points, {text}", file=sys.stderr, flush=True)
