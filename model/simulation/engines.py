"""The engine interface: what ``LifeCircleModel`` asks of an engine, and the engines by name.

An engine is built from the run's :class:`model.simulation.context.RunContext` and the Mesa
model its agents (if any) register with: ``ENGINES[name](context, model)``. It steps the run's
residents and facilities through the tick it is given and answers for their state. Both engines
apply the rulebook (model/simulation/rules.py); they differ only in how they step: one Mesa
agent at a time, or whole arrays at once.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from model.simulation.agents import AgentsEngine
from model.simulation.fast import FastEngine


class Engine(Protocol):
    """What both engines implement (tests/test_rules_by_hand.py runs every hand-worked case on both)."""

    def step(self, tick: int) -> None:
        """Simulate tick ``tick`` of the run (0 = the first; ticks are simulated in order, each once)."""

    def state_counts(self) -> np.ndarray:
        """Residents per :class:`model.simulation.rules.State` now."""

    def occupancy_by_group(self) -> np.ndarray:
        """Visitors present now, per facility (rows) and group (columns)."""

    def queue_by_facility(self) -> np.ndarray:
        """Residents waiting in each facility's queue now (state WAITING), per facility."""

    def resident_states(self) -> np.ndarray:
        """Every resident's :class:`model.simulation.rules.State` now, as integers."""

    def positions(self) -> np.ndarray:
        """Every resident's current cell."""

    def facility_totals(self) -> dict[str, np.ndarray]:
        """Per facility, over the run so far: visits, peak_occupancy, turned_away."""

    def turn_aways(self) -> dict[str, np.ndarray]:
        """Every turn-away so far, one row each: resident, facility, tick, choice_rank.

        ``choice_rank`` is the rank of the choice that turned the resident away (1 at its trip's
        first); rows by tick, facility and resident (:func:`model.simulation.visits.turn_away_table`).
        """

    def unmet_counts(self) -> np.ndarray:
        """Wanted visits not served, per resident (rows) and facility type (columns)."""

    def escort_totals(self) -> dict[str, np.ndarray]:
        """Per resident over the run so far: escort_min, given_up_escort, no_escort (households and escorts)."""


ENGINES: dict[str, type] = {"agents": AgentsEngine, "fast": FastEngine}
"""Engine classes by name; each is built as ``ENGINES[name](context, model)``."""
