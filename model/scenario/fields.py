"""The catalogue fields: one table, read by everything that knows a field of a facility type.

Each entry of :data:`FIELDS` declares one field of model/catalogue.toml once: its key, the kind of
value a file gives (model/scenario/kinds.py), the attribute of :class:`~model.scenario.FacilityType`
it becomes and its Python type, its unit, its range check, its default (or that it is required),
whether a scenario may change it, its meaning, how the file's value becomes the attribute and
back, and the arrays the engines' type table (model/simulation/rules.py, ``TypeTable``) makes of
it. From this table come:

* the schema of ``[facility_types.<type>]`` (:data:`TYPE_FIELDS`, :data:`OPTIONAL_TYPE_FIELDS`);
* the range checks of a facility type (:func:`entry_problems`, called by model/scenario/sites.py);
* the attributes of ``FacilityType`` (:func:`with_catalogue_fields`, model/scenario/spec.py) and
  their values (:func:`type_attributes`);
* the written resolved scenario (:func:`type_entry`, model/scenario/write.py);
* the columns of ``TypeTable`` (:data:`COLUMNS`, :func:`with_columns`);
* the table of fields in docs/scenarios.md (:func:`docs_table`; a test checks it is current).

A new catalogue field is one more entry here, its value in model/catalogue.toml, and the rule of
model/simulation/rules.py that reads its column: nothing else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .kinds import (
    AgeBand,
    format_osm_condition,
    format_time,
    format_windows,
    is_finite,
    parse_osm_tags,
    parse_time,
    parse_windows,
)
from .limits import MAX_AGE, MAX_TRIES


class _Required:
    """The default of a field every facility type must give."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""The "default" of a required field."""


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Column:
    """One array of the engines' type table, one entry per facility type.

    Attributes:
        name: The attribute of ``TypeTable`` (model/simulation/rules.py).
        dtype: The array's dtype.
        get: The entry of one type, from the value of the ``FacilityType`` attribute.

    """

    name: str
    dtype: Any
    get: Callable[[Any], Any] = _same


@dataclass(frozen=True)
class CatalogueField:
    """One field of a facility type in model/catalogue.toml and under ``[facility_types.<type>]``.

    Attributes:
        name: The key in the catalogue and in scenario files.
        kind: The kind of value a file gives (model/scenario/kinds.py, e.g. "int", "time").
        type: The Python type of the ``FacilityType`` attribute, as an annotation.
        unit: The unit of the value ("" for none).
        doc: What the field means, for people (FacilityType's docstring, docs/scenarios.md).
        rule: The range rule in words ("" for none): what :attr:`check` checks.
        check: The range check of the file's value (its shape is checked already): a message
            for the problem at the field's key, or None when the value is fine.
        default: The value when a type leaves the field out, or :data:`REQUIRED`.
        overridable: Whether a scenario may change the field of a catalogue type.
        attr: The ``FacilityType`` attribute ("" for the field's name).
        read: The attribute's value from the file's value.
        write: The file's value from the attribute's value (inverse of :attr:`read`).
        columns: The arrays the engines' type table makes of the attribute.
        compare: Whether the attribute takes part in the equality of ``FacilityType``.

    """

    name: str
    kind: str
    type: str
    unit: str
    doc: str
    rule: str = ""
    check: Callable[[Any], str | None] | None = None
    default: Any = REQUIRED
    overridable: bool = True
    attr: str = ""
    read: Callable[[Any], Any] = _same
    write: Callable[[Any], Any] = _same
    columns: tuple[Column, ...] = ()
    compare: bool = True

    @property
    def attribute(self) -> str:
        """The name of the ``FacilityType`` attribute."""
        return self.attr or self.name

    @property
    def required(self) -> bool:
        """Whether every new facility type must give the field."""
        return self.default is REQUIRED

    def default_value(self) -> Any:
        """The attribute's value when a type leaves the field out (a fresh copy of a table)."""
        return dict(self.default) if isinstance(self.default, dict) else self.default


# --------------------------------------------------------------------------- range checks


