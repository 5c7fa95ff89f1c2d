"""The runs of an experiment: scenarios x parameter combinations (or design points) x seeds.

Each run has an id derived from everything its result depends on: the resolved scenario (with
its parameters applied, written out as TOML), the parameters, the seed, the days, the engine and
the model's code. A result of another model version, or of a changed scenario file, therefore
never answers for a run: its id differs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from model.batch.experiment import Experiment
from model.scenario import load_scenario, scenario_toml


@dataclass(frozen=True)
class RunSpec:
    """One run of a batch.

    Attributes:
        run_id: Digest of everything the result depends on (16 hex digits).
        index: Position in the design (the order of every table).
        scenario: The scenario's name.
        scenario_file: Its file.
        point: Index of the parameter combination or design point.
        parameters: Dotted scenario key -> value.
        seed: The run's seed.
        days: Days simulated.
        engine: The engine.
        experiment_file: Name of the experiment file (problems are reported against it).
    """

    run_id: str
    index: int
    scenario: str
    scenario_file: str
    point: int
    parameters: dict = field(hash=False)
    seed: int
    days: int
    engine: str
    experiment_file: str


@cache
def code_digest() -> str:
    """sha256 of the model's code and catalogue: every .py file of the package and catalogue.toml."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if (
            path.suffix in (".py", ".toml")
            and "__pycache__" not in path.parts
            and "bundled_scenarios" not in path.parts
        ):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def parameter_points(experiment: Experiment) -> tuple[list[dict], np.ndarray | None]:
    """The parameter combinations: the full grid and the cases, or the sensitivity design.

    Returns:
        ``(points, design)``: one dict per combination (values as the scenario wants them:
        integers rounded) and, for a sensitivity analysis, the SALib sample matrix (None else).
    """
    if experiment.sensitivity is not None:
        from model.batch.sensitivity import sample

        design = sample(experiment.sensitivity)
        keys = list(experiment.sensitivity.parameters)
        points = [{k: _typed(float(x), experiment.kinds[k]) for k, x in zip(keys, row, strict=True)} for row in design]
        return points, design
    keys = list(experiment.grid)
    points = [dict(zip(keys, values, strict=True)) for values in itertools.product(*experiment.grid.values())]
    if not keys:
        points = [] if experiment.cases else [{}]
    return points + [dict(c) for c in experiment.cases], None


def _typed(value: float, kind: str):
    return int(round(value)) if kind == "int" else value


def build_runs(
    experiment: Experiment, seeds: Mapping[tuple[str, int], Sequence[int]] | None = None
) -> tuple[list[RunSpec], list[dict], np.ndarray | None, dict]:
    """Every distinct run of the experiment, in design order (scenario, then point, then seed).

    A sensitivity design may hold the same point twice (integer parameters are rounded; Morris
    trajectories cross): its runs are the same runs, run once.

    Args:
        experiment: The checked experiment.
        seeds: The seeds of each (scenario name, point index) where they differ from the
            experiment's (enough replicates, model/batch/replicates.py); None: the experiment's
            seeds everywhere.

    Returns:
        ``(runs, points, design, members)``: the runs; the parameter combinations; the SALib
        design (or None); and for each (scenario name, point index) the ids of its runs.
    """
    points, design = parameter_points(experiment)
    runs: list[RunSpec] = []
    members: dict[tuple[str, int], list[str]] = {}
    seen: set[str] = set()
    file = experiment.path.name
    for scenario_file in experiment.scenarios:
        for p, parameters in enumerate(points):
            scenario = load_scenario(scenario_file, overrides=parameters, overrides_file=file)
            resolved = resolved_content(scenario)
            for seed in (seeds or {}).get((scenario.name, p), experiment.seeds):
                spec = make_run(
                    scenario_file, scenario.name, resolved, p, parameters, seed, experiment, index=len(runs)
                )
                members.setdefault((scenario.name, p), []).append(spec.run_id)
                if spec.run_id in seen:
                    continue
                seen.add(spec.run_id)
                runs.append(spec)
    return runs, points, design, members


def resolved_content(scenario) -> str:
    """A loaded scenario as TOML without the comment naming where its file was (what its runs depend on)."""
    return "\n".join(line for line in scenario_toml(scenario).splitlines() if not line.startswith("#"))


def make_run(
    scenario_file: str | Path,
    scenario_name: str,
    resolved: str,
    point: int,
    parameters: dict,
    seed: int,
    experiment,
    index: int = 0,
) -> RunSpec:
    """One run and its id, from the scenario's resolved content (:func:`resolved_content`).

    ``experiment`` gives the days, the engine and the file the parameters come from (anything
    with ``days``, ``engine`` and ``path``: an experiment or a calibration file).
    """
    identity = {
        "scenario": resolved,
        "parameters": parameters,
        "seed": seed,
        "days": experiment.days,
        "engine": experiment.engine,
        "code": code_digest(),
    }
    run_id = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    return RunSpec(
        run_id=run_id,
        index=index,
        scenario=scenario_name,
        scenario_file=str(scenario_file),
        point=point,
        parameters=parameters,
        seed=seed,
        days=experiment.days,
        engine=experiment.engine,
        experiment_file=experiment.path.name,
    )
