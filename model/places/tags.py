"""The OpenStreetMap tag mapping: which features are facilities of which catalogue type.

Each facility type of model/catalogue.toml gives its ``osm`` tags (the catalogue field table,
model/scenario/fields.py), each with its source. A tag condition is ``"key=value"`` or several
joined by ``" + "`` that must all hold; a feature is of a type when any of the type's conditions
holds. A value matches a tag whose value is the same or holds it among values separated by ";"
(OSM's multi-value convention, e.g. ``isced:level=1;2``). A feature that several types select is
of the type whose selecting condition names the most tags (``amenity=school + isced:level=2`` beats
``amenity=school``), then of the type that comes first in the catalogue.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.scenario import Problem, ScenarioError, load_catalogue
from model.scenario.kinds import KIND_WORDS, OsmCondition, parse_osm_tags


def value_holds(tag_value: object, wanted: str) -> bool:
    """Whether an OSM tag value is ``wanted`` or holds it among ";"-separated values."""
    if not isinstance(tag_value, str):
        return False
    return tag_value == wanted or wanted in (part.strip() for part in tag_value.split(";"))


@dataclass(frozen=True)
class TagMapping:
    """Facility types and the OSM tag conditions that select their features, in catalogue order.

    Attributes:
        types: (facility type, its conditions) pairs; the order breaks ties between types.

    """

    types: tuple[tuple[str, tuple[OsmCondition, ...]], ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """Every OSM key a condition names, sorted."""
        return tuple(sorted({key for _, conds in self.types for cond in conds for key, _ in cond}))

    @property
    def first_keys(self) -> tuple[str, ...]:
        """The first key of every condition, sorted: a feature without any of them is of no type."""
        return tuple(sorted({cond[0][0] for _, conds in self.types for cond in conds}))

    def match(self, tags: Mapping[str, str]) -> str | None:
        """The type of a feature with these tags, or None."""
        frame = pd.DataFrame([{key: tags.get(key) for key in self.keys}])
        found = self.match_frame(frame).iloc[0]
        return None if pd.isna(found) else found

    def match_frame(self, frame: pd.DataFrame) -> pd.Series:
        """The type of each row of a table of tags (a column per key; missing columns are missing tags).

        Returns:
            The type of each row, or None where no type selects it (index of ``frame``).

        """
        best = np.zeros(len(frame), dtype=np.int64)
        found = np.full(len(frame), None, dtype=object)
        for type_id, conditions in self.types:
            for cond in conditions:
                holds = np.ones(len(frame), dtype=bool)
                for key, value in cond:
                    column = frame[key] if key in frame else pd.Series([None] * len(frame), index=frame.index)
                    holds &= column.map(lambda v, value=value: value_holds(v, value)).to_numpy(dtype=bool)
                better = holds & (len(cond) > best)  # strictly more tags: ties keep the earlier type
                best[better] = len(cond)
                found[better] = type_id
        return pd.Series(found, index=frame.index, dtype=object)


def catalogue_mapping() -> TagMapping:
    """The mapping of model/catalogue.toml: each type with ``osm`` tags, in catalogue order."""
    types = []
    for type_id, entry in load_catalogue().items():
        conditions = parse_osm_tags(entry.get("osm", []))
        if conditions:
            types.append((type_id, conditions))
    return TagMapping(tuple(types))


def mapping_from(mapping: Mapping[str, Sequence[str]] | TagMapping | None, file: str) -> TagMapping:
    """The tag mapping a reader uses, checked.

    Args:
        mapping: None for the catalogue's; a :class:`TagMapping`; or catalogue type -> its tag
            conditions as the catalogue writes them (``{"kindergarten": ["amenity=kindergarten"]}``),
            in place of the catalogue's.
        file: The file being read, for the problems.

    Raises:
        ScenarioError: A type that is not in the catalogue (with the closest name), or a condition
            that is not ``"key=value"`` (key ``mapping.<type>``).

    """
    if mapping is None:
        return catalogue_mapping()
    if isinstance(mapping, TagMapping):
        return mapping
    known = list(load_catalogue())
    problems, types = [], []
    for type_id, tags in mapping.items():
        key = f"mapping.{type_id}"
        if type_id not in known:
            close = difflib.get_close_matches(str(type_id), known, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else f"; the catalogue's types: {', '.join(known)}"
            problems.append(Problem(file, key, f"'{type_id}' is not a facility type of the catalogue{hint}"))
            continue
        conditions = parse_osm_tags(list(tags) if isinstance(tags, (list, tuple)) else tags)
        if conditions is None:
            problems.append(Problem(file, key, f"must be {KIND_WORDS['osm_tags']}, not {tags!r}"))
            continue
        types.append((type_id, conditions))
    if problems:
        raise ScenarioError(problems)
    order = {t: i for i, t in enumerate(known)}
    return TagMapping(tuple(sorted(types, key=lambda pair: order[pair[0]])))
