"""The rules of daily life, one resident at a time: the readable specification of behaviour.

``Resident.step()`` is what one resident does in one tick; ``Facility.admit()`` is what one
facility does at the end of the tick, after every resident has moved. The fast engine
(model/engine.py) must implement exactly these rules; tests compare the two. docs/behaviour.md
states the rules in prose with the source or assumption behind every number.

Time: the model counts ticks from the start of the run; ``model.clock`` converts between ticks,
days and minutes. In its own step a resident makes at most one move (leave home, arrive, leave a
facility), except that a walk of zero ticks (home and facility on the same cell) ends in the tick
it starts; the facility may then admit it, or turn it away, at the end of the same tick.
"""

from __future__ import annotations

import math
from collections import deque
from enum import IntEnum
from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:
    from model.model import LifeCircleModel


class State(IntEnum):
    """Where a resident is."""

    HOME = 0
    WALKING = 1  # to a facility, or home
    WAITING = 2  # at a full (or not yet open) facility, in its queue
    VISITING = 3  # inside a facility


class Facility(mesa.Agent):
    """A facility: admits waiting residents first come, first served, up to its capacity.

    Attributes:
        fid: Facility id (row of facilities.csv).
        ftype: Its catalogue type (a :class:`model.scenario.FacilityType`).
        site: Its cell number.
        capacity: Most visitors present at once.
        visitors: Residents inside now.
        queue: Residents waiting outside, in order of arrival.
        turned_away: Arrivals that gave up after their patience (all days).
        peak: Most visitors present at once so far.
        visits: Completed visits (all days).
    """

    def __init__(self, model: LifeCircleModel, fid: int, ftype, cell: int, capacity: int):
        """Create an empty facility."""
        super().__init__(model)
        self.fid = fid
        self.ftype = ftype
        self.site = cell
        self.capacity = capacity
        self.visitors: dict[Resident, None] = {}  # insertion-ordered set
        self.queue: deque[Resident] = deque()
        self.turned_away = 0
        self.peak = 0
        self.visits = 0

    def is_open(self, tick: int) -> bool:
        """Whether the facility admits visitors in this tick (opening hours)."""
        minute = self.model.clock.minute_of_day(tick)
        return self.ftype.open_min <= minute < self.ftype.close_min

    def admit(self) -> None:
        """End of tick: admit from the queue while there is room, then turn away the impatient."""
        tick = self.model.tick
        if self.is_open(tick):
            while self.queue and len(self.visitors) < self.capacity:
                resident = self.queue.popleft()
                self.visitors[resident] = None
                resident.admitted(self, tick)
        for resident in list(self.queue):
            if tick >= resident.give_up_tick:
                self.queue.remove(resident)
                self.turned_away += 1
                resident.turned_away(self, tick)
        self.peak = max(self.peak, len(self.visitors))

    def leave(self, resident: Resident) -> None:
        """A visitor leaves."""
        del self.visitors[resident]
        self.visits += 1


