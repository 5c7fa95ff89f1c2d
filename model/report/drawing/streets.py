"""Maps of a street scenario: the 5/10/15-minute bands drawn along the ways, homes and facilities.

The counterpart of maps.py (the grid's raster maps), with the same colours, titles and legends:
every way is drawn grey, then the parts within 15, 10 and 5 minutes on top in the band's colour
(``model.report.bands``: exact along the network), homes as small dots in the colour of their
own band, facilities as black-edged markers. Axes are metres of the scenario's CRS, north up.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.patches import Patch

from model.city.streets import StreetCity
from model.measures.access import BANDS_MIN
from model.report.bands import reached_segments
from model.report.drawing.maps import (
    BAND_COLOURS,
    FACILITY_COLOUR,
    GUIDANCE_AGE,
    MANY_MARKERS,
    TYPE_MARKERS,
    UNREACHABLE_COLOUR,
    WAY_COLOUR,
    annotate_shares,
    band_index,
    band_labels,
)
from model.scenario import Scenario

_MAP_IN = 8.0


def _figure(city: StreetCity):
    xy = city.surface.node_xy_m[: city.n_street]
    span = np.ptp(xy, axis=0) if xy.size else np.ones(2)
    aspect = float(span[1] / span[0]) if span[0] > 0 else 1.0
    w, h = (_MAP_IN, _MAP_IN * aspect) if aspect <= 1 else (_MAP_IN / aspect, _MAP_IN)
    fig, ax = plt.subplots(figsize=(w + 3.0, h + 1.2))
    ax.set_aspect("equal")
    ax.set_xlabel("x (m, east)")
    ax.set_ylabel("y (m, north)")
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.tick_params(labelsize=7)
    return fig, ax


def _draw_bands(ax, city: StreetCity, field_m: np.ndarray, pace: float) -> np.ndarray:
    """Ways grey, then the parts within each band on top; return every node's minutes."""
    edges = city.edges
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    xy = city.surface.node_xy_m
    ax.add_collection(LineCollection(np.stack([xy[u], xy[v]], axis=1), colors=WAY_COLOUR, linewidths=0.6, zorder=1))
    length = edges["length_m"].to_numpy()
    for k in range(len(BANDS_MIN) - 1, -1, -1):
        budget = BANDS_MIN[k] * pace
        segments = reached_segments(xy[u], xy[v], field_m[u], field_m[v], length, budget)
        ax.add_collection(LineCollection(segments, colors=BAND_COLOURS[k], linewidths=1.4, zorder=2 + (3 - k) * 0.1))
    ax.autoscale_view()
    with np.errstate(invalid="ignore", divide="ignore"):
        return field_m / pace


def _draw_homes(ax, city: StreetCity, minutes: np.ndarray) -> None:
    palette = np.array([*BAND_COLOURS[:-1], "#969696", UNREACHABLE_COLOUR])
    nodes = city.homes["node"].to_numpy()
    xy = city.surface.node_xy_m[nodes]
    ax.scatter(xy[:, 0], xy[:, 1], s=7, c=palette[band_index(minutes[nodes])], edgecolors="black", lw=0.2, zorder=4)


def _legend(minutes_at_homes: np.ndarray) -> list:
    bands = zip(BAND_COLOURS[:-1], band_labels()[:-1], strict=True)  # beyond the last band: the grey ways
    handles = [Patch(color=c, label=label) for c, label in bands]
    handles.append(Patch(color=WAY_COLOUR, label=f"way, over {BANDS_MIN[-1]} min"))
    handles.append(
        plt.Line2D([], [], marker="o", ls="", color="#969696", markeredgecolor="black", ms=4, label="home (its band)")
    )
    if not np.isfinite(minutes_at_homes).all():
        handles.append(Patch(facecolor=UNREACHABLE_COLOUR, edgecolor="grey", label="unreachable"))
    return handles


def _community_names(ax, city: StreetCity, scenario: Scenario) -> None:
    homes = city.homes
    xy = city.surface.node_xy_m
    for ci, com in enumerate(scenario.communities):
        mine = homes["node"].to_numpy()[homes["community"].to_numpy() == ci]
        if mine.size:
            x, y = xy[mine].mean(axis=0)
            ax.text(x, y, com.name, fontsize=7, ha="center", va="center", zorder=6, alpha=0.8)


def _save(fig, ax, path: Path, handles: list) -> None:
    legend = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    fig.savefig(path, dpi=100, bbox_inches="tight", bbox_extra_artists=[legend])
    plt.close(fig)


