"""Charts of one run: coverage by type and age band, occupancy through the day, exposure by group."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from model.scenario import Scenario


def plot_coverage(path: Path, table: pd.DataFrame, scenario: Scenario) -> None:
    """Grouped bars: share of users reaching each type within its level, one bar per age band."""
    types = list(dict.fromkeys(table["type"]))
    bands = [str(b) for b in scenario.ages]
    colours = plt.get_cmap("viridis")(np.linspace(0.1, 0.9, len(bands)))
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(types) + 3), 4.8))
    most = max((int((table["type"] == t).sum()) for t in types), default=1)
    width = 0.8 / max(1, most)
    labelled = set()
    for i, t in enumerate(types):  # each type's bars side by side, centred on its tick
        rows = table[table["type"] == t]
        for k, (band, share) in enumerate(zip(rows["age_band"], rows["within_level"])):
            j = bands.index(band)
            ax.bar(
                i + (k - (len(rows) - 1) / 2) * width,
                share,
                width=width,
                color=colours[j],
                label=None if band in labelled else f"age {band}",
            )
            labelled.add(band)
    ax.set_xticks(range(len(types)))
    ax.set_xticklabels(
        [f"{t}\n({scenario.types[t].level_min:g} min)" for t in types], rotation=30, ha="right", fontsize=8
    )
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of users within the life-circle level")
    ax.set_title(f"{scenario.name}: who reaches each facility type within its level, by age")
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        order = sorted(range(len(labels)), key=lambda k: bands.index(labels[k].removeprefix("age ")))
        ax.legend(
            [handles[k] for k in order],
            [labels[k] for k in order],
            fontsize=8,
            ncol=2,
            loc="upper left",
            bbox_to_anchor=(1.01, 1),
            frameon=False,
        )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _hhmm(minute: float) -> str:
    return f"{int(minute) // 60:02d}:{int(minute) % 60:02d}"


def plot_occupancy(path: Path, series: pd.DataFrame, model) -> None:
    """Visitors present by facility type through the day (mean over days), and where residents are.

    ``series`` is timeseries.csv: one row per tick, with the clock ``minute`` of each.
    """
    by_minute = series.groupby("minute").mean(numeric_only=True)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7.5), sharex=True, height_ratios=[3, 2])
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, 20))
    for i, t in enumerate(model.city.types):
        top.plot(by_minute.index, by_minute[f"occupancy_{t}"], label=t, color=colours[i % 20], lw=1.4)
    top.set_ylabel("visitors present")
    days = model.days
    top.set_title(
        f"{model.scenario.name}: occupancy through the day by facility type"
        + (f" (mean of {days} days)" if days > 1 else "")
    )
    if model.city.types:
        top.legend(fontsize=8, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    for key, colour in (("walking", "#2c7bb6"), ("waiting", "#d7191c"), ("at_facilities", "#1a9641")):
        bottom.plot(by_minute.index, by_minute[key], label=key.replace("_", " "), color=colour)
    bottom.set_ylabel("residents")
    bottom.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    ticks = np.arange(by_minute.index.min() // 60 * 60, by_minute.index.max() + 1, 120)
    bottom.set_xticks(ticks)
    bottom.set_xticklabels([_hhmm(m) for m in ticks])
    bottom.set_xlabel("time of day")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_exposure(path: Path, mixing: dict, title: str) -> None:
    """Exposure of each group to the others: where they live (blocks, communities) and where they go."""
    groups = list(mixing["activity"]["exposure"])
    series = {
        f"residential, blocks of {mixing['block_cells']} cells": mixing["residential"]["blocks"]["exposure"],
        "residential, communities": mixing["residential"]["communities"]["exposure"],
        "activity (co-presence at facilities)": mixing["activity"]["exposure"],
    }
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / len(series)
    for j, (label, values) in enumerate(series.items()):
        ys = [values.get(g) for g in groups]
        ys = [np.nan if v is None else v for v in ys]
        ax.bar(
            np.arange(len(groups)) + (j - 1) * width,
            ys,
            width=width,
            label=label,
            color=("#fdae61", "#fee08b", "#2c7bb6")[j],
        )
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("exposure to other groups (share of company)")
    ax.set_title(f"{title}: residential versus activity exposure by group")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
