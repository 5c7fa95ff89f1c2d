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
        for k, (band, share, users) in enumerate(zip(rows["age_band"], rows["within_level"], rows["users"])):
            j = bands.index(band)
            x = i + (k - (len(rows) - 1) / 2) * width
            ax.bar(x, share, width=width, color=colours[j], label=None if band in labelled else f"age {band}")
            # how many residents the bar stands for
            ax.text(x, share + 0.01, f"{users:,}", rotation=90, ha="center", va="bottom", fontsize=5.5)
            labelled.add(band)
    ax.set_xticks(range(len(types)))
    ax.set_xticklabels(
        [f"{t}\n({scenario.types[t].level_min:g} min)" for t in types], rotation=30, ha="right", fontsize=8
    )
    ax.set_ylim(0, 1.2)
    ax.set_ylabel("share of users within the life-circle level\n(number above a bar: its users)")
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
    """Visitors present through the day, one panel per facility type, against the type's capacity.

    ``series`` is timeseries.csv (one row per tick, with its clock ``minute``); the mean over days
    is drawn. Each panel gives the type's places (the sum of its facilities' capacities, a dashed
    line) and its turned-away visits per day (an open space admits everyone: its places are a
    reference figure); the last panel shows where residents are.
    """
    by_minute = series.groupby("minute").mean(numeric_only=True)
    types = list(model.city.types)
    fac = model.city.facilities
    usage = model.summary()["usage"]
    cols = 3
    rows = (len(types) + 1 + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(11, 2.3 * rows + 0.8), squeeze=False)
    ticks = np.arange(by_minute.index.min() // 60 * 60, by_minute.index.max() + 1, 180)
    for ax, t in zip(axes.flat, types, strict=False):
        places = int(fac.loc[fac["type"] == t, "capacity"].sum())
        ax.plot(by_minute.index, by_minute[f"occupancy_{t}"], color="#2c7bb6", lw=1.3)
        ax.axhline(places, ls="--", color="#d95f02", lw=1.0)
        turned = usage[t]["turned_away"]
        if model.spec.types[t].open_space:  # admits everyone: the places are a reference figure
            ax.set_title(f"{t}: open space (reference {places:,}), admits everyone", fontsize=8.5)
        else:
            ax.set_title(f"{t}: {places:,} places, {turned:,.0f} turned away/day", fontsize=8.5)
        ax.set_ylim(0, max(places, by_minute[f"occupancy_{t}"].max()) * 1.1 + 1)
    ax = axes.flat[len(types)]
    for key, colour, style in (
        ("walking", "#2c7bb6", "-"),
        ("waiting", "#d95f02", "--"),
        ("at_facilities", "#1b9e77", ":"),
    ):
        ax.plot(by_minute.index, by_minute[key], label=key.replace("_", " "), color=colour, ls=style)
    ax.set_title("residents", fontsize=8.5)
    ax.legend(fontsize=7, frameon=False)
    for ax in axes.flat[len(types) + 1 :]:
        ax.set_visible(False)
    for ax in axes.flat:
        ax.set_xticks(ticks)
        ax.set_xticklabels([_hhmm(m) for m in ticks], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
    days = model.days
    fig.suptitle(
        f"{model.spec.name}: visitors present through the day (blue) against the places of each type "
        f"(dashed){f', mean of {days} days' if days > 1 else ''}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_exposure(path: Path, mixing: dict, title: str) -> None:
    """Exposure of each group to the others, where they live and where they go.

    Residential exposure on blocks, on communities and within each resident's 15-minute walk (the
    scale of the places one goes to), beside activity exposure at facilities.
    """
    groups = list(mixing["activity"]["exposure"])
    series = {
        f"residential, blocks of {mixing['block_cells']} cells": mixing["residential"]["blocks"]["exposure"],
        "residential, communities": mixing["residential"]["communities"]["exposure"],
    }
    colours = ["#fdae61", "#fee08b"]
    if "catchment" in mixing["residential"]:
        series["residential, within a 15-minute walk"] = mixing["residential"]["catchment"]["exposure"]
        colours.append("#abd9e9")
    series["activity (co-presence at facilities)"] = mixing["activity"]["exposure"]
    colours.append("#2c7bb6")
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / len(series)
    for j, (label, values) in enumerate(series.items()):
        ys = [values.get(g) for g in groups]
        ys = [np.nan if v is None else v for v in ys]
        ax.bar(
            np.arange(len(groups)) + (j - (len(series) - 1) / 2) * width,
            ys,
            width=width,
            label=label,
            color=colours[j],
        )
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("exposure to other groups (share of company)")
    ax.set_title(f"{title}: residential versus activity exposure by group")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
