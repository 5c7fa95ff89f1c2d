"""Experiment files: which scenarios, parameters and seeds a batch runs (docs/experiments.md).

An experiment file is TOML data, never executed. Reading it checks every key and value and every
scenario, parameter key and parameter value against the scenarios (through the scenario loader's
overrides), so that a typo fails before any run starts. Every problem names the file and the
key; the command line prints them all and exits 2.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.batch import sizes
from model.scenario import Problem, ScenarioError, load_scenario, override_kind, resolve_scenario_path
from model.scenario.kinds import KIND_WORDS, is_finite, kind_ok
from model.scenario.reading import Unreadable, file_problem, is_file, parse_toml, read_toml_bytes

METHODS = ("morris", "sobol")
MAX_SEEDS = 10_000
# assumption: a standard deviation from fewer than 5 values is too rough to size the next round
REPLICATES_MIN = 5
_REPLICATES_KEYS = ("target_halfwidth", "min", "max")
_TOP_KEYS = ("name", "description", "scenarios", "seeds", "replicates", "days", "engine", "metrics", "store")
STORE = ("listed", "all")  # what results.csv stores: the listed metrics (and their twins), or every scalar
_TABLES = ("parameters", "cases", "sensitivity")
_SENSITIVITY_KEYS = ("method", "trajectories", "levels", "samples", "seed", "allow_small", "parameters")
# trajectories: the minimum (model/batch/sizes.py); samples: None, the minimum for the number of
# parameters (sizes.minimum_size); levels 4: SALib's default, the primer's p = 4 (sizes.py)
DEFAULTS = {"days": 1, "engine": "fast", "trajectories": 10, "levels": 4, "samples": None, "seed": 1}


@dataclass(frozen=True)
class Bounds:
    """The range of one parameter of a sensitivity analysis."""

    low: float
    high: float


@dataclass(frozen=True)
class Sensitivity:
    """A global sensitivity analysis: a SALib design over parameter ranges.

    Attributes:
        method: "morris" (elementary effects) or "sobol" (variance-based indices).
        parameters: Dotted scenario key -> its range.
        trajectories: Morris trajectories (the design has trajectories x (parameters + 1) points).
        levels: Morris grid levels.
        samples: Sobol' base samples (the design has samples x (parameters + 2) points).
        seed: Seed of the design's sampling and of the bootstrap of confidence intervals.
        allow_small: Run a design below the minimum size (model/batch/sizes.py), with a warning.
    """

    method: str
    parameters: dict[str, Bounds]
    trajectories: int = DEFAULTS["trajectories"]
    levels: int = DEFAULTS["levels"]
    samples: int = sizes.minimum_size("sobol", 1)  # load_experiment: the minimum for the parameters given
    seed: int = DEFAULTS["seed"]
    allow_small: bool = False


@dataclass(frozen=True)
class Replicates:
    """Enough replicates: seeds are added at every combination until each target is met (docs/experiments.md).

    Attributes:
        target_halfwidth: Listed metric -> the widest acceptable half-width of its 95% interval
            over seeds (the metric's own units); only these metrics decide how many seeds run.
        min_seeds: Seeds 1..min_seeds run at every combination first.
        max_seeds: No combination runs more seeds than this (its targets may then be unmet).
    """

    target_halfwidth: dict[str, float]
    min_seeds: int = REPLICATES_MIN
    max_seeds: int = MAX_SEEDS


@dataclass(frozen=True)
class Experiment:
    """A checked experiment file.

    Attributes:
        name: Used for the default output folder.
        path: The file.
        scenarios: Scenario files, resolved (bundled names or paths relative to the file).
        seeds: Seeds of every combination (with ``adaptive``: the first round's, 1..min).
        days: Days per run.
        engine: "fast" or "agents".
        metrics: Dotted summary keys to plot and analyse (empty: every scalar for the tables).
        store: "listed": results.csv and summary.csv hold the listed metrics and their ``static.``
            and ``diff.`` twins; "all": every scalar (as without a list).
        grid: Parameter key -> values, crossed in full (file order).
        cases: Explicit parameter combinations, run besides the grid.
        sensitivity: A sensitivity design instead of a grid, or None.
        kinds: Schema kind of every parameter key ("int" keys are rounded).
        adaptive: Seeds added until every target half-width is met (model/batch/replicates.py),
            or None: every combination runs ``seeds``.
    """

    name: str
    path: Path
    scenarios: tuple[Path, ...]
    seeds: tuple[int, ...]
    days: int = 1
    engine: str = "fast"
    metrics: tuple[str, ...] = ()
    store: str = "listed"
    grid: dict[str, tuple] = field(default_factory=dict)
    cases: tuple[dict[str, Any], ...] = ()
    sensitivity: Sensitivity | None = None
    kinds: dict[str, str] = field(default_factory=dict)
    description: str = ""
    adaptive: Replicates | None = None


class _Problems:
    """Collects problems of one experiment file."""

    def __init__(self, file: str):
        self.file = file
        self.list: list[Problem] = []

    def bad(self, key: str, message: str) -> None:
        self.list.append(Problem(self.file, key, message))


def suggest(key: str, allowed) -> str:
    """A hint naming the closest of ``allowed`` (" (did you mean 'x'?)"), or "" when none is close."""
    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def is_int(v) -> bool:
    """An integer of TOML (true and false are not)."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v) -> bool:
    """A finite number of TOML (true and false are not)."""
    return is_finite(v)


def load_experiment(path: str | Path) -> Experiment:
    """Read and check an experiment file, its scenarios and every parameter value.

    Raises:
        ScenarioError: With every problem found, each naming the file (experiment or scenario) and key.
    """
    path = Path(path)
    data = _read(path)
    p = _Problems(path.name)
    for key in data:
        if key not in _TOP_KEYS and key not in _TABLES:
            p.bad(key, f"unknown key{suggest(key, _TOP_KEYS + _TABLES)}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or any(c in name for c in '/\\:*?"<>|'):
        p.bad(
            "name",
            "required: a name usable in a folder name"
            if name is None
            else f"must be usable in a folder name, not {name!r}",
        )
    scenarios = _scenarios(data, path, p)
    seeds, adaptive = _seeds(data, p)
    days = data.get("days", DEFAULTS["days"])
    if not is_int(days) or days < 1:
        p.bad("days", f"must be a positive integer, not {days!r}")
    engine = data.get("engine", DEFAULTS["engine"])
    if engine not in ("fast", "agents"):
        p.bad("engine", f"must be 'fast' or 'agents', not {engine!r}")
    description = data.get("description", "")
    if not isinstance(description, str):
        p.bad("description", f"must be a string, not {description!r}")
    metrics = data.get("metrics", [])
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        p.bad("metrics", 'must be a list of dotted summary keys, e.g. ["usage.park.visits"]')
        metrics = []
    for i, j in _repeats(metrics):
        p.bad(f"metrics[{j}]", f"repeats metrics[{i}] ({metrics[i]!r})")
    store = data.get("store", STORE[0])
    if store not in STORE:
        p.bad("store", f'must be "listed" (the listed metrics) or "all" (every scalar), not {store!r}')
    if "sensitivity" in data and ("parameters" in data or "cases" in data):
        p.bad("sensitivity", "a sensitivity analysis replaces [parameters] and [[cases]]: give one or the other")
    grid = _grid(data.get("parameters", {}), p)
    cases = _cases(data.get("cases", []), p)
    sensitivity = _sensitivity(data["sensitivity"], p) if "sensitivity" in data else None
    kinds = _kinds(grid, cases, sensitivity, p)
    _check_values(grid, cases, kinds, p)
    if p.list:
        raise ScenarioError(p.list)
    experiment = Experiment(
        name=name,
        path=path.resolve(),
        description=description,
        scenarios=scenarios,
        seeds=seeds,
        days=days,
        engine=engine,
        metrics=tuple(metrics),
        store=store,
        grid={k: tuple(_typed(v, kinds[k]) for v in vs) for k, vs in grid.items()},
        cases=tuple({k: _typed(v, kinds[k]) for k, v in c.items()} for c in cases),
        sensitivity=sensitivity,
        kinds=kinds,
        adaptive=adaptive,
    )
    _check_against_scenarios(experiment, p)
    return experiment


def _read(path: Path) -> dict:
    """The TOML tables of an experiment file (:func:`read_toml`)."""
    return read_toml(path, "an experiment file")


def read_toml(path: Path, what: str) -> dict:
    """The TOML tables of a data file (an experiment or a calibration file), read totally (model/scenario/reading.py).

    Raises:
        ScenarioError: The file is missing, a folder, not a regular file, too large, unreadable,
            not TOML, or holds a value no file may (an integer outside 64 bits, nesting too deep).
    """
    data = read_toml_bytes(path)
    if isinstance(data, Unreadable):
        message = f"is a folder, not {what}" if data.why == "folder" else data.message
        raise ScenarioError([Problem(str(path), "", message)])
    tables, problems = parse_toml(data, path.name)
    if tables is None:
        raise ScenarioError(problems)
    return tables


def _kinds(grid: dict, cases: list, sensitivity, p: _Problems) -> dict[str, str]:
    """The schema kind of every scenario key the experiment varies; a problem where one cannot vary."""
    keys = set(grid) | {k for c in cases for k in c} | (set(sensitivity.parameters) if sensitivity else set())
    kinds = {}
    for key in sorted(keys):
        kind = override_kind(key)
        if kind is None:
            for where in _places(key, grid, cases, sensitivity):
                p.bad(where, 'not a scenario key (e.g. "population.mixing", "facility_types.park.capacity")')
        elif sensitivity and key in sensitivity.parameters and kind not in ("int", "float"):
            p.bad(f'sensitivity.parameters."{key}"', f"a sensitivity analysis varies numbers; this key is {kind}")
        else:
            kinds[key] = kind
    return kinds


def _places(key: str, grid: dict, cases: list, sensitivity) -> list[str]:
    """Every place of the file that gives ``key``, as its full key."""
    places = [f'parameters."{key}"'] if key in grid else []
    places += [f'cases[{i}]."{key}"' for i, case in enumerate(cases) if key in case]
    if sensitivity and key in sensitivity.parameters:
        places.append(f'sensitivity.parameters."{key}"')
    return places


def _repeats(values: list) -> list[tuple[int, int]]:
    """``(i, j)`` for every value ``j`` equal to an earlier value ``i`` (the first such).

    Numbers and strings are looked up by hash (a list of thousands is answered at once); lists
    and tables, which have none, are compared with each earlier list or table.
    """
    out = []
    first: dict[tuple[bool, Any], int] = {}
    unhashable: list[int] = []
    for j, value in enumerate(values):
        key = (isinstance(value, bool), value)  # true is not 1, as in _same
        try:
            i = first.setdefault(key, j)
        except TypeError:
            i = next((i for i in unhashable if _same(values[i], value)), j)
            if i == j:
                unhashable.append(j)
        if i != j:
            out.append((i, j))
    return out


def _same(a, b) -> bool:
    """Equal values (``40`` and ``40.0`` alike; ``true`` is not ``1``)."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _check_values(grid: dict, cases: list, kinds: dict[str, str], p: _Problems) -> None:
    """Every grid value and case value has the shape its scenario key wants; no value or case twice.

    The shape is a scenario file's (model/scenario/kinds.py), with its words: an integer key
    refuses ``20.5`` and ``40.0`` alike, as a scenario file does (``must be an integer, not 20.5``).
    """
    for key, values in grid.items():
        for i, value in enumerate(values):
            _shape(f'parameters."{key}"[{i}]', kinds.get(key), value, p)
        for i, j in _repeats(values):
            p.bad(f'parameters."{key}"[{j}]', f"repeats [{i}] ({values[i]!r}): every value once")
    for i, case in enumerate(cases):
        for key, value in case.items():
            _shape(f'cases[{i}]."{key}"', kinds.get(key), value, p)
    for i, j in _repeats(cases):
        p.bad(f"cases[{j}]", f"repeats cases[{i}]: every combination once")
    for j, case in enumerate(cases):
        # a combination of the grid, found without listing them all (their number is a product)
        if grid and case.keys() == grid.keys() and all(any(_same(case[k], v) for v in grid[k]) for k in grid):
            given = ", ".join(f'"{k}" = {v!r}' for k, v in case.items())
            p.bad(f"cases[{j}]", f"repeats a combination of [parameters] ({given}): every combination once")


def _shape(where: str, kind: str | None, value, p: _Problems) -> None:
    """A problem if ``value`` has not the shape of ``kind`` (tables of the schema are the scenario's to check)."""
    if kind in KIND_WORDS and not kind_ok(kind, value):
        p.bad(where, f"must be {KIND_WORDS[kind]}, not {value!r}")


def scenario_beside(name: str, path: Path, bad) -> Path | None:
    """A scenario file named in the data file ``path``: a file beside it first, else a bundled name.

    None when there is none; ``bad(message)`` is then told why (with the closest bundled names,
    or why what is there cannot be read: a folder, a pipe, a name too long for the system).
    """
    local = path.parent / name
    resolved = local if is_file(local) else resolve_scenario_path(name)
    if not is_file(resolved):
        there = file_problem(local)
        if there is not None and there.why != "missing":
            bad(there.about())
            return None
        try:
            load_scenario(name)  # says why, with suggestions
        except ScenarioError as exc:
            bad("; ".join(pr.message for pr in exc.problems))
        return None
    return Path(resolved).resolve()


# a name listed many times is reported at its first repeat, with this many of the others
_REPEATS_SHOWN = 5


def _scenarios(data: dict, path: Path, p: _Problems) -> tuple[Path, ...]:
    """The scenario files, each once: a name given twice is refused before any file is looked for.

    Each distinct name is found once; the same file by two names ("demo", "demo.toml") is a
    repeat as well. A list of the same name thousands of times is answered at once.
    """
    names = data.get("scenarios")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        p.bad("scenarios", "required: a non-empty list of bundled scenario names or files")
        return ()
    at: dict[str, list[int]] = {}  # each name -> where it is listed
    for i, name in enumerate(names):
        at.setdefault(name, []).append(i)
    out, first = [], {}
    for name, places in at.items():
        i = places[0]
        resolved = scenario_beside(name, path, lambda message, i=i: p.bad(f"scenarios[{i}]", message))
        if resolved is not None and resolved in first:  # the same file by another name ("demo", "demo.toml")
            p.bad(f"scenarios[{i}]", f"repeats scenarios[{first[resolved]}] ({resolved.name}): every scenario once")
        elif resolved is not None:
            first[resolved] = i
            out.append(resolved)
        if len(places) > 1:
            shown = resolved.name if resolved is not None else repr(name)
            more = places[2 : 2 + _REPEATS_SHOWN]
            also = ""
            if more:
                listed = ", ".join(f"[{j}]" for j in more) + (", ..." if len(places) > 2 + _REPEATS_SHOWN else "")
                also = f"; so do {len(places) - 2:,} more entries ({listed})"
            p.bad(f"scenarios[{places[1]}]", f"repeats scenarios[{i}] ({shown}): every scenario once{also}")
    p.list.sort(key=lambda pr: _index_of(pr.key))
    return tuple(out)


def _index_of(key: str) -> tuple[int, int]:
    """Sort key of a problem: those at scenarios[i] by i, after every other found so far (kept in order)."""
    if key.startswith("scenarios[") and key.endswith("]") and key[10:-1].isdigit():
        return (1, int(key[10:-1]))
    return (0, 0)


def _seeds(data: dict, p: _Problems) -> tuple[tuple[int, ...], Replicates | None]:
    """The seeds of every combination, and the rule that adds more (``replicates = {...}``) or None."""
    if "seeds" in data and "replicates" in data:
        p.bad("seeds", "give seeds or replicates, not both")
        return (), None
    if "replicates" in data:
        n = data["replicates"]
        if isinstance(n, dict):
            rule = _replicates(n, data.get("metrics"), p)
            return (tuple(range(1, rule.min_seeds + 1)) if rule else ()), rule
        if not is_int(n) or not 1 <= n <= MAX_SEEDS:
            p.bad(
                "replicates",
                f"must be an integer from 1 to {MAX_SEEDS:,} or a table "
                f"{{ target_halfwidth = ..., min = ..., max = ... }}, not {n!r}",
            )
            return (), None
        return tuple(range(1, n + 1)), None
    seeds = data.get("seeds")
    if not isinstance(seeds, list) or not seeds:
        p.bad("seeds", "required: a non-empty list of seeds, or replicates = N (seeds 1..N)")
        return (), None
    if not all(is_int(s) and s >= 0 for s in seeds):
        p.bad("seeds", "seeds must be non-negative integers")
        return (), None
    if len(set(seeds)) != len(seeds):
        p.bad("seeds", "a seed is listed twice")
    return tuple(seeds), None


def _replicates(table: dict, metrics: Any, p: _Problems) -> Replicates | None:
    """``replicates = { target_halfwidth = ..., min = ..., max = ... }``, checked; None (and problems) if bad."""
    before = len(p.list)
    for key in table:
        if key not in _REPLICATES_KEYS:
            p.bad(f"replicates.{key}", f"unknown key{suggest(key, _REPLICATES_KEYS)}")
    listed = [m for m in metrics if isinstance(m, str)] if isinstance(metrics, list) else []
    if not listed:
        p.bad(
            "metrics", "replicates with a target half-width need a list of metrics, the figures whose intervals count"
        )
    low = table.get("min", REPLICATES_MIN)
    if not is_int(low) or low < 2:
        p.bad("replicates.min", f"must be an integer of at least 2 (an interval needs two seeds), not {low!r}")
    high = table.get("max")
    if high is None:
        p.bad("replicates.max", "required: the most seeds any combination may run")
    elif not is_int(high) or not 2 <= high <= MAX_SEEDS:
        p.bad("replicates.max", f"must be an integer from 2 to {MAX_SEEDS:,}, not {high!r}")
    elif is_int(low) and high < low:
        p.bad("replicates.max", f"must be at least min ({low}), not {high}")
    targets = _targets(table.get("target_halfwidth"), listed, p)
    if len(p.list) > before:
        return None
    return Replicates(target_halfwidth=targets, min_seeds=low, max_seeds=high)


def _targets(target: Any, listed: list[str], p: _Problems) -> dict[str, float]:
    """Metric -> half-width: one number for every listed metric, or a table of some listed metrics."""
    where = "replicates.target_halfwidth"
    if target is None:
        p.bad(where, 'required: a half-width (e.g. 0.005) or a table { "metric" = half-width }')
        return {}
    if not isinstance(target, dict):
        target = dict.fromkeys(listed, target) if listed else {"": target}
        wheres = dict.fromkeys(target, where)
    elif not target:
        p.bad(where, "an empty table: give a half-width for at least one listed metric")
        return {}
    else:
        wheres = {metric: f'{where}."{metric}"' for metric in target}
        for metric in target:
            if metric not in listed:
                p.bad(wheres[metric], f"not a listed metric{suggest(metric, listed)}")
    out = {}
    for metric, value in target.items():
        if not is_number(value) or value <= 0:
            p.bad(wheres[metric], f"must be a positive number (the metric's units), not {value!r}")
        else:
            out[metric] = float(value)
    return out


def _grid(table: Any, p: _Problems) -> dict[str, list]:
    if not isinstance(table, dict):
        p.bad("parameters", 'must be a table: "dotted.key" = [values]')
        return {}
    out = {}
    for key, values in table.items():
        if isinstance(values, dict):
            p.bad(f"parameters.{key}", 'write the dotted key in quotes: "population.mixing" = [0.0, 1.0]')
        elif not isinstance(values, list) or not values:
            p.bad(f'parameters."{key}"', "must be a non-empty list of values")
        else:
            out[key] = values
    return out


def _cases(entries: Any, p: _Problems) -> list[dict]:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        p.bad("cases", 'must be [[cases]] tables of "dotted.key" = value')
        return []
    out = []
    for i, entry in enumerate(entries):
        if not entry:
            p.bad(f"cases[{i}]", "is empty")
        case = {}
        for key, value in entry.items():
            if isinstance(value, dict) and override_kind(key) in (None, "table", "types"):
                p.bad(f"cases[{i}].{key}", 'write the dotted key in quotes: "population.mixing" = 0.5')
            else:
                case[key] = value
        out.append(case)
    return out


def _sensitivity(table: Any, p: _Problems) -> Sensitivity | None:
    if not isinstance(table, dict):
        p.bad("sensitivity", "must be a table")
        return None
    for key in table:
        if key not in _SENSITIVITY_KEYS:
            p.bad(f"sensitivity.{key}", f"unknown key{suggest(key, _SENSITIVITY_KEYS)}")
    method = table.get("method")
    if method not in METHODS:
        p.bad("sensitivity.method", f"must be one of {', '.join(METHODS)}, not {method!r}")
    params = table.get("parameters")
    count = len(params) if isinstance(params, dict) and params else 1
    allow_small = table.get("allow_small", False)
    if not isinstance(allow_small, bool):
        p.bad("sensitivity.allow_small", f"must be true or false, not {allow_small!r}")
    numbers = _design_numbers(table, method, count, allow_small is True, p)
    bounds = {}
    if not isinstance(params, dict) or not params:
        p.bad("sensitivity.parameters", 'required: "dotted.key" = { min = ..., max = ... } for each parameter')
    else:
        for key, rng in params.items():
            where = f'sensitivity.parameters."{key}"'
            if not isinstance(rng, dict) or set(rng) != {"min", "max"}:
                p.bad(where, "must be { min = number, max = number }")
            elif not (is_number(rng["min"]) and is_number(rng["max"])):
                p.bad(where, "min and max must be finite numbers")
            elif rng["min"] >= rng["max"]:
                p.bad(where, f"min ({rng['min']}) must be below max ({rng['max']})")
            else:
                bounds[key] = Bounds(float(rng["min"]), float(rng["max"]))
    if p.list:
        return None
    return Sensitivity(method=method, parameters=bounds, allow_small=allow_small, **numbers)


def _design_numbers(table: dict, method, count: int, allow_small: bool, p: _Problems) -> dict:
    """trajectories, levels, samples and seed of a ``[sensitivity]`` table, checked.

    A design below the minimum size for ``count`` parameters (model/batch/sizes.py) is a problem
    unless ``allow_small``.
    """
    numbers = {}
    for key, low in (("trajectories", 2), ("levels", 2), ("samples", 2), ("seed", 0)):
        default = DEFAULTS[key] if DEFAULTS[key] is not None else sizes.minimum_size("sobol", count)
        value = table.get(key, default)
        if not is_int(value) or value < low:
            p.bad(f"sensitivity.{key}", f"must be an integer of at least {low}, not {value!r}")
        numbers[key] = value
    if method == "sobol" and is_int(numbers["samples"]) and numbers["samples"] & (numbers["samples"] - 1):
        p.bad("sensitivity.samples", f"must be a power of 2 (Sobol' sequences), not {numbers['samples']:,}")
    if method in METHODS and not allow_small:
        key = sizes.size_key(method)
        n = numbers[key]
        why = sizes.why_small(method, n, count) if is_int(n) and n >= 2 else None
        if why:
            p.bad(f"sensitivity.{key}", f"{why}; raise it, or set allow_small = true in [sensitivity] to run it anyway")
    return numbers


def _typed(value, kind: str):
    """A parameter value as the scenario key wants it: integers rounded (design points are floats)."""
    if kind == "int" and is_number(value):
        return int(round(value))
    if kind == "float" and is_int(value):
        return float(value)
    return value


def _check_against_scenarios(experiment: Experiment, p: _Problems) -> None:
    """Load every scenario with every parameter value alone (and every case whole), before any run.

    A problem at a key a trial sets is reported at the experiment's full key
    (``parameters."population.mixing"[1]``, ``cases[0]."seed"``, ``sensitivity.parameters."x".min``);
    the same problem with every value of a grid list or both ends of a range (an unknown
    facility type) once, at the list's or range's key. A problem of a scenario file that only a
    trial brings up says which values bring it up.
    """
    trials = [_Trial({}, {})]
    sizes: dict[str, int] = {}  # a grid list's or a range's place -> the number of its trials
    for key, values in experiment.grid.items():
        place = f'parameters."{key}"'
        trials += [_Trial({key: v}, {key: f"{place}[{i}]"}, place) for i, v in enumerate(values)]
        sizes[place] = len(values)
    trials += [
        _Trial(dict(c), {k: f'cases[{i}]."{k}"' for k in c}, where=f"cases[{i}]")
        for i, c in enumerate(experiment.cases)
    ]
    if experiment.sensitivity:
        for key, b in experiment.sensitivity.parameters.items():
            kind, place = experiment.kinds[key], f'sensitivity.parameters."{key}"'
            trials += [
                _Trial({key: _typed(b.low, kind)}, {key: f"{place}.min"}, place),
                _Trial({key: _typed(b.high, kind)}, {key: f"{place}.max"}, place),
            ]
            sizes[place] = 2
    found: list[tuple[Problem, str, str]] = []  # the problem, its list's or range's key, its place under that key
    plain: set[str] = set()
    for scenario in experiment.scenarios:
        for trial in trials:
            try:
                load_scenario(scenario, overrides=trial.overrides, overrides_file=p.file)
            except ScenarioError as exc:
                for problem in exc.problems:
                    if not trial.overrides:
                        plain.add(str(problem))
                        found.append((problem, "", ""))
                    elif str(problem) not in plain:
                        found.append(trial.placed(problem, p.file))
    _collapse(found, sizes, p)
    if p.list:
        raise ScenarioError(p.list)


@dataclass(frozen=True)
class _Trial:
    """Overrides a scenario is loaded with to check them, and the places of the file they come from.

    Attributes:
        overrides: Dotted key -> value.
        places: Dotted key -> its full key in the experiment file.
        listed: The full key of the grid list or range the value is one of ("" for a case).
        where: The place of the whole trial (a case), for a problem at no key of it.
    """

    overrides: dict
    places: dict[str, str]
    listed: str = ""
    where: str = ""

    def placed(self, problem: Problem, file: str) -> tuple[Problem, str, str]:
        """The problem at the experiment's full key; its grid list's key; its place without the index."""
        if problem.file != file:  # the scenario's own file: say which values bring it up
            given = ", ".join(f"{self.places[k]} = {v!r}" for k, v in self.overrides.items())
            return Problem(problem.file, problem.key, f"{problem.message} (with {file}'s {given})"), "", ""
        for key, place in self.places.items():
            if problem.key == key or problem.key.startswith((f"{key}.", f"{key}[")):
                rest = problem.key[len(key) :]
            elif key.startswith(f"{problem.key}."):  # e.g. the type of facility_types.<type>.capacity
                rest = ""
            else:
                continue
            bare = self.listed + rest if self.listed else ""
            return Problem(file, place + rest, problem.message), self.listed, bare
        where = self.where or next(iter(self.places.values()))
        return Problem(file, where, f"{problem.key}: {problem.message}"), "", ""


def _collapse(found: list[tuple[Problem, str, str]], sizes: dict[str, int], p: _Problems) -> None:
    """Record the problems once each; one that every value of a list or range has, once at its key."""
    every: dict[tuple[str, str, str], set[str]] = {}
    for problem, listed, bare in found:
        if listed:
            every.setdefault((listed, bare, problem.message), set()).add(problem.key)
    seen: set[str] = set()
    for problem, listed, bare in found:
        if listed and sizes[listed] > 1 and len(every[(listed, bare, problem.message)]) == sizes[listed]:
            problem = Problem(problem.file, bare, problem.message)
        if str(problem) not in seen:
            seen.add(str(problem))
            p.list.append(problem)
