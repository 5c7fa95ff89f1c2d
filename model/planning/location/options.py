"""The solver options of every location model, in one frozen object, and the size rules of ``"auto"``.

Every model function of model/planning/location/models.py takes ``options=SolverOptions(...)``
(None: the defaults) instead of repeating the solver's keyword arguments; the pipeline
(model/planning/location/pipeline.py) reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.planning.location import bounds

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
# Greedy + swap runs when ``starts`` is None: one run of the capacitated heuristic solves an LP per
# candidate it evaluates, so it makes fewer (test_locate.py's module docstring: how these were chosen).
STARTS = {"cost": 8, "flow": 4}


@dataclass(frozen=True)
class SolverOptions:
    """How a location model is solved.

    Attributes:
        method: "exact" (the MIP, HiGHS through ``scipy.optimize.milp``), "heuristic" (greedy +
            swap, Teitz & Bart 1968, with greedy, Lagrangian and LP bounds) or "auto" (exact when
            the MIP has at most ``EXACT_MAX_NNZ[model]`` nonzeros, reported as
            ``details["mip_nnz"]``).
        time_limit: Seconds for HiGHS, per MIP or LP (None: no limit).
        mip_rel_gap: HiGHS's relative optimality gap (1e-7 rather than HiGHS's 1e-4, so that
            "optimal" is optimal for planning purposes).
        lp_bound: Whether the heuristic computes the LP relaxation (True: always; None: if at
            most ``LP_MAX_NNZ[model]`` nonzeros and a gap is left; False: never).
        lagrange: The heuristic's Lagrangian bound iterations (None: as many as fit in a work
            budget, model/planning/location/bounds.py; 0: none).
        starts: The heuristic's greedy + swap runs, from different first moves (None: 8, or 4
            for the capacitated model).
        screen: The capacitated heuristic's candidates evaluated exactly (one LP each) per step.
    """

    method: str = "auto"
    time_limit: float | None = 10.0
    mip_rel_gap: float = 1e-7
    lp_bound: bool | None = None
    lagrange: int | None = None
    starts: int | None = None
    screen: int = 10

    def __post_init__(self):
        """Refuse an unknown method."""
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")

    def exact(self, model: str, nnz: int) -> bool:
        """Whether the MIP of ``model`` with ``nnz`` nonzeros runs."""
        return self.method == "exact" or (self.method == "auto" and nnz <= EXACT_MAX_NNZ[model])

    def lp(self, model: str, nnz: int) -> bool:
        """Whether the heuristic's LP relaxation may run when a gap is left (``lp_bound`` True: always runs)."""
        return bool(self.lp_bound) or (self.lp_bound is None and nnz <= LP_MAX_NNZ[model])

    def iterations(self, pairs: int) -> int:
        """Lagrangian iterations on ``pairs`` user-candidate pairs."""
        return bounds.auto_iterations(pairs) if self.lagrange is None else int(self.lagrange)

    def runs(self, form: str) -> int:
        """Greedy + swap runs on a "cost" or a "flow" form."""
        return STARTS[form] if self.starts is None else self.starts
