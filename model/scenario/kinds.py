"""The kinds of value a scenario file holds: their shapes, their words for people, and their parsing.

A kind names the shape of a value ("int", "time", "windows", ...); :func:`kind_ok` says whether a
value has it (not whether it is in range: that is the semantic checks' job), :data:`KIND_WORDS`
says it for a person ("must be a time "HH:MM""). Times, departure windows and age bands are
parsed here and written back here, so that reading and writing agree, and so are the OpenStreetMap
tag conditions of a facility type (``osm``, read by model/places/).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .limits import MAX_AGE

FLOAT_MAX = sys.float_info.max  # the largest finite float (IEEE 754 double)

# ASCII digits only, and few of them: int() of a long digit string is slow or refused
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_BAND = re.compile(r"\s*([0-9]{1,3})\s*-\s*([0-9]{1,3})\s*")


@dataclass(frozen=True)
class AgeBand:
    """An inclusive band of ages in years, written "lo-hi" in files."""

    lo: int
    hi: int

    def __str__(self) -> str:
        """Write as in scenario files."""
        return f"{self.lo}-{self.hi}"

    def contains(self, age: int) -> bool:
        """Whether ``age`` is in the band."""
        return self.lo <= age <= self.hi


def is_int(v: Any) -> bool:
    """Whether ``v`` is an integer (TOML's ``true`` and ``false`` are not)."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    """Whether ``v`` is an integer or a float (NaN included; ``true`` and ``false`` are not numbers)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def is_finite(v: Any, low: float = -FLOAT_MAX, high: float = FLOAT_MAX) -> bool:
    """Whether ``v`` is a number (not ``true``/``false``) with ``low <= v <= high``: finite, and held by a float.

    The one test of a number's range for every reader: it compares without converting (Python
    compares an integer of any size with a float exactly), so that it never raises an
    ``OverflowError`` as ``math.isfinite`` and ``float()`` do on an integer beyond a float's range.
    NaN and the infinities are not finite.

    Args:
        v: A value read from a file.
        low: The lowest allowed (default: the most negative float).
        high: The highest allowed (default: the largest float).

    """
    return is_number(v) and low <= v <= high


def parse_time(v: Any) -> int | None:
    """Minutes after midnight of "HH:MM" (24:00 allowed), or None."""
    if not isinstance(v, str):
        return None
    m = _TIME.fullmatch(v)
    if not m:
        return None
    h, mnt = int(m.group(1)), int(m.group(2))
    if mnt >= 60 or h > 24 or (h == 24 and mnt):
        return None
    return h * 60 + mnt


def format_time(minute: int) -> str:
    """Write minutes after midnight as "HH:MM" (24:00 for the end of the day)."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_band(text: str) -> AgeBand | None:
    """Parse an age band "lo-hi" (inclusive years, 0..100), or None if malformed."""
    m = _BAND.fullmatch(text) if isinstance(text, str) else None
    if not m:
        return None
    lo, hi = int(m.group(1)), int(m.group(2))
    if lo > hi or hi > MAX_AGE:
        return None
    return AgeBand(lo, hi)


def _parse_window(v: Any) -> tuple[int, int] | None:
    """(first, last) minutes after midnight of a window ["HH:MM", "HH:MM"], or None (order unchecked)."""
    if not (isinstance(v, list) and len(v) == 2):
        return None
    first, last = parse_time(v[0]), parse_time(v[1])
    return None if first is None or last is None else (first, last)


def parse_windows(v: Any) -> list[tuple[int, int]] | None:
    """The windows of a ``depart`` value, or None if it has neither shape.

    One window is written ``["07:30", "08:15"]``, several as a list of them,
    ``[["06:00", "06:45"], ["18:30", "20:00"]]``. Their order and overlaps are checked with the
    facility type (model/scenario/sites.py), not here.
    """
    one = _parse_window(v)
    if one is not None:
        return [one]
    if not isinstance(v, list) or not v:
        return None
    windows = [_parse_window(w) for w in v]
    return None if None in windows else windows


def format_windows(windows: tuple[tuple[int, int], ...]) -> list:
    """Departure windows as a catalogue writes them: one as ["HH:MM", "HH:MM"], several as a list of them."""
    written = [[format_time(first), format_time(last)] for first, last in windows]
    return written[0] if len(written) == 1 else written


OsmCondition = tuple[tuple[str, str], ...]
"""One OpenStreetMap tag condition: (key, value) pairs that must all hold."""


def parse_osm_condition(text: Any) -> OsmCondition | None:
    """The (key, value) pairs of ``"key=value"`` or ``"key=value + key=value"`` (all must hold), or None.

    Keys and values are stripped of surrounding spaces and must not be empty; neither may hold
    "=" or "+" (no tag of the catalogue's mapping needs them).
    """
    if not isinstance(text, str):
        return None
    pairs = []
    for part in text.split("+"):
        key, eq, value = (s.strip() for s in part.partition("="))
        if not (eq and key and value) or "=" in value:
            return None
        pairs.append((key, value))
    return tuple(pairs)


def parse_osm_tags(v: Any) -> tuple[OsmCondition, ...] | None:
    """The conditions of an ``osm`` value (a list of tag conditions, any of which selects), or None."""
    if not isinstance(v, list):
        return None
    conditions = [parse_osm_condition(text) for text in v]
    return None if None in conditions else tuple(conditions)


def format_osm_condition(condition: OsmCondition) -> str:
    """Write a tag condition as the catalogue does (inverse of :func:`parse_osm_condition`)."""
    return " + ".join(f"{key}={value}" for key, value in condition)


def _pair(item: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """The test of a list of two items that each pass ``item``."""
    return lambda v: isinstance(v, list) and len(v) == 2 and all(item(a) for a in v)


def _finite_or_inf(v: Any) -> bool:
    return is_number(v) and v == v  # NaN is not equal to itself; no conversion, so no overflow


# kind -> whether a value has its shape (not its range); "table" and "list" kinds (a nested
# schema) are the schema's (model/scenario/schema.py)
_SHAPES: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": is_int,
    "float": _finite_or_inf,
    "bool": lambda v: isinstance(v, bool),
    "rect": lambda v: isinstance(v, list) and len(v) == 4 and all(is_int(a) for a in v),
    "rects": lambda v: isinstance(v, list),
    "cell": _pair(is_int),
    # a list of lists; each cell is checked with its community
    "cells": lambda v: isinstance(v, list) and all(isinstance(a, list) for a in v),
    "lonlat": _pair(is_number),  # the ranges (finite, on the Earth) are checked with the grid
    "xy": _pair(is_number),  # finite: checked with the facility
    "shares": lambda v: isinstance(v, dict),
    "speeds": lambda v: isinstance(v, dict),
    "band_shares": lambda v: isinstance(v, dict),
    "range": _pair(_finite_or_inf),
    "time": lambda v: parse_time(v) is not None,
    "windows": lambda v: parse_windows(v) is not None,
    "band": _pair(is_int),
    "sources": lambda v: isinstance(v, dict) and all(isinstance(a, str) for a in v.values()),
    "types": lambda v: isinstance(v, dict),
    "osm_tags": lambda v: parse_osm_tags(v) is not None,
}

KIND_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "rect": "[x, y, w, h] (four integers)",
    "rects": "a list of [x, y, w, h] rectangles",
    "cell": "[x, y] (two integers)",
    "cells": "a list of [x, y] cells, e.g. [[3, 4]]",
    "lonlat": "[longitude, latitude] (two numbers, WGS84 degrees)",
    "xy": "[x_m, y_m] (two numbers, metres in the streets' CRS)",
    "shares": "a table of shares, e.g. { han = 0.9, mongol = 0.1 }",
    "speeds": 'a table of speeds by age band, e.g. { "0-59" = 78.0, "60-100" = 60.0 }',
    "band_shares": 'a table of shares by age band, e.g. { "80-100" = 0.2 }',
    "range": "[lowest, highest] (two numbers)",
    "time": 'a time "HH:MM"',
    "windows": 'a window ["HH:MM", "HH:MM"] or a list of windows [["HH:MM", "HH:MM"], ...]',
    "band": "[lowest, highest] ages (two integers)",
    "sources": "a table of strings",
    "types": "a table of facility types",
    "osm_tags": 'a list of OpenStreetMap tags "key=value" (several that must all hold joined by " + ")',
}
"""Each kind in words, for the messages ("must be <words>, not <value>")."""


def kind_ok(kind: str, v: Any) -> bool:
    """Whether value ``v`` has the shape of ``kind`` (not its range).

    Raises:
        KeyError: If ``kind`` is not a kind of value.

    """
    return _SHAPES[kind](v)
