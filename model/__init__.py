"""lifecircle: an agent-based simulation of 15-minute community life circles (一刻钟社区生活圈).

The package reads as its pipeline; every import points to an earlier stage:

1. ``scenario``: scenario files (schema, loading with ``extends``, checks) -> a frozen Scenario;
2. ``city``: the grid, the residents, walking access and the candidate table;
3. ``simulation``: the clock, the rulebook, the two engines, destination choice, the visit log;
4. ``measures``: every reported figure, as pure functions;
5. ``model``: ``LifeCircleModel``, the Mesa model that builds the city, holds an engine and
   collects data;
6. ``report``: the files, maps and charts of a run (``report.drawing`` is the only user of
   matplotlib);
7. ``cli``: the ``lifecircle`` command.
"""

from model.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["Scenario", "ScenarioError", "load_scenario"]
