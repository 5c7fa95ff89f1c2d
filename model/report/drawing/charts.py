"""Charts of one run: coverage by type and age band, occupancy through the day, exposure by group.

Every text is at least 7 points at the size the chart is saved (its figure size), so that it
reads when printed at that size; titles and labels follow ``--lang`` (model/report/lang.py).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from model.report.lang import Phrases
from model.scenario import Scenario

_ = Phrases(
    {
        "{type} ({level:g} min)": "{type}（{level:g} 分钟）",
        "age band (its users)": "年龄段（使用者人数）",
        "share of users within the life-circle level": "在生活圈层级内可达的使用者比例",
        "{scenario}: who reaches each facility type within its level, by age": (
            "{scenario}：各类设施在其生活圈层级内的可达人群，按年龄"
        ),
        "{type}: open space (reference {places:,}), admits everyone": (
            "{type}：开放空间（参考容量 {places:,}），不限人数"
        ),
        "{type}: {places:,} places, {turned:,.0f} turned away/day ({people:,.0f} people)": (
            "{type}：{places:,} 个位置，每日被拒 {turned:,.0f} 次（{people:,.0f} 人）"
        ),
        "residents": "居民",
        "walking": "步行中",
        "waiting": "等候中",
        "at facilities": "在设施内",
        "{scenario}: visitors present through the day (blue) against the places of each type (dashed)": (
            "{scenario}：全天在场访客（蓝线）与各类设施容量（虚线）"
        ),
        ", mean of {days} days": "，{days} 天平均",
        "residential, blocks of {cells} cells": "居住，{cells} 格街区",
        "residential, communities": "居住，社区",
        "residential, within a 15-minute walk": "居住，15 分钟步行范围内",
        "activity (co-presence at facilities)": "活动（在设施中同时在场）",
        "as mixed as chance (1)": "与随机混合相同（1）",
        "relative exposure to other groups\n(their share of one's company ÷ their share of all residents;\n"
        "1: as mixed as chance, below 1: more among one's own group)": (
            "对其他群体的相对接触度\n（同伴中其他群体的比例 ÷ 其他群体占全部居民的比例；\n"
            "1：与随机混合相同，低于 1：更多与本群体相处）"
        ),
        "{title}: relative exposure by group, where they live and where they go": (
            "{title}：各群体的相对接触度，居住地与活动地"
        ),
    }
)

COVERAGE_COLUMNS = 4  # panels per row of the coverage chart
TEXT_PT = 7.5  # the smallest text of a chart, points at the saved size (print-readable: at least 7)


def plot_coverage(path: Path, table: pd.DataFrame, scenario: Scenario) -> None:
    """One panel per type: share of its users within its level, one bar per age band, the users under each bar."""
    types = list(dict.fromkeys(table["type"]))
    bands = [str(b) for b in scenario.ages]
    colours = plt.get_cmap("viridis")(np.linspace(0.1, 0.9, len(bands)))
    cols = max(1, min(COVERAGE_COLUMNS, len(types)))
    rows = max(1, (len(types) + cols - 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 2.9 * rows + 0.7), squeeze=False, sharey=True)
    for ax, t in zip(axes.flat, types, strict=False):
        part = table[table["type"] == t]
        x = np.arange(len(part))
        shown = [str(b) for b in part["age_band"]]
        ax.bar(x, part["within_level"], width=0.8, color=[colours[bands.index(b)] for b in shown])
        ax.set_xticks(x)
        ax.set_xticklabels(
            [f"{b} ({users:,})" for b, users in zip(shown, part["users"], strict=True)],
            rotation=90,
            fontsize=TEXT_PT,
        )
        ax.set_xlim(-0.6, max(len(part), 3) - 0.4)
        ax.set_title(_("{type} ({level:g} min)", type=t, level=scenario.types[t].level_min), fontsize=9)
        ax.tick_params(axis="y", labelsize=TEXT_PT)
        ax.set_ylim(0, 1.0)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes.flat[len(types) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(_("share of users within the life-circle level"), fontsize=8)
    fig.supxlabel(_("age band (its users)"), fontsize=9)
    fig.suptitle(_("{scenario}: who reaches each facility type within its level, by age", scenario=scenario.name))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _hhmm(minute: float) -> str:
    return f"{int(minute) // 60:02d}:{int(minute) % 60:02d}"


def plot_occupancy(path: Path, series: pd.DataFrame, model) -> None:
    """Visitors present through the day, one panel per facility type, against the type's capacity.

    ``series`` is timeseries.csv (one row per tick, with its clock ``minute``); the mean over days
    is drawn. Each panel gives the type's places (the sum of its facilities' capacities, a dashed
    line) and its turn-aways per day, attempts and the people turned away at least once
    (``usage.<type>.turned_away`` and ``turned_away_people``; an open space admits everyone: its
    places are a reference figure); the last panel shows where residents are.
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
        turned, people = usage[t]["turned_away"], usage[t]["turned_away_people"]  # attempts, and people
        if model.spec.types[t].open_space:  # admits everyone: the places are a reference figure
            ax.set_title(
                _("{type}: open space (reference {places:,}), admits everyone", type=t, places=places), fontsize=8.5
            )
        else:
            ax.set_title(
                _(
                    "{type}: {places:,} places, {turned:,.0f} turned away/day ({people:,.0f} people)",
                    type=t,
                    places=places,
                    turned=turned,
                    people=people,
                ),
                fontsize=8.5,
            )
        ax.set_ylim(0, max(places, by_minute[f"occupancy_{t}"].max()) * 1.1 + 1)
    ax = axes.flat[len(types)]
    for key, colour, style in (
        ("walking", "#2c7bb6", "-"),
        ("waiting", "#d95f02", "--"),
        ("at_facilities", "#1b9e77", ":"),
    ):
        ax.plot(by_minute.index, by_minute[key], label=_(key.replace("_", " ")), color=colour, ls=style)
    ax.set_title(_("residents"), fontsize=8.5)
    ax.legend(fontsize=TEXT_PT, frameon=False)
    for ax in axes.flat[len(types) + 1 :]:
        ax.set_visible(False)
    for ax in axes.flat:
        ax.set_xticks(ticks)
        ax.set_xticklabels([_hhmm(m) for m in ticks], fontsize=TEXT_PT)
        ax.tick_params(axis="y", labelsize=TEXT_PT)
    days = model.days
    title = _(
        "{scenario}: visitors present through the day (blue) against the places of each type (dashed)",
        scenario=model.spec.name,
    )
    fig.suptitle(title + (_(", mean of {days} days", days=days) if days > 1 else ""), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_exposure(path: Path, mixing: dict, title: str) -> None:
    """Relative exposure of each group to the others, where they live and where they go.

    Relative exposure (docs/metrics.md): a group's exposure to the others over the others' share
    of all residents, so that 1 is as mixed as chance whatever the group's size (absolute
    exposure reads as segregation for a majority group: the others are few). Residential on
    blocks, on communities and within each resident's 15-minute walk (the scale of the places
    one goes to), beside activity at facilities; a dashed line marks 1.
    """
    groups = list(mixing["activity"]["relative_exposure"])
    series = {
        _("residential, blocks of {cells} cells", cells=mixing["block_cells"]): mixing["residential"]["blocks"][
            "relative_exposure"
        ],
        _("residential, communities"): mixing["residential"]["communities"]["relative_exposure"],
    }
    colours = ["#fdae61", "#fee08b"]
    if "catchment" in mixing["residential"]:
        series[_("residential, within a 15-minute walk")] = mixing["residential"]["catchment"]["relative_exposure"]
        colours.append("#abd9e9")
    series[_("activity (co-presence at facilities)")] = mixing["activity"]["relative_exposure"]
    colours.append("#2c7bb6")
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / len(series)
    top = 1.0
    for j, (label, values) in enumerate(series.items()):
        ys = np.array([np.nan if values.get(g) is None else values[g] for g in groups], dtype=float)
        if np.isfinite(ys).any():
            top = max(top, float(np.nanmax(ys)))
        ax.bar(
            np.arange(len(groups)) + (j - (len(series) - 1) / 2) * width,
            ys,
            width=width,
            label=label,
            color=colours[j],
            gid=f"relative-exposure-{j}",
        )
    ax.axhline(1.0, color="black", ls="--", lw=1.0, label=_("as mixed as chance (1)"))
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, fontsize=9)
    ax.tick_params(axis="y", labelsize=8)
    ax.set_ylim(0, top * 1.1)
    ax.set_ylabel(
        _(
            "relative exposure to other groups\n(their share of one's company ÷ their share of all residents;\n"
            "1: as mixed as chance, below 1: more among one's own group)"
        ),
        fontsize=8,
    )
    ax.set_title(_("{title}: relative exposure by group, where they live and where they go", title=title), fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
