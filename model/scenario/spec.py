"""What a valid scenario is: the frozen dataclasses the loader returns, and every default.

Every default of a scenario file's optional keys is written here once, as a field default; the
checks read it with :func:`default_of` (or from ``Simulation()``); those of the facility types'
fields are in the catalogue field table (model/scenario/fields.py), which gives
:class:`FacilityType` its fields. docs/scenarios.md gives the same defaults and where they come
from. The limits are in model/scenario/limits.py.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from .errors import Problem
from .fields import with_catalogue_fields
from .kinds import AgeBand


def default_of(cls: type, name: str) -> Any:
    """Return the default of field ``name`` of dataclass ``cls`` (the one place it is written).

    Raises:
        ValueError: If ``cls`` has no such field, or the field no default.

    """
    for f in fields(cls):
        if f.name == name:
            if f.default is not MISSING:
                return f.default
            if f.default_factory is not MISSING:
                return f.default_factory()
            raise ValueError(f"{cls.__name__}.{name} has no default")
    raise ValueError(f"{cls.__name__} has no field {name!r}")


# --------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class Grid:
    """The walkable grid.

    Attributes:
        width: Columns (x = 0..width-1).
        height: Rows (y = 0..height-1).
        cell_m: Metres per cell side.
        blocked: Rectangles (x, y, w, h) of cells nobody can walk on.
        origin: WGS84 (longitude, latitude) in degrees of the grid's north-west corner: the outer
            corner of cell (0, 0), the one it shares with no other cell (grid metres (0, 0)).
            Columns x grow eastwards, rows y southwards. None: the grid is not placed on the
            Earth (the GeoJSON files of model/report/geo.py are then in grid metres).

    """

    width: int
    height: int
    cell_m: float = 50.0  # assumption (a design choice): a 50 m cell holds a few apartment blocks
    blocked: tuple[tuple[int, int, int, int], ...] = ()  # nothing blocked
    origin: tuple[float, float] | None = None  # not placed on the Earth


@dataclass(frozen=True, eq=False)
class Streets:
    """A street network to walk instead of the grid: the ``[streets]`` table and its data files.

    Coordinates are metres east (x) and north (y) in ``crs``, a projected CRS (docs/streets.md).
    Node numbers (the rows of ``node_id``) index ``node_xy_m``; edges and homes refer to nodes
    and communities by number. Two Streets are equal when their files' contents are
    (``digest``): the arrays are not compared one by one.

    Attributes:
        crs: The projected CRS of every x_m, y_m ("EPSG:32635"), as pyproj reads it.
        node_id: int64 (n,) the network's own node ids (OSM node ids when imported from OSM).
        node_xy_m: float (n, 2) node coordinates, metres.
        edge_u: int64 (e,) first node (number) of each undirected edge.
        edge_v: int64 (e,) second node (number).
        edge_m: float (e,) walking length in metres, 0 or more.
        home_id: int64 (h,) ids of the homes (buildings; OSM way ids when imported).
        home_community: int64 (h,) community index (into ``Scenario.communities``) of each home.
        home_xy_m: float (h, 2) where each home is, metres.
        home_floor_m2: float (h,) floor area, > 0: a community's residents are shared over its
            homes in proportion to it.
        gate_community: int64 (g,) community index of each gate (may be empty).
        gate_xy_m: float (g, 2) where each gate is, metres.
        files: The data files read (nodes, edges, homes, facilities, gates), resolved.
        digest: sha256 of the data files' contents, in that order (each preceded by its key
            and its length in bytes, so that a file left out cannot pass for another).
        file_keys: The ``[streets]`` key of each of ``files`` ("nodes", "edges", "homes", then
            "facilities" and "gates" when given).
        file_facilities: The rows of the facilities file as loaded (named): ``Scenario.facilities``
            starts with them, then come the ``[[facilities]]`` entries. The resolved scenario
            (model/scenario/write.py) leaves them in the file when ``Scenario.facilities`` still
            starts with them unchanged.

    """

    crs: str
    node_id: np.ndarray
    node_xy_m: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_m: np.ndarray
    home_id: np.ndarray
    home_community: np.ndarray
    home_xy_m: np.ndarray
    home_floor_m2: np.ndarray
    gate_community: np.ndarray
    gate_xy_m: np.ndarray
    files: tuple[Path, ...]
    digest: str
    file_keys: tuple[str, ...] = ()  # the keys of ``files``
    file_facilities: tuple[FacilitySite, ...] = ()  # no facilities file

    def __eq__(self, other: object) -> bool:
        """Equal when built from files of equal contents in the same CRS."""
        if not isinstance(other, Streets):
            return NotImplemented
        return (self.crs, self.digest) == (other.crs, other.digest)

    def __hash__(self) -> int:
        """Hash of the CRS and the files' digest."""
        return hash((self.crs, self.digest))


