"""The internal forms of the location models, built from the minutes matrices, and the result of a solve.

Every model is turned into one of two forms over *pairs* (user, candidate) kept in a sparse
column-major layout (``ptr``, ``rows``, ``cols``, ``cost``: the pairs of candidate ``j`` are
``ptr[j]:ptr[j + 1]``), so that a candidate's column is a slice and a sum over candidates is one
``np.bincount``:

- :class:`CostForm`: ``min over S of sum_i w_i * min(base_i, min_{j in S} cost_ij)``, the
  uncapacitated form. The p-median is it with the walking minutes as costs and ``base_i`` the
  minutes to the nearest existing facility; the maximal covering problem is it with 0/1 costs
  (``base_i = 1``: not covered, ``cost_ij = 0``: j covers i), so that the cost is the weight left
  uncovered. Only the pairs with ``cost_ij < base_i`` (those that can improve on the existing
  facilities) and the users having one are kept: the rest is a constant of the model.
- :class:`FlowForm`: the capacitated coverage, where the value of a set of sites is the largest
  weight they can serve (a transportation problem: each user's weight split among the sites
  within the standard, each site serving at most its capacity).

``coverage_form``, ``median_form`` and ``flow_form`` build them from the inputs of
model/planning/location/models.py, with the constants that turn a form's value into the model's.

Users are numbered 0..m-1 in the form (``users`` maps them back to the rows of the input);
candidates keep their input index.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

# Row and column numbers of the pairs: 4 bytes each (a city's tens of millions of pairs).
INDEX = np.int32

# The kinds of CostForm: which MILP formulation the exact solver uses (model/planning/location/exact.py).
COVERAGE, MEDIAN = "coverage", "median"


@dataclass(frozen=True)
class Solution:
    """The result of a location model.

    Attributes:
        model: "coverage", "pmedian", "capacitated" or "remove".
        sites: The chosen candidate indices (columns of ``minutes``), ascending. For ``remove``,
            the existing sites to close.
        objective: The model's value with ``sites`` chosen: total covered weight (coverage,
            capacitated: the weight covered by existing facilities included), total weighted
            minutes (pmedian), the value left after closing (remove).
        baseline: The same value with nothing chosen (for ``remove``: with nothing closed).
        bound: A bound on the optimum (upper for maximisation, lower for minimisation) or None:
            HiGHS's dual bound for the MIP, else the best of the LP relaxation and the greedy
            (submodular) bound. ``objective`` is within ``gap`` of the optimum.
        sense: "max" or "min": the direction of ``objective``.
        solver: "highs-milp", "greedy-swap", or "highs-milp+greedy-swap" (auto when the MIP stopped
            at its time limit and the heuristic was run as well; the better is kept).
        status: "optimal" (the MIP solved within ``mip_rel_gap``), "time_limit" (the MIP's best
            solution when its time ran out), "heuristic" (a swap-local optimum).
        seconds: Wall time of the solve (the forms built from the matrices included).
        marginal: Per site of ``sites``: how much the objective worsens if that site alone is
            left out of the choice (for ``remove``: how much it improves if that site alone
            stays open); 0 marks a site that adds nothing.
        details: Model-specific figures (weights covered by existing facilities, unreachable
            users, the LP bound, the MIP message, the number of swaps...).
    """

    model: str
    sites: np.ndarray
    objective: float
    baseline: float
    bound: float | None
    sense: str
    solver: str
    status: str
    seconds: float
    marginal: np.ndarray
    details: dict = field(default_factory=dict)

    @property
    def gain(self) -> float:
        """The improvement on ``baseline`` in the model's direction (a loss, <= 0, for ``remove``)."""
        d = self.objective - self.baseline
        return d if self.sense == "max" else -d

    @property
    def gap(self) -> float | None:
        """``|bound - objective|``: the most the optimum can be better than ``objective``; None without a bound."""
        return None if self.bound is None else abs(self.bound - self.objective)


