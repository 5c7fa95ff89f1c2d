"""Facility location models: where to put K new facilities of a type, or which K to close.

Pure functions on matrices, in the manner of PySAL spopt: a model is built from a cost matrix,
solved by a named solver, and its result comes back with its attributes (:class:`Solution`).
Nothing here knows the simulation; ``lifecircle optimize`` builds the matrices.

Inputs:

- ``minutes``: users x candidates, the walking minutes from each user's home to each candidate
  site at the user's own pace; ``np.inf`` where unreachable or beyond the search limit. Either a
  dense array or a scipy.sparse matrix/array whose stored entries are the reachable pairs
  (unstored = unreachable; an explicitly stored 0 is a 0-minute pair, so build it from triplets,
  ``coo_array((minutes, (user, site)), shape)``, and do not ``eliminate_zeros``). The sparse form
  is the one for large instances: memory is about 16 bytes per reachable pair, against 8 bytes
  per cell of a dense matrix. Users may be aggregated (one row per home cell, with a weight).
- ``weight``: per user, how much it counts (residents needing the type in the cell, or only
  elders...); users of weight 0 are ignored.
- ``existing``: per user, minutes to the nearest EXISTING facility of the type (inf if none).
- ``k``: sites to choose; ``limit_min``: the coverage standard M (covered: minutes <= M).

Models (the formulations as integer programs are in model/planning/location/exact.py):

1. :func:`coverage`: the maximal covering location problem (MCLP; Church & ReVelle 1974):
   maximise the weight of users covered, ``min(existing_i, min_{j in S} minutes_ij) <= M``, with
   ``|S| = K``. Users already covered by an existing facility count as covered whatever is
   chosen and are left out of the program.
2. :func:`pmedian`: the p-median problem (Hakimi 1964; ReVelle & Swain 1970) with existing
   facilities: minimise ``sum_i w_i cost_i`` where ``cost_i = min(existing_i, min_{j in S}
   minutes_ij, unserved_min)``. A user who reaches no facility at all (no existing one and no
   candidate) is left out of the objective and reported as ``details["unreachable"]``; a user
   who could be served by a candidate but is not (and has no existing facility within
   ``unserved_min``) counts ``unserved_min`` minutes, by default the largest finite minute of
   the instance (the search horizon: being served at the horizon is no better than not being
   served), reported as ``details["unserved"]``.
3. :func:`capacitated`: coverage where each chosen site serves at most ``capacity`` (weight
   units; scalar or per candidate) of the users within M; users' weights may be split across
   sites (a fractional assignment with binary sites). Users covered by existing facilities are
   counted as covered and left out, as in ``coverage``; the capacities of existing facilities
   are not modelled (they are assumed to serve their own users).
4. :func:`remove`: given the users x existing-sites minutes, which K sites to close with the least
   loss of coverage (``objective="coverage"``) or the least increase of weighted minutes
   (``objective="pmedian"``); ``other`` are minutes to facilities that stay whatever happens.

Solvers: every model takes ``options=SolverOptions(...)`` (model/planning/location/options.py:
``method`` "exact", the MIP, HiGHS through ``scipy.optimize.milp``; "heuristic", greedy + swap,
Teitz & Bart 1968, with greedy, Lagrangian and LP bounds; "auto", exact when the MIP has at most
``EXACT_MAX_NNZ[model]`` nonzeros, reported as ``details["mip_nnz"]``; and the time limit, gap,
bounds and starts). All four run through one pipeline (model/planning/location/pipeline.py),
which says how each solver runs; options.py says how the sizes were chosen.

Size and time: docs/planning.md (measured by experiments/benchmarks/optimize.py).

Results: ``Solution.sites`` are candidate indices in ascending order; exactly ``k`` are returned
(if fewer sites improve the objective, the rest are those of largest, then zero, gain, lowest
index first, and their ``marginal`` is 0).

Determinism: no randomness. The heuristic breaks ties to the lower candidate index; HiGHS is
deterministic for the same input, but among several optima it returns the one it finds.
"""

from __future__ import annotations

import time

import numpy as np

from model.planning.location import heuristic, pipeline
from model.planning.location.forms import (
    Solution,
    check_inputs,
    coverage_form,
    flow_form,
    median_form,
)
from model.planning.location.options import SolverOptions

