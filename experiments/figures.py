"""The README's figures and tables, drawn from the tables of the bundled batches.

    lifecircle batch experiments/embedded_residence.toml --out results/embedded_residence
    lifecircle batch experiments/care_sensitivity.toml --out results/care_sensitivity
    lifecircle batch experiments/coverage_levels.toml --out results/coverage_levels
    python -m experiments.figures results/embedded_residence results/care_sensitivity \
        results/coverage_levels docs/img

Only the batches' tables are read (summary.csv, sensitivity.csv, and embedded_residence's
results.csv for the differences paired by seed): every number drawn or printed is in them or
computed from them here. Writes embedded_residence.png, care_sensitivity.png and worst_served.png into the
last folder and prints the README's tables (Markdown) on standard output.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

GROUPS = {"mongol": "Mongol", "hui": "Hui"}
MIX = "population.mixing"
WEAK = "facility_types.park.beta_per_min"  # set only in the weak-decay cases
SCALES = {
    "mixing.residential.blocks": ("homes, blocks of ~200 m", "#fdae61", "o"),
    "mixing.residential.communities": ("homes, communities", "#d7191c", "s"),
    "mixing.residential.catchment": ("homes within a 15-minute walk", "#7b3294", "D"),
    "mixing.activity": ("activity: company at facilities", "#2c7bb6", "o"),
}
TYPES: list[str] = []  # the types of wuhai_life_circle in the catalogue's order, set by main()
LEVELS: dict[str, float] = {}  # their level_min (GB 50180-2018), set by main()


def _grid(summary: pd.DataFrame) -> pd.DataFrame:
    """The rows of the mixing sweep (catalogue distance decay), without the weak-decay cases."""
    return summary[summary[WEAK].isna()] if WEAK in summary else summary


def _weak(summary: pd.DataFrame) -> pd.DataFrame:
    """The rows of the weak-decay cases (empty if the batch has none)."""
    return summary[summary[WEAK].notna()] if WEAK in summary else summary.iloc[:0]


def _series(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    return table[table["metric"] == metric].sort_values(MIX)


def _line(ax, table, metric, label, colour, marker, **kw):
    rows = _series(table, metric)
    x = rows[MIX].to_numpy()
    ax.plot(x, rows["mean"], marker=marker, ms=4, color=colour, label=label, **kw)
    ax.fill_between(x, rows["ci95_low"], rows["ci95_high"], color=colour, alpha=0.25, lw=0)


def _weak_points(ax, table, metric, colour, label):
    rows = _series(table, metric)
    if rows.empty:
        return
    err = np.vstack([rows["mean"] - rows["ci95_low"], rows["ci95_high"] - rows["mean"]])
    ax.errorbar(
        rows[MIX], rows["mean"], yerr=err, fmt="^", ms=7, mfc="white", color=colour, capsize=3, label=label, zorder=5
    )


def embedded(summary: pd.DataFrame, path: Path) -> None:
    """Relative exposure by scale against residential mixing, dissimilarity and experienced isolation."""
    grid, weak = _grid(summary), _weak(summary)
    fig, axes = plt.subplots(2, 3, figsize=(14, 8.6))
    xlabel = "residential mixing (0: groups apart, 1: homes at random)"
    for col, (group, title) in enumerate(GROUPS.items()):
        for row in range(2):
            ax = axes[row, col]
            for prefix, (label, colour, marker) in SCALES.items():
                if row == 1 and prefix.endswith("blocks"):
                    continue
                _line(ax, grid, f"{prefix}.relative_exposure.{group}", label, colour, marker)
            _weak_points(
                ax,
                weak,
                f"mixing.activity.relative_exposure.{group}",
                "#2c7bb6",
                "activity, weak distance decay (beta 0.05/min)",
            )
            ax.axhline(1.0, ls="--", color="grey", lw=0.9, label="random meeting (1)")
            ax.grid(alpha=0.3)
            ax.set_xlabel(xlabel, fontsize=9)
        axes[0, col].set_title(f"{title}: relative exposure, every scale", fontsize=10.5)
        axes[1, col].set_title(f"{title}: zoom on the scales of a walk", fontsize=10.5)
    for row in range(2):
        axes[row, 0].set_ylabel("relative exposure to other groups\n= exposure / (1 - group share)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    ax = axes[0, 2]
    for prefix, (label, colour, marker) in SCALES.items():
        if prefix.endswith("catchment"):
            continue
        _line(
            ax,
            grid,
            f"{prefix}.multigroup_dissimilarity",
            label.replace("activity: company", "person-minutes"),
            colour,
            marker,
        )
    _weak_points(ax, weak, "mixing.activity.multigroup_dissimilarity", "#2c7bb6", "facilities, weak decay")
    ax.set_title("multigroup dissimilarity D, one formula", fontsize=10.5)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    ax = axes[1, 2]
    for group, colour in zip(GROUPS, ("#1b9e77", "#d95f02"), strict=True):
        _line(ax, grid, f"mixing.activity.experienced_isolation.{group}", GROUPS[group], colour, "o")
        _weak_points(ax, weak, f"mixing.activity.experienced_isolation.{group}", colour, f"{GROUPS[group]}, weak decay")
    ax.axhline(0.0, ls="--", color="grey", lw=0.9)
    ax.set_title("experienced isolation at facilities\n(own-group company: members minus others)", fontsize=10.5)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.suptitle(
        "Wuhai life circle: mixing where minorities live and where they go, at matched scales (10 seeds, 95% CI)"
    )
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=80)
    plt.close(fig)


def morris(table: pd.DataFrame, path: Path) -> None:
    """Heat map of Morris mu* (parameter x metric): shares on one scale, sfca_mean columns on their own."""
    metrics = list(dict.fromkeys(table["metric"]))
    params = list(dict.fromkeys(table["parameter"]))
    mu = table.pivot(index="parameter", columns="metric", values="mu_star").loc[params, metrics]
    conf = table.pivot(index="parameter", columns="metric", values="mu_star_conf").loc[params, metrics]
    shares = [m for m in metrics if not m.endswith("sfca_mean")]
    top = pd.Series({m: mu[m].max() if m.endswith("sfca_mean") else mu[shares].to_numpy().max() for m in metrics})
    scaled = (mu / top.replace(0, np.nan)).fillna(0.0)
    fig, ax = plt.subplots(figsize=(14, 7.6))
    ax.imshow(scaled.to_numpy(), cmap="Blues", vmin=0, vmax=1.15, aspect="auto")
    for i in range(len(params)):
        for j in range(len(metrics)):
            m, c = mu.iat[i, j], conf.iat[i, j]
            text = "0" if m == 0 else (f"{m:.2f}\n±{c:.2f}" if m >= 0.01 else ("<0.001" if m < 0.0005 else f"{m:.3f}"))
            ax.text(
                j, i, text, ha="center", va="center", fontsize=7, color="white" if scaled.iat[i, j] > 0.6 else "black"
            )
    ax.set_yticks(range(len(params)))
    ax.set_yticklabels([p.removeprefix("facility_types.") for p in params], fontsize=8.5)
    ax.set_xticks(range(len(metrics)))
    ax.set_xticklabels([_short(m) for m in metrics], fontsize=8.5, rotation=35, ha="right")
    for j in range(4, len(metrics), 4):
        ax.axvline(j - 0.5, color="black", lw=1.2)
    ax.set_title(
        "Morris screen on the Wuhai life circle: mu* (mean absolute effect across the range, "
        "± bootstrap 95%); 10 trajectories, 3 seeds per point.\nShares (unmet, sfca_zero, within level) "
        "shaded on one scale; sfca_mean (places per user) on its own column's",
        fontsize=10.5,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _short(metric: str) -> str:
    head, kind, figure = metric.split(".")
    return f"{kind}: {figure.replace('_share', '').replace('within_level', 'within level')}"


def worst_served(summary: pd.DataFrame, path: Path, scenario: str = "wuhai_life_circle") -> None:
    """within_level of each type overall, by age band and by group, with 95% intervals over seeds."""
    rows = summary[summary["scenario"] == scenario]
    fig, axes = plt.subplots(1, 2, figsize=(13, 7.4), sharey=True)
    y = np.arange(len(TYPES))
    for ax, kind in zip(axes, ("by_age", "by_group"), strict=True):
        keys = sorted(
            {m.split(".")[3] for m in rows["metric"] if m.split(".")[2:3] == [kind]},
            key=lambda k: int(k.split("-")[0]) if k[0].isdigit() else k,
        )
        colours = (
            plt.get_cmap("tab10")(np.arange(len(keys)) % 10)
            if kind == "by_age"
            else ["#377eb8", "#ff7f00", "#4daf4a"][: len(keys)]
        )
        offsets = np.linspace(-0.3, 0.3, len(keys)) if len(keys) > 1 else [0.0]
        for key, colour, dy in zip(keys, colours, offsets, strict=True):
            xs, ys, lo, hi = [], [], [], []
            for i, t in enumerate(TYPES):
                r = rows[rows["metric"] == f"access.{t}.{kind}.{key}.within_level"]
                n = rows[rows["metric"] == f"access.{t}.{kind}.{key}.users"]
                if r.empty or r["mean"].isna().all() or n.empty or n["mean"].iat[0] < 20:
                    continue
                xs.append(r["mean"].iat[0])
                ys.append(i + dy)
                lo.append(r["mean"].iat[0] - r["ci95_low"].iat[0])
                hi.append(r["ci95_high"].iat[0] - r["mean"].iat[0])
            ax.errorbar(xs, ys, xerr=[lo, hi], fmt="o", ms=4, color=colour, label=key, capsize=2)
        for i, t in enumerate(TYPES):
            r = rows[rows["metric"] == f"access.{t}.within_level"]
            ax.plot(
                [r["mean"].iat[0]] * 2,
                [i - 0.42, i + 0.42],
                color="black",
                lw=1.6,
                label="all users" if i == 0 else None,
            )
        ax.set_yticks(y)
        ax.set_yticklabels([f"{t} ({_level(rows, t)})" for t in TYPES], fontsize=9)
        ax.set_xlim(0, 1.02)
        ax.grid(axis="x", alpha=0.3)
        ax.set_xlabel("share of users within the type's own level (within_level)")
        ax.set_title("by age band (bands with at least 20 users)" if kind == "by_age" else "by group")
        ax.legend(
            fontsize=8,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.09),
            ncol=6 if kind == "by_age" else 4,
            frameon=False,
        )
    axes[0].invert_yaxis()
    fig.suptitle(f"{scenario}: who is worst served, at each type's own level (10 seeds, 95% CI)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _level(rows: pd.DataFrame, t: str) -> str:
    return f"{LEVELS[t]:g} min"


def _ci(r) -> str:
    if pd.isna(r["ci95_low"]):
        return f"{r['mean']:.3f}"
    return f"{r['mean']:.3f} [{r['ci95_low']:.3f}, {r['ci95_high']:.3f}]"


def _get(table: pd.DataFrame, metric: str, **where) -> pd.Series:
    rows = table[table["metric"] == metric]
    for key, value in where.items():
        rows = rows[rows[key] == value] if value is not None else rows[rows[key].isna()]
    if len(rows) != 1:
        raise KeyError(f"{metric} {where}: {len(rows)} rows")
    return rows.iloc[0]


def _paired(results: pd.DataFrame, group: str, mix: float, weak: bool) -> str:
    """Mean and 95% interval over seeds of activity minus catchment relative exposure, paired by seed."""
    from scipy import stats

    rows = results[(results[MIX] == mix) & (results[WEAK].notna() if weak else results[WEAK].isna())]
    by = rows.pivot_table(index="seed", columns="metric", values="value")
    d = by[f"mixing.activity.relative_exposure.{group}"] - by[f"mixing.residential.catchment.relative_exposure.{group}"]
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return f"{d.mean():+.4f} [{d.mean() - half:+.4f}, {d.mean() + half:+.4f}]"


def tables(
    embedded_summary: pd.DataFrame,
    care: pd.DataFrame,
    coverage: pd.DataFrame,
    results: pd.DataFrame | None = None,
    care_summary: pd.DataFrame | None = None,
) -> str:
    """The README's tables, in Markdown, from the batches' tables."""
    out = []
    grid, weak = _grid(embedded_summary), _weak(embedded_summary)
    mixes = sorted(grid[MIX].unique())
    out.append("Matched-scale mixing (embedded_residence summary.csv): mean [95% CI], 10 seeds\n")
    weak_heads = " | weak decay, mixing 0 | weak decay, mixing 1"
    out.append("| figure | " + " | ".join(f"mixing {m:g}" for m in mixes) + weak_heads + " |")
    out.append("|---|" + "---:|" * (len(mixes) + 2))
    for group in GROUPS:
        for prefix, (label, _, _) in SCALES.items():
            metric = f"{prefix}.relative_exposure.{group}"
            cells = [_ci(_get(grid, metric, **{MIX: m})) for m in mixes]
            cells += [_ci(_get(weak, metric, **{MIX: m})) for m in (0.0, 1.0)] if not weak.empty else []
            out.append(f"| {GROUPS[group]}, relative exposure, {label} | " + " | ".join(cells) + " |")
        for metric, label in (
            (f"mixing.activity.experienced_isolation.{group}", "experienced isolation"),
            (f"mixing.activity.coverage_by_group.{group}", "had company (coverage)"),
        ):
            cells = [_ci(_get(grid, metric, **{MIX: m})) for m in mixes]
            cells += [_ci(_get(weak, metric, **{MIX: m})) for m in (0.0, 1.0)] if not weak.empty else []
            out.append(f"| {GROUPS[group]}, {label} | " + " | ".join(cells) + " |")
    for prefix, label in (
        ("mixing.residential.blocks", "homes, blocks"),
        ("mixing.residential.communities", "homes, communities"),
        ("mixing.activity", "facilities, person-minutes"),
    ):
        metric = f"{prefix}.multigroup_dissimilarity"
        cells = [_ci(_get(grid, metric, **{MIX: m})) for m in mixes]
        cells += [_ci(_get(weak, metric, **{MIX: m})) for m in (0.0, 1.0)] if not weak.empty else []
        out.append(f"| multigroup dissimilarity, {label} | " + " | ".join(cells) + " |")
    if results is not None:
        out.append(
            "\nPaired by seed (embedded_residence results.csv): activity minus catchment relative exposure,"
            " mean [95% CI, Student's t]\n"
        )
        for group in GROUPS:
            cells = []
            for decay in ("catalogue", "weak"):
                for m in mixes if decay == "catalogue" else [0.0, 1.0]:
                    cells.append(f"{decay} decay, mixing {m:g}: {_paired(results, group, m, decay == 'weak')}")
            out.append(f"- {GROUPS[group]}: " + "; ".join(cells))
    out.append("\nAbsolute exposures (mean [95% CI]):\n")
    for group in GROUPS:
        for prefix, (label, _, _) in SCALES.items():
            metric = f"{prefix}.exposure.{group}"
            cells = [_ci(_get(grid, metric, **{MIX: m})) for m in mixes]
            out.append(f"| {GROUPS[group]}, exposure, {label} | " + " | ".join(cells) + " |")

    out.append("\nMorris (care_sensitivity sensitivity.csv): mu_star ± mu_star_conf\n")
    metrics = list(dict.fromkeys(care["metric"]))
    params = list(dict.fromkeys(care["parameter"]))
    out.append("| parameter | " + " | ".join(_short(m) for m in metrics) + " |")
    out.append("|---|" + "---:|" * len(metrics))
    for p in params:
        cells = []
        for m in metrics:
            r = care[(care["parameter"] == p) & (care["metric"] == m)].iloc[0]
            cells.append(f"{r['mu_star']:.3f} ± {r['mu_star_conf']:.3f}")
        out.append(f"| {p.removeprefix('facility_types.')} | " + " | ".join(cells) + " |")

    if care_summary is not None:
        out.append(
            "\nRange over the Morris design points (care_sensitivity summary.csv: seed means):"
            " min / median / max; median std over seeds\n"
        )
        for m in metrics:
            rows = care_summary[care_summary["metric"] == m]
            q = rows["mean"].quantile([0, 0.5, 1]).to_numpy()
            out.append(f"- {m}: {q[0]:.3f} / {q[1]:.3f} / {q[2]:.3f}; seeds' std {rows['std'].median():.4f}")

    scenarios = list(dict.fromkeys(coverage["scenario"]))
    out.append("\nCoverage (coverage_levels summary.csv): mean [95% CI]\n")
    figures = ("within_level", "within_15", "sfca_mean", "sfca_zero", "gini_min")
    head = " | ".join(f"{s}: {f}" for s in scenarios for f in (*figures, "unmet_share"))
    out.append(f"| type (level) | {head} |")
    out.append("|---|" + "---:|" * ((len(figures) + 1) * len(scenarios)))
    for t in TYPES:
        cells = []
        for s in scenarios:
            rows = coverage[coverage["scenario"] == s]
            for f in figures:
                cells.append(_ci(_get(rows, f"access.{t}.{f}")))
            cells.append(_ci(_get(rows, f"usage.{t}.unmet_share")))
        out.append(f"| {t} ({LEVELS[t]:g} min) | " + " | ".join(cells) + " |")
    for s in scenarios:
        rows = coverage[coverage["scenario"] == s]
        out.append(
            f"\n{s}: life_circle_complete {_ci(_get(rows, 'life_circle_complete'))}; "
            f"fifteen_minute_usage {_ci(_get(rows, 'usage.fifteen_minute_usage'))}"
        )
        out.append(f"\n{s}: demand and supply of the care types (users; visits, turned away a day; peak / capacity):\n")
        for t in ("elderly_care", "kindergarten", "nursery"):
            figs = [f"access.{t}.users", *(f"usage.{t}.{f}" for f in ("visits", "turned_away", "peak_occupancy_ratio"))]
            out.append(f"- {t}: " + "; ".join(f"{f.rsplit('.', 1)[1]} {_ci(_get(rows, f))}" for f in figs))
        out.append(f"\n{s}: elderly_care within_level by group and age band:\n")
        for kind in ("by_group", "by_age"):
            sub = rows[
                rows["metric"].str.startswith(f"access.elderly_care.{kind}.")
                & rows["metric"].str.endswith(".within_level")
            ]
            out.append(
                "- "
                + "; ".join(
                    f"{m.rsplit('.', 2)[1]} {_ci(r)}" for m, (_, r) in zip(sub["metric"], sub.iterrows(), strict=True)
                )
            )
        out.append(f"\n{s}: worst-served group and age band (lowest within_level):\n")
        for t in TYPES:
            parts = []
            for kind in ("by_group", "by_age"):
                sub = rows[
                    rows["metric"].str.startswith(f"access.{t}.{kind}.") & rows["metric"].str.endswith(".within_level")
                ]
                users = rows[
                    rows["metric"].str.startswith(f"access.{t}.{kind}.") & rows["metric"].str.endswith(".users")
                ]
                big = {m.rsplit(".", 2)[1] for m, v in zip(users["metric"], users["mean"], strict=True) if v >= 20}
                keep = [m.rsplit(".", 2)[1] in big for m in sub["metric"]]
                sub = sub[keep].dropna(subset=["mean"])
                worst = sub.loc[sub["mean"].idxmin()]
                parts.append(f"{worst['metric'].rsplit('.', 2)[1]} {_ci(worst)}")
            out.append(f"- {t}: group {parts[0]}; age band {parts[1]}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Draw the README's three charts and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("embedded", type=Path, help="output folder of experiments/embedded_residence.toml")
    parser.add_argument("care", type=Path, help="output folder of experiments/care_sensitivity.toml")
    parser.add_argument("coverage", type=Path, help="output folder of experiments/coverage_levels.toml")
    parser.add_argument("out", type=Path, help="folder for the PNG files")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    from model.scenario import load_scenario

    scenario = load_scenario("wuhai_life_circle")
    TYPES[:] = scenario.types_present
    LEVELS.update({t: scenario.types[t].level_min for t in TYPES})
    emb = pd.read_csv(args.embedded / "summary.csv")
    care = pd.read_csv(args.care / "sensitivity.csv")
    cov = pd.read_csv(args.coverage / "summary.csv")
    embedded(emb, args.out / "embedded_residence.png")
    morris(care, args.out / "care_sensitivity.png")
    worst_served(cov, args.out / "worst_served.png")
    wanted = {f"mixing.{k}.relative_exposure.{g}" for k in ("activity", "residential.catchment") for g in GROUPS}
    res = pd.read_csv(args.embedded / "results.csv")
    print(tables(emb, care, cov, res[res["metric"].isin(wanted)], pd.read_csv(args.care / "summary.csv")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
