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
   (``Resident.start_trip``, ``Resident.choose_facilities``);
3. walkers whose walk ends now arrive: home, or into the queue of their facility
   (``Resident.walk``, ``Resident.arrive``);
4. at the last tick of a day, plans never started are unmet (``Resident.end_day``);
5. every open facility admits its queue while it has room, then the waiters whose patience ran
   out give up and walk to their next choice, or home unserved (``Facility.admit``,
   ``Resident.turned_away``).

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

from model.simulation import rules
from model.simulation.choice import choose_many
from model.simulation.context import RunContext
from model.simulation.events import Buckets, segments
from model.simulation.rules import State

_NONE = -1


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
        )
        home_min = self.choice_home_m[r, self.choice_ptr[r]] / self.speed[r]
        self.heading_home[r] = True
        self._start_walk(r, tick, self.f_cell[f], self.home[r], home_min)

    def _depart(self, tick: int) -> None:
        """Residents at home with a due plan choose facilities and leave (Resident.start_trip)."""
        r = np.unique(np.concatenate([self.departures.pop(tick), self.recheck]))
        self.recheck = np.zeros(0, dtype=np.int64)
        if r.size == 0:
            return
        ptr = self.plan_ptr[r]
        due = (self.state[r] == State.HOME) & (ptr < self.plan_end[r])
        r, ptr = r[due], ptr[due]
        due = self.plan_tick[ptr] <= tick
        r, ptr = r[due], ptr[due]
        if r.size == 0:
            return
        self.plan_ptr[r] += 1
        ttype = self.plan_type[ptr]
        self.trip_type[r] = ttype
        self.walk_min[r] = 0.0
        self.rank[r] = 1
        self.choice_ptr[r] = 0
        self.choice[r] = _NONE
        has = self._choose(r, ttype, tick)
        failed = r[~has]
        self._count_unmet(failed)
        self._recheck_next_tick(failed, tick)  # still at home: the next due plan starts next tick
        go = r[has]
        metres = self.choice_home_m[go, 0]
        self.heading_home[go] = False
        self._start_walk(go, tick, self.home[go], self.f_cell[self.choice[go, 0]], metres / self.speed[go])

    def _choose(self, r: np.ndarray, ttype: np.ndarray, tick: int) -> np.ndarray:
        """Rank candidate facilities for each resident (Resident.choose_facilities); True where any."""
        reach = self.context.reach
        clock = self.clock
        limit = rules.walk_limit_min(clock, tick, self.cutoff, self.types, ttype)
        tries = self.types.tries[ttype]
        width = self.choice.shape[1]
        out_f = np.full((r.size, width), _NONE, dtype=np.int64)
        out_m = np.zeros((r.size, width))
        counts = choose_many(
            reach.indptr,
            reach.facility,
            reach.metres,
            self.origin[r] * reach.n_types + ttype,
            self.speed[r],
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
        self._enrolled_choice(ttype, limit, out_f, out_m, counts, r)
        self.choice[r] = out_f
        self.choice_home_m[r] = out_m
        return counts > 0

    def _enrolled_choice(self, ttype, limit, out_f, out_m, counts, r) -> None:
        """Departures of an enrolment type: the only choice is the child's place (rules.enrolled_destination)."""
        enrolment = self.context.enrolment
        column = enrolment.column[ttype]
        mine = column >= 0
        if not mine.any():
            return
        rm, k = r[mine], column[mine]
        metres = enrolment.metres[rm, k]
        fid = rules.enrolled_destination(
            enrolment.facility[rm, k], metres / self.speed[rm], np.broadcast_to(limit, r.shape)[mine]
        )
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
        r = r[(self.state[r] == State.WALKING) & (self.arrive_tick[r] == tick)]
        home = self.heading_home[r]
        back = r[home]
        self._set_state(back, State.HOME)
        self._recheck_next_tick(back, tick)
        q = r[~home]
        if q.size == 0:
            return
        ptr = self.choice_ptr[q]
        f = self.choice[q, ptr]
        self.walk_min[q] += self.leg_min[q]
        home_min = self.choice_home_m[q, ptr] / self.speed[q]
        self.give_up[q] = rules.give_up_tick(self.clock, tick, home_min, self.types, self.f_type[f])
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
            home_min = self.choice_home_m[a, self.choice_ptr[a]] / self.speed[a]
            leave = rules.leave_tick(self.clock, tick, home_min, self.types, self.f_type[fa])
            self._set_state(a, State.VISITING)
            self.leaves.add(np.asarray(leave, dtype=np.int64), a)
        still, fs = w[~admit], f[~admit]
        gives = self.give_up[still] <= tick
        self.waiting = still[~gives]
        g, fg = still[gives], fs[gives]
        if g.size:
            np.add.at(self.f_turned, fg, 1)
            if self.learning:
                self._turned_today.append(g * self.f_cell.size + fg)
            self._turned_away(g, fg, tick)

    def _turned_away(self, r: np.ndarray, at: np.ndarray, tick: int) -> None:
        """Try the next choice within the cut-off that fits, or walk home unserved (Resident.turned_away)."""
        start = tick + rules.TURN_AWAY_DELAY_TICKS
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
            there = self._pairs.metres(here[look], self.f_cell[fl]) / self.speed[rl]
            back = self.choice_home_m[rl, self.choice_ptr[rl]] / self.speed[rl]
            fits = rules.next_choice_fits(self.clock, start, there, back, self.cutoff, self.types, self.f_type[fl])
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
            back_min = here_home_m[~going] / self.speed[home]
            self.heading_home[home] = True
            self._start_walk(home, start, here[~going], self.home[home], back_min)

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

    def unmet_counts(self) -> np.ndarray:
        """Wanted visits not served per resident and type."""
        return self.unmet.copy()

    def resident_states(self) -> np.ndarray:
        """Every resident's :class:`State` now, as integers."""
        return self.state.astype(np.int64)

    def positions(self) -> np.ndarray:
        """Every resident's cell now (walkers' cells traced along their shortest paths: slow, on demand)."""
        tick = self._now  # the tick just simulated
        pos = self.home.copy()
        inside = (self.state == State.WAITING) | (self.state == State.VISITING)
        pos[inside] = self.f_cell[self.choice[inside, self.choice_ptr[inside]]]
        surface = self.context.surface
        for r in np.flatnonzero(self.state == State.WALKING):
            cells, along = surface.path(int(self.walk_from[r]), int(self.walk_to[r]))
            covered = max(tick - self.walk_start[r], 0) * self.speed[r] * self.clock.tick_min
            pos[r] = cells[int(np.searchsorted(along, covered, side="right")) - 1]
        return pos
