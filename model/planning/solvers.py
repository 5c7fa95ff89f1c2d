"""Which solver runs, and the bounds that come with it (``method`` of model/planning/locate.py).

- ``"exact"``: the MIP (model/planning/exact.py) within ``time_limit``; if HiGHS stops at its
  time limit, the heuristic runs too and the better choice is kept with the better bound.
- ``"heuristic"``: greedy + swap from ``starts`` first moves (model/planning/heuristic.py); then
  the bounds, cheapest first, each only while the gap is open: the greedy (submodular) bound,
  the Lagrangian bound (model/planning/bounds.py; ``lagrange`` iterations, None: as many as fit
  in a work budget), and the LP relaxation (``lp_bound`` True: always; None: if at most
  ``LP_MAX_NNZ[model]`` nonzeros), whose solution rounded to its K largest x_j is one more
  start for the swaps.
- ``"auto"``: exact when the MIP has at most ``EXACT_MAX_NNZ[model]`` nonzeros, else heuristic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.planning import bounds, exact, heuristic
from model.planning.problem import CostForm, FlowForm

# The size rule of method="auto": exact when the MIP's constraint matrix has at most this many
# nonzeros (``details["mip_nnz"]``), by model. Measured with HiGHS 1.12 (scipy 1.17) on random
# walkable grids with clustered homes, K = 5, one core: coverage 92,000 nonzeros 0.5 s, 281,000
# 1.1 s, 875,000 9 s; p-median 118,000 1.4 s, 283,000 7.7 s, 690,000 35 s; capacitated 70,000
# 0.3 to 8 s (binding capacities are the slow case), 160,000 0.8 s to over 30 s.
EXACT_MAX_NNZ = {"coverage": 300_000, "pmedian": 150_000, "capacitated": 70_000}
# The heuristic's LP relaxation, when the greedy and Lagrangian bounds leave a gap and lp_bound
# is None, up to this many nonzeros (LP times as for the MIPs above, and as variable).
LP_MAX_NNZ = {"coverage": 1_000_000, "pmedian": 200_000, "capacitated": 100_000}
METHODS = ("auto", "exact", "heuristic")


@dataclass(frozen=True)
class Options:
    """The solver options of every model (documented in model/planning/locate.py)."""

    method: str = "auto"
    time_limit: float | None = 10.0
    mip_rel_gap: float = 1e-7
    lp_bound: bool | None = None
    lagrange: int | None = None
    starts: int = 8
    screen: int = 10

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")

    def exact(self, model: str, nnz: int) -> bool:
        """Whether the MIP runs."""
        return self.method == "exact" or (self.method == "auto" and nnz <= EXACT_MAX_NNZ[model])

    def lp(self, model: str, nnz: int) -> bool:
        """Whether the heuristic's LP relaxation may run when a gap is left (``lp_bound`` True: always runs)."""
        return bool(self.lp_bound) or (self.lp_bound is None and nnz <= LP_MAX_NNZ[model])

    def iterations(self, pairs: int) -> int:
        """Lagrangian iterations."""
        return bounds.auto_iterations(pairs) if self.lagrange is None else int(self.lagrange)


@dataclass
class Outcome:
    """A choice in the form's terms: cost (CostForm) or served weight (FlowForm), and its bound."""

    sites: np.ndarray
    value: float
    bound: float | None
    solver: str
    status: str
    info: dict


def _conv(f, x):
    return None if x is None or not np.isfinite(x) else float(f(x))


def _closed(gap: float, value: float) -> bool:
    return gap <= 1e-9 * max(1.0, abs(value))


