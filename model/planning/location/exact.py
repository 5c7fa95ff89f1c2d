"""Exact solver: the location models as mixed-integer programs, solved by HiGHS (``scipy.optimize.milp``).

Notation: users i (weight w_i), candidates j, binary x_j = 1 if j is chosen, N_i the candidates
within the standard of i (``minutes_ij <= M``), d_ij the minutes, b_i the base (minutes to the
nearest existing facility, capped; see model/planning/location/models.py). Only the users whose value can
change and the candidates paired with one of them enter the program (model/planning/location/forms.py).

Maximal covering location problem (MCLP; Church & ReVelle 1974), continuous y_i = covered::

    max  sum_i w_i y_i
    s.t. y_i <= sum_{j in N_i} x_j        (i not covered by an existing facility)
         sum_j x_j <= K,   x_j in {0, 1},  0 <= y_i <= 1

y needs no integrality: with x binary the optimal y_i is min(1, sum x_j), 0 or 1.

p-median with existing facilities (Hakimi 1964; the integer program of ReVelle & Swain 1970,
with the strong z_ij <= x_j constraints), z_ij = share of i assigned to j, kept only where
d_ij < b_i; the rest of i, ``1 - sum_j z_ij``, stays with b_i::

    min  sum_i w_i b_i + sum_ij w_i (d_ij - b_i) z_ij
    s.t. sum_j z_ij <= 1,   z_ij <= x_j,   sum_j x_j <= K,   x_j in {0, 1},  z_ij >= 0

Capacitated coverage (the MCLP with capacities; a fractional assignment with binary sites),
f_ij = weight of i served by j within the standard, c_j the capacity (capped at the weight
within reach of j)::

    max  sum_ij f_ij
    s.t. sum_j f_ij <= w_i,   sum_j f_ij <= w_i sum_{j in N_i} x_j,   sum_i f_ij <= c_j x_j,
         sum_j x_j <= K,   x_j in {0, 1},  0 <= f_ij <= w_i

The second row is implied by the capacity rows for binary x; it brings the MCLP's LP bound
into the relaxation (without it, loose capacities leave a useless bound). The textbook
tightening ``f_ij <= w_i x_j`` (one row per pair) gives the same bound on the instances tried,
but made HiGHS's simplex stall (an LP of 70,000 nonzeros took 45 s instead of 0.2 s).

For ``remove`` the same programs run over the existing sites with ``sum_j x_j = n - K`` (x_j = 1:
the site stays open).

The LP relaxations (all integrality dropped) give the bounds reported for the heuristic.
HiGHS's defaults are kept except ``mip_rel_gap`` (1e-7 here instead of 1e-4, so that "optimal"
is optimal for planning purposes) and the time limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from model.planning.location.forms import COVERAGE, CostForm, FlowForm


@dataclass
class MipResult:
    """What HiGHS returned, in the form's terms (cost for CostForm, served weight for FlowForm)."""

    sites: np.ndarray | None  # chosen candidates (None: no feasible solution found, or an LP)
    value: float | None  # the objective of ``sites``
    bound: float | None  # the dual bound (the LP's value for a relaxation)
    status: str  # "optimal", "time_limit", or "failed"
    message: str
    nodes: int | None
    x: np.ndarray | None = None  # per candidate, the value of x_j in HiGHS's solution (0 outside the program)


def _program_candidates(ptr: np.ndarray, keep_all: bool) -> np.ndarray:
    if keep_all:
        return np.arange(ptr.size - 1)
    return np.flatnonzero(np.diff(ptr) > 0)


def cost_nnz(form: CostForm, keep_all: bool = False) -> int:
    """Nonzeros of the constraint matrix of the form's MIP (the size rule of ``method="auto"``)."""
    nc = form.n if keep_all else int((np.diff(form.ptr) > 0).sum())
    if form.kind == COVERAGE:
        return form.nnz + form.users.size + nc
    return 3 * form.nnz + nc


