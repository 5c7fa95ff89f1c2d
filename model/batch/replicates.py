"""Enough replicates: seeds added in rounds until every target interval is narrow enough.

An experiment with ``replicates = { target_halfwidth = h, min = a, max = b }`` (docs/experiments.md,
"Enough replicates") runs seeds 1..a at every combination (scenario x parameter combination, or
design point), then decides for each combination, from its own runs only, whether it needs more.
For each targeted metric, over the k seeds run so far:

- its values are the defined ones (NaN left out, as summary.csv leaves them out): n of the k;
- it is **met** when n >= 2 and the half-width of the 95% interval of its mean,
  ``t(0.975, n - 1) · s / √n`` (:func:`model.measures.intervals.t_half_width`, the interval of
  summary.csv), is at most h. A metric whose values are all equal (s = 0) is met at once;
- it is **undefined** when n = 0 (the figure is undefined in every run so far, e.g. the unmet
  share of a type nobody visited): that is no reason to add seeds;
- otherwise it **asks** for seeds. With n >= 2: N, the smallest number of values whose interval
  would be at most h if the standard deviation stayed s (``t(0.975, N - 1) · s / √N <= h``),
  which at the same share of defined values takes ``ceil(N · k / n)`` seeds. With n = 1: 2k
  seeds (an assumption: one value says nothing of the spread).

A combination stops when no metric asks, or at b seeds (its unmet metrics are then reported as
stopped by the maximum). Otherwise its next total is the largest ask, at least k + 1 and at most
b, and seeds k + 1, k + 2, ... up to that total run in the next round. A failed run is a seed
whose every metric is undefined.

All combinations' new seeds of a round run in one call of :func:`model.batch.runner.execute`
(a local pool or Dask), and the decisions are taken when the whole round is done, from the runs'
records. Which seeds a combination gets therefore depends only on its own runs' results, never on
the number of workers or the order in which runs finish; a resumed batch replays the decisions
from the records already on disk and reaches the same seeds and the same tables.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from model.batch import runner
from model.batch.design import RunSpec, build_runs
from model.batch.experiment import MAX_SEEDS, Experiment, Replicates
from model.measures.intervals import t_half_width

# how a targeted metric's last decision went (replicates.csv's ``stopped_by``)
MET, UNDEFINED, ASKS, AT_MAX = "target", "undefined", "asks", "max"


@dataclass(frozen=True)
class Assessment:
    """One metric at one combination after k seeds.

    Attributes:
        n: Defined values among the k seeds.
        mean: Their mean (NaN for n = 0).
        half_width: Half-width of the 95% interval of the mean (NaN for n < 2).
        state: ``MET``, ``UNDEFINED`` or ``ASKS``.
        wanted: Seeds the metric asks for in all (k when it asks for none).
    """

    n: int
    mean: float
    half_width: float
    state: str
    wanted: int


@dataclass(frozen=True)
class Rounds:
    """The runs of a batch after its rounds.

    Attributes:
        runs: Every run, in design order (scenario, point, seed).
        points: The parameter combinations.
        members: (scenario name, point index) -> the ids of its runs, in seed order.
        records: Run id -> record.
        rounds: Run id -> the round that ran it (None: fixed seeds, one round).
    """

    runs: list[RunSpec]
    points: list[dict]
    members: dict[tuple[str, int], list[str]]
    records: dict[str, dict]
    rounds: dict[str, int] | None


def assess(values: np.ndarray, target: float) -> Assessment:
    """Whether one metric's values over k seeds (NaN: undefined) meet the target half-width."""
    k = len(values)
    x = values[np.isfinite(values)]
    n = int(x.size)
    if n == 0:
        return Assessment(0, math.nan, math.nan, UNDEFINED, k)
    mean = float(x.mean())
    if n == 1:
        return Assessment(1, mean, math.nan, ASKS, 2 * k)
    s = float(x.std(ddof=1))
    half = float(t_half_width(s, n))
    if half <= target:
        return Assessment(n, mean, half, MET, k)
    return Assessment(n, mean, half, ASKS, -(-_values_needed(s, n, target) * k // n))


def _values_needed(s: float, n: int, target: float) -> int:
    """The smallest N > n with ``t(0.975, N - 1) · s / √N <= target`` (MAX_SEEDS if none).

    By bisection: the half-width falls as N grows. The interval at n values is wider than the target.
    """
    low, high = n, MAX_SEEDS  # wider at low, narrow enough at high
    if t_half_width(s, high) > target:
        return MAX_SEEDS
    while high - low > 1:
        middle = (low + high) // 2
        if t_half_width(s, middle) <= target:
            high = middle
        else:
            low = middle
    return high


def next_total(columns: dict[str, np.ndarray], rule: Replicates) -> int:
    """The seeds a combination should have run in all, from its targeted metrics' values over its k seeds.

    Returns k when it stops: every metric met or undefined, or k at the maximum.
    """
    k = len(next(iter(columns.values())))
    if k >= rule.max_seeds:
        return k
    asks = [
        a.wanted
        for a in (assess(values, rule.target_halfwidth[metric]) for metric, values in columns.items())
        if a.state == ASKS
    ]
    return min(rule.max_seeds, max(k + 1, *asks)) if asks else k


def metric_values(records: dict[str, dict], run_ids: list[str], metric: str) -> np.ndarray:
    """One metric's values over a combination's runs in seed order (NaN where undefined, failed or missing)."""
    out = np.full(len(run_ids), np.nan)
    for i, run_id in enumerate(run_ids):
        record = records.get(run_id)
        if record and record.get("status") == "done":
            value = record["metrics"].get(metric)
            out[i] = math.nan if value is None else float(value)
    return out


def execute_rounds(
    experiment: Experiment,
    runs: list[RunSpec],
    points: list[dict],
    members: dict[tuple[str, int], list[str]],
    folder: Path,
    workers: int = 1,
    scheduler: str | None = None,
    run: Callable[[RunSpec], dict] | None = None,
    quiet: bool = False,
) -> Rounds:
    """Run the design; with ``experiment.adaptive``, add seeds in rounds until the targets are met.

    Args:
        experiment: The checked experiment.
        runs: The first round's runs, from :func:`model.batch.design.build_runs`.
        points: The parameter combinations (build_runs).
        members: The first round's run ids of every (scenario name, point index) (build_runs).
        folder: Where records are kept (``<out>/runs``).
        workers: Local worker processes (as :func:`model.batch.runner.execute`).
        scheduler: A Dask scheduler's address, or None.
        run: The function that runs one spec; None: :func:`model.batch.runner.run_one`.
        quiet: No progress output (nor a line per round).
    """

    def execute(todo: list[RunSpec]) -> dict[str, dict]:
        return runner.execute(todo, folder, workers=workers, scheduler=scheduler, run=run, quiet=quiet)

    records = execute(runs)
    rule = experiment.adaptive
    if rule is None:
        return Rounds(runs, points, members, records, None)
    rounds = dict.fromkeys((spec.run_id for spec in runs), 1)
    seeds = {key: len(ids) for key, ids in members.items()}
    number = 1
    while True:
        more = {}
        for key, ids in members.items():
            columns = {metric: metric_values(records, ids, metric) for metric in rule.target_halfwidth}
            total = next_total(columns, rule)
            if total > len(ids):
                more[key] = total
        if not more:
            return Rounds(runs, points, members, records, rounds)
        number += 1
        seeds.update(more)
        runs, points, _, members = build_runs(experiment, {key: range(1, n + 1) for key, n in seeds.items()})
        # only the new seeds: a failed run of an earlier round stays failed, as its decision saw it
        todo = [spec for spec in runs if spec.run_id not in rounds]
        rounds.update(dict.fromkeys((spec.run_id for spec in todo), number))
        if not quiet:
            print(
                f"round {number}: {len(todo):,} more run(s) at {len(more):,} of {len(members):,} combinations "
                "whose intervals are wider than the target",
                file=sys.stderr,
                flush=True,
            )
        records = execute(todo)


def _combinations(done: Rounds) -> list[tuple[str, int]]:
    """The (scenario, point) keys of distinct combinations (a design point repeated shares its runs)."""
    seen, out = set(), []
    for key, ids in done.members.items():
        if tuple(ids) not in seen:
            seen.add(tuple(ids))
            out.append(key)
    return out


def replicates_table(experiment: Experiment, done: Rounds, parameters: list[str]) -> pd.DataFrame:
    """replicates.csv: per combination and targeted metric, where its seeds stopped and why.

    Columns: scenario, the parameters, metric, ``seeds`` (run at the combination), ``n`` (defined
    values), ``mean``, ``half_width`` (of the 95% interval, as summary.csv), ``target``, ``met``
    (half_width <= target) and ``stopped_by``: "target", "max" (the maximum came first) or
    "undefined" (no defined value).
    """
    rule = experiment.adaptive
    rows = []
    for scenario, p in _combinations(done):
        ids = done.members[(scenario, p)]
        head = {"scenario": scenario, **{q: done.points[p].get(q) for q in parameters}}
        for metric, target in rule.target_halfwidth.items():
            a = assess(metric_values(done.records, ids, metric), target)
            rows.append(
                {
                    **head,
                    "metric": metric,
                    "seeds": len(ids),
                    "n": a.n,
                    "mean": a.mean,
                    "half_width": a.half_width,
                    "target": target,
                    "met": a.state == MET,
                    "stopped_by": AT_MAX if a.state == ASKS else a.state,
                }
            )
    columns = ["scenario", *parameters, "metric", "seeds", "n", "mean", "half_width", "target", "met", "stopped_by"]
    return pd.DataFrame(rows, columns=columns)


def running_table(done: Rounds, metric: str, parameters: list[str]) -> pd.DataFrame:
    """The running mean and 95% half-width of one metric against the replicates, per combination.

    Columns: ``combination`` (scenario and parameter values), ``replicates`` (seeds 1..j),
    ``n`` (defined values among them), ``mean`` and ``half_width`` over those values.
    """
    frames = []
    for scenario, p in _combinations(done):
        values = metric_values(done.records, done.members[(scenario, p)], metric)
        defined = np.isfinite(values)
        n = np.cumsum(defined)
        mean, std = np.full(len(values), np.nan), np.full(len(values), np.nan)
        for j in range(len(values)):  # each from the values themselves (running sums of squares cancel)
            x = values[: j + 1][defined[: j + 1]]
            if x.size:
                mean[j] = x.mean()
            if x.size > 1:
                std[j] = x.std(ddof=1)
        label = scenario + "".join(f", {q} = {done.points[p].get(q)}" for q in parameters)
        frames.append(
            pd.DataFrame(
                {
                    "combination": label,
                    "replicates": np.arange(1, len(values) + 1),
                    "n": n,
                    "mean": mean,
                    "half_width": t_half_width(std, n),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def plot(experiment: Experiment, folder: Path, done: Rounds, parameters: list[str]) -> None:
    """plots/replicates_<metric>.png for every targeted metric."""
    from model.report.drawing import batch as charts

    folder.mkdir(exist_ok=True)
    for metric, target in experiment.adaptive.target_halfwidth.items():
        charts.plot_replicates(
            folder / f"replicates_{metric}.png", running_table(done, metric, parameters), metric, target
        )
