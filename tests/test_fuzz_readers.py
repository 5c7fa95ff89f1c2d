"""Fuzzing every reader of files (issue 23): any bytes give the data or ScenarioError, within a time limit.

Every bundled scenario (scenarios/*.toml) and every experiment and calibration file
(experiments/**/*.toml) is mutated by each family of the issue's fuzzer, and loaded by its own
loader (``load_scenario``, ``load_experiment``, ``load_calibration``). The contract: the loader
returns, or raises :class:`ScenarioError` whose problems each name a file and say what is wrong;
no other exception, no answer later than :data:`TIME_LIMIT_S` (a hang fails the example), and
nothing written in the folder.

The families (:data:`FAMILIES`): huge numbers (5,000 digits, long hex, octal and binary,
exponents past a float's range), other literals (hex, octal, binary, exponents, tiny floats),
NaN and the infinities, deep nesting (25 to 5,000 levels), wrong types, deleted keys, renamed
keys, duplicated entries, text edits (truncation, lines deleted, duplicated or replaced) and
special paths in ``extends``, ``scenarios``, ``scenario`` and ``observations``: ``/dev/zero``,
``/dev/null``, a FIFO, a folder, a 1,000-character name, a missing file, a symbolic-link loop and
sparse files just over the TOML (8 MiB) and CSV (64 MiB) limits.

How much runs. Each family is a test of its own with :data:`EXAMPLES` hypothesis examples
(derandomized: CI draws the same ones every time), so that every family runs on every run; and
every bundled file gets the three families that its reading alone answers (a huge integer, deep
nesting, a special ``extends`` or scenario), so that every file is fuzzed on every run. The
large scenarios (qingshan_city, wuhai_city and their gated variants take seconds to check) get
only those: the other families draw from the files that check in well under a second.

Before a release, run many more (docs/scenarios.md)::

    LIFECIRCLE_FUZZ_EXAMPLES=5000 python -m pytest tests/test_fuzz_readers.py -n 0 -p no:cacheprovider

The time limit is a SIGALRM timer (POSIX): its handler raises :class:`Hang`, a BaseException, so
that no ``except Exception`` or ``except OSError`` of a reader can swallow it; an ``open`` that
blocks on a FIFO is interrupted by the signal.
"""

from __future__ import annotations

import copy
import os
import random
import shutil
import signal
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from model.batch import experiment as experiment_module
from model.batch.calibration.file import load_calibration
from model.batch.calibration.observations import read_observations
from model.batch.experiment import load_experiment
from model.planning.optimize import read_candidates, read_street_points
from model.scenario import ScenarioError, load_scenario
from model.scenario.limits import MAX_FILE_BYTES, MAX_NESTING, MAX_TOML_BYTES
from tests.test_fuzz_scenario import _toml_string as _string
from tests.test_fuzz_scenario import _toml_value

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted(p.name for p in (ROOT / "scenarios").glob("*.toml"))
EXPERIMENTS = sorted(str(p.relative_to(ROOT / "experiments")) for p in (ROOT / "experiments").rglob("*.toml"))
# each of these checks in seconds: fuzzed by the families that the reading alone answers
LARGE = {"qingshan_city.toml", "qingshan_city_gated.toml", "wuhai_city.toml", "wuhai_city_gated.toml"}
SMALL = [s for s in SCENARIOS if s not in LARGE]
EXAMPLES = int(os.environ.get("LIFECIRCLE_FUZZ_EXAMPLES", "3"))  # per family and kind of file
# A hang fails; a valid experiment checks every trial against its scenarios in up to ~4 s on a
# busy 2-core machine, so the limit is well above that
TIME_LIMIT_S = 20
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same examples on every CI run
    deadline=None,  # the time limit is TIME_LIMIT_S, by SIGALRM
    database=None,  # keep the working tree clean; a failure prints its example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