def solve_cost(model: str, form: CostForm, k: int, keep: int | None, opts: Options, to_obj) -> Outcome:
    """Choose on a CostForm: ``k`` sites (add) or ``keep`` open sites (``remove``).

    ``to_obj`` converts a cost into the model's objective, for the bounds written in ``info``.
    """
    keep_all = keep is not None
    nnz = exact.cost_nnz(form, keep_all=keep_all)
    info = {"pairs": form.nnz, "program_users": int(form.users.size), "mip_nnz": nnz}
    lo, hi = (0, k) if keep is None else (keep, keep)
    options, lower, mip = [], -np.inf, None  # (cost, sites); a lower bound on the cost
    use_exact = opts.exact(model, nnz)
    if use_exact:
        mip = exact.solve_cost(
            form, lo, hi, keep_all=keep_all, time_limit=opts.time_limit, mip_rel_gap=opts.mip_rel_gap
        )
        info.update(mip_message=mip.message, mip_nodes=mip.nodes, mip_bound=_conv(to_obj, mip.bound))
        if mip.bound is not None:
            lower = mip.bound
        if mip.sites is not None:
            sites = mip.sites
            if keep is None and sites.size < k:  # pad: the best remaining gains (0 if optimal)
                sites = heuristic.cost_greedy_swap(form, k, start=sites, swap=False).sites
            options.append((form.value(sites), sites))
            if mip.status == "optimal":
                return Outcome(sites, options[0][0], lower, "highs-milp", "optimal", info)
    h = heuristic.cost_multistart(form, k, keep=keep, starts=opts.starts)
    info.update(swaps=h.swaps, passes=h.passes, starts=h.runs, greedy_bound=_conv(to_obj, h.bound))
    options.append((h.value, h.sites))
    lower = max(lower, h.bound)
    best = min(o[0] for o in options)
    iterations = opts.iterations(form.nnz)
    if iterations and not _closed(best - lower, best):
        low, done = bounds.lagrangian(form, hi, best, iterations)
        info.update(lagrangian_bound=_conv(to_obj, low), lagrangian_iterations=done)
        lower = max(lower, low)
    if not use_exact and (opts.lp_bound or (opts.lp(model, nnz) and not _closed(best - lower, best))):
        lp = exact.solve_cost(form, lo, hi, keep_all=keep_all, integral=False, time_limit=opts.time_limit)
        info.update(lp_bound=_conv(to_obj, lp.bound), lp_message=lp.message)
        if lp.bound is not None:
            lower = max(lower, lp.bound)
        if lp.x is not None:  # the rounded LP solution, improved by swaps, competes with greedy's
            r = heuristic.cost_greedy_swap(form, k, keep=keep, start=heuristic.rounded(lp.x, hi, exact=keep_all))
            info["lp_rounding"] = _conv(to_obj, r.value)
            options.append((r.value, r.sites))
            lower = max(lower, r.bound)
    cost, sites = min(options, key=lambda o: o[0])  # ties: the MIP's, then greedy's
    if use_exact:
        return Outcome(sites, cost, lower, "highs-milp+greedy-swap", mip.status, info)
    return Outcome(sites, cost, lower, "greedy-swap", "heuristic", info)


def solve_flow(form: FlowForm, k: int, opts: Options, to_obj) -> Outcome:
    """Choose ``k`` sites on the capacitated form; values in served weight (``to_obj`` as above)."""
    nnz = exact.flow_nnz(form)
    info = {"pairs": form.nnz, "program_users": int(form.users.size), "mip_nnz": nnz}
    options, upper = [], np.inf  # (served, sites); an upper bound on the served weight
    solver, status = "greedy-swap", "heuristic"
    use_exact = opts.exact("capacitated", nnz)
    if use_exact:
        mip = exact.solve_flow(form, k, time_limit=opts.time_limit, mip_rel_gap=opts.mip_rel_gap)
        info.update(mip_message=mip.message, mip_nodes=mip.nodes, mip_bound=_conv(to_obj, mip.bound))
        solver, status = "highs-milp", mip.status
        if mip.bound is not None:
            upper = mip.bound
        if mip.sites is not None:
            options.append((mip.value, mip.sites))
    if status != "optimal" or not options:
        h = heuristic.flow_multistart(form, k, screen=opts.screen, starts=opts.starts)
        info.update(
            swaps=h.swaps, passes=h.passes, starts=h.runs, greedy_bound=_conv(to_obj, h.bound), lps=h.evaluations
        )
        options.append((h.value, h.sites))
        upper = min(upper, h.bound)
        best = max(o[0] for o in options)
        iterations = opts.iterations(form.nnz)
        if iterations and not _closed(upper - best, best):
            up, done = bounds.flow_bound(form, k, best, iterations)
            info.update(lagrangian_bound=_conv(to_obj, up), lagrangian_iterations=done)
            upper = min(upper, up)
        if use_exact:
            solver = "highs-milp+greedy-swap"
        elif opts.lp_bound or (opts.lp("capacitated", nnz) and not _closed(upper - best, best)):
            lp = exact.solve_flow(form, k, integral=False, time_limit=opts.time_limit)
            info.update(lp_bound=_conv(to_obj, lp.bound), lp_message=lp.message)
            if lp.bound is not None:
                upper = min(upper, lp.bound)
            if lp.x is not None:  # the rounded LP solution, improved by swaps
                r = heuristic.flow_greedy_swap(form, k, screen=opts.screen, start=heuristic.rounded(lp.x, k))
                info["lp_rounding"] = _conv(to_obj, r.value)
                options.append((r.value, r.sites))
    served, sites = max(options, key=lambda o: o[0])  # ties: the MIP's, then greedy's
    if sites.size < k:  # pad with the lowest unused indices (the MIP found no more weight to serve)
        free = np.setdiff1d(np.arange(form.n), sites)
        sites = np.sort(np.r_[sites, free[: k - sites.size]])
    return Outcome(sites, served, None if not np.isfinite(upper) else upper, solver, status, info)
