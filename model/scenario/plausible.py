"""Plausible ranges: values that are possible but most likely a slip of units, reported as warnings.

A walking pace of 3.3 m/min is a positive number, so the checks accept it; it is also 3.3 km/h
written in the wrong unit, and every resident then reaches nothing. The ranges below are wide
(each holds every bundled scenario and the catalogue with room to spare); a value outside one is
a **warning** naming the file, the key and the range, and saying what the value would be in the
unit it was most likely written in. A warning does not stop a run. Values that cannot be (a
pace of 0, a negative capacity) stay errors of :mod:`.checks` and :mod:`.sites`.

Each range says where it comes from, or that it is an assumption; docs/scenarios.md holds the
same table (:func:`docs_table`; a test checks it is current).
"""

from __future__ import annotations

from dataclasses import dataclass

from .checker import Checker


@dataclass(frozen=True)
class Plausible:
    """A plausible range of one kind of value.

    Attributes:
        lo: The lowest plausible value.
        hi: The highest plausible value.
        unit: The unit of the value, as the key's name says it.
        what: What the range is of, for people ("a walking pace").
        source: Where the range comes from, or "assumption: ..." with the reason.
        slips: Units a value is likely written in by mistake, with the factor that turns a value in
            that unit into ``unit`` (km/h -> m/min: 1000 / 60).

    """

    lo: float
    hi: float
    unit: str
    what: str
    source: str
    slips: tuple[tuple[str, float], ...] = ()

    def outside(self, value: float) -> str | None:
        """The warning for ``value`` outside the range (without file and key), or None if inside."""
        if self.lo <= value <= self.hi:
            return None
        hint = ""
        for unit, factor in self.slips:
            if self.lo <= value * factor <= self.hi:
                hint = f"; written in {unit}? {value:g} {unit} is {value * factor:,.4g} {self.unit}"
                break
        return f"{value:,g} {self.unit} is outside the plausible range of {self.what}, {self.range_words()}{hint}"

    def range_words(self) -> str:
        """The range as written in messages and docs: "30 to 120 m/min"."""
        return f"{self.lo:,g} to {self.hi:,g} {self.unit}"


PACE = Plausible(
    30.0,
    120.0,
    "m/min",
    "a walking pace",
    "30 m/min (0.5 m/s) is about half the mean of the slowest stratum of healthy adults in Bohannon & "
    "Andrews (2011), women 80-99 at 0.943 m/s, and below the bundled 45 m/min of ages 80-100; 120 m/min "
    "(2.0 m/s) is 1.4 times the fastest stratum's 1.434 m/s (men 40-49), the bundled scenarios' "
    "highest pace factor: beyond it people run (docs/sources.md, Walking speeds)",
    (("km/h", 1000 / 60), ("m/s", 60.0)),
)
CELL = Plausible(
    10.0,
    500.0,
    "m",
    "a cell's side",
    "assumption: below 10 m a cell is narrower than a residential street, and holds no home; above 500 m, "
    "the radius of GB 50180-2018's 10-minute life circle, a cell is wider than the 5-minute circle "
    "(about 300 m) and the levels cannot be told apart",
    (("km", 1000.0),),
)
LEVEL = Plausible(
    1.0,
    60.0,
    "minutes",
    "a walking standard",
    "assumption around GB 50180-2018's 5-, 10- and 15-minute life circles: a standard below a minute is "
    "a few dozen metres (or a standard in hours), one above an hour's walk is no life circle",
    (("hours", 60.0), ("seconds", 1 / 60)),
)
VISIT = Plausible(
    5.0,
    720.0,
    "minutes",
    "a visit",
    "assumption: half the catalogue's shortest visit (10 minutes, the convenience station) to 12 hours, "
    "beyond the catalogue's longest (540 minutes, a day at nursery or kindergarten)",
    (("hours", 60.0), ("seconds", 1 / 60)),
)
CAPACITY = Plausible(
    1.0,
    10_000.0,
    "people",
    "a facility's capacity",
    "assumption: about 7 times the catalogue's largest (1,500, a junior middle school); a facility of more "
    "people at once serves a district or a city, not a life circle",
)

# key of a scenario file -> its range; "*" stands for any name (an age band, a facility type). The
# capacity column of a street scenario's facilities file is held to CAPACITY too (.streets).
RANGES: dict[str, Plausible] = {
    "grid.cell_m": CELL,
    "walking.m_per_min.*": PACE,
    "simulation.reference_m_per_min": PACE,
    "facility_types.*.level_min": LEVEL,
    "facility_types.*.catchment_min": LEVEL,
    "facility_types.*.visit_min": VISIT,
    "facility_types.*.capacity": CAPACITY,
    "facilities[*].capacity": CAPACITY,
}


def check_plausible(c: Checker) -> None:
    """Warn about every value the scenario's files set outside its plausible range.

    Only values that the files (or overrides) give are looked at: the catalogue's own are
    plausible (a test checks it). Values of the wrong kind were reported and removed already.

    Args:
        c: The checker of the scenario: its merged data are read, its warnings written.

    """
    data = c.raw.data
    _warn(c, "grid.cell_m", data.get("grid", {}).get("cell_m"), CELL)
    walking = data.get("walking", {})
    for band, pace in (walking.get("m_per_min") or {}).items():
        _warn(c, f"walking.m_per_min.{band}", pace, PACE)
    _warn(c, "simulation.reference_m_per_min", data.get("simulation", {}).get("reference_m_per_min"), PACE)
    for tname, fields in data.get("facility_types", {}).items():
        if not isinstance(fields, dict):
            continue
        for key in ("level_min", "catchment_min", "visit_min", "capacity"):
            _warn(c, f"facility_types.{tname}.{key}", fields.get(key), RANGES[f"facility_types.*.{key}"])
    for e in c.raw.lists["facilities"]:
        _warn(c, f"facilities[{e.index}].capacity", e.data.get("capacity"), CAPACITY, e.file)


def _warn(c: Checker, key: str, value: object, plausible: Plausible, file: str | None = None) -> None:
    """Record a warning at ``key`` if ``value`` (a number, or None when not given) is outside the range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    message = plausible.outside(value)
    if message is not None:
        c.warn(key, message, file)


def docs_table() -> str:
    """The table of plausible ranges as docs/scenarios.md gives it (Markdown)."""
    rows = ["| key | plausible range | source |", "|---|---|---|"]
    for key, p in RANGES.items():
        rows.append(f"| `{key}` | {p.range_words()} | {p.source} |")
    return "\n".join(rows) + "\n"