class Hang(BaseException):
    """A loader did not answer within the time limit (a BaseException: no reader's ``except`` catches it)."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in the block if it runs longer than ``seconds`` (SIGALRM)."""

    def on_alarm(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# --------------------------------------------------------------------------- TOML out, with raw literals


class Raw(str):
    """TOML text written as it is: a literal no Python value dumps to (5,000 digits, 0xff, nan, deep nesting)."""


def _value(v: Any) -> str:
    """TOML text of ``v``, a :class:`Raw` literal written as it is (inside lists and tables too)."""
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(a) for a in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_string(k)} = {_value(a)}" for k, a in v.items()) + "}"
    return _toml_value(v)


def dump(data: dict) -> str:
    """TOML text of ``data``: one ``"key" = value`` line per top-level key, tables inline."""
    return "".join(f"{_string(k)} = {_value(v)}\n" for k, v in data.items())


@pytest.mark.parametrize("name", SCENARIOS + [f"experiments/{e}" for e in EXPERIMENTS])
def test_dump_round_trips(name):
    # the mutations write with dump: unmutated, it must give back the file's data
    path = (
        ROOT / "experiments" / name.removeprefix("experiments/")
        if name.startswith("exp")
        else ROOT / "scenarios" / name
    )
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert tomllib.loads(dump(data)) == data


