"""Colours and marker symbols of facility types on the page's map and charts, as data with their sources.

Fourteen colours, each distinct from every other for normal sight and under simulated
deuteranopia and protanopia (full severity, Machado et al. 2009 as colorspacious implements it):
at least 10 units apart in CAM02-UCS, where about 1 is the smallest difference one sees
(tests/test_browser_charts.py checks it). They are Okabe & Ito's eight (Okabe, M. and Ito, K.
2008, "Color Universal Design (CUD): how to make figures and presentations that are friendly to
colorblind people", jfly.uni-koeln.de/color) followed by six of Paul Tol's "muted" and "light"
schemes (Tol, P. 2021, "Colour schemes", SRON/EPS/TN/09-002, personal.sron.nl/~pault), chosen
greedily: each the one of the two schemes' colours that kept the smallest of those distances
largest (10.7 with these fourteen; a fifteenth would bring it to 7.7).

A type also has its own marker symbol (plotly's names), so that types stay apart by shape too; a
15th type repeats a colour, with another symbol (the 12 symbols and 14 colours repeat together
only after 84 types).
"""

from __future__ import annotations

from collections.abc import Sequence

OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
TOL_CHOSEN = ("#332288", "#882255", "#FFAABB", "#99DDFF", "#DDCC77", "#44BB99")  # muted, muted, light x2, ...
TYPE_COLOURS = OKABE_ITO + TOL_CHOSEN
TYPE_SYMBOLS = (
    "circle",
    "square",
    "triangle-up",
    "triangle-down",
    "diamond",
    "cross",
    "x",
    "hexagon",
    "pentagon",
    "triangle-left",
    "triangle-right",
    "star",
)


def type_styles(types: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Per facility type, in the order given (the catalogue's), its colour and marker symbol."""
    return {t: (TYPE_COLOURS[i % len(TYPE_COLOURS)], TYPE_SYMBOLS[i % len(TYPE_SYMBOLS)]) for i, t in enumerate(types)}
