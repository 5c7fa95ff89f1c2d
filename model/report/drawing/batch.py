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
        "share of the metric's variance\n(0 to 1; values beyond are estimation error)": (
            "占指标方差的比例\n（0 到 1；超出部分为估计误差）"
        ),
        "N = {n}, {seeds} seed(s) per point": "N = {n}，每个设计点 {seeds} 个随机种子",
        " (below the minimum N = {m}: allow_small)": "（低于最小 N = {m}：allow_small）",
        "; seed noise unknown (one seed per point)": "；随机种子噪声未知（每点一个种子）",
        "seeds alone: {share:.0%} of single-run variance, {means:.0%} left in the point means": (
            "仅随机种子：占单次运行方差的 {share:.0%}，设计点均值中残留 {means:.0%}"
        ),
        "interval wider than mu*: cannot be ranked": "区间宽于 mu*：无法排序",
        "flagged: outside [0, 1] or ST < S1 beyond the intervals (sensitivity.csv flag)": (
            "已标记：超出 [0, 1] 或 ST < S1 且超出区间（见 sensitivity.csv 的 flag 列）"
        ),
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


def _noise_note(rows: pd.DataFrame) -> str:
    """The design's size and the seeds' share of the metric's variance, as lines under a chart's title."""
    if "seed_variance_share" not in rows or rows.empty:
        return ""
    r = rows.iloc[0]
    share = float(r["seed_variance_share"])
    size = _("N = {n}, {seeds} seed(s) per point", n=int(r["N"]), seeds=int(r["seeds_per_point"]))
    if "minimum_N" in rows and np.isfinite(r["minimum_N"]) and r["N"] < r["minimum_N"]:
        size += _(" (below the minimum N = {m}: allow_small)", m=int(r["minimum_N"]))
    if not np.isfinite(share):
        return "\n" + size + _("; seed noise unknown (one seed per point)")
    noise = _(
        "seeds alone: {share:.0%} of single-run variance, {means:.0%} left in the point means",
        share=share,
        means=float(r["seed_noise_in_means"]),
    )
    return "\n" + size + "\n" + noise


def _flagged(rows: pd.DataFrame) -> np.ndarray:
    """Which rows sensitivity.csv flags (model/batch/sensitivity.py flags)."""
    if "flag" not in rows:
        return np.zeros(len(rows), dtype=bool)
    return rows["flag"].fillna("").astype(str).str.len().to_numpy() > 0


