"""Maps: walking time to each facility type in 5/10/15-minute bands, and the guidance map of a gate.

Axes are in metres (x east, y down the grid's rows), every facility is drawn at its cell's
centre, and the colours are ColorBrewer's YlGnBu bands, which readers with the common colour
vision deficiencies tell apart; facilities are black-edged orange, blocked land dark grey.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.patches import Patch, Rectangle

from model.city.grid import City
from model.measures.access import BANDS_MIN
from model.scenario import Scenario

# Colours of the bands of BANDS_MIN and beyond (ColorBrewer YlGnBu, colour-blind safe).
BAND_COLOURS = ("#225ea8", "#41b6c4", "#c7e9b4", "#f0f0f0")
WAY_COLOUR = "#bdbdbd"  # a way beyond the last band, on the street maps of runs and of the page


def band_labels() -> list[str]:
    """Legend labels of the walking bands of ``BANDS_MIN`` and beyond: "0-5 min", ..., "over 15"."""
    edges = (0, *BANDS_MIN)
    return [f"{lo}-{hi} min" for lo, hi in zip(edges[:-1], edges[1:], strict=True)] + [f"over {BANDS_MIN[-1]}"]


BLOCKED_COLOUR = "#525252"
UNREACHABLE_COLOUR = "#ffffff"
FACILITY_COLOUR = "#e66101"
MANY_MARKERS = 300  # above this many facilities, a map marks them with small dots
GUIDANCE_AGE = 40  # the guidance map is drawn for an adult of this age (speed from [walking])
GUIDANCE_MAX_COMMUNITIES = 12  # guidance maps are drawn for scenarios with at most this many communities
TYPE_MARKERS = "o s ^ v D P X h p < > *".split()
MAP_AXES_IN = 6.5  # longest side of a map's axes, inches
MAP_MIN_WIDTH_IN = 7.5
_MARGIN_IN = {"left": 0.8, "right": 2.9, "top": 0.85, "bottom": 0.6}


def band_index(minutes: np.ndarray) -> np.ndarray:
    """Each cell's walking band: its index in ``BAND_COLOURS``, or ``len(BAND_COLOURS)`` if unreachable."""
    band = np.searchsorted(np.array(BANDS_MIN), minutes, side="left")  # 0..3 (inf -> 3)
    return np.where(np.isfinite(minutes), band, len(BAND_COLOURS))


def band_image(city: City, minutes: np.ndarray) -> np.ndarray:
    """RGB image of the bands, unreachable cells white, blocked cells dark grey."""
    palette = np.array([to_rgb(c) for c in (*BAND_COLOURS, UNREACHABLE_COLOUR, BLOCKED_COLOUR)])
    band = np.where(city.walkable, band_index(minutes), len(BAND_COLOURS) + 1)
    return palette[band]


def band_handles(city: City, minutes: np.ndarray, blocked_label: str) -> list:
    """Legend entries of the bands, and of unreachable and blocked cells where there are any."""
    labels = [f"within {BANDS_MIN[0]} min"]
    labels += [f"{lo}-{hi} min" for lo, hi in zip(BANDS_MIN[:-1], BANDS_MIN[1:], strict=True)]
    labels += [f"over {BANDS_MIN[-1]} min"]
    handles = [Patch(color=colour, label=label) for colour, label in zip(BAND_COLOURS, labels, strict=True)]
    if (city.walkable & ~np.isfinite(minutes)).any():
        handles.append(Patch(facecolor=UNREACHABLE_COLOUR, edgecolor="grey", label="unreachable"))
    if not city.walkable.all():
        handles.append(Patch(color=BLOCKED_COLOUR, label=blocked_label))
    return handles


def annotate_shares(ax, access: dict) -> None:
    """Beside a map, the share of a type's users within each band at their own pace (summary.json's access)."""
    shares = [f"its {access['users']:,} users, at their own pace:"]
    for k in BANDS_MIN:
        share = access.get(f"within_{k}")
        shares.append(f"  within {k} min: {'-' if share is None else f'{share:.0%}'}")
    ax.annotate("\n".join(shares), xy=(1.03, 0.0), xycoords="axes fraction", fontsize=8, va="bottom", ha="left")


def _centre(city: City, cells):
    """Metres of the centres of cells given by x or y numbers."""
    return (np.asarray(cells, dtype=float) + 0.5) * city.cell_m


def _draw_city(ax, city: City, scenario: Scenario, names: bool) -> None:
    """Community outlines (named if ``names``) and the axes in metres."""
    m = city.cell_m
    for com in scenario.communities:
        x, y, w, h = com.area
        # add_artist, not add_patch: the limits are set below, so the outlines need not widen the
        # data limits (add_patch's bookkeeping took a third of a map's time with 83 communities)
        outline = Rectangle((x * m, y * m), w * m, h * m, fill=False, ec="black", lw=0.8, ls="--")
        ax.add_artist(outline)
        if names:
            ax.text(x * m + m * 0.3, y * m + m * 0.3, com.name, fontsize=7, va="top", ha="left", zorder=6)
    ax.set_xlim(0, city.width * m)
    ax.set_ylim(city.height * m, 0)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m, east)")
    ax.set_ylabel("y (m, down the rows)")


def _scale_bar(ax, city: City) -> None:
    metres = 500 if city.width * city.cell_m < 10_000 else 2000
    width, height = city.width * city.cell_m, city.height * city.cell_m
    x0, y0 = width * 0.03, height * 0.96
    ax.plot([x0, x0 + metres], [y0, y0], color="black", lw=2.5)
    ax.text(x0 + metres / 2, y0 - height * 0.015, f"{metres} m", ha="center", va="bottom", fontsize=8)


