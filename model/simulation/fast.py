"""The fast engine: the rules of the rulebook on whole-population arrays.

Residents are rows of numpy arrays (a struct of arrays, as in mesa-frames). Nothing loops over
residents in Python: each tick handles only the residents with something to do, found through
per-tick event buckets (departures planned for this tick, walks ending now, visits ending now)
and the set of residents waiting at facilities. Conflicts for places are settled by a group-by
lottery: waiters are sorted by (facility, arrival tick, random key) and the first ``free``
places of each facility go to the first in that order, which is the first-come-first-served
queue of ``Facility.admit`` with same-tick arrivals in random order.

One tick, in the order that reproduces ``Resident.step`` followed by ``Facility.admit``:

0. at the first tick of a day, the turn-aways of the day before join the residents' memory
   (``Resident.remember``), then every resident draws the day's plan (``Resident.plan_day``);
1. visitors whose visit ends now leave and start walking home (``Resident.leave``);
2. residents at home whose next planned departure is due choose facilities and leave
   (``Resident.start_trip``, ``Resident.choose_facilities``): with escorts, children who need
   one first, each with the carer the rulebook names (``_find_carers``), then everyone else;
3. walkers whose walk ends now arrive: home, or into the queue of their facility, or at the door
   of a child's facility (``Resident.walk``, ``Resident.arrive``); then, with escorts, carers at
   home whose pick-up of a child is due set off (``Resident.fetch``);
4. at the last tick of a day, plans never started are unmet (``Resident.end_day``);
5. every open facility admits its queue while it has room, then the waiters whose patience ran
   out give up and walk to their next choice, or home unserved (``Facility.admit``,
   ``Resident.turned_away``); the carers of children admitted now walk home, go on to their own
   next visit, or stay (``Resident.ward_admitted``).

Every rule (needs, opening hours, whether a trip fits, give-up and leave ticks, plan order, the
ranking at ``beta = inf``) is a function of model/simulation/rules.py, called here on arrays and
by the agents engine on one resident; only the stepping is this module's own.

The engine reads the run through its :class:`model.simulation.context.RunContext` (clock, types,
city, residents, candidates, random generator, visit log) and is told which tick to simulate
(``step(tick)``); it never sees the model. Walkers' cells are not needed by any rule (arrival is
a precomputed tick), so they are computed only when asked for (:meth:`FastEngine.positions`).
This engine creates no Mesa agents: residents and facilities are rows of arrays, so
``model.agents`` is empty under it.
"""

from __future__ import annotations

import mesa
import numpy as np

from model.city.surface import walk_root
from model.simulation import rules
from model.simulation.choice import choose_many
from model.simulation.context import RunContext
from model.simulation.events import Buckets, distinct, segments
from model.simulation.rules import State
from model.simulation.visits import turn_away_table

_NONE = -1
# what a carer does for its ward (Resident.phase of the agents engine)
_NO_WARD, _DROP, _BACK, _PICKUP_DUE, _FETCH, _STAY, _TAKE_HOME = range(7)


