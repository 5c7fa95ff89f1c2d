"""LifeCircleModel: the Mesa model of daily life in a scenario's life circles.

It builds the city, the residents and their walking access (model/city), then advances one
tick per ``step()`` from day start to day end, day after day, with one of two engines
(model/simulation) that apply the same rulebook (model/simulation/rules.py):

* ``"agents"``: one Mesa agent per resident and per facility, stepped in random order, then
  every facility admits its queue: the readable reference;
* ``"fast"``: the same rules on whole-population arrays; it creates no agents.

``model.agents`` therefore holds exactly the agents an engine steps: every ``Resident`` and
``Facility`` under the agents engine, none under the fast engine, whose residents are rows of
arrays. Mesa's ``steps`` is the only tick counter.

The engines and the summary never see the model: they receive ``model.context``, a
:class:`model.simulation.context.RunContext` (scenario, seed, clock, types, city, residents,
candidates, random generator, visit log) built here, and the engine is told the tick to simulate
(``engine.step(tick)``). The model's public attributes (``city``, ``population``, ``types``,
``clock``, ``reach``, ...) read that context.

The DataCollector has two kinds of model reporter:

* per tick (``self.tick_reporters``: day, minute, states, ``occupancy_<type>``, ``waiting_<type>``): where
  residents are, occupancy, queues and co-presence, read from the engine through the interface both engines implement
  (:class:`model.simulation.engines.Engine`); they make timeseries.csv;
* at the end of the run: every scalar of summary.json, named by its dotted path
  (``access.elderly_care.within_15``, ``mixing.activity.exposure.mongol``), so that
  ``mesa.batch_run`` rows carry the numbers of ``lifecircle run``: the run's identity, access
  and residential mixing from the start, usage and activity mixing (which the days change) None
  until the last tick (run at least ``days`` x ticks per day steps to get them). Mesa's
  ``batch_run`` reads the last record the collector made (by ``_collection_steps``), which after
  the last tick is the whole run's.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from pathlib import Path

import mesa
import numpy as np

from model.city.build import BuiltCity, build
from model.city.cache import CityCache
from model.city.candidates import Reach, facility_reach
from model.city.grid import City
from model.city.residents import Residents
from model.city.streets import StreetCity
from model.city.surface import WalkingSurface
from model.measures.activity import cross_group_copresence
from model.measures.summary import fixed_before_the_run, flatten, summarise
from model.scenario import Problem, Scenario, ScenarioError, load_scenario
from model.simulation.clock import Clock
from model.simulation.context import RunContext
from model.simulation.engines import ENGINES, Engine
from model.simulation.enrolment import enrol
from model.simulation.rules import State, TypeTable
from model.simulation.visits import VisitLog, VisitSink


class LifeCircleModel(mesa.Model):
    """Residents walking to facilities minute by minute in a scenario's life circles.

    Args:
        scenario: A :class:`Scenario`, a scenario file, or a bundled scenario's name.
        seed: Random seed (default: the scenario's). Everything random comes from ``self.rng``.
        days: Days to simulate; ``self.running`` turns False after the last tick.
        engine: ``"agents"`` (per-agent reference) or ``"fast"`` (vectorised).
        mixing: Override of ``population.mixing`` (for parameter sweeps), or None.
        cutoff_min: Override of ``simulation.cutoff_min``, or None.
        visit_sink: Receives the visit log chunk by chunk as the run goes (e.g. a writer of
            visits.csv), or None to keep it in memory only.
        city_cache: Shares the grid, walking fields and candidate table with earlier models of
            the same place (a :class:`model.city.cache.CityCache`), or None to compute them.

    The lifecircle scenario the model runs is ``self.spec`` (a :class:`model.scenario.Scenario`);
    ``self.scenario`` is Mesa's own (``mesa.experimental.scenarios.Scenario``), which Mesa's
    browser page reads. ``self.context`` (a :class:`RunContext`) is what the engine and the
    summary are given; ``spec``, ``seed``, ``days``, ``clock``, ``built``, ``city``,
    ``population``, ``types``, ``reach`` and ``visit_log`` read it. ``mesa.batch_run`` passes
    each value of its ``rng`` argument as ``seed`` (a ``seed`` among its parameters is
    overwritten by it, None by default).
    """

    def __init__(
        self,
        scenario: Scenario | str | Path = "demo",
        seed: int | None = None,
        days: int = 1,
        engine: str = "fast",
        mixing: float | None = None,
        cutoff_min: float | None = None,
        visit_sink: VisitSink | None = None,
        city_cache: CityCache | None = None,
    ):
        """Build city, residents, access and the engine; collect the initial state."""
        scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        scenario = _with_overrides(scenario, mixing, cutoff_min)
        seed = scenario.seed if seed is None else int(seed)
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {tuple(ENGINES)}, not {engine!r}")
        if int(days) != days or days < 1:
            raise ValueError(f"days must be a positive integer, not {days!r}")
        super().__init__(rng=seed)  # Mesa's seed= is deprecated since 3.4; an int rng gives the same Generator
        self.context = _context(scenario, seed, int(days), engine, self.rng, visit_sink, city_cache)
        self.engine: Engine = ENGINES[engine](self.context, self)
        self._summary: dict | None = None
        self._facility_types = self.context.facility_type
        self._queue_at, self._queue_types = -1, np.zeros(len(self.types))
        self._occupancy_at, self._occupancy_types = -1, np.zeros(len(self.types))
        # per day and type: unmet and turned away counted on that day (filled at each day's last tick)
        self._day_totals = {
            "unmet": np.zeros((self.days, len(self.types)), dtype=np.int64),
            "turned_away": np.zeros((self.days, len(self.types)), dtype=np.int64),
        }
        self.tick_reporters = self._tick_reporters()
        # the summary's keys depend only on the types and groups present, known now, and so do
        # its values but for usage and activity mixing (None until the run ends)
        initial = flatten(self._summarise())
        self.summary_keys = tuple(initial)
        self._final = fixed_before_the_run(initial)
        self.datacollector = _Collector(self.tick_reporters, self.summary_keys)
        self.datacollector.collect(self)

    # ----------------------------------------------------------------- the run, from the context

    @property
    def spec(self) -> Scenario:
        """The lifecircle scenario the model runs, with the overrides applied."""
        return self.context.spec

    @property
    def seed(self) -> int:
        """The run's seed."""
        return self.context.seed

    @property
    def days(self) -> int:
        """Days simulated."""
        return self.context.days

    @property
    def engine_name(self) -> str:
        """The engine's name: ``"agents"`` or ``"fast"``."""
        return self.context.engine_name

    @property
    def clock(self) -> Clock:
        """Conversions between ticks, days and clock minutes."""
        return self.context.clock

    @property
    def built(self) -> BuiltCity:
        """City, residents and walking access."""
        return self.context.built

    @property
    def city(self) -> City | StreetCity:
        """Grid, walking graph and facilities; or the street network, homes, facilities and gates."""
        return self.context.city

    @property
    def surface(self) -> WalkingSurface:
        """The walking surface residents walk: the grid's cells or the street network's nodes."""
        return self.context.surface

    @property
    def population(self) -> Residents:
        """Every resident's community, group, age, home and pace."""
        return self.context.population

    @property
    def types(self) -> TypeTable:
        """The parameters of the facility types present, by type index."""
        return self.context.types

    @property
    def type_index(self) -> dict[str, int]:
        """Type index of each facility type's name."""
        return self.context.type_index

    @property
    def n_groups(self) -> int:
        """Number of population groups."""
        return self.context.n_groups

    @property
    def reach(self) -> Reach:
        """Walking metres from home cells to the facilities within the cut-off (destination choice)."""
        return self.context.reach

    @property
    def origin_of(self) -> np.ndarray:
        """Every resident's row in ``reach``."""
        return self.context.origin_of

    @property
    def visit_log(self) -> VisitLog:
        """Completed visits so far."""
        return self.context.visit_log

    # ----------------------------------------------------------------- stepping

    @property
    def total_ticks(self) -> int:
        """Ticks in the whole run."""
        return self.context.total_ticks

    @property
    def current_tick(self) -> int:
        """The tick being simulated (inside ``step``) or last simulated (-1 before the first).

        Derived from Mesa's ``steps``, which Mesa increments before each ``step()``.
        """
        return min(self.steps, self.total_ticks) - 1

    def step(self) -> None:
        """One tick of the engine, then one row of the DataCollector."""
        if self.steps > self.total_ticks:
            self.running = False
            return
        self.engine.step(self.current_tick)
        if self.clock.is_last_tick_of_day(self.current_tick):
            self._count_day(self.clock.day(self.current_tick))
        if self.steps < self.total_ticks:
            self.datacollector.collect(self)
            return
        self.running = False
        self.visit_log.close()
        self._final = flatten(self.summary())
        self.datacollector.collect(self)

    def _count_day(self, day: int) -> None:
        """At the day's last tick: the day's unmet and turned-away counts per type (totals less earlier days')."""
        so_far = {
            "unmet": self.engine.unmet_counts().sum(axis=0),
            "turned_away": np.bincount(
                self._facility_types, weights=self.engine.facility_totals()["turned_away"], minlength=len(self.types)
            ).astype(np.int64),
        }
        for key, total in so_far.items():
            self._day_totals[key][day] = total - self._day_totals[key][:day].sum(axis=0)

    def run(self, progress=None) -> None:
        """Step until the run is over; ``progress(ticks_done)`` is called once a simulated hour."""
        hour = max(1, 60 // self.clock.tick_min)
        while self.running:
            self.step()
            if progress is not None and (self.steps % hour == 0 or not self.running):
                progress(self.current_tick + 1)

    def summary(self) -> dict:
        """summary.json of the run: access, usage and mixing (computed once, at the end of the run).

        Before the last tick it is the summary of the run so far, not kept.
        """
        if self.running:
            return self._summarise()
        if self._summary is None:
            self._summary = self._summarise()
        return self._summary

    def _summarise(self) -> dict:
        """The summary of the run so far, from the context and what the engine reports."""
        return summarise(
            self.context,
            self.engine.facility_totals(),
            self.engine.unmet_counts(),
            self._waiting_by_type(),
            self._day_totals,
            self.engine.escort_totals(),
            self.engine.turn_aways(),
        )

    def _waiting_by_type(self) -> np.ndarray:
        """Residents queueing at the end of each tick simulated so far (rows), per type: ``waiting_<type>``."""
        names = [f"waiting_{t}" for t in self.city.types]
        collector = getattr(self, "datacollector", None)
        if collector is None:  # the model is being built: no tick yet
            return np.zeros((0, len(names)), dtype=np.int64)
        rows = np.zeros((len(collector.model_vars["day"]) - 1, len(names)), dtype=np.int64)  # record 0: the start
        for j, name in enumerate(names):
            rows[:, j] = collector.model_vars[name][1:]
        if rows.shape[0] < self.current_tick + 1:  # the last tick: summarised before its row is collected
            rows = np.vstack([rows, [[self.tick_reporters[n](self) for n in names]]])
        return rows

    # ----------------------------------------------------------------- state, from the engine

    def resident_states(self) -> np.ndarray:
        """Every resident's :class:`State` now, as integers."""
        return self.engine.resident_states()

    def positions(self) -> np.ndarray:
        """Every resident's current node of the walking surface (a cell on the grid)."""
        return self.engine.positions()

    def facility_totals(self) -> dict[str, np.ndarray]:
        """Per facility, over the run so far: visits, peak_occupancy, turned_away."""
        return self.engine.facility_totals()

    def unmet_counts(self) -> np.ndarray:
        """Wanted visits not served, per resident (rows) and facility type (columns)."""
        return self.engine.unmet_counts()

    def turn_aways(self) -> dict[str, np.ndarray]:
        """Every turn-away so far: resident, facility, tick, choice_rank (``Engine.turn_aways``)."""
        return self.engine.turn_aways()

    def escort_totals(self) -> dict[str, np.ndarray]:
        """Per resident over the run so far: escort_min, given_up_escort, no_escort (docs/metrics.md)."""
        return self.engine.escort_totals()

    # ----------------------------------------------------------------- data collection

    def _tick_reporters(self) -> dict:
        """The per-tick model reporters (the columns of timeseries.csv): day, minute, states, occupancy, queues."""

        def tick(m):
            return max(m.current_tick, 0)

        reporters = {
            "day": lambda m: m.clock.day(tick(m)),
            "minute": lambda m: m.clock.minute_of_day(tick(m)) if m.steps else m.clock.sim.day_start_min,
            "home": lambda m: int(m.engine.state_counts()[State.HOME]),
            "walking": lambda m: int(m.engine.state_counts()[State.WALKING]),
            "waiting": lambda m: int(m.engine.state_counts()[State.WAITING]),
            "at_facilities": lambda m: int(m.engine.state_counts()[State.VISITING]),
            **(
                {"escorting": lambda m: int(m.engine.state_counts()[State.ESCORTING])}
                if self.population.household is not None
                else {}
            ),
            "cross_group_copresence": lambda m: cross_group_copresence(m.engine.occupancy_by_group()),
        }
        for i, t in enumerate(self.city.types):
            reporters[f"occupancy_{t}"] = lambda m, i=i: int(m._occupancy_by_type()[i])
        for i, t in enumerate(self.city.types):
            reporters[f"waiting_{t}"] = lambda m, i=i: int(m._queue_by_type()[i])
        return reporters

    def _occupancy_by_type(self) -> np.ndarray:
        """Visitors present now per type index, from the engine's occupancy (once per tick: 12 reporters ask)."""
        if self._occupancy_at != self.steps:
            visitors = self.engine.occupancy_by_group().sum(axis=1)
            self._occupancy_types = np.bincount(self._facility_types, weights=visitors, minlength=len(self.types))
            self._occupancy_at = self.steps
        return self._occupancy_types

    def _queue_by_type(self) -> np.ndarray:
        """Residents queueing now per type index, from the engine's queues (once per tick: 12 reporters ask)."""
        if self._queue_at != self.steps:
            queue = self.engine.queue_by_facility()
            self._queue_types = np.bincount(self._facility_types, weights=queue, minlength=len(self.types))
            self._queue_at = self.steps
        return self._queue_types

    # ----------------------------------------------------------------- Mesa's view of space

    @property
    def grid(self):
        """Mesa's view of the space, for Mesa's renderers.

        An ``OrthogonalMooreGrid`` with property layers "walkable" and "people" (residents per
        cell now). Built on first use only: the model itself works on numpy arrays, because
        Mesa's per-cell objects are too costly at city scale (model/city/grid.py).
        """
        from mesa.discrete_space import OrthogonalMooreGrid, PropertyLayer

        if not isinstance(self.city, City):
            raise AttributeError(
                f"scenario {self.spec.name!r} walks a street network: it has no grid (see model.surface)"
            )
        if getattr(self, "_grid", None) is None:
            grid = OrthogonalMooreGrid((self.city.width, self.city.height), torus=False, random=self.random)
            walkable = PropertyLayer("walkable", (self.city.width, self.city.height), default_value=0.0, dtype=float)
            walkable.data[:] = self.city.walkable.T
            grid.add_property_layer(walkable)
            grid.add_property_layer(
                PropertyLayer("people", (self.city.width, self.city.height), default_value=0.0, dtype=float)
            )
            self._grid = grid
        people = np.bincount(self.positions(), minlength=self.city.n_cells).reshape(self.city.height, self.city.width)
        self._grid.people.data[:] = people.T
        return self._grid


class _Collector(mesa.DataCollector):
    """Mesa's DataCollector with the summary's columns filled from ``model._final`` directly.

    Every per-tick reporter returns a number and every summary value is a number, a string or
    None, none of which needs Mesa's defensive deep copy; and the summary's columns change only
    at the run's end, so calling a reporter for each of them at every tick would only cost time
    (about a fifth of a run of wuhai_life_circle, measured). The reporters are registered all
    the same, so the collector describes every column it holds.

    Like Mesa's own ``collect``, each record notes the model time it was taken at in
    ``_collection_steps`` (Mesa 3.5): ``mesa.batch_run`` finds the record of a step there and, by
    default, reads the last one.
    """

    def __init__(self, tick_reporters: dict, summary_keys: tuple[str, ...]):
        """Per-tick reporters by name, and the dotted keys of the summary."""
        summary = {key: (lambda m, key=key: m._final.get(key)) for key in summary_keys}
        super().__init__(model_reporters={**tick_reporters, **summary})
        # each column's list, looked up once: a row appends to some 1,000 of them every tick
        self._tick = tuple((self.model_vars[name], reporter) for name, reporter in tick_reporters.items())
        self._keys = summary_keys
        self._summary_columns = tuple(self.model_vars[key] for key in summary_keys)
        self._values_of, self._values = None, ()  # the summary's values, read again when model._final is replaced

    def collect(self, model) -> None:
        """One row: every per-tick reporter's value and the summary so far."""
        self._collection_steps.append(model.time)
        for column, reporter in self._tick:
            column.append(reporter(model))
        final = model._final
        if final is not self._values_of:  # the model replaces its summary, never changes it in place
            self._values_of, self._values = final, tuple(final.get(key) for key in self._keys)
        deque(map(list.append, self._summary_columns, self._values), maxlen=0)  # the appends, without a Python loop


def _context(
    scenario: Scenario,
    seed: int,
    days: int,
    engine: str,
    rng: np.random.Generator,
    visit_sink: VisitSink | None,
    city_cache: CityCache | None,
) -> RunContext:
    """Build the city, its residents, their candidates and their enrolment, drawing from ``rng``: the run's context."""
    built = build(scenario, rng, seed, city_cache)
    city, population = built.city, built.residents
    types = TypeTable.from_types([scenario.types[t] for t in city.types])
    max_speed = scenario.fastest_m_per_min  # the fastest resident the pace draws allow
    limit_m = scenario.simulation.cutoff_min * max_speed
    if city_cache is None:
        reach = facility_reach(built.surface, city, population.node, limit_m)
    else:
        reach = city_cache.reach(scenario, built.surface, city, population.node, limit_m)
    origin_of = reach.origin_index(population.node)
    facility_type = city.facilities["type"].map({t: i for i, t in enumerate(city.types)}).to_numpy(dtype=np.int64)
    enrolment = enrol(
        types,
        population.age,
        population.m_per_min,
        reach,
        origin_of,
        facility_type,
        city.facilities["capacity"].to_numpy(dtype=np.int64),
        scenario.simulation.cutoff_min,
        rng,
    )
    return RunContext(
        spec=scenario,
        seed=seed,
        days=days,
        engine_name=engine,
        clock=Clock(scenario.simulation),
        rng=rng,
        built=built,
        types=types,
        reach=reach,
        origin_of=origin_of,
        enrolment=enrolment,
        visit_log=VisitLog(city.types, visit_sink),
    )


def _with_overrides(scenario: Scenario, mixing: float | None, cutoff_min: float | None) -> Scenario:
    """The scenario with batch-run overrides applied (checked like file values)."""
    problems = []
    if mixing is not None:
        if not 0.0 <= float(mixing) <= 1.0:
            problems.append(Problem("parameters", "mixing", f"must be between 0 and 1, not {mixing}"))
        else:
            scenario = replace(scenario, mixing=float(mixing))
    if cutoff_min is not None:
        if not float(cutoff_min) > 0:
            problems.append(Problem("parameters", "cutoff_min", f"must be positive, not {cutoff_min}"))
        else:
            scenario = replace(scenario, simulation=replace(scenario.simulation, cutoff_min=float(cutoff_min)))
    if problems:
        raise ScenarioError(problems)
    return scenario