__all__ = ["MODELS", "capacitated", "coverage", "evaluate", "pmedian", "remove", "solve"]

MODELS = ("coverage", "pmedian", "capacitated", "remove")


def _check_k(k, n: int, what: str) -> int:
    if int(k) != k or k < 0:
        raise ValueError(f"k must be an integer >= 0, got {k}")
    if k > n:
        raise ValueError(f"k = {k} is more than the {n} {what}")
    return int(k)


def _finish(model, sense, outcome, objective, baseline, bound, t0, marginal, info) -> Solution:
    info = {k: v for k, v in (info | outcome.info).items() if not k.startswith("_")}
    if bound is not None and abs(bound - objective) <= 1e-9 * max(1.0, abs(objective)):
        bound = objective  # round-off on the wrong side of an optimal solution
    return Solution(
        model=model,
        sites=np.asarray(outcome.sites, dtype=np.int64),
        objective=float(objective),
        baseline=float(baseline),
        bound=None if bound is None else float(bound),
        sense=sense,
        solver=outcome.solver,
        status=outcome.status,
        seconds=time.perf_counter() - t0,
        marginal=np.asarray(marginal, dtype=float),
        details=info,
    )


def coverage(
    minutes,
    weight,
    k: int,
    limit_min: float,
    existing=None,
    *,
    options: SolverOptions | None = None,
) -> Solution:
    """Maximal covering location: K new sites covering the most weight within ``limit_min``.

    Church, R. & ReVelle, C. (1974). The maximal covering location problem. Papers of the
    Regional Science Association 32, 101-118.

    Args:
        minutes: Users x candidates walking minutes (dense with inf, or sparse; module docstring).
        weight: Per user, its weight.
        k: Number of new sites.
        limit_min: The coverage standard M (covered: minutes <= M).
        existing: Per user, minutes to the nearest existing facility (None: there is none).
        options: How it is solved (:class:`~model.planning.location.options.SolverOptions`; None: the defaults).

    Returns:
        The :class:`Solution`: ``objective`` is the covered weight (existing facilities
        included), ``details`` has total_weight, covered_by_existing, coverable (weight within M
        of a candidate and not covered yet) and unreachable (the rest).
    """
    t0 = time.perf_counter()
    opts = options or SolverOptions()
    shape, w, e = check_inputs(minutes, weight, existing)
    k = _check_k(k, shape[1], "candidates")
    form, info = coverage_form(minutes, w, e, limit_min)
    top = info["total_weight"] - info["unreachable"]  # covered = top - uncovered weight of the form

    def obj(cost):
        return top - cost

    out = pipeline.solve(pipeline.CostProgram("coverage", form, k, None, opts), opts, obj)
    marginal = heuristic.cost_marginals(form, out.sites)
    bound = None if out.bound is None else obj(out.bound)
    return _finish("coverage", "max", out, obj(out.value), obj(form.baseline), bound, t0, marginal, info)


def pmedian(
    minutes,
    weight,
    k: int,
    existing=None,
    *,
    unserved_min: float | None = None,
    options: SolverOptions | None = None,
) -> Solution:
    """p-median: K new sites minimising the total weighted minutes to the nearest facility.

    Hakimi, S. L. (1964). Optimum locations of switching centers and the absolute centers and
    medians of a graph. Operations Research 12(3), 450-459. ReVelle, C. S. & Swain, R. W.
    (1970). Central facilities location. Geographical Analysis 2(1), 30-42.

    Args:
        minutes: Users x candidates walking minutes (dense with inf, or sparse).
        weight: Per user, its weight.
        k: Number of new sites.
        existing: Per user, minutes to the nearest existing facility (None: there is none).
        unserved_min: The minutes counted for a user without any facility (and the cap of every
            user's minutes); None: the largest finite minute of ``minutes`` and ``existing``.
        options: How it is solved (:class:`~model.planning.location.options.SolverOptions`; None: the defaults).

    Returns:
        The :class:`Solution`: ``objective`` is the total weighted minutes over the users who reach
        some facility or candidate; ``details`` has unserved_min, reached_weight, unreachable
        (weight left out: nothing reachable), unserved (weight counted at unserved_min in the
        solution) and mean_min (objective / reached_weight).
    """
    t0 = time.perf_counter()
    opts = options or SolverOptions()
    shape, w, e = check_inputs(minutes, weight, existing)
    k = _check_k(k, shape[1], "candidates")
    form, info = median_form(minutes, w, e, unserved_min)
    const = info["constant"]

    def obj(cost):
        return const + cost

    out = pipeline.solve(pipeline.CostProgram("pmedian", form, k, None, opts), opts, obj)
    info["unserved"] = _unserved(form, info, w, out.sites)
    info["mean_min"] = obj(out.value) / info["reached_weight"] if info["reached_weight"] else None
    marginal = heuristic.cost_marginals(form, out.sites)
    bound = None if out.bound is None else obj(out.bound)
    return _finish("pmedian", "min", out, obj(out.value), obj(form.baseline), bound, t0, marginal, info)