@dataclass(frozen=True)
class Community:
    """A community: residents live on the walkable cells of ``area``.

    Attributes:
        name: Unique name.
        area: Rectangle (x, y, w, h) in cells.
        residents: Number of residents.
        groups: The community's own group shares, or None for the population's.
        gates: The cells (x, y) where its residents leave it, or None when not given (then
            :meth:`gate_cells` gives the default gate).

    """

    name: str
    area: tuple[int, int, int, int] | None  # None on streets: homes come from the homes file
    residents: int
    groups: dict[str, float] | None = None  # none of its own: the population's shares
    gates: tuple[tuple[int, int], ...] | None = None  # not given: one gate, see gate_cells

    def gate_cells(self, walkable: np.ndarray) -> list[tuple[int, int]]:
        """Return the community's gates: the cells where its residents leave it.

        The gates given in the scenario (``gates``), in their order; without them one default
        gate: the walkable cell of ``area`` whose centre is nearest the centre of the area
        (Euclidean distance in cells; of equally near cells the one with the lowest y, then the
        lowest x). The guidance map of the community measures walking distances from its gates.

        Args:
            walkable: Bool array (height, width) of the grid, False on blocked cells.

        Returns:
            The gate cells as (x, y); empty only if the area has no walkable cell (a scenario
            that loads always has one).

        """
        if self.gates is not None:
            return [(int(x), int(y)) for x, y in self.gates]
        x0, y0, w, h = self.area
        ys, xs = np.nonzero(np.asarray(walkable, dtype=bool)[y0 : y0 + h, x0 : x0 + w])  # row by row: y, then x
        if ys.size == 0:
            return []
        # twice the offsets from the area's centre, (w - 1) / 2 and (h - 1) / 2 cells from its
        # first cell: whole numbers, so that equal distances compare equal
        dx = 2 * xs.astype(np.int64) - (w - 1)
        dy = 2 * ys.astype(np.int64) - (h - 1)
        i = int(np.argmin(dx * dx + dy * dy))  # the first minimum: lowest y, then lowest x
        return [(x0 + int(xs[i]), y0 + int(ys[i]))]


@dataclass(frozen=True)
class FacilitySite:
    """One facility placed by the scenario.

    On a grid, ``x`` and ``y`` are the facility's cell (whole numbers); on streets they are
    metres in the streets' CRS (``[[facilities]] at_m``, or a row of the streets' facilities
    file), and ``osm_id`` is its OpenStreetMap id when it was imported from OSM.
    """

    type: str
    x: int | float
    y: int | float
    capacity: int
    name: str
    osm_id: int | None = None  # not from OpenStreetMap


@dataclass(frozen=True)
@with_catalogue_fields
class FacilityType:
    """A catalogue entry, after the scenario's overrides (see model/catalogue.toml).

    Its fields after ``id`` are those of the catalogue field table (model/scenario/fields.py), in
    its order, with its types and defaults (listed below). The rules that apply these numbers
    (who needs the type, opening hours, whether a trip fits) are in the rulebook,
    model/simulation/rules.py. ``depart_windows`` holds one or more (first, last) departure
    minutes after midnight, sorted and not overlapping: each window is one chance a day to
    visit, taken with probability ``daily_prob`` (the morning and the evening park are two
    windows). ``catchment_min`` and ``area_m2`` serve only the measures (model/measures,
    docs/metrics.md).

    Attributes:
        id: The type's name: its key in the catalogue or under ``[facility_types]``.
    """

    id: str


