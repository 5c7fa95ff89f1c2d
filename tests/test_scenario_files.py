"""Tests for finding scenario files (bundled ones by name, from anywhere), the files a scenario
was read from, and writing the resolved scenario back as TOML (model.scenario.write).
"""

from __future__ import annotations

import dataclasses
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from model.scenario import (
    DEFAULT_SCENARIO,
    Scenario,
    ScenarioError,
    bundled_scenarios,
    extend_toml,
    load_catalogue,
    load_scenario,
    resolve_scenario_path,
    scenario_toml,
)

BUNDLED_DIR = Path(str(resources.files("model.bundled_scenarios")))
EXPECTED_BUNDLED = {
    "demo",
    "helsinki_centre",
    "huimin_block",
    "wuhai_life_circle",
    "wuhai_life_circle_clustered",
    "wuhai_life_circle_embedded",
    "wuhai_city",
    "qingshan_city",
    "wuhai_life_circle_gated",
    "wuhai_city_gated",
    "qingshan_city_gated",
}


def problems_of(path) -> list:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.problems
    return info.value.problems


def round_trip(s: Scenario, folder: Path, name: str = "resolved.toml") -> Scenario:
    """Write ``s`` with scenario_toml, load it back, and check that nothing changed."""
    path = folder / name
    path.write_text(scenario_toml(s), encoding="utf-8")
    again = load_scenario(path)
    assert again == s
    # what equality does not see: the order of types (catalogue order, then new ones), sources
    assert list(again.types) == list(s.types)
    assert [c.name for c in again.communities] == [c.name for c in s.communities]
    assert [f.name for f in again.facilities] == [f.name for f in s.facilities]
    assert [t.source for t in again.types.values()] == [t.source for t in s.types.values()]
    assert again.files == (path.resolve(),)
    return again


# --------------------------------------------------------------------------- bundled scenarios


def test_bundled_scenarios_lists_the_top_level_files_sorted():
    found = bundled_scenarios()
    assert set(found) == EXPECTED_BUNDLED  # not parts/inner_mongolia, which is not a scenario alone
    assert list(found) == sorted(found)
    assert "inner_mongolia" not in found and "parts/inner_mongolia" not in found
    for name, path in found.items():
        assert path == BUNDLED_DIR / f"{name}.toml"
        assert path.is_file()
    assert DEFAULT_SCENARIO == found["demo"]


def test_bundled_folder_is_the_package_data_not_a_guess_from_the_source_tree():
    import model.scenario as scenario

    assert not hasattr(scenario, "ROOT")
    assert resolve_scenario_path(None) == BUNDLED_DIR / "demo.toml"


@pytest.mark.parametrize("name", ["demo", "demo.toml"])
def test_a_bare_name_finds_the_bundled_scenario_from_any_folder(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)  # an empty folder: nothing relative to it
    assert resolve_scenario_path(name) == BUNDLED_DIR / "demo.toml"
    s = load_scenario(name)
    assert s.name == "demo"
    assert s.path == (BUNDLED_DIR / "demo.toml").resolve()


def test_a_file_in_the_current_folder_comes_before_a_bundled_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo.toml").write_text(
        'name = "mine"\nextends = "' + (BUNDLED_DIR / "demo.toml").as_posix() + '"\n', encoding="utf-8"
    )
    assert resolve_scenario_path("demo.toml") == Path("demo.toml")
    assert load_scenario("demo.toml").name == "mine"
    assert load_scenario("demo").name == "demo"  # no such file "demo": the bundled one


def test_a_path_with_a_folder_is_never_a_bundled_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_scenario_path("./demo") == Path("./demo")
    assert resolve_scenario_path("sub/demo.toml") == Path("sub/demo.toml")


def test_a_misspelt_name_suggests_the_closest_bundled_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (problem,) = problems_of("dmeo")
    assert (problem.file, problem.key) == ("dmeo", "")
    assert "no bundled scenario of that name" in problem.message
    assert "did you mean 'demo'?" in problem.message
    assert "lifecircle scenarios" in problem.message
    (problem,) = problems_of("wuhai_cty.toml")
    assert (problem.file, "did you mean 'wuhai_city'?" in problem.message) == ("wuhai_cty.toml", True)


