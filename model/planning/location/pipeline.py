"""One solver pipeline for both forms: which solver runs, and the bounds that come with it.

Every model is a choice of sites on one of two forms (model/planning/location/forms.py), wrapped
here as a *program* that the pipeline solves without knowing which it is:

- :class:`CostProgram`: a :class:`~model.planning.location.forms.CostForm` (coverage, p-median,
  and both ``remove`` models), whose value is a cost;
- :class:`FlowProgram`: a :class:`~model.planning.location.forms.FlowForm` (capacitated
  coverage), whose value is the weight served; the program states it as a cost, the served
  weight negated, so that the pipeline always minimises and its bounds are always lower bounds.

The pipeline (:func:`solve`), by ``options.method``
(:class:`~model.planning.location.options.SolverOptions`):

- ``"exact"``: the MIP (model/planning/location/exact.py) within ``time_limit``; if HiGHS stops at
  its time limit, the heuristic runs too and the better choice is kept with the better bound.
- ``"heuristic"``: greedy + swap from ``starts`` first moves
  (model/planning/location/heuristic.py); then the bounds, cheapest first, each only while the
  gap is open: the greedy (submodular) bound, the Lagrangian bound
  (model/planning/location/bounds.py; ``lagrange`` iterations, None: as many as fit in a work
  budget), and the LP relaxation (``lp_bound`` True: always; None: if at most
  ``LP_MAX_NNZ[model]`` nonzeros), whose solution rounded to its K largest x_j is one more start
  for the swaps.
- ``"auto"``: exact when the MIP has at most ``EXACT_MAX_NNZ[model]`` nonzeros, else heuristic.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from model.planning.location import bounds, exact, heuristic
from model.planning.location.forms import CostForm, FlowForm
from model.planning.location.options import SolverOptions


@dataclass
class Outcome:
    """A choice in cost terms (the program's), and a lower bound on the optimal cost."""

    sites: np.ndarray
    value: float
    bound: float | None
    solver: str
    status: str
    info: dict


class CostProgram:
    """Choose on a CostForm: ``k`` sites (add), or ``keep`` sites that stay open (``remove``).

    Attributes:
        model: The name of the size rules (``EXACT_MAX_NNZ``, ``LP_MAX_NNZ``): "coverage" or "pmedian".
        form: The form.
        k: Sites to choose (add).
        keep: Sites kept open (``remove``), or None.
        size: Sites in the program's cardinality row: ``k``, or exactly ``keep``.
        mip_nnz: Nonzeros of the MIP's constraint matrix.
    """

    def __init__(self, model: str, form: CostForm, k: int, keep: int | None, options: SolverOptions):
        self.model, self.form, self.k, self.keep, self.options = model, form, k, keep, options
        self.keep_all = keep is not None
        self.lo, self.size = (0, k) if keep is None else (keep, keep)
        self.mip_nnz = exact.cost_nnz(form, keep_all=self.keep_all)

    def program(self, integral: bool = True) -> exact.MipResult:
        """The MIP (``integral``) or its LP relaxation, in cost terms."""
        form, lo, hi, o = self.form, self.lo, self.size, self.options
        if integral:
            return exact.solve_cost(
                form, lo, hi, keep_all=self.keep_all, time_limit=o.time_limit, mip_rel_gap=o.mip_rel_gap
            )
        return exact.solve_cost(form, lo, hi, keep_all=self.keep_all, integral=False, time_limit=o.time_limit)

    def complete(self, sites: np.ndarray, value: float) -> tuple[float, np.ndarray]:
        """The MIP's sites and their cost, completed to ``k`` by the best remaining gains (0 if optimal)."""
        if self.keep is None and sites.size < self.k:
            sites = heuristic.cost_greedy_swap(self.form, self.k, start=sites, swap=False).sites
        return self.form.value(sites), sites

    def multistart(self) -> tuple[heuristic.HeuristicResult, dict]:
        """Greedy + swap from several first moves, and the figures it adds to ``details``."""
        h = heuristic.cost_multistart(self.form, self.k, keep=self.keep, starts=self.options.runs("cost"))
        return h, {}

    def lagrangian(self, best: float, iterations: int) -> tuple[float, int]:
        """The Lagrangian lower bound on the cost (``best``: the best cost found), and its iterations."""
        return bounds.lagrangian(self.form, self.size, best, iterations)

    def from_lp(self, x: np.ndarray) -> heuristic.HeuristicResult:
        """Greedy + swap from the LP solution ``x`` rounded to its largest entries."""
        start = heuristic.rounded(x, self.size, exact=self.keep_all)
        return heuristic.cost_greedy_swap(self.form, self.k, keep=self.keep, start=start)

    def finish(self, sites: np.ndarray) -> np.ndarray:
        """The chosen sites as the model reports them (already ``k``, or ``keep``)."""
        return sites


class FlowProgram:
    """Choose ``k`` sites on the capacitated form; the cost is the served weight negated.

    The negation is exact in floating point, so the values and bounds the model reports are those of
    the served weight, bit for bit.
    """

    model = "capacitated"

    def __init__(self, form: FlowForm, k: int, options: SolverOptions):
        self.form, self.k, self.options = form, k, options
        self.mip_nnz = exact.flow_nnz(form)

    def program(self, integral: bool = True) -> exact.MipResult:
        """The MIP (``integral``) or its LP relaxation, in cost terms."""
        o = self.options
        if integral:
            r = exact.solve_flow(self.form, self.k, time_limit=o.time_limit, mip_rel_gap=o.mip_rel_gap)
        else:
            r = exact.solve_flow(self.form, self.k, integral=False, time_limit=o.time_limit)
        return replace(r, value=_negated(r.value), bound=_negated(r.bound))

    def complete(self, sites: np.ndarray, value: float) -> tuple[float, np.ndarray]:
        """The MIP's sites and cost; :meth:`finish` completes them (the MIP found no more weight to serve)."""
        return value, sites

    def multistart(self) -> tuple[heuristic.HeuristicResult, dict]:
        """Greedy + swap from several first sites, and the figures it adds to ``details``."""
        h = heuristic.flow_multistart(self.form, self.k, screen=self.options.screen, starts=self.options.runs("flow"))
        return replace(h, value=-h.value, bound=_negated(h.bound)), {"lps": h.evaluations}

    def lagrangian(self, best: float, iterations: int) -> tuple[float, int]:
        """The Lagrangian bound of the coverage on the same pairs, as a lower bound on the cost."""
        up, done = bounds.flow_bound(self.form, self.k, -best, iterations)
        return -up, done

    def from_lp(self, x: np.ndarray) -> heuristic.HeuristicResult:
        """Greedy + swap from the LP solution ``x`` rounded to its ``k`` largest entries.

        The run's own bound is left out: the capacitated model reports the best of the bounds
        written in ``details`` (the greedy, Lagrangian, LP and MIP bounds).
        """
        r = heuristic.flow_greedy_swap(
            self.form, self.k, screen=self.options.screen, start=heuristic.rounded(x, self.k)
        )
        return replace(r, value=-r.value, bound=None)

    def finish(self, sites: np.ndarray) -> np.ndarray:
        """``sites`` padded to ``k`` with the lowest unused indices (a MIP choice serving all it can)."""
        if sites.size >= self.k:
            return sites
        free = np.setdiff1d(np.arange(self.form.n), sites)
        return np.sort(np.r_[sites, free[: self.k - sites.size]])


def _negated(x: float | None) -> float | None:
    return None if x is None else -x


def _conv(f, x):
    """``f(x)`` as a float, or None for a missing or infinite ``x``."""
    return None if x is None or not np.isfinite(x) else float(f(x))


def _closed(gap: float, value: float) -> bool:
    return gap <= 1e-9 * max(1.0, abs(value))


def solve(program: CostProgram | FlowProgram, options: SolverOptions, to_obj) -> Outcome:
    """Choose the sites of ``program``; ``to_obj`` converts a cost into the model's objective (for ``details``).

    Ties between equal costs go to the MIP's choice, then greedy's, then the rounded LP's.
    """
    form = program.form
    info = {"pairs": form.nnz, "program_users": int(form.users.size), "mip_nnz": program.mip_nnz}
    found, lower, mip = [], -np.inf, None  # (cost, sites) found; a lower bound on the cost
    use_exact = options.exact(program.model, program.mip_nnz)
    if use_exact:
        mip = program.program()
        info.update(mip_message=mip.message, mip_nodes=mip.nodes, mip_bound=_conv(to_obj, mip.bound))
        if mip.bound is not None:
            lower = mip.bound
        if mip.sites is not None:
            found.append(program.complete(mip.sites, mip.value))
            if mip.status == "optimal":
                cost, sites = found[0]
                return Outcome(program.finish(sites), cost, _finite(lower), "highs-milp", "optimal", info)
    lower = _heuristic(program, options, to_obj, info, found, lower, lp=not use_exact)
    cost, sites = min(found, key=lambda o: o[0])
    solver, status = ("highs-milp+greedy-swap", mip.status) if use_exact else ("greedy-swap", "heuristic")
    return Outcome(program.finish(sites), cost, _finite(lower), solver, status, info)


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _heuristic(program, options: SolverOptions, to_obj, info: dict, found: list, lower: float, lp: bool) -> float:
    """Greedy + swap and the bounds, cheapest first while a gap is left; appends to ``found``, returns the bound.

    ``lp``: the LP relaxation may run (not after the MIP, whose bound is at least as good).
    """
    h, extra = program.multistart()
    info.update(swaps=h.swaps, passes=h.passes, starts=h.runs, greedy_bound=_conv(to_obj, h.bound), **extra)
    found.append((h.value, h.sites))
    lower = max(lower, h.bound)
    best = min(o[0] for o in found)
    iterations = options.iterations(program.form.nnz)
    if iterations and not _closed(best - lower, best):
        low, done = program.lagrangian(best, iterations)
        info.update(lagrangian_bound=_conv(to_obj, low), lagrangian_iterations=done)
        lower = max(lower, low)
    wanted = options.lp_bound or (options.lp(program.model, program.mip_nnz) and not _closed(best - lower, best))
    if not (lp and wanted):
        return lower
    relaxed = program.program(integral=False)
    info.update(lp_bound=_conv(to_obj, relaxed.bound), lp_message=relaxed.message)
    if relaxed.bound is not None:
        lower = max(lower, relaxed.bound)
    if relaxed.x is not None:  # the rounded LP solution, improved by swaps, competes with greedy's
        r = program.from_lp(relaxed.x)
        info["lp_rounding"] = _conv(to_obj, r.value)
        found.append((r.value, r.sites))
        if r.bound is not None:
            lower = max(lower, r.bound)
    return lower
