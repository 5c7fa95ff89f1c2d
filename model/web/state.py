"""What the browser page steps and changes: the model with the page's knobs and a re-planning plan.

Mesa's Reset (its ``ModelController``) builds the model anew from the page's parameters
(``PageModel(**params)``), so everything the page can change is a parameter of
:class:`PageModel`: the scenario (``scenario_name``), residential mixing, a capacity multiplier, a
multiplier of the destination-choice decay, and the :class:`Plan` of facilities added and removed
on the page. A changed plan is a new scenario: the page rebuilds the model from it (walking
fields, coverage), back at the start of the first day.

The scenario's parameter is not called ``scenario``: since Mesa 3.5 a model's ``scenario`` is
Mesa's own (``mesa.experimental.scenarios.Scenario``), and Mesa's Reset passes a new one of
those as ``scenario=`` to a model whose ``__init__`` takes a parameter of that name.

A plan is saved as a scenario file that ``extends`` the original and adds the new facilities
(``model.scenario.extend_toml``, as ``lifecircle optimize`` writes: a bundled original by its
name, a file of the user's by its path relative to the saved file, so that the file can be moved
with it). A file that extends
another can add or replace facilities but not remove one, so a plan that removes facilities is
saved as the resolved scenario without them (as ``lifecircle optimize --remove`` does).

On a grid a facility is added at a walkable cell and removed from the cell it stands on. On a
street scenario a facility is added at a point in metres of the streets' CRS (it joins the
nearest street node of the network's largest component by its connector walk, like every
facility: docs/streets.md; a point farther than ``model.city.streets.FAR_JOIN_M`` from the
network is refused), and Remove takes the facility of the type nearest the point.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from model.city.cache import CityCache
from model.city.streets import FAR_JOIN_M, street_surface
from model.measures.access import coverage_table, needs_by_type, types_needed, users_of
from model.measures.summary import static_summary
from model.model import LifeCircleModel
from model.scenario import (
    FacilitySite,
    Scenario,
    ScenarioError,
    bundled_scenarios,
    extend_toml,
    load_scenario,
    scenario_toml,
)
from model.scenario.kinds import format_time, parse_time
from model.simulation.rules import State

NAME_MAX_BYTES = 255  # the longest file name of Linux's and macOS's file systems
DAYS = 7  # the page simulates a week (weekdays and a weekend); Step stops after it
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Walking fields and candidate tables of the places seen, shared by every Reset and re-plan of
# the server's pages (two places: a city-scale candidate table takes about 300 MB).
_CACHE = CityCache(max_places=2)


class PlanError(ValueError):
    """What the page cannot do with what it was given: a re-planning step, a save, a run-to time.

    The message is shown on the page; the plan and the model are left as they were.
    """


@dataclass
class Plan:
    """Facilities added on the page and facilities of the scenario removed, for one scenario.

    Attributes:
        scenario: The scenario file the plan changes (None: none yet).
        added: New facilities, as (type, x, y): a cell on a grid, metres on streets.
        removed: Facilities of the scenario taken away, as (type, x, y), one entry per facility.
        history: Every change made, in order: what was done (the page's message) and the plan's
            ``added`` and ``removed`` before it (:meth:`undo` goes back to them).
    """

    scenario: Path | None = None
    added: list[tuple[str, int | float, int | float]] = field(default_factory=list)
    removed: list[tuple[str, int | float, int | float]] = field(default_factory=list)
    history: list[tuple[str, list, list]] = field(default_factory=list)

    def attach(self, scenario: Scenario) -> None:
        """Make the plan one of ``scenario``: a plan of another scenario is dropped."""
        if self.scenario != scenario.path:
            self.scenario, self.added, self.removed, self.history = scenario.path, [], [], []

    @property
    def changes(self) -> list[str]:
        """The plan's list: each change in order, "+ type (x, y)" added, "- type (x, y)" removed.

        A facility added on the page and removed again is "- type (x, y), added" (it leaves the
        plan's additions).
        """
        states = [(a, r) for _, a, r in self.history] + [(self.added, self.removed)]
        out = []
        for (a0, r0), (a1, r1) in itertools.pairwise(states):
            out += [f"+ {_site_text(site)}" for site in (Counter(a1) - Counter(a0)).elements()]
            out += [f"- {_site_text(site)}, added" for site in (Counter(a0) - Counter(a1)).elements()]
            out += [f"- {_site_text(site)}" for site in (Counter(r1) - Counter(r0)).elements()]
        return out

    def undo(self) -> str:
        """Take back the last change: the plan as it was before it; returns what was undone.

        Raises:
            PlanError: There is no change to undo.
        """
        if not self.history:
            raise PlanError("nothing to undo: the plan has no change")
        done, self.added, self.removed = self.history.pop()
        return f"undid: {done}"

    def saved(self) -> tuple[list, list, list]:
        """The plan as it is now (copies of ``added``, ``removed`` and ``history``), for :meth:`restore`."""
        return list(self.added), list(self.removed), list(self.history)

    def restore(self, saved: tuple[list, list, list]) -> None:
        """The plan back as :meth:`saved` returned it (a change the page did not go on with)."""
        self.added, self.removed, self.history = (list(v) for v in saved)

    def _did(self, done: str, added: list, removed: list) -> str:
        """Keep ``done`` in the history with the plan's lists before it; returns ``done``."""
        self.history.append((done, added, removed))
        return done

    @property
    def empty(self) -> bool:
        """Whether the plan changes nothing."""
        return not self.added and not self.removed

    def new_sites(self, scenario: Scenario) -> list[FacilitySite]:
        """The added facilities as sites of ``scenario``: at the type's capacity, named "<type> added <n>".

        A name that a facility of ``scenario`` already has gets a number, "(2)", "(3)", ...: in a
        file that extends the scenario, an entry with a base entry's name would replace that
        entry instead of adding one.
        """
        names = {f.name for f in scenario.facilities}
        sites = []
        for i, (t, x, y) in enumerate(self.added, start=1):
            name = _free_name(f"{t} added {i}", names)
            names.add(name)
            sites.append(FacilitySite(type=t, x=x, y=y, capacity=scenario.types[t].capacity, name=name))
        return sites

    def apply(self, scenario: Scenario) -> Scenario:
        """The scenario with the plan's facilities removed and added (:meth:`new_sites`)."""
        kept, taking = [], list(self.removed)
        for f in scenario.facilities:
            if (f.type, f.x, f.y) in taking:
                taking.remove((f.type, f.x, f.y))
            else:
                kept.append(f)
        return replace(scenario, facilities=(*kept, *self.new_sites(scenario)))

    def add(self, scenario: Scenario, ftype: str, x: float, y: float) -> str:
        """Add a facility of ``ftype`` at cell (x, y) (on streets: the point, metres); returns what was done."""
        if scenario.streets is None:
            _check_cell(scenario, ftype, x, y)
            where = f"at ({x}, {y})"
        else:
            x, y = float(x), float(y)
            connector_m = _check_point(scenario, ftype, x, y)
            where = f"at ({x:.1f}, {y:.1f}), joined to the streets by a {connector_m:.0f} m walk"
        self.attach(scenario)
        if self.standing_at(scenario, ftype, x, y):
            raise PlanError(
                f"there is already one {scenario.types[ftype].label.lower()} at ({x}, {y}): a second one at the "
                "same place is refused (the capacity multiplier gives every facility more places)"
            )
        before = (list(self.added), list(self.removed))
        self.added.append((ftype, x, y))
        return self._did(f"added a new {scenario.types[ftype].label.lower()} {where}", *before)

    def standing_at(self, scenario: Scenario, ftype: str, x: float, y: float) -> int:
        """How many facilities of ``ftype`` stand at exactly (x, y) with the plan (the scenario's kept, and added)."""
        of_scenario = sum((f.type, f.x, f.y) == (ftype, x, y) for f in scenario.facilities)
        return of_scenario - self.removed.count((ftype, x, y)) + self.added.count((ftype, x, y))

    def remove(self, scenario: Scenario, ftype: str, x: float, y: float) -> str:
        """Remove a facility of ``ftype`` at cell (x, y), one added on the page first.

        On streets: the facility of ``ftype`` nearest the point (x, y) in metres, added or the
        scenario's (an added one first, of two as near).
        """
        self.attach(scenario)
        label = scenario.types[ftype].label.lower() if ftype in scenario.types else ftype
        before = (list(self.added), list(self.removed))
        if scenario.streets is not None:
            return self._did(self._remove_nearest(scenario, ftype, label, float(x), float(y)), *before)
        if (ftype, x, y) in self.added:
            self.added.remove((ftype, x, y))
            return self._did(f"removed the added {label} at ({x}, {y})", *before)
        if not self.standing_at(scenario, ftype, x, y):
            raise PlanError(f"there is no {label} at ({x}, {y})")
        self.removed.append((ftype, x, y))
        return self._did(f"removed the {label} at ({x}, {y})", *before)

    def _remove_nearest(self, scenario: Scenario, ftype: str, label: str, x: float, y: float) -> str:
        """Remove the facility of ``ftype`` nearest the point (x, y) (streets); returns what was done."""
        _check_finite(x, y)
        added = [i for i, (t, _, _) in enumerate(self.added) if t == ftype]
        taking, standing = list(self.removed), []
        for f in scenario.facilities:
            if (f.type, f.x, f.y) in taking:
                taking.remove((f.type, f.x, f.y))
            elif f.type == ftype:
                standing.append(f)
        points = [self.added[i][1:] for i in added] + [(f.x, f.y) for f in standing]
        if not points:
            raise PlanError(f"there is no {label} to remove")
        metres = np.hypot(*(np.asarray(points, dtype=float) - (x, y)).T)
        nearest = int(np.argmin(metres))  # the first of equals: an added one
        away = f"{metres[nearest]:.0f} m from the chosen point"
        if nearest < len(added):
            _, fx, fy = self.added.pop(added[nearest])
            return f"removed the added {label} at ({fx:.1f}, {fy:.1f}), {away}"
        f = standing[nearest - len(added)]
        self.removed.append((f.type, f.x, f.y))
        return f"removed the {label} {f.name!r} at ({f.x:.1f}, {f.y:.1f}), {away}"


def add_facility(model: PageModel, ftype: str, x: float, y: float) -> str:
    """The page's Add: a facility of ``ftype`` at (x, y) in the model's plan; returns what was done.

    Raises:
        PlanError: As :meth:`Plan.add`, and when no resident of the scenario needs the type (a
            facility nobody would use; the types its residents need are named).
    """
    scenario = model.base_scenario
    if ftype in scenario.types:
        ages = model.population.age
        if not users_of(ages, scenario.types[ftype]).any():
            band = scenario.types[ftype].ages
            raise PlanError(
                f"no resident of {scenario.name} needs {ftype} (ages {band.lo}-{band.hi}); "
                f"the types its residents need: {', '.join(types_needed(ages, scenario.types))}"
            )
    return model.plan.add(scenario, ftype, x, y)


def _site_text(site: tuple) -> str:
    """A site's type and place, "park (3, 3)" (a cell's numbers as they are, metres to 0.1 m)."""
    return f"{site[0]} ({', '.join(f'{v:.1f}' if isinstance(v, float) else str(v) for v in site[1:])})"


def _free_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)``, ... if it is taken."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name} ({n})"
    return candidate


def _check_cell(scenario: Scenario, ftype: str, x: int, y: int) -> None:
    """Raise PlanError unless ``ftype`` is a facility type and (x, y) a walkable cell of the grid."""
    g = scenario.grid
    if ftype not in scenario.types:
        raise PlanError(f"unknown facility type {ftype!r}")
    if not (0 <= x < g.width and 0 <= y < g.height):
        raise PlanError(f"cell ({x}, {y}) is outside the {g.width}x{g.height} grid")
    if any(bx <= x < bx + bw and by <= y < by + bh for bx, by, bw, bh in g.blocked):
        raise PlanError(f"cell ({x}, {y}) is blocked")


def street_join(scenario: Scenario, x_m: float, y_m: float) -> tuple[int, float]:
    """The street node a point of a street scenario joins, and its connector walk in metres.

    The nearest street node of the network's largest connected component, as the city joins
    every home, facility and gate (``model.city.streets.build_street_city``, with the same
    ``StreetSurface.snap``).
    """
    streets = street_surface(scenario.streets)
    node, connector = streets.snap([float(x_m)], [float(y_m)], among=streets.main_component)
    return int(node[0]), float(connector[0])


def _check_finite(x: float, y: float) -> None:
    """Raise PlanError unless (x, y) are numbers (a field of the page left empty is not)."""
    if not (math.isfinite(x) and math.isfinite(y)):
        raise PlanError(f"choose a point: ({x}, {y}) is not one")


def _check_point(scenario: Scenario, ftype: str, x: float, y: float) -> float:
    """The connector walk of a new facility at (x, y) metres on streets; PlanError for a point it cannot join."""
    if ftype not in scenario.types:
        raise PlanError(f"unknown facility type {ftype!r}")
    _check_finite(x, y)
    _, connector_m = street_join(scenario, x, y)
    if connector_m > FAR_JOIN_M:
        raise PlanError(
            f"the point ({x:.0f}, {y:.0f}) is {connector_m:,.0f} m from the nearest street node of the network; "
            f"a facility joins the streets by a walk of at most {FAR_JOIN_M:.0f} m: choose a point nearer the streets"
        )
    return connector_m


def with_knobs(scenario: Scenario, capacity_multiplier: float = 1.0, decay_multiplier: float = 1.0) -> Scenario:
    """The scenario with every facility's capacity and every type's choice decay multiplied.

    Capacities are rounded and kept at least 1; a decay of infinity (the nearest facility, by
    catchment) stays infinite, and a multiplier of 0 makes every facility within reach equally
    likely.
    """
    if not capacity_multiplier > 0 or not decay_multiplier >= 0:
        raise PlanError("the capacity multiplier must be positive and the decay multiplier not negative")
    facilities = tuple(
        replace(f, capacity=max(1, round(f.capacity * capacity_multiplier))) for f in scenario.facilities
    )
    types = {
        t: ft if math.isinf(ft.beta_per_min) else replace(ft, beta_per_min=ft.beta_per_min * decay_multiplier)
        for t, ft in scenario.types.items()
    }
    return replace(scenario, facilities=facilities, types=types)


def scenario_choices(given: str | Path | None = None) -> dict[str, str]:
    """The scenarios the page offers: label -> what ``load_scenario`` takes (bundled names, and ``given``)."""
    choices = {name: name for name in bundled_scenarios()}
    if given is not None and str(given) not in choices:
        path = Path(given)
        choices[path.stem if path.suffix == ".toml" else str(given)] = str(given)
    return choices


class PageModel(LifeCircleModel):
    """The model the page steps: a scenario with the page's knobs and plan, on the fast engine.

    Args:
        scenario_name: A bundled scenario's name or a scenario file.
        mixing: ``population.mixing`` (None: the scenario's).
        capacity_multiplier: Multiplies every facility's capacity.
        decay_multiplier: Multiplies every type's destination-choice decay ``beta_per_min``.
        seed: Random seed (None: the scenario's).
        days: Days to simulate.
        plan: Facilities added and removed on the page (kept across Resets; dropped when the
            scenario changes).
        base: The scenario ``scenario_name`` names, loaded already (None: load it): a re-plan
            builds from the scenario as the page loaded it, even if its file has changed since.
    """

    def __init__(
        self,
        scenario_name: str = "demo",
        mixing: float | None = None,
        capacity_multiplier: float = 1.0,
        decay_multiplier: float = 1.0,
        seed: int | None = None,
        days: int = DAYS,
        plan: Plan | None = None,
        base: Scenario | None = None,
    ):
        """Load the scenario, apply the plan and the knobs, build the model."""
        base = load_scenario(scenario_name) if base is None else base
        self.plan = Plan() if plan is None else plan
        self.plan.attach(base)
        self.base_scenario = base
        self.params = {
            "scenario_name": scenario_name,
            "mixing": mixing,
            "capacity_multiplier": capacity_multiplier,
            "decay_multiplier": decay_multiplier,
            "seed": seed,
            "days": days,
        }
        planned = with_knobs(self.plan.apply(base), capacity_multiplier, decay_multiplier)
        super().__init__(planned, seed=seed, days=days, engine="fast", mixing=mixing, city_cache=_CACHE)
        # Mesa's "Use Threads" steps the model in one thread while the page draws it in another:
        # a step (Mesa's clock, the engine, the DataCollector's row) and a figure's reading of the
        # model (model.web.figures) each hold this lock, so a figure never sees half a step.
        self.lock = threading.RLock()
        self.step = _locked(self.step, self)
        self.closed = False  # the page is gone (:meth:`close`): a step does nothing
        self._positions_at, self._positions = -1, None
        self.day_start_totals = self.facility_totals()  # the facilities' totals when today began

    def replanned(self) -> PageModel:
        """A new model with the same parameters and the plan as it is now."""
        return PageModel(**self.params, plan=self.plan, base=self.base_scenario)

    def close(self) -> None:
        """The page that plays this model has closed: stop.

        Mesa's play loop (a thread of its ``ModelController``) steps while the model runs and the
        page says play; a tab closed while playing left it stepping a model nobody sees, for the
        rest of the run (the server busy, its memory growing, the next tab slow to load). Not
        running, the loop ends after the step it is in, and a closed model's step does nothing.
        """
        self.closed = True
        self.running = False

    def _after_step(self) -> None:
        """After a step that ends a day (but not the run): the totals the next day's figures start from."""
        if self.steps % self.clock.ticks_per_day == 0 and self.steps < self.total_ticks:
            self.day_start_totals = self.facility_totals()

    def positions(self) -> np.ndarray:
        """Every resident's node now, traced once a step (the map and the cell inspector both ask)."""
        with self.lock:
            if self._positions_at != self.steps:
                self._positions = super().positions()
                self._positions.setflags(write=False)
                self._positions_at = self.steps
            return self._positions


def _locked(step, model: PageModel):
    """``step`` (Mesa's wrapped step: time, steps, then the model's own), then the model's ``_after_step``.

    Both hold the model's lock; once the model is closed the step does nothing.
    """

    def locked_step() -> None:
        with model.lock:
            if model.closed:
                return
            step()
            model._after_step()

    return locked_step


# --------------------------------------------------------------------------- what the page shows


def first_point(model: LifeCircleModel) -> tuple[int, int] | tuple[float, float]:
    """The point chosen for re-planning when the page opens.

    The grid's middle cell, or the middle of the street nodes' extent (metres, to 0.1 m).
    """
    if model.spec.streets is None:
        return model.city.width // 2, model.city.height // 2
    xy = model.spec.streets.node_xy_m
    middle = (xy.min(axis=0) + xy.max(axis=0)) / 2
    return round(float(middle[0]), 1), round(float(middle[1]), 1)


def clock_now(model: LifeCircleModel) -> tuple[int, int]:
    """The day (0 = the first) and the minute of the day the clock shows now (:func:`clock_text`)."""
    clock = model.clock
    done = min(model.steps, model.total_ticks)
    day, ticks_today = divmod(done, clock.ticks_per_day)
    minute = clock.sim.day_start_min + ticks_today * clock.tick_min
    if done == model.total_ticks:  # the end of the last day, not the start of the next
        day, minute = model.days - 1, clock.sim.day_end_min
    return day, minute


def clock_text(model: LifeCircleModel) -> str:
    """The model's clock now: "Day 1 (Mon) 06:00" before the first tick, then at each tick's end."""
    return _day_text(model, *clock_now(model))


def _day_text(model: LifeCircleModel, day: int, minute: int) -> str:
    """The clock's text, "Day 2 (Tue) 14:30", of a day (0 = the first) and a minute of the day."""
    weekday = WEEKDAY_NAMES[(model.clock.sim.first_weekday + day) % 7]
    return f"Day {day + 1} ({weekday}) {format_time(minute)}"


def start_text(model: LifeCircleModel) -> str:
    """The clock at the start of the run, where a re-planned model starts: "Day 1 (Mon) 06:00"."""
    return _day_text(model, 0, model.clock.sim.day_start_min)


# --------------------------------------------------------------------------- running to a time


def steps_to(model: LifeCircleModel, text: str) -> int:
    """Steps that bring the clock to the time of day ``text`` ("HH:MM"): today's, or the next day's if passed.

    The clock shows each tick's end, so a time between two ticks is reached at the later one
    (14:32 with 5-minute ticks shows 14:35). The day's end (e.g. 22:00) is the next day's start
    on the clock, as at the end of every day.

    Raises:
        PlanError: ``text`` is not a time of day, the time lies outside the simulated hours, or
            the run ends before it (or is over).
    """
    sim, tpd = model.clock.sim, model.clock.ticks_per_day
    minute = parse_time((text or "").strip())
    if minute is None:
        raise PlanError(f"{(text or '').strip()!r} is not a time of day: write HH:MM, e.g. 14:30")
    if not sim.day_start_min <= minute <= sim.day_end_min:
        raise PlanError(
            f"{format_time(minute)} is outside the simulated hours "
            f"{format_time(sim.day_start_min)}-{format_time(sim.day_end_min)}"
        )
    done = _run_over(model)
    target = (done // tpd) * tpd + math.ceil((minute - sim.day_start_min) / sim.tick_min)
    if target <= done:  # passed today: the next day's
        target += tpd
    if target > model.total_ticks:
        end = _day_text(model, model.days - 1, sim.day_end_min)
        raise PlanError(f"the run ends at {end}, before the next {format_time(minute)}")
    return target - done


def steps_to_day_end(model: LifeCircleModel) -> int:
    """Steps that bring the clock to the end of today (the next day's start on the clock).

    Raises:
        PlanError: The run is over.
    """
    done = _run_over(model)
    tpd = model.clock.ticks_per_day
    return min((done // tpd + 1) * tpd, model.total_ticks) - done


def _run_over(model: LifeCircleModel) -> int:
    """The ticks done; PlanError when they are all of the run's."""
    done = min(model.steps, model.total_ticks)
    if done >= model.total_ticks:
        raise PlanError(f"the run is over ({clock_text(model)}): press Reset to start it again")
    return done


# --------------------------------------------------------------------------- inspecting

# Assumption: on a street map a click picks what lies within 100 m of it (about a block).
PICK_M = 100.0

STATE_LABELS = {
    State.HOME: "at home",
    State.WALKING: "walking",
    State.WAITING: "waiting",
    State.VISITING: "visiting",
    State.ESCORTING: "escorting",
}


def residents_by_state(model: LifeCircleModel) -> dict[str, int]:
    """Residents in each state now ("at home", "walking", ...); "escorting" only where households are on."""
    counts = model.engine.state_counts()
    return {
        label: int(counts[state])
        for state, label in STATE_LABELS.items()
        if state != State.ESCORTING or model.population.household is not None
    }


def facilities_at(model: LifeCircleModel, x: float, y: float) -> list[int]:
    """The facilities (rows of ``model.city.facilities``) at the chosen place.

    On a grid those on cell (x, y); on streets the nearest to the point (x, y) in metres if it is
    within :data:`PICK_M`, with any other at the same spot.
    """
    fac = model.city.facilities
    fx, fy = fac["x"].to_numpy(dtype=float), fac["y"].to_numpy(dtype=float)
    if model.spec.streets is None:
        return [int(i) for i in np.flatnonzero((fx == x) & (fy == y))]
    metres = np.hypot(fx - x, fy - y)
    if metres.size == 0 or metres.min() > PICK_M:
        return []
    return [int(i) for i in np.flatnonzero(metres == metres.min())]


def facility_info(model: PageModel, index: int) -> dict:
    """What the page shows of facility ``index`` now.

    Returns:
        name, type, label, x, y, capacity (with the page's multiplier), present (visitors inside
        now), queue (waiting at its door now), and over today so far (the day the clock shows):
        turned_away_today and visits_today (visits completed).
    """
    row = model.city.facilities.iloc[index]
    totals = model.facility_totals()
    return {
        "name": str(row["name"]),
        "type": str(row["type"]),
        "label": model.spec.types[row["type"]].label,
        "x": row["x"].item(),
        "y": row["y"].item(),
        "capacity": int(row["capacity"]),
        "present": int(model.engine.occupancy_by_group()[index].sum()),
        "queue": int(model.engine.queue_by_facility()[index]),
        "turned_away_today": int(totals["turned_away"][index] - model.day_start_totals["turned_away"][index]),
        "visits_today": int(totals["visits"][index] - model.day_start_totals["visits"][index]),
    }


def age_bands(model: LifeCircleModel) -> tuple[np.ndarray, tuple[str, ...]]:
    """Each resident's age band of the scenario (bands ordered by their lower age) and the bands' labels."""
    bands = sorted(model.spec.ages, key=lambda b: b.lo)
    lows = np.array([b.lo for b in bands])
    return np.searchsorted(lows, model.built.residents.age, side="right") - 1, tuple(str(b) for b in bands)


def cell_info(model: LifeCircleModel, x: float, y: float, present: bool = True) -> dict:
    """Residents of the chosen place, by group and by age band: those who live there and those there now.

    The place is cell (x, y) of a grid, or on streets every node within :data:`PICK_M` of the
    point (x, y) in metres (homes by their own position). Those there now are placed by
    ``model.positions()`` (walkers on their paths).

    Args:
        model: The model.
        x: The cell's column, or on streets metres east.
        y: The cell's row, or on streets metres north.
        present: Whether to count those there now (False: "present" is None; tracing every
            walker costs seconds a tick at city scale).

    Returns:
        ``{"living": {"total": n, "by_group": {group: n}, "by_age": {band: n}}, "present": {...}}``,
        every group and band of the scenario listed (0 where none).
    """
    res = model.built.residents
    if model.spec.streets is None:
        node = model.city.cell_of(int(x), int(y))
        living = res.node == node
        here = (lambda: model.positions() == node) if present else None
    else:
        near = np.hypot(*(model.surface.node_xy_m - (x, y)).T) <= PICK_M
        living = np.hypot(res.x - x, res.y - y) <= PICK_M
        here = (lambda: near[model.positions()]) if present else None
    band, band_labels = age_bands(model)

    def counts(where: np.ndarray) -> dict:
        groups = np.bincount(res.group[where], minlength=len(res.group_names))
        ages = np.bincount(band[where], minlength=len(band_labels))
        return {
            "total": int(where.sum()),
            "by_group": {g: int(n) for g, n in zip(res.group_names, groups, strict=True)},
            "by_age": {b: int(n) for b, n in zip(band_labels, ages, strict=True)},
        }

    return {"living": counts(living), "present": None if here is None else counts(here())}


def coverage_table_of(model: LifeCircleModel):
    """``measures.access.coverage_table`` of the model: users within each type's level, by age band."""
    res = model.built.residents
    return coverage_table(res, model.spec, model.built.minutes, needs_by_type(res.age, model.types))


def coverage_rows(model: LifeCircleModel) -> list[dict]:
    """Per facility type present: its users and the share of them within its level, at their own pace.

    The figures of summary.json (``access.<type>.users`` and ``within_level``), fixed before the run.
    """
    access = static_summary(model.context)["access"]
    rows = []
    for t in model.city.types:
        ft = model.spec.types[t]
        a = access[t]
        within = float("nan") if a["within_level"] is None else float(a["within_level"])
        rows.append(
            {"type": t, "label": ft.label, "level_min": ft.level_min, "users": a["users"], "within_level": within}
        )
    return rows


def life_circle_complete(model: LifeCircleModel) -> float | None:
    """The share of residents who reach every type they need within its level (summary.json's figure)."""
    return static_summary(model.context)["life_circle_complete"]


def users_paces(model: LifeCircleModel) -> dict[str, float]:
    """Per type present, the median own pace of its users (``measures.access.users_pace``)."""
    from model.measures.access import users_pace

    res = model.built.residents
    needs = needs_by_type(res.age, model.types)
    return {t: users_pace(res.m_per_min, needs[t]) for t in model.city.types}


# --------------------------------------------------------------------------- saving a plan


def plan_file(folder: Path, name: str) -> Path:
    """The file ``name`` in ``folder``; a name with a folder in it is refused (the page writes only there)."""
    name = name.strip()
    _check_name(name)
    return Path(folder) / name


def _check_name(name: str) -> None:
    """Raise PlanError unless ``name`` is a file name the page may write: no folder, printable, not too long."""
    if not name or Path(name).name != name or name in (".", "..") or not name.isprintable():
        raise PlanError(f"{name!r}: give a file name without a folder, e.g. my_plan.toml")
    if len(name.encode("utf-8", "surrogatepass")) > NAME_MAX_BYTES:
        raise PlanError(f"{name[:40]!r}...: a file name of at most {NAME_MAX_BYTES} bytes, e.g. my_plan.toml")


def save_plan(model: PageModel, target: Path) -> str:
    """Write the model's plan as a scenario file at ``target``; returns what was written.

    Raises:
        PlanError: Nothing to save, the file exists, or the file written does not load back
            with the plan's facilities (it is then removed).
    """
    base, plan = model.base_scenario, model.plan
    target = Path(target)
    if plan.empty:
        raise PlanError("nothing to save: add or remove a facility first")
    if target.suffix != ".toml":
        raise PlanError(f"{target.name}: a scenario file's name ends in .toml")
    _check_name(target.name)
    try:
        exists = target.exists()
    except (OSError, ValueError) as exc:  # a name the file system refuses
        raise PlanError(f"cannot write {target}: {exc}") from None
    if exists:
        raise PlanError(f"{target} exists; choose another name")
    name = target.stem
    changes = f"{len(plan.added)} added, {len(plan.removed)} removed"
    if plan.removed:
        how = f"lifecircle serve: the plan of {base.name} ({changes}), resolved (a file that extends cannot remove)"
        text = f"# {how}\n" + scenario_toml(replace(plan.apply(base), name=name), relative_to=target.parent)
    else:
        added = [(f.type, f.x, f.y, f.name) for f in plan.new_sites(base)]
        text = extend_toml(base.path, target, name, added, f"lifecircle serve: the plan of {base.name} ({changes})")
    try:
        target.write_text(text, encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise PlanError(f"cannot write {target}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        saved = load_scenario(target)
    except ScenarioError as exc:
        target.unlink()
        raise PlanError(f"the saved file did not load: {exc}") from None
    expected = sorted((f.type, f.x, f.y) for f in plan.apply(base).facilities)
    if sorted((f.type, f.x, f.y) for f in saved.facilities) != expected:
        target.unlink()
        raise PlanError("the saved file did not give the plan's facilities back; nothing saved")
    kind = "resolved scenario" if plan.removed else f"scenario extending {base.path.name}"
    return f"saved {target} ({kind}; {changes})"
