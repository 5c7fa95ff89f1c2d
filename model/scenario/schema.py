"""The schema: which keys a scenario file may hold and the kind of each value.

:func:`check_shape` checks one file's keys and value shapes (not their ranges: that is
:mod:`.checks` and :mod:`.sites`), removing bad values so that later stages see only well-shaped
data. :func:`key_kind` and :func:`override_kind` give the kind of a dotted key, as overrides
(:mod:`.overrides`) give them. The kinds of value are those of :mod:`.kinds`; the fields of a
facility type come from the catalogue field table (:mod:`.fields`).
"""

from __future__ import annotations

import difflib
from typing import Any

from .errors import Problem
from .fields import TYPE_FIELDS
from .kinds import KIND_WORDS, kind_ok

# Kinds of a key: a kind of value (model/scenario/kinds.py), a dict (a table with its own schema)
# or a list of one dict (a list of tables, [[communities]])
_COMMUNITY = {"name": "str", "area": "rect", "residents": "int", "groups": "shares", "gates": "cells"}
_FACILITY = {
    "type": "str",
    "at": "cell",
    "at_m": "xy",
    "capacity": "int",
    "name": "str",
    "osm_id": "int",
    "replaces": "str",
}
# [streets]: the CRS and the data files (docs/streets.md), read by model/scenario/streets.py
STREET_FILES = ("nodes", "edges", "homes", "facilities", "gates")
_STREETS = {"crs": "str", **dict.fromkeys(STREET_FILES, "str")}
SCHEMA: dict[str, Any] = {
    "name": "str",
    "description": "str",
    "extends": "str",
    "seed": "int",
    "grid": {"width": "int", "height": "int", "cell_m": "float", "blocked": "rects", "origin": "lonlat"},
    "streets": _STREETS,
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
        "learning": "bool",
        "learning_penalty_min": "float",
    },
    "households": {
        "on": "bool",
        "escort": "bool",
        "compositions": "shares",
        "adult_age": "int",
        "elder_age": "int",
        "two_children": "float",
        "two_grandparents": "float",
    },
    "communities": [_COMMUNITY],
    "facilities": [_FACILITY],
    "facility_types": "types",
}
"""The schema of a scenario file: key -> kind (a nested dict for a table, [dict] for a list of tables)."""


def suggest(key: str, allowed: list[str]) -> str:
    """The hint for a misspelt ``key``: `` (did you mean '<closest>'?)``, or "" if none is close."""
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_shape(data: dict, schema: dict, path: str, file: str, problems: list[Problem]) -> None:
    """Check the keys and value shapes of one file's data against a schema, in place.

    Every unknown key and every value of the wrong shape is recorded in ``problems`` and removed
    from ``data``, so that later stages see only well-shaped values.

    Args:
        data: One file's table (or a table inside it).
        schema: Its schema (:data:`SCHEMA` for a whole file).
        path: The key path of ``data`` ("" for the whole file).
        file: The file name problems give.
        problems: Where problems are recorded.

    """
    for key in list(data):
        kpath = f"{path}.{key}" if path else key
        if key not in schema:
            problems.append(Problem(file, kpath, f"unknown key{suggest(key, list(schema))}"))
            del data[key]
        elif not _value_shape_ok(schema[key], key, data[key], kpath, file, problems):
            del data[key]


def _value_shape_ok(kind: Any, key: str, value: Any, kpath: str, file: str, problems: list[Problem]) -> bool:
    """Check one value against its kind (recursing into tables); False if it must be removed."""
    if isinstance(kind, dict):
        if not isinstance(value, dict):
            problems.append(Problem(file, kpath, "must be a table"))
            return False
        check_shape(value, kind, kpath, file, problems)
    elif isinstance(kind, list):
        if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
            problems.append(Problem(file, kpath, f"must be a list of tables ([[{key}]])"))
            return False
        for i, entry in enumerate(value):
            check_shape(entry, kind[0], f"{kpath}[{i}]", file, problems)
    elif kind == "types":
        if not isinstance(value, dict):
            problems.append(Problem(file, kpath, f"must be {KIND_WORDS[kind]}"))
            return False
        _check_types_shape(value, kpath, file, problems)
    elif not kind_ok(kind, value):
        problems.append(Problem(file, kpath, f"must be {KIND_WORDS[kind]}, not {value!r}"))
        return False
    return True


def _check_types_shape(types: dict, path: str, file: str, problems: list[Problem]) -> None:
    """Check ``[facility_types]``: a table of catalogue fields per type."""
    for tname in list(types):
        tpath = f"{path}.{tname}"
        if not isinstance(types[tname], dict):
            problems.append(Problem(file, tpath, "must be a table of catalogue fields"))
            del types[tname]
        else:
            check_shape(types[tname], TYPE_FIELDS, tpath, file, problems)


# tables whose keys are free (group names, age bands, source names): the kind of their values
_OPEN_TABLES = {"shares": "float", "speeds": "float", "band_shares": "float", "sources": "str"}
_FIXED_KEYS = {
    "name": "the scenario's name cannot be overridden; change the scenario file",
    "extends": "cannot be overridden; change the scenario file",
    # a path is relative to the file that sets it: an override has no folder
    "streets": "the street network's CRS and files cannot be overridden; change the scenario file",
}


def key_kind(key: str) -> tuple[str | None, str]:
    """Resolve a dotted override key against the schema.

    Returns:
        (kind, "") for a key that can be overridden (kind "table" for a table of the schema), or
        (None, why) for one that cannot: not in the schema, a list, ``name`` or ``extends``.

    """
    parts = key.split(".") if isinstance(key, str) else []
    if not all(p.strip() for p in parts) or not parts:
        return None, "must be a dotted key such as 'population.mixing'"
    head = parts[0].partition("[")[0]
    if isinstance(SCHEMA.get(head), list):
        return None, "lists cannot be overridden; change the scenario file"
    if head in _FIXED_KEYS:
        return None, _FIXED_KEYS[head]
    node: Any = SCHEMA
    for i in range(len(parts)):
        node, why = _step(node, parts, i)
        if node is None:
            return None, why
    return ("table" if isinstance(node, dict) else node), ""


def _step(node: Any, parts: list[str], i: int) -> tuple[Any, str]:
    """The schema node of ``parts[i]`` inside ``node`` (that of ``parts[:i]``), or (None, why)."""
    part = parts[i]
    if "[" in part or "]" in part:
        return None, "an element of a list cannot be overridden; give the whole list"
    if isinstance(node, dict):
        if part in node:
            return node[part], ""
        allowed = [k for k in node if k not in _FIXED_KEYS and not isinstance(node[k], list)]
        what = "unknown key" if i == len(parts) - 1 else f"unknown table '{part}'"
        return None, f"{what}{suggest(part, allowed)}"
    if node == "types":  # any facility type: a catalogue one, or a new one the scenario defines
        return TYPE_FIELDS, ""
    if node in _OPEN_TABLES:
        return _OPEN_TABLES[node], ""
    return None, f"'{'.'.join(parts[:i])}' is not a table: it is {KIND_WORDS[node]}"


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
        be overridden (``name``, ``extends``, ``[streets]``, ``[[communities]]`` with their
        ``gates``, ``[[facilities]]``).

    """
    return key_kind(key)[0]