def plot_street_access_map(
    path: Path,
    city: StreetCity,
    scenario: Scenario,
    ftype: str,
    field_m: np.ndarray,
    pace_m_per_min: float,
    access: dict,
) -> None:
    """The walking-time map of one facility type along the streets (maps.plot_access_map on streets)."""
    fig, ax = _figure(city)
    minutes = _draw_bands(ax, city, field_m, pace_m_per_min)
    _draw_homes(ax, city, minutes)
    fac = city.facilities[city.facilities["type"] == ftype]
    many = len(fac) > MANY_MARKERS
    ax.scatter(
        fac["x"],
        fac["y"],
        marker="." if many else "*",
        s=6 if many else 140,
        c=FACILITY_COLOUR,
        edgecolors="none" if many else "black",
        linewidths=0.6,
        zorder=5,
    )
    ft = scenario.types[ftype]
    ax.set_title(
        f"{scenario.name}: walking time to the nearest {ft.label.lower()}, along the streets\n"
        f"at {pace_m_per_min:.1f} m/min, the median pace of its users (ages {ft.ages})",
        loc="left",
        fontsize=11,
    )
    handles = _legend(minutes[city.homes["node"].to_numpy()])
    handles.append(
        plt.Line2D([], [], marker="*", ls="", color=FACILITY_COLOUR, markeredgecolor="black", ms=11, label=ft.label)
    )
    annotate_shares(ax, access)
    _save(fig, ax, path, handles)


def plot_street_guidance_map(
    path: Path, city: StreetCity, scenario: Scenario, community_index: int, field_m: np.ndarray, gates: np.ndarray
) -> None:
    """The map posted at a community's gates (maps.plot_guidance_map on streets).

    ``gates``: the nodes the walks start from (the community's gates, or its homes when the
    scenario gives no gates); ``field_m``: metres from every node to the nearest of them.
    """
    com = scenario.communities[community_index]
    speed = scenario.speed_for(GUIDANCE_AGE)
    fig, ax = _figure(city)
    minutes = _draw_bands(ax, city, field_m, speed)
    _community_names(ax, city, scenario)
    handles = _legend(minutes[city.homes["node"].to_numpy()])[:-1]
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, 20))
    for i, t in enumerate(city.types):
        fac = city.facilities[city.facilities["type"] == t]
        marker, colour = TYPE_MARKERS[i % len(TYPE_MARKERS)], colours[(2 * i) % 20]
        ax.scatter(fac["x"], fac["y"], marker=marker, s=55, color=colour, edgecolors="black", lw=0.6, zorder=5)
        label = scenario.types[t].label
        handles.append(
            plt.Line2D([], [], marker=marker, ls="", color=colour, markeredgecolor="black", ms=7, label=label)
        )
    gxy = city.surface.node_xy_m[np.asarray(gates, dtype=np.int64)]
    ax.scatter(gxy[:, 0], gxy[:, 1], marker="^", s=90, c="white", edgecolors="black", lw=1.2, zorder=6)
    handles.append(plt.Line2D([], [], marker="^", ls="", color="white", markeredgecolor="black", ms=9, label="gate"))
    ax.set_title(
        f"{com.name}: what you reach on foot in 5, 10 and 15 minutes from its gates\n(adult at {speed:g} m/min)",
        loc="left",
        fontsize=11,
    )
    _save(fig, ax, path, handles)


def _panel_figure(city: StreetCity, n: int):
    """A row of ``n`` equal map panels of the city's extent (``_figure`` for a comparison)."""
    xy = city.surface.node_xy_m[: city.n_street]
    span = np.ptp(xy, axis=0) if xy.size else np.ones(2)
    aspect = float(span[1] / span[0]) if span[0] > 0 else 1.0
    side = 5.0
    w, h = (side, side * aspect) if aspect <= 1 else (side / aspect, side)
    fig, axes = plt.subplots(1, n, figsize=(w * n + 2.5, h + 1.4), squeeze=False, sharex=True, sharey=True)
    for ax in axes[0]:
        ax.set_aspect("equal")
        ax.set_xlabel("x (m, east)")
        ax.ticklabel_format(useOffset=False, style="plain")
        ax.tick_params(labelsize=6)
    axes[0][0].set_ylabel("y (m, north)")
    return fig, axes[0]


def _facility_marks(ax, city: StreetCity, ftype: str, marker: str = "*", size: float = 110, label=None) -> None:
    fac = city.facilities[city.facilities["type"] == ftype]
    if len(fac) > MANY_MARKERS:
        style = {"marker": ".", "s": 6, "c": FACILITY_COLOUR if marker == "*" else "black", "edgecolors": "none"}
    elif marker == "*":
        style = {"marker": "*", "s": size, "c": FACILITY_COLOUR, "edgecolors": "black", "linewidths": 0.6}
    else:  # an unfilled marker: no edge colour
        style = {"marker": marker, "s": size, "c": "black", "linewidths": 1.2}
    ax.scatter(fac["x"], fac["y"], zorder=5, label=label, **style)


