"""lifecircle: an agent-based simulation of 15-minute community life circles (一刻钟社区生活圈).

The pipeline, one module per stage: scenario (load, validate, extend) -> city (grid, walking
graph, facilities) -> population (residents) -> access (walking-time fields) -> metrics ->
outputs -> cli.
"""

from model.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["Scenario", "ScenarioError", "load_scenario"]
