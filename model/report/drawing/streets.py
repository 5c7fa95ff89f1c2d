"""Maps of a street scenario: the 5/10/15-minute bands drawn along the ways, homes and facilities.

The counterpart of maps.py (the grid's raster maps), with the same colours, titles, legends,
symbols and map furniture (model/report/drawing/furniture.py: scale bar, north arrow, no ticks):
every way is drawn grey, then the parts within 15, 10 and 5 minutes on top in the band's colour
(``model.report.bands``: exact along the network), homes as small dots in the colour of their
own band, facilities with their type's symbol. Drawn in metres of the scenario's CRS, north up.
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
from model.report.drawing import furniture
from model.report.drawing.furniture import in_sentence, site_marks, site_status, status_handles, type_handle, type_marks
from model.report.drawing.maps import (
    ACCESS_SITE_SIZE,
    BAND_COLOURS,
    GUIDANCE_AGE,
    GUIDANCE_MAX_COMMUNITIES,
    UNREACHABLE_COLOUR,
    WAY_COLOUR,
    annotate_shares,
    band_index,
    band_labels,
)
from model.report.lang import Phrases
from model.scenario import Scenario

_ = Phrases(
    {
        "way, over {k} min": "超过 {k} 分钟的道路",
        "home (its band)": "住宅（按其时段着色）",
        "unreachable": "不可达",
        "gate": "小区出入口",
        "{scenario}: walking time to the nearest {label}, along the streets\n"
        "at {pace:.1f} m/min, the median pace of its users (ages {ages})": (
            "{scenario}：沿街道到最近的 {label} 的步行时间\n"
            "步速 {pace:.1f} 米/分钟，即其使用者步速的中位数（年龄 {ages}）"
        ),
        "{community}: what you reach on foot in 5, 10 and 15 minutes from its gates\n(adult at {speed:g} m/min)": (
            "{community}：从小区出入口步行 5、10、15 分钟可达的设施\n（成年人，步速 {speed:g} 米/分钟）"
        ),
        "{ftype}: walking time to the nearest {label} along the streets, at {pace:.1f} m/min "
        "(the median pace of its users)": (
            "{ftype}：沿街道到最近的 {label} 的步行时间，步速 {pace:.1f} 米/分钟（其使用者步速的中位数）"
        ),
        "change of walking minutes (purple: shorter, orange: longer)": "步行时间的变化（分钟；紫色：缩短，橙色：延长）",
        "facilities": "设施",
        "{ftype}: walking minutes gained or lost at every home, along the streets\n{other} minus {base}": (
            "{ftype}：沿街道每处住宅步行时间的增减\n{other} 减 {base}"
        ),
        "{ftype}: {scenario}": "{ftype}：{scenario} 方案",
        "home no longer reaching one": "不再可达的住宅",
    }
)

_MAP_IN = 8.0


def _figure(city: StreetCity):
    xy = city.surface.node_xy_m[: city.n_street]
    span = np.ptp(xy, axis=0) if xy.size else np.ones(2)
    aspect = float(span[1] / span[0]) if span[0] > 0 else 1.0
    w, h = (_MAP_IN, _MAP_IN * aspect) if aspect <= 1 else (_MAP_IN / aspect, _MAP_IN)
    fig, ax = plt.subplots(figsize=(w + 3.0, h + 1.2))
    ax.set_aspect("equal")
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
    handles.append(Patch(color=WAY_COLOUR, label=_("way, over {k} min", k=BANDS_MIN[-1])))
    handles.append(
        plt.Line2D(
            [], [], marker="o", ls="", color="#969696", markeredgecolor="black", ms=4, label=_("home (its band)")
        )
    )
    if not np.isfinite(minutes_at_homes).all():
        handles.append(Patch(facecolor=UNREACHABLE_COLOUR, edgecolor="grey", label=_("unreachable")))
    return handles


def _community_names(ax, city: StreetCity, scenario: Scenario) -> None:
    """Each community's name at the mean of its homes, inside the map (at most GUIDANCE_MAX_COMMUNITIES named)."""
    if len(scenario.communities) > GUIDANCE_MAX_COMMUNITIES:
        return
    homes = city.homes
    xy = city.surface.node_xy_m
    labels = []
    for ci, com in enumerate(scenario.communities):
        mine = homes["node"].to_numpy()[homes["community"].to_numpy() == ci]
        if mine.size:
            x, y = xy[mine].mean(axis=0)
            label = ax.text(x, y, com.name, fontsize=7.5, ha="center", va="center", zorder=7)
            label.set_path_effects(furniture.HALO)
            labels.append(label)
    furniture.keep_inside(ax, labels)


def _fix_limits(ax) -> None:
    """Freeze the map's limits at what it draws, so that the furniture and the names placed next stay put."""
    ax.autoscale_view()
    ax.set_xlim(ax.get_xlim())
    ax.set_ylim(ax.get_ylim())


