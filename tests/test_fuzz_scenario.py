"""Fuzzing model.scenario.load_scenario: whatever the file holds, the loader returns a
Scenario or raises ScenarioError, never any other exception; and a Scenario it returns, written
with scenario_toml, loads back equal.

Valid scenario texts are mutated on two levels:

* text: truncated at a random point, random lines inserted, deleted or duplicated;
* data: parsed, then keys dropped or added, values replaced by other types, random numbers
  (negative, zero, huge, NaN, inf) and random strings, and written back with ``dump_toml``.

Files are fuzzed alone and as a variant that ``extends`` a (possibly fuzzed) base.
"""

from __future__ import annotations

import math
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from model.scenario import Problem, Scenario, ScenarioError, load_scenario, scenario_toml
from tests.test_scenario import BASE, VALID, VARIANT

ROOT = Path(__file__).resolve().parent.parent
DEMO = (ROOT / "scenarios" / "demo.toml").read_text(encoding="utf-8")
INNER_MONGOLIA = (ROOT / "scenarios" / "parts" / "inner_mongolia.toml").read_text(encoding="utf-8")
SEEDS = {"valid": VALID, "demo": DEMO, "variant": VARIANT}

FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,  # keep the working tree clean; a failure prints its example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --------------------------------------------------------------------------- a tiny TOML writer


def _toml_string(s: str) -> str:
    out = []
    for ch in s:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _toml_string(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(a) for a in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_string(k)} = {_toml_value(a)}" for k, a in v.items()) + "}"
    raise TypeError(type(v))


def dump_toml(data: dict) -> str:
    """TOML text of ``data``: one ``"key" = value`` line per top-level key, tables written inline."""
    return "".join(f"{_toml_string(k)} = {_toml_value(v)}\n" for k, v in data.items())


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_dump_toml_round_trips(name):
    data = tomllib.loads(SEEDS[name])
    assert tomllib.loads(dump_toml(data)) == data


@given(
    st.dictionaries(
        st.text(max_size=5),
        st.recursive(
            st.one_of(
                st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.text(max_size=10), st.booleans()
            ),
            lambda ch: st.lists(ch, max_size=3) | st.dictionaries(st.text(max_size=5), ch, max_size=3),
            max_leaves=8,
        ),
    )
)
@settings(max_examples=100, deadline=None, database=None)
def test_dump_toml_round_trips_random_data(data):
    assert tomllib.loads(dump_toml(data)) == data


# --------------------------------------------------------------------------- random values

NUMBERS = st.one_of(
    st.sampled_from([0, -1, 1, 2, 59, 60, 100, 101, 2**63 - 1, -(2**63), 10**12]),
    st.integers(-5, 70),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0.0, -0.0, 0.5, 1.0, -1.0, 1e308, -1e308, 5e-324, math.nan, math.inf, -math.inf]),
    st.floats(allow_nan=True, allow_infinity=True),
)
STRINGS = st.one_of(
    st.sampled_from(
        [
            "",
            "park",
            "parc",
            "0-100",
            "0-17",
            "60-",
            "-1-5",
            "07:30",
            "24:00",
            "25:00",
            "..",
            "a/b",
            "inner_mongolia.toml",
            "demo.toml",
            "variant.toml",
            "nope.toml",
            "\x00",
        ]
    ),
    st.text(max_size=20),
)
SCALARS = st.one_of(NUMBERS, STRINGS, st.booleans())
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(STRINGS, children, max_size=4),
    max_leaves=12,
)
KEYS = st.one_of(
    st.sampled_from(
        [
            "name",
            "extends",
            "seed",
            "width",
            "height",
            "cell_m",
            "blocked",
            "groups",
            "ages",
            "mixing",
            "m_per_min",
            "type",
            "at",
            "capacity",
            "residents",
            "area",
            "tick_min",
            "day_start",
            "day_end",
            "capcity",
            "widht",
            "park",
            "source",
            "label",
            "ages",
            "open",
            "close",
            "depart",
        ]
    ),
    st.text(max_size=10),
)


