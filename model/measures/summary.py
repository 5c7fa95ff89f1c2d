"""summary.json: every figure of a finished run, assembled from the measures of this package.

Each figure is computed by one function of ``access``, ``equity``, ``sfca``, ``enrolment``, ``usage``,
``dynamics``, ``segregation``, ``catchment`` or ``activity`` (definitions in docs/metrics.md); this module only
gathers their inputs and puts the results in place. The inputs are the run's
:class:`model.simulation.context.RunContext` (scenario, seed, days, engine name, types, built
city and residents, visit log) and what the engine reports (facility totals, unmet visits per
resident and type, and the residents queueing per type at the end of each tick): never the model.

The figures fixed once the city and its residents are built (access, supply-aware access,
equity, residential mixing) are computed once per built city and kept (:func:`static_figures`):
a run's summary is asked for when the model is built (for the names of its columns), at the end
of the run, and by the browser page while it runs.
"""

from __future__ import annotations

import copy
import math
import weakref
from dataclasses import dataclass

import numpy as np

from model.city.build import BuiltCity
from model.city.grid import block_cells_of
from model.city.surface import PairMetres
from model.measures import activity, dynamics, equity, households, segregation, usage, walks
from model.measures.access import access_summary, needs_by_type
from model.measures.catchment import catchment_exposure
from model.measures.enrolment import enrolment_figures
from model.measures.sfca import sfca_summary, two_step_fca
from model.measures.static import static_baseline
from model.simulation.clock import MINUTES_PER_DAY
from model.simulation.context import RunContext
from model.simulation.visits import TURN_AWAY_COLUMNS


@dataclass(frozen=True, eq=False)
class StaticFigures:
    """What a built city's figures are before anyone moves.

    Attributes:
        summary: scenario, seed, residents, access (with supply-aware access and equity) and
            life_circle_complete.
        residential: mixing.residential: blocks, communities and catchment.
        sfca: Per type present, every resident's 2SFCA access A_i (NaN for non-users).
        destinations: Walking distances from homes to destinations within 15 minutes at the
            reference pace, kept between calls (15-minute usage).
    """

    summary: dict
    residential: dict
    sfca: dict[str, np.ndarray]
    destinations: PairMetres


_STATIC: weakref.WeakKeyDictionary[BuiltCity, StaticFigures] = weakref.WeakKeyDictionary()


def static_figures(context: RunContext) -> StaticFigures:
    """The figures of ``context.built`` that the simulated days do not change, computed once per built city."""
    built = context.built
    if built not in _STATIC:
        _STATIC[built] = _compute_static(context)
    return _STATIC[built]


def _compute_static(context: RunContext) -> StaticFigures:
    built, scenario = context.built, context.built.scenario
    res = built.residents
    needs = needs_by_type(res.age, context.types)
    levels = {t: scenario.types[t].level_min for t in built.minutes}
    metres = {t: built.fields_m[t][res.node] for t in built.minutes}  # the walks of built.minutes, in metres
    access, complete = access_summary(built.minutes, needs, levels, metres)
    bands = list(scenario.ages)
    band_of = equity.age_band_index(res.age, [(b.lo, b.hi) for b in bands])
    homes, home_of = np.unique(res.node, return_inverse=True)
    by_home = np.lexsort((res.m_per_min, home_of))  # residents by home cell, then pace
    sfca = {}
    for t, a in access.items():
        ft = scenario.types[t]
        sfca[t] = supply_access(context, t, by_home[needs[t][by_home]], homes, home_of)
        a.update(sfca_summary(sfca[t][needs[t]]))
        users = built.minutes[t][needs[t]]
        a["gini_min"] = equity.gini(users[np.isfinite(users)])
        a["by_group"] = equity.access_by(built.minutes[t], needs[t], ft.level_min, res.group, res.group_names)
        overlapping = [k for k, b in enumerate(bands) if b.lo <= ft.ages.hi and b.hi >= ft.ages.lo]
        by_age = equity.access_by(built.minutes[t], needs[t], ft.level_min, band_of, [str(b) for b in bands])
        a["by_age"] = {str(bands[k]): by_age[str(bands[k])] for k in overlapping}
    summary = {
        "scenario": scenario.name,
        "seed": context.seed,
        "residents": len(res),
        "access": access,
        "life_circle_complete": complete,
    }
    limit_m = usage.FIFTEEN_MIN * scenario.simulation.reference_m_per_min
    destinations = built.surface.pairs(limit_m)
    return StaticFigures(summary, residential_figures(context), sfca, destinations)


