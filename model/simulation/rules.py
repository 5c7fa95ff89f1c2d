"""The rulebook: every rule of daily life, defined once and called by both engines.

The agents engine (model/simulation/agents.py) applies these rules to one resident at a time,
the fast engine (model/simulation/fast.py) to arrays of residents; the choice kernel
(model/simulation/choice.py) compiles :func:`usable` and :func:`nearest_first` with numba
from the very functions below. An engine translates the stepping, never a rule: a change here
reaches both engines. docs/behaviour.md states the rules in prose with their sources.

Per-type parameters come from the scenario's catalogue entries as a :class:`TypeTable`
(arrays indexed by type index, the position of the type in ``City.types``). The functions take
a type index ``t`` that is a number (one resident) or an array (many residents) and return a
number or an array to match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from model.scenario import FacilityType
from model.scenario.fields import COLUMNS, with_columns

# Walking and visit minutes are rounded up to whole ticks; this tolerance keeps a walk of
# 5.000000000001 minutes (floating-point noise on an exact 5) at 5 ticks of one minute.
ROUNDING = 1e-9
# A facility turns residents away at the end of a tick (after everyone moved), so a turned-away
# resident sets off for its next choice, or home, this many ticks later.
TURN_AWAY_DELAY_TICKS = 1
# A carer leaves a child's facility (for home, or on to its own visit) the tick after the child
# was admitted: the facility admits at the end of a tick, after everyone moved.
DROP_OFF_DELAY_TICKS = 1
# No deadline: a resident with no pick-up due must only be home by the day's last tick.
NO_DEADLINE = 2**62
# The places of an open space: more than any population, so that nobody is ever turned away.
UNLIMITED_PLACES = 2**40


class State(IntEnum):
    """Where a resident is."""

    HOME = 0
    WALKING = 1  # to a facility, or home
    WAITING = 2  # at a full (or not yet open) facility, in its queue
    VISITING = 3  # inside a facility
    ESCORTING = 4  # a carer at a child's facility: until the child is admitted, or for its pick-up


@dataclass(frozen=True, eq=False)
@with_columns
class TypeTable:
    """The parameters of the facility types present, one array entry per type index.

    Built from the scenario's catalogue entries (:class:`model.scenario.FacilityType`), so both
    engines read the same numbers. Times are minutes after midnight, durations minutes. Besides
    the attributes below, it has one array per column of the catalogue field table
    (model/scenario/fields.py, ``columns`` of each field: ``age_lo``, ``age_hi``, ``daily_prob``,
    ``open_min``, ``tries``, ...), listed after them.

    The departure windows of all types are numbered together, type by type in type order and
    each type's windows in time order: window ``w`` belongs to type ``window_type[w]`` and holds
    the departure minutes ``window_lo[w]`` to ``window_hi[w]``; the windows of type ``t`` are
    ``windows_of(t)``.

    Attributes:
        names: The types' ids, by type index.
        window_type: The type of each window.
        window_lo: The first departure minute of each window.
        window_hi: The last departure minute of each window.
        window_start: The windows of type t are window_start[t] .. window_start[t + 1] - 1.
        name_rank: Position of the type's id in alphabetical order (plan tie-break).
    """

    names: tuple[str, ...]
    window_type: np.ndarray
    window_lo: np.ndarray
    window_hi: np.ndarray
    window_start: np.ndarray
    name_rank: np.ndarray

    @classmethod
    def from_types(cls, types: Sequence[FacilityType]) -> TypeTable:
        """The table of these catalogue entries, in this order."""
        names = tuple(t.id for t in types)
        windows = [(i, first, last) for i, t in enumerate(types) for first, last in t.depart_windows]
        per_type = [len(t.depart_windows) for t in types]
        columns = {
            col.name: np.array([col.get(getattr(t, field.attribute)) for t in types], dtype=col.dtype)
            for field, col in COLUMNS
        }
        return cls(
            names=names,
            window_type=np.array([w[0] for w in windows], dtype=np.int64),
            window_lo=np.array([w[1] for w in windows], dtype=np.int64),
            window_hi=np.array([w[2] for w in windows], dtype=np.int64),
            window_start=np.concatenate([[0], np.cumsum(per_type)]).astype(np.int64),
            name_rank=np.argsort(np.argsort(np.array(names, dtype=object))).astype(np.int64),
            **columns,
        )

    def __len__(self) -> int:
        """Number of types."""
        return len(self.names)

    @property
    def enrols(self) -> np.ndarray:
        """Per type, whether its places are held by enrolment (``enrolment`` is not ``"none"``)."""
        return self.enrolment != 0

    def windows_of(self, t: int) -> range:
        """The window numbers of type ``t``, in time order."""
        return range(int(self.window_start[t]), int(self.window_start[t + 1]))


# --------------------------------------------------------------------------- who wants what


def needs(age: np.ndarray, table: TypeTable) -> np.ndarray:
    """Who needs which type: ``out[i, t]`` is True when resident i's age lies in type t's age band."""
    age = np.asarray(age)[:, None]
    return (age >= table.age_lo) & (age <= table.age_hi)


def plans(needs_: np.ndarray, holds: np.ndarray, table: TypeTable) -> np.ndarray:
    """Who plans visits of which type: ``out[i, t]`` when resident i needs type t (:func:`needs`).

    A type with enrolment (``table.enrols``) is planned only by the residents who hold a place
    at one of its facilities (``holds[i, t]``, model/simulation/enrolment.py): a child without
    a place plans no visit of it, and so has no daily unmet visit of it.
    """
    return needs_ & (holds | ~table.enrols)


def wanted_today(table: TypeTable, weekend: bool) -> np.ndarray:
    """Per type, whether residents plan visits of it today (weekday-only types rest at weekends).

    A resident who needs a type wanted today draws, in each of the type's departure windows, one
    visit with probability ``daily_prob`` (independently), leaving at a whole minute drawn
    uniformly in the window: two windows are two chances a day, the morning and the evening park.
    """
    return ~(table.weekdays_only & weekend)


def plan_order(owner: np.ndarray, tick: np.ndarray, window: np.ndarray, table: TypeTable) -> np.ndarray:
    """The order of the day's planned visits (one per drawn window).

    By resident, then departure tick, then type id (A-Z), then window (earlier first: two windows
    of a type fall in one tick only when both are clipped to the start of the day).
    """
    return np.lexsort((window, table.name_rank[table.window_type[window]], tick, owner))


# --------------------------------------------------------------------------- time


def ticks_for(minutes, tick_min):
    """Whole ticks that a walk or a stay of ``minutes`` takes: rounded up, within ``ROUNDING``.

    Returns floats (inf stays inf).
    """
    return np.ceil(minutes / tick_min - ROUNDING)


def whole_ticks(minutes, tick_min):
    """:func:`ticks_for` as integers (finite minutes only): an int for a number, int64 for an array."""
    ticks = ticks_for(np.asarray(minutes, dtype=float), tick_min)
    return ticks.astype(np.int64) if ticks.ndim else int(ticks)


def is_open(minute_of_day, table: TypeTable, t):
    """Whether a facility of type ``t`` admits visitors at this clock minute (opening hours)."""
    return (table.open_min[t] <= minute_of_day) & (minute_of_day < table.close_min[t])


def close_tick(clock, tick, table: TypeTable, t):
    """The first tick of the tick's day at which a facility of type ``t`` is closed."""
    return clock.first_tick(tick) + whole_ticks(table.close_min[t] - clock.sim.day_start_min, clock.tick_min)