def _positive(v: float) -> str | None:
    if not is_finite(v):
        return f"must be a finite number, not {v}"
    if v <= 0:
        return f"must be positive, not {f'{v:,}' if isinstance(v, int) else v}"
    return None


def _positive_minutes(v: float) -> str | None:
    return None if v > 0 and is_finite(v) else f"must be a positive number of minutes, not {v}"


def _probability(v: float) -> str | None:
    return None if 0 <= v <= 1 else f"must be a probability between 0 and 1, not {v}"


def _ages(v: list[int]) -> str | None:
    lo, hi = v
    return None if 0 <= lo <= hi <= MAX_AGE else f"must be [lo, hi] with 0 <= lo <= hi <= {MAX_AGE}"


def _not_negative(v: float) -> str | None:
    return None if v >= 0 else f"must not be negative, not {v}"


def _not_negative_count(v: int) -> str | None:
    return None if v >= 0 else f"must not be negative, not {v:,}"


ENROLMENT_KINDS: tuple[str, ...] = ("none", "catchment", "admission")
"""The values of ``enrolment``; the type table holds a type's position in this tuple (0: none)."""


def _enrolment_kind(v: str) -> str | None:
    if v in ENROLMENT_KINDS:
        return None
    return f"must be one of {', '.join(repr(k) for k in ENROLMENT_KINDS)}, not {v!r}"


def _escort_age(v: int) -> str | None:
    return None if 0 <= v <= MAX_AGE else f"must be an age from 0 to {MAX_AGE}, not {v}"


def _tries(v: int) -> str | None:
    if v > MAX_TRIES:
        return f"must be at most {MAX_TRIES:,} (facilities tried in one trip), not {v:,}"
    return _positive(v)


# --------------------------------------------------------------------------- the table