def flow_nnz(form: FlowForm) -> int:
    """Nonzeros of the constraint matrix of the capacitated MIP."""
    return 4 * form.nnz + 2 * int((np.diff(form.ptr) > 0).sum())  # f in 3 rows, x in a cover row per pair, 2 per x


def _run(c, integral, ub, blocks, lo, hi, cand, n, time_limit, mip_rel_gap, presolve):
    """Stack the constraint blocks ``(matrix, lb, ub)`` and the cardinality row, call milp.

    The first ``cand.size`` variables are the x_j of the candidates ``cand`` (of ``n``).
    Returns ``(res, status, x)``: milp's result, "optimal" / "time_limit" / "failed", and x per
    candidate (None without a solution).
    """
    nc, n_var = cand.size, c.size
    card = sp.csr_array((np.ones(nc), (np.zeros(nc, dtype=np.int64), np.arange(nc))), shape=(1, n_var))
    a = sp.vstack([b[0] for b in blocks] + [card], format="csr")
    lbs = np.concatenate([np.broadcast_to(b[1], b[0].shape[0]) for b in blocks] + [[lo]])
    ubs = np.concatenate([np.broadcast_to(b[2], b[0].shape[0]) for b in blocks] + [[min(hi, nc)]])
    integrality = np.zeros(n_var)
    if integral:
        integrality[:nc] = 1
    options = {"disp": False, "presolve": presolve, "mip_rel_gap": mip_rel_gap}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    res = milp(
        c,
        integrality=integrality,
        bounds=Bounds(np.zeros(n_var), ub),
        constraints=LinearConstraint(a, lbs, ubs),
        options=options,
    )
    status = {0: "optimal", 1: "time_limit"}.get(res.status, "failed")
    x = None
    if res.x is not None:
        x = np.zeros(n)
        x[cand] = np.clip(res.x[:nc], 0.0, 1.0)
    return res, status, x


def _result(res, status, x, integral, to_form, value_of) -> MipResult:
    """A MipResult: ``to_form`` maps milp's objective values into the form's, ``value_of`` evaluates sites."""
    nodes = getattr(res, "mip_node_count", None)
    if not integral:
        bound = None if res.x is None else to_form(float(res.fun))
        return MipResult(None, None, bound, status, res.message, None, x)
    bound = getattr(res, "mip_dual_bound", None)
    bound = None if bound is None or not np.isfinite(bound) else to_form(float(bound))
    if x is None:
        return MipResult(None, None, bound, status, res.message, nodes)
    sites = np.flatnonzero(x > 0.5)
    return MipResult(sites, value_of(sites), bound, status, res.message, nodes, x)


def _trivial(sites: np.ndarray, value: float, n: int, integral: bool) -> MipResult:
    """The result of a program without variables: ``sites`` are optimal with ``value``."""
    x = np.zeros(n)
    x[sites] = 1.0
    message = "nothing to optimise: no user-candidate pair can improve on the existing facilities"
    if not integral:
        return MipResult(None, None, value, "optimal", message, None, x)
    return MipResult(sites, value, value, "optimal", message, 0, x)