def plot_morris(path: Path, table: pd.DataFrame, metric: str) -> None:
    """Morris screening of one metric: mu_star (importance) against sigma (interaction, non-linearity).

    A parameter whose mu_star interval is wider than mu_star (``flag``: the screen cannot rank
    it) is drawn as a hollow red marker and named in the legend. The title gives N, the seeds per
    point and the seeds' share of the metric's variance (``seed_variance_share``).
    """
    rows = table[table["metric"] == metric]
    flagged = _flagged(rows)
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    ok, bad = rows[~flagged], rows[flagged]
    ax.errorbar(ok["mu_star"], ok["sigma"], xerr=ok["mu_star_conf"], fmt="o", color="#2c7bb6", capsize=3)
    if len(bad):
        ax.errorbar(
            bad["mu_star"],
            bad["sigma"],
            xerr=bad["mu_star_conf"],
            fmt="o",
            mfc="none",
            color="#d7191c",
            capsize=3,
            label=_("interval wider than mu*: cannot be ranked"),
        )
    # labels of points that (nearly) coincide are stacked rather than written over one another
    span = max(float(np.nanmax(np.r_[rows["mu_star"].to_numpy(dtype=float), 0.0])), 1e-12)
    stacked: dict[tuple, int] = {}
    for _row, r in rows.iterrows():
        where = (round(float(r["mu_star"]) / span, 2), round(float(r["sigma"]) / span, 2))
        k = stacked.get(where, 0)
        stacked[where] = k + 1
        name = r["parameter"].removeprefix("facility_types.")
        ax.annotate(name, (r["mu_star"], r["sigma"]), fontsize=7.5, xytext=(4, 3 + 9 * k), textcoords="offset points")
    top = np.nanmax(np.r_[rows["mu_star"].to_numpy(dtype=float), rows["sigma"].to_numpy(dtype=float), 0.0])
    if np.isfinite(top) and top > 0:
        ax.plot([0, top], [0, top], ls="--", color="grey", lw=0.8, label="sigma = mu*")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, frameon=False)
    ax.set_xlabel(_("mu* (mean absolute elementary effect; bars: 95% bootstrap interval)"))
    ax.set_ylabel(_("sigma (spread of the effects)"))
    ax.set_title(_("Morris screening: {metric}", metric=_label(metric)) + _noise_note(rows), fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


SOBOL_AXIS = (-0.1, 1.1)  # a share of variance lies in [0, 1]; estimates beyond are cut at the axis and labelled


def plot_sobol(path: Path, table: pd.DataFrame, metric: str) -> None:
    """Sobol' indices of one metric: first-order and total, with their 95% intervals.

    The axis shows shares of variance, [0, 1] (with a margin): a bar beyond it is cut at the
    edge with its estimate written there, so that no bar above 1 reads as a share; the intervals
    are drawn around the estimates themselves. A parameter that sensitivity.csv flags (an index
    outside [0, 1] beyond its interval, or ST below S1 beyond both) gets a red marker, explained
    in the legend. The title gives N, the seeds per point and the seeds' share of the variance.
    """
    rows = table[table["metric"] == metric]
    x = np.arange(len(rows))
    low, high = SOBOL_AXIS
    fig, ax = plt.subplots(figsize=(max(7.0, 0.9 * len(rows) + 2), 5.0))
    for offset, index, label, color in (
        (-0.2, "S1", _("S1 (first order)"), "#fdae61"),
        (0.2, "ST", _("ST (total)"), "#2c7bb6"),
    ):
        values = rows[index].to_numpy(dtype=float)
        ax.bar(x + offset, np.clip(values, low, high), 0.4, label=label, color=color)
        ax.errorbar(x + offset, values, yerr=rows[f"{index}_conf"], fmt="none", ecolor="black", capsize=3)
        for xi, v in zip(x + offset, values, strict=True):
            if np.isfinite(v) and not low <= v <= high:
                ax.annotate(
                    f"{v:.2f}",
                    (xi, high if v > high else low),
                    xytext=(0, -12 if v > high else 3),
                    textcoords="offset points",
                    ha="center",
                    fontsize=7.5,
                    color="#d7191c",
                    bbox={"fc": "white", "ec": "none", "alpha": 0.85, "pad": 1},
                )
    flagged = _flagged(rows)
    if flagged.any():
        ax.plot(
            x[flagged],
            np.full(flagged.sum(), low / 2),  # under the bars, in the margin below 0
            ls="none",
            marker="v",
            ms=9,
            color="#d7191c",
            label=_("flagged: outside [0, 1] or ST < S1 beyond the intervals (sensitivity.csv flag)"),
        )
    ax.axhline(1.0, color="grey", lw=0.6, ls=":")
    ax.axhline(0.0, color="grey", lw=0.6)
    ax.set_ylim(low, high)
    ax.set_xticks(x)
    ax.set_xticklabels(
        [p.removeprefix("facility_types.") for p in rows["parameter"]], rotation=30, ha="right", fontsize=7.5
    )
    ax.set_ylabel(_("share of the metric's variance\n(0 to 1; values beyond are estimation error)"), fontsize=9)
    ax.set_title(_("Sobol' indices: {metric}", metric=_label(metric)) + _noise_note(rows), fontsize=9)
    # below the axes, where no bar is
    ax.legend(fontsize=7.5, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.34), ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
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
