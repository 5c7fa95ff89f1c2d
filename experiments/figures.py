"""The README's figures, drawn from the tables of the bundled batches.

    lifecircle batch experiments/embedded_residence.toml --out results/embedded_residence
    lifecircle batch experiments/care_sensitivity.toml --out results/care_sensitivity
    python -m experiments.figures results/embedded_residence results/care_sensitivity docs/img

Only summary.csv and sensitivity.csv are read: every number drawn is in those tables.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

GROUPS = {"mongol": "Mongol (6%)", "hui": "Hui (4%)"}
SERIES = {
    "mixing.residential.blocks.exposure": ("residential, blocks of ~200 m", "#fdae61"),
    "mixing.residential.communities.exposure": ("residential, communities", "#d7191c"),
    "mixing.activity.exposure": ("activity (co-presence at facilities)", "#2c7bb6"),
}


def embedded(summary: pd.DataFrame, shares: dict[str, float], path: Path) -> None:
    """Exposure to other groups against residential mixing, by scale, with 95% intervals."""
    fig, axes = plt.subplots(1, len(GROUPS), figsize=(11, 4.4), sharey=True)
    for ax, (group, title) in zip(axes, GROUPS.items(), strict=True):
        for prefix, (label, colour) in SERIES.items():
            rows = summary[summary["metric"] == f"{prefix}.{group}"].sort_values("population.mixing")
            x = rows["population.mixing"].to_numpy()
            ax.plot(x, rows["mean"], marker="o", color=colour, label=label)
            ax.fill_between(x, rows["ci95_low"], rows["ci95_high"], color=colour, alpha=0.25, lw=0)
        ax.axhline(1 - shares[group], ls="--", color="grey", lw=0.9, label="1 - group share (random meeting)")
        ax.set_title(title)
        ax.set_xlabel("population.mixing (0: groups in contiguous parts, 1: homes at random)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("exposure to other groups")
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle("Wuhai life circle: where minorities meet others, by residential mixing (10 seeds, 95% CI)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def morris(table: pd.DataFrame, path: Path) -> None:
    """mu_star of every parameter for every unmet share, with bootstrap 95% intervals."""
    metrics = list(dict.fromkeys(table["metric"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 5.2), sharey=True)
    params = list(dict.fromkeys(table["parameter"]))
    labels = [p.removeprefix("facility_types.") for p in params]
    for ax, metric in zip(np.atleast_1d(axes), metrics, strict=True):
        rows = table[table["metric"] == metric].set_index("parameter").loc[params]
        y = np.arange(len(params))
        ax.barh(y, rows["mu_star"], xerr=rows["mu_star_conf"], color="#2c7bb6", capsize=2)
        ax.set_yticks(y)
        ax.set_yticklabels(labels, fontsize=7.5)
        ax.invert_yaxis()
        ax.set_title(metric.removeprefix("usage.").replace(".unmet_share", ": unmet share"), fontsize=10)
        ax.set_xlabel("mu* (effect across the range)")
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("Morris screen on the Wuhai life circle: what drives unserved visits (3 seeds per point)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Draw docs/img/embedded_residence.png and docs/img/care_sensitivity.png."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("embedded", type=Path, help="output folder of experiments/embedded_residence.toml")
    parser.add_argument("care", type=Path, help="output folder of experiments/care_sensitivity.toml")
    parser.add_argument("out", type=Path, help="folder for the PNG files")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    from model.scenario import load_scenario

    shares = load_scenario("wuhai_life_circle").groups
    embedded(pd.read_csv(args.embedded / "summary.csv"), shares, args.out / "embedded_residence.png")
    morris(pd.read_csv(args.care / "sensitivity.csv"), args.out / "care_sensitivity.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