def _unserved(form, info, w, open_sites) -> float:
    """Weight of the users counted at the cap with ``open_sites``."""
    capped = info["_capped"].copy()
    capped[form.users[form.user_cost(open_sites) < form.base]] = False
    return float(w[capped].sum())


def capacitated(
    minutes,
    weight,
    k: int,
    limit_min: float,
    capacity,
    existing=None,
    *,
    options: SolverOptions | None = None,
) -> Solution:
    """Capacitated coverage: K new sites serving the most weight within ``limit_min``, each up to its capacity.

    The MCLP of Church & ReVelle (1974) with capacities on the sites and users' weights split
    across sites (an LP assignment; binary site variables); see model/planning/location/exact.py.

    Args:
        minutes: Users x candidates walking minutes (dense with inf, or sparse).
        weight: Per user, its weight.
        k: Number of new sites.
        limit_min: The coverage standard M.
        capacity: Weight a site can serve: a scalar or one per candidate (inf: no limit).
        existing: Per user, minutes to the nearest existing facility (None: there is none); users
            within M of one are served by it (existing capacities are not modelled).
        options: How it is solved (:class:`~model.planning.location.options.SolverOptions`; None: the defaults).

    Returns:
        The :class:`Solution`: ``objective`` is the weight covered by existing facilities plus
        the weight the new sites serve; ``details`` as for :func:`coverage`, plus served (by the
        new sites).
    """
    t0 = time.perf_counter()
    opts = options or SolverOptions()
    shape, w, e = check_inputs(minutes, weight, existing)
    k = _check_k(k, shape[1], "candidates")
    form, info = flow_form(minutes, w, e, limit_min, capacity)
    by = info["covered_by_existing"]

    def obj(cost):  # the pipeline's cost is the served weight negated
        return by - cost

    out = pipeline.solve(pipeline.FlowProgram(form, k, opts), opts, obj)
    sites, served = out.sites, -out.value
    marginal = np.array([served - form.served(np.delete(sites, i))[0] for i in range(sites.size)])
    info["served"] = served
    bound = None if out.bound is None else obj(out.bound)
    return _finish("capacitated", "max", out, obj(out.value), by, bound, t0, marginal, info)


