"""The schema language: which keys a scenario file may hold and the shape of each value.

:func:`_check_shape` checks one file's keys and value shapes (not their ranges: that is
:mod:`.checks`), removing bad values so that later stages see only well-shaped data.
:func:`override_kind` gives the kind of a dotted key, as overrides (:mod:`.overrides`) give them.
"""

from __future__ import annotations

import difflib
import math
import re
from typing import Any

from .errors import Problem
from .spec import MAX_AGE, AgeBand

# Value kinds: "str", "int", "float", "bool", "rect", "rects", "cell", "cells", "lonlat", "shares",
# "speeds", "band_shares", "range", "time", "windows", "band", "table" (nested schema), "list" (list
# of nested schema)
_COMMUNITY = {"name": "str", "area": "rect", "residents": "int", "groups": "shares", "gates": "cells"}
_FACILITY = {"type": "str", "at": "cell", "capacity": "int", "name": "str"}
_TYPE_FIELDS = {
    "label": "str",
    "level_min": "float",
    "ages": "band",
    "daily_prob": "float",
    "weekdays_only": "bool",
    "depart": "windows",
    "visit_min": "int",
    "open": "time",
    "close": "time",
    "capacity": "int",
    "beta_per_min": "float",
    "patience_min": "int",
    "tries": "int",
    "catchment_min": "float",
    "area_m2": "float",
    "open_space": "bool",
    "source": "sources",
}
# catalogue fields a new facility type may leave out (None: see model/scenario/spec.py)
OPTIONAL_TYPE_FIELDS = ("catchment_min", "area_m2", "open_space", "source")
_SCHEMA: dict[str, Any] = {
    "name": "str",
    "description": "str",
    "extends": "str",
    "seed": "int",
    "grid": {"width": "int", "height": "int", "cell_m": "float", "blocked": "rects", "origin": "lonlat"},
    "population": {"groups": "shares", "ages": "shares", "mixing": "float"},
    "walking": {
        "m_per_min": "speeds",
        "pace_cv": "float",
        "pace_limits": "range",
        "reduced_mobility": "band_shares",
        "reduced_pace": "float",
    },
    "simulation": {
        "tick_min": "int",
        "day_start": "time",
        "day_end": "time",
        "cutoff_min": "float",
        "block_m": "float",
        "contact_min": "int",
        "first_weekday": "int",
        "reference_m_per_min": "float",
    },
    "communities": [_COMMUNITY],
    "facilities": [_FACILITY],
    "facility_types": "types",
}
_KIND_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "rect": "[x, y, w, h] (four integers)",
    "rects": "a list of [x, y, w, h] rectangles",
    "cell": "[x, y] (two integers)",
    "cells": "a list of [x, y] cells, e.g. [[3, 4]]",
    "lonlat": "[longitude, latitude] (two numbers, WGS84 degrees)",
    "shares": "a table of shares, e.g. { han = 0.9, mongol = 0.1 }",
    "speeds": 'a table of speeds by age band, e.g. { "0-59" = 78.0, "60-100" = 60.0 }',
    "band_shares": 'a table of shares by age band, e.g. { "80-100" = 0.2 }',
    "range": "[lowest, highest] (two numbers)",
    "time": 'a time "HH:MM"',
    "windows": 'a window ["HH:MM", "HH:MM"] or a list of windows [["HH:MM", "HH:MM"], ...]',
    "band": "[lowest, highest] ages (two integers)",
    "sources": "a table of strings",
    "types": "a table of facility types",
}
# ASCII digits only, and few of them: int() of a long digit string is slow or refused
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_BAND = re.compile(r"\s*([0-9]{1,3})\s*-\s*([0-9]{1,3})\s*")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float))) and not isinstance(v, bool)


def _parse_time(v: Any) -> int | None:
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


def parse_band(text: str) -> AgeBand | None:
    """Parse an age band "lo-hi" (inclusive years, 0..100), or None if malformed."""
    m = _BAND.fullmatch(text) if isinstance(text, str) else None
    if not m:
        return None
    lo, hi = int(m.group(1)), int(m.group(2))
    if lo > hi or hi > MAX_AGE:
        return None
    return AgeBand(lo, hi)


def _kind_ok(kind: str, v: Any) -> bool:
    """Whether value ``v`` has the shape of ``kind`` (not its range)."""
    if kind == "str":
        return isinstance(v, str)
    if kind == "int":
        return _is_int(v)
    if kind == "float":
        return _is_number(v) and not math.isnan(v)
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "rect":
        return isinstance(v, list) and len(v) == 4 and all(_is_int(a) for a in v)
    if kind == "rects":
        return isinstance(v, list)
    if kind == "cell":
        return isinstance(v, list) and len(v) == 2 and all(_is_int(a) for a in v)
    if kind == "cells":  # a list of lists; each cell is checked with its community
        return isinstance(v, list) and all(isinstance(a, list) for a in v)
    if kind == "lonlat":  # the ranges (finite, on the Earth) are checked with the grid
        return isinstance(v, list) and len(v) == 2 and all(_is_number(a) for a in v)
    if kind == "band":
        return isinstance(v, list) and len(v) == 2 and all(_is_int(a) for a in v)
    if kind == "sources":
        return isinstance(v, dict) and all(isinstance(a, str) for a in v.values())
    if kind in ("shares", "speeds", "band_shares", "types"):
        return isinstance(v, dict)
    if kind == "range":
        return isinstance(v, list) and len(v) == 2 and all(_is_number(a) and not math.isnan(a) for a in v)
    if kind == "time":
        return _parse_time(v) is not None
    if kind == "windows":
        return parse_windows(v) is not None
    raise AssertionError(kind)


