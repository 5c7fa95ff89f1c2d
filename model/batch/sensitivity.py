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

A metric that no run defines (every value NaN) gets NaN indices rather than stopping the analysis.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.batch.experiment import Sensitivity

COLUMNS = {
    "morris": ("mu_star", "mu_star_conf", "sigma", "mu"),
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
}


def problem(sensitivity: Sensitivity) -> dict:
    """SALib's problem dict: names and bounds, in the experiment file's order."""
    names = list(sensitivity.parameters)
    return {
        "num_vars": len(names),
        "names": names,
        "bounds": [[b.low, b.high] for b in sensitivity.parameters.values()],
    }


def sample(sensitivity: Sensitivity) -> np.ndarray:
    """The design: one row per point, one column per parameter (before integer rounding)."""
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

            result = sobol.analyze(spec, y, calc_second_order=False, seed=sensitivity.seed, print_to_console=False)
            indices = {c: result[c] for c in columns}
        for i, name in enumerate(spec["names"]):
            rows.append({"parameter": name, "metric": metric, **{c: float(indices[c][i]) for c in columns}})
    return pd.DataFrame(rows, columns=["parameter", "metric", *columns])
