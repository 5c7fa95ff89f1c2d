"""Charts of a batch: each chosen metric against each swept parameter, and sensitivity indices.

Titles and axis labels follow the language of the process (model/report/lang.py); metric,
parameter and scenario names are shown as written. No text is below 7.5 points at the saved size.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from model.report.lang import Phrases

_ = Phrases(
    {
        "{scenario} (mean over {others})": "{scenario}（{others} 取平均）",
        "{metric}\nmean over {n} seeds, band: 95% confidence interval": (
            "{metric}\n{n} 个随机种子的平均值，阴影带：95% 置信区间"
        ),
        "mu* (mean absolute elementary effect; bars: 95% bootstrap interval)": (
            "mu*（基本效应绝对值的平均；误差线：95% 自助法区间）"
        ),
        "sigma (spread of the effects)": "sigma（效应的离散程度）",
        "Morris screening: {metric}": "Morris 筛选：{metric}",
        "Sobol' indices: {metric}": "Sobol' 指数：{metric}",
        "S1 (first order)": "S1（一阶）",
        "ST (total)": "ST（总效应）",
        "share of the metric's variance": "占指标方差的比例",
    }
)

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
            ax.plot(
                mean.index,
                mean.to_numpy(),
                marker="o",
                label=_("{scenario} (mean over {others})", scenario=scenario, others=", ".join(others)),
            )
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
    ax.set_title(
        _("{metric}\nmean over {n} seeds, band: 95% confidence interval", metric=_label(metric), n=n), fontsize=10
    )
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
    for _row, r in rows.iterrows():
        ax.annotate(r["parameter"], (r["mu_star"], r["sigma"]), fontsize=7.5, xytext=(4, 3), textcoords="offset points")
    top = np.nanmax(np.r_[rows["mu_star"].to_numpy(dtype=float), rows["sigma"].to_numpy(dtype=float), 0.0])
    if np.isfinite(top) and top > 0:
        ax.plot([0, top], [0, top], ls="--", color="grey", lw=0.8, label="sigma = mu*")
        ax.legend(fontsize=8, frameon=False)
    ax.set_xlabel(_("mu* (mean absolute elementary effect; bars: 95% bootstrap interval)"))
    ax.set_ylabel(_("sigma (spread of the effects)"))
    ax.set_title(_("Morris screening: {metric}", metric=_label(metric)), fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_sobol(path: Path, table: pd.DataFrame, metric: str) -> None:
    """Sobol' indices of one metric: first-order and total, with their 95% intervals."""
    rows = table[table["metric"] == metric]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(rows) + 2), 4.6))
    ax.bar(x - 0.2, rows["S1"], 0.4, yerr=rows["S1_conf"], capsize=3, label=_("S1 (first order)"), color="#fdae61")
    ax.bar(x + 0.2, rows["ST"], 0.4, yerr=rows["ST_conf"], capsize=3, label=_("ST (total)"), color="#2c7bb6")
    ax.set_xticks(x)
    ax.set_xticklabels(rows["parameter"], rotation=30, ha="right", fontsize=7.5)
    ax.set_ylabel(_("share of the metric's variance"))
    ax.set_title(_("Sobol' indices: {metric}", metric=_label(metric)), fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


_replicates_phrases = Phrases(
    {
        "replicates (seeds 1..n)": "重复次数（随机种子 1..n）",
        "{metric}\nrunning mean, band: 95% interval; dashed: final mean ± target {target:g}": (
            "{metric}\n累计平均值，阴影带：95% 置信区间；虚线：最终平均值 ± 目标 {target:g}"
        ),
        "{metric}\nrunning mean, band: 95% interval; dashed: final mean ± target {target:g}"
        "\n(first {shown} of {total} combinations)": (
            "{metric}\n累计平均值，阴影带：95% 置信区间；虚线：最终平均值 ± 目标 {target:g}"
            "\n（{total} 个组合中的前 {shown} 个）"
        ),
    }
)


def plot_replicates(path: Path, running: pd.DataFrame, metric: str, target: float) -> None:
    """Running mean of ``metric`` and its 95% interval against the number of replicates, a line per combination.

    ``running`` is :func:`model.batch.replicates.running_table` (columns ``combination``,
    ``replicates``, ``mean``, ``half_width``). Around each combination's final mean, dashed lines
    at ± ``target``: the band its interval had to fit in. Up to ``MAX_LINES`` combinations (the
    first ones; the title says so). The vertical axis spans the means and the target bands with a
    margin: the wide intervals of the first few replicates run off it.
    """
    _ = _replicates_phrases
    names = list(dict.fromkeys(running["combination"]))
    shown = names[:MAX_LINES]
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    spans = []
    for name in shown:
        part = running[running["combination"] == name]
        x = part["replicates"].to_numpy(dtype=float)
        mean = part["mean"].to_numpy(dtype=float)
        half = part["half_width"].to_numpy(dtype=float)
        (line,) = ax.plot(x, mean, marker="o", ms=2.5, lw=1.2, label=name)
        ax.fill_between(x, mean - half, mean + half, color=line.get_color(), alpha=0.15, lw=0)
        final = mean[np.isfinite(mean)]
        if final.size:
            ax.hlines([final[-1] - target, final[-1] + target], 1, x[-1], color=line.get_color(), ls="--", lw=0.8)
            spans += [np.nanmin(final), np.nanmax(final), final[-1] - target, final[-1] + target]
    if spans:
        low, high = min(spans), max(spans)
        pad = max(high - low, 2 * target) * 0.5
        ax.set_ylim(low - pad, high + pad)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(_("replicates (seeds 1..n)"))
    ax.set_ylabel(_label(metric))
    title = "{metric}\nrunning mean, band: 95% interval; dashed: final mean ± target {target:g}"
    fields = {"metric": _label(metric), "target": target}
    if len(shown) < len(names):
        title += "\n(first {shown} of {total} combinations)"
        fields.update(shown=len(shown), total=len(names))
    ax.set_title(_(title, **fields), fontsize=10)
    ax.legend(fontsize=7.5, loc="best", frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
