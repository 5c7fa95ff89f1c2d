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

Models (the formulations as integer programs are in model/planning/exact.py):

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

Solvers (``method``):

- ``"exact"``: the MIP solved by HiGHS through ``scipy.optimize.milp`` (sparse constraints),
  within ``time_limit`` seconds. If HiGHS stops at its time limit the heuristic is run too and
  the better choice is returned with HiGHS's bound (status "time_limit").
- ``"heuristic"``: greedy + swap (Teitz & Bart 1968; model/planning/heuristic.py), with a bound:
  the greedy (submodular) bound, and the LP relaxation when ``lp_bound`` is True, or None and
  the LP has at most ``LP_MAX_NNZ`` nonzeros.
- ``"auto"`` (default): exact when the MIP's constraint matrix has at most ``EXACT_MAX_NNZ``
  nonzeros (about that many user-candidate pairs within reach that can improve on existing
  facilities: pairs + users + candidates for coverage, 3 x pairs for the p-median, 4 x pairs for
  capacitated), else the heuristic.

Results: ``Solution.sites`` are candidate indices in ascending order; exactly ``k`` are returned
(if fewer sites improve the objective, the rest are those of largest, then zero, gain, lowest
index first, and their ``marginal`` is 0).

Determinism: no randomness. The heuristic breaks ties to the lower candidate index; HiGHS is
deterministic for the same input, but among several optima it returns the one it finds.
"""

from __future__ import annotations

import time

import numpy as np

from model.planning import exact, heuristic
from model.planning.problem import (
    COVERAGE,
    MEDIAN,
    CostForm,
    FlowForm,
    Solution,
    check_inputs,
    finite_rows_and_max,
    pairs_below,
)

# The size rule of method="auto": exact when the MIP's constraint matrix has at most this many
# nonzeros (measured: such MCLPs solve in well under a second to a few seconds with HiGHS).
EXACT_MAX_NNZ = 200_000
# The heuristic's LP relaxation bound is computed (lp_bound=None) up to this many nonzeros.
LP_MAX_NNZ = 1_000_000
METHODS = ("auto", "exact", "heuristic")
MODELS = ("coverage", "pmedian", "capacitated", "remove")


def _check_k(k, n: int, what: str) -> int:
    if int(k) != k or k < 0:
        raise ValueError(f"k must be an integer >= 0, got {k}")
    if k > n:
        raise ValueError(f"k = {k} is more than the {n} {what}")
    return int(k)


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


# --------------------------------------------------------------------------- forms of the models


def _coverage_form(minutes, w, e, limit_min: float) -> tuple[CostForm, dict]:
    shape = minutes.shape
    covered = e <= limit_min
    thr = np.where(~covered & (w > 0), float(limit_min), -np.inf)
    r, c, _ = pairs_below(minutes, thr, strict=False)
    form = CostForm.build(COVERAGE, shape, w, np.ones(shape[0]), r, c, np.zeros(r.size))
    total, by_existing = float(w.sum()), float(w[covered].sum())
    info = {
        "total_weight": total,
        "covered_by_existing": by_existing,
        "coverable": float(form.weight.sum()),
        "unreachable": total - by_existing - float(form.weight.sum()),
    }
    return form, info


def _median_form(minutes, w, e, unserved_min) -> tuple[CostForm, dict]:
    shape = minutes.shape
    has, mx = finite_rows_and_max(minutes)
    fe = np.isfinite(e)
    horizon = max(mx, float(e[fe].max()) if fe.any() else 0.0)
    cap = horizon if unserved_min is None else float(unserved_min)
    if not np.isfinite(cap) or cap < 0:
        raise ValueError(f"unserved_min must be finite and >= 0, got {unserved_min}")
    reach = (fe | has) & (w > 0)
    base = np.where(reach, np.minimum(e, cap), np.inf)
    r, c, v = pairs_below(minutes, base, strict=True)
    form = CostForm.build(MEDIAN, shape, w, base, r, c, v)
    out = np.ones(shape[0], dtype=bool)
    out[form.users] = False
    constant = float(w[reach & out] @ base[reach & out])
    info = {
        "unserved_min": cap,
        "reached_weight": float(w[reach].sum()),
        "unreachable": float(w[(w > 0) & ~reach].sum()),
        "constant": constant,
        "_capped": reach & ~(e < cap),  # counted at the cap unless a chosen site serves them
    }
    return form, info


def _flow_form(minutes, w, e, limit_min: float, capacity) -> tuple[FlowForm, dict]:
    shape = minutes.shape
    cap = np.asarray(capacity, dtype=float)
    cap = np.full(shape[1], float(cap)) if cap.ndim == 0 else cap
    if cap.shape != (shape[1],) or np.isnan(cap).any() or (cap < 0).any():
        raise ValueError(f"capacity must be a scalar or ({shape[1]},) of values >= 0")
    covered = e <= limit_min
    thr = np.where(~covered & (w > 0), float(limit_min), -np.inf)
    r, c, _ = pairs_below(minutes, thr, strict=False)
    form = FlowForm.build(shape, w, ~covered, cap, r, c)
    total, by_existing = float(w.sum()), float(w[covered].sum())
    info = {
        "total_weight": total,
        "covered_by_existing": by_existing,
        "coverable": float(form.weight.sum()),
        "unreachable": total - by_existing - float(form.weight.sum()),
    }
    return form, info


# --------------------------------------------------------------------------- solving a CostForm


def _solve_cost(form: CostForm, k: int, keep: int | None, method: str, time_limit, mip_rel_gap, lp_bound, to_obj):
    """Choose on a CostForm: ``k`` sites (add) or ``keep`` open sites.

    Returns ``(sites, cost, lower, solver, status, info)``; the bounds in ``info`` are converted
    to the model's objective by ``to_obj`` (from a cost).
    """
    keep_all = keep is not None
    nnz = exact.cost_nnz(form, keep_all=keep_all)
    info = {"pairs": form.nnz, "program_users": int(form.users.size), "mip_nnz": nnz}
    lo, hi = (0, k) if keep is None else (keep, keep)
    use_exact = method == "exact" or (method == "auto" and nnz <= EXACT_MAX_NNZ)
    options, lower = [], -np.inf  # (cost, sites); a lower bound on the cost
    if use_exact:
        mip = exact.solve_cost(form, lo, hi, keep_all=keep_all, time_limit=time_limit, mip_rel_gap=mip_rel_gap)
        info.update(mip_message=mip.message, mip_nodes=mip.nodes, mip_bound=_conv(to_obj, mip.bound))
        if mip.bound is not None:
            lower = mip.bound
        if mip.sites is not None:
            sites = mip.sites
            if keep is None and sites.size < k:  # pad: the best remaining gains (0 if optimal)
                sites = heuristic.cost_greedy_swap(form, k, start=sites, swap=False).sites
            options.append((form.value(sites), sites))
            if mip.status == "optimal":
                return sites, options[0][0], lower, "highs-milp", "optimal", info
    h = heuristic.cost_greedy_swap(form, k, keep=keep)
    info.update(swaps=h.swaps, passes=h.passes, greedy_bound=_conv(to_obj, h.bound))
    options.append((h.value, h.sites))
    lower = max(lower, h.bound)
    if not use_exact and (lp_bound or (lp_bound is None and nnz <= LP_MAX_NNZ)):
        lp = exact.solve_cost(form, lo, hi, keep_all=keep_all, integral=False)
        info["lp_bound"] = _conv(to_obj, lp.bound)
        if lp.bound is not None:
            lower = max(lower, lp.bound)
        if lp.x is not None:  # the rounded LP solution, improved by swaps, competes with greedy's
            r = heuristic.cost_greedy_swap(
                form, k, keep=keep, start=heuristic.rounded(lp.x, hi) if keep is None else _round_keep(lp.x, keep)
            )
            info["lp_rounding"] = _conv(to_obj, r.value)
            options.append((r.value, r.sites))
            lower = max(lower, r.bound)
    cost, sites = min(options, key=lambda o: o[0])  # ties: the MIP's, then greedy's
    if use_exact:
        return sites, cost, lower, "highs-milp+greedy-swap", mip.status, info
    return sites, cost, lower, "greedy-swap", "heuristic", info


def _round_keep(x: np.ndarray, keep: int) -> np.ndarray:
    """The ``keep`` sites of largest LP value (ties to the lower index)."""
    return np.sort(np.argsort(-x, kind="stable")[:keep])


def _conv(to_obj, x):
    return None if x is None else float(to_obj(x))


def _finish(model, sense, sites, objective, baseline, bound, solver, status, t0, marginal, info) -> Solution:
    info = {k: v for k, v in info.items() if not k.startswith("_")}
    if bound is not None and abs(bound - objective) <= 1e-9 * max(1.0, abs(objective)):
        bound = objective  # the LP's round-off on the wrong side of an optimal solution
    return Solution(
        model=model,
        sites=np.asarray(sites, dtype=np.int64),
        objective=float(objective),
        baseline=float(baseline),
        bound=None if bound is None else float(bound),
        sense=sense,
        solver=solver,
        status=status,
        seconds=time.perf_counter() - t0,
        marginal=np.asarray(marginal, dtype=float),
        details=info,
    )


# --------------------------------------------------------------------------- the models


def coverage(
    minutes,
    weight,
    k: int,
    limit_min: float,
    existing=None,
    *,
    method: str = "auto",
    time_limit: float | None = 10.0,
    mip_rel_gap: float = 1e-7,
    lp_bound: bool | None = None,
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
        method: "auto", "exact" or "heuristic" (module docstring).
        time_limit: Seconds for HiGHS (None: no limit).
        mip_rel_gap: HiGHS's relative optimality gap.
        lp_bound: Whether the heuristic also computes the LP relaxation bound (None: if small).

    Returns:
        The :class:`Solution`: ``objective`` is the covered weight (existing facilities
        included), ``details`` has total_weight, covered_by_existing, coverable (weight within M
        of a candidate and not covered yet) and unreachable (the rest).
    """
    t0 = time.perf_counter()
    _check_method(method)
    shape, w, e = check_inputs(minutes, weight, existing)
    k = _check_k(k, shape[1], "candidates")
    form, info = _coverage_form(minutes, w, e, limit_min)
    top = info["total_weight"] - info["unreachable"]  # covered = top - uncovered program weight
    sites, cost, lower, solver, status, more = _solve_cost(
        form, k, None, method, time_limit, mip_rel_gap, lp_bound, lambda c: top - c
    )
    marginal = heuristic.cost_marginals(form, sites)
    bound = None if lower is None else top - lower
    return _finish(
        "coverage", "max", sites, top - cost, top - form.baseline, bound, solver, status, t0, marginal, info | more
    )


