"""Maps: walking time to each facility type in 5/10/15-minute bands, and the guidance map of a gate."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.patches import Patch, Rectangle

from model.city.grid import City
from model.measures.access import BANDS_MIN
from model.scenario import Scenario

# Colours of the bands of BANDS_MIN and beyond, after the guidance maps at Hohhot's residential gates.
BAND_COLOURS = ("#1a9850", "#91cf60", "#fee08b", "#e0e0e0")
BLOCKED_COLOUR = "#4a6fa5"
UNREACHABLE_COLOUR = "#ffffff"
MANY_MARKERS = 300  # above this many facilities, a map marks them with small dots
REFERENCE_AGE = 40  # the walker the maps are drawn for: an adult (speed from [walking])


def _band_image(city: City, minutes: np.ndarray) -> np.ndarray:
    """RGB image of the 5/10/15-minute bands, unreachable cells white, blocked cells in blue."""
    palette = np.array([to_rgb(c) for c in (*BAND_COLOURS, UNREACHABLE_COLOUR, BLOCKED_COLOUR)])
    band = np.searchsorted(np.array(BANDS_MIN), minutes, side="left")  # 0..3 (inf -> 3)
    band = np.where(np.isfinite(minutes), band, len(BAND_COLOURS))
    band = np.where(city.walkable, band, len(BAND_COLOURS) + 1)
    return palette[band]


def _band_handles() -> list:
    """Legend entries of the bands: within 5 min, 5-10 min, 10-15 min, over 15 min."""
    labels = [f"within {BANDS_MIN[0]} min"]
    labels += [f"{lo}-{hi} min" for lo, hi in zip(BANDS_MIN[:-1], BANDS_MIN[1:])]
    labels += [f"over {BANDS_MIN[-1]} min"]
    return [Patch(color=colour, label=label) for colour, label in zip(BAND_COLOURS, labels)]


def _draw_city(ax, city: City, scenario: Scenario) -> None:
    """Community outlines and the axes limits, in cell coordinates (y grows downwards)."""
    for com in scenario.communities:
        x, y, w, h = com.area
        ax.add_patch(Rectangle((x - 0.5, y - 0.5), w, h, fill=False, ec="black", lw=0.8, ls="--"))
    ax.set_xlim(-0.5, city.width - 0.5)
    ax.set_ylim(city.height - 0.5, -0.5)
    ax.set_aspect("equal")


def _scale_bar(ax, city: City) -> None:
    metres = 500 if city.width * city.cell_m < 10_000 else 2000
    cells = metres / city.cell_m
    x0, y0 = city.width * 0.03, city.height * 0.96
    ax.plot([x0, x0 + cells], [y0, y0], color="black", lw=2.5)
    ax.text(x0 + cells / 2, y0 - city.height * 0.015, f"{metres} m", ha="center", va="bottom", fontsize=8)


MAP_AXES_IN = 6.5  # longest side of a map's axes, inches
MAP_MIN_WIDTH_IN = 7.5
_MARGIN_IN = {"left": 0.7, "right": 2.9, "top": 0.75, "bottom": 0.6}


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


def plot_access_map(path: Path, city: City, scenario: Scenario, ftype: str, field_m: np.ndarray) -> None:
    """The walking-time map of one facility type with 5/10/15-minute bands (Hohhot guidance-map style).

    Minutes are for an adult of ``REFERENCE_AGE`` (the speed of that age's [walking] band);
    the title says which speed.
    """
    speed = scenario.speed_for(REFERENCE_AGE)
    minutes = (field_m / speed).reshape(city.height, city.width)
    fig, ax = _map_figure(city)
    ax.imshow(_band_image(city, minutes), interpolation="nearest")
    _draw_city(ax, city, scenario)
    fac = city.facilities[city.facilities["type"] == ftype]
    many = len(fac) > MANY_MARKERS
    ax.scatter(
        fac["x"],
        fac["y"],
        marker="." if many else "*",
        s=6 if many else 140,
        c="#d7191c",
        edgecolors="none" if many else "black",
        linewidths=0.6,
        zorder=5,
    )
    _scale_bar(ax, city)
    label = scenario.types[ftype].label
    fig.suptitle(
        f"{scenario.name}: walking time to the nearest {label.lower()}\n(adult at {speed:g} m/min)",
        x=0.02,
        ha="left",
        fontsize=11,
    )
    handles = [
        *_band_handles(),
        Patch(facecolor=UNREACHABLE_COLOUR, edgecolor="grey", label="unreachable"),
        Patch(color=BLOCKED_COLOUR, label="blocked (water, rail, walls)"),
        plt.Line2D([], [], marker="*", ls="", color="#d7191c", markeredgecolor="black", ms=11, label=label),
        Patch(fill=False, ls="--", ec="black", label="community"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    ax.set_xlabel(f"x (cells of {city.cell_m:g} m)")
    ax.set_ylabel("y (cells)")
    fig.savefig(path, dpi=100)
    plt.close(fig)


GUIDANCE_MAX_COMMUNITIES = 12  # guidance maps are drawn for scenarios with at most this many communities
_TYPE_MARKERS = "o s ^ v D P X h p < > *".split()


def plot_guidance_map(path: Path, city: City, scenario: Scenario, community_index: int, field_m: np.ndarray) -> None:
    """The map posted at a residential gate (Hohhot's Huimin district).

    What one community reaches in 5, 10 and 15 minutes on foot, every facility marked by type.

    ``field_m`` holds the metres from every cell to the nearest cell of the community; minutes
    are for an adult of ``REFERENCE_AGE``.
    """
    com = scenario.communities[community_index]
    speed = scenario.speed_for(REFERENCE_AGE)
    minutes = (field_m / speed).reshape(city.height, city.width)
    fig, ax = _map_figure(city)
    ax.imshow(_band_image(city, minutes), interpolation="nearest")
    _draw_city(ax, city, scenario)
    handles = [
        *_band_handles(),
        Patch(color=BLOCKED_COLOUR, label="blocked"),
    ]
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, 20))
    for i, t in enumerate(city.types):
        fac = city.facilities[city.facilities["type"] == t]
        marker = _TYPE_MARKERS[i % len(_TYPE_MARKERS)]
        ax.scatter(
            fac["x"],
            fac["y"],
            marker=marker,
            s=55,
            color=colours[(2 * i) % 20],
            edgecolors="black",
            linewidths=0.6,
            zorder=5,
        )
        handles.append(
            plt.Line2D(
                [],
                [],
                marker=marker,
                ls="",
                color=colours[(2 * i) % 20],
                markeredgecolor="black",
                ms=7,
                label=scenario.types[t].label,
            )
        )
    _scale_bar(ax, city)
    fig.suptitle(
        f"{com.name}: what you reach on foot in 5, 10 and 15 minutes\n(adult at {speed:g} m/min)",
        x=0.02,
        ha="left",
        fontsize=11,
    )
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7.5, frameon=False)
    fig.savefig(path, dpi=100)
    plt.close(fig)
