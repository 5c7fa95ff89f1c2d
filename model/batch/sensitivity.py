"""Global sensitivity analysis with SALib: the design before the runs, the indices after.

As SALib is meant to be used: a problem is a plain dict of names and bounds; ``sample`` gives
the design; the model runs outside SALib (every design point over every seed of the
experiment); ``analyze`` takes the seed means of a metric at the design points and returns
the indices with their confidence intervals.

- Morris elementary effects (Morris 1991; Campolongo et al. 2007): ``mu_star`` (mean absolute
  effect), ``mu_star_conf`` (its bootstrap 95% interval half-width), ``sigma`` (spread of the
  effects: interaction or non-linearity), ``mu``.
- Sobol' indices (Sobol' 2001; Saltelli et al. 2010): ``S1`` (first order), ``ST`` (total),
  each with its ``_conf`` half-width.

Around the indices, what keeps them from misleading (docs/experiments.md, "Sensitivity analysis"):

- the smallest design the literature behind SALib vouches for (``model.batch.sizes``); smaller
  designs are refused when the file is read, unless it says ``allow_small = true``;
- :func:`flags`: indices that their own intervals place outside what they can be (a share of
  variance below 0 or above 1, a total index below the first-order one), and Morris screens
  whose interval is wider than the effect;
- :func:`seed_noise`: the share of each metric's variance that the seeds alone make, from the
  replicates at each design point;
- :func:`convergence`: the change of every index from the design at N to the design at 2N.

A metric that no run defines (every value NaN) gets NaN indices rather than stopping the analysis.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from model.batch.experiment import Sensitivity
from model.batch.sizes import minimum_size, size

COLUMNS = {
    "morris": ("mu_star", "mu_star_conf", "sigma", "mu"),
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
}
INDICES = {"morris": ("mu_star", "sigma", "mu"), "sobol": ("S1", "ST")}  # those convergence.csv compares


def problem(sensitivity: Sensitivity) -> dict:
    """SALib's problem dict: names and bounds, in the experiment file's order."""
    names = list(sensitivity.parameters)
    return {
        "num_vars": len(names),
        "names": names,
        "bounds": [[b.low, b.high] for b in sensitivity.parameters.values()],
    }


def sample(sensitivity: Sensitivity) -> np.ndarray:
    """The design: one row per point, one column per parameter (before integer rounding).

    With the same seed, the design at 2N begins with the design at N (SALib's Morris draws its
    trajectories one after the other; the scrambled Sobol' sequence of scipy gives the same first
    N points): :func:`convergence` reuses those runs.
    """
    if sensitivity.method == "morris":
        from SALib.sample import morris

        return morris.sample(
            problem(sensitivity), N=sensitivity.trajectories, num_levels=sensitivity.levels, seed=sensitivity.seed
        )
    from SALib.sample import sobol

    return sobol.sample(problem(sensitivity), sensitivity.samples, calc_second_order=False, seed=sensitivity.seed)


def analyze(sensitivity: Sensitivity, design: np.ndarray, outputs: dict[str, np.ndarray]) -> pd.DataFrame:
    """The indices of every metric: one row per parameter and metric.

    Args:
        sensitivity: The experiment's design settings.
        design: The sample matrix of :func:`sample`.
        outputs: Metric -> its seed mean at every design point (NaN where no run gave a value).

    Returns:
        Columns ``parameter``, ``metric`` and the method's indices (:data:`COLUMNS`).
    """
    spec = problem(sensitivity)
    columns = COLUMNS[sensitivity.method]
    rows = []
    for metric, y in outputs.items():
        y = np.asarray(y, dtype=float)
        if np.isnan(y).any():
            indices = {c: [np.nan] * spec["num_vars"] for c in columns}
        elif sensitivity.method == "morris":
            from SALib.analyze import morris

            result = morris.analyze(
                spec, design, y, num_levels=sensitivity.levels, seed=sensitivity.seed, print_to_console=False
            )
            indices = {c: result[c] for c in columns}
        else:
            from SALib.analyze import sobol

            # a Generator, not the seed: SALib's sobol.analyze takes seed 0 for "no seed" and would
            # then draw its bootstrap from numpy's global state (a Generator of seed s draws the same)
            result = sobol.analyze(
                spec,
                y,
                calc_second_order=False,
                seed=np.random.default_rng(sensitivity.seed),
                print_to_console=False,
            )
            indices = {c: result[c] for c in columns}
        for i, name in enumerate(spec["names"]):
            rows.append({"parameter": name, "metric": metric, **{c: float(indices[c][i]) for c in columns}})
    return pd.DataFrame(rows, columns=["parameter", "metric", *columns])


def flags(table: pd.DataFrame, method: str) -> pd.Series:
    """What makes each row's indices untrustworthy, as text ("" when nothing).

    Sobol': an index whose whole 95% interval lies below 0 or above 1 (``S1 + S1_conf < 0``,
    ``S1 - S1_conf > 1``, the same for ST), and a total index below the first-order one beyond
    both intervals (``ST + ST_conf < S1 - S1_conf``): a share of variance cannot be either, so
    the design is too small or the seeds' noise too large. Morris: ``mu_star_conf > mu_star``,
    the interval of the mean effect reaches below zero and the screen cannot rank the parameter.
    NaN indices are not flagged.
    """
    out = []
    for _, r in table.iterrows():
        found = []
        if method == "morris":
            if r["mu_star_conf"] > r["mu_star"]:
                found.append("mu_star_conf above mu_star: the screen cannot rank this parameter")
        else:
            for index in ("S1", "ST"):
                value, half = r[index], r[f"{index}_conf"]
                if value + half < 0:
                    found.append(f"{index} below 0 beyond its interval")
                elif value - half > 1:
                    found.append(f"{index} above 1 beyond its interval")
            if r["ST"] + r["ST_conf"] < r["S1"] - r["S1_conf"]:
                found.append("ST below S1 beyond their intervals")
        out.append("; ".join(found))
    return pd.Series(out, index=table.index, dtype=object)


def seed_noise(values: list[np.ndarray]) -> tuple[float, float]:
    """The share of a metric's variance that the seeds alone make, from replicates at the same point.

    Args:
        values: For each distinct design point, the metric in each of its runs (one per seed;
            NaN where a run gave no value, left out).

    Returns:
        ``(seed_variance_share, seed_noise_in_means)``:
        ``seed_variance_share = W / T``, with W the mean over points (those with 2 or more
        values) of the variance over seeds at the point (n - 1 in the denominator) and T the
        variance of every single run's value across all points (n - 1); and
        ``seed_noise_in_means = (W / n) / V``, the noise left in the seed means that the indices
        are computed on, with n the seeds per point (their mean where points differ) and V the
        variance of the point means (n - 1). NaN when no point has two values, or T (V) is 0.
    """
    kept = [np.asarray(v, dtype=float) for v in values]
    kept = [v[np.isfinite(v)] for v in kept]
    replicated = [v for v in kept if len(v) >= 2]
    if not replicated:
        return math.nan, math.nan
    within = float(np.mean([np.var(v, ddof=1) for v in replicated]))
    pooled = np.concatenate(kept)
    total = float(np.var(pooled, ddof=1)) if len(pooled) >= 2 else math.nan
    means = np.array([v.mean() for v in kept if len(v)])
    between = float(np.var(means, ddof=1)) if len(means) >= 2 else math.nan
    seeds = float(np.mean([len(v) for v in replicated]))
    share = within / total if total > 0 else math.nan
    in_means = within / seeds / between if between > 0 else math.nan
    return share, in_means


def design_table(
    sensitivity: Sensitivity,
    design: np.ndarray,
    means: dict[str, np.ndarray],
    replicates: dict[str, list[np.ndarray]],
    seeds_per_point: int,
) -> pd.DataFrame:
    """sensitivity.csv's rows for one scenario: the indices, the design's size, seed noise and flags.

    Args:
        sensitivity: The design settings.
        design: SALib's sample matrix.
        means: Metric -> its seed mean at every design point (as :func:`analyze` takes them).
        replicates: Metric -> for every distinct design point, its value in each run (:func:`seed_noise`).
        seeds_per_point: The fewest runs (seeds) at any design point.

    Returns:
        The columns of :func:`analyze`, then ``method``, ``N``, ``minimum_N`` (the smallest N the
        method's guidance vouches for, model/batch/sizes.py), ``seeds_per_point``,
        ``design_points``, ``seed_variance_share``, ``seed_noise_in_means`` and ``flag``
        (the caller puts ``scenario`` after the indices).
    """
    indices = analyze(sensitivity, design, means)
    noise = {metric: seed_noise(values) for metric, values in replicates.items()}
    indices["method"] = sensitivity.method
    indices["N"] = size(sensitivity)
    indices["minimum_N"] = minimum_size(sensitivity.method, len(sensitivity.parameters))
    indices["seeds_per_point"] = seeds_per_point
    indices["design_points"] = len(design)
    indices["seed_variance_share"] = [noise[m][0] for m in indices["metric"]]
    indices["seed_noise_in_means"] = [noise[m][1] for m in indices["metric"]]
    indices["flag"] = flags(indices, sensitivity.method)
    return indices


def convergence(at_n: pd.DataFrame, at_2n: pd.DataFrame, method: str) -> pd.DataFrame:
    """convergence.csv: every index at N and at 2N, and the change.

    Returns:
        One row per scenario, parameter, metric and index (:data:`INDICES`): ``value_N``,
        ``value_2N`` and ``change`` (value at 2N less value at N).
    """
    keys = ["scenario", "parameter", "metric"]
    rows = []
    merged = at_n.merge(at_2n, on=keys, suffixes=("_N", "_2N"), sort=False)
    for _, r in merged.iterrows():
        for index in INDICES[method]:
            a, b = float(r[f"{index}_N"]), float(r[f"{index}_2N"])
            rows.append({**{k: r[k] for k in keys}, "index": index, "value_N": a, "value_2N": b, "change": b - a})
    return pd.DataFrame(rows, columns=[*keys, "index", "value_N", "value_2N", "change"])