FIELDS: tuple[CatalogueField, ...] = (
    CatalogueField("label", "str", "str", "", "What the facility is, for people."),
    CatalogueField(
        "level_min",
        "float",
        "float",
        "minutes",
        "Life-circle level: the facility should be reachable on foot within 5, 10 or 15 minutes. "
        "Access is judged against it.",
        "> 0, finite",
        _positive_minutes,
        read=float,
    ),
    CatalogueField(
        "ages",
        "band",
        "AgeBand",
        "years",
        "Ages (years, inclusive) of the residents who need this type.",
        f"0 ≤ lo ≤ hi ≤ {MAX_AGE}",
        _ages,
        read=lambda v: AgeBand(*v),
        write=lambda band: [band.lo, band.hi],
        columns=(Column("age_lo", np.int64, lambda band: band.lo), Column("age_hi", np.int64, lambda band: band.hi)),
    ),
    CatalogueField(
        "daily_prob",
        "float",
        "float",
        "",
        "Probability that a resident who needs the type visits in each of its departure windows on a "
        "given day (with one window: on a given day).",
        "0..1",
        _probability,
        read=float,
        columns=(Column("daily_prob", float),),
    ),
    CatalogueField(
        "weekdays_only",
        "bool",
        "bool",
        "",
        "Visits only Monday to Friday (schools, offices).",
        columns=(Column("weekdays_only", bool),),
    ),
    CatalogueField(
        "depart",
        "windows",
        "tuple[tuple[int, int], ...]",
        "clock time",
        "Window in which residents leave home for the visit, or several windows: "
        '`[["06:00", "06:45"], ["18:30", "20:00"]]` is the morning and the evening park. Each window '
        "is one chance a day, taken with probability `daily_prob`, independently of the others, at a "
        "whole minute drawn uniformly in the window.",
        "each start ≤ end, within the opening hours (open ≤ start, end < close); several windows in "
        'order of time and not overlapping (both ends count: `["06:00", "07:00"]` and '
        '`["07:00", "08:00"]` overlap)',
        attr="depart_windows",
        read=lambda v: tuple(parse_windows(v)),
        write=format_windows,
    ),
    CatalogueField(
        "visit_min",
        "int",
        "int",
        "minutes",
        "Minutes spent at the facility per visit.",
        "> 0",
        _positive,
        columns=(Column("visit_min", np.int64),),
    ),
    CatalogueField(
        "open",
        "time",
        "int",
        "clock time",
        "Opening time: visitors are admitted from this minute.",
        attr="open_min",
        read=parse_time,
        write=format_time,
        columns=(Column("open_min", np.int64),),
    ),
    CatalogueField(
        "close",
        "time",
        "int",
        "clock time",
        "Closing time: nobody is admitted from this minute, and visitors leave.",
        "after `open`",
        attr="close_min",
        read=parse_time,
        write=format_time,
        columns=(Column("close_min", np.int64),),
    ),
    CatalogueField(
        "capacity",
        "int",
        "int",
        "people",
        "People present at once; the default for facilities that give none.",
        "> 0",
        _positive,
    ),
    CatalogueField(
        "beta_per_min",
        "float",
        "float",
        "1/minute",
        "Destination-choice decay: a facility is chosen with probability ∝ exp(−beta_per_min × walking "
        "minutes). `inf` means always the nearest (catchment assignment); 0 means distance does not matter.",
        "≥ 0 (`inf` allowed)",
        _not_negative,
        read=float,
        columns=(Column("beta_per_min", float),),
    ),
    CatalogueField(
        "patience_min",
        "int",
        "int",
        "minutes",
        "Minutes a resident waits at a full facility before giving up on it.",
        "≥ 0",
        _not_negative_count,
        columns=(Column("patience_min", np.int64),),
    ),
    CatalogueField(
        "tries",
        "int",
        "int",
        "facilities",
        "Facilities tried per wanted visit before going home unserved. At most 10 is a limit of this "
        "implementation (the engine keeps residents × tries choices in memory); the catalogue uses 1 or 2.",
        f"1..{MAX_TRIES}",
        _tries,
        columns=(Column("tries", np.int64),),
    ),
    CatalogueField(
        "catchment_min",
        "float",
        "float | None",
        "minutes",
        "Walking minutes of the type's two-step floating catchment (docs/metrics.md); without it, "
        "`level_min`, the walk the life circle plans for it (Luo & Wang 2003 take the service's own "
        "travel threshold; the level is the planning one).",
        "> 0",
        _positive,
        default=None,
        read=float,
    ),
    CatalogueField(
        "area_m2",
        "float",
        "float | None",
        "m²",
        "Area of each facility of the type, for the crowding of open spaces in people per 1,000 m²; "
        "without it, not measured.",
        "> 0",
        _positive,
        default=None,
        read=float,
    ),
    CatalogueField(
        "open_space",
        "bool",
        "bool",
        "",
        "The type's facilities admit everyone who comes (parks, squares): nobody queues or is turned "
        "away, `capacity` is only a reference figure and crowding is measured per 1,000 m² of "
        "`area_m2`. The catalogue's park is one.",
        default=False,
        read=bool,
        columns=(Column("open_space", bool),),
    ),
    CatalogueField(
        "source",
        "sources",
        "dict[str, str]",
        "",
        'Where each number comes from, or "assumption". Merged key by key with the catalogue\'s.',
        "values are strings",
        default={},
        read=dict,
        write=dict,
        compare=False,
    ),
    CatalogueField(
        "osm",
        "osm_tags",
        "tuple[tuple[tuple[str, str], ...], ...]",
        "",
        "The OpenStreetMap tags of the type's facilities, for reading real places (model/places/, "
        'docs/places.md): a feature is of the type when it carries any of them, e.g. `["amenity=kindergarten"]`; '
        '`"amenity=school + isced:level=2"` asks for both tags. A feature that several types select is of '
        "the type whose selecting entry names the most tags (then the first in the catalogue). The simulation "
        "does not read it.",
        'each `"key=value"` or several joined by `" + "`, keys and values not empty',
        default=(),
        read=parse_osm_tags,
        write=lambda conditions: [format_osm_condition(c) for c in conditions],
        compare=False,
    ),
    CatalogueField(
        "enrolment",
        "str",
        "str",
        "",
        'How the type\'s places are held: `"none"`, visits are drawn day by day and compete for room in '
        'the queue; `"catchment"`, each child of the type\'s ages who applies is enrolled once per run at '
        "the nearest facility with a place, children nearest to a facility first (schools, 划片入学); "
        '`"admission"`, applicants are admitted in random order (a lottery), each to the nearest facility '
        "with a place (kindergartens, nurseries). Only enrolled children visit an enrolment type, each at its "
        'own facility (docs/behaviour.md, "Enrolment").',
        ", ".join(f'`"{k}"`' for k in ENROLMENT_KINDS),
        _enrolment_kind,
        default="none",
        columns=(Column("enrolment", np.int64, ENROLMENT_KINDS.index),),
    ),
    CatalogueField(
        "apply_share",
        "float",
        "float",
        "",
        "Share of the residents of the type's ages who seek a place, drawn once per run (with "
        '`enrolment = "none"` not read). `daily_prob` is then the attendance of an enrolled child on a day.',
        "0..1",
        _probability,
        default=1.0,
        read=float,
        columns=(Column("apply_share", float),),
    ),
    CatalogueField(
        "escort_below_age",
        "int",
        "int",
        "years",
        "Residents younger than this are escorted to the type and back by a carer of their household "
        "(docs/behaviour.md, Households and escorts); 0: nobody is escorted. Only with `[households]` "
        "on and `escort = true`.",
        f"0..{MAX_AGE}, at most `households.adult_age`",
        _escort_age,
        default=0,
        columns=(Column("escort_below_age", np.int64),),
    ),
)

