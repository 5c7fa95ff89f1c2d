"""Charts of a calibration: each parameter's profile with its interval, and observed against simulated.

Titles and axis labels follow the language of the process (model/report/lang.py); parameter and
figure names are shown as written. No text is below 7.5 points at the saved size.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from model.report.lang import Phrases

_ = Phrases(
    {
        "log-likelihood (synthetic)": "对数似然（合成似然）",
        "evaluated points (surrogate log L)": "已评估的点（代理模型对数似然）",
        "evaluated points below the axis ({n})": "低于坐标轴的已评估点（{n} 个）",
        "profile (best at each value)": "剖面（每个取值的最优，代理模型）",
        "cut: best - {drop:.2f}": "截断：最优 - {drop:.2f}",
        "95% interval {low:.4g} to {high:.4g}": "95% 区间 {low:.4g} 至 {high:.4g}",
        "best {best:.4g}": "最优 {best:.4g}",
        "Profile of {parameter}": "{parameter} 的剖面",
        "observed": "观测值",
        "simulated mean at the best values (bars: 95% interval over seeds)": (
            "最优参数下的模拟均值（误差线：随机种子间 95% 区间）"
        ),
        "within ±2": "±2 以内",
        "standardised residual (observed - simulated) / spread": "标准化残差（观测 - 模拟）/ 离散度",
        "Observed and simulated figures": "观测值与模拟值",
    }
)


def plot_profile(
    path: Path, row: pd.Series, x: np.ndarray, loglik: np.ndarray, centres: np.ndarray, profile: np.ndarray, cut: float
) -> None:
    """One parameter: the evaluated points, the surrogate's profile, the cut and the 95% interval.

    Args:
        path: The PNG.
        row: The parameter's row of calibration.csv.
        x: The evaluated points' values of the parameter.
        loglik: The surrogate's log L at them (their own, noisier, is in trials.csv).
        centres: The profile's bins' centres.
        profile: The surrogate's profile log L there.
        cut: The profile's best less chi-square(1, 0.95) / 2.
    """
    fig, ax = plt.subplots(figsize=(7.0, 4.4))
    ok = np.isfinite(loglik)
    ax.scatter(x[ok], loglik[ok], s=14, color="#636363", label=_("evaluated points (surrogate log L)"), zorder=4)
    ax.plot(centres, profile, color="#2c7bb6", lw=1.2, label=_("profile (best at each value)"), zorder=3)
    ax.axhline(cut, color="#d7191c", ls="--", lw=0.9, label=_("cut: best - {drop:.2f}", drop=np.nanmax(profile) - cut))
    ax.axvspan(
        row["ci95_low"],
        row["ci95_high"],
        color="#fdae61",
        alpha=0.3,
        lw=0,
        label=_("95% interval {low:.4g} to {high:.4g}", low=row["ci95_low"], high=row["ci95_high"]),
    )
    ax.axvline(row["best"], color="black", lw=1.0, label=_("best {best:.4g}", best=row["best"]))
    top = float(np.nanmax(profile))
    drop = top - cut
    lowest = float(np.nanmin(np.r_[profile, loglik[ok]]))
    bottom = max(lowest, top - 15 * drop) - drop
    ax.set_ylim(bottom, top + drop)  # the part that matters: near the best
    below = ok & (loglik < bottom)
    if below.any():  # points far from the best still show where the search looked: ticks on the axis
        ax.scatter(
            x[below],
            np.full(below.sum(), bottom),
            marker="|",
            s=120,
            color="#636363",
            clip_on=False,
            label=_("evaluated points below the axis ({n})", n=int(below.sum())),
            zorder=4,
        )
    ax.set_xlim(row["min"], row["max"])
    ax.set_xlabel(row["parameter"])
    ax.set_ylabel(_("log-likelihood (synthetic)"))
    ax.set_title(_("Profile of {parameter}", parameter=row["parameter"]), fontsize=10)
    ax.legend(fontsize=7.5, frameon=False, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_fit(path: Path, fit: pd.DataFrame) -> None:
    """Every observation at the best values (fit.csv): observed against simulated, and the standardised residuals.

    Left: the simulated mean (bars: its 95% interval over seeds) against the observed figure, with
    the 1:1 line, on logarithmic axes when every figure is above 0 (figures of very different
    sizes side by side). Right: each observation's standardised residual, with the band of ±2.
    """
    observed = fit["observed"].to_numpy(dtype=float)
    mean = fit["simulated_mean"].to_numpy(dtype=float)
    low, high = fit["ci95_low"].to_numpy(dtype=float), fit["ci95_high"].to_numpy(dtype=float)
    labels = [_observation_label(r) for _i, r in fit.iterrows()]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, max(4.6, 0.35 * len(fit) + 2)))
    yerr = np.vstack([np.nan_to_num(mean - low), np.nan_to_num(high - mean)])
    left.errorbar(observed, mean, yerr=yerr, xerr=fit["sd"].to_numpy(dtype=float), fmt="o", capsize=3)
    both = np.r_[observed, mean]
    if (both > 0).all():
        left.set_xscale("log")
        left.set_yscale("log")
        ends = [both.min() / 1.3, both.max() * 1.3]
    else:
        pad = 0.05 * (both.max() - both.min() or 1.0)
        ends = [both.min() - pad, both.max() + pad]
    left.plot(ends, ends, ls="--", color="grey", lw=0.8, label="1:1")
    left.set_xlabel(_("observed"))
    left.set_ylabel(_("simulated mean at the best values (bars: 95% interval over seeds)"), fontsize=8)
    left.legend(fontsize=8, frameon=False)
    left.grid(alpha=0.3)
    rows = np.arange(len(fit))[::-1]
    residual = fit["residual"].to_numpy(dtype=float)
    right.axvspan(-2, 2, color="#abd9e9", alpha=0.4, lw=0, label=_("within ±2"))
    right.axvline(0, color="grey", lw=0.8)
    right.scatter(residual, rows, color=np.where(np.abs(residual) > 2, "#d7191c", "#2c7bb6"), zorder=3)
    right.set_yticks(rows)
    right.set_yticklabels(labels, fontsize=7.5)
    right.set_xlabel(_("standardised residual (observed - simulated) / spread"))
    right.legend(fontsize=8, frameon=False)
    right.grid(alpha=0.3, axis="x")
    fig.suptitle(_("Observed and simulated figures"), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _observation_label(row: pd.Series) -> str:
    """``line 5 visits_per_day facility 8`` and the like: where an observation is and what it is."""
    what = row["key"] if isinstance(row["key"], str) and row["key"] else ""
    if not pd.isna(row["facility"]):
        what = f"facility {int(row['facility'])}"
    elif isinstance(row["type"], str) and row["type"]:
        what = row["type"]
    hour = "" if pd.isna(row["hour"]) else f" {int(row['hour'])}h"
    return f"line {int(row['line'])} {row['figure']} {what}{hour}"
