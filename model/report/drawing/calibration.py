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
        "evaluated points": "已评估的点",
        "profile (best at each value)": "剖面（每个取值的最优，代理模型）",
        "cut: best - {drop:.2f}": "截断：最优 - {drop:.2f}",
        "95% interval {low:.4g} to {high:.4g}": "95% 区间 {low:.4g} 至 {high:.4g}",
        "best {best:.4g}": "最优 {best:.4g}",
        "Profile of {parameter}": "{parameter} 的剖面",
        "observed": "观测值",
        "simulated mean at the best point (bars: 95% interval over seeds)": (
            "最优点的模拟均值（误差线：随机种子间 95% 区间）"
        ),
        "Observed and simulated figures": "观测值与模拟值",
    }
)


def plot_profile(
    path: Path, row: pd.Series, x: np.ndarray, loglik: np.ndarray, centres: np.ndarray, profile: np.ndarray, cut: float
) -> None:
    """One parameter: each evaluated point's log L, the surrogate's profile, the cut and the 95% interval.

    Args:
        path: The PNG.
        row: The parameter's row of calibration.csv.
        x: The evaluated points' values of the parameter.
        loglik: Their own log L.
        centres: The profile's bins' centres.
        profile: The surrogate's profile log L there.
        cut: The profile's best less chi-square(1, 0.95) / 2.
    """
    fig, ax = plt.subplots(figsize=(7.0, 4.4))
    ok = np.isfinite(loglik)
    ax.scatter(x[ok], loglik[ok], s=14, color="#9e9e9e", label=_("evaluated points"), zorder=2)
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
    ax.set_ylim(max(lowest, top - 15 * drop) - drop, top + drop)  # the part that matters: near the best
    ax.set_xlim(row["min"], row["max"])
    ax.set_xlabel(row["parameter"])
    ax.set_ylabel(_("log-likelihood (synthetic)"))
    ax.set_title(_("Profile of {parameter}", parameter=row["parameter"]), fontsize=10)
    ax.legend(fontsize=7.5, frameon=False, loc="lower center")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_fit(path: Path, fit: pd.DataFrame) -> None:
    """Every observation: observed against the simulated mean at the best point, with the 1:1 line (fit.csv)."""
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    observed = fit["observed"].to_numpy(dtype=float)
    mean = fit["simulated_mean"].to_numpy(dtype=float)
    half = (fit["ci95_high"] - fit["ci95_low"]).to_numpy(dtype=float) / 2
    ax.errorbar(observed, mean, yerr=np.nan_to_num(half), xerr=fit["sd"].to_numpy(dtype=float), fmt="o", capsize=3)
    for _i, r in fit.iterrows():
        label = r["key"] or r["type"] or f"facility {r['facility']}"
        label = f"{r['figure']}: {label}" + ("" if pd.isna(r["hour"]) else f" {int(r['hour'])}h")
        ax.annotate(
            label, (r["observed"], r["simulated_mean"]), fontsize=7.5, xytext=(4, 3), textcoords="offset points"
        )
    both = np.r_[observed, mean]
    low, high = float(np.nanmin(both)), float(np.nanmax(both))
    pad = 0.05 * (high - low or 1.0)
    ax.plot([low - pad, high + pad], [low - pad, high + pad], ls="--", color="grey", lw=0.8, label="1:1")
    ax.set_xlabel(_("observed"))
    ax.set_ylabel(_("simulated mean at the best point (bars: 95% interval over seeds)"), fontsize=8)
    ax.set_title(_("Observed and simulated figures"), fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