def home_by(clock, tick, until=NO_DEADLINE):
    """The tick by which a resident out in tick ``tick`` must be home: the day's last tick, or ``until`` if earlier.

    ``until`` is a carer's pick-up departure (:func:`pickup_departure`): its own trips end at home
    by then; :data:`NO_DEADLINE` for everyone else.
    """
    return np.minimum(clock.last_tick(tick), until)


def trip_fits(clock, start, there_min, back_min, table: TypeTable, t, until=NO_DEADLINE):
    """Whether a trip starting in tick ``start`` fits the day.

    It walks ``there_min`` to a facility of type ``t`` and must arrive before closing; the whole
    visit and the walk home (``back_min``) must end by the day's last tick (or by ``until``, see
    :func:`home_by`). Unreachable (infinite) walks never fit.
    """
    reachable = np.isfinite(there_min) & np.isfinite(back_min)
    there_min = np.where(reachable, there_min, 0.0)  # no infinity to round
    back_min = np.where(reachable, back_min, 0.0)
    arrive = start + whole_ticks(there_min, clock.tick_min)
    back = arrive + whole_ticks(table.visit_min[t], clock.tick_min) + whole_ticks(back_min, clock.tick_min)
    fits = reachable & (arrive < close_tick(clock, start, table, t)) & (back <= home_by(clock, start, until))
    return fits if fits.ndim else bool(fits)