class Resident(mesa.Agent):
    """A resident: plans the day's visits by life stage, walks to facilities, queues, visits, walks home.

    Attributes:
        rid: Resident id (row of residents.csv).
        age: Age in years.
        group: Group index.
        home: Home cell.
        m_per_min: Own walking speed.
        state: Where the resident is (:class:`State`).
        plan: Today's wanted visits not yet started: (departure tick, type id), earliest first.
        unmet: Wanted visits not served, per type id (all days).
    """

    def __init__(self, model: LifeCircleModel, rid: int, age: int, group: int, home: int, m_per_min: float):
        """Create a resident at home with no plans."""
        super().__init__(model)
        self.rid = rid
        self.age = age
        self.group = group
        self.home = home
        self.m_per_min = m_per_min
        self.needs = [t for t in model.city.types if model.scenario.types[t].needed_by(age)]
        self.state = State.HOME
        self.position = home  # current cell
        self.plan: list[tuple[int, str]] = []
        self.unmet: dict[str, int] = {}
        # the trip under way
        self.trip_type: str | None = None
        self.choices: list[Facility] = []  # facilities still to try, best first
        self.walk_cells: list[int] = []
        self.walk_along: np.ndarray = np.zeros(1)
        self.walk_start = 0
        self.arrive_tick = 0
        self.walk_min = 0.0  # walking minutes of this trip so far (all legs to the facility)
        self.give_up_tick = 0
        self.admit_tick = 0
        self.leave_tick = 0

    # ----------------------------------------------------------------- the step

    def step(self) -> None:
        """One tick of this resident's day."""
        model, tick = self.model, self.model.tick
        if model.clock.tick_of_day(tick) == 0:
            self.plan_day(model.clock.day(tick))
        if self.state == State.HOME:
            if self.plan and self.plan[0][0] <= tick:
                _, ftype = self.plan.pop(0)
                self.start_trip(ftype, tick)
        elif self.state == State.WALKING:
            self.walk(tick)
        elif self.state == State.VISITING:
            if tick >= self.leave_tick:
                self.leave(tick)
        # WAITING: the facility decides (Facility.admit)
        if model.clock.is_last_tick_of_day(tick):
            self.end_day()

    # ----------------------------------------------------------------- planning

    def plan_day(self, day: int) -> None:
        """Draw today's visits: each needed type with its daily probability, at a time in its window.

        Types visited only on weekdays are skipped at weekends. Departure minutes are uniform
        whole minutes in the type's ``depart`` window (clipped to the simulated day).
        """
        clock, rng = self.model.clock, self.model.rng
        plan = []
        for t in self.needs:
            ft = self.model.scenario.types[t]
            if ft.weekdays_only and clock.is_weekend(day):
                continue
            if rng.random() < ft.daily_prob:
                minute = int(rng.integers(ft.depart_min[0], ft.depart_min[1] + 1))
                plan.append((clock.tick_at(day, minute), t))
        self.plan = sorted(plan)

    def choose_facilities(self, ftype: str, tick: int) -> list[Facility]:
        """Rank the facilities of a type this resident may use now: the first is the destination.

        Candidates are facilities of the type within ``cutoff_min`` of the resident's own walking
        time from home that it can reach before closing time and come back from by the end of
        the day, staying the whole visit. Each candidate's utility is ``-beta * minutes``; adding
        a standard Gumbel draw to each and sorting gives a ranking whose first element has exactly
        the multinomial-logit probability ``exp(-beta * m_f) / sum_g exp(-beta * m_g)``
        (McFadden 1974; Huff 1964 for retail), and whose later elements are the next choices.
        With ``beta = inf`` the ranking is by distance (ties: lower facility id). Only the first
        ``tries`` are kept.
        """
        model = self.model
        ft = model.scenario.types[ftype]
        ids, metres = model.reach.candidates(model.origin_of[self.rid], model.type_index[ftype])
        minutes = metres / self.m_per_min
        keep = minutes <= model.scenario.simulation.cutoff_min
        ids, minutes = ids[keep], minutes[keep]
        feasible = [model.clock.trip_fits(tick, m, m, ft) for m in minutes]
        ids, minutes = ids[feasible], minutes[feasible]
        if ids.size == 0:
            return []
        if math.isinf(ft.beta_per_min):
            order = np.lexsort((ids, minutes))
        else:
            utility = -ft.beta_per_min * minutes + model.rng.gumbel(size=ids.size)
            order = np.argsort(-utility, kind="stable")
        return [model.facilities[i] for i in ids[order[: ft.tries]]]

    # ----------------------------------------------------------------- trips

    def start_trip(self, ftype: str, tick: int) -> None:
        """Leave home for a visit of this type, or count it unmet if no facility can be used."""
        self.trip_type = ftype
        self.choices = self.choose_facilities(ftype, tick)
        self.walk_min = 0.0
        if not self.choices:
            self.count_unmet()
            return
        self.walk_to(self.choices[0].site, tick)

    def walk_to(self, target: int, tick: int) -> None:
        """Walk the shortest path from the current cell to ``target``, starting in tick ``tick``.

        A walk of ``n`` ticks that starts in tick ``s`` arrives in tick ``s + n``, where ``n`` is
        the walking minutes rounded up to whole ticks; a walk started now moves in this step.
        """
        self.walk_cells, self.walk_along = self.model.paths.path(self.position, target)
        self.walk_start = tick
        self.arrive_tick = tick + self.model.clock.walk_ticks(self.walk_along[-1] / self.m_per_min)
        self.state = State.WALKING
        if tick == self.model.tick:
            self.walk(tick)

    def walk(self, tick: int) -> None:
        """Advance along the path by the distance this resident's speed covers per tick; arrive at the end."""
        if tick >= self.arrive_tick:
            self.position = self.walk_cells[-1]
            self.arrive(tick)
            return
        covered = (tick - self.walk_start) * self.m_per_min * self.model.clock.tick_min
        self.position = self.walk_cells[int(np.searchsorted(self.walk_along, covered, side="right")) - 1]

    def arrive(self, tick: int) -> None:
        """At the end of a walk: home, or the queue of the facility walked to."""
        if self.position == self.home and not self.choices:
            self.state = State.HOME
            return
        facility = self.choices[0]
        self.walk_min += self.walk_along[-1] / self.m_per_min
        self.state = State.WAITING
        self.give_up_tick = self.model.clock.give_up_tick(tick, facility.ftype, self.home_minutes(facility))
        facility.queue.append(self)

    def home_minutes(self, facility: Facility) -> float:
        """Own walking minutes from a facility back home."""
        return self.model.paths.metres(self.home, facility.site) / self.m_per_min

    def admitted(self, facility: Facility, tick: int) -> None:
        """Called by the facility: in, for the visit's duration (shortened by closing time or the day's end)."""
        self.state = State.VISITING
        self.admit_tick = tick
        self.leave_tick = self.model.clock.leave_tick(tick, facility.ftype, self.home_minutes(facility))

    def turned_away(self, facility: Facility, tick: int) -> None:
        """Called by the facility after the patience ran out: try the next choice, or go home unserved."""
        self.choices.pop(0)
        while self.choices:
            nxt = self.choices[0]
            there = self.model.paths.metres(facility.site, nxt.site) / self.m_per_min
            # the facility acts at the end of the tick, so the next walk starts in the next tick
            if self.model.clock.trip_fits(tick + 1, there, self.home_minutes(nxt), nxt.ftype):
                self.walk_to(nxt.site, tick + 1)
                return
            self.choices.pop(0)
        self.count_unmet()
        self.walk_to(self.home, tick + 1)

    def leave(self, tick: int) -> None:
        """End a visit: record it and walk home."""
        facility = self.choices[0]
        facility.leave(self)
        self.model.visit_log.record(self, facility, self.admit_tick, tick)
        self.choices = []
        self.walk_to(self.home, tick)

    def count_unmet(self) -> None:
        """Count the current trip's type as an unmet need and drop the remaining choices."""
        self.unmet[self.trip_type] = self.unmet.get(self.trip_type, 0) + 1
        self.choices = []

    def end_day(self) -> None:
        """At the day's last tick: visits still planned but never started are unmet."""
        for _, ftype in self.plan:
            self.unmet[ftype] = self.unmet.get(ftype, 0) + 1
        self.plan = []