def test_a_name_like_no_bundled_one_suggests_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (problem,) = problems_of("zzzzzzzz")
    assert problem.file == "zzzzzzzz"
    assert "did you mean" not in problem.message


def test_a_missing_path_with_folders_is_not_found(tmp_path):
    (problem,) = problems_of(tmp_path / "nowhere.toml")
    assert (problem.file, problem.message) == (str(tmp_path / "nowhere.toml"), "file not found")
    (problem,) = problems_of(str(tmp_path / "dmeo.toml"))
    assert problem.file == str(tmp_path / "dmeo.toml")
    assert problem.message == "file not found (did you mean the bundled scenario 'demo'?)"


def test_a_folder_is_named_as_given_with_its_leading_slash(tmp_path):
    (problem,) = problems_of(str(tmp_path))
    assert problem.file == str(tmp_path) and problem.file.startswith("/")
    assert str(problem) == f"{tmp_path}: is a folder, not a scenario file"


def test_problems_inside_a_file_keep_naming_it_by_its_name(tmp_path):
    (tmp_path / "bad.toml").write_text('name = "x"\n', encoding="utf-8")
    problems = problems_of(tmp_path / "bad.toml")
    assert {p.file for p in problems} == {"bad.toml"}


# --------------------------------------------------------------------------- the files a scenario was read from


def test_files_lists_the_extends_chain_top_first(tmp_path):
    demo = BUNDLED_DIR / "demo.toml"
    variant = tmp_path / "variant.toml"
    variant.write_text(f'name = "variant"\nextends = "{demo.as_posix()}"\n', encoding="utf-8")
    s = load_scenario(variant)
    assert s.files == (variant.resolve(), demo.resolve(), (BUNDLED_DIR / "parts" / "inner_mongolia.toml").resolve())
    assert s.path == s.files[0]
    assert s == dataclasses.replace(load_scenario(demo), name="variant")


def test_files_and_warnings_do_not_take_part_in_equality(tmp_path):
    s = load_scenario("demo")
    assert s.files and s.warnings == ()
    copy = tmp_path / "demo_copy.toml"
    copy.write_text(scenario_toml(s), encoding="utf-8")
    again = load_scenario(copy)
    assert (again.path, again.files) != (s.path, s.files)
    assert again == s


# --------------------------------------------------------------------------- writing the resolved scenario


@pytest.mark.parametrize("name", sorted(EXPECTED_BUNDLED))
def test_every_bundled_scenario_round_trips(tmp_path, name):
    s = load_scenario(name)
    assert s.warnings == ()  # no bundled scenario has a community on mostly blocked cells
    round_trip(s, tmp_path)


BASE = """\
name = "base"
description = "the base"
seed = 4

[grid]
width = 30
height = 20
blocked = [[10, 0, 1, 8], [0, 15, 30, 2], [12, 0, 2, 3]]

[population]
groups = { han = 0.7, mongol = 0.2, hui = 0.1 }
ages = { "0-17" = 0.1, "18-59" = 0.6, "60-100" = 0.3 }

[walking]
m_per_min = { "0-59" = 78.0, "60-100" = 60.1 }

[[communities]]
name = "west"
area = [0, 0, 8, 8]
residents = 1234

[[communities]]
name = "east"
area = [14, 0, 8, 8]
residents = 321
groups = { han = 0.25, mongol = 0.5, hui = 0.25 }

[[facilities]]
type = "market"
at = [5, 5]

[[facilities]]
type = "park"
at = [20, 10]
name = "Central park"
"""

