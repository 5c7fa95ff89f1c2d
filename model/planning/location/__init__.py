"""The location-model library: where to put K facilities, or which K to close, on a minutes matrix.

Maximal covering (:func:`coverage`), p-median (:func:`pmedian`), capacitated coverage
(:func:`capacitated`) and closing sites (:func:`remove`), one entry (:func:`solve`) and the
evaluation of a given plan (:func:`evaluate`); every model solved through one
:class:`SolverOptions`. The modules, in the order a solve runs through them:

- ``models``: the four models, their formulations and papers, from the inputs to a :class:`Solution`;
- ``forms``: the two forms every model becomes (``CostForm``: uncapacitated, a cost per user;
  ``FlowForm``: capacitated, the weight served), and :class:`Solution`;
- ``options``: :class:`SolverOptions` and the size rules of ``method="auto"``;
- ``pipeline``: the one solver pipeline for both forms (MIP or heuristic, then the bounds);
- ``exact``: the mixed-integer programs, HiGHS through ``scipy.optimize.milp``;
- ``heuristic``: greedy + Teitz-Bart swap, and the greedy (submodular) bound;
- ``bounds``: the Lagrangian bounds.

Why a subpackage of planning/, not a stage of the model: the library knows nothing of the
simulation (no grid, no residents, no scenario: numpy and scipy in, a :class:`Solution` out, as
PySAL spopt's models are built from a cost matrix), and planners' tools are its only users:
``lifecircle optimize`` (model/planning/optimize.py builds the matrices from a scenario's
residents) and the browser's re-planning. The README's layout puts the planners' tools beside
the model, which never imports them; the library sits with them, in a folder of its own so
that it can be read, tested (tests/test_locate.py) and lifted out whole. It imports nothing of
model/ outside this folder.
"""

from __future__ import annotations

from model.planning.location.forms import Solution
from model.planning.location.models import (
    MODELS,
    capacitated,
    coverage,
    evaluate,
    pmedian,
    remove,
    solve,
)
from model.planning.location.options import EXACT_MAX_NNZ, LP_MAX_NNZ, METHODS, SolverOptions

__all__ = [
    "EXACT_MAX_NNZ",
    "LP_MAX_NNZ",
    "METHODS",
    "MODELS",
    "Solution",
    "SolverOptions",
    "capacitated",
    "coverage",
    "evaluate",
    "pmedian",
    "remove",
    "solve",
]
