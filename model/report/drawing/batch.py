"""Charts of a batch: each chosen metric against each swept parameter, and sensitivity indices."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

MAX_LINES = 8  # more combinations of the other parameters than this: their lines are averaged


def _label(metric: str) -> str:
    return metric.replace(".", " · ")


def plot_sweep(path: Path, summary: pd.DataFrame, metric: str, parameter: str, parameters: list[str]) -> None:
    """Mean over seeds of ``metric`` against ``parameter``, with the 95% interval as a band.

    One line per scenario and combination of the other parameters (up to ``MAX_LINES``; beyond,
    one line per scenario with the combinations averaged and no band).
    """
    rows = summary[summary["metric"] == metric]
    others = [p for p in parameters if p != parameter]
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    groups = list(rows.groupby(["scenario", *others], sort=False, dropna=False)) if others else None
    if groups is not None and len(groups) > MAX_LINES:
        for scenario, part in rows.groupby("scenario", sort=False):
            mean = part.groupby(parameter)["mean"].mean()
            ax.plot(mean.index, mean.to_numpy(), marker="o", label=f"{scenario} (mean over {', '.join(others)})")
    else:
        for key, part in groups if groups is not None else rows.groupby("scenario", sort=False):
            part = part.sort_values(parameter)
            key = key if isinstance(key, tuple) else (key,)
            label = key[0] + "".join(f", {o} = {v}" for o, v in zip(others, key[1:], strict=True))
            x = part[parameter].to_numpy(dtype=float)
            (line,) = ax.plot(x, part["mean"].to_numpy(), marker="o", label=label)
            low, high = part["ci95_low"].to_numpy(dtype=float), part["ci95_high"].to_numpy(dtype=float)
            if np.isfinite(low).any():
                ax.fill_between(x, low, high, color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel(parameter)
    ax.set_ylabel(_label(metric))
    n = int(rows["n"].max()) if len(rows) else 0
    ax.set_title(f"{_label(metric)}\nmean over {n} seeds, band: 95% confidence interval", fontsize=10)
    ax.legend(fontsize=7.5, loc="best", frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_morris(path: Path, table: pd.DataFrame, metric: str) -> None:
    """Morris screening of one metric: mu_star (importance) against sigma (interaction, non-linearity)."""
    rows = table[table["metric"] == metric]
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    ax.errorbar(rows["mu_star"], rows["sigma"], xerr=rows["mu_star_conf"], fmt="o", color="#2c7bb6", capsize=3)
    for _, r in rows.iterrows():
        ax.annotate(r["parameter"], (r["mu_star"], r["sigma"]), fontsize=7, xytext=(4, 3), textcoords="offset points")
    top = np.nanmax(np.r_[rows["mu_star"].to_numpy(dtype=float), rows["sigma"].to_numpy(dtype=float), 0.0])
    if np.isfinite(top) and top > 0:
        ax.plot([0, top], [0, top], ls="--", color="grey", lw=0.8, label="sigma = mu*")
        ax.legend(fontsize=8, frameon=False)
    ax.set_xlabel("mu* (mean absolute elementary effect; bars: 95% bootstrap interval)")
    ax.set_ylabel("sigma (spread of the effects)")
    ax.set_title(f"Morris screening: {_label(metric)}", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_sobol(path: Path, table: pd.DataFrame, metric: str) -> None:
    """Sobol' indices of one metric: first-order and total, with their 95% intervals."""
    rows = table[table["metric"] == metric]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(rows) + 2), 4.6))
    ax.bar(x - 0.2, rows["S1"], 0.4, yerr=rows["S1_conf"], capsize=3, label="S1 (first order)", color="#fdae61")
    ax.bar(x + 0.2, rows["ST"], 0.4, yerr=rows["ST_conf"], capsize=3, label="ST (total)", color="#2c7bb6")
    ax.set_xticks(x)
    ax.set_xticklabels(rows["parameter"], rotation=30, ha="right", fontsize=7.5)
    ax.set_ylabel("share of the metric's variance")
    ax.set_title(f"Sobol' indices: {_label(metric)}", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
