"""Charts of a comparison: access maps side by side, minutes gained or lost, who gained coverage."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.patches import Patch

from model.report.drawing.maps import FACILITY_COLOUR, band_handles, band_image


def _panel(ax, model, minutes: np.ndarray, ftype: str, title: str) -> None:
    city = model.city
    m = city.cell_m
    ax.imshow(band_image(city, minutes), interpolation="nearest", extent=(0, city.width * m, city.height * m, 0))
    fac = city.facilities[city.facilities["type"] == ftype]
    ax.scatter(
        (fac["x"] + 0.5) * m, (fac["y"] + 0.5) * m, marker="*", s=90, c=FACILITY_COLOUR, edgecolors="black", lw=0.5
    )
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("x (m)")
    ax.set_aspect("equal")


def plot_side_by_side(path: Path, models: list, minutes: list[np.ndarray], ftype: str, pace: float) -> None:
    """The access maps of one type in every scenario, at the same pace, side by side."""
    n = len(models)
    fig, axes = plt.subplots(1, n, figsize=(4.6 * n, 4.8), squeeze=False)
    for ax, model, mins in zip(axes[0], models, minutes, strict=True):
        _panel(ax, model, mins, ftype, model.spec.name)
    axes[0][0].set_ylabel("y (m)")
    handles = band_handles(models[0].city, minutes[0], "blocked")
    label = models[0].spec.types[ftype].label.lower()
    fig.suptitle(
        f"{ftype}: walking time to the nearest {label}, at {pace:.1f} m/min (the median pace of its users)", fontsize=10
    )
    fig.tight_layout()
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def plot_difference(
    path: Path, base, other, before: np.ndarray, after: np.ndarray, homes: np.ndarray, ftype: str
) -> None:
    """Minutes gained (negative: shorter walks) or lost per home cell, ``other`` minus ``base``."""
    city = base.city
    m = city.cell_m
    with np.errstate(invalid="ignore"):  # inf - inf where a cell reaches none in both
        delta = np.where(homes & np.isfinite(before) & np.isfinite(after), after - before, np.nan)
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
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
    for model, marker, label in ((base, "x", base.spec.name), (other, "*", other.spec.name)):
        fac = model.city.facilities[model.city.facilities["type"] == ftype]
        ax.scatter(
            (fac["x"] + 0.5) * m, (fac["y"] + 0.5) * m, marker=marker, s=70, c="black", label=f"{ftype}: {label}"
        )
    fig.colorbar(image, ax=ax, label="change of walking minutes (purple: shorter, orange: longer)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.12), frameon=False, title="facilities")
    ax.set_title(
        f"{ftype}: walking minutes gained or lost at every home cell\n{other.spec.name} minus {base.spec.name}",
        fontsize=10,
    )
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


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
        ax.set_xticklabels([f"{v}\n(few users)" if v in few else v for v in values], fontsize=10)
        ax.tick_params(axis="y", labelsize=10)
        ax.set_title(f"by {'age band' if by == 'age' else 'group'}", fontsize=12)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("change in percentage points", fontsize=10)
    axes[1].legend(
        handles=handles, fontsize=10, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1), title="type, option"
    )
    fig.suptitle(
        f"Who gained coverage: users within the type's own level, each option minus {first}\n"
        "bar: mean over seeds; whisker: 95% interval; pale, hatched: too few users to rank",
        fontsize=12,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