def supply_access(
    context: RunContext, ftype: str, users: np.ndarray, homes: np.ndarray, home_of: np.ndarray
) -> np.ndarray:
    """Every resident's 2SFCA access to a type (NaN for non-users): the inputs of :func:`two_step_fca`.

    The catchment is the type's ``catchment_min`` if set, else its ``level_min``; distances are
    those from each home cell to every facility within the catchment at the fastest user's pace
    (the candidate table's, when it reaches that far: it usually does), and each user's minutes
    are its own metres over its own pace.

    Args:
        context: The run (its built city and residents).
        ftype: The facility type.
        users: The type's users (resident ids), best in order of home cell, then pace.
        homes: The home cells, unique and sorted.
        home_of: Every resident's home, an index into ``homes``.
    """
    built = context.built
    ft = built.scenario.types[ftype]
    catchment = ft.catchment_min if ft.catchment_min is not None else ft.level_min
    out = np.full(len(built.residents), np.nan)
    if not users.size:
        return out
    pace = built.residents.m_per_min[users]
    ids, pair_home, pair_facility, metres = walks.facility_pairs(
        built.surface,
        built.city.facilities,
        ftype,
        homes,
        catchment,
        float(pace.max()),
        reach=context.reach,
        type_index=built.city.types.index(ftype),
    )
    capacity = built.city.facilities["capacity"].to_numpy()[ids]
    out[users], _ = two_step_fca(home_of[users], pace, pair_home, pair_facility, metres, capacity, catchment)
    return out


def residential_figures(context: RunContext) -> dict:
    """mixing.residential: the indices on blocks and communities, and catchment exposure within a 15-minute walk."""
    res = context.built.residents
    groups = res.group_names
    _, by_block = segregation.count_table(block_units(context)[res.node], res.group, len(groups))
    _, by_community = segregation.count_table(res.community, res.group, len(groups))
    neighbours = walks.home_neighbours(
        context.built.surface, res.node, res.group, res.m_per_min, len(groups), usage.FIFTEEN_MIN
    )
    exposure = catchment_exposure(neighbours, res.group, groups)
    shares = segregation.group_shares(np.bincount(res.group, minlength=len(groups)))
    return {
        "blocks": segregation.residential_mixing(by_block, groups),
        "communities": segregation.residential_mixing(by_community, groups),
        "catchment": {
            "exposure": exposure,
            "relative_exposure": {
                g: segregation.relative_exposure(exposure[g], float(shares[k])) for k, g in enumerate(groups)
            },
        },
    }


def static_summary(context: RunContext) -> dict:
    """The part of summary.json fixed before anyone moves: scenario, seed, residents, access."""
    return copy.deepcopy(static_figures(context).summary)


def supply_access_columns(context: RunContext) -> dict[str, np.ndarray]:
    """Per type present, every resident's 2SFCA access (NaN for non-users): residents.csv's ``sfca_<type>``."""
    return static_figures(context).sfca


def place_minutes(context: RunContext) -> dict[str, np.ndarray]:
    """Per type with enrolment, every resident's own walking minutes to the facility of its place (NaN: none).

    residents.csv's ``place_min_<type>``.
    """
    enrolment, pace = context.enrolment, context.population.m_per_min
    return {context.city.types[t]: enrolment.metres[:, k] / pace for k, t in enumerate(enrolment.types)}


def enrolment_summary(context: RunContext) -> dict:
    """summary.json's "enrolment": per type with enrolment present, :func:`enrolment_figures`."""
    enrolment, types = context.enrolment, context.types
    of_age = needs_by_type(context.population.age, types)
    minutes = place_minutes(context)
    out = {}
    for k, t in enumerate(enrolment.types):
        name = types.names[t]
        out[name] = enrolment_figures(
            of_age[name],
            enrolment.applied[:, k],
            enrolment.facility[:, k] >= 0,
            minutes[name],
            context.spec.types[name].level_min,
        )
    return out