@dataclass(frozen=True)
class Pace:
    """How walking pace varies within an age band (the ``[walking]`` keys besides ``m_per_min``).

    Each resident walks at its band's ``m_per_min`` times a factor drawn from a normal
    distribution of mean 1 and standard deviation ``cv``, truncated to ``limits`` (so the band's
    value stays the mean when the limits are symmetric about 1); a share ``reduced_mobility`` of
    the residents of a band has reduced mobility and walks at ``reduced_pace`` times that pace.
    The defaults are no variation at all: every resident of a band at the band's pace.

    Attributes:
        cv: Standard deviation of the pace factor (a coefficient of variation), 0 for none.
        limits: (lowest, highest) pace factor; the normal distribution is truncated to them.
        reduced_mobility: Share of the residents of each age band with reduced mobility.
        reduced_pace: Their pace as a share of the pace they would otherwise have.

    """

    cv: float = 0.0  # no variation within a band
    limits: tuple[float, float] = (0.5, 1.5)  # design choice: only used when cv > 0
    reduced_mobility: dict[AgeBand, float] = field(default_factory=dict)  # nobody
    reduced_pace: float = 0.5  # design choice: only used with a reduced_mobility share

    @property
    def fastest_factor(self) -> float:
        """The largest factor any resident's pace can have over its band's ``m_per_min``."""
        return self.limits[1] if self.cv > 0 else 1.0


@dataclass(frozen=True)
class Simulation:
    """Settings of the daily-life simulation (see docs/scenarios.md, which gives each default's origin).

    Attributes:
        tick_min: Minutes per model step.
        day_start_min: First minute of the simulated day (minutes after midnight).
        day_end_min: Minute the simulated day ends.
        cutoff_min: Facilities farther than this (own walking minutes) are not chosen.
        block_m: Side of a residential block for the mixing indices, in metres.
        contact_min: Minutes of co-presence that make a contact.
        first_weekday: Weekday of day 0 (0 = Monday).
        reference_m_per_min: The fixed walking pace of 15-minute usage (Abbiasov et al. 2024):
            a trip counts when its destination lies within 15 minutes of home at this pace,
            whatever the resident's own pace.
        learning: Whether residents remember the facilities that turned them away on earlier
            days of the run and rank them lower (``rules.ranked_minutes``); False: no memory.
        learning_penalty_min: Minutes added to a facility's own walking minutes in the
            resident's choice utility for each remembered turn-away there.

    """

    tick_min: int = 1  # assumption (design choice): one-minute steps
    day_start_min: int = 6 * 60  # assumption (design choice): 06:00-22:00 holds the catalogue's visiting windows
    day_end_min: int = 22 * 60  # assumption, as day_start_min
    cutoff_min: float = 30.0  # assumption (design choice): twice the life circle's 15 minutes
    block_m: float = 200.0  # about a residential compound (居住街坊) of GB 50180-2018
    contact_min: int = 10  # assumption (design choice): long enough to be a conversation
    first_weekday: int = 0  # assumption: day 0 is a Monday
    # assumption: one adult pace for everyone, 80 m/min (4.8 km/h), near the 78 m/min of adults in
    # the bundled scenarios; Abbiasov et al. (2024) draw 15-minute walks from a neighbourhood's
    # centre with the OpenRouteService API, one pace for everyone, which this stands in for
    reference_m_per_min: float = 80.0
    learning: bool = True  # assumption: residents learn; it changes nothing in a run of one day
    # assumption: a remembered turn-away counts as 10 more minutes of walking, a third of the
    # default cut-off: enough to prefer a facility a few minutes farther, not one across the circle
    learning_penalty_min: float = 10.0


# The compositions a household may have, in the order of summary.json and docs/scenarios.md
COMPOSITIONS = (
    "elder_alone",
    "elder_couple",
    "single_adult",
    "couple",
    "couple_with_children",
    "single_parent",
    "three_generations",
)