def remove(
    minutes,
    weight,
    k: int,
    *,
    objective: str = "coverage",
    limit_min: float | None = None,
    other=None,
    unserved_min: float | None = None,
    options: SolverOptions | None = None,
) -> Solution:
    """Which K existing sites to close with the least loss: of coverage, or in weighted minutes.

    The complement problem: keep ``n - K`` of the ``n`` existing sites so as to maximise the
    coverage (MCLP, Church & ReVelle 1974) or minimise the weighted minutes (p-median, Hakimi
    1964; ReVelle & Swain 1970), with ``sum_j x_j = n - K``. The heuristic closes greedily (the
    site whose closing costs least, K times), then swaps.

    Args:
        minutes: Users x EXISTING sites walking minutes (dense with inf, or sparse).
        weight: Per user, its weight.
        k: Number of sites to close.
        objective: "coverage" (needs ``limit_min``) or "pmedian".
        limit_min: The coverage standard M (objective "coverage").
        other: Per user, minutes to the nearest facility that is not a candidate for closing
            (None: there is none).
        unserved_min: As in :func:`pmedian` (objective "pmedian").
        options: How it is solved (:class:`~model.planning.location.options.SolverOptions`; None: the defaults).

    Returns:
        The :class:`Solution`: ``sites`` are the sites to close (ascending), ``objective`` the
        covered weight (or weighted minutes) after closing them, ``baseline`` before; ``marginal``
        per closed site is what reopening it alone would win back; ``details`` as for the model.
    """
    t0 = time.perf_counter()
    opts = options or SolverOptions()
    shape, w, e = check_inputs(minutes, weight, other)
    k = _check_k(k, shape[1], "existing sites")
    if objective == "coverage":
        if limit_min is None:
            raise ValueError("remove(objective='coverage') needs limit_min")
        form, info = coverage_form(minutes, w, e, limit_min)
        sign, offset, sense = -1.0, info["total_weight"] - info["unreachable"], "max"
    elif objective == "pmedian":
        form, info = median_form(minutes, w, e, unserved_min)
        sign, offset, sense = 1.0, info["constant"], "min"
    else:
        raise ValueError(f"objective must be 'coverage' or 'pmedian', got {objective!r}")

    def obj(cost):
        return offset + sign * cost

    out = pipeline.solve(pipeline.CostProgram(objective, form, k, shape[1] - k, opts), opts, obj)
    kept = out.sites
    closed = np.setdiff1d(np.arange(shape[1]), kept)
    if objective == "pmedian":
        info["unserved"] = _unserved(form, info, w, kept)
    info["objective"] = objective
    out.sites = closed
    marginal = heuristic.cost_marginals(form, closed, closed=True)
    all_open = form.value(np.arange(shape[1]))
    bound = None if out.bound is None else obj(out.bound)
    return _finish("remove", sense, out, obj(out.value), obj(all_open), bound, t0, marginal, info)


# --------------------------------------------------------------------------- entry points


def solve(model: str, minutes, weight, k: int, *, options: SolverOptions | None = None, **arguments) -> Solution:
    """One entry for every model: ``solve("coverage", minutes, weight, 5, limit_min=10, existing=e)``.

    Args:
        model: "coverage", "pmedian", "capacitated" or "remove".
        minutes: Users x candidates (x existing sites for "remove") walking minutes.
        weight: Per user, its weight.
        k: Sites to choose (to close for "remove").
        options: How it is solved (:class:`~model.planning.location.options.SolverOptions`; None: the defaults).
        **arguments: The model's own keyword arguments (limit_min, existing, capacity,
            unserved_min, objective, other).
    """
    funcs = {"coverage": coverage, "pmedian": pmedian, "capacitated": capacitated, "remove": remove}
    if model not in funcs:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    return funcs[model](minutes, weight, k, options=options, **arguments)


def evaluate(model: str, minutes, weight, sites, **options) -> float:
    """The objective of a given choice (e.g. a planner's own plan), in the units of :class:`Solution`.

    Args:
        model: As in :func:`solve`.
        minutes: As in :func:`solve`.
        weight: Per user, its weight.
        sites: The chosen candidates (for "remove": the sites closed).
        **options: limit_min, existing, capacity, unserved_min, objective, other, as for the model.
    """
    sites = np.unique(np.asarray(sites, dtype=np.int64))
    if model == "remove":
        shape, w, e = check_inputs(minutes, weight, options.get("other"))
        kept = np.setdiff1d(np.arange(shape[1]), sites)
        if options.get("objective", "coverage") == "coverage":
            form, info = coverage_form(minutes, w, e, options["limit_min"])
            return info["total_weight"] - info["unreachable"] - form.value(kept)
        form, info = median_form(minutes, w, e, options.get("unserved_min"))
        return info["constant"] + form.value(kept)
    shape, w, e = check_inputs(minutes, weight, options.get("existing"))
    if model == "coverage":
        form, info = coverage_form(minutes, w, e, options["limit_min"])
        return info["total_weight"] - info["unreachable"] - form.value(sites)
    if model == "pmedian":
        form, info = median_form(minutes, w, e, options.get("unserved_min"))
        return info["constant"] + form.value(sites)
    if model == "capacitated":
        form, info = flow_form(minutes, w, e, options["limit_min"], options["capacity"])
        return info["covered_by_existing"] + form.served(sites)[0]
    raise ValueError(f"model must be one of {MODELS}, got {model!r}")