def summarise(
    context: RunContext,
    facility_totals: dict[str, np.ndarray],
    unmet: np.ndarray,
    waiting: np.ndarray | None = None,
    day_totals: dict[str, np.ndarray] | None = None,
    escorts: dict[str, np.ndarray] | None = None,
    turn_aways: dict[str, np.ndarray] | None = None,
) -> dict:
    """summary.json of a run: access, enrolment, usage, dynamics and mixing.

    Args:
        context: The run; its visit log holds the visits completed so far.
        facility_totals: What the engine reports per facility over the run so far
            (``Engine.facility_totals``): ``turned_away`` and ``peak_occupancy`` are read.
        unmet: Wanted visits not served, per resident (rows) and type index (columns), as the
            engine reports them (``Engine.unmet_counts``).
        waiting: Residents queueing at the end of each tick simulated so far (rows, from the
            run's first tick), per type index (columns): timeseries.csv's ``waiting_<type>``
            (``Engine.queue_by_facility`` summed over the type's facilities). None: no tick yet.
        day_totals: Per day (rows) and type index (columns), counted on that day: ``unmet``
            (wanted visits not served) and ``turned_away`` (arrivals that gave up), for the
            per-day dynamics of a run of several days; None (or rows of days not over yet): 0.
        escorts: Per resident, ``escort_min``, ``given_up_escort`` and ``no_escort``
            (``Engine.escort_totals``); read only with households.
        turn_aways: The turn-away log so far, one row per turn-away: ``resident``, ``facility``,
            ``tick``, ``choice_rank`` (``Engine.turn_aways``); None: nobody turned away.

    Returns:
        The dict of summary.json (without ``contacts``); ``static`` is the static baseline
        (:func:`model.measures.static.static_baseline`, docs/static.md).
    """
    res = context.built.residents
    static = static_figures(context)
    summary = static_summary(context)
    summary["engine"] = context.engine_name
    summary["days"] = context.days
    summary["enrolment"] = enrolment_summary(context)
    n_types = len(context.city.types)
    if turn_aways is None:
        turn_aways = {key: np.zeros(0, dtype=np.int64) for key in TURN_AWAY_COLUMNS}
    turn_type = context.facility_type[turn_aways["facility"]]
    people_by_day = usage.turned_away_people_by_day(
        turn_aways["resident"], turn_type, context.clock.day(turn_aways["tick"]), context.days, n_types
    )
    visits = context.visit_log.columns()
    totals = facility_totals
    fac = context.city.facilities
    limit_m = usage.FIFTEEN_MIN * context.spec.simulation.reference_m_per_min
    metres = walks.home_to_destination_metres(
        context.surface,
        res.node[visits["resident"]],
        fac["node"].to_numpy()[visits["facility"]],
        limit_m,
        static.destinations,
    )
    summary["usage"] = usage.facility_usage(
        visit_type=visits["type"],
        walk_min=visits["walk_min"],
        near_home=metres <= limit_m,
        facility_type=context.facility_type,
        turned_away=totals["turned_away"],
        turned_away_people=people_by_day.sum(axis=0),
        turned_away_visits=usage.turned_away_visits(turn_type, turn_aways["choice_rank"], n_types),
        peak_occupancy=totals["peak_occupancy"],
        capacity=fac["capacity"].to_numpy(),
        area_m2=[context.spec.types[t].area_m2 for t in context.city.types],
        unmet=unmet.sum(axis=0),
        type_names=context.city.types,
        days=context.days,
    )
    ticks = np.arange(0 if waiting is None else len(waiting))
    summary_waiting = np.zeros((0, len(context.city.types)), dtype=np.int64) if waiting is None else waiting
    nearest = np.full(visits["resident"].size, np.nan)
    for t, name in enumerate(context.city.types):
        mine = visits["type"] == t
        nearest[mine] = context.built.minutes[name][visits["resident"][mine]]
    summary["dynamics"] = dynamics.dynamics(
        visit_type=visits["type"],
        choice_rank=visits["choice_rank"],
        walk_min=visits["walk_min"],
        nearest_min=nearest,
        waiting=summary_waiting,
        tick_day=np.asarray(context.clock.day(ticks), dtype=np.int64),
        tick_minute=np.asarray(context.clock.minute_of_day(ticks), dtype=np.int64),
        tick_min=context.clock.tick_min,
        unmet=unmet.sum(axis=0),
        type_names=context.city.types,
        days=context.days,
    )
    if context.days > 1:
        zeros = np.zeros((context.days, len(context.city.types)), dtype=np.int64)
        day_totals = day_totals or {}
        per_day = dynamics.dynamics_by_day(
            visit_type=visits["type"],
            visit_day=visits["arrive_min"] // MINUTES_PER_DAY,
            choice_rank=visits["choice_rank"],
            waiting=summary_waiting,
            tick_day=np.asarray(context.clock.day(ticks), dtype=np.int64),
            tick_min=context.clock.tick_min,
            unmet_by_day=day_totals.get("unmet", zeros),
            turned_away_by_day=day_totals.get("turned_away", zeros),
            turned_away_people_by_day=people_by_day,
            type_names=context.city.types,
            days=context.days,
        )
        for name, figures in per_day.items():
            summary["dynamics"][name].update(figures)
    summary["mixing"] = mixing_summary(context, visits)
    summary["static"] = static_baseline(context, summary["access"])
    if res.household is not None:
        summary["households"] = households_summary(context, escorts)
    return summary