def _parse_window(v: Any) -> tuple[int, int] | None:
    """(first, last) minutes after midnight of a window ["HH:MM", "HH:MM"], or None (order unchecked)."""
    if not (isinstance(v, list) and len(v) == 2):
        return None
    first, last = _parse_time(v[0]), _parse_time(v[1])
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


def _suggest(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_shape(data: dict, schema: dict, path: str, file: str, problems: list[Problem]) -> None:
    """Check keys and value shapes of one file's data against the schema (in place: bad values removed)."""
    for key in list(data):
        kpath = f"{path}.{key}" if path else key
        if key not in schema:
            problems.append(Problem(file, kpath, f"unknown key{_suggest(key, list(schema))}"))
            del data[key]
            continue
        kind, value = schema[key], data[key]
        if isinstance(kind, dict):
            if not isinstance(value, dict):
                problems.append(Problem(file, kpath, "must be a table"))
                del data[key]
            else:
                _check_shape(value, kind, kpath, file, problems)
        elif isinstance(kind, list):
            if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
                problems.append(Problem(file, kpath, f"must be a list of tables ([[{key}]])"))
                del data[key]
            else:
                for i, entry in enumerate(value):
                    _check_shape(entry, kind[0], f"{kpath}[{i}]", file, problems)
        elif kind == "types":
            if not isinstance(value, dict):
                problems.append(Problem(file, kpath, f"must be {_KIND_WORDS[kind]}"))
                del data[key]
                continue
            for tname in list(value):
                tpath = f"{kpath}.{tname}"
                if not isinstance(value[tname], dict):
                    problems.append(Problem(file, tpath, "must be a table of catalogue fields"))
                    del value[tname]
                else:
                    _check_shape(value[tname], _TYPE_FIELDS, tpath, file, problems)
        elif not _kind_ok(kind, value):
            problems.append(Problem(file, kpath, f"must be {_KIND_WORDS[kind]}, not {value!r}"))
            del data[key]


# tables whose keys are free (group names, age bands, source names): the kind of their values
_OPEN_TABLES = {"shares": "float", "speeds": "float", "band_shares": "float", "sources": "str"}
_FIXED_KEYS = {
    "name": "the scenario's name cannot be overridden; change the scenario file",
    "extends": "cannot be overridden; change the scenario file",
}


def _key_kind(key: str) -> tuple[str | None, str]:
    """Resolve a dotted override key against the schema.

    Returns:
        (kind, "") for a key that can be overridden (kind "table" for a table of the schema), or
        (None, why) for one that cannot: not in the schema, a list, ``name`` or ``extends``.

    """
    parts = key.split(".") if isinstance(key, str) else []
    if not all(p.strip() for p in parts) or not parts:
        return None, "must be a dotted key such as 'population.mixing'"
    head = parts[0].partition("[")[0]
    if isinstance(_SCHEMA.get(head), list):
        return None, "lists cannot be overridden; change the scenario file"
    if head in _FIXED_KEYS:
        return None, _FIXED_KEYS[head]
    node: Any = _SCHEMA
    for i, part in enumerate(parts):
        if "[" in part or "]" in part:
            return None, "an element of a list cannot be overridden; give the whole list"
        if isinstance(node, dict):
            if part not in node:
                allowed = [k for k in node if k not in _FIXED_KEYS and not isinstance(node[k], list)]
                what = "unknown key" if i == len(parts) - 1 else f"unknown table '{part}'"
                return None, f"{what}{_suggest(part, allowed)}"
            node = node[part]
        elif node == "types":  # any facility type: a catalogue one, or a new one the scenario defines
            node = _TYPE_FIELDS
        elif node in _OPEN_TABLES:
            node = _OPEN_TABLES[node]
        else:
            return None, f"'{'.'.join(parts[:i])}' is not a table: it is {_KIND_WORDS[node]}"
    return ("table" if isinstance(node, dict) else node), ""


def override_kind(key: str) -> str | None:
    """Return the schema kind of a dotted scenario key, as an override would give it.

    Args:
        key: A dotted key, e.g. ``population.mixing`` or ``facility_types.park.capacity``.

    Returns:
        The kind: "int", "float", "bool", "str", "time", "windows", "band", "rect", "rects",
        "lonlat" (``grid.origin``), "range" (``walking.pace_limits``), "shares", "speeds",
        "band_shares" (``walking.reduced_mobility``), "sources", "types" (the ``facility_types``
        table) or "table" (another table of the schema). ``facility_types.<any type>.<field>``
        has the kind of that catalogue field; a key inside a share or speed table ("float") or
        ``source`` ("str") that of its values. None when the key is not in the schema or cannot
        be overridden (``name``, ``extends``, ``[[communities]]`` with their ``gates``,
        ``[[facilities]]``).

    """
    return _key_kind(key)[0]