TYPE_FIELDS: dict[str, str] = {f.name: f.kind for f in FIELDS}
"""The schema of a facility type: field -> kind of value."""
OPTIONAL_TYPE_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if not f.required)
"""The fields a new facility type may leave out (their defaults: :data:`FIELDS`)."""
COLUMNS: tuple[tuple[CatalogueField, Column], ...] = tuple((f, col) for f in FIELDS for col in f.columns)
"""Every column of the engines' type table, with the field it is made of."""
FIELD_BY_NAME: dict[str, CatalogueField] = {f.name: f for f in FIELDS}
"""The fields by their key."""


# --------------------------------------------------------------------------- checks across fields


def _opening_problems(entry: Mapping[str, Any]) -> list[tuple[str, str]]:
    if parse_time(entry["open"]) >= parse_time(entry["close"]):
        return [("close", f"closing time {entry['close']} must be after opening time {entry['open']}")]
    return []


def _window_problems(entry: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Each departure window in order and within the opening hours; the windows sorted, not overlapping.

    One window is reported at ``depart``, one of several at ``depart[i]``.
    """
    open_min, close_min = parse_time(entry["open"]), parse_time(entry["close"])
    windows = parse_windows(entry["depart"])  # the shape is checked already
    out = []
    for i, (first, last) in enumerate(windows):
        key = "depart" if len(windows) == 1 else f"depart[{i}]"
        shown = f"{format_time(first)}-{format_time(last)}"
        if first > last:
            out.append((key, f"the window {shown} must not end before it starts"))
        elif open_min < close_min and (first < open_min or last >= close_min):
            hours = f"{entry['open']}-{entry['close']}"
            out.append((key, f"departures {shown} must fall within the opening hours {hours}"))
    for (a0, a1), (b0, b1) in zip(windows, windows[1:]):
        if a0 <= a1 and b0 <= b1 and b0 <= a1:
            out.append(
                (
                    "depart",
                    f"windows must be in order of time and must not overlap: {format_time(a0)}-{format_time(a1)} "
                    f"is followed by {format_time(b0)}-{format_time(b1)}",
                )
            )
    return out


def entry_problems(entry: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Check the values of one facility type (the catalogue's entry with the scenario's changes).

    Args:
        entry: Every required field and any optional one, each of the right kind.

    Returns:
        (field key, message) of every problem: each field's range, in table order, then the
        opening hours and the departure windows. The key is relative to the type
        (``depart[1]``).

    """
    out = [
        (f.name, message)
        for f in FIELDS
        if f.check is not None and f.name in entry and (message := f.check(entry[f.name])) is not None
    ]
    return out + _opening_problems(entry) + _window_problems(entry)


# --------------------------------------------------------------------------- file values and attributes


def type_attributes(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The ``FacilityType`` attributes (all but ``id``) of a facility type whose values are checked."""
    return {f.attribute: f.read(entry[f.name]) if f.name in entry else f.default_value() for f in FIELDS}


def type_entry(facility_type: Any) -> dict[str, Any]:
    """Every field of a facility type as model/catalogue.toml writes it (inverse of :func:`type_attributes`).

    An optional field is written only when it differs from its default (None, which TOML
    cannot write, or false, or no sources).
    """
    out = {}
    for f in FIELDS:
        value = getattr(facility_type, f.attribute)
        if f.required or value != f.default:
            out[f.name] = f.write(value)
    return out


# --------------------------------------------------------------------------- the classes made from the table


def _with_attributes_doc(doc: str | None, lines: list[str]) -> str:
    """``doc`` with ``lines`` added to its Attributes section (the last one), or in a new one."""
    doc = (doc or "").rstrip()
    if "\n    Attributes:\n" not in doc:
        doc += "\n\n    Attributes:"
    return doc + "\n" + "".join(f"        {line}\n" for line in lines) + "\n    "


def _own_annotations(cls: type) -> None:
    """Give ``cls`` annotations of its own (without any, ``cls.__annotations__`` may be a base's)."""
    if "__annotations__" not in cls.__dict__:
        cls.__annotations__ = {}


def with_catalogue_fields(cls: type) -> type:
    """Class decorator, under ``@dataclass``: add one attribute per catalogue field, in table order.

    Each gets the field's type and default (a required field none) and a line in the docstring.
    """
    _own_annotations(cls)
    lines = []
    for f in FIELDS:
        cls.__annotations__[f.attribute] = f.type
        if isinstance(f.default, dict):  # a table: a fresh one for every instance
            setattr(cls, f.attribute, dataclasses.field(default_factory=f.default_value, compare=f.compare))
        elif not f.required:
            setattr(cls, f.attribute, dataclasses.field(default=f.default, compare=f.compare))
        unit = f" Unit: {f.unit}." if f.unit else ""
        lines.append(f"{f.attribute}: ``{f.name}`` in the catalogue. {f.doc}{unit}")
    cls.__doc__ = _with_attributes_doc(cls.__doc__, lines)
    return cls


def with_columns(cls: type) -> type:
    """Class decorator, under ``@dataclass``: add one array attribute per column of the type table."""
    _own_annotations(cls)
    for _, col in COLUMNS:
        cls.__annotations__[col.name] = "np.ndarray"
    lines = [f"{col.name}: From ``{f.name}``: {f.doc}" for f, col in COLUMNS]
    cls.__doc__ = _with_attributes_doc(cls.__doc__, lines)
    return cls


# --------------------------------------------------------------------------- documentation

_DOC_KINDS = {
    "str": "string",
    "float": "number",
    "int": "integer",
    "bool": "boolean",
    "band": "`[lo, hi]` integers",
    "time": '`"HH:MM"`',
    "windows": '`["HH:MM", "HH:MM"]`, or a list of them',
    "sources": "table of strings",
    "osm_tags": '`["key=value", ...]` strings',
}


def _doc_default(f: CatalogueField) -> str:
    if f.required:
        return "**required**"
    if f.default is None or f.default == ():
        return "none"
    if isinstance(f.default, str):
        return f'`"{f.default}"`'
    return f"`{str(f.default).lower()}`"


def docs_table() -> str:
    """The table of catalogue fields as docs/scenarios.md gives it (Markdown)."""
    rows = ["| field | type | unit | default | rule | meaning |", "|---|---|---|---|---|---|"]
    for f in FIELDS:
        doc = f.doc if f.overridable else f"{f.doc} A scenario cannot change it."
        rows.append(f"| `{f.name}` | {_DOC_KINDS[f.kind]} | {f.unit} | {_doc_default(f)} | {f.rule} | {doc} |")
    return "\n".join(rows) + "\n"
