"""Planning: where new facilities should go, and what placement options change.

- ``locate``: facility location models as pure functions on minutes matrices: maximal covering
  (:func:`~model.planning.locate.coverage`), p-median (:func:`~model.planning.locate.pmedian`),
  capacitated coverage (:func:`~model.planning.locate.capacitated`), which sites to close
  (:func:`~model.planning.locate.remove`), one entry :func:`~model.planning.locate.solve`;
  built on ``problem`` (the sparse forms of the models), ``exact`` (the MIPs, HiGHS through
  ``scipy.optimize.milp``) and ``heuristic`` (greedy + Teitz-Bart swap);
- ``compare``: placement options side by side (``lifecircle compare``).

The names of ``locate`` are importable from here (``from model.planning import coverage``); they
load on first use, so that ``compare`` does not import the solvers.
"""

from __future__ import annotations

_LOCATE = ("Solution", "coverage", "pmedian", "capacitated", "remove", "solve", "evaluate")

__all__ = list(_LOCATE)


def __getattr__(name: str):
    """Load ``model.planning.locate`` when one of its names is first asked for."""
    if name in _LOCATE:
        from model.planning import locate

        return getattr(locate, name)
    raise AttributeError(f"module 'model.planning' has no attribute {name!r}")