def _swapped(value: Any) -> list[Any]:
    """Values of other types made from ``value``."""
    out: list[Any] = [str(value), [value], {"v": value}]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        out += [float(value), -value, value * 10**6, bool(value)]
        if isinstance(value, float) and math.isfinite(value):
            out.append(int(value))
    if isinstance(value, list):
        out += [value[:-1], value + value, {str(i): a for i, a in enumerate(value)}, len(value)]
    if isinstance(value, dict):
        out += [list(value.values()), list(value), {}]
    return out


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys and indices) into nested dicts and lists."""
    out = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for k, v in items:
        out.append((*prefix, k))
        out.extend(_paths(v, (*prefix, k)))
    return out


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _get(data: Any, path: tuple) -> Any:
    for k in path:
        data = data[k]
    return data


ALL_OPS = ("drop", "random", "swap", "add", "number", "number")


@st.composite
def mutated_data(draw, data: dict, ops: tuple[str, ...] = ALL_OPS) -> dict:
    """``data`` with one to four random changes of the kinds in ``ops``."""
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(data)
        if not paths:
            data = draw(st.dictionaries(KEYS, VALUES, max_size=3))
            continue
        op = draw(st.sampled_from(ops))
        numeric = [p for p in paths if _is_number(_get(data, p))]
        if op == "number" and numeric:  # sizes, cells, shares, speeds: where range checks live
            path = draw(st.sampled_from(numeric))
        else:
            path = draw(st.sampled_from(paths))
        parent, key = _get(data, path[:-1]), path[-1]
        if op == "number":
            parent[key] = draw(NUMBERS)
        elif op == "drop":
            del parent[key]
        elif op == "random":
            parent[key] = draw(VALUES)
        elif op == "swap":
            parent[key] = draw(st.sampled_from(_swapped(parent[key])))
        elif isinstance(parent, dict):
            parent[draw(KEYS)] = draw(VALUES)
        else:
            parent.insert(draw(st.integers(0, len(parent))), draw(VALUES))
    return data


# --------------------------------------------------------------------------- random text

LINES = st.one_of(
    st.sampled_from(
        [
            "",
            "#",
            "[grid]",
            "[[facilities]]",
            "[[communities]]",
            "[population]",
            "[walking]",
            "[simulation]",
            "[facility_types.park]",
            "[facility_types.gym]",
            "[facility_types.park.source]",
            "width = -1",
            "width = 0",
            "height = 9223372036854775807",
            "cell_m = nan",
            "cell_m = inf",
            "at = [1, 1]",
            "at = [99999, -3]",
            'type = "park"',
            'type = "gym"',
            "capacity = 0",
            "capacity = 5",
            'name = "x"',
            'name = "../../x"',
            'extends = "variant.toml"',
            'extends = "nope.toml"',
            'extends = "parts/inner_mongolia.toml"',
            'extends = "demo.toml"',
            'extends = ""',
            "groups = { a = 1.0 }",
            "groups = { han = 0.5 }",
            'ages = { "0-100" = 1.0 }',
            'ages = { "0-50" = 0.5, "40-100" = 0.5 }',
            'm_per_min = { "0-50" = 70.0 }',
            'm_per_min = { "0-100" = -1.0 }',
            'm_per_min = { "0-100" = 1e-300 }',
            "area = [0, 0, 1, 1]",
            "area = [0, 0, 0, 0]",
            "residents = 1",
            "residents = -1",
            "blocked = [[0, 0, 60, 40]]",
            "blocked = [[0, 0, 1, 1], [0, 0, 1, 1]]",
            'day_start = "23:59"',
            'day_end = "00:00"',
            "tick_min = 7",
            "mixing = -0.0",
            "seed = -1",
            'open = "24:00"',
            'depart = ["09:00", "08:00"]',
            "ages = [0, 100]",
            "beta_per_min = inf",
            "beta_per_min = -inf",
            "tries = 0",
            'source = { a = "b" }',
            "x = " + "[" * 50,
            "a = " + "[" * 2000 + "]" * 2000,
            'ages = { "0-' + "9" * 5000 + '" = 1.0 }',
        ]
    ),
    st.builds(lambda k, v: f"{dump_toml({k: v}).rstrip()}", KEYS, VALUES),
    st.text(max_size=30).map(lambda s: s.replace("\r", "")),
)


@st.composite
def mutated_text(draw, text: str) -> str:
    """``text`` with one to three random edits to its lines, maybe truncated."""
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["insert", "delete", "duplicate", "replace"]))
        i = draw(st.integers(0, len(lines)))
        if op == "insert" or not lines:
            lines.insert(i, draw(LINES))
        elif op == "delete":
            del lines[min(i, len(lines) - 1)]
        elif op == "duplicate":
            lines.insert(i, lines[min(i, len(lines) - 1)])
        else:
            lines[min(i, len(lines) - 1)] = draw(LINES)
    out = "\n".join(lines) + "\n"
    if draw(st.booleans()):
        out = out[: draw(st.integers(0, len(out)))]
    return out


# --------------------------------------------------------------------------- the property


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A folder with the bundled part and the extends test base, as the seeds expect."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "parts").mkdir()
    shutil.copy(ROOT / "scenarios" / "parts" / "inner_mongolia.toml", root / "parts" / "inner_mongolia.toml")
    (root / "parts" / "base.toml").write_text(BASE, encoding="utf-8")
    return root


def assert_loads_or_reports(path: Path) -> None:
    """The property: a Scenario, or a ScenarioError with well-formed problems; nothing else."""
    try:
        s = load_scenario(path)
    except ScenarioError as exc:
        assert exc.problems
        for p in exc.problems:
            assert isinstance(p.file, str) and p.file
            assert isinstance(p.key, str)
            assert isinstance(p.message, str) and p.message
            assert p.line is None or p.line >= 1
        assert str(exc)
        syntax = any(p.message.startswith("TOML syntax error") for p in exc.problems)
        event("TOML syntax error" if syntax else "ScenarioError")
        return
    event("loaded")
    # what a loaded scenario promises
    assert isinstance(s, Scenario)
    g = s.grid
    assert g.width > 0 and g.height > 0 and math.isfinite(g.cell_m) and g.cell_m > 0
    assert abs(sum(s.groups.values()) - 1) < 1e-6
    assert abs(sum(s.ages.values()) - 1) < 1e-6
    assert all(s.speed_for(age) > 0 for age in range(101))
    assert 0 <= s.mixing <= 1
    assert s.communities
    for f in s.facilities:
        assert 0 <= f.x < g.width and 0 <= f.y < g.height
        assert not any(x <= f.x < x + w and y <= f.y < y + h for x, y, w, h in g.blocked)
        assert f.type in s.types and f.capacity > 0
    assert len({f.name for f in s.facilities}) == len(s.facilities)
    assert len({c.name for c in s.communities}) == len(s.communities)
    assert s.files and s.files[0] == s.path
    assert all(isinstance(w, Problem) and w.file and w.key and w.message for w in s.warnings)
    assert_round_trip(s, path.with_name(f"{path.stem}.resolved.toml"))


def assert_round_trip(s: Scenario, out: Path) -> None:
    """Writing the resolved scenario and loading it gives the same scenario, in the same order."""
    out.write_text(scenario_toml(s), encoding="utf-8")
    again = load_scenario(out)
    assert again == s
    assert list(again.types) == list(s.types)
    assert [t.source for t in again.types.values()] == [t.source for t in s.types.values()]
    assert [(w.key, w.message) for w in again.warnings] == [(w.key, w.message) for w in s.warnings]
    assert again.files == (out.resolve(),)


@FUZZ
@given(data=st.data(), seed=st.sampled_from(sorted(SEEDS)))
def test_mutated_text_loads_or_reports(folder, data, seed):
    path = folder / f"{seed}.toml"
    path.write_text(data.draw(mutated_text(SEEDS[seed])), encoding="utf-8")
    assert_loads_or_reports(path)


@FUZZ
@given(data=st.data(), seed=st.sampled_from(sorted(SEEDS)))
def test_mutated_data_loads_or_reports(folder, data, seed):
    path = folder / f"{seed}.toml"
    path.write_text(dump_toml(data.draw(mutated_data(tomllib.loads(SEEDS[seed])))), encoding="utf-8")
    assert_loads_or_reports(path)


@FUZZ
@given(data=st.data(), seed=st.sampled_from(["valid", "demo"]))
def test_mutated_numbers_load_or_report(folder, data, seed):
    # only numbers change, so most files stay well-formed and reach the range and geometry checks
    path = folder / f"{seed}.toml"
    mutated = data.draw(mutated_data(tomllib.loads(SEEDS[seed]), ops=("number",)))
    path.write_text(dump_toml(mutated), encoding="utf-8")
    assert_loads_or_reports(path)


@FUZZ
@given(data=st.data(), base=st.sampled_from(["base", "inner_mongolia"]), on_text=st.booleans())
def test_mutated_base_loads_or_reports(folder, data, base, on_text):
    folder = folder / "mutated_base"
    (folder / "parts").mkdir(parents=True, exist_ok=True)
    original = BASE if base == "base" else INNER_MONGOLIA
    if on_text:
        text = data.draw(mutated_text(original))
    else:
        text = dump_toml(data.draw(mutated_data(tomllib.loads(original))))
    (folder / "parts" / f"{base}.toml").write_text(text, encoding="utf-8")
    variant = VARIANT if base == "base" else DEMO
    path = folder / "top.toml"
    path.write_text(variant, encoding="utf-8")
    assert_loads_or_reports(path)


def test_seeds_load(folder):
    # the fuzz starts from valid files: were they invalid, most examples would test little
    names = {}
    for seed, text in SEEDS.items():
        path = folder / f"seed_{seed}.toml"
        path.write_text(text, encoding="utf-8")
        names[seed] = load_scenario(path).name
    assert names == {"valid": "mini", "demo": "demo", "variant": "variant"}
