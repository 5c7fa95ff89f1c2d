"""One symbol (marker and colour) per facility type, the same in every scenario and every picture.

A type's symbol is keyed by its name, never by its place in a scenario's list of types (which
changes with the types a scenario has): the catalogue's types (model/catalogue.toml), in the
catalogue's order, take the markers of :data:`MARKERS` one each and the colours of
:data:`COLOURS` in turn, so that no two of them share a symbol. A type the catalogue does not
know (a scenario's own) takes one of the pairs no catalogue type has, chosen from a checksum of
its name (CRC-32): the same name gets the same symbol in every run, on every machine.

The colours are Okabe and Ito's palette for colour-blind readers (Okabe & Ito 2008, "Color
Universal Design", https://jfly.uni-koeln.de/color/), without its black, which the markers' edges
use; the markers differ in shape as well, so that a type is told apart in print without colour.
The map furniture keeps its own shapes: ``^`` the gates of a guidance map, rings and crosses
the new, moved and closed sites of a comparison (model/report/drawing/maps.py).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cache

from model.scenario import load_catalogue

# Filled markers with black edges, one per catalogue type (12), ``^`` left to the gates.
MARKERS = ("o", "s", "D", "v", "P", "X", "h", "p", "<", ">", "d", "*")
# Okabe-Ito without black: orange, sky blue, bluish green, yellow, blue, vermillion, reddish purple.
COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")


@dataclass(frozen=True)
class Symbol:
    """How a facility type is drawn on every map.

    Attributes:
        marker: A matplotlib marker, filled (edged in black on the maps).
        colour: Its fill, a hex colour of :data:`COLOURS`.
    """

    marker: str
    colour: str


def _pair(k: int) -> Symbol:
    """The k-th (marker, colour) pair: markers in turn, each with the next colour."""
    return Symbol(MARKERS[k % len(MARKERS)], COLOURS[k % len(COLOURS)])


@cache
def _catalogue_symbols() -> dict[str, Symbol]:
    """The catalogue's types, in its order, with pairs 0, 1, 2, ... (all distinct while there are <= 84)."""
    return {name: _pair(k) for k, name in enumerate(load_catalogue())}


def symbol(ftype: str) -> Symbol:
    """The symbol of facility type ``ftype`` (by name: see the module docstring)."""
    known = _catalogue_symbols()
    if ftype in known:
        return known[ftype]
    taken = set(known.values())
    free = [s for k in range(len(MARKERS) * len(COLOURS)) if (s := _pair(k)) not in taken]
    return free[zlib.crc32(ftype.encode("utf-8")) % len(free)]
