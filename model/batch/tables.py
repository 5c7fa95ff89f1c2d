"""The tables of a batch, assembled from its run records in design order.

- ``runs.csv``: one row per run: run_id, scenario, seed, one column per parameter, status,
  error, wall_s and the run's provenance hashes (and ``round`` with enough replicates);
- ``results.csv``: tidy, one row per run x stored metric (run_id, scenario, seed, parameters,
  metric, value), metric named by its dotted path in summary.json; the metrics stored are the
  listed ones and their ``static.`` and ``diff.`` twins, or every scalar (:func:`stored`);
- ``summary.csv``: per scenario x parameter combination x metric: n, mean, std, and the 95%
  confidence interval of the mean over seeds (Student's t);
- ``sensitivity.csv`` (a sensitivity design): one row per parameter x metric with the indices;
- ``runs.parquet``, ``results.parquet``, ``summary.parquet``: the same tables with typed columns
  (:func:`arrow_table`).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa

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
                **{p: _cell(spec.parameters.get(p)) for p in parameters},
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


def stored(metrics: tuple[str, ...] | list[str], store: str) -> set[str] | None:
    """The metrics results.csv stores: the listed ones and their twins, or None for every scalar.

    A listed figure ``<path>`` comes with ``static.<path>`` and ``diff.<path>`` where the run has
    them (docs/static.md). With ``store = "all"``, or no metric listed, every scalar is stored.
    """
    if store == "all" or not metrics:
        return None
    return {name for m in metrics for name in (m, f"static.{m}", f"diff.{m}")}


def results_table(
    runs: list[RunSpec], records: dict[str, dict], parameters: list[str], keep: set[str] | None = None
) -> pd.DataFrame:
    """results.csv: one row per finished run and stored metric (NaN where a metric is undefined).

    Args:
        runs: The design's runs, in order.
        records: The run records by id.
        parameters: The parameter columns.
        keep: The metrics stored (:func:`stored`); None: every scalar of the records.
    """
    rows = []
    for spec in runs:
        record = records.get(spec.run_id)
        if not record or record["status"] != "done":
            continue
        head = {"run_id": spec.run_id, "scenario": spec.scenario, "seed": spec.seed}
        head.update({p: _cell(spec.parameters.get(p)) for p in parameters})
        for metric, value in record["metrics"].items():
            if keep is None or metric in keep:
                rows.append({**head, "metric": metric, "value": math.nan if value is None else float(value)})
    return pd.DataFrame(rows, columns=["run_id", "scenario", "seed", *parameters, "metric", "value"])


def _cell(value):
    """A parameter's value in a table: a table of shares or a list as JSON text (one value, comparable)."""
    return json.dumps(value) if isinstance(value, (dict, list)) else value


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


# the Parquet type of every column the tables share (PROVENANCE: hex digests, as text)
COLUMN_TYPES = {
    "run_id": pa.string(),
    "scenario": pa.string(),
    "seed": pa.int64(),
    "metric": pa.string(),
    "value": pa.float64(),
    "status": pa.string(),
    "error": pa.string(),
    "wall_s": pa.float64(),
    "n": pa.int64(),
    "mean": pa.float64(),
    "std": pa.float64(),
    "ci95_low": pa.float64(),
    "ci95_high": pa.float64(),
    **dict.fromkeys(PROVENANCE, pa.string()),
}
# a parameter's Parquet type by the kind of its scenario key (model/scenario/kinds.py); any other
# kind (a time, a table of shares, a range) is text, a table or list as JSON
KIND_TYPES = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}


def arrow_table(frame: pd.DataFrame, kinds: dict[str, str]) -> pa.Table:
    """A table as Arrow with typed columns, for Parquet: one type per column, nulls where empty.

    Args:
        frame: runs, results or summary (columns of :data:`COLUMN_TYPES` and parameters).
        kinds: The schema kind of every parameter column (``Experiment.kinds``).
    """
    columns = {}
    for name in frame.columns:
        kind_type = KIND_TYPES.get(kinds[name], pa.string()) if name in kinds else None
        kind = COLUMN_TYPES.get(name, kind_type)
        values = [None if _missing(v) else v for v in frame[name].tolist()]
        if kind is None:  # a column of no known type (e.g. one a later version adds): Arrow's guess
            columns[name] = pa.array(values)
        elif pa.types.is_string(kind):
            columns[name] = pa.array([_text(v) for v in values], type=kind)
        elif pa.types.is_integer(kind):  # a column with empty cells comes as floats (40.0)
            columns[name] = pa.array([None if v is None else int(v) for v in values], type=kind)
        else:
            columns[name] = pa.array(values, type=kind)
    return pa.table(columns)


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _text(v):
    if v is None or isinstance(v, str):
        return v
    return json.dumps(v) if isinstance(v, (dict, list)) else str(v)
