"""The agents engine: one Mesa agent per resident and per facility, the readable specification.

``Resident.step()`` is what one resident does in one tick; ``Facility.admit()`` is what one
facility does at the end of the tick, after every resident has moved. Every rule they apply
(who needs what, opening hours, whether a trip fits, when to give up or leave) is a function of
the rulebook, model/simulation/rules.py, which the fast engine calls too. docs/behaviour.md
states the rules in prose with the source or assumption behind every number.

With households (``[households]``), ``Resident`` also carries the escort of children: a child's
trip starts only with a carer of its household, whom the child's facility tells of the
admission (``Resident.ward_admitted``) and who fetches it (``Resident.fetch``); the rules are
those of the rulebook's section "households and escorts".

The agents read the run through the engine's :class:`model.simulation.context.RunContext`
(``self.context``: clock, types, residents, candidates, random generator, visit log), never
through the model: ``self.model`` is only the Mesa model they are registered with.

Time: ticks count from the start of the run; the engine tells each agent the tick it simulates
(``Resident.step(tick, day_starts, day_ends)``, ``Facility.admit(tick)``), and ``context.clock`` converts between
ticks, days and minutes. In its own step a resident makes at most one move
(leave home, arrive, leave a facility), except that a walk of zero ticks (home and facility on
the same cell) ends in the tick it starts; the facility may then admit it, or turn it away, at
the end of the same tick.
"""

from __future__ import annotations

import math
from collections import deque

import mesa
import numpy as np

from model.city.surface import walk_root
from model.simulation import rules
from model.simulation.choice import nearest_first
from model.simulation.context import RunContext
from model.simulation.rules import State
from model.simulation.visits import TURN_AWAY_COLUMNS, turn_away_table