def pmedian(
    minutes,
    weight,
    k: int,
    existing=None,
    *,
    unserved_min: float | None = None,
    method: str = "auto",
    time_limit: float | None = 10.0,
    mip_rel_gap: float = 1e-7,
    lp_bound: bool | None = None,
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
        method: "auto", "exact" or "heuristic".
        time_limit: Seconds for HiGHS (None: no limit).
        mip_rel_gap: HiGHS's relative optimality gap.
        lp_bound: Whether the heuristic also computes the LP relaxation bound (None: if small).

    Returns:
        The :class:`Solution`: ``objective`` is the total weighted minutes over the users who reach
        some facility or candidate; ``details`` has unserved_min, reached_weight, unreachable
        (weight left out: nothing reachable), unserved (weight counted at unserved_min in the
        solution) and mean_min (objective / reached_weight).
    """
    t0 = time.perf_counter()
    _check_method(method)
    shape, w, e = check_inputs(minutes, weight, existing)
    k = _check_k(k, shape[1], "candidates")
    form, info = _median_form(minutes, w, e, unserved_min)
    const = info["constant"]
    sites, cost, lower, solver, status, more = _solve_cost(
        form, k, None, method, time_limit, mip_rel_gap, lp_bound, lambda c: const + c
    )
    capped = info["_capped"].copy()
    capped[form.users[form.user_cost(sites) < form.base]] = False
    info["unserved"] = float(w[capped].sum())
    info["mean_min"] = (const + cost) / info["reached_weight"] if info["reached_weight"] else None
    marginal = heuristic.cost_marginals(form, sites)
    bound = None if lower is None else const + lower
    return _finish(
        "pmedian", "min", sites, const + cost, const + form.baseline, bound, solver, status, t0, marginal, info | more
    )


def capacitated(
    minutes,
    weight,
    k: int,
    limit_min: float,
    capacity,
    existing=None,
    *,
    method: str = "auto",
    time_limit: float | None = 10.0,
    mip_rel_gap: float = 1e-7,
    lp_bound: bool | None = None,
    screen: int = 10,
) -> Solution:
    """Capacitated coverage: K new sites serving the most weight within ``limit_min``, each up to its capacity.

    The MCLP of Church & ReVelle (1974) with capacities on the sites and users' weights split
    across sites (an LP assignment; binary site variables); see model/planning/exact.py.

    Args:
        minutes: Users x candidates walking minutes (dense with inf, or sparse).
        weight: Per user, its weight.
        k: Number of new sites.
        limit_min: The coverage standard M.
        capacity: Weight a site can serve: a scalar or one per candidate (inf: no limit).
        existing: Per user, minutes to the nearest existing facility (None: there is none); users
            within M of one are served by it (existing capacities are not modelled).
        method: "auto", "exact" or "heuristic".
        time_limit: Seconds for HiGHS (None: no limit).
        mip_rel_gap: HiGHS's relative optimality gap.
        lp_bound: Whether the heuristic also computes the LP relaxation bound (None: if small).
        screen: The heuristic's number of candidates evaluated exactly (one LP each) per step.

    Returns:
        The :class:`Solution`: ``objective`` is the weight covered by existing facilities plus
        the weight the new sites serve; ``details`` as for :func:`coverage`, plus served (by the
        new sites).
    """
    t0 = time.perf_counter()
    _check_method(method)
    shape, w, e = check_inputs(minutes, weight, existing)
    k = _check_k(k, shape[1], "candidates")
    form, info = _flow_form(minutes, w, e, limit_min, capacity)
    nnz = exact.flow_nnz(form)
    by = info["covered_by_existing"]
    info.update(pairs=form.nnz, program_users=int(form.users.size), mip_nnz=nnz)
    use_exact = method == "exact" or (method == "auto" and nnz <= EXACT_MAX_NNZ)
    options, upper = [], np.inf  # (served, sites); an upper bound on the served weight
    solver, status = "greedy-swap", "heuristic"
    if use_exact:
        mip = exact.solve_flow(form, k, time_limit=time_limit, mip_rel_gap=mip_rel_gap)
        info.update(mip_message=mip.message, mip_nodes=mip.nodes, mip_bound=_conv(lambda v: by + v, mip.bound))
        solver, status = "highs-milp", mip.status
        if mip.bound is not None:
            upper = mip.bound
        if mip.sites is not None:
            options.append((mip.value, mip.sites))
    if status != "optimal" or not options:
        h = heuristic.flow_greedy_swap(form, k, screen=screen)
        info.update(swaps=h.swaps, passes=h.passes, greedy_bound=by + h.bound, lps=h.evaluations)
        options.append((h.value, h.sites))
        upper = min(upper, h.bound)
        if use_exact:
            solver = "highs-milp+greedy-swap"
        elif lp_bound or (lp_bound is None and nnz <= LP_MAX_NNZ):
            lp = exact.solve_flow(form, k, integral=False)
            info["lp_bound"] = _conv(lambda v: by + v, lp.bound)
            if lp.bound is not None:
                upper = min(upper, lp.bound)
            if lp.x is not None:  # the rounded LP solution, improved by swaps
                r = heuristic.flow_greedy_swap(form, k, screen=screen, start=heuristic.rounded(lp.x, k))
                info["lp_rounding"] = by + r.value
                options.append((r.value, r.sites))
    served, sites = max(options, key=lambda o: o[0])  # ties: the MIP's, then greedy's
    if sites.size < k:  # pad with the lowest unused indices (the MIP found no more weight to serve)
        free = np.setdiff1d(np.arange(shape[1]), sites)
        sites = np.sort(np.r_[sites, free[: k - sites.size]])
    marginal = np.array([served - form.served(np.delete(sites, i))[0] for i in range(sites.size)])
    info["served"] = served
    bound = None if not np.isfinite(upper) else by + upper
    return _finish("capacitated", "max", sites, by + served, by, bound, solver, status, t0, marginal, info)


def remove(
    minutes,
    weight,
    k: int,
    *,
    objective: str = "coverage",
    limit_min: float | None = None,
    other=None,
    unserved_min: float | None = None,
    method: str = "auto",
    time_limit: float | None = 10.0,
    mip_rel_gap: float = 1e-7,
    lp_bound: bool | None = None,
) -> Solution:
    """Which K existing sites to close with the least loss: of coverage, or in weighted minutes.

    The complement problem: keep ``n - K`` of the ``n`` existing sites so as to maximise the
    coverage (MCLP, Church & ReVelle 1974) or minimise the weighted minutes (p-median, Hakimi
    1964; ReVelle & Swain 1970), with ``sum_j x_j = n - K``.

    Args:
        minutes: Users x EXISTING sites walking minutes (dense with inf, or sparse).
        weight: Per user, its weight.
        k: Number of sites to close.
        objective: "coverage" (needs ``limit_min``) or "pmedian".
        limit_min: The coverage standard M (objective "coverage").
        other: Per user, minutes to the nearest facility that is not a candidate for closing
            (None: there is none).
        unserved_min: As in :func:`pmedian` (objective "pmedian").
        method: "auto", "exact" or "heuristic".
        time_limit: Seconds for HiGHS (None: no limit).
        mip_rel_gap: HiGHS's relative optimality gap.
        lp_bound: Whether the heuristic also computes the LP relaxation bound (None: if small).

    Returns:
        The :class:`Solution`: ``sites`` are the sites to close (ascending), ``objective`` the
        covered weight (or weighted minutes) after closing them, ``baseline`` before; ``marginal``
        per closed site is what reopening it alone would win back; ``details`` as for the model.
    """
    t0 = time.perf_counter()
    _check_method(method)
    shape, w, e = check_inputs(minutes, weight, other)
    k = _check_k(k, shape[1], "existing sites")
    keep = shape[1] - k
    if objective == "coverage":
        if limit_min is None:
            raise ValueError("remove(objective='coverage') needs limit_min")
        form, info = _coverage_form(minutes, w, e, limit_min)
        top = info["total_weight"] - info["unreachable"]
        sign, offset, sense = -1.0, top, "max"
    elif objective == "pmedian":
        form, info = _median_form(minutes, w, e, unserved_min)
        sign, offset, sense = 1.0, info["constant"], "min"
    else:
        raise ValueError(f"objective must be 'coverage' or 'pmedian', got {objective!r}")
    kept, cost, lower, solver, status, more = _solve_cost(
        form, k, keep, method, time_limit, mip_rel_gap, lp_bound, lambda c: offset + sign * c
    )
    closed = np.setdiff1d(np.arange(shape[1]), kept)
    all_open = form.value(np.arange(shape[1]))
    marginal = heuristic.cost_marginals(form, closed, closed=True)
    if objective == "pmedian":
        capped = info["_capped"].copy()
        capped[form.users[form.user_cost(kept) < form.base]] = False
        info["unserved"] = float(w[capped].sum())
    bound = None if lower is None else offset + sign * lower
    return _finish(
        "remove",
        sense,
        closed,
        offset + sign * cost,
        offset + sign * all_open,
        bound,
        solver,
        status,
        t0,
        marginal,
        info | more | {"objective": objective},
    )


# --------------------------------------------------------------------------- entry points


def solve(model: str, minutes, weight, k: int, *, method: str = "auto", **options) -> Solution:
    """One entry for every model: ``solve("coverage", minutes, weight, 5, limit_min=10, existing=e)``.

    Args:
        model: "coverage", "pmedian", "capacitated" or "remove".
        minutes: Users x candidates (x existing sites for "remove") walking minutes.
        weight: Per user, its weight.
        k: Sites to choose (to close for "remove").
        method: "auto", "exact" or "heuristic" (module docstring for the size rule of "auto").
        **options: The keyword arguments of the model's function (limit_min, existing, capacity,
            unserved_min, objective, other, time_limit, mip_rel_gap, lp_bound, screen).
    """
    funcs = {"coverage": coverage, "pmedian": pmedian, "capacitated": capacitated, "remove": remove}
    if model not in funcs:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    return funcs[model](minutes, weight, k, method=method, **options)


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
            form, info = _coverage_form(minutes, w, e, options["limit_min"])
            return info["total_weight"] - info["unreachable"] - form.value(kept)
        form, info = _median_form(minutes, w, e, options.get("unserved_min"))
        return info["constant"] + form.value(kept)
    shape, w, e = check_inputs(minutes, weight, options.get("existing"))
    if model == "coverage":
        form, info = _coverage_form(minutes, w, e, options["limit_min"])
        return info["total_weight"] - info["unreachable"] - form.value(sites)
    if model == "pmedian":
        form, info = _median_form(minutes, w, e, options.get("unserved_min"))
        return info["constant"] + form.value(sites)
    if model == "capacitated":
        form, info = _flow_form(minutes, w, e, options["limit_min"], options["capacity"])
        return info["covered_by_existing"] + form.served(sites)[0]
    raise ValueError(f"model must be one of {MODELS}, got {model!r}")
