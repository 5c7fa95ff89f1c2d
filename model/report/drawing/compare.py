"""Charts of a comparison: access maps side by side, minutes gained or lost, who gained coverage.

The maps carry what every map carries (model/report/drawing/furniture.py: scale bar, north arrow,
the type's symbol, community names) and, given the type's site table (model/planning/sites.py),
the new, moved and closed sites of each scenario after the first.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.patches import Patch

from model.report.drawing import furniture
from model.report.drawing.furniture import in_sentence, site_marks, site_status, status_handles, type_handle, type_marks
from model.report.drawing.maps import GUIDANCE_MAX_COMMUNITIES, band_handles, band_map, draw_communities
from model.report.lang import Phrases

_ = Phrases(
    {
        "{value}\n(few users)": "{value}\n（使用者过少）",
        "by age band": "按年龄段",
        "by group": "按群体",
        "change in percentage points": "变化（百分点）",
        "type, option": "类型，方案",
        "Who gained coverage: users within the type's own level, each option minus {first}\n"
        "bar: mean over seeds; whisker: 95% interval; pale, hatched: too few users to rank": (
            "谁的覆盖增加了：在该类型层级以内的使用者，各方案减 {first}\n"
            "柱：各随机种子的均值；须线：95% 区间；浅色斜线：使用者过少，不排序"
        ),
        "{ftype}: walking time to the nearest {label}, at {pace:.1f} m/min (the median pace of its users)": (
            "{ftype}：到最近的 {label} 的步行时间，步速 {pace:.1f} 米/分钟（其使用者步速的中位数）"
        ),
        "change of walking minutes (purple: shorter, orange: longer)": "步行时间的变化（分钟；紫色：缩短，橙色：延长）",
        "facilities": "设施",
        "{ftype}: {scenario}": "{ftype}：{scenario} 方案",
        "{ftype}: walking minutes gained or lost at every home cell\n{other} minus {base}": (
            "{ftype}：每个居住网格步行时间的增减\n{other} 减 {base}"
        ),
    }
)


def _cells_to_metres(city):
    """Cell numbers (x or y) of ``city`` to the metres of their centres."""
    return lambda v: (np.asarray(v, dtype=float) + 0.5) * city.cell_m


def _sites(ax, model, ftype: str, size: float = furniture.SITE_SIZE) -> None:
    fac = model.city.facilities[model.city.facilities["type"] == ftype]
    centre = _cells_to_metres(model.city)
    type_marks(ax, ftype, centre(fac["x"]), centre(fac["y"]), size=size)


def _named(model) -> bool:
    return len(model.spec.communities) <= GUIDANCE_MAX_COMMUNITIES


def plot_side_by_side(
    path: Path, models: list, minutes: list[np.ndarray], ftype: str, pace: float, sites: pd.DataFrame | None = None
) -> None:
    """The access maps of one type in every scenario, at the same pace, side by side.

    ``sites``: the type's site table (model/planning/sites.py, ``site_table``); with it, the new,
    moved and closed sites of each scenario after the first are marked (furniture.site_marks).
    """
    n = len(models)
    city = models[0].city
    panel_in = 4.6  # width of a panel, inches; its height follows the grid's aspect
    fig, axes = plt.subplots(1, n, figsize=(panel_in * n, panel_in * city.height / city.width + 0.9), squeeze=False)
    drawn = set()
    for k, (ax, model, mins) in enumerate(zip(axes[0], models, minutes, strict=True)):
        band_map(ax, model.city, mins)
        ax.set_anchor("N")  # the room an equal-aspect panel leaves goes below it, where the picture is cropped
        _sites(ax, model, ftype)
        if sites is not None and k > 0:
            drawn |= site_marks(ax, site_status(sites, model.spec.name), _cells_to_metres(model.city))
        ax.set_title(model.spec.name, fontsize=9)
    label = models[0].spec.types[ftype].label
    fig.suptitle(
        _(
            "{ftype}: walking time to the nearest {label}, at {pace:.1f} m/min (the median pace of its users)",
            ftype=ftype,
            label=in_sentence(label),
            pace=pace,
        ),
        fontsize=10,
    )
    fig.tight_layout()
    for ax, model in zip(axes[0], models, strict=True):
        draw_communities(ax, model.city, model.spec, names=_named(model))
        furniture.furnish(ax)
    handles = [*band_handles(models[0].city, minutes[0], "blocked"), type_handle(ftype, label), *status_handles(drawn)]
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    furniture.save(fig, path)


def plot_difference(
    path: Path,
    base,
    other,
    before: np.ndarray,
    after: np.ndarray,
    homes: np.ndarray,
    ftype: str,
    sites: pd.DataFrame | None = None,
) -> None:
    """Minutes gained (negative: shorter walks) or lost per home cell, ``other`` minus ``base``.

    The sites drawn are ``other``'s, with its new, moved and closed sites marked when ``sites``
    (the type's site table) is given; without it, the first scenario's sites as crosses.
    """
    city = base.city
    m = city.cell_m
    with np.errstate(invalid="ignore"):  # inf - inf where a cell reaches none in both
        delta = np.where(homes & np.isfinite(before) & np.isfinite(after), after - before, np.nan)
    fig, ax = plt.subplots(figsize=(7.5, 6.0))
    grey = np.where(city.walkable, 1.0, 0.35)
    ax.imshow(
        grey, cmap="gray", vmin=0, vmax=1, extent=(0, city.width * m, city.height * m, 0), interpolation="nearest"
    )
    finite = delta[np.isfinite(delta)]
    top = float(np.abs(finite).max()) if finite.size and np.abs(finite).max() > 0 else 1.0
    image = ax.imshow(
        delta,
        cmap="PuOr_r",
        norm=TwoSlopeNorm(vcenter=0.0, vmin=-top, vmax=top),
        extent=(0, city.width * m, city.height * m, 0),
        interpolation="nearest",
    )
    _sites(ax, other, ftype)
    handles = [type_handle(ftype, _("{ftype}: {scenario}", ftype=ftype, scenario=other.spec.name))]
    if sites is not None:
        status = site_status(sites, other.spec.name)
        handles += status_handles(site_marks(ax, status, _cells_to_metres(city)))
    else:
        was = base.city.facilities[base.city.facilities["type"] == ftype]
        label = _("{ftype}: {scenario}", ftype=ftype, scenario=base.spec.name)
        handles.append(furniture.first_sites_crossed(ax, (was["x"] + 0.5) * m, (was["y"] + 0.5) * m, label))
    fig.colorbar(image, ax=ax, label=_("change of walking minutes (purple: shorter, orange: longer)"), shrink=0.8)
    ax.set_title(
        _(
            "{ftype}: walking minutes gained or lost at every home cell\n{other} minus {base}",
            ftype=ftype,
            other=other.spec.name,
            base=base.spec.name,
        ),
        fontsize=10,
    )
    fig.tight_layout()
    draw_communities(ax, city, base.spec, names=_named(base))
    furniture.furnish(ax)
    ax.legend(
        handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.02), frameon=False, title=_("facilities")
    )
    furniture.save(fig, path)


def plot_who_gained(path: Path, groups: pd.DataFrame, names: list[str], types: list[str]) -> None:
    """Change of coverage within each type's level, by age band and by group, each scenario minus the first.

    ``groups`` is groups.csv (model/planning/replicates.py): each bar is the mean paired difference
    over seeds, its whisker the 95% interval (none with one seed); groups flagged ``few_users`` are
    drawn pale and hatched, their labels marked, as the report does not rank them.
    """
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2), sharey=True)
    first = names[0]
    handles: list[Patch] = []
    for ax, by in zip(axes, ("age", "group"), strict=True):
        part = groups[(groups["by"] == by) & groups["type"].isin(types)]
        values = list(dict.fromkeys(part["value"]))
        few = set(part.loc[(part["scenario"] == first) & part["few_users"].astype(bool), "value"])
        bars = len(types) * (len(names) - 1)
        width = 0.8 / max(1, bars)
        k = 0
        for name in names[1:]:
            other = part[part["scenario"] == name].set_index(["type", "value"])
            for t in types:
                rows = other.reindex([(t, v) for v in values])
                delta = rows["diff"].to_numpy(dtype=float) * 100
                low = rows["diff_lo"].to_numpy(dtype=float) * 100
                high = rows["diff_hi"].to_numpy(dtype=float) * 100
                x = np.arange(len(values)) + (k - 0.5 * (bars - 1)) * width
                colour = f"C{k % 10}"
                pale = np.array([v in few for v in values])
                ax.bar(x[~pale], delta[~pale], width, color=colour)
                if by == "age":
                    handles.append(Patch(color=colour, label=f"{t}, {name}"))
                ax.bar(x[pale], delta[pale], width, color=colour, alpha=0.35, hatch="//", edgecolor=colour)
                err = np.vstack([delta - low, high - delta])
                if np.isfinite(err).any():
                    ax.errorbar(x, delta, yerr=np.nan_to_num(err), fmt="none", ecolor="black", elinewidth=1, capsize=2)
                k += 1
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(range(len(values)))
        ax.set_xticklabels([_("{value}\n(few users)", value=v) if v in few else v for v in values], fontsize=10)
        ax.tick_params(axis="y", labelsize=10)
        ax.set_title(_("by age band") if by == "age" else _("by group"), fontsize=12)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel(_("change in percentage points"), fontsize=10)
    axes[1].legend(
        handles=handles, fontsize=10, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1), title=_("type, option")
    )
    fig.suptitle(
        _(
            "Who gained coverage: users within the type's own level, each option minus {first}\n"
            "bar: mean over seeds; whisker: 95% interval; pale, hatched: too few users to rank",
            first=first,
        ),
        fontsize=12,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
