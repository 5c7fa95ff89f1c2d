"""Lagrangian bounds for the heuristic: near the LP relaxation's, at the cost of a few passes over the pairs.

For the uncapacitated form (:class:`~model.planning.location.forms.CostForm`: a user's cost is its base
b_i or the cost d_ij of a chosen site, a_ij = w_i (b_i - d_ij) > 0 the saving of a pair)::

    min  sum_i w_i b_i - sum_ij a_ij z_ij
    s.t. sum_j z_ij <= 1,   z_ij <= x_j,   sum_j x_j <= K,   x binary, z >= 0

relaxing ``sum_j z_ij <= 1`` with multipliers mu_i >= 0 (Cornuejols, Fisher & Nemhauser 1977
for the p-median; Galvao & ReVelle 1996 for the maximal covering problem, where a_ij = w_i)
leaves a problem solved by sorting::

    L(mu) = sum_i w_i b_i - sum_i mu_i - (sum of the K largest rho_j),
    rho_j = sum_i max(0, a_ij - mu_i)

L(mu) is a lower bound on the optimal cost for every mu >= 0, and its maximum over mu equals the
LP relaxation's value (the relaxed problem has the integrality property). The multipliers
follow the subgradient method with Polyak's step towards the heuristic's cost (Held, Wolfe &
Crowder 1974; Fisher 1981): ``mu += theta (upper - L) s / |s|^2`` with ``s_i = sum_j z_ij - 1``,
theta halved after 10 iterations without improvement. Every iterate is a valid bound; the best
is kept. Deterministic (no randomness). For ``remove`` (exactly ``n - K`` sites open) the same
formula holds with ``n - K`` in place of K.

The capacitated model is bounded by the same bound on its pairs without capacities (serving
within capacities never covers more), and by the sum of the K largest capacities.

References: Cornuejols, G., Fisher, M. L. & Nemhauser, G. L. (1977). Location of bank accounts
to optimize float. Management Science 23(8), 789-810. Galvao, R. D. & ReVelle, C. (1996). A
Lagrangean heuristic for the maximal covering location problem. European Journal of Operational
Research 88, 114-123. Held, M., Wolfe, P. & Crowder, H. P. (1974). Validation of subgradient
optimization. Mathematical Programming 6, 62-88. Fisher, M. L. (1981). The Lagrangian relaxation
method for solving integer programming problems. Management Science 27(1), 1-18.
"""

from __future__ import annotations

import numpy as np

from model.planning.location.forms import COVERAGE, CostForm, FlowForm

# Work budget of the automatic iteration count: iterations x pairs (about 2 s on one core).
PAIR_ITERATIONS = 200_000_000
MAX_ITERATIONS = 200
MIN_ITERATIONS = 20


def auto_iterations(pairs: int) -> int:
    """Iterations within the work budget, at most MAX_ITERATIONS; 0 (no bound) when fewer than MIN_ITERATIONS fit."""
    it = min(MAX_ITERATIONS, PAIR_ITERATIONS // max(pairs, 1))
    return it if it >= MIN_ITERATIONS else 0


def lagrangian(form: CostForm, size: int, upper: float, iterations: int) -> tuple[float, int]:
    """The best Lagrangian lower bound on the cost with ``size`` sites, and the iterations run.

    Args:
        form: The model.
        size: Sites chosen (at most; for ``remove``, exactly, the sites kept open).
        upper: A known cost (the heuristic's): the target of the step, and a stop when reached.
        iterations: The most iterations (0: no bound, returns ``(-inf, 0)``).
    """
    n, m = form.n, form.users.size
    if iterations <= 0 or size <= 0 or form.nnz == 0:
        return (-np.inf, 0) if form.nnz else (form.baseline, 0)
    rows, cols = form.rows, form.cols
    a = form.weight[rows] * (form.base[rows] - form.cost)
    mu = np.zeros(m)
    np.maximum.at(mu, rows, a)
    mu *= 0.5  # half of each user's largest saving
    tol = 1e-9 * max(1.0, abs(upper))
    best, since, theta = -np.inf, 0, 2.0
    done = 0
    while done < iterations:
        done += 1
        v = a - mu[rows]
        np.maximum(v, 0.0, out=v)
        rho = np.bincount(cols, weights=v, minlength=n).astype(float, copy=False)
        top = np.argpartition(-rho, size - 1)[:size] if size < n else np.arange(n)
        low = form.baseline - float(mu.sum()) - float(rho[top].sum())
        if low > best:
            best, since = low, 0
        else:
            since += 1
            if since >= 10:
                theta, since = theta / 2, 0
        if best >= upper - tol or theta < 1e-6:
            break
        chosen = np.zeros(n, dtype=bool)
        chosen[top] = True
        sel = chosen[cols] & (v > 0)
        s = np.bincount(rows[sel], minlength=m).astype(float) - 1.0
        s[(mu <= 0) & (s < 0)] = 0.0  # projected: mu stays at 0
        norm = float(s @ s)
        if norm == 0:  # a zero subgradient: mu is optimal
            break
        mu += theta * max(upper - low, 0.0) / norm * s
        np.maximum(mu, 0.0, out=mu)
    return best, done


def flow_bound(form: FlowForm, k: int, upper: float, iterations: int) -> tuple[float, int]:
    """An upper bound on the weight the capacitated model's K sites can serve, and the iterations run.

    The smaller of the sum of the K largest capacities and the Lagrangian bound of the coverage
    problem on the same pairs (``upper``: a served weight known to be reachable).
    """
    cap = float(np.sort(form.capacity)[::-1][:k].sum())
    total = float(form.weight.sum())
    cover = CostForm(
        COVERAGE, form.n, form.users, form.weight, np.ones(form.users.size), form.ptr, form.rows, form.cols,
        np.zeros(form.nnz),
    )  # fmt: skip
    low, it = lagrangian(cover, k, total - upper, iterations)
    return min(cap, total, total - low), it