VARIANT = """\
name = "variant"
description = "extends the base, overrides, a new type, unnamed facilities"
extends = "parts/base.toml"

[population]
mixing = 0.3

[simulation]
tick_min = 2
day_start = "00:00"
day_end = "24:00"
cutoff_min = 22.5
first_weekday = 5

[facility_types.market]
capacity = 77
close = "23:30"
beta_per_min = inf
daily_prob = 0.123456789012345678

[facility_types.market.source]
capacity = "a measurement, written here"

[facility_types.gym]
label = "Gym \\"Strong\\" \\u00e9"
level_min = 12.5
ages = [16, 70]
daily_prob = 0.05
weekdays_only = true
depart = ["17:00", "19:00"]
visit_min = 60
open = "08:00"
close = "21:00"
capacity = 30
beta_per_min = 0.1
patience_min = 0
tries = 3

[facility_types.gym.source]
level_min = "assumption"

[facility_types."odd type"]
label = "A type whose id needs quotes"
level_min = 5
ages = [0, 100]
daily_prob = 1
weekdays_only = false
depart = ["06:00", "06:00"]
visit_min = 1
open = "06:00"
close = "24:00"
capacity = 1
beta_per_min = 0
patience_min = 1
tries = 10

[[communities]]
name = "west"
area = [0, 0, 9, 9]
residents = 2000
groups = { han = 0.5, hui = 0.5 }

[[communities]]
name = "south"
area = [0, 17, 30, 3]
residents = 10

[[facilities]]
type = "gym"
at = [3, 3]

[[facilities]]
type = "market"
at = [25, 5]

[[facilities]]
type = "odd type"
at = [1, 1]

[[facilities]]
type = "park"
at = [2, 2]
name = "market 3"
"""


@pytest.fixture
def variant(tmp_path) -> Path:
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "base.toml").write_text(BASE, encoding="utf-8")
    path = tmp_path / "variant.toml"
    path.write_text(VARIANT, encoding="utf-8")
    return path


def test_a_variant_with_overrides_and_new_types_round_trips(variant, tmp_path):
    s = load_scenario(variant)
    # what the variant holds, so that the round trip is tested on it
    assert s.files == (variant.resolve(), (tmp_path / "parts" / "base.toml").resolve())
    assert list(s.types) == [*load_catalogue(), "gym", "odd type"]
    assert s.types["market"].capacity == 77 and s.types["market"].beta_per_min == float("inf")
    assert s.types["market"].source["capacity"] == "a measurement, written here"
    assert [c.name for c in s.communities] == ["west", "east", "south"]
    assert s.communities[0].groups == {"han": 0.5, "hui": 0.5}
    assert [f.name for f in s.facilities] == ["market 1", "Central park", "gym 1", "market 2", "odd type 1", "market 3"]
    assert (s.simulation.day_start_min, s.simulation.day_end_min) == (0, 24 * 60)

    again = round_trip(s, tmp_path / "parts", "variant_resolved.toml")  # beside base.toml: no extends is read
    assert again.types["market"].daily_prob == 0.123456789012345678
    assert again.speeds == s.speeds and list(again.speeds.values()) == [78.0, 60.1]


def test_the_written_file_stands_alone(variant, tmp_path):
    text = scenario_toml(load_scenario(variant))
    data = tomllib.loads(text)
    assert "extends" not in data
    assert list(data["grid"]) == ["width", "height", "cell_m", "blocked"]
    assert data["simulation"] == {
        "tick_min": 2,
        "day_start": "00:00",
        "day_end": "24:00",
        "cutoff_min": 22.5,
        "block_m": 200.0,
        "contact_min": 10,
        "first_weekday": 5,
        "reference_m_per_min": 80.0,
        "learning": True,
        "learning_penalty_min": 10.0,
    }
    assert data["population"]["ages"] == {"0-17": 0.1, "18-59": 0.6, "60-100": 0.3}
    assert all({"type", "at", "capacity", "name"} == set(f) for f in data["facilities"])
    assert ["groups" in c for c in data["communities"]] == [True, True, False]
    fields = {"label", "level_min", "ages", "daily_prob", "weekdays_only", "depart", "visit_min", "open", "close"}
    fields |= {"capacity", "beta_per_min", "patience_min", "tries"}
    for tid, table in data["facility_types"].items():
        optional = {
            "source",
            "catchment_min",
            "area_m2",
            "open_space",
            "osm",
            "enrolment",
            "apply_share",
            "escort_below_age",
        }
        assert fields <= set(table) <= fields | optional, tid
    assert data["facility_types"]["park"]["area_m2"] == 4000  # written only where the catalogue sets it
    assert "catchment_min" not in data["facility_types"]["park"]
    # moved anywhere, it loads the same: nothing is read but the file itself
    elsewhere = tmp_path / "a" / "b"
    elsewhere.mkdir(parents=True)
    (elsewhere / "copy.toml").write_text(text, encoding="utf-8")
    assert load_scenario(elsewhere / "copy.toml") == load_scenario(variant)