def _save(fig, ax, path: Path, handles: list) -> None:
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    furniture.save(fig, path)


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
    type_marks(ax, ftype, fac["x"].to_numpy(), fac["y"].to_numpy(), size=ACCESS_SITE_SIZE)
    _fix_limits(ax)
    furniture.furnish(ax)
    _community_names(ax, city, scenario)
    ft = scenario.types[ftype]
    ax.set_title(
        _(
            "{scenario}: walking time to the nearest {label}, along the streets\n"
            "at {pace:.1f} m/min, the median pace of its users (ages {ages})",
            scenario=scenario.name,
            label=in_sentence(ft.label),
            pace=pace_m_per_min,
            ages=ft.ages,
        ),
        loc="left",
        fontsize=11,
    )
    handles = _legend(minutes[city.homes["node"].to_numpy()])
    handles.append(type_handle(ftype, ft.label, ms=10, count=len(fac)))
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
    handles = _legend(minutes[city.homes["node"].to_numpy()])[:-1]
    for t in city.types:
        fac = city.facilities[city.facilities["type"] == t]
        type_marks(ax, t, fac["x"].to_numpy(), fac["y"].to_numpy())
        handles.append(type_handle(t, scenario.types[t].label, count=len(fac)))
    gxy = city.surface.node_xy_m[np.asarray(gates, dtype=np.int64)]
    ax.scatter(gxy[:, 0], gxy[:, 1], marker="^", s=90, c="white", edgecolors="black", lw=1.2, zorder=6)
    handles.append(plt.Line2D([], [], marker="^", ls="", color="white", markeredgecolor="black", ms=9, label=_("gate")))
    _fix_limits(ax)
    furniture.furnish(ax)
    _community_names(ax, city, scenario)
    ax.set_title(
        _(
            "{community}: what you reach on foot in 5, 10 and 15 minutes from its gates\n(adult at {speed:g} m/min)",
            community=com.name,
            speed=speed,
        ),
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
        ax.set_anchor("N")  # the room an equal-aspect panel leaves goes below it, where the picture is cropped
    return fig, axes[0]


def plot_street_side_by_side(
    path: Path, models: list, fields_m: list[np.ndarray], ftype: str, pace: float, sites: pd.DataFrame | None = None
) -> None:
    """The access maps of one type in every scenario of a comparison, along the streets, side by side.

    Args:
        path: The PNG to write.
        models: The scenarios' runs (street scenarios on the same network).
        fields_m: Per model, metres from every node of its surface to the nearest facility of
            ``ftype`` (inf everywhere where it has none).
        ftype: The facility type.
        pace: The pace every panel is drawn at, m/min.
        sites: The type's site table (model/planning/sites.py, ``site_table``): with it, the new,
            moved and closed sites of each scenario after the first are marked
            (furniture.site_marks); without it, none is.
    """
    fig, axes = _panel_figure(models[0].city, len(models))
    homes_minutes = None
    drawn = set()
    for k, (ax, model, field) in enumerate(zip(axes, models, fields_m, strict=True)):
        minutes = _draw_bands(ax, model.city, field, pace)
        _draw_homes(ax, model.city, minutes)
        fac = model.city.facilities[model.city.facilities["type"] == ftype]
        type_marks(ax, ftype, fac["x"].to_numpy(), fac["y"].to_numpy())
        if sites is not None and k > 0:
            drawn |= site_marks(ax, site_status(sites, model.spec.name), lambda v: v)
        ax.set_title(model.spec.name, fontsize=9)
        if homes_minutes is None:
            homes_minutes = minutes[model.city.homes["node"].to_numpy()]
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    for ax, model in zip(axes, models, strict=True):
        _fix_limits(ax)
        furniture.furnish(ax)
        _community_names(ax, model.city, model.spec)
    label = models[0].spec.types[ftype].label
    handles = [*_legend(homes_minutes), type_handle(ftype, label), *status_handles(drawn)]
    fig.suptitle(
        _(
            "{ftype}: walking time to the nearest {label} along the streets, at {pace:.1f} m/min "
            "(the median pace of its users)",
            ftype=ftype,
            label=in_sentence(label),
            pace=pace,
        ),
        fontsize=10,
    )
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    furniture.save(fig, path)


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


def plot_street_difference(
    path: Path, base, other, before: np.ndarray, after: np.ndarray, ftype: str, sites: pd.DataFrame | None = None
) -> None:
    """Walking minutes gained (negative) or lost at every home, ``other`` minus ``base``, on the ways.

    ``before`` and ``after``: minutes per node of each scenario's own surface (:func:`home_change`).
    The sites drawn are ``other``'s, with its new, moved and closed sites marked when ``sites``
    (the type's site table, as for :func:`plot_street_side_by_side`) is given.
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
    handles = []
    if gone.any():
        ax.scatter(homes["x"][gone], homes["y"][gone], s=10, c=UNREACHABLE_COLOUR, edgecolors="grey", lw=0.3, zorder=3)
        handles.append(
            plt.Line2D(
                [],
                [],
                marker="o",
                ls="",
                color="white",
                markeredgecolor="grey",
                ms=4,
                label=_("home no longer reaching one"),
            )
        )
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
    fac = other.city.facilities[other.city.facilities["type"] == ftype]
    type_marks(ax, ftype, fac["x"].to_numpy(), fac["y"].to_numpy())
    handles.append(type_handle(ftype, _("{ftype}: {scenario}", ftype=ftype, scenario=other.spec.name)))
    if sites is not None:
        handles += status_handles(site_marks(ax, site_status(sites, other.spec.name), lambda v: v))
    else:  # no statuses: the first scenario's sites, as crosses
        was = base.city.facilities[base.city.facilities["type"] == ftype]
        label = _("{ftype}: {scenario}", ftype=ftype, scenario=base.spec.name)
        handles.append(furniture.first_sites_crossed(ax, was["x"], was["y"], label))
    _fix_limits(ax)
    fig.colorbar(dots, ax=ax, label=_("change of walking minutes (purple: shorter, orange: longer)"), shrink=0.8)
    furniture.furnish(ax)
    _community_names(ax, city, base.spec)
    ax.legend(
        handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.02), frameon=False, title=_("facilities")
    )
    ax.set_title(
        _(
            "{ftype}: walking minutes gained or lost at every home, along the streets\n{other} minus {base}",
            ftype=ftype,
            other=other.spec.name,
            base=base.spec.name,
        ),
        loc="left",
        fontsize=10,
    )
    furniture.save(fig, path)