def round_trip_walk_limit(clock, start, table: TypeTable, t, until=NO_DEADLINE):
    """The longest walk, in ticks each way, of a trip from home that :func:`trip_fits`.

    :func:`trip_fits` solved for a walk of the same length there and back (home to a facility and
    back): arrive before closing (walk <= close - start - 1) and walk + visit + walk by the
    day's last tick. tests/test_rules.py checks the two agree.
    """
    to_close = close_tick(clock, start, table, t) - start - 1
    to_end = (home_by(clock, start, until) - start - whole_ticks(table.visit_min[t], clock.tick_min)) // 2
    return np.minimum(to_close, to_end)


def walk_limit_min(clock, start, cutoff_min, table: TypeTable, t, until=NO_DEADLINE):
    """The longest walk, in own minutes each way, to a facility of type ``t`` for a trip from home.

    Within the cut-off, and :func:`round_trip_walk_limit` in ticks: a walk of ``m`` minutes takes
    ``ceil(m / tick - ROUNDING)`` ticks, at most ``L`` exactly when ``m <= (L + ROUNDING) * tick``.
    """
    ticks = round_trip_walk_limit(clock, start, table, t, until)
    return np.minimum(cutoff_min, (ticks + ROUNDING) * clock.tick_min)


def usable(minutes, limit_min):
    """Whether a facility ``minutes`` of own walking from home may be chosen (limit: :func:`walk_limit_min`)."""
    return minutes <= limit_min


def enrolled_destination(facility, minutes, limit_min):
    """The destination of a trip of a type with enrolment: the facility the child is enrolled at.

    It is the only choice (``choice_rank`` 1, no destination draw) when it is usable now
    (:func:`usable`: within the walk limit of :func:`walk_limit_min`), else none (-1: the visit is
    unmet, as when no facility can be used). Enrolment placed the child only within its cut-off,
    so only a trip that does not fit the day is left without it.
    """
    return np.where(usable(minutes, limit_min), facility, -1)


def within_cutoff(minutes, cutoff_min):
    """Whether a walk of ``minutes`` (its metres over the resident's own pace, not rounded) is within the cut-off.

    The resident's cut-off: no leg of a trip, from home to a first choice, from a facility that
    turned the resident away on to its next choice, or home, is longer than ``cutoff_min`` own
    walking minutes. Destination choice applies it through :func:`walk_limit_min` (never more
    than ``cutoff_min``); :func:`next_choice_fits` applies it to the walk between facilities.
    The walk home is never longer than the walk there from home (the surface is undirected).
    """
    return minutes <= cutoff_min


def next_choice_fits(clock, start, there_min, back_min, cutoff_min, table: TypeTable, t, until=NO_DEADLINE):
    """Whether a resident turned away may walk on to a next choice of type ``t``, leaving in tick ``start``.

    The walk between the two facilities (``there_min``, own minutes) is within the cut-off
    (:func:`within_cutoff`) and the trip fits the day (:func:`trip_fits`, with ``back_min`` the
    walk home from the next choice).
    """
    fits = within_cutoff(there_min, cutoff_min) & trip_fits(clock, start, there_min, back_min, table, t, until)
    return fits if np.ndim(fits) else bool(fits)


def ranked_minutes(minutes, remembered, penalty_min):
    """The minutes a resident ranks a facility by: its own walking minutes plus the remembered turn-aways.

    Days that learn (``[simulation] learning``): a facility that turned the resident away
    ``remembered`` times on earlier days of the run counts as ``penalty_min`` minutes farther per
    turn-away, so its choice utility is ``-beta * (minutes + penalty_min * remembered)`` and, at
    ``beta = inf``, :func:`nearest_first` ranks by these minutes. Only the ranking reads them:
    whether a facility may be chosen (:func:`usable`) and every walk use the real minutes. With
    nothing remembered they are the real minutes, exactly. Compiled by numba for the choice
    kernel (model/simulation/choice.py).
    """
    return minutes + penalty_min * remembered