def test_the_header_says_what_the_file_is(variant):
    text = scenario_toml(load_scenario(variant))
    header = text[: text.index("\nname = ")].splitlines()
    assert header and all(line.startswith("#") or not line for line in header)
    assert "resolved scenario 'variant'" in header[0] and "lifecircle" in header[0]
    assert str(variant.resolve()) in header[0] and "(with its bases base.toml)" in header[0]
    assert "extends" not in "\n".join(header)  # not even in a comment
    assert any("same scenario" in line for line in header)
    assert any("source" in line for line in header)


def test_a_path_with_a_newline_does_not_break_the_header(tmp_path):
    folder = tmp_path / "odd\nname = 'x'"
    folder.mkdir()
    path = folder / "s.toml"
    path.write_text(scenario_toml(load_scenario("demo")), encoding="utf-8")
    s = load_scenario(path)
    round_trip(s, folder, "again.toml")
    assert tomllib.loads(scenario_toml(s))["name"] == "demo"


def test_writing_twice_gives_the_same_text_but_the_header(variant, tmp_path):
    first = scenario_toml(load_scenario(variant))
    path = tmp_path / "resolved.toml"
    path.write_text(first, encoding="utf-8")
    second = scenario_toml(load_scenario(path))

    def body(text: str) -> str:
        return text[text.index("\nname = ") :]

    assert body(second) == body(first)


# --------------------------------------------------------------------------- a variant that adds facilities

ODD_NAMES = ['a "quoted" park', "back\\slash\\", "公园 of Wuhai", "élan \\u00e9 'single' [x] = y #"]


def test_extend_toml_adds_exactly_the_facilities_given(tmp_path):
    base = load_scenario("huimin_block")
    target = tmp_path / "plans" / "new.toml"
    target.parent.mkdir()
    free = _walkable_cells(base, 4)
    added = [(t, x, y, n) for (x, y), t, n in zip(free, ["park", "market", "park", "elderly_care"], ODD_NAMES)]
    text = extend_toml(base.path, target, "huimin plan 'B' 二", added, 'greedy plus swap\nsecond line "quoted"')
    target.write_text(text, encoding="utf-8")

    assert text.startswith('# greedy plus swap\n# second line "quoted"\n')
    data = tomllib.loads(text)
    assert set(data) == {"name", "extends", "facilities"}
    # a bundled base is named by its name: the file can be moved (tests/test_scenario_portable.py)
    assert data["extends"] == "huimin_block"

    again = load_scenario(target)
    assert again.name == "huimin plan 'B' 二"
    assert again.files[1:] == base.files
    assert again.facilities[: len(base.facilities)] == base.facilities  # the base's, unchanged, first
    new = again.facilities[len(base.facilities) :]
    assert [(f.type, f.x, f.y, f.name) for f in new] == added
    assert [f.capacity for f in new] == [base.types[t].capacity for t, *_ in added]
    assert again.types == base.types and again.communities == base.communities


def test_extend_toml_with_no_facilities_is_the_base_renamed(tmp_path):
    target = tmp_path / "same.toml"
    target.write_text(extend_toml(DEFAULT_SCENARIO, target, "same", [], ""), encoding="utf-8")
    again = load_scenario(target)
    assert dataclasses.replace(again, name="demo") == load_scenario("demo")


def _walkable_cells(s: Scenario, n: int) -> list[tuple[int, int]]:
    """The first ``n`` walkable cells of ``s``'s grid without a facility, row by row."""
    taken = {(f.x, f.y) for f in s.facilities}
    out = []
    for y in range(s.grid.height):
        for x in range(s.grid.width):
            blocked = any(bx <= x < bx + bw and by <= y < by + bh for bx, by, bw, bh in s.grid.blocked)
            if not blocked and (x, y) not in taken:
                out.append((x, y))
                if len(out) == n:
                    return out
    raise AssertionError("not enough free cells")