class FastEngine:
    """Vectorised stepping of a run's residents and facilities.

    Args:
        context: The run: clock, types, city, residents, candidates, random generator, visit log.
        model: The Mesa model of the run, unused: this engine creates no Mesa agents (the
            argument keeps one constructor for both engines, :data:`model.simulation.engines.ENGINES`).
    """

    def __init__(self, context: RunContext, model: mesa.Model | None = None):
        """Set up resident, facility and type arrays; everyone is at home with no plans."""
        self.context = context
        scenario, city, pop = context.spec, context.city, context.population
        self.clock = context.clock
        self.rng = context.rng
        n = len(pop)
        self.n = n
        self.types = context.types
        # who plans visits of which type (rules.plans: types with enrolment only with a place)
        self.needs = rules.plans(rules.needs(pop.age, self.types), context.enrolment.holds(len(self.types)), self.types)
        # facilities
        fac = city.facilities
        self.f_type = context.facility_type
        self.f_cell = fac["node"].to_numpy(dtype=np.int64)
        self.f_capacity = rules.places(fac["capacity"].to_numpy(dtype=np.int64), self.f_type, self.types)
        n_fac = len(fac)
        self.occupancy = np.zeros((n_fac, context.n_groups), dtype=np.int64)
        self.f_total = np.zeros(n_fac, dtype=np.int64)
        self.f_peak = np.zeros(n_fac, dtype=np.int64)
        self.f_visits = np.zeros(n_fac, dtype=np.int64)
        self.f_turned = np.zeros(n_fac, dtype=np.int64)
        # residents
        self.speed = pop.m_per_min
        self.group = pop.group
        self.home = pop.node
        self.origin = context.origin_of
        self.state = np.zeros(n, dtype=np.int8)
        self.state_count = np.zeros(len(State), dtype=np.int64)
        self.state_count[State.HOME] = n
        max_tries = int(self.types.tries.max()) if len(self.types) else 1
        self.choice = np.full((n, max_tries), _NONE, dtype=np.int64)
        self.choice_home_m = np.zeros((n, max_tries))
        self.choice_ptr = np.zeros(n, dtype=np.int64)
        self.trip_type = np.zeros(n, dtype=np.int64)
        self.walk_min = np.zeros(n)  # walking minutes of this trip so far (all legs to the facility)
        self.rank = np.zeros(n, dtype=np.int64)  # 1 at the first choice of this trip, k after k - 1 turn-aways
        self.leg_min = np.zeros(n)  # minutes of the walk under way
        self.walk_from = pop.node.copy()
        self.walk_to = pop.node.copy()
        self.walk_start = np.zeros(n, dtype=np.int64)
        self.arrive_tick = np.zeros(n, dtype=np.int64)
        self.heading_home = np.zeros(n, dtype=bool)
        self.give_up = np.zeros(n, dtype=np.int64)
        self.admit_tick = np.zeros(n, dtype=np.int64)
        self.unmet = np.zeros((n, len(self.types)), dtype=np.int64)
        # today's plan, CSR by resident
        self.plan_tick = np.zeros(0, dtype=np.int64)
        self.plan_type = np.zeros(0, dtype=np.int64)
        self.plan_ptr = np.zeros(n, dtype=np.int64)
        self.plan_end = np.zeros(n, dtype=np.int64)
        # events
        self.departures = Buckets()
        self.arrivals = Buckets()
        self.leaves = Buckets()
        self.recheck = np.zeros(0, dtype=np.int64)  # came home with overdue plans: look again next tick
        self.waiting = np.zeros(0, dtype=np.int64)
        self.wait_since = np.zeros(n, dtype=np.int64)
        self.wait_key = np.zeros(n)
        self._now = -1  # the tick last simulated
        self.cutoff = scenario.simulation.cutoff_min
        # a walk on to a next choice is within the cut-off (rules.next_choice_fits), so no pair
        # farther apart than the cut-off at the fastest pace is needed (plus the surface's slack,
        # so that rounding at the bound cannot lose a pair)
        surface = context.surface
        pair_limit = self.cutoff * float(self.speed.max()) + surface.bound_slack_m if n else 0.0
        self._pairs = surface.pairs(pair_limit)
        self._queue_tick = -2  # the tick of the cached queue_by_facility (none yet)
        # days that learn: turn-aways remembered from earlier days, sparse and sorted by
        # resident * n_fac + facility (choose_many reads them), and today's, merged in at the next day's start
        self.learning = scenario.simulation.learning
        self.memory_keys = np.zeros(0, dtype=np.int64)
        self.memory_counts = np.zeros(0, dtype=np.int64)
        self._turned_today: list[np.ndarray] = []
        self._turn_aways: list[np.ndarray] = []  # per tick with any: rows resident, facility, tick, choice rank
        self._setup_escorts(context)

    def _setup_escorts(self, context: RunContext) -> None:
        """Households and escorts: the trip's pace, pick-up deadlines, carers' phases, households as CSR."""
        n, pop = self.n, context.population
        spec = context.spec.households
        self.adult_age = spec.adult_age
        self.escorts = pop.household is not None and spec.escort and bool((self.types.escort_below_age > 0).any())
        self.age = pop.age
        self.trip_speed = self.speed.copy()  # the pace of the trip under way (the pair's when escorted)
        self.pickup_at = np.full(n, rules.NO_DEADLINE, dtype=np.int64)  # own trips end at home by then
        self.escort_of = np.full(n, _NONE, dtype=np.int64)  # a child's carer on the trip under way
        self.chain = np.ones(n, dtype=np.int64)
        self.escort_ticks = np.zeros(n, dtype=np.int64)
        self.given_up = np.zeros(n, dtype=np.int64)
        self.no_escort = np.zeros(n, dtype=np.int64)
        if not self.escorts:
            return
        self.ward = np.full(n, _NONE, dtype=np.int64)
        self.phase = np.zeros(n, dtype=np.int8)
        self.fetch_cell = np.zeros(n, dtype=np.int64)
        self.fetch_m = np.zeros(n)
        self.escort_since = np.zeros(n, dtype=np.int64)
        self.pickups = Buckets()
        household = pop.household
        self.household = household
        # members of each household, oldest first, ties by id: the order rules.carer_rank asks them in
        self.hh_members = np.lexsort((np.arange(n), -self.age, household))
        self.hh_size = np.bincount(household)
        self.hh_start = np.cumsum(self.hh_size) - self.hh_size
        self.hh_has_carer = np.bincount(household, weights=self.age >= self.adult_age) > 0
        reach = context.reach
        lengths = np.diff(reach.indptr)
        self.nearest_m = np.full(lengths.size, np.inf)  # per (origin, type): the nearest candidate
        if reach.metres.size:
            self.nearest_m[lengths > 0] = np.minimum.reduceat(reach.metres, reach.indptr[:-1][lengths > 0])

    # ----------------------------------------------------------------- helpers

    def _set_state(self, residents: np.ndarray, state: State) -> None:
        old = np.bincount(self.state[residents], minlength=len(State))
        self.state_count -= old
        self.state_count[state] += residents.size
        self.state[residents] = state

    def _start_walk(self, residents: np.ndarray, start: int, from_cells, to_cells, minutes) -> None:
        """Walk from ``from_cells`` to ``to_cells`` starting in tick ``start`` (arrives start + ticks)."""
        self.walk_from[residents] = from_cells
        self.walk_to[residents] = to_cells
        self.walk_start[residents] = start
        self.leg_min[residents] = minutes
        arrive = start + rules.whole_ticks(minutes, self.clock.tick_min)
        self.arrive_tick[residents] = arrive
        self._set_state(residents, State.WALKING)
        self.arrivals.add(arrive, residents)

    def _recheck_next_tick(self, residents: np.ndarray, tick: int) -> None:
        """Residents at home whose next planned visit is already due look again in the next tick."""
        pending = residents[self.plan_ptr[residents] < self.plan_end[residents]]
        due = pending[self.plan_tick[self.plan_ptr[pending]] <= tick]
        self.recheck = np.concatenate([self.recheck, due])

    def _count_unmet(self, residents: np.ndarray) -> None:
        np.add.at(self.unmet, (residents, self.trip_type[residents]), 1)

    # ----------------------------------------------------------------- the tick

    def step(self, tick: int) -> None:
        """Advance every resident and facility through tick ``tick`` of the run (0 = the first)."""
        self._now = tick
        clock = self.clock
        if clock.tick_of_day(tick) == 0:
            self._remember()
            self._plan_day(clock.day(tick))
        self._leave(tick)
        self._depart(tick)
        self._arrive(tick)
        if self.escorts:
            self._fetch(tick)
        if clock.is_last_tick_of_day(tick):
            self._end_day()
        self._admit(tick)

    def _remember(self) -> None:
        """At a day's start, the turn-aways of the day before join the memory (Resident.remember)."""
        if not self._turned_today:
            return
        keys = np.concatenate([self.memory_keys, *self._turned_today])
        counts = np.concatenate([self.memory_counts, np.ones(keys.size - self.memory_keys.size, dtype=np.int64)])
        self.memory_keys, at = np.unique(keys, return_inverse=True)
        self.memory_counts = np.bincount(at, weights=counts, minlength=self.memory_keys.size).astype(np.int64)
        self._turned_today = []

    def _plan_day(self, day: int) -> None:
        """Every resident draws today's visits, one chance per window of a needed type (Resident.plan_day)."""
        types = self.types
        wanted = rules.wanted_today(types, self.clock.is_weekend(day))
        owners, windows, minutes = ([np.zeros(0, dtype=np.int64)] for _ in range(3))
        for w, t in enumerate(types.window_type):
            if not wanted[t]:
                continue
            who = np.flatnonzero(self.needs[:, t])
            go = who[self.rng.random(who.size) < types.daily_prob[t]]
            owners.append(go)
            windows.append(np.full(go.size, w, dtype=np.int64))
            minutes.append(self.rng.integers(types.window_lo[w], types.window_hi[w] + 1, size=go.size))
        owner, window = np.concatenate(owners), np.concatenate(windows)
        ticks = np.asarray(self.clock.tick_at(day, np.concatenate(minutes)), dtype=np.int64)
        order = rules.plan_order(owner, ticks, window, types)
        owner, self.plan_type, self.plan_tick = owner[order], types.window_type[window[order]], ticks[order]
        counts = np.bincount(owner, minlength=self.n)
        self.plan_end = np.cumsum(counts)
        self.plan_ptr = self.plan_end - counts
        # every entry is looked at in its tick; one found while its resident is out is looked at
        # again when the resident is back home (``recheck``)
        self.departures.add(self.plan_tick, owner)

    def _leave(self, tick: int) -> None:
        """Visits ending now: record them, free the places, walk home (Resident.leave)."""
        r = self.leaves.pop(tick)
        if r.size == 0:
            return
        f = self.choice[r, self.choice_ptr[r]]
        np.add.at(self.occupancy, (f, self.group[r]), -1)
        np.add.at(self.f_total, f, -1)
        np.add.at(self.f_visits, f, 1)
        run_min = self.clock.run_minute
        self.context.visit_log.extend(
            r,
            f,
            self.f_type[f],
            run_min(self.admit_tick[r]),
            np.full(r.size, run_min(tick)),
            self.walk_min[r],
            self.rank[r],
            self.escort_of[r],
            self.chain[r],
        )
        home_min = self.choice_home_m[r, self.choice_ptr[r]] / self.trip_speed[r]
        self.heading_home[r] = True
        self._start_walk(r, tick, self.f_cell[f], self.home[r], home_min)
        if self.escorts:
            kid = self.escort_of[r] >= 0
            self._take_home(self.escort_of[r[kid]], tick, self.f_cell[f[kid]], home_min[kid])

    def _depart(self, tick: int) -> None:
        """Residents at home with a due plan choose facilities and leave (Resident.start_trip)."""
        r = distinct(np.concatenate([self.departures.pop(tick), self.recheck]))
        self.recheck = np.zeros(0, dtype=np.int64)
        if r.size == 0:
            return
        ptr = self.plan_ptr[r]
        due = (self.state[r] == State.HOME) & (ptr < self.plan_end[r])
        r, ptr = r[due], ptr[due]
        due = self.plan_tick[ptr] <= tick
        r, ptr = r[due], ptr[due]
        if self.escorts and r.size:
            # carers about to fetch a child set off first (_fetch); their plans wait
            due = ~((self.phase[r] == _PICKUP_DUE) & (self.pickup_at[r] <= tick))
            r, ptr = r[due], ptr[due]
            kid = rules.needs_escort(self.age[r], self.types, self.plan_type[ptr])
            kid &= self.hh_has_carer[self.household[r]]
            if kid.any():
                self._depart_escorted(r[kid], ptr[kid], tick)
                r, ptr = r[~kid], ptr[~kid]
                home = self.state[r] == State.HOME  # carers just taken leave their own plans for later
                r, ptr = r[home], ptr[home]
        if r.size == 0:
            return
        self.plan_ptr[r] += 1
        ttype = self.plan_type[ptr]
        self._new_trip(r, ttype)
        has = self._choose(r, ttype, tick, until=self.pickup_at[r])
        failed = r[~has]
        if self.escorts:
            self._count_given_up(failed, self.trip_type[failed], tick)
        self._count_unmet(failed)
        self._recheck_next_tick(failed, tick)  # still at home: the next due plan starts next tick
        go = r[has]
        metres = self.choice_home_m[go, 0]
        self.heading_home[go] = False
        self._start_walk(go, tick, self.home[go], self.f_cell[self.choice[go, 0]], metres / self.speed[go])

    def _new_trip(self, r: np.ndarray, ttype: np.ndarray) -> None:
        """Residents starting a trip of type ``ttype`` from home: no legs walked yet, no choices."""
        self.trip_type[r] = ttype
        self.walk_min[r] = 0.0
        self.rank[r] = 1
        self.chain[r] = 1
        self.choice_ptr[r] = 0
        self.choice[r] = _NONE

    def _choose(self, r: np.ndarray, ttype: np.ndarray, tick: int, speed=None, until=rules.NO_DEADLINE) -> np.ndarray:
        """Rank candidate facilities for each resident (Resident.choose_facilities); True where any.

        ``speed``: the pace of the walk (own by default); ``until``: when the residents must be
        home again (a carer's pick-up).
        """
        reach = self.context.reach
        clock = self.clock
        speed = self.speed[r] if speed is None else speed
        limit = rules.walk_limit_min(clock, tick, self.cutoff, self.types, ttype, until)
        tries = self.types.tries[ttype]
        width = self.choice.shape[1]
        out_f = np.full((r.size, width), _NONE, dtype=np.int64)
        out_m = np.zeros((r.size, width))
        counts = choose_many(
            reach.indptr,
            reach.facility,
            reach.metres,
            self.origin[r] * reach.n_types + ttype,
            speed,
            self.types.beta_per_min[ttype],
            tries,
            np.asarray(limit, dtype=float),
            self.rng.random((r.size, width)),
            out_f,
            out_m,
            r,
            self.memory_keys,
            self.memory_counts,
            self.f_cell.size,
            float(self.context.spec.simulation.learning_penalty_min),
        )
        self._enrolled_choice(ttype, limit, out_f, out_m, counts, r, speed)
        self.choice[r] = out_f
        self.choice_home_m[r] = out_m
        return counts > 0

    def _enrolled_choice(self, ttype, limit, out_f, out_m, counts, r, speed) -> None:
        """Departures of an enrolment type: the only choice is the child's place (rules.enrolled_destination)."""
        enrolment = self.context.enrolment
        column = enrolment.column[ttype]
        mine = column >= 0
        if not mine.any():
            return
        rm, k = r[mine], column[mine]
        metres = enrolment.metres[rm, k]
        pace = np.broadcast_to(speed, r.shape)[mine]  # the pair's when escorted (docs/behaviour.md, Enrolment)
        walk_limit = np.broadcast_to(limit, r.shape)[mine]
        fid = rules.enrolled_destination(enrolment.facility[rm, k], metres / pace, walk_limit)
        out_f[mine] = _NONE
        out_f[mine, 0] = fid
        out_m[mine] = 0.0
        out_m[mine, 0] = np.where(fid >= 0, metres, 0.0)
        counts[mine] = (fid >= 0).astype(counts.dtype)

    def _arrive(self, tick: int) -> None:
        """Walks ending now: home, or into the facility's queue (Resident.arrive)."""
        r = self.arrivals.pop(tick)
        if r.size == 0:
            return
        if self.escorts:  # a carer fetching a child may have been sent home in the tick it was due there
            r = distinct(r)
        r = r[(self.state[r] == State.WALKING) & (self.arrive_tick[r] == tick)]
        home = self.heading_home[r]
        back = r[home]
        self._set_state(back, State.HOME)
        if self.escorts:
            self._escort_home(back, tick)
        self._recheck_next_tick(back, tick)
        q = r[~home]
        if self.escorts:
            door = (self.phase[q] == _DROP) | (self.phase[q] == _FETCH)
            self._set_state(q[door], State.ESCORTING)
            q = q[~door]
        if q.size == 0:
            return
        ptr = self.choice_ptr[q]
        f = self.choice[q, ptr]
        self.walk_min[q] += self.leg_min[q]
        home_min = self.choice_home_m[q, ptr] / self.trip_speed[q]
        self.give_up[q] = rules.give_up_tick(self.clock, tick, home_min, self.types, self.f_type[f], self.pickup_at[q])
        self.wait_since[q] = tick
        self.wait_key[q] = self.rng.random(q.size)
        self._set_state(q, State.WAITING)
        self.waiting = np.concatenate([self.waiting, q])

    def _end_day(self) -> None:
        """Plans never started today are unmet (Resident.end_day)."""
        left = self.plan_end - self.plan_ptr
        if left.sum():
            owner, offset = segments(left)
            entries = self.plan_ptr[owner] + offset
            np.add.at(self.unmet, (owner, self.plan_type[entries]), 1)
        self.plan_ptr = self.plan_end.copy()

    def _admit(self, tick: int) -> None:
        """Facilities admit their queues first come, first served, then the impatient give up."""
        w = self.waiting
        if w.size == 0:
            return
        f = self.choice[w, self.choice_ptr[w]]
        is_open = rules.is_open(self.clock.minute_of_day(tick), self.types, self.f_type[f])
        order = np.lexsort((self.wait_key[w], self.wait_since[w], f))
        w, f, is_open = w[order], f[order], is_open[order]
        first = np.r_[True, f[1:] != f[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(f.size), 0))
        rank = np.arange(f.size) - start
        free = self.f_capacity[f] - self.f_total[f]
        admit = is_open & (rank < free)
        a, fa = w[admit], f[admit]
        if a.size:
            np.add.at(self.occupancy, (fa, self.group[a]), 1)
            np.add.at(self.f_total, fa, 1)
            self.f_peak = np.maximum(self.f_peak, self.f_total)
            self.admit_tick[a] = tick
            home_min = self.choice_home_m[a, self.choice_ptr[a]] / self.trip_speed[a]
            leave = rules.leave_tick(self.clock, tick, home_min, self.types, self.f_type[fa], self.pickup_at[a])
            self._set_state(a, State.VISITING)
            self.leaves.add(np.asarray(leave, dtype=np.int64), a)
            if self.escorts:
                kid = self.escort_of[a] >= 0
                self._ward_admitted(a[kid], fa[kid], np.asarray(leave, dtype=np.int64)[kid], tick)
        still, fs = w[~admit], f[~admit]
        gives = self.give_up[still] <= tick
        self.waiting = still[~gives]
        g, fg = still[gives], fs[gives]
        if g.size:
            np.add.at(self.f_turned, fg, 1)
            self._turn_aways.append(np.stack([g, fg, np.full(g.size, tick, dtype=np.int64), self.rank[g]]))
            if self.learning:
                self._turned_today.append(g * self.f_cell.size + fg)
            self._turned_away(g, fg, tick)

    def _turned_away(self, r: np.ndarray, at: np.ndarray, tick: int) -> None:
        """Try the next choice within the cut-off that fits, or walk home unserved (Resident.turned_away)."""
        start = tick + rules.TURN_AWAY_DELAY_TICKS
        if self.escorts:  # an escorted child goes home with its carer
            kid = self.escort_of[r] >= 0
            k = r[kid]
            if k.size:
                self._count_unmet(k)
                minutes = self.choice_home_m[k, self.choice_ptr[k]] / self.trip_speed[k]
                self.heading_home[k] = True
                self._start_walk(k, start, self.f_cell[at[kid]], self.home[k], minutes)
                self._take_home(self.escort_of[k], start, self.f_cell[at[kid]], minutes)
                r, at = r[~kid], at[~kid]
        here = self.f_cell[at]
        here_home_m = self.choice_home_m[r, self.choice_ptr[r]]
        tries = self.choice.shape[1]
        going = np.zeros(r.size, dtype=bool)
        there_min = np.zeros(r.size)
        for _ in range(tries):
            self.choice_ptr[r[~going]] += 1
            ptr = self.choice_ptr[r]
            open_ = ~going & (ptr < tries)
            cand = np.where(open_, self.choice[r, np.minimum(ptr, tries - 1)], _NONE)
            look = cand >= 0
            if not look.any():
                break
            rl, fl = r[look], cand[look]
            there = self._pairs.metres(here[look], self.f_cell[fl]) / self.trip_speed[rl]
            back = self.choice_home_m[rl, self.choice_ptr[rl]] / self.trip_speed[rl]
            fits = rules.next_choice_fits(
                self.clock, start, there, back, self.cutoff, self.types, self.f_type[fl], self.pickup_at[rl]
            )
            idx = np.flatnonzero(look)[fits]
            going[idx] = True
            there_min[idx] = there[fits]
            if going.all():
                break
        go = r[going]
        if go.size:
            nxt = self.choice[go, self.choice_ptr[go]]
            self.rank[go] += 1
            self._start_walk(go, start, here[going], self.f_cell[nxt], there_min[going])
        home = r[~going]
        if home.size:
            self._count_unmet(home)
            back_min = here_home_m[~going] / self.trip_speed[home]
            self.heading_home[home] = True
            self._start_walk(home, start, here[~going], self.home[home], back_min)

    # ----------------------------------------------------------------- households and escorts

    def _find_carers(self, kids: np.ndarray) -> np.ndarray:
        """The carer of each child now (Resident.find_carer, ``rules.carer_rank``), -1 where none.

        Children of one household leaving in the same tick are served in the order given: each
        takes the first free member not taken by a child before it (rounds of a group-by).
        """
        out = np.full(kids.size, _NONE, dtype=np.int64)
        taken = np.zeros(self.n, dtype=bool)
        pending = np.arange(kids.size)
        while pending.size:
            hh = self.household[kids[pending]]
            owner, offset = segments(self.hh_size[hh])
            cand = self.hh_members[self.hh_start[hh][owner] + offset]
            free = (self.phase[cand] == _NO_WARD) & (cand != kids[pending][owner]) & ~taken[cand]
            rank = rules.carer_rank(self.age[cand], self.adult_age, self.state[cand] == State.HOME, free)
            order = np.lexsort((cand, rank, owner))
            first = order[np.r_[True, owner[order][1:] != owner[order][:-1]]]
            found = rank[first] < 1
            who, carer = pending[owner[first][found]], cand[first][found]
            _, win = np.unique(carer, return_index=True)  # one child per carer a round: the first
            won = np.zeros(who.size, dtype=bool)
            won[win] = True
            out[who[won]] = carer[won]
            taken[carer[won]] = True
            pending = who[~won]
        return out

    def _depart_escorted(self, kids: np.ndarray, ptr: np.ndarray, tick: int) -> None:
        """Children who need an escort leave with a carer at the pair's pace, or not at all (Resident.start_trip)."""
        self.plan_ptr[kids] += 1
        ttype = self.plan_type[ptr]
        self._new_trip(kids, ttype)
        carer = self._find_carers(kids)
        alone = carer < 0
        self.no_escort[kids[alone]] += 1
        self._count_unmet(kids[alone])
        self._recheck_next_tick(kids[alone], tick)
        k, c, t = kids[~alone], carer[~alone], ttype[~alone]
        pace = rules.pair_pace(self.speed[k], self.speed[c])
        has = self._choose(k, t, tick, speed=pace)
        self._count_unmet(k[~has])
        self._recheck_next_tick(k[~has], tick)
        k, c, pace = k[has], c[has], pace[has]
        self.trip_speed[k] = pace
        self.escort_of[k] = c
        self.ward[c] = k
        self.phase[c] = _DROP
        self.escort_since[c] = tick
        self.heading_home[k] = False
        self.heading_home[c] = False
        cell = self.f_cell[self.choice[k, 0]]
        minutes = self.choice_home_m[k, 0] / pace
        self._start_walk(k, tick, self.home[k], cell, minutes)
        self._start_walk(c, tick, self.home[c], cell, minutes)

    def _count_given_up(self, r: np.ndarray, ttype: np.ndarray, tick: int) -> None:
        """Residents with no usable facility: given up for escorting where one was usable but for the pick-up."""
        pending = self.pickup_at[r] != rules.NO_DEADLINE
        r, ttype = r[pending], ttype[pending]
        if r.size == 0:
            return
        nearest_min = self.nearest_m[self.origin[r] * self.context.reach.n_types + ttype] / self.speed[r]
        limit = rules.walk_limit_min(self.clock, tick, self.cutoff, self.types, ttype)
        self.given_up[r[rules.usable(nearest_min, limit)]] += 1

    def _ward_admitted(self, kids: np.ndarray, fac: np.ndarray, leave: np.ndarray, tick: int) -> None:
        """Children admitted now: their carers stay, walk home, or go on to an own visit (Resident.ward_admitted)."""
        if kids.size == 0:
            return
        c = self.escort_of[kids]
        home_m = self.choice_home_m[kids, self.choice_ptr[kids]]
        walk = rules.whole_ticks(home_m / self.speed[c], self.clock.tick_min)
        goes = rules.carer_goes_home(tick, leave, walk)
        self.phase[c[~goes]] = _STAY
        c, fac, walk, leave, home_m = c[goes], fac[goes], walk[goes], leave[goes], home_m[goes]
        if c.size == 0:
            return
        self.trip_speed[c] = self.speed[c]
        self.pickup_at[c] = rules.pickup_departure(leave, walk)
        self.fetch_cell[c] = self.f_cell[fac]
        self.fetch_m[c] = home_m
        self.pickups.add(self.pickup_at[c], c)
        start = tick + rules.DROP_OFF_DELAY_TICKS
        ptr = self.plan_ptr[c]
        due = ptr < self.plan_end[c]
        due[due] = self.plan_tick[ptr[due]] <= start + walk[due]
        chained = np.zeros(c.size, dtype=bool)
        if due.any():
            ch, t = c[due], self.plan_type[ptr[due]]
            self.choice_ptr[ch] = 0
            self.choice[ch] = _NONE
            has = self._choose(ch, t, start, until=self.pickup_at[ch])
            g = np.where(has, self.choice[ch, 0], 0)
            there = np.where(has, self._pairs.metres(self.f_cell[fac[due]], self.f_cell[g]), np.inf) / self.speed[ch]
            back = self.choice_home_m[ch, 0] / self.speed[ch]
            fits = has & rules.next_choice_fits(
                self.clock, start, there, back, self.cutoff, self.types, t, self.pickup_at[ch]
            )
            chained[np.flatnonzero(due)[fits]] = True
            go, t, g, there = ch[fits], t[fits], g[fits], there[fits]
            self.plan_ptr[go] += 1
            choices, home_m_go = self.choice[go], self.choice_home_m[go]
            self._new_trip(go, t)
            self.choice[go], self.choice_home_m[go] = choices, home_m_go
            self.chain[go] = 2
            self.escort_ticks[go] += start - self.escort_since[go]
            self.phase[go] = _PICKUP_DUE
            self.heading_home[go] = False
            self._start_walk(go, start, self.fetch_cell[go], self.f_cell[g], there)
        back = c[~chained]
        self.phase[back] = _BACK
        self.choice[back] = _NONE
        self.heading_home[back] = True
        self._start_walk(back, start, self.fetch_cell[back], self.home[back], self.fetch_m[back] / self.speed[back])

    def _fetch(self, tick: int) -> None:
        """Carers whose pick-up is due set off from home to fetch their children (Resident.fetch)."""
        c = self.pickups.pop(tick)
        c = c[(self.phase[c] == _PICKUP_DUE) & (self.pickup_at[c] <= tick)]
        if c.size == 0:
            return
        late = self.state[c] != State.HOME  # cannot happen: own trips end at home by the pick-up
        self.pickups.add(np.full(int(late.sum()), tick + 1, dtype=np.int64), c[late])
        c = c[~late]
        self.phase[c] = _FETCH
        self.escort_since[c] = tick
        self.heading_home[c] = False
        self._start_walk(c, tick, self.home[c], self.fetch_cell[c], self.fetch_m[c] / self.speed[c])

    def _take_home(self, carers: np.ndarray, start: int, cells: np.ndarray, minutes: np.ndarray) -> None:
        """Carers walk their children home from their facilities at the pair's pace (Resident.take_home)."""
        if carers.size == 0:
            return
        self.phase[carers] = _TAKE_HOME
        self.heading_home[carers] = True
        self._start_walk(carers, start, cells, self.home[carers], minutes)

    def _escort_home(self, back: np.ndarray, tick: int) -> None:
        """Residents home now: a child's escort ends; a carer's escort minutes are counted (Resident.arrive)."""
        self.escort_of[back] = _NONE
        self.trip_speed[back] = self.speed[back]
        done = (self.phase[back] == _BACK) | (self.phase[back] == _TAKE_HOME)
        c = back[done]
        self.escort_ticks[c] += tick - self.escort_since[c]
        fetched = c[self.phase[c] == _TAKE_HOME]
        self.phase[c] = _PICKUP_DUE
        self.phase[fetched] = _NO_WARD
        self.ward[fetched] = _NONE
        self.pickup_at[fetched] = rules.NO_DEADLINE

    # ----------------------------------------------------------------- reporters

    def state_counts(self) -> np.ndarray:
        """Residents per :class:`State`."""
        return self.state_count.copy()

    def occupancy_by_group(self) -> np.ndarray:
        """Visitors present per facility and group."""
        return self.occupancy

    def queue_by_facility(self) -> np.ndarray:
        """Residents waiting in each facility's queue now."""
        if self._queue_tick != self._now:
            w = self.waiting
            self._queue = np.bincount(self.choice[w, self.choice_ptr[w]], minlength=self.f_cell.size)
            self._queue_tick = self._now
        return self._queue

    def facility_totals(self) -> dict[str, np.ndarray]:
        """Per facility over the run so far: visits, peak_occupancy, turned_away."""
        return {
            "visits": self.f_visits.copy(),
            "peak_occupancy": self.f_peak.copy(),
            "turned_away": self.f_turned.copy(),
        }

    def turn_aways(self) -> dict[str, np.ndarray]:
        """Every turn-away so far (:meth:`model.simulation.engines.Engine.turn_aways`)."""
        rows = np.concatenate(self._turn_aways, axis=1) if self._turn_aways else np.zeros((4, 0), dtype=np.int64)
        return turn_away_table(*rows)

    def unmet_counts(self) -> np.ndarray:
        """Wanted visits not served per resident and type."""
        return self.unmet.copy()

    def resident_states(self) -> np.ndarray:
        """Every resident's :class:`State` now, as integers."""
        return self.state.astype(np.int64)

    def escort_totals(self) -> dict[str, np.ndarray]:
        """Per resident over the run so far: escort_min, given_up_escort (own visits), no_escort (a child's trips)."""
        return {
            "escort_min": (self.escort_ticks * self.clock.tick_min).astype(float),
            "given_up_escort": self.given_up.copy(),
            "no_escort": self.no_escort.copy(),
        }

    def positions(self) -> np.ndarray:
        """Every resident's cell now (walkers' cells traced along their shortest paths: slow, on demand)."""
        tick = self._now  # the tick just simulated
        pos = self.home.copy()
        inside = (self.state == State.WAITING) | (self.state == State.VISITING)
        pos[inside] = self.f_cell[self.choice[inside, self.choice_ptr[inside]]]
        escorting = self.state == State.ESCORTING
        pos[escorting] = self.walk_to[escorting]  # at the door of the ward's facility
        surface = self.context.surface
        for r in np.flatnonzero(self.state == State.WALKING):
            a, b = int(self.walk_from[r]), int(self.walk_to[r])
            cells, along = surface.path(a, b, walk_root(a, b, int(self.home[r])))
            covered = max(tick - self.walk_start[r], 0) * self.speed[r] * self.clock.tick_min
            pos[r] = cells[int(np.searchsorted(along, covered, side="right")) - 1]
        return pos