def nearest_first(facility, minutes, k):
    """Positions of the ``k`` nearest candidates, nearest first, ties by the lower facility id.

    The ranking when distance decay is infinite (``beta_per_min = inf``). Written as loops so that
    numba compiles it for both engines (model/simulation/choice.py).
    """
    taken = np.full(k, -1, dtype=np.int64)
    for c in range(k):
        best = -1
        for q in range(minutes.size):
            free = True
            for j in range(c):
                if taken[j] == q:
                    free = False
            if not free:
                continue
            if best < 0 or minutes[q] < minutes[best] or (minutes[q] == minutes[best] and facility[q] < facility[best]):
                best = q
        taken[c] = best
    return taken


def give_up_tick(clock, arrive, back_min, table: TypeTable, t, until=NO_DEADLINE):
    """The tick at which a resident who arrived in ``arrive`` and still waits gives up.

    That is after its patience, at closing time, or when only the walk home and one tick of
    visit would still fit in the day, whichever comes first.
    """
    latest = home_by(clock, arrive, until) - whole_ticks(back_min, clock.tick_min) - 1
    patience = arrive + whole_ticks(table.patience_min[t], clock.tick_min)
    return np.minimum(np.minimum(patience, close_tick(clock, arrive, table, t)), latest)


def leave_tick(clock, admit, back_min, table: TypeTable, t, until=NO_DEADLINE):
    """The tick a visitor admitted in ``admit`` leaves.

    That is after the visit's duration, at closing time, or in time to walk home by the day's
    last tick, whichever comes first (never before ``admit + 1``).
    """
    end = np.minimum(admit + whole_ticks(table.visit_min[t], clock.tick_min), close_tick(clock, admit, table, t))
    end = np.minimum(end, home_by(clock, admit, until) - whole_ticks(back_min, clock.tick_min))
    return np.maximum(end, admit + 1)


def places(capacity, type_index, table: TypeTable):
    """How many visitors a facility admits at once: its capacity, or no limit for an open space.

    Parks and squares (the catalogue's ``open_space``) turn nobody away; their crowding
    is measured as people per 1,000 m² (docs/metrics.md), not as turned-away visits.

    Args:
        capacity: The facility's capacity (a number, or an array for many facilities).
        type_index: The facility's type index (matching ``capacity``).
        table: The type table.
    """
    return np.where(table.open_space[type_index], UNLIMITED_PLACES, capacity)


# --------------------------------------------------------------------------- households and escorts


def needs_escort(age, table: TypeTable, t):
    """Whether a resident of this age is escorted to a facility of type ``t`` (younger than ``escort_below_age``)."""
    return np.asarray(age) < table.escort_below_age[t]


def pair_pace(child_m_per_min, carer_m_per_min):
    """The pace of a child and its carer walking together: the slower of the two (m/min)."""
    return np.minimum(child_m_per_min, carer_m_per_min)


def carer_rank(age, adult_age, at_home, free):
    """The order in which a household's members are asked to escort a child: lower first, -1 never.

    A carer is a member of at least ``adult_age`` who is at home (state HOME) and escorts nobody
    now (``free``: no child to take or fetch today still pending); the oldest is asked first (a
    grandparent before a parent: an assumption, grandparents being those mostly free in the day),
    ties by the lower resident id (the caller's order). Returns minus the age where eligible.
    """
    ok = (np.asarray(age) >= adult_age) & np.asarray(at_home) & np.asarray(free)
    return np.where(ok, -np.asarray(age), 1)


def pickup_departure(leave, carer_walk_ticks):
    """The tick a carer at home sets off to fetch a child who leaves its facility in tick ``leave``.

    It arrives in tick ``leave`` at its own pace (``carer_walk_ticks``, its walk from home rounded
    up to whole ticks); its own trips must be home by then (``until`` of :func:`trip_fits`).
    """
    return leave - carer_walk_ticks


def carer_goes_home(admit, leave, carer_walk_ticks):
    """Whether a carer whose child was admitted in tick ``admit`` walks home before fetching it.

    It sets off ``DROP_OFF_DELAY_TICKS`` later and must be home by :func:`pickup_departure`; if
    not, it stays at the facility (state ESCORTING) until the child leaves.
    """
    return admit + DROP_OFF_DELAY_TICKS + carer_walk_ticks <= pickup_departure(leave, carer_walk_ticks)


def escort_minutes(ticks, tick_min):
    """Minutes of a carer's escort: the ticks from setting off with (or for) the child until home again."""
    return ticks * tick_min
