"""Overrides: scenario values given by dotted keys, applied as one more layer on top of a scenario.

``{"population.mixing": 0.5}`` acts as a variant file that ``extends`` the scenario and sets
``[population] mixing = 0.5``: the keys and value shapes are checked against the schema as a file's
are, the layer is merged as a file is (tables key by key, share and speed tables replaced whole),
and the values it sets are recorded as set by the layer's file name, so that the semantic checks
name it. Lists (``[[communities]]``, ``[[facilities]]``), ``name`` and ``extends`` cannot be
overridden, and an override changes a facility type of the catalogue or of the scenario only: a
new type is defined whole in a scenario file (docs/scenarios.md), so a key through a type that
neither has is an unknown type, with the closest known one.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from .errors import Problem
from .files import Raw, load_catalogue, merge_tables
from .reading import value_problems
from .schema import SCHEMA, check_shape, key_kind, suggest


def overrides_layer(overrides: Mapping[str, object], file: str, problems: list[Problem]) -> dict:
    """Nest the overrides into the table a variant file would hold, checking keys and shapes.

    Args:
        overrides: Dotted key -> value.
        file: The name problems give as the file.
        problems: Where problems are recorded; a key or value with a problem is left out.

    Returns:
        The checked layer, e.g. ``{"population": {"mixing": 0.5}}`` (values copied).

    Raises:
        TypeError: If ``overrides`` is not a mapping.

    """
    if not isinstance(overrides, Mapping):
        raise TypeError(f"overrides must be a mapping of dotted keys to values, not {type(overrides).__name__}")
    layer: dict = {}
    given: list[tuple[str, ...]] = []
    for key, value in overrides.items():
        kind, why = key_kind(key)
        if kind is None:
            problems.append(Problem(file, str(key), why))
            continue
        parts = tuple(key.split("."))
        # as in a TOML file, a value cannot be set twice: once by itself and once in its table
        clash = next((g for g in given if g[: len(parts)] == parts or parts[: len(g)] == g), None)
        if clash is not None:
            problems.append(Problem(file, key, f"overlaps the override '{'.'.join(clash)}'; give each value once"))
            continue
        given.append(parts)
        held = value_problems(value, file, key)  # a huge integer, deep nesting: what no file may hold either
        if held:
            problems.extend(held)
            continue
        table = layer
        for part in parts[:-1]:
            table = table.setdefault(part, {})
        table[parts[-1]] = copy.deepcopy(value)  # the shape check removes bad values: not from the caller's
    check_shape(layer, SCHEMA, "", file, problems)
    return layer


def apply_overrides(raw: Raw, layer: dict, file: str, problems: list[Problem]) -> None:
    """Merge a checked layer into the merged data of a scenario, as a variant file would be merged.

    A facility type of the layer that is neither the catalogue's nor the scenario's is a problem
    at ``facility_types.<type>`` and is left out (a new type is defined whole in a scenario file).

    Args:
        raw: The merged data of the scenario and its bases (changed in place).
        layer: The layer :func:`overrides_layer` returned.
        file: The name problems at the keys it sets give as the file.
        problems: Where problems are recorded.

    """
    types = layer.get("facility_types")
    if isinstance(types, dict):
        known = list(dict.fromkeys([*load_catalogue(), *raw.data.get("facility_types", {})]))
        for tname in [t for t in types if t not in known]:
            hint = suggest(tname, known) or f" (the types are {', '.join(known)})"
            problems.append(
                Problem(
                    file,
                    f"facility_types.{tname}",
                    f"unknown facility type{hint}; an override changes a type of the catalogue or of the "
                    "scenario: define a new type in a scenario file",
                )
            )
            del types[tname]
        if not types:
            del layer["facility_types"]
    merge_tables(raw.data, layer, raw.origin, file)