class Facility(mesa.Agent):
    """A facility: admits waiting residents first come, first served, up to its capacity.

    Attributes:
        context: The run it belongs to.
        fid: Facility id (row of facilities.csv).
        type_index: Its type's index in the run's :class:`rules.TypeTable`.
        site: Its cell number.
        capacity: Most visitors present at once.
        visitors: Residents inside now.
        queue: Residents waiting outside, in order of arrival.
        turned_away: Arrivals that gave up after their patience (all days).
        peak: Most visitors present at once so far.
        visits: Completed visits (all days).
    """

    def __init__(self, model: mesa.Model, context: RunContext, fid: int, type_index: int, cell: int, capacity: int):
        """Create an empty facility, registered with the Mesa model ``model``."""
        super().__init__(model)
        self.context = context
        self.fid = fid
        self.type_index = type_index
        self.site = cell
        self.capacity = capacity
        self.visitors: dict[Resident, None] = {}  # insertion-ordered set
        self.queue: deque[Resident] = deque()
        self.turned_away = 0
        self.peak = 0
        self.visits = 0

    def admit(self, tick: int) -> None:
        """End of tick ``tick``: admit from the queue while there is room, then turn away the impatient."""
        ctx = self.context
        if rules.is_open(ctx.clock.minute_of_day(tick), ctx.types, self.type_index):
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

    With households and escorts (``[households]``), a child who needs an escort to a type
    (``rules.needs_escort``) leaves only with a carer of its household (``rules.carer_rank``): the
    pair walks at the slower pace (``rules.pair_pace``); the carer waits at the facility
    (ESCORTING) until the child is admitted, then walks home or on to its own next visit if it
    can be home again before setting off to fetch the child (``rules.carer_goes_home``,
    ``rules.pickup_departure``), else stays; the pair walks home together when the child leaves or
    is turned away. docs/behaviour.md, "Households and escorts", states the rules.

    Attributes:
        context: The run it belongs to.
        engine: The engine that steps it (its facilities and shortest paths).
        rid: Resident id (row of residents.csv).
        age: Age in years.
        group: Group index.
        home: Home cell.
        m_per_min: Own walking speed.
        needs: Type indices this resident plans visits of (``rules.plans``: the types of its age,
            those with enrolment only where it holds a place).
        state: Where the resident is (:class:`State`).
        plan: Today's wanted visits not yet started: (departure tick, type index), in plan order
            (``rules.plan_order``).
        unmet: Wanted visits not served, per type index (all days).
        memory: Turn-aways remembered from earlier days of the run, per facility id (days that
            learn, ``[simulation] learning``; empty when it is off).
        turned_today: Facility ids that turned this resident away today (remembered tomorrow).
        household: The residents of its household (itself included), or None without households.
        escort: The carer taking this child on its trip under way, or None.
        ward: The child this carer takes or fetches now, or None.
        phase: What a carer does for its ward: "" none, "drop" (walking there with it or waiting
            for its admission), "back" (walking home alone), "free" (a pick-up due: at home or
            on its own trip), "fetch" (walking to fetch it, or waiting for it), "wait" (staying at
            the facility until the child leaves), "home" (walking home with it).
        pickup_tick: The tick this carer sets off to fetch its ward (``rules.NO_DEADLINE`` if none):
            its own trips must end at home by then.
        escort_min: Minutes spent escorting (all days): from setting off with or for a child until
            home again, or until setting off on its own visit from the child's facility.
        given_up: Own visits given up for escorting (all days): due while a pick-up was pending,
            with a facility usable without it but none before it.
        no_escort: This child's trips not made for want of a carer at home (all days).
    """

    def __init__(self, model: mesa.Model, engine: AgentsEngine, rid: int, needs: np.ndarray):
        """Create a resident at home with no plans, registered with the Mesa model ``model``."""
        super().__init__(model)
        self.context = engine.context
        self.engine = engine
        pop = self.context.population
        self.rid = rid
        self.age = int(pop.age[rid])
        self.group = int(pop.group[rid])
        self.home = int(pop.node[rid])
        self.m_per_min = float(pop.m_per_min[rid])
        self.needs = [int(t) for t in np.flatnonzero(needs)]
        self.state = State.HOME
        self.position = self.home  # current cell
        self.plan: list[tuple[int, int]] = []
        self.unmet: dict[int, int] = {}
        self.memory: dict[int, int] = {}
        self.turned_today: list[int] = []
        # the trip under way
        self.trip_type = -1
        self.choices: list[Facility] = []  # facilities still to try, best first
        self.walk_cells: np.ndarray = np.zeros(0, dtype=np.int64)
        self.walk_along: np.ndarray = np.zeros(1)
        self.walk_start = 0
        self.arrive_tick = 0
        self.walk_min = 0.0  # walking minutes of this trip so far (all legs to the facility)
        self.choice_rank = 0  # 1 at the first choice of this trip, k after k - 1 turn-aways
        self.give_up_tick = 0
        self.admit_tick = 0
        self.leave_tick = 0
        self.pace = self.m_per_min  # the pace of the trip under way (the pair's when escorted)
        self.chain = 1  # 1 for a trip from home, 2 for a carer's visit after leaving a child
        # households and escorts
        self.household: list[Resident] | None = None
        self.escort: Resident | None = None
        self.ward: Resident | None = None
        self.phase = ""
        self.pickup_tick = rules.NO_DEADLINE
        self.fetch_site = -1
        self.escort_since = 0
        self.escort_min = 0.0
        self.given_up = 0
        self.no_escort = 0

    # ----------------------------------------------------------------- the step

    def step(self, tick: int, day_starts: bool, day_ends: bool) -> None:
        """Tick ``tick`` of this resident's day (ticks count from the start of the run).

        ``day_starts`` and ``day_ends``: whether the tick is the first, the last of its day (the
        engine asks the clock once a tick, not once for every resident).
        """
        if day_starts:
            self.remember()
            self.plan_day(self.context.clock.day(tick))
        if self.state == State.HOME:
            if self.pickup_due(tick):
                self.fetch(tick)
            elif self.plan and self.plan[0][0] <= tick:
                _, t = self.plan.pop(0)
                self.start_trip(t, tick)
        elif self.state == State.WALKING:
            self.walk(tick)
            if self.state == State.HOME and self.pickup_due(tick):  # home just in time to set off
                self.fetch(tick)
        elif self.state == State.VISITING:
            if tick >= self.leave_tick:
                self.leave(tick)
        # WAITING: the facility decides (Facility.admit); ESCORTING: the ward's facility does
        if day_ends:
            self.end_day()

    # ----------------------------------------------------------------- planning

    def remember(self) -> None:
        """At a day's start: the facilities that turned this resident away the day before join its memory.

        Only earlier days count: a turn-away changes the ranking from the next day on
        (``rules.ranked_minutes``), never the trips of its own day. With ``[simulation] learning``
        off nothing is remembered (``turned_away`` records nothing).
        """
        for fid in self.turned_today:
            self.memory[fid] = self.memory.get(fid, 0) + 1
        self.turned_today = []

    def plan_day(self, day: int) -> None:
        """Draw today's visits: in each window of each needed type, one with the type's daily probability.

        Types visited only on weekdays are skipped at weekends. Departure minutes are uniform
        whole minutes in the window (clipped to the simulated day); a type with two windows (the
        morning and the evening park) gives two independent chances a day.
        """
        clock, rng, types = self.context.clock, self.context.rng, self.context.types
        wanted = rules.wanted_today(types, clock.is_weekend(day))
        ticks, windows = [], []
        for t in self.needs:
            if not wanted[t]:
                continue
            for w in types.windows_of(t):
                if rng.random() < types.daily_prob[t]:
                    minute = int(rng.integers(types.window_lo[w], types.window_hi[w] + 1))
                    ticks.append(clock.tick_at(day, minute))
                    windows.append(w)
        ticks_a, windows_a = np.array(ticks, dtype=np.int64), np.array(windows, dtype=np.int64)
        order = rules.plan_order(np.zeros(len(ticks), dtype=np.int64), ticks_a, windows_a, types)
        self.plan = [(ticks[i], int(types.window_type[windows[i]])) for i in order]

    def choose_facilities(self, t: int, tick: int, pace: float | None = None, count: bool = True) -> list[Facility]:
        """Rank the facilities of type ``t`` this resident may use now: the first is the destination.

        For a type with enrolment the one choice is the facility the resident is enrolled at
        (``rules.enrolled_destination``: none when the trip does not fit the day), with no draw.

        Candidates are the facilities the rulebook finds usable (``rules.usable``, with the limit
        of ``rules.walk_limit_min``: within ``cutoff_min`` of the resident's own walking time
        from home, reachable before closing time with the whole visit and the walk home fitting
        in the day, or before its pick-up of a child). Each candidate's utility
        is ``-beta * minutes``; adding a standard Gumbel draw to each and sorting gives a ranking
        whose first element has exactly the multinomial-logit probability
        ``exp(-beta * m_f) / sum_g exp(-beta * m_g)`` (McFadden 1974; Huff 1964 for retail),
        and whose later elements are the next choices. With ``beta = inf`` the ranking is
        ``rules.nearest_first``. Only the first ``tries`` are kept. The minutes ranked are
        ``rules.ranked_minutes``: a facility that turned this resident away on earlier days
        counts as farther (days that learn); the walks are not. ``pace`` is the pace of the walk
        (a pair's, when escorted; own by default); ``count``: a visit that fits only without the
        pick-up counts as given up for escorting.
        """
        ctx = self.context
        types = ctx.types
        limit = rules.walk_limit_min(ctx.clock, tick, ctx.spec.simulation.cutoff_min, types, t)
        k = ctx.enrolment.column[t]
        if k >= 0:
            enrolled = ctx.enrolment.facility[self.rid, k]
            own = self.m_per_min if pace is None else pace  # an escorted child walks at the pair's pace
            fid = rules.enrolled_destination(enrolled, ctx.enrolment.metres[self.rid, k] / own, limit)
            return [self.engine.facilities[fid]] if fid >= 0 else []
        ids, metres = ctx.reach.candidates(ctx.origin_of[self.rid], t)
        minutes = metres / (self.m_per_min if pace is None else pace)
        cutoff = ctx.spec.simulation.cutoff_min
        limit = rules.walk_limit_min(ctx.clock, tick, cutoff, types, t, self.pickup_tick)
        keep = rules.usable(minutes, limit)
        if count and not keep.any() and self.pickup_tick != rules.NO_DEADLINE:
            if rules.usable(minutes, rules.walk_limit_min(ctx.clock, tick, cutoff, types, t)).any():
                self.given_up += 1  # it would fit, but for the pick-up
        ids, minutes = ids[keep], minutes[keep]
        if ids.size == 0:
            return []
        tries = int(types.tries[t])
        if self.memory:
            remembered = np.array([self.memory.get(int(i), 0) for i in ids], dtype=np.int64)
            minutes = rules.ranked_minutes(minutes, remembered, ctx.spec.simulation.learning_penalty_min)
        if math.isinf(types.beta_per_min[t]):
            order = nearest_first(ids, minutes, min(tries, ids.size))
        else:
            utility = -types.beta_per_min[t] * minutes + ctx.rng.gumbel(size=ids.size)
            order = np.argsort(-utility, kind="stable")[:tries]
        return [self.engine.facilities[i] for i in ids[order]]

    # ----------------------------------------------------------------- trips

    def start_trip(self, t: int, tick: int) -> None:
        """Leave home for a visit of type ``t`` (with a carer if escorted), or count it unmet."""
        self.trip_type = t
        self.walk_min = 0.0
        self.choice_rank = 1
        self.chain = 1
        self.pace = self.m_per_min
        carer = None
        if self.engine.escorts and rules.needs_escort(self.age, self.context.types, t) and self.engine.has_carer(self):
            carer = self.engine.find_carer(self)
            if carer is None:
                self.no_escort += 1
                self.count_unmet()
                return
            self.pace = float(rules.pair_pace(self.m_per_min, carer.m_per_min))
        self.choices = self.choose_facilities(t, tick, self.pace)
        if not self.choices:
            self.count_unmet()
            return
        if carer is not None:
            self.escort = carer
            carer.drop_off(self, self.choices[0].site, tick)
        self.walk_to(self.choices[0].site, tick, tick)

    def walk_to(self, target: int, start: int, now: int) -> None:
        """Walk the shortest path from the current cell to ``target`` at the trip's pace, starting in tick ``start``.

        A walk of ``n`` ticks that starts in tick ``s`` arrives in tick ``s + n``, where ``n`` is
        the walking minutes rounded up to whole ticks; a walk that starts in the tick being
        simulated (``now``) moves in this step.
        """
        root = walk_root(self.position, target, self.home)
        self.walk_cells, self.walk_along = self.engine.paths.path(self.position, target, root)
        self.walk_start = start
        self.arrive_tick = start + rules.whole_ticks(self.walk_along[-1] / self.pace, self.context.clock.tick_min)
        self.state = State.WALKING
        if start == now:
            self.walk(start)

    def walk(self, tick: int) -> None:
        """Advance along the path by the distance this resident's pace covers per tick; arrive at the end."""
        if tick >= self.arrive_tick:
            self.position = int(self.walk_cells[-1])
            self.arrive(tick)
            return
        covered = (tick - self.walk_start) * self.pace * self.context.clock.tick_min
        self.position = int(self.walk_cells[int(np.searchsorted(self.walk_along, covered, side="right")) - 1])

    def arrive(self, tick: int) -> None:
        """At the end of a walk: home, the door of a ward's facility, or the queue of the facility walked to."""
        if self.phase in ("drop", "fetch"):
            self.state = State.ESCORTING
            return
        if self.position == self.home and not self.choices:
            self.state = State.HOME
            self.pace = self.m_per_min
            self.escort = None
            if self.phase in ("back", "home"):
                self.escort_min += rules.escort_minutes(tick - self.escort_since, self.context.clock.tick_min)
                self.phase = "free" if self.phase == "back" else ""
                if self.phase == "":
                    self.ward, self.pickup_tick = None, rules.NO_DEADLINE
            return
        facility = self.choices[0]
        self.walk_min += self.walk_along[-1] / self.pace
        self.state = State.WAITING
        ctx = self.context
        self.give_up_tick = rules.give_up_tick(
            ctx.clock, tick, self.home_minutes(facility), ctx.types, facility.type_index, self.pickup_tick
        )
        facility.queue.append(self)

    def home_minutes(self, facility: Facility) -> float:
        """Walking minutes from a facility back home, at the trip's pace."""
        return self.engine.paths.metres(self.home, facility.site) / self.pace

    def admitted(self, facility: Facility, tick: int) -> None:
        """Called by the facility: in, for the visit's duration (shortened by closing, the day's end or a pick-up)."""
        self.state = State.VISITING
        self.admit_tick = tick
        ctx = self.context
        self.leave_tick = rules.leave_tick(
            ctx.clock, tick, self.home_minutes(facility), ctx.types, facility.type_index, self.pickup_tick
        )
        if self.escort is not None:
            self.escort.ward_admitted(facility, tick, self.leave_tick)

    def turned_away(self, facility: Facility, tick: int) -> None:
        """Called by the facility after the patience ran out: try the next choice, or go home unserved.

        The next choice must be within the cut-off of here, and the trip must still fit the day
        (``rules.next_choice_fits``); choices that do not are dropped. With days that learn, the
        resident remembers the facility from the next day on (:meth:`remember`). An escorted child
        goes home with its carer. The give-up is one row of the engine's turn-away log
        (``AgentsEngine.turn_aways``), at the rank of the choice that turned it away.
        """
        ctx = self.context
        self.engine.turn_away_rows.append((self.rid, facility.fid, tick, self.choice_rank))
        start = tick + rules.TURN_AWAY_DELAY_TICKS
        cutoff = ctx.spec.simulation.cutoff_min
        if ctx.spec.simulation.learning:
            self.turned_today.append(facility.fid)
        self.choices.pop(0)
        while self.choices and self.escort is None:
            nxt = self.choices[0]
            there = self.engine.paths.metres(facility.site, nxt.site) / self.pace
            if rules.next_choice_fits(
                ctx.clock, start, there, self.home_minutes(nxt), cutoff, ctx.types, nxt.type_index, self.pickup_tick
            ):
                self.choice_rank += 1
                self.walk_to(nxt.site, start, tick)
                return
            self.choices.pop(0)
        self.count_unmet()
        if self.escort is not None:
            self.escort.take_home(facility.site, self.pace, start, tick)
        self.walk_to(self.home, start, tick)

    def leave(self, tick: int) -> None:
        """End a visit: record it and walk home (with the carer who came to fetch an escorted child)."""
        facility = self.choices[0]
        facility.leave(self)
        clock = self.context.clock
        self.context.visit_log.record(
            self.rid,
            facility.fid,
            facility.type_index,
            clock.run_minute(self.admit_tick),
            clock.run_minute(tick),
            self.walk_min,
            self.choice_rank,
            -1 if self.escort is None else self.escort.rid,
            self.chain,
        )
        self.choices = []
        if self.escort is not None:
            self.escort.take_home(facility.site, self.pace, tick, tick)
        self.walk_to(self.home, tick, tick)

    def count_unmet(self) -> None:
        """Count the current trip's type as an unmet need and drop the remaining choices."""
        self.unmet[self.trip_type] = self.unmet.get(self.trip_type, 0) + 1
        self.choices = []

    def end_day(self) -> None:
        """At the day's last tick: visits still planned but never started are unmet."""
        for _, t in self.plan:
            self.unmet[t] = self.unmet.get(t, 0) + 1
        self.plan = []

    # ----------------------------------------------------------------- a carer's part

    def drop_off(self, child: Resident, site: int, tick: int) -> None:
        """Set off with ``child`` to its facility at ``site``, at the pair's pace."""
        self.ward, self.phase, self.escort_since = child, "drop", tick
        self.choices = []
        self.pace = child.pace
        self.walk_to(site, tick, tick)

    def ward_admitted(self, facility: Facility, tick: int, leave: int) -> None:
        """The child was admitted in ``tick`` and leaves in ``leave``: walk home, or on to an own visit, or stay.

        The carer walks home if it can be back in time to fetch the child
        (``rules.carer_goes_home``). When its next planned visit is due by the time it would be
        home, it goes there straight from the child's facility instead if the walk there is within
        the cut-off and the visit and the walk home end by the pick-up (``rules.next_choice_fits``):
        a trip chain, the visit's ``chain`` 2.
        """
        ctx = self.context
        clock = ctx.clock
        self.pace = self.m_per_min
        walk = rules.whole_ticks(self.engine.paths.metres(self.home, facility.site) / self.m_per_min, clock.tick_min)
        if not rules.carer_goes_home(tick, leave, walk):
            self.phase = "wait"
            return
        self.pickup_tick = int(rules.pickup_departure(leave, walk))
        self.fetch_site = facility.site
        start = tick + rules.DROP_OFF_DELAY_TICKS
        if self.plan and self.plan[0][0] <= start + walk and self.chain_on(facility, start, tick):
            return
        self.phase = "back"
        self.choices = []
        self.walk_to(self.home, start, tick)

    def chain_on(self, facility: Facility, start: int, tick: int) -> bool:
        """Go on from the ward's facility to the next planned visit, if it fits before the pick-up; True if gone."""
        ctx = self.context
        t = self.plan[0][1]
        choices = self.choose_facilities(t, start, count=False)
        if not choices:
            return False
        there = self.engine.paths.metres(facility.site, choices[0].site) / self.m_per_min
        back = self.engine.paths.metres(self.home, choices[0].site) / self.m_per_min
        cutoff = ctx.spec.simulation.cutoff_min
        if not rules.next_choice_fits(ctx.clock, start, there, back, cutoff, ctx.types, t, self.pickup_tick):
            return False
        self.plan.pop(0)
        self.escort_min += rules.escort_minutes(start - self.escort_since, ctx.clock.tick_min)
        self.phase = "free"
        self.trip_type, self.choices, self.walk_min, self.choice_rank, self.chain = t, choices, 0.0, 1, 2
        self.walk_to(choices[0].site, start, tick)
        return True

    def pickup_due(self, tick: int) -> bool:
        """Whether this carer, at home, must set off now to fetch its ward."""
        return self.phase == "free" and tick >= self.pickup_tick

    def fetch(self, tick: int) -> None:
        """Set off from home to fetch the ward at its facility, at own pace."""
        self.phase, self.escort_since = "fetch", tick
        self.choices = []
        self.pace = self.m_per_min
        self.walk_to(self.fetch_site, tick, tick)

    def take_home(self, site: int, pace: float, start: int, now: int) -> None:
        """Walk home from the ward's facility at ``site`` with the ward, at the pair's ``pace``, from tick ``start``."""
        if self.phase not in ("wait", "drop", "fetch", "free"):  # free: at home, a walk of no ticks to fetch
            raise RuntimeError(f"carer {self.rid} is not with its ward (phase {self.phase!r})")
        self.position = site
        self.phase = "home"
        self.choices = []
        self.pace = pace
        self.walk_to(self.home, start, now)


class AgentsEngine:
    """Steps one :class:`Resident` agent per resident, then every :class:`Facility` agent.

    The readable reference: every hand-worked test runs on it and on the fast engine.
    Its agents are registered with the Mesa model, so they are that model's ``agents``.

    Args:
        context: The run: clock, types, city, residents, candidates, random generator, visit log.
        model: The Mesa model the agents register with (only Mesa's own agent registry is used).
    """

    def __init__(self, context: RunContext, model: mesa.Model):
        """Create the facility and resident agents; everyone is at home with no plans."""
        self.context = context
        self.paths = context.surface
        fac = context.city.facilities
        self.facilities = [
            Facility(model, context, int(i), int(t), int(c), int(rules.places(cap, t, context.types)))
            for i, t, c, cap in zip(fac["id"], context.facility_type, fac["node"], fac["capacity"])
        ]
        pop = context.population
        plans = rules.plans(
            rules.needs(pop.age, context.types), context.enrolment.holds(len(context.types)), context.types
        )
        self.residents = [Resident(model, self, i, plans[i]) for i in range(len(pop))]
        spec = context.spec.households
        self.escorts = pop.household is not None and spec.escort and bool((context.types.escort_below_age > 0).any())
        self.adult_age = spec.adult_age
        if pop.household is not None:
            members: dict[int, list[Resident]] = {}
            for r in self.residents:
                members.setdefault(int(pop.household[r.rid]), []).append(r)
            for r in self.residents:
                r.household = members[int(pop.household[r.rid])]
        self._now = -1  # the tick last simulated
        self._snapshot_tick: int | None = None
        # every turn-away so far: (resident, facility, tick, choice rank), recorded by Resident.turned_away
        self.turn_away_rows: list[tuple[int, int, int, int]] = []

    def has_carer(self, child: Resident) -> bool:
        """Whether the child's household has a member of carer age (else children go alone, as without households)."""
        return child.household is not None and any(m.age >= self.adult_age for m in child.household)

    def find_carer(self, child: Resident) -> Resident | None:
        """The member of the child's household who escorts it now (``rules.carer_rank``), or None."""
        best, best_rank = None, 1
        for m in child.household:
            rank = int(rules.carer_rank(m.age, self.adult_age, m.state == State.HOME, m.phase == "" and m is not child))
            if rank < best_rank:  # members are in resident id order: ties go to the lower id
                best, best_rank = m, rank
        return best

    def escort_totals(self) -> dict[str, np.ndarray]:
        """Per resident over the run so far: escort_min, given_up_escort (own visits), no_escort (a child's trips)."""
        return {
            "escort_min": np.array([r.escort_min for r in self.residents], dtype=float),
            "given_up_escort": np.array([r.given_up for r in self.residents], dtype=np.int64),
            "no_escort": np.array([r.no_escort for r in self.residents], dtype=np.int64),
        }

    def turn_aways(self) -> dict[str, np.ndarray]:
        """Every turn-away so far (:meth:`model.simulation.engines.Engine.turn_aways`)."""
        rows = np.array(self.turn_away_rows, dtype=np.int64).reshape(-1, len(TURN_AWAY_COLUMNS))
        return turn_away_table(*rows.T)

    def step(self, tick: int) -> None:
        """Tick ``tick`` of the run: every resident acts in random order, then every facility admits its queue."""
        self._now = tick
        # Mesa's shuffle_do would draw the order from model.random; the context's rng keeps one generator
        clock = self.context.clock
        day_starts, day_ends = clock.tick_of_day(tick) == 0, clock.is_last_tick_of_day(tick)
        residents = self.residents
        for i in self.context.rng.permutation(len(residents)).tolist():  # Python ints index a list fastest
            residents[i].step(tick, day_starts, day_ends)
        for facility in self.facilities:
            facility.admit(tick)

    def _snapshot(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """State counts, occupancy and queues read off the agents, once per tick (reporters ask many times)."""
        if self._snapshot_tick != self._now:
            counts = np.bincount([r.state for r in self.residents], minlength=len(State))
            occ = np.zeros((len(self.facilities), self.context.n_groups), dtype=np.int64)
            for f in self.facilities:
                for r in f.visitors:
                    occ[f.fid, r.group] += 1
            queue = np.array([len(f.queue) for f in self.facilities], dtype=np.int64)
            self._counts_occ = (counts, occ, queue)
            self._snapshot_tick = self._now
        return self._counts_occ

    def state_counts(self) -> np.ndarray:
        """Residents per :class:`State` now."""
        return self._snapshot()[0]

    def occupancy_by_group(self) -> np.ndarray:
        """Visitors present now, per facility (rows) and group (columns)."""
        return self._snapshot()[1]

    def queue_by_facility(self) -> np.ndarray:
        """Residents waiting in each facility's queue now."""
        return self._snapshot()[2]

    def resident_states(self) -> np.ndarray:
        """Every resident's :class:`State` now, as integers."""
        return np.array([int(r.state) for r in self.residents], dtype=np.int64)

    def positions(self) -> np.ndarray:
        """Every resident's current cell."""
        return np.array([r.position for r in self.residents], dtype=np.int64)

    def facility_totals(self) -> dict[str, np.ndarray]:
        """Per facility, over the run so far: visits, peak_occupancy, turned_away."""
        return {
            "visits": np.array([f.visits for f in self.facilities], dtype=np.int64),
            "peak_occupancy": np.array([f.peak for f in self.facilities], dtype=np.int64),
            "turned_away": np.array([f.turned_away for f in self.facilities], dtype=np.int64),
        }

    def unmet_counts(self) -> np.ndarray:
        """Wanted visits not served, per resident (rows) and facility type (columns)."""
        out = np.zeros((len(self.residents), len(self.context.types)), dtype=np.int64)
        for r in self.residents:
            for t, n in r.unmet.items():
                out[r.rid, t] = n
        return out
