"""LifeCircleModel: the Mesa model of daily life in a scenario's life circles.

It builds the city, the residents and their walking access, then advances one tick per
``step()`` from day start to day end, day after day. Two engines step the residents:

* ``"agents"``: one :class:`model.behaviour.Resident` agent per resident, stepped in random
  order, then every :class:`model.behaviour.Facility` admits its queue: the readable reference;
* ``"fast"``: the same rules on whole-population arrays (model/engine.py).

Both share scenario loading, access, metrics and outputs; only the stepping differs.
"""

from __future__ import annotations

from pathlib import Path

import mesa
import numpy as np

from model.access import PathTrees, facility_reach
from model.behaviour import Facility, Resident, State
from model.clock import Clock
from model.run import StaticResult, build_static
from model.scenario import Scenario, load_scenario
from model.visits import VisitLog

ENGINES = ("agents", "fast")


class LifeCircleModel(mesa.Model):
    """Residents walking to facilities minute by minute in a scenario's life circles.

    Args:
        scenario: A :class:`Scenario`, a scenario file, or a bundled scenario's name.
        seed: Random seed (default: the scenario's). Everything random comes from ``self.rng``.
        days: Days to simulate; ``self.running`` turns False after the last tick.
        engine: ``"agents"`` (per-agent reference) or ``"fast"`` (vectorised).
        mixing: Override of ``population.mixing`` (for parameter sweeps), or None.
        cutoff_min: Override of ``simulation.cutoff_min``, or None.
        visits_path: Stream the visit log to this CSV file, or None to keep it in memory only.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path = "demo",
        seed: int | None = None,
        days: int = 1,
        engine: str = "fast",
        mixing: float | None = None,
        cutoff_min: float | None = None,
        visits_path: Path | None = None,
    ):
        """Build city, residents, access and agents; collect the initial state."""
        scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        scenario = _with_overrides(scenario, mixing, cutoff_min)
        seed = scenario.seed if seed is None else int(seed)
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
        if int(days) != days or days < 1:
            raise ValueError(f"days must be a positive integer, not {days!r}")
        super().__init__(seed=seed)
        self.scenario = scenario
        self.seed = seed
        self.days = int(days)
        self.engine_name = engine
        self.clock = Clock(scenario.simulation)
        self.tick = 0  # ticks simulated so far = index of the next tick
        self.static: StaticResult = build_static(scenario, self.rng, seed)
        self.city = self.static.city
        self.population = self.static.residents
        self.type_index = {t: i for i, t in enumerate(self.city.types)}
        self.n_groups = len(self.population.group_names)
        max_speed = max(scenario.speeds.values())
        self.reach = facility_reach(self.city, self.population.cell, scenario.simulation.cutoff_min * max_speed)
        self.origin_of = self.reach.origin_index(self.population.cell)
        self.visit_log = VisitLog(self.city.types, visits_path)
        fac = self.city.facilities
        self.facilities = [
            Facility(self, int(row.id), scenario.types[row.type], int(row.cell), int(row.capacity))
            for row in fac.itertuples()
        ]
        if engine == "agents":
            self.paths = PathTrees(self.city)
            pop = self.population
            self.residents = [
                Resident(self, i, int(pop.age[i]), int(pop.group[i]), int(pop.cell[i]), float(pop.m_per_min[i]))
                for i in range(len(pop))
            ]
            self.fast = None
        else:
            from model.engine import FastEngine

            self.residents = []
            self.fast = FastEngine(self)
        self.datacollector = mesa.DataCollector(model_reporters=self._reporters())
        self.datacollector.collect(self)

    # ----------------------------------------------------------------- stepping

    @property
    def total_ticks(self) -> int:
        """Ticks in the whole run."""
        return self.days * self.clock.ticks_per_day

    def step(self) -> None:
        """One tick: every resident acts in random order, then every facility admits its queue."""
        if self.tick >= self.total_ticks:
            self.running = False
            return
        if self.fast is None:
            # Mesa's shuffle_do would draw the order from model.random; model.rng keeps one generator
            for i in self.rng.permutation(len(self.residents)):
                self.residents[i].step()
            for facility in self.facilities:
                facility.admit()
        else:
            self.fast.step(self.tick)
        self.tick += 1
        if self.tick >= self.total_ticks:
            self.running = False
            self.visit_log.close()
        self.datacollector.collect(self)

    def run(self, progress=None) -> None:
        """Step until the run is over; ``progress(ticks_done)`` is called once a simulated hour."""
        hour = max(1, 60 // self.clock.tick_min)
        while self.running:
            self.step()
            if progress is not None and (self.tick % hour == 0 or not self.running):
                progress(self.tick)

    # ----------------------------------------------------------------- state, for reporters

    def state_counts(self) -> np.ndarray:
        """Residents at home, walking, waiting and visiting now (indexed by :class:`State`)."""
        if self.fast is not None:
            return self.fast.state_counts()
        return self._agent_snapshot()[0]

    def occupancy_by_group(self) -> np.ndarray:
        """Visitors present now, per facility (rows) and group (columns)."""
        if self.fast is not None:
            return self.fast.occupancy_by_group()
        return self._agent_snapshot()[1]

    def _agent_snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """State counts and occupancy read off the agents, once per tick (reporters ask many times)."""
        if getattr(self, "_snapshot_tick", None) != self.tick:
            counts = np.bincount([r.state for r in self.residents], minlength=len(State))
            occ = np.zeros((len(self.facilities), self.n_groups), dtype=np.int64)
            for f in self.facilities:
                for r in f.visitors:
                    occ[f.fid, r.group] += 1
            self._snapshot = (counts, occ)
            self._snapshot_tick = self.tick
        return self._snapshot

    def resident_states(self) -> np.ndarray:
        """Every resident's :class:`State` now, as integers."""
        if self.fast is not None:
            return self.fast.state.copy()
        return np.array([int(r.state) for r in self.residents], dtype=np.int64)

    def positions(self) -> np.ndarray:
        """Every resident's current cell."""
        if self.fast is not None:
            return self.fast.positions()
        return np.array([r.position for r in self.residents], dtype=np.int64)

    def facility_totals(self) -> dict[str, np.ndarray]:
        """Per facility, over the run so far: visits, peak_occupancy, turned_away."""
        if self.fast is not None:
            return self.fast.facility_totals()
        return {
            "visits": np.array([f.visits for f in self.facilities], dtype=np.int64),
            "peak_occupancy": np.array([f.peak for f in self.facilities], dtype=np.int64),
            "turned_away": np.array([f.turned_away for f in self.facilities], dtype=np.int64),
        }

    def unmet_counts(self) -> np.ndarray:
        """Wanted visits not served, per resident (rows) and facility type (columns)."""
        if self.fast is not None:
            return self.fast.unmet_counts()
        out = np.zeros((len(self.residents), len(self.city.types)), dtype=np.int64)
        for r in self.residents:
            for t, n in r.unmet.items():
                out[r.rid, self.type_index[t]] = n
        return out

    # ----------------------------------------------------------------- data collection

    def _reporters(self) -> dict:
        reporters = {
            "day": lambda m: m.clock.day(max(m.tick - 1, 0)),
            "minute_of_day": lambda m: (
                m.clock.minute_of_day(max(m.tick - 1, 0)) if m.tick else m.clock.sim.day_start_min
            ),
            "home": lambda m: int(m.state_counts()[State.HOME]),
            "walking": lambda m: int(m.state_counts()[State.WALKING]),
            "waiting": lambda m: int(m.state_counts()[State.WAITING]),
            "at_facilities": lambda m: int(m.state_counts()[State.VISITING]),
            "cross_group_copresence": lambda m: cross_group_copresence(m.occupancy_by_group()),
        }
        for t in self.city.types:
            rows = (self.city.facilities["type"] == t).to_numpy()
            reporters[f"occupancy_{t}"] = lambda m, rows=rows: int(m.occupancy_by_group()[rows].sum())
        return reporters

    # ----------------------------------------------------------------- the browser's view of space

    @property
    def grid(self):
        """Mesa's view of the space for the browser renderer.

        An ``OrthogonalMooreGrid`` with property layers "walkable" and "people" (residents per
        cell now).

        Built on first use only: the model itself works on numpy arrays, because Mesa's
        per-cell objects are too costly at city scale (../shared/MESA-NOTES.md).
        """
        from mesa.discrete_space import OrthogonalMooreGrid, PropertyLayer

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


def cross_group_copresence(occupancy: np.ndarray) -> int:
    """Out-group company now: sum over visitors present of the others present from other groups.

    With ``occupancy[f, g]`` visitors of group g at facility f, that is
    ``sum_f sum_g occ[f, g] * (n_f - occ[f, g])``: the per-tick term of
    cross_group_minutes_per_capita (../shared/METRICS.md).
    """
    n = occupancy.sum(axis=1, keepdims=True)
    return int((occupancy * (n - occupancy)).sum())


def _with_overrides(scenario: Scenario, mixing: float | None, cutoff_min: float | None) -> Scenario:
    """The scenario with batch-run overrides applied (checked like file values)."""
    from dataclasses import replace

    from model.scenario import Problem, ScenarioError

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
