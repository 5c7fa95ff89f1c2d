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

import os

# numba's parallel kernels run on GNU OpenMP threads, which by default spin while they wait for
# each other. Beside other work (the run's drawing thread, a batch's other workers, pytest's) the
# spinning threads take the cores from the ones with work: under pytest -n 2 a day of
# helsinki_centre took 25-36 s instead of 2 s; a whole `lifecircle run wuhai_city` on a quiet
# machine spends 4 CPU seconds less and is no slower with threads that sleep while they wait
# (README, Performance). Sleeping changes no result, only the time. Set before numba loads OpenMP
# (at the first parallel kernel), and kept if the user set it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from model.scenario import Scenario, ScenarioError, load_scenario  # noqa: E402

__all__ = ["Scenario", "ScenarioError", "load_scenario"]
