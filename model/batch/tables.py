"""The tables of a batch, assembled from its run records in design order.

- ``runs.csv``: one row per run: run_id, scenario, seed, one column per parameter, status,
  error, wall_s and the run's provenance hashes (and ``round`` with enough replicates);
- ``results.csv``: tidy, one row per run x scalar metric (run_id, scenario, seed, parameters,
  metric, value), metric named by its dotted path in summary.json;
- ``summary.csv``: per scenario x parameter combination x metric: n, mean, std, and the 95%
  confidence interval of the mean over seeds (Student's t);
- ``sensitivity.csv`` (a sensitivity design): one row per parameter x metric with the indices.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from model.batch.design import RunSpec
from model.measures.intervals import t_half_width

PROVENANCE = ("scenario_sha256", "scenario_files_sha256", "catalogue_sha256", "code_sha256")


def runs_table(
    runs: list[RunSpec], records: dict[str, dict], parameters: list[str], rounds: dict[str, int] | None = None
) -> pd.DataFrame:
    """runs.csv: every run of the design, done or failed (missing ones say so).

    With ``rounds`` (run id -> the round that ran it: enough replicates, model/batch/replicates.py)
    a last column ``round``.
    """
    rows = []
    for spec in runs:
        record = records.get(spec.run_id, {"status": "missing", "error": "", "wall_s": math.nan})
        prov = record.get("provenance", {})
        rows.append(
            {
                "run_id": spec.run_id,
                "scenario": spec.scenario,
                "seed": spec.seed,
                **{p: spec.parameters.get(p) for p in parameters},
                "status": record["status"],
                "error": record.get("error", ""),
                "wall_s": record.get("wall_s", math.nan),
                **{k: prov.get(k, "") for k in PROVENANCE},
                **({"round": rounds[spec.run_id]} if rounds is not None else {}),
            }
        )
    extra = ["round"] if rounds is not None else []
    return pd.DataFrame(
        rows, columns=["run_id", "scenario", "seed", *parameters, "status", "error", "wall_s", *PROVENANCE, *extra]
    )


def results_table(runs: list[RunSpec], records: dict[str, dict], parameters: list[str]) -> pd.DataFrame:
    """results.csv: one row per finished run and scalar metric (NaN where a metric is undefined)."""
    rows = []
    for spec in runs:
        record = records.get(spec.run_id)
        if not record or record["status"] != "done":
            continue
        head = {"run_id": spec.run_id, "scenario": spec.scenario, "seed": spec.seed}
        head.update({p: spec.parameters.get(p) for p in parameters})
        for metric, value in record["metrics"].items():
            rows.append({**head, "metric": metric, "value": math.nan if value is None else float(value)})
    return pd.DataFrame(rows, columns=["run_id", "scenario", "seed", *parameters, "metric", "value"])


def summary_table(results: pd.DataFrame, parameters: list[str]) -> pd.DataFrame:
    """summary.csv: n, mean, std and the 95% interval of the mean, per scenario x parameters x metric.

    Undefined values (NaN) are left out of n; with n = 1 the spread and interval are undefined.
    """
    keys = ["scenario", *parameters, "metric"]
    columns = [*keys, "n", "mean", "std", "ci95_low", "ci95_high"]
    if results.empty:
        return pd.DataFrame(columns=columns)
    grouped = results.groupby(keys, sort=False, dropna=False)["value"]
    out = grouped.agg(n="count", mean="mean", std="std").reset_index()
    n = out["n"].to_numpy(dtype=float)
    half = t_half_width(out["std"].to_numpy(), n)
    out["ci95_low"] = out["mean"] - half
    out["ci95_high"] = out["mean"] + half
    return out[columns]


def point_means(results: pd.DataFrame, run_ids: list[list[str]], metrics: list[str]) -> dict[str, np.ndarray]:
    """Per metric, the mean over seeds at every design point (NaN where no run of a point gave a value).

    Args:
        results: results.csv's rows.
        run_ids: For every design point in order, the ids of its runs (a point repeated in the
            design shares its runs with the first).
        metrics: The metrics wanted.
    """
    values = results[results["metric"].isin(metrics)].set_index(["metric", "run_id"])["value"]
    out = {}
    for metric in metrics:
        mine = values.loc[metric] if metric in values.index.get_level_values(0) else pd.Series(dtype=float)
        out[metric] = np.array([mine.reindex(ids).mean() for ids in run_ids])
    return out