def mixing_summary(context: RunContext, visits: dict[str, np.ndarray] | None = None) -> dict:
    """summary.json's ``mixing`` of the run so far: residential (fixed) and activity mixing by group.

    Args:
        context: The run.
        visits: ``context.visit_log.columns()`` when the caller has them already (None: read here).

    The browser page's exposure chart asks for this part alone: the rest of the summary costs
    several times more and the chart does not show it.
    """
    res = context.built.residents
    visits = context.visit_log.columns() if visits is None else visits
    return {
        "block_cells": block_cells(context),
        "block_m": context.surface.unit_side_m(context.spec.simulation.block_m),
        "residential": copy.deepcopy(static_figures(context).residential),
        "activity": activity.activity_mixing(
            visits["resident"],
            visits["facility"],
            visits["arrive_min"],
            visits["leave_min"],
            res.group,
            res.group_names,
            len(res),
            context.days,
        ),
    }


def households_summary(context: RunContext, escorts: dict[str, np.ndarray] | None) -> dict:
    """summary.json's ``households``: compositions, mean size, escorts by the carers' age band."""
    res = context.built.residents
    n = len(res)
    escorts = escorts or {
        "escort_min": np.zeros(n),
        "given_up_escort": np.zeros(n, dtype=np.int64),
        "no_escort": np.zeros(n, dtype=np.int64),
    }
    bands = list(context.spec.ages)
    return {
        "households": int(res.household_kind.size),
        "mean_size": households.mean_size(res.household),
        "compositions": households.composition_counts(res.household_kind, res.household_kinds),
        "escort": bool(context.spec.households.escort),
        "no_escort": int(np.asarray(escorts["no_escort"]).sum()),
        "no_escort_per_day": float(np.asarray(escorts["no_escort"]).sum() / context.days),
        "carers": households.escorts_by_band(
            res.age,
            escorts["escort_min"],
            escorts["given_up_escort"],
            [(b.lo, b.hi) for b in bands],
            [str(b) for b in bands],
            context.days,
        ),
    }


# The parts of the summary that the simulated days change; everything else (the run's identity,
# access, residential mixing, the static baseline) is fixed once the city and its residents are built.
RUN_DEPENDENT = ("usage.", "dynamics.", "mixing.activity.", "households.no_escort", "households.carers.")


def fixed_before_the_run(flat: dict) -> dict:
    """The entries of a flattened summary that do not depend on the simulated days."""
    return {key: value for key, value in flat.items() if not key.startswith(RUN_DEPENDENT)}


def flatten(summary: dict, prefix: str = "") -> dict:
    """Every scalar of a summary by its dotted path: ``{"access.park.within_15": 0.93, ...}``.

    NaN and infinite numbers become None, as in summary.json. Lists (the per-day figures of
    ``dynamics.<type>.by_day``) are not scalars and are left out; their change from the first
    day to the last (``dynamics.<type>.change``) is in.
    """
    out = {}
    for key, value in summary.items():
        path = f"{prefix}{key}"
        if isinstance(value, list):
            continue
        if isinstance(value, dict):
            out.update(flatten(value, f"{path}."))
        elif isinstance(value, float) and not math.isfinite(value):
            out[path] = None
        else:
            out[path] = value
    return out


def block_cells(context: RunContext) -> int | None:
    """Cells per side of the run's residential blocks on a grid (``block_m`` over ``cell_m``); None on streets."""
    grid = context.spec.grid
    return None if grid is None else block_cells_of(grid.cell_m, context.spec.simulation.block_m)


def block_units(context: RunContext) -> np.ndarray:
    """The residential block of every node of the run's surface: ``simulation.block_m`` squares (``units``)."""
    return context.surface.units(context.spec.simulation.block_m)