def plot_street_side_by_side(path: Path, models: list, fields_m: list[np.ndarray], ftype: str, pace: float) -> None:
    """The access maps of one type in every scenario of a comparison, along the streets, side by side.

    Args:
        path: The PNG to write.
        models: The scenarios' runs (street scenarios on the same network).
        fields_m: Per model, metres from every node of its surface to the nearest facility of
            ``ftype`` (inf everywhere where it has none).
        ftype: The facility type.
        pace: The pace every panel is drawn at, m/min.
    """
    fig, axes = _panel_figure(models[0].city, len(models))
    homes_minutes = None
    for ax, model, field in zip(axes, models, fields_m, strict=True):
        minutes = _draw_bands(ax, model.city, field, pace)
        _draw_homes(ax, model.city, minutes)
        _facility_marks(ax, model.city, ftype)
        ax.set_title(model.spec.name, fontsize=9)
        if homes_minutes is None:
            homes_minutes = minutes[model.city.homes["node"].to_numpy()]
    label = models[0].spec.types[ftype].label
    handles = _legend(homes_minutes)
    handles.append(
        plt.Line2D([], [], marker="*", ls="", color=FACILITY_COLOUR, markeredgecolor="black", ms=10, label=label)
    )
    fig.suptitle(
        f"{ftype}: walking time to the nearest {label.lower()} along the streets, at {pace:.1f} m/min "
        "(the median pace of its users)",
        fontsize=10,
    )
    fig.tight_layout()
    legend = fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    fig.savefig(path, dpi=100, bbox_inches="tight", bbox_extra_artists=[legend])
    plt.close(fig)


def home_change(base, other, before: np.ndarray, after: np.ndarray) -> pd.DataFrame:
    """Per home of the first scenario also in the second: home_id, x, y (metres), before, after, change.

    ``before`` and ``after``: per node of each scenario's own surface (its homes' nodes read them);
    homes are matched by home_id. ``change`` is NaN where either is infinite.
    """
    a = base.city.homes[["home_id", "x", "y", "node"]]
    b = other.city.homes[["home_id", "node"]]
    both = a.merge(b, on="home_id", suffixes=("", "_other"))
    first = np.asarray(before, dtype=float)[both["node"].to_numpy()]
    second = np.asarray(after, dtype=float)[both["node_other"].to_numpy()]
    with np.errstate(invalid="ignore"):
        change = np.where(np.isfinite(first) & np.isfinite(second), second - first, np.nan)
    return pd.DataFrame(
        {"home_id": both["home_id"], "x": both["x"], "y": both["y"], "before": first, "after": second, "change": change}
    )


def plot_street_difference(path: Path, base, other, before: np.ndarray, after: np.ndarray, ftype: str) -> None:
    """Walking minutes gained (negative) or lost at every home, ``other`` minus ``base``, on the ways.

    ``before`` and ``after``: minutes per node of each scenario's own surface (:func:`home_change`).
    """
    from matplotlib.colors import TwoSlopeNorm

    city = base.city
    fig, ax = _figure(city)
    u, v = city.edges["u"].to_numpy(), city.edges["v"].to_numpy()
    xy = city.surface.node_xy_m
    ax.add_collection(LineCollection(np.stack([xy[u], xy[v]], axis=1), colors=WAY_COLOUR, linewidths=0.6, zorder=1))
    ax.autoscale_view()
    homes = home_change(base, other, before, after)
    delta = homes["change"].to_numpy()
    finite = delta[np.isfinite(delta)]
    top = float(np.abs(finite).max()) if finite.size and np.abs(finite).max() > 0 else 1.0
    gone = ~np.isfinite(delta)
    if gone.any():
        ax.scatter(homes["x"][gone], homes["y"][gone], s=10, c=UNREACHABLE_COLOUR, edgecolors="grey", lw=0.3, zorder=3)
    dots = ax.scatter(
        homes["x"][~gone],
        homes["y"][~gone],
        s=16,
        c=delta[~gone],
        cmap="PuOr_r",
        norm=TwoSlopeNorm(vcenter=0.0, vmin=-top, vmax=top),
        edgecolors="black",
        lw=0.3,
        zorder=4,
    )
    _facility_marks(ax, base.city, ftype, "x", 70, f"{ftype}: {base.spec.name}")
    _facility_marks(ax, other.city, ftype, "*", 110, f"{ftype}: {other.spec.name}")
    fig.colorbar(dots, ax=ax, label="change of walking minutes (purple: shorter, orange: longer)", shrink=0.8)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.1), frameon=False, title="facilities")
    ax.set_title(
        f"{ftype}: walking minutes gained or lost at every home, along the streets\n"
        f"{other.spec.name} minus {base.spec.name}",
        loc="left",
        fontsize=10,
    )
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