def _map_figure(city: City):
    """A figure whose axes have the grid's aspect, with room for the legend on the right."""
    aspect = city.height / city.width
    w_in, h_in = (MAP_AXES_IN, MAP_AXES_IN * aspect) if aspect <= 1 else (MAP_AXES_IN / aspect, MAP_AXES_IN)
    m = dict(_MARGIN_IN)
    m["right"] = max(m["right"], MAP_MIN_WIDTH_IN - w_in - m["left"])  # room for a two-line title
    fig_w, fig_h = w_in + m["left"] + m["right"], h_in + m["top"] + m["bottom"]
    fig = plt.figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes((m["left"] / fig_w, m["bottom"] / fig_h, w_in / fig_w, h_in / fig_h))
    return fig, ax


def _image(ax, city: City, minutes: np.ndarray) -> None:
    extent = (0, city.width * city.cell_m, city.height * city.cell_m, 0)
    ax.imshow(band_image(city, minutes), interpolation="nearest", extent=extent)


def plot_access_map(
    path: Path,
    city: City,
    scenario: Scenario,
    ftype: str,
    field_m: np.ndarray,
    pace_m_per_min: float,
    access: dict,
) -> None:
    """The walking-time map of one facility type with 5/10/15-minute bands (Hohhot guidance-map style).

    Drawn at ``pace_m_per_min``, the median own pace of the type's users
    (``measures.access.users_pace``); beside the bands, the share of the users within each band at
    their own pace, from ``access`` (the type's entry of summary.json's "access" block).
    """
    minutes = (field_m / pace_m_per_min).reshape(city.height, city.width)
    fig, ax = _map_figure(city)
    _image(ax, city, minutes)
    _draw_city(ax, city, scenario, names=len(scenario.communities) <= GUIDANCE_MAX_COMMUNITIES)
    fac = city.facilities[city.facilities["type"] == ftype]
    many = len(fac) > MANY_MARKERS
    ax.scatter(
        _centre(city, fac["x"]),
        _centre(city, fac["y"]),
        marker="." if many else "*",
        s=6 if many else 140,
        c=FACILITY_COLOUR,
        edgecolors="none" if many else "black",
        linewidths=0.6,
        zorder=5,
    )
    _scale_bar(ax, city)
    ft = scenario.types[ftype]
    ax.set_title(
        f"{scenario.name}: walking time to the nearest {ft.label.lower()}\n"
        f"at {pace_m_per_min:.1f} m/min, the median pace of its users (ages {ft.ages})",
        loc="left",
        fontsize=11,
    )
    handles = [
        *band_handles(city, minutes, "blocked (water, rail, walls)"),
        plt.Line2D([], [], marker="*", ls="", color=FACILITY_COLOUR, markeredgecolor="black", ms=11, label=ft.label),
        Patch(fill=False, ls="--", ec="black", label="community"),
    ]
    legend = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    annotate_shares(ax, access)
    fig.savefig(path, dpi=100, bbox_inches="tight", bbox_extra_artists=[legend])
    plt.close(fig)


def plot_guidance_map(
    path: Path, city: City, scenario: Scenario, community_index: int, field_m: np.ndarray, gates: list
) -> None:
    """The map posted at a residential gate (Hohhot's Huimin district).

    What one community reaches in 5, 10 and 15 minutes on foot from its gates (``gates``: cells
    (x, y); ``field_m``: metres from every cell to the nearest gate), for an adult of
    ``GUIDANCE_AGE``, every facility marked by type and every community named.
    """
    com = scenario.communities[community_index]
    speed = scenario.speed_for(GUIDANCE_AGE)
    minutes = (field_m / speed).reshape(city.height, city.width)
    fig, ax = _map_figure(city)
    _image(ax, city, minutes)
    _draw_city(ax, city, scenario, names=True)
    handles = band_handles(city, minutes, "blocked")
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, 20))
    for i, t in enumerate(city.types):
        fac = city.facilities[city.facilities["type"] == t]
        marker = TYPE_MARKERS[i % len(TYPE_MARKERS)]
        colour = colours[(2 * i) % 20]
        ax.scatter(
            _centre(city, fac["x"]),
            _centre(city, fac["y"]),
            marker=marker,
            s=55,
            color=colour,
            edgecolors="black",
            linewidths=0.6,
            zorder=5,
        )
        handles.append(
            plt.Line2D(
                [], [], marker=marker, ls="", color=colour, markeredgecolor="black", ms=7, label=scenario.types[t].label
            )
        )
    gx, gy = zip(*gates, strict=True) if gates else ((), ())
    ax.scatter(_centre(city, gx), _centre(city, gy), marker="^", s=90, c="white", edgecolors="black", lw=1.2, zorder=6)
    handles.append(plt.Line2D([], [], marker="^", ls="", color="white", markeredgecolor="black", ms=9, label="gate"))
    handles.append(Patch(fill=False, ls="--", ec="black", label="community (named)"))
    _scale_bar(ax, city)
    ax.set_title(
        f"{com.name}: what you reach on foot in 5, 10 and 15 minutes from its gates\n(adult at {speed:g} m/min)",
        loc="left",
        fontsize=11,
    )
    legend = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7.5, frameon=False)
    fig.savefig(path, dpi=100, bbox_inches="tight", bbox_extra_artists=[legend])
    plt.close(fig)