# --------------------------------------------------------------------------- the mutations


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (keys and indices) into nested tables and lists."""
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    out = []
    for k, v in items:
        out.append((*prefix, k))
        out.extend(_paths(v, (*prefix, k)))
    return out


def _get(data: Any, path: tuple) -> Any:
    for k in path:
        data = data[k]
    return data


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _number_path(data: dict, rnd: random.Random) -> tuple:
    """A path to a number if there is one (sizes, cells, shares: where range checks live), else to any value."""
    paths = _paths(data)
    numbers = [p for p in paths if _is_number(_get(data, p))]
    return rnd.choice(numbers or paths)


def _set(data: dict, path: tuple, value: Any) -> None:
    _get(data, path[:-1])[path[-1]] = value


HUGE = [
    "9" * 5000,
    "-" + "9" * 5000,
    "0x" + "f" * 5000,
    "0o" + "7" * 5000,
    "0b" + "1" * 5000,
    "9" * 4000,  # fewer digits than Python refuses, more than 64 bits
    "9223372036854775808",  # 2**63: one past TOML's largest integer
    "-9223372036854775809",
    "1e99999",  # a float's overflow: inf
    "-1e-99999",  # a float's underflow: -0.0
]
LITERALS = [
    "0x7fffffffffffffff",
    "-9223372036854775808",
    "0xff",
    "0o17",
    "0b101",
    "1e3",
    "1E-3",
    "5e-324",
    "1.7976931348623157e308",
    "-0.0",
    "1_000",
    "+1",
    "0",
    "-1",
]
NAN_INF = ["nan", "+nan", "-nan", "inf", "+inf", "-inf"]
OTHER_TYPES = ['""', '"x"', "true", "[]", "{}", "1.5", "0", "[1, 2]", "{ a = 1 }", "1979-05-27T07:32:00Z", "07:32:00"]


def _nested(rnd: random.Random) -> Raw:
    depth = rnd.choice([MAX_NESTING + 5, 100, 1000, 5000])
    if rnd.random() < 0.5:
        return Raw("[" * depth + "1" + "]" * depth)
    return Raw("{ a = " * depth + "1" + " }" * depth)


def _typo(key: str, rnd: random.Random) -> str:
    if len(key) > 1 and rnd.random() < 0.5:
        i = rnd.randrange(len(key))
        return key[:i] + key[i + 1 :]
    return rnd.choice([key + "s", key.upper(), key.replace("_", "-") + "x", "_" + key])


def mutate_data(family: str, data: dict, rnd: random.Random) -> dict:
    """``data`` after one to three changes of ``family`` (a data family)."""
    for _ in range(rnd.randint(1, 3)):
        paths = _paths(data)
        if not paths:
            break
        if family in ("huge", "huge_int"):  # huge_int: those the reading alone refuses
            _set(data, _number_path(data, rnd), Raw(rnd.choice(HUGE if family == "huge" else HUGE[:8])))
        elif family == "literal":
            _set(data, _number_path(data, rnd), Raw(rnd.choice(LITERALS)))
        elif family == "nan_inf":
            _set(data, _number_path(data, rnd), Raw(rnd.choice(NAN_INF)))
        elif family == "deep":
            _set(data, rnd.choice(paths), _nested(rnd))
        elif family == "wrong_type":
            _set(data, rnd.choice(paths), Raw(rnd.choice(OTHER_TYPES)))
        elif family == "delete":
            path = rnd.choice(paths)
            del _get(data, path[:-1])[path[-1]]
        elif family == "rename":
            keys = [p for p in paths if isinstance(p[-1], str)]
            if keys:
                path = rnd.choice(keys)
                parent = _get(data, path[:-1])
                parent[_typo(path[-1], rnd)] = parent.pop(path[-1])
        elif family == "duplicate":
            lists = [p for p in paths if isinstance(_get(data, p), list) and _get(data, p)]
            if lists:
                target = _get(data, rnd.choice(lists))
                at = rnd.randrange(len(target))
                # a thousand copies of a small entry only: the mutant stays small (tomllib parses
                # about 1 MB/s, and the file limit is 8 MiB)
                copies = rnd.choice([1, 2, 1000] if len(_value(target[at])) < 200 else [1, 2])
                target[at:at] = [copy.deepcopy(target[at]) for _ in range(copies)]  # not shared: edited apart
    return data


def mutate_text(text: str, rnd: random.Random) -> str:
    """``text`` with one to three line edits (a line deleted, duplicated, replaced, a key repeated), maybe truncated."""
    lines = text.splitlines()
    for _ in range(rnd.randint(1, 3)):
        i = rnd.randrange(len(lines) + 1)
        op = rnd.choice(["delete", "duplicate", "replace", "insert"])
        j = min(i, len(lines) - 1)
        if op == "delete" and lines:
            del lines[j]
        elif op == "duplicate" and lines:
            lines.insert(i, lines[j])
        else:
            new = rnd.choice(
                ["[grid]", "[[facilities]]", "x = ", "= 1", '"', "a = [", "[", "\x00", "é = 1", "a.b.c = 1"]
            )
            lines.insert(i, new) if op == "insert" or not lines else lines.__setitem__(j, new)
    out = "\n".join(lines) + "\n"
    if rnd.random() < 0.3:
        out = out[: rnd.randrange(len(out) + 1)]
    return out


DATA_FAMILIES = ("huge", "literal", "nan_inf", "deep", "wrong_type", "delete", "rename", "duplicate")
FAMILIES = (*DATA_FAMILIES, "text", "special_path")
SPECIALS = ("/dev/zero", "/dev/null", "fifo", "folder", "long name", "missing", "link loop", "large", "large toml")


# --------------------------------------------------------------------------- the folder and the contract


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A copy of scenarios/ (its data files and parts) and experiments/, with the special files beside them."""
    root = tmp_path_factory.mktemp("fuzz_readers")
    shutil.copytree(ROOT / "scenarios", root / "scenarios", ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    shutil.copytree(ROOT / "experiments", root / "experiments", ignore=shutil.ignore_patterns("*.py", "benchmarks"))
    os.mkfifo(root / "fifo.toml")
    (root / "folder.toml").mkdir()
    os.symlink(root / "loop_b.toml", root / "loop_a.toml")
    os.symlink(root / "loop_a.toml", root / "loop_b.toml")
    with open(root / "large.toml", "wb") as fh:  # sparse: no disk space is used
        fh.truncate(MAX_FILE_BYTES + 1)
    with open(root / "large_toml.toml", "wb") as fh:  # too large for TOML, not for a CSV
        fh.truncate(MAX_TOML_BYTES + 1)
    return root


def special(root: Path, which: str) -> str:
    """The path of a special file as an ``extends`` or ``scenarios`` entry gives it."""
    return {
        "/dev/zero": "/dev/zero",
        "/dev/null": "/dev/null",
        "fifo": str(root / "fifo.toml"),
        "folder": str(root / "folder.toml"),
        "long name": "n" * 1000,
        "missing": "no_such_scenario.toml",
        "link loop": str(root / "loop_a.toml"),
        "large": str(root / "large.toml"),
        "large toml": str(root / "large_toml.toml"),
    }[which]


def _snapshot(root: Path) -> dict[str, int]:
    """Every file under ``root`` (not following links) and its size: what a loader must not change."""
    return {str(p): p.lstat().st_size for p in root.rglob("*") if not p.is_symlink() and not p.is_fifo()}


def assert_contract(load: Callable[[Path], Any], path: Path, root: Path) -> None:
    """The property: a result, or a ScenarioError whose problems each name a file; in time; nothing written."""
    before = _snapshot(root)
    try:
        with time_limit(TIME_LIMIT_S):
            load(path)
    except ScenarioError as exc:
        assert exc.problems
        for p in exc.problems:
            assert isinstance(p.file, str) and p.file, p
            assert isinstance(p.key, str), p
            assert isinstance(p.message, str) and p.message, p
            assert p.line is None or p.line >= 1, p
        assert str(exc)
    assert _snapshot(root) == before


LOADERS: dict[str, Callable[[Path], Any]] = {
    "scenario": load_scenario,
    "experiment": load_experiment,
    "calibration": load_calibration,
}


def _kind(name: str) -> str:
    return "calibration" if name.startswith("calibration") else "experiment"


def _original(root: Path, kind: str, name: str) -> Path:
    return root / "scenarios" / name if kind == "scenario" else root / "experiments" / name


def _special_paths(kind: str, data: dict, where: str, rnd: random.Random) -> None:
    """Point the file's references at ``where``: extends, an entry of scenarios, scenario or observations."""
    if kind == "scenario":
        data["extends"] = where
    elif kind == "experiment":
        names = data.get("scenarios") or ["demo"]
        if rnd.random() < 0.2:
            data["scenarios"] = [names[0]] * rnd.choice([2, 1000, 5000])
        else:
            names.insert(rnd.randrange(len(names) + 1), where)
            data["scenarios"] = names
    else:
        data[rnd.choice(["scenario", "observations"])] = where


def mutant(root: Path, kind: str, name: str, family: str, rnd: random.Random) -> Path:
    """Write a mutant of a bundled file beside it (so that its relative paths still work); return its path."""
    original = _original(root, kind, name)
    text = original.read_text(encoding="utf-8")
    if family == "text":
        out = mutate_text(text, rnd)
    else:
        data = tomllib.loads(text)
        if family == "special_path":
            _special_paths(kind, data, special(root, rnd.choice(SPECIALS)), rnd)
        else:
            data = mutate_data(family, data, rnd)
        out = dump(data)
    path = original.with_name(f"mutant_{original.stem}.toml")
    path.write_text(out, encoding="utf-8")
    return path


def run_mutant(root: Path, kind: str, name: str, family: str, rnd: random.Random) -> None:
    path = mutant(root, kind, name, family, rnd)
    try:
        assert_contract(LOADERS[kind], path, root)
    finally:
        path.unlink()


# --------------------------------------------------------------------------- every family, every run


@pytest.mark.parametrize("family", FAMILIES)
@FUZZ
@given(name=st.sampled_from(SMALL), rnd=st.randoms(use_true_random=False))
@example(name="demo.toml", rnd=random.Random(0))
def test_mutated_scenario(folder, family, name, rnd):
    run_mutant(folder, "scenario", name, family, rnd)


@pytest.mark.parametrize("family", FAMILIES)
@FUZZ
@given(name=st.sampled_from(EXPERIMENTS), rnd=st.randoms(use_true_random=False))
@example(name="coverage_levels.toml", rnd=random.Random(0))
def test_mutated_experiment(folder, family, name, rnd):
    run_mutant(folder, _kind(name), name, family, rnd)


# the families that the reading of the file alone answers: cheap on the largest scenario
READ_FAMILIES = ("huge_int", "deep", "special_path")


@pytest.mark.parametrize("family", READ_FAMILIES)
@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_mutated(folder, name, family):
    run_mutant(folder, "scenario", name, family, random.Random(f"{name} {family}"))


@pytest.mark.parametrize("family", READ_FAMILIES)
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_mutated(folder, name, family):
    run_mutant(folder, _kind(name), name, family, random.Random(f"{name} {family}"))


# --------------------------------------------------------------------------- the CSV readers


@pytest.mark.parametrize("which", [s for s in SPECIALS if s != "large toml"])
def test_csv_readers_refuse_special_files_unopened(folder, which):
    # the candidates and observations readers refuse before opening, so no city or scenario is needed
    path = Path(special(folder, which))
    for read in (lambda p: read_candidates(p, None), lambda p: read_street_points(p, "EPSG:3067")):
        with pytest.raises(ScenarioError) as info:
            with time_limit(TIME_LIMIT_S):
                read(path)
        assert [p.file for p in info.value.problems] == [str(path)]
    with pytest.raises(ScenarioError) as info:
        with time_limit(TIME_LIMIT_S):
            read_observations(path, None)
    assert [p.file for p in info.value.problems] == [path.name]


def test_files_over_the_limits_are_refused_unread(folder):
    # sparse files: their size is known from os.stat without reading a byte
    toml, csv = folder / "large_toml.toml", folder / "large.toml"
    assert _problems(load_scenario, toml) == [
        f"{toml}: is {MAX_TOML_BYTES + 1:,} bytes, more than the {MAX_TOML_BYTES:,} bytes an input file may have"
    ]
    with pytest.raises(ScenarioError) as info:
        read_candidates(csv, None)
    assert [str(p) for p in info.value.problems] == [
        f"{csv}: is {MAX_FILE_BYTES + 1:,} bytes, more than the {MAX_FILE_BYTES:,} bytes an input file may have"
    ]


# --------------------------------------------------------------------------- one test per defect of issue 23


DEMO = ROOT / "scenarios" / "demo.toml"
DEEP = 'name = "d"\nscenarios = ["demo"]\nseeds = [1]\nmetrics = [' + "{ a = " * 1000 + "1" + " }" * 1000 + "]\n"


def _problems(load: Callable[[Path], Any], path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        with time_limit(TIME_LIMIT_S):
            load(path)
    return [str(p) for p in info.value.problems]


def _demo_with(tmp_path: Path, old: str, new: str) -> Path:
    text = DEMO.read_text(encoding="utf-8")
    assert old in text
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "demo.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    shutil.copytree(ROOT / "scenarios" / "parts", tmp_path / "parts")
    return path


def test_defect_1_huge_integers_are_problems_at_their_key(tmp_path):
    # a 5,000-digit literal: tomllib's ValueError; a long hex literal: an OverflowError in the checks
    demo = DEMO.read_text(encoding="utf-8")
    width = next(line for line in demo.splitlines() if line.startswith("width ="))
    path = _demo_with(tmp_path, width, "width = 0x" + "f" * 5000)
    assert _problems(load_scenario, path) == [
        "demo.toml: grid.width: out of range, an integer of 20,000 bits: integers are 64-bit, "
        "from -9,223,372,036,854,775,808 to 9,223,372,036,854,775,807"
    ]
    path = _demo_with(tmp_path / "b", width, "width = " + "9" * 5000)
    line = demo.splitlines().index(width) + 1
    assert _problems(load_scenario, path) == [
        f"demo.toml:{line}: a number of more digits than any value may have: integers are 64-bit, "
        "from -9,223,372,036,854,775,808 to 9,223,372,036,854,775,807"
    ]
    experiment = tmp_path / "sens.toml"
    experiment.write_text(
        'name = "s"\nscenarios = ["demo"]\nseeds = [1]\n[sensitivity]\nmethod = "morris"\n'
        f'[sensitivity.parameters."population.mixing"]\nmin = 0x{"f" * 40}\nmax = 1.0\n',
        encoding="utf-8",
    )
    assert _problems(load_experiment, experiment) == [
        'sens.toml: sensitivity.parameters."population.mixing".min: out of range, an integer of 160 bits: '
        "integers are 64-bit, from -9,223,372,036,854,775,808 to 9,223,372,036,854,775,807"
    ]


def test_defect_2_deep_nesting_is_a_problem(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text(
        'name = "d"\nscenarios = ["demo"]\nseeds = [1]\nmetrics = [' + "{ a = " * 1000 + "1" + " }" * 1000 + "]\n"
    )
    assert _problems(load_experiment, path) == [
        f"deep.toml: TOML syntax error: arrays or tables nested too deeply (at most {MAX_NESTING})"
    ]
    # deep enough for the limit, not for tomllib's recursion: the key that goes too deep
    path.write_text('name = "d"\nscenarios = ["demo"]\nseeds = [1]\nmetrics = ' + "[" * 30 + "]" * 30 + "\n")
    key = "metrics" + "[0]" * MAX_NESTING
    assert _problems(load_experiment, path) == [
        f"deep.toml: {key}: arrays or tables nested more than {MAX_NESTING} deep"
    ]


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_defect_3_extends_a_file_that_is_not_regular(tmp_path, target):
    if target == "fifo":
        os.mkfifo(tmp_path / "fifo")
        target = str(tmp_path / "fifo")
    path = tmp_path / "v.toml"
    path.write_text(f'name = "v"\nextends = "{target}"\n', encoding="utf-8")
    assert _problems(load_scenario, path) == [
        f"v.toml: extends: cannot read {target}: is not a regular file (a device, a pipe or a socket): "
        "only files are read"
    ]


def test_defect_4_a_name_too_long_for_the_file_system(tmp_path):
    path = tmp_path / "long.toml"
    path.write_text(f'name = "l"\nscenarios = ["{"a" * 1000}"]\nseeds = [1]\n', encoding="utf-8")
    assert _problems(load_experiment, path) == [
        f"long.toml: scenarios[0]: cannot read {tmp_path / ('a' * 1000)}: File name too long"
    ]


def test_defect_5_one_scenario_listed_thousands_of_times(tmp_path, monkeypatch):
    looked_for = []
    real = experiment_module.scenario_beside
    monkeypatch.setattr(experiment_module, "scenario_beside", lambda *a: looked_for.append(a[0]) or real(*a))
    path = tmp_path / "many.toml"
    names = ", ".join(['"demo"'] * 50_000 + ['"demo.toml"'])
    path.write_text(f'name = "m"\nscenarios = [{names}]\nseeds = [1]\n', encoding="utf-8")
    assert _problems(load_experiment, path) == [
        "many.toml: scenarios[1]: repeats scenarios[0] (demo.toml): every scenario once; "
        "so do 49,998 more entries ([2], [3], [4], [5], [6], ...)",
        "many.toml: scenarios[50000]: repeats scenarios[0] (demo.toml): every scenario once",
    ]
    assert looked_for == ["demo", "demo.toml"]  # each distinct name is looked for once


# --------------------------------------------------------------------------- through the command line


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "model.cli", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def test_command_line_answers_bad_files_with_exit_2(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "v.toml").write_text('name = "v"\nextends = "fifo"\n', encoding="utf-8")
    (tmp_path / "huge.toml").write_text('name = "h"\nseed = ' + "9" * 5000 + "\n", encoding="utf-8")
    (tmp_path / "deep.toml").write_text(
        'name = "d"\nscenarios = ["demo"]\nseeds = [1]\nmetrics = [' + "{ a = " * 1000 + "1" + " }" * 1000 + "]\n"
    )
    (tmp_path / "long.toml").write_text(f'name = "l"\nscenarios = ["{"a" * 1000}"]\nseeds = [1]\n')
    before = sorted(p.name for p in tmp_path.iterdir())
    checks = [
        (("validate", "v.toml", "huge.toml"), ["v.toml: extends: cannot read", "huge.toml:2: a number of more digits"]),
        (("batch", "deep.toml", "--out", "out"), ["deep.toml: TOML syntax error: arrays or tables nested too deeply"]),
        (("batch", "long.toml", "--out", "out"), ["long.toml: scenarios[0]: cannot read", "File name too long"]),
    ]
    for args, said in checks:
        done = _cli(*args, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert all(s in done.stderr for s in said), done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written
