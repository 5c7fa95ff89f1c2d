"""Calibration files: which scenario, which parameters in which ranges, which observations (docs/calibration.md).

A calibration file is TOML data, never executed. Reading it checks every key and value, loads
the scenario at both ends of every parameter's range (through the scenario loader's overrides,
as an experiment file's ``[sensitivity.parameters]`` are checked), and finds the observations
file; every problem names the file and the key, and the command prints them all and exits 2.
The observations themselves are checked against the scenario by
:mod:`model.batch.calibration.observations`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from model.batch.calibration.likelihood import quadratic_size
from model.batch.experiment import DEFAULTS, MAX_SEEDS, Bounds, is_int, is_number, read_toml, scenario_beside, suggest
from model.scenario import Problem, ScenarioError, load_scenario, override_kind
from model.scenario.reading import file_problem

SAMPLERS = ("tpe", "qmc")
_TOP_KEYS = ("name", "description", "scenario", "observations", "seeds", "replicates", "days", "engine")
_TABLES = ("parameters", "method")
_METHOD_KEYS = ("sampler", "budget", "batch", "seed")
# assumption: 32 points, 8 at a time, are enough for one or two parameters (the bundled example and
# the test recover their values with fewer); a file gives its own for more parameters
METHOD_DEFAULTS = {"sampler": "tpe", "budget": 32, "batch": 8, "seed": 1}
MIN_REPLICATES = 2  # the spread of a figure over seeds needs two seeds at least


@dataclass(frozen=True)
class Method:
    """How points are chosen: an optuna sampler asked ``batch`` points at a time, ``budget`` in all.

    Attributes:
        sampler: "tpe" (optuna's TPESampler: random points first, then where the fit is good) or
            "qmc" (optuna's QMCSampler: a scrambled Sobol' sequence filling the ranges evenly).
        budget: Points evaluated in all (each over every seed).
        batch: Points asked and run together (one round of the runner).
        seed: Seed of the sampler (its only random source).
    """

    sampler: str = METHOD_DEFAULTS["sampler"]
    budget: int = METHOD_DEFAULTS["budget"]
    batch: int = METHOD_DEFAULTS["batch"]
    seed: int = METHOD_DEFAULTS["seed"]


@dataclass(frozen=True)
class Calibration:
    """A checked calibration file.

    Attributes:
        name: Used for the default output folder.
        path: The file.
        scenario: The scenario file, resolved (a bundled name or a path relative to the file).
        observations: The observations CSV, resolved relative to the file.
        seeds: The seeds of every evaluated point (the same at every point).
        days: Days per run.
        engine: "fast" or "agents".
        parameters: Dotted scenario key -> its range (file order).
        kinds: Schema kind of every parameter ("int" keys take whole numbers).
        method: The sampler and its budget.
        description: Free text.
    """

    name: str
    path: Path
    scenario: Path
    observations: Path
    seeds: tuple[int, ...]
    days: int = DEFAULTS["days"]
    engine: str = DEFAULTS["engine"]
    parameters: dict[str, Bounds] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    method: Method = Method()
    description: str = ""


def load_calibration(path: str | Path) -> Calibration:
    """Read and check a calibration file, its scenario and both ends of every parameter's range.

    Raises:
        ScenarioError: With every problem found, each naming the file (calibration or scenario) and key.
    """
    path = Path(path)
    data = _read(path)
    problems: list[Problem] = []

    def bad(key: str, message: str) -> None:
        problems.append(Problem(path.name, key, message))

    for key in data:
        if key not in _TOP_KEYS + _TABLES:
            bad(key, f"unknown key{suggest(key, _TOP_KEYS + _TABLES)}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or any(c in name for c in '/\\:*?"<>|'):
        bad(
            "name",
            "required: a name usable in a folder name"
            if name is None
            else f"must be usable in a folder name, not {name!r}",
        )
    scenario = _scenario(data, path, bad)
    observations = _observations(data, path, bad)
    seeds = _seeds(data, bad)
    days = data.get("days", DEFAULTS["days"])
    if not is_int(days) or days < 1:
        bad("days", f"must be a positive integer, not {days!r}")
    engine = data.get("engine", DEFAULTS["engine"])
    if engine not in ("fast", "agents"):
        bad("engine", f"must be 'fast' or 'agents', not {engine!r}")
    parameters, kinds = _parameters(data.get("parameters"), bad)
    method = _method(data.get("method", {}), bad)
    least = 2 * quadratic_size(len(parameters))
    if parameters and method.budget < least:
        bad(
            "method.budget",
            f"must be at least {least} for {len(parameters)} parameter(s): twice the coefficients of the "
            f"quadratic surrogate, (d + 1)(d + 2) / 2, not {method.budget}",
        )
    if problems:
        raise ScenarioError(problems)
    calibration = Calibration(
        name=name,
        path=path.resolve(),
        scenario=scenario,
        observations=observations,
        seeds=seeds,
        days=days,
        engine=engine,
        parameters=parameters,
        kinds=kinds,
        method=method,
        description=data.get("description", ""),
    )
    _check_against_scenario(calibration)
    return calibration


def _read(path: Path) -> dict:
    """The TOML tables of a calibration file (:func:`model.batch.experiment.read_toml`)."""
    return read_toml(path, "a calibration file")


def _scenario(data: dict, path: Path, bad) -> Path | None:
    """The scenario file: a file beside the calibration file, or a bundled scenario's name."""
    name = data.get("scenario")
    if not isinstance(name, str) or not name:
        bad("scenario", "required: a bundled scenario's name or a scenario file")
        return None
    return scenario_beside(name, path, lambda message: bad("scenario", message))


def _observations(data: dict, path: Path, bad) -> Path | None:
    """The observations CSV, relative to the calibration file."""
    name = data.get("observations")
    if not isinstance(name, str) or not name:
        bad("observations", 'required: the observed figures, a CSV file (e.g. "observations.csv")')
        return None
    found = path.parent / name
    problem = file_problem(found)
    if problem is not None:
        bad("observations", f"no file {name} beside {path.name}" if problem.why == "missing" else problem.about())
        return None
    return found.resolve()


def _seeds(data: dict, bad) -> tuple[int, ...]:
    """The seeds of every point: ``replicates = N`` (seeds 1..N) or ``seeds = [...]``, two at least."""
    if "seeds" in data and "replicates" in data:
        bad("seeds", "give seeds or replicates, not both")
        return ()
    if "replicates" in data:
        n = data["replicates"]
        if not is_int(n) or not MIN_REPLICATES <= n <= MAX_SEEDS:
            bad("replicates", f"must be an integer from {MIN_REPLICATES} to {MAX_SEEDS:,}, not {n!r}")
            return ()
        return tuple(range(1, n + 1))
    seeds = data.get("seeds")
    if not isinstance(seeds, list) or not all(is_int(s) and s >= 0 for s in seeds):
        bad("seeds", "required: a list of non-negative integer seeds, or replicates = N (seeds 1..N)")
        return ()
    if len(set(seeds)) != len(seeds):
        bad("seeds", "a seed is listed twice")
    elif len(seeds) < MIN_REPLICATES:
        bad("seeds", f"give {MIN_REPLICATES} seeds at least: the spread of a figure over seeds is part of the fit")
    return tuple(seeds)


def _parameters(table, bad) -> tuple[dict[str, Bounds], dict[str, str]]:
    """``"dotted.key" = { min = ..., max = ... }``: numeric scenario keys and their ranges."""
    if not isinstance(table, dict) or not table:
        bad("parameters", 'required: "dotted.key" = { min = ..., max = ... } for each parameter')
        return {}, {}
    bounds, kinds = {}, {}
    for key, rng in table.items():
        where = f'parameters."{key}"'
        kind = override_kind(key)
        if kind is None:
            bad(where, 'not a scenario key (e.g. "facility_types.market.daily_prob")')
        elif kind not in ("int", "float"):
            bad(where, f"a calibration fits numbers; this key is {kind}")
        elif not isinstance(rng, dict) or set(rng) != {"min", "max"}:
            bad(where, "must be { min = number, max = number }")
        elif not (is_number(rng["min"]) and is_number(rng["max"])):
            bad(where, "min and max must be finite numbers")
        elif kind == "int" and not (is_int(rng["min"]) and is_int(rng["max"])):
            bad(
                where, f"this key takes whole numbers: min and max must be integers, not {rng['min']!r}, {rng['max']!r}"
            )
        elif rng["min"] >= rng["max"]:
            bad(where, f"min ({rng['min']}) must be below max ({rng['max']})")
        else:
            bounds[key] = Bounds(float(rng["min"]), float(rng["max"]))
            kinds[key] = kind
    return bounds, kinds


def _method(table, bad) -> Method:
    """The ``[method]`` table: sampler, budget, batch, seed (each with a default)."""
    if not isinstance(table, dict):
        bad("method", "must be a table: sampler, budget, batch, seed")
        return Method()
    for key in table:
        if key not in _METHOD_KEYS:
            bad(f"method.{key}", f"unknown key{suggest(key, _METHOD_KEYS)}")
    values = {k: table.get(k, METHOD_DEFAULTS[k]) for k in _METHOD_KEYS}
    if values["sampler"] not in SAMPLERS:
        bad("method.sampler", f"must be one of {', '.join(SAMPLERS)}, not {values['sampler']!r}")
    for key, low in (("budget", 2), ("batch", 1), ("seed", 0)):
        if not is_int(values[key]) or values[key] < low:
            bad(f"method.{key}", f"must be an integer of at least {low}, not {values[key]!r}")
            values[key] = METHOD_DEFAULTS[key]
    return Method(**values)


def _check_against_scenario(calibration: Calibration) -> None:
    """Load the scenario alone and at both ends of every parameter's range, before any run."""
    trials: list[dict] = [{}]
    for key, b in calibration.parameters.items():
        cast = int if calibration.kinds[key] == "int" else float
        trials += [{key: cast(b.low)}, {key: cast(b.high)}]
    problems, seen = [], set()
    for overrides in trials:
        try:
            load_scenario(calibration.scenario, overrides=overrides, overrides_file=calibration.path.name)
        except ScenarioError as exc:
            for problem in exc.problems:
                if str(problem) not in seen:
                    seen.add(str(problem))
                    problems.append(problem)
    if problems:
        raise ScenarioError(problems)
