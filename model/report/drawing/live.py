"""The browser page's layers and colours, as the page's plotly figures (model/web/plots.py) take them.

The page (model/web/figures.py) gathers the numbers from the model (where the residents are and
of which group or age, the street network and the pieces of its ways within each walking band,
each type's occupancy) into these layers; the colours of the residents' groups and age bands are
chosen here, so that matplotlib's colour maps stay in the drawing package. The page's first
pictures were PNG images drawn here with matplotlib; the plotly page (issue 22) replaced them, and
their drawers were removed. Nothing here draws random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_rgb

WALKABLE_COLOUR = "#fbfbf7"  # the ground of a walkable cell
# Residents' colours keep off the bands' yellow-green-blue: groups from Okabe & Ito's colour-blind-safe
# palette without its blues and greens, age bands from the plasma colour map (purple to orange)
GROUP_COLOURS = ("#7a0177", "#E69F00", "#D55E00", "#000000", "#CC79A7", "#8c510a", "#F0E442")


@dataclass(frozen=True)
class ResidentLayer:
    """The residents the map places, each in a cell, of a class (a group or an age band).

    Attributes:
        title: The legend's heading of the residents.
        labels: The classes' names, in class order.
        colour_by: "group" or "age": which palette colours the classes (:func:`class_colours`).
        cell: The node of the walking surface each resident placed is at: its cell (row-major
            index) on a grid, a street node (or home, facility) on streets.
        classes: The class of each resident placed.
        per_cell: Residents per node (per cell, row-major, on a grid) to draw as density, or None
            to draw a dot each.
    """

    title: str
    labels: tuple[str, ...]
    colour_by: str
    cell: np.ndarray
    classes: np.ndarray
    per_cell: np.ndarray | None = None


@dataclass(frozen=True)
class StreetLayer:
    """The street network on the map, and the pieces of its ways within each walking band.

    Attributes:
        ways: (e, 2, 2) every way as the straight segment between its nodes, metres.
        node_xy_m: (n, 2) every node of the walking surface (street nodes, homes, facilities,
            gates): residents are drawn at theirs, and the map spans them all.
        bands: Per band of ``BANDS_MIN``, the pieces of ways within it, (k, 2, 2) each (each
            band's pieces include the nearer bands'), or () for no bands.
        band_km: Per band, the kilometres of ways within it (the legend's figures), or ().
    """

    ways: np.ndarray
    node_xy_m: np.ndarray
    bands: tuple[np.ndarray, ...] = ()
    band_km: tuple[float, ...] = ()


@dataclass(frozen=True)
class OccupancyLine:
    """One type's line of the occupancy chart: visitors present as a share of its places."""

    ftype: str
    places: int
    percent: np.ndarray


def class_colours(colour_by: str, n: int) -> np.ndarray:
    """RGB colours (n x 3) of n groups (Okabe & Ito, repeated) or n age bands (plasma, young to old)."""
    if colour_by == "age":
        return colormaps["plasma"](np.linspace(0.0, 0.85, n))[:, :3]
    return np.array([to_rgb(GROUP_COLOURS[i % len(GROUP_COLOURS)]) for i in range(n)])