def solve_cost(
    form: CostForm,
    lo: int,
    hi: int,
    *,
    keep_all: bool = False,
    integral: bool = True,
    time_limit: float | None = None,
    mip_rel_gap: float = 1e-7,
    presolve: bool = False,
) -> MipResult:
    """The MIP (or its LP relaxation) of a CostForm: ``lo <= |S| <= hi``.

    Args:
        form: The model.
        lo: Least number of chosen program candidates.
        hi: Largest number of chosen program candidates.
        keep_all: Every candidate is a variable (``remove``: the count of open sites is exact);
            otherwise only the candidates paired with a form user.
        integral: False for the LP relaxation (then ``sites`` is None, ``bound`` the LP's value
            and ``x`` its solution).
        time_limit: Seconds for HiGHS (None: no limit).
        mip_rel_gap: HiGHS's relative gap for optimality.
        presolve: HiGHS's presolve. Off by default: on coverage instances of thousands of
            candidates its search for dominated columns took 20 s where the whole MIP without it
            took 1 s (wuhai-sized random instance, M = 5 min).
    """
    if form.nnz == 0:  # no pair can improve: nothing to solve (milp refuses an empty program)
        sites = np.arange(form.n - lo, form.n) if keep_all else np.empty(0, dtype=np.int64)
        return _trivial(sites, form.baseline, form.n, integral)
    cand = _program_candidates(form.ptr, keep_all)
    nc, m, p = cand.size, form.users.size, form.nnz
    colmap = np.full(form.n, -1, dtype=np.int64)
    colmap[cand] = np.arange(nc)
    if form.kind == COVERAGE:
        # vars: x (nc), y (m);  y_i - sum_{j in N_i} x_j <= 0
        data = np.r_[-np.ones(p), np.ones(m)]
        ij = (np.r_[form.rows, np.arange(m)], np.r_[colmap[form.cols], nc + np.arange(m)])
        blocks = [(sp.csr_array((data, ij), shape=(m, nc + m)), -np.inf, 0.0)]
        c = np.r_[np.zeros(nc), -form.weight]
    else:
        # vars: x (nc), z (p);  sum_j z_ij <= 1;  z_ij - x_j <= 0
        zp, ar = nc + np.arange(p), np.arange(p)
        a_user = sp.csr_array((np.ones(p), (form.rows, zp)), shape=(m, nc + p))
        ij = (np.r_[ar, ar], np.r_[zp, colmap[form.cols]])
        a_pair = sp.csr_array((np.r_[np.ones(p), -np.ones(p)], ij), shape=(p, nc + p))
        blocks = [(a_user, -np.inf, 1.0), (a_pair, -np.inf, 0.0)]
        c = np.r_[np.zeros(nc), form.weight[form.rows] * (form.cost - form.base[form.rows])]
    res, status, x = _run(c, integral, np.ones(c.size), blocks, lo, hi, cand, form.n, time_limit, mip_rel_gap, presolve)
    base = form.baseline
    return _result(res, status, x, integral, lambda v: base + v, form.value)


def solve_flow(
    form: FlowForm,
    k: int,
    *,
    integral: bool = True,
    time_limit: float | None = None,
    mip_rel_gap: float = 1e-7,
    presolve: bool = False,
) -> MipResult:
    """The capacitated MIP (or its LP relaxation): at most ``k`` sites; values in served weight."""
    if form.nnz == 0:
        return _trivial(np.empty(0, dtype=np.int64), 0.0, form.n, integral)
    cand = _program_candidates(form.ptr, False)
    nc, m, p = cand.size, form.users.size, form.nnz
    colmap = np.full(form.n, -1, dtype=np.int64)
    colmap[cand] = np.arange(nc)
    fp = nc + np.arange(p)
    wp = form.weight[form.rows]
    # vars: x (nc), f (p)
    a_user = sp.csr_array((np.ones(p), (form.rows, fp)), shape=(m, nc + p))
    ij = (np.r_[form.rows, form.rows], np.r_[fp, colmap[form.cols]])
    a_cover = sp.csr_array((np.r_[np.ones(p), -wp], ij), shape=(m, nc + p))
    ij = (np.r_[colmap[form.cols], np.arange(nc)], np.r_[fp, np.arange(nc)])
    a_site = sp.csr_array((np.r_[np.ones(p), -form.capacity[cand]], ij), shape=(nc, nc + p))
    blocks = [(a_user, -np.inf, form.weight), (a_cover, -np.inf, 0.0), (a_site, -np.inf, 0.0)]
    c = np.r_[np.zeros(nc), -np.ones(p)]
    ub = np.r_[np.ones(nc), wp]
    res, status, x = _run(c, integral, ub, blocks, 0, k, cand, form.n, time_limit, mip_rel_gap, presolve)
    return _result(res, status, x, integral, lambda v: -v, lambda s: form.served(s)[0])
