"""Planning: where new facilities should go, and what placement options change.

- ``location/``: the location-model library, pure functions on minutes matrices (maximal
  covering, p-median, capacitated coverage, closing sites; HiGHS and greedy + swap through one
  pipeline and one :class:`~model.planning.location.SolverOptions`);
- ``optimize``: the matrices of ``lifecircle optimize`` from a scenario's residents, and who gains
  and loses by a plan;
- ``sizing``: ``lifecircle optimize --size``: how many places, through the simulation;
- ``compare`` and ``sites``: placement options side by side (``lifecircle compare``).

The names of ``location`` are importable from here (``from model.planning import coverage``);
they load on first use, so that ``compare`` does not import the solvers.
"""

from __future__ import annotations

# the seeds `lifecircle compare` runs every scenario on by default (model/planning/replicates.py):
# measured on wuhai_life_circle, docs/planning.md "How many seeds"
DEFAULT_REPLICATES = 5

_LOCATION = ("Solution", "SolverOptions", "coverage", "pmedian", "capacitated", "remove", "solve", "evaluate")

__all__ = ["DEFAULT_REPLICATES", *_LOCATION]


def __getattr__(name: str):
    """Load ``model.planning.location`` when one of its names is first asked for."""
    if name in _LOCATION:
        from model.planning import location

        return getattr(location, name)
    raise AttributeError(f"module 'model.planning' has no attribute {name!r}")