@dataclass(frozen=True)
class Households:
    """How residents live together and who takes children to school (the ``[households]`` table).

    Households are formed after the residents are drawn, within each community and group
    (model/city/households.py, docs/behaviour.md "Households and escorts"). Roles by age: a
    child is younger than ``adult_age``, an elder is ``elder_age`` or older, an adult in between.
    The compositions' members: elder_alone one elder, elder_couple two, single_adult one adult,
    couple two adults, couple_with_children two adults and children, single_parent one adult and
    children, three_generations one or two elders, two adults and children. A household with
    children has one child, or two with probability ``two_children``; a three-generation household
    has one elder, or two with probability ``two_grandparents``.

    Attributes:
        on: Whether residents live in households (False: each resident lives alone where drawn,
            exactly as before households existed, and nobody is escorted).
        escort: Whether carers escort children to the facility types with an ``escort_below_age``.
        compositions: Share of households of each composition (keys of :data:`COMPOSITIONS`).
        adult_age: Youngest age of an adult, and of a carer.
        elder_age: Youngest age of an elder (grandparents).
        two_children: Share of the households with children that have two.
        two_grandparents: Share of the three-generation households with two elders (else one).

    """

    on: bool = True  # the model is household-based; false gives the model before households
    escort: bool = True  # design choice: escorting is part of the household model
    # assumption: a third of the households with children (about Inner Mongolia's share of residents
    # under 18 at 1.3 children a household); the mean size this gives (near 2.2) is below the 2.35
    # persons per family household of Inner Mongolia's 2020 (7th) census (the autonomous region's
    # statistics bureau, press conference of 20 May 2021, reported by China News Service), which
    # gives no shares of compositions (docs/scenarios.md#households)
    compositions: dict[str, float] = field(
        default_factory=lambda: {
            "elder_alone": 0.11,
            "elder_couple": 0.13,
            "single_adult": 0.18,
            "couple": 0.25,
            "couple_with_children": 0.20,
            "single_parent": 0.05,
            "three_generations": 0.08,
        }
    )
    adult_age: int = 18  # age of majority (Civil Code of the PRC, art. 17)
    elder_age: int = 65  # the census's elder age group, 65 and over
    two_children: float = 0.3  # assumption: most urban households with children have one child
    two_grandparents: float = 0.5  # assumption: half the three-generation households have both grandparents


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """A validated scenario: everything needed to build the city and its residents.

    Keyword-only, so that fields with defaults keep their place (and the repr its order).
    Where it was read from (``path``, ``files``) and its ``warnings`` are not part of a
    scenario's value: scenarios read from different files compare equal if their values are equal.

    Attributes:
        path: The file it was loaded from (resolved).
        files: The file and every file it ``extends``: itself first, then its base, the base's base.
        warnings: Problems that do not stop a run (e.g. a community on mostly blocked cells).

    """

    name: str
    path: Path = field(compare=False)
    files: tuple[Path, ...] = field(default=(), compare=False)  # not recorded
    description: str = ""  # none
    seed: int = 0  # assumption: any fixed seed makes runs repeatable; ``lifecircle run --seed`` overrides it
    grid: Grid | None
    groups: dict[str, float]
    ages: dict[AgeBand, float]
    mixing: float = 1.0  # assumption: homes assigned regardless of group, the case without separation
    speeds: dict[AgeBand, float]
    pace: Pace = field(default_factory=Pace)  # no variation within a band
    communities: tuple[Community, ...]
    facilities: tuple[FacilitySite, ...]
    types: dict[str, FacilityType]
    simulation: Simulation
    warnings: tuple[Problem, ...] = field(default=(), compare=False)  # none
    streets: Streets | None = None  # the grid: a scenario has either [grid] or [streets]
    households: Households = field(default_factory=Households)  # the [households] defaults

    @property
    def types_present(self) -> list[str]:
        """Facility types that have at least one facility, in catalogue order."""
        present = {f.type for f in self.facilities}
        return [t for t in self.types if t in present]

    @property
    def fastest_m_per_min(self) -> float:
        """The fastest pace any resident can have (m/min): the fastest band at the highest factor."""
        return max(self.speeds.values()) * self.pace.fastest_factor

    def speed_for(self, age: int) -> float:
        """Return the walking speed in m/min of a resident of this age (the band's mean pace)."""
        for band, speed in self.speeds.items():
            if band.contains(age):
                return speed
        raise ValueError(f"no walking speed for age {age}")  # validation rules this out
