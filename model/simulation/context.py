"""The run context: everything the engines and the measures read of a run, in one typed object.

:class:`RunContext` is built once by ``LifeCircleModel`` (model/model.py) from the scenario, the
built city and the seed, and handed down the pipeline instead of the model itself: the engines
(model/simulation/engines.py) and the summary (model/measures/summary.py) receive it, and no
module below model.py reads the model. A new kind of state (households, a street network) is
one more field here, filled by the model and read by whoever needs it.

Everything in it is fixed for the run but two objects that change as the run goes: ``rng``, the
run's one random generator (the model's ``rng``, the same object), and ``visit_log``, to which
the engines append completed visits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.city.build import BuiltCity
from model.city.candidates import Reach
from model.city.grid import City
from model.city.residents import Residents
from model.city.streets import StreetCity
from model.city.surface import WalkingSurface
from model.scenario import Scenario
from model.simulation.clock import Clock
from model.simulation.enrolment import Enrolment
from model.simulation.rules import TypeTable
from model.simulation.visits import VisitLog


@dataclass(frozen=True, eq=False)
class RunContext:
    """What a run's engines and measures need: its settings, its city and residents, its clock and random source.

    Attributes:
        spec: The lifecircle scenario the run simulates, with the run's overrides (``mixing``,
            ``cutoff_min``) applied.
        seed: The run's seed (summary.json's ``seed``).
        days: Days simulated.
        engine_name: Name of the engine that steps the run (``"agents"`` or ``"fast"``),
            summary.json's ``engine``.
        clock: Conversions between ticks, days and clock minutes (``spec.simulation``).
        rng: The run's one random generator; every random draw of the run comes from it, in
            the order the engines and the city builder make them.
        built: The built city: grid and facilities, residents, and every resident's walking
            minutes to the nearest facility of each type.
        types: The parameters of the facility types present, by type index (the position of
            the type in ``built.city.types``).
        reach: Walking metres from every home cell to every facility within the cut-off at the
            fastest pace: the candidates of destination choice.
        origin_of: Every resident's row in ``reach`` (index of its home cell in
            ``reach.origins``).
        enrolment: The places held at the types with enrolment (nursery, kindergarten, schools),
            decided once before the first tick (model/simulation/enrolment.py).
        visit_log: Completed visits, appended to by the engine as the run goes.
    """

    spec: Scenario
    seed: int
    days: int
    engine_name: str
    clock: Clock
    rng: np.random.Generator
    built: BuiltCity
    types: TypeTable
    reach: Reach
    origin_of: np.ndarray
    enrolment: Enrolment
    visit_log: VisitLog

    @property
    def city(self) -> City | StreetCity:
        """Grid, walking graph and facilities (``built.city``)."""
        return self.built.city

    @property
    def surface(self) -> WalkingSurface:
        """The walking surface residents walk (``built.surface``): distances, searches, walks."""
        return self.built.surface

    @property
    def population(self) -> Residents:
        """Every resident's community, group, age, home and pace (``built.residents``)."""
        return self.built.residents

    @property
    def type_index(self) -> dict[str, int]:
        """Type index of each facility type's name."""
        return {t: i for i, t in enumerate(self.built.city.types)}

    @property
    def facility_type(self) -> np.ndarray:
        """Type index of every facility (rows of ``city.facilities``)."""
        return self.built.city.facilities["type"].map(self.type_index).to_numpy(dtype=np.int64)

    @property
    def n_groups(self) -> int:
        """Number of population groups (columns of occupancy by group)."""
        return len(self.built.residents.group_names)

    @property
    def total_ticks(self) -> int:
        """Ticks in the whole run."""
        return self.days * self.clock.ticks_per_day