def _as_vector(a, n: int, name: str, fill: float | None = None) -> np.ndarray:
    if a is None:
        if fill is None:
            raise ValueError(f"{name} is required")
        return np.full(n, fill)
    v = np.asarray(a, dtype=float)
    if v.ndim == 0:
        return np.full(n, float(v))
    if v.shape != (n,):
        raise ValueError(f"{name} has shape {v.shape}, expected ({n},)")
    if np.isnan(v).any():
        raise ValueError(f"{name} has NaN")
    return v


def check_inputs(minutes, weight, existing) -> tuple[tuple[int, int], np.ndarray, np.ndarray]:
    """The shape of ``minutes`` and the validated ``weight`` and ``existing`` (inf when None)."""
    if sp.issparse(minutes):
        shape = minutes.shape
    else:
        minutes = np.asarray(minutes)
        if minutes.ndim != 2:
            raise ValueError(f"minutes must be 2-D (users x candidates), got shape {minutes.shape}")
        shape = minutes.shape
    w = _as_vector(weight, shape[0], "weight")
    if (w < 0).any() or not np.isfinite(w).all():
        raise ValueError("weight must be finite and >= 0")
    e = _as_vector(existing, shape[0], "existing", fill=np.inf)
    return shape, w, e


def pairs_below(minutes, threshold: np.ndarray, strict: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The finite entries of ``minutes`` under each row's threshold, in column-major order.

    Args:
        minutes: Dense (users x candidates, np.inf for unreachable) or a scipy.sparse matrix or
            array whose stored entries are the reachable pairs (an explicit 0 is a 0-minute pair;
            a duplicated pair keeps its least minutes).
        threshold: Per row; -inf (or NaN-free anything <= 0 with ``strict``) drops the row.
        strict: ``minutes < threshold`` if True, else ``minutes <= threshold``.

    Returns:
        ``(rows, cols, values)`` sorted by column then row.
    """
    if sp.issparse(minutes):
        if minutes.format in ("csr", "csc") and minutes.has_canonical_format:  # no duplicates: a column-major copy
            csc = sp.csc_array(minutes)
            csc.sort_indices()
            r = csc.indices.astype(INDEX, copy=False)
            c = np.repeat(np.arange(csc.shape[1], dtype=INDEX), np.diff(csc.indptr))
            v = np.asarray(csc.data, dtype=float)
        else:  # triplets, maybe duplicated (a conversion would add their minutes up)
            coo = sp.coo_array(minutes)
            r, c, v = coo.row.astype(INDEX), coo.col.astype(INDEX), np.asarray(coo.data, dtype=float)
        if np.isnan(v).any() or (v < 0).any():
            raise ValueError("minutes must be >= 0 (np.inf for unreachable), not NaN")
        keep = (v < threshold[r]) if strict else (v <= threshold[r])
        keep &= np.isfinite(v)
        r, c, v = r[keep], c[keep], v[keep]
        if not (r.size < 2 or ((c[1:] > c[:-1]) | ((c[1:] == c[:-1]) & (r[1:] > r[:-1]))).all()):
            order = np.lexsort((v, r, c))  # column-major, and the least minutes first among duplicates
            r, c, v = r[order], c[order], v[order]
            first = np.r_[True, (c[1:] != c[:-1]) | (r[1:] != r[:-1])]
            r, c, v = r[first], c[first], v[first]
        return r, c, v
    m = np.asarray(minutes, dtype=float)
    if np.isnan(m).any() or (m < 0).any():
        raise ValueError("minutes must be >= 0 (np.inf for unreachable), not NaN")
    mask = (m < threshold[:, None]) if strict else (m <= threshold[:, None])
    mask &= np.isfinite(m)
    c, r = np.nonzero(mask.T)
    return r.astype(INDEX), c.astype(INDEX), m[r, c]


def finite_rows_and_max(minutes) -> tuple[np.ndarray, float]:
    """Which rows of ``minutes`` have a finite entry, and the largest finite entry (0 if none)."""
    if sp.issparse(minutes):
        coo = sp.coo_array(minutes)
        fin = np.isfinite(coo.data)
        rows = np.zeros(minutes.shape[0], dtype=bool)
        rows[coo.row[fin]] = True
        return rows, float(coo.data[fin].max()) if fin.any() else 0.0
    m = np.asarray(minutes, dtype=float)
    fin = np.isfinite(m)
    return fin.any(axis=1), float(m[fin].max()) if fin.any() else 0.0


def _compress(n_users: int, n: int, r, c, v, keep_user: np.ndarray):
    """Pairs of the kept users renumbered 0..m-1; returns users, ptr, rows, cols, values."""
    sel = keep_user[r]
    r, c, v = r[sel], c[sel], v[sel]
    present = np.zeros(n_users, dtype=bool)
    present[r] = True
    users = np.flatnonzero(present)
    index = np.full(n_users, -1, dtype=INDEX)
    index[users] = np.arange(users.size, dtype=INDEX)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(c, minlength=n), out=ptr[1:])
    return users, ptr, index[r], c, v


@dataclass
class CostForm:
    """``min over S of sum_i weight_i * min(base_i, min_{j in S} cost_ij)`` over the kept pairs.

    Attributes:
        kind: COVERAGE (0/1 costs: the MCLP formulation) or MEDIAN.
        n: Number of candidates.
        users: Input row of each form user.
        weight, base: Per form user (> 0, finite).
        ptr, rows, cols, cost: The pairs, column-major; ``cost < base[rows]``.
    """

    kind: str
    n: int
    users: np.ndarray
    weight: np.ndarray
    base: np.ndarray
    ptr: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    cost: np.ndarray

    @classmethod
    def build(cls, kind: str, shape, weight, base, r, c, v) -> CostForm:
        """From pairs of the whole input (``r`` rows of it, ``base`` per input row)."""
        keep = (weight > 0) & np.isfinite(base)
        users, ptr, rows, cols, cost = _compress(shape[0], shape[1], r, c, v, keep)
        return cls(kind, shape[1], users, weight[users], base[users], ptr, rows, cols, cost)

    @property
    def nnz(self) -> int:
        """Number of pairs."""
        return int(self.rows.size)

    @property
    def baseline(self) -> float:
        """The cost with no site."""
        return float(self.weight @ self.base)

    def user_cost(self, sites) -> np.ndarray:
        """Each form user's cost with ``sites``."""
        c = self.base.copy()
        for j in np.asarray(sites, dtype=np.int64):
            sl = slice(self.ptr[j], self.ptr[j + 1])
            np.minimum.at(c, self.rows[sl], self.cost[sl])
        return c

    def value(self, sites) -> float:
        """The cost of ``sites``."""
        return float(self.weight @ self.user_cost(sites))


@dataclass
class FlowForm:
    """Capacitated coverage: the weight that ``sites`` can serve, each within its capacity.

    Attributes:
        n: Number of candidates.
        users: Input row of each form user.
        weight: Per form user (> 0).
        capacity: Per candidate, finite (capped at the weight within its reach).
        ptr, rows, cols: The pairs (user within the standard of candidate), column-major.
    """

    n: int
    users: np.ndarray
    weight: np.ndarray
    capacity: np.ndarray
    ptr: np.ndarray
    rows: np.ndarray
    cols: np.ndarray

    @classmethod
    def build(cls, shape, weight, keep_user, capacity, r, c) -> FlowForm:
        """From pairs of the whole input; ``capacity`` per candidate, may be inf."""
        users, ptr, rows, cols, _ = _compress(shape[0], shape[1], r, c, np.zeros(r.size), keep_user & (weight > 0))
        w = weight[users]
        reach = np.bincount(cols, weights=w[rows], minlength=shape[1]).astype(float, copy=False)
        return cls(shape[1], users, w, np.minimum(capacity, reach), ptr, rows, cols)

    @property
    def nnz(self) -> int:
        """Number of pairs."""
        return int(self.rows.size)

    def served(self, sites) -> tuple[float, np.ndarray]:
        """The largest weight ``sites`` serve, and each form user's served weight (one LP, HiGHS)."""
        sites = np.asarray(sites, dtype=np.int64)
        sel = np.concatenate([np.arange(self.ptr[j], self.ptr[j + 1]) for j in sites]) if sites.size else []
        sel = np.asarray(sel, dtype=np.int64)
        served = np.zeros(self.weight.size)
        if sel.size == 0:
            return 0.0, served
        rows, cols = self.rows[sel], self.cols[sel]
        urow, uinv = np.unique(rows, return_inverse=True)
        scol, sinv = np.unique(cols, return_inverse=True)
        p = np.arange(sel.size)
        a = sp.csr_array(
            (np.ones(2 * p.size), (np.r_[uinv, urow.size + sinv], np.r_[p, p])),
            shape=(urow.size + scol.size, p.size),
        )
        b = np.r_[self.weight[urow], self.capacity[scol]]
        res = linprog(-np.ones(p.size), A_ub=a, b_ub=b, bounds=(0, None), method="highs")
        if res.status != 0:  # pragma: no cover - a transportation LP is always feasible and bounded
            raise RuntimeError(f"capacitated assignment LP failed: {res.message}")
        flow = np.maximum(res.x, 0.0)
        np.add.at(served, rows, flow)
        served = np.minimum(served, self.weight)
        return float(served.sum()), served


# --------------------------------------------------------------------------- the models as forms


def coverage_form(minutes, w, e, limit_min: float) -> tuple[CostForm, dict]:
    """The maximal covering problem as a CostForm (0/1 costs) and its constants.

    The constants: total_weight, covered_by_existing (``e <= limit_min``), coverable (the form's
    users: not covered, a candidate within the standard) and unreachable (the rest).
    """
    shape = minutes.shape
    covered = e <= limit_min
    thr = np.where(~covered & (w > 0), float(limit_min), -np.inf)
    r, c, _ = pairs_below(minutes, thr, strict=False)
    form = CostForm.build(COVERAGE, shape, w, np.ones(shape[0]), r, c, np.zeros(r.size))
    return form, _coverage_info(w, covered, form.weight)


def _coverage_info(w: np.ndarray, covered: np.ndarray, coverable: np.ndarray) -> dict:
    """The constants of a coverage model: total, covered by existing, coverable, unreachable weight."""
    total, by_existing = float(w.sum()), float(w[covered].sum())
    return {
        "total_weight": total,
        "covered_by_existing": by_existing,
        "coverable": float(coverable.sum()),
        "unreachable": total - by_existing - float(coverable.sum()),
    }


def median_form(minutes, w, e, unserved_min) -> tuple[CostForm, dict]:
    """The p-median as a CostForm (costs capped at ``unserved_min``) and its constants.

    ``unserved_min`` None: the largest finite minute of ``minutes`` and ``e`` (the horizon). The
    constants: unserved_min, reached_weight (users with a facility or a candidate within reach),
    unreachable (the weight of the others, left out), constant (the cost of the reached users
    outside the form) and ``_capped`` (per input row: counted at the cap unless served).
    """
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


def flow_form(minutes, w, e, limit_min: float, capacity) -> tuple[FlowForm, dict]:
    """The capacitated coverage as a FlowForm and its constants (as :func:`coverage_form`)."""
    shape = minutes.shape
    cap = np.asarray(capacity, dtype=float)
    cap = np.full(shape[1], float(cap)) if cap.ndim == 0 else cap
    if cap.shape != (shape[1],) or np.isnan(cap).any() or (cap < 0).any():
        raise ValueError(f"capacity must be a scalar or ({shape[1]},) of values >= 0")
    covered = e <= limit_min
    thr = np.where(~covered & (w > 0), float(limit_min), -np.inf)
    r, c, _ = pairs_below(minutes, thr, strict=False)
    form = FlowForm.build(shape, w, ~covered, cap, r, c)
    return form, _coverage_info(w, covered, form.weight)
