"""Tests for model.scenario: every kind of bad input, `extends`, and the command line.

Each bad-input test starts from VALID (a small scenario that loads), changes one thing, and
checks that the loader raises ScenarioError naming the file, the key path and the problem.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from model.scenario import MAX_TRIES, AgeBand, Grid, Problem, ScenarioError, load_catalogue, load_scenario
from model.scenario.sites import _blocked_cells

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted((ROOT / "scenarios").glob("*.toml"))

# A 20x10 grid with a wall at x = 10 over rows 0..3; two communities, three facilities.
VALID = """\
name = "mini"
description = "a small test town"
seed = 7

[grid]
width = 20
height = 10
cell_m = 50.0
blocked = [[10, 0, 1, 4]]

[population]
groups = { han = 0.9, mongol = 0.1 }
ages = { "0-17" = 0.2, "18-59" = 0.5, "60-100" = 0.3 }
mixing = 0.5

[walking]
m_per_min = { "0-59" = 78.0, "60-100" = 60.0 }

[simulation]
tick_min = 5
day_start = "06:00"
day_end = "22:00"

[[communities]]
name = "north"
area = [0, 0, 5, 5]
residents = 100

[[communities]]
name = "south"
area = [0, 5, 5, 5]
residents = 50
groups = { han = 0.5, mongol = 0.5 }

[[facilities]]
type = "park"
at = [2, 2]

[[facilities]]
type = "market"
at = [12, 3]
capacity = 99
name = "Big market"

[[facilities]]
type = "kindergarten"
at = [3, 7]
"""


def mutate(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` (which must occur exactly once) replaced by ``new``."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def write(folder: Path, text: str, name: str = "s.toml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[Problem]:
    """The problems the loader reports for ``path`` (it must report some)."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.problems, "ScenarioError without problems"
    return info.value.problems


def find(problems: list[Problem], file: str, key: str, fragment: str) -> Problem:
    """The one problem at ``file``/``key`` whose message contains ``fragment``."""
    hits = [p for p in problems if p.file == file and p.key == key and fragment in p.message]
    assert len(hits) == 1, f"wanted {file}: {key}: ...{fragment}...; got:\n" + "\n".join(map(str, problems))
    return hits[0]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "model.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


# --------------------------------------------------------------------------- valid input


def test_valid_scenario_loads_to_the_expected_values(tmp_path):
    s = load_scenario(write(tmp_path, VALID))
    catalogue = load_catalogue()

    assert (s.name, s.description, s.seed) == ("mini", "a small test town", 7)
    assert s.path == (tmp_path / "s.toml").resolve()
    assert (s.grid.width, s.grid.height, s.grid.cell_m) == (20, 10, 50.0)
    assert s.grid.blocked == ((10, 0, 1, 4),)
    assert s.groups == {"han": 0.9, "mongol": 0.1}
    assert s.ages == {AgeBand(0, 17): 0.2, AgeBand(18, 59): 0.5, AgeBand(60, 100): 0.3}
    assert list(s.ages) == [AgeBand(0, 17), AgeBand(18, 59), AgeBand(60, 100)]  # ordered by age
    assert s.mixing == 0.5
    assert s.speeds == {AgeBand(0, 59): 78.0, AgeBand(60, 100): 60.0}
    assert (s.speed_for(0), s.speed_for(59), s.speed_for(60), s.speed_for(100)) == (78.0, 78.0, 60.0, 60.0)

    north, south = s.communities
    assert (north.name, north.area, north.residents, north.groups) == ("north", (0, 0, 5, 5), 100, None)
    assert (south.name, south.residents, south.groups) == ("south", 50, {"han": 0.5, "mongol": 0.5})

    park, market, kindergarten = s.facilities
    # capacity: the catalogue's default unless the facility gives its own; unnamed ones get "<type> <n>"
    assert (park.type, park.x, park.y, park.name) == ("park", 2, 2, "park 1")
    assert park.capacity == catalogue["park"]["capacity"]
    assert catalogue["park"]["capacity"] == 400
    assert (market.capacity, market.name) == (99, "Big market")
    assert kindergarten.capacity == catalogue["kindergarten"]["capacity"] == 270

    # every catalogue type is available, present or not
    assert list(s.types) == list(catalogue)
    assert len(s.types) == 12
    assert s.types_present == ["kindergarten", "market", "park"]  # catalogue order
    assert s.types["kindergarten"].beta_per_min == float("inf")
    assert s.types["elderly_care"].ages == AgeBand(60, 100)
    assert s.types["elderly_care"].depart_windows == ((10 * 60 + 30, 11 * 60 + 30),)

    sim = s.simulation
    assert (sim.tick_min, sim.day_start_min, sim.day_end_min) == (5, 360, 1320)
    assert (sim.cutoff_min, sim.block_m, sim.contact_min, sim.first_weekday) == (30.0, 200.0, 10, 0)  # defaults


def test_optional_keys_take_their_defaults(tmp_path):
    text = VALID
    for line in ('description = "a small test town"\n', "seed = 7\n", "cell_m = 50.0\n", "mixing = 0.5\n"):
        text = mutate(text, line, "")
    text = mutate(text, "blocked = [[10, 0, 1, 4]]\n", "")
    text = text[: text.index("[simulation]")] + text[text.index("[[communities]]") :]
    s = load_scenario(write(tmp_path, text))
    assert (s.description, s.seed, s.grid.cell_m, s.grid.blocked, s.mixing) == ("", 0, 50.0, (), 1.0)
    assert (s.simulation.tick_min, s.simulation.day_start_min, s.simulation.day_end_min) == (1, 360, 1320)


def test_facility_types_override_catalogue_fields(tmp_path):
    text = (
        VALID
        + """
[facility_types.park]
capacity = 123
close = "23:30"
[facility_types.park.source]
capacity = "test: a bigger park"
"""
    )
    s = load_scenario(write(tmp_path, text))
    park = s.types["park"]
    catalogue = load_catalogue()["park"]
    assert park.capacity == 123
    assert park.close_min == 23 * 60 + 30
    assert park.label == catalogue["label"]  # fields not overridden are kept
    assert park.source["capacity"] == "test: a bigger park"
    assert park.source["ages"] == catalogue["source"]["ages"]  # source merged key by key
    assert s.facilities[0].capacity == 123  # the park's default capacity is the override
    assert s.facilities[1].capacity == 99  # an explicit capacity still wins
    assert s.types["market"].capacity == load_catalogue()["market"]["capacity"]


def test_a_new_facility_type_with_every_field_can_be_used(tmp_path):
    text = (
        VALID
        + """
[facility_types.gym]
label = "Gym"
level_min = 10
ages = [16, 70]
daily_prob = 0.1
weekdays_only = false
depart = ["18:00", "20:00"]
visit_min = 60
open = "06:00"
close = "22:00"
capacity = 30
beta_per_min = 0.2
patience_min = 5
tries = 1

[[facilities]]
type = "gym"
at = [15, 8]
"""
    )
    s = load_scenario(write(tmp_path, text))
    assert s.types["gym"].ages == AgeBand(16, 70)
    assert s.facilities[-1].type == "gym"
    assert s.facilities[-1].capacity == 30
    assert s.facilities[-1].name == "gym 1"


def test_bundled_default_scenario_loads():
    s = load_scenario()  # scenarios/demo.toml, which extends parts/inner_mongolia.toml
    assert s.name == "demo"
    assert (s.grid.width, s.grid.height) == (60, 40)
    assert s.groups == {"han": 0.90, "mongol": 0.06, "hui": 0.04}
    assert len(s.facilities) == 18  # 17 and the nursery classes
    assert sum(c.residents for c in s.communities) == 3000
    assert load_scenario("demo") == s  # a bare name finds the bundled file


def test_a_bom_at_the_start_of_the_file_is_accepted(tmp_path):
    path = tmp_path / "s.toml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode("utf-8"))
    assert load_scenario(path).name == "mini"


# --------------------------------------------------------------------------- one case per kind of bad input

# (id, text to replace, replacement, key path, message fragment); the file is always s.toml
BAD = [
    # unknown keys, with and without a suggestion
    ("unknown-top-key", "seed = 7", "seed = 7\ncolour = 3", "colour", "unknown key"),
    ("unknown-table", "[grid]", "[gird]\nx = 1\n[grid]", "gird", "unknown key (did you mean 'grid'?)"),
    ("typo-grid-key", "cell_m = 50.0", "cell_mm = 50.0", "grid.cell_mm", "did you mean 'cell_m'?"),
    ("typo-facility-key", "capacity = 99", "capcity = 99", "facilities[1].capcity", "did you mean 'capacity'?"),
    (
        "typo-community-key",
        "residents = 50",
        "residents = 50\nresidnets = 5",
        "communities[1].residnets",
        "did you mean 'residents'?",
    ),
    ("typo-simulation-key", "tick_min = 5", "tick_mins = 5", "simulation.tick_mins", "did you mean 'tick_min'?"),
    (
        "typo-type-field",
        "[grid]",
        "[facility_types.park]\ncapasity = 5\n\n[grid]",
        "facility_types.park.capasity",
        "did you mean 'capacity'?",
    ),
    # wrong types
    ("name-not-string", 'name = "mini"', "name = 5", "name", "must be a string"),
    ("width-string", "width = 20", 'width = "20"', "grid.width", "must be an integer, not '20'"),
    ("width-float", "width = 20", "width = 20.0", "grid.width", "must be an integer"),
    ("cell-m-bool", "cell_m = 50.0", "cell_m = true", "grid.cell_m", "must be a number"),
    (
        "grid-not-table",
        "[grid]\nwidth = 20\nheight = 10\ncell_m = 50.0\nblocked = [[10, 0, 1, 4]]",
        "grid = 5",
        "grid",
        "must be a table",
    ),
    ("blocked-not-rect", "blocked = [[10, 0, 1, 4]]", "blocked = [[10, 0, 1]]", "grid.blocked[0]", "[x, y, w, h]"),
    (
        "groups-not-table",
        "groups = { han = 0.9, mongol = 0.1 }",
        'groups = "han"',
        "population.groups",
        "table of shares",
    ),
    ("share-string", "mongol = 0.1 }", 'mongol = "0.1" }', "population.groups.mongol", "must be a share"),
    ("mixing-string", "mixing = 0.5", 'mixing = "half"', "population.mixing", "must be a number"),
    ("mixing-nan", "mixing = 0.5", "mixing = nan", "population.mixing", "must be a number"),
    (
        "speed-string",
        '"60-100" = 60.0 }',
        '"60-100" = "slow" }',
        "walking.m_per_min.60-100",
        "must be a speed in metres per minute",
    ),
    ("area-floats", "area = [0, 0, 5, 5]", "area = [0, 0, 5.0, 5]", "communities[0].area", "[x, y, w, h]"),
    ("residents-float", "residents = 100", "residents = 100.5", "communities[0].residents", "must be an integer"),
    ("at-string", "at = [2, 2]", 'at = [2, "2"]', "facilities[0].at", "[x, y] (two integers)"),
    ("at-three", "at = [2, 2]", "at = [2, 2, 2]", "facilities[0].at", "[x, y] (two integers)"),
    ("type-not-string", 'type = "park"', "type = 3", "facilities[0].type", "must be a string"),
    ("time-bad", 'day_start = "06:00"', 'day_start = "6am"', "simulation.day_start", 'a time "HH:MM"'),
    ("time-61-minutes", 'day_start = "06:00"', 'day_start = "06:61"', "simulation.day_start", 'a time "HH:MM"'),
    ("toml-time-not-string", 'day_start = "06:00"', "day_start = 06:00:00", "simulation.day_start", 'a time "HH:MM"'),
    (
        "source-not-string",
        "[grid]",
        "[facility_types.park.source]\ncapacity = 5\n\n[grid]",
        "facility_types.park.source",
        "must be a table of strings",
    ),
    # shares that do not sum to 1, or are negative
    ("groups-sum", "mongol = 0.1 }", "mongol = 0.2 }", "population.groups", "shares must sum to 1, not 1.1"),
    ("ages-sum", '"60-100" = 0.3 }', '"60-100" = 0.2 }', "population.ages", "shares must sum to 1, not 0.9"),
    (
        "community-groups-sum",
        "groups = { han = 0.5, mongol = 0.5 }",
        "groups = { han = 0.5, mongol = 0.6 }",
        "communities[1].groups",
        "shares must sum to 1, not 1.1",
    ),
    (
        "share-negative",
        "groups = { han = 0.9, mongol = 0.1 }",
        "groups = { han = 1.1, mongol = -0.1 }",
        "population.groups.mongol",
        "must be a share between 0 and 1",
    ),
    ("shares-empty", "groups = { han = 0.9, mongol = 0.1 }", "groups = {}", "population.groups", "at least one share"),
    (
        "community-unknown-group",
        "groups = { han = 0.5, mongol = 0.5 }",
        "groups = { han = 0.5, mongl = 0.5 }",
        "communities[1].groups.mongl",
        "not in population.groups (did you mean 'mongol'?)",
    ),
    ("mixing-above-1", "mixing = 0.5", "mixing = 1.5", "population.mixing", "between 0 and 1"),
    # negative or zero sizes
    ("width-zero", "width = 20", "width = 0", "grid.width", "must be positive, not 0"),
    ("height-negative", "height = 10", "height = -10", "grid.height", "must be positive, not -10"),
    ("cell-m-zero", "cell_m = 50.0", "cell_m = 0.0", "grid.cell_m", "must be positive"),
    ("cell-m-inf", "cell_m = 50.0", "cell_m = inf", "grid.cell_m", "must be a finite number, not inf"),
    (
        "blocked-zero-width",
        "blocked = [[10, 0, 1, 4]]",
        "blocked = [[10, 0, 0, 4]]",
        "grid.blocked[0]",
        "width and height must be positive, not 0x4",
    ),
    (
        "blocked-outside",
        "blocked = [[10, 0, 1, 4]]",
        "blocked = [[10, 0, 1, 11]]",
        "grid.blocked[0]",
        "is not inside the 20x10 grid",
    ),
    ("residents-zero", "residents = 100", "residents = 0", "communities[0].residents", "must be positive, not 0"),
    ("residents-negative", "residents = 50", "residents = -50", "communities[1].residents", "must be positive"),
    ("capacity-negative", "capacity = 99", "capacity = -1", "facilities[1].capacity", "must be positive, not -1"),
    (
        "area-zero-size",
        "area = [0, 5, 5, 5]",
        "area = [0, 5, 0, 5]",
        "communities[1].area",
        "width and height must be positive, not 0x5",
    ),
    ("speed-zero", '"60-100" = 60.0 }', '"60-100" = 0.0 }', "walking.m_per_min.60-100", "must be positive"),
    ("speed-negative", '"0-59" = 78.0', '"0-59" = -78.0', "walking.m_per_min.0-59", "must be positive"),
    ("tick-zero", "tick_min = 5", "tick_min = 0", "simulation.tick_min", "must be positive, not 0"),
    ("seed-negative", "seed = 7", "seed = -7", "seed", "must not be negative"),
    # facilities outside the grid or on blocked cells
    (
        "facility-outside-x",
        "at = [12, 3]",
        "at = [25, 3]",
        "facilities[1].at",
        "cell (25, 3) is outside the 20x10 grid",
    ),
    ("facility-outside-y", "at = [3, 7]", "at = [3, 10]", "facilities[2].at", "cell (3, 10) is outside the 20x10 grid"),
    ("facility-negative", "at = [2, 2]", "at = [-1, 2]", "facilities[0].at", "cell (-1, 2) is outside"),
    ("facility-blocked", "at = [12, 3]", "at = [10, 3]", "facilities[1].at", "cell (10, 3) is blocked"),
    # unknown facility types
    (
        "type-misspelt",
        'type = "park"',
        'type = "parc"',
        "facilities[0].type",
        "unknown facility type 'parc' (did you mean 'park'?)",
    ),
    ("type-unknown", 'type = "market"', 'type = "casino"', "facilities[1].type", "unknown facility type 'casino'"),
    (
        "new-type-incomplete",
        "[grid]",
        '[facility_types.gym]\nlabel = "Gym"\n\n[grid]',
        "facility_types.gym",
        "a new facility type must give every field; missing: level_min",
    ),
    (
        "override-bad-value",
        "[grid]",
        "[facility_types.park]\ncapacity = 0\n\n[grid]",
        "facility_types.park.capacity",
        "must be positive",
    ),
    (
        "override-closes-before-open",
        "[grid]",
        '[facility_types.park]\nclose = "05:00"\n\n[grid]',
        "facility_types.park.close",
        "must be after opening time",
    ),
    (
        "override-ages-reversed",
        "[grid]",
        "[facility_types.park]\nages = [50, 10]\n\n[grid]",
        "facility_types.park.ages",
        "0 <= lo <= hi <= 100",
    ),
    # communities: area with no walkable cell, outside the grid, duplicate names
    (
        "area-all-blocked",
        "area = [0, 0, 5, 5]",
        "area = [10, 1, 1, 3]",
        "communities[0].area",
        "area [10, 1, 1, 3] has no walkable cell",
    ),
    (
        "area-outside",
        "area = [0, 5, 5, 5]",
        "area = [0, 5, 5, 6]",
        "communities[1].area",
        "rectangle [0, 5, 5, 6] is not inside the 20x10 grid",
    ),
    (
        "community-name-twice",
        'name = "south"',
        'name = "north"',
        "communities[1].name",
        "community name 'north' is used twice",
    ),
    (
        "facility-name-twice",
        "at = [3, 7]",
        'at = [3, 7]\nname = "Big market"',
        "facilities[2].name",
        "facility name 'Big market' is used twice",
    ),
    # age bands
    (
        "ages-overlap",
        '"0-17" = 0.2, "18-59"',
        '"0-17" = 0.2, "15-59"',
        "population.ages",
        'age bands "0-17" and "15-59" overlap',
    ),
    (
        "ages-same-band-twice",
        '"0-17" = 0.2, "18-59" = 0.5',
        '"0-17" = 0.1, " 0 - 17" = 0.1, "18-59" = 0.5',
        "population.ages",
        'age bands "0-17" and "0-17" overlap',
    ),
    (
        "ages-malformed",
        '"60-100" = 0.3 }',
        '"60-101" = 0.3 }',
        "population.ages.60-101",
        'age band must be "lo-hi" with 0 <= lo <= hi <= 100',
    ),
    ("ages-not-a-band", '"60-100" = 0.3 }', '"old" = 0.3 }', "population.ages.old", 'age band must be "lo-hi"'),
    (
        "ages-huge-number",
        '"60-100" = 0.3 }',
        '"60-' + "9" * 5000 + '" = 0.3 }',
        "population.ages.60-" + "9" * 5000,
        'age band must be "lo-hi"',
    ),
    # walking speed bands: overlaps and gaps in 0..100
    (
        "speeds-overlap",
        '"60-100" = 60.0 }',
        '"50-100" = 60.0 }',
        "walking.m_per_min",
        'age bands "0-59" and "50-100" overlap',
    ),
    ("speeds-gap-middle", '"60-100" = 60.0 }', '"61-100" = 60.0 }', "walking.m_per_min", "ages 60 to 60 have no band"),
    ("speeds-gap-top", '"60-100" = 60.0 }', '"60-90" = 60.0 }', "walking.m_per_min", "ages 91 to 100 have no band"),
    ("speeds-gap-bottom", '"0-59" = 78.0', '"5-59" = 78.0', "walking.m_per_min", "ages 0 to 4 have no band"),
    # simulation
    (
        "day-ends-before-start",
        'day_end = "22:00"',
        'day_end = "05:00"',
        "simulation.day_end",
        "must end after it starts",
    ),
    ("tick-does-not-divide", "tick_min = 5", "tick_min = 7", "simulation.tick_min", "must divide the day's 960"),
    ("weekday-7", "tick_min = 5", "tick_min = 5\nfirst_weekday = 7", "simulation.first_weekday", "0 (Monday)"),
    # required keys and tables
    ("name-missing", 'name = "mini"\n', "", "name", "required key is missing"),
    ("width-missing", "width = 20\n", "", "grid.width", "required key is missing"),
    (
        "walking-missing",
        '[walking]\nm_per_min = { "0-59" = 78.0, "60-100" = 60.0 }\n',
        "",
        "walking",
        "required table is missing",
    ),
    ("groups-missing", "groups = { han = 0.9, mongol = 0.1 }\n", "", "population.groups", "required key is missing"),
    ("facility-type-missing", 'type = "park"\n', "", "facilities[0].type", "required key is missing"),
    ("facility-at-missing", "at = [2, 2]\n", "", "facilities[0].at", "required key is missing"),
    # the name becomes part of the results folder's name
    ("name-with-slash", 'name = "mini"', 'name = "../mini"', "name", "must be usable in a folder name"),
    ("name-empty", 'name = "mini"', 'name = ""', "name", "must be usable in a folder name"),
    # an extends path that the OS cannot open
    (
        "extends-nul",
        'name = "mini"',
        'name = "mini"\nextends = "a\\u0000b.toml"',
        "extends",
        "must not contain a NUL character",
    ),
    ("extends-folder", 'name = "mini"', 'name = "mini"\nextends = "."', "extends", "cannot read"),
]
BAD_CASES = [pytest.param(*case[1:], id=case[0]) for case in BAD]


def test_bad_cases_have_distinct_ids():
    ids = [case[0] for case in BAD]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(("old", "new", "key", "fragment"), BAD_CASES)
def test_bad_input_is_reported_with_file_and_key(tmp_path, old, new, key, fragment):
    path = write(tmp_path, mutate(VALID, old, new))
    problem = find(problems_of(path), "s.toml", key, fragment)
    assert str(problem) == f"s.toml: {key}: {problem.message}"


# facility_types.<type>.tries: an integer from 1 to MAX_TRIES (10); the engine allocates residents x tries
TRIES_BAD = [
    pytest.param("0", "must be positive, not 0", id="zero"),
    pytest.param("-1", "must be positive, not -1", id="negative"),
    pytest.param("11", "must be at most 10 (facilities tried in one trip), not 11", id="above-limit"),
    pytest.param("2.5", "must be an integer, not 2.5", id="float"),
    pytest.param('"3"', "must be an integer, not '3'", id="string"),
]


def with_park_tries(value: str) -> str:
    return mutate(VALID, "[grid]", f"[facility_types.park]\ntries = {value}\n\n[grid]")


@pytest.mark.parametrize(("value", "message"), TRIES_BAD)
def test_bad_tries_is_one_problem(tmp_path, value, message):
    problems = problems_of(write(tmp_path, with_park_tries(value)))
    assert [str(p) for p in problems] == [f"s.toml: facility_types.park.tries: {message}"]


@pytest.mark.parametrize(("value", "message"), TRIES_BAD)
def test_cli_validate_bad_tries_exits_2(tmp_path, value, message):
    proc = run_cli("validate", str(write(tmp_path, with_park_tries(value))))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [f"s.toml: facility_types.park.tries: {message}"]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("tries", [1, 10])
def test_tries_from_1_to_the_limit_load(tmp_path, tries):
    s = load_scenario(write(tmp_path, with_park_tries(str(tries))))
    assert s.types["park"].tries == tries
    assert MAX_TRIES == 10


def test_area_covered_by_several_rectangles(tmp_path):
    # cells x = 10..15, y = 0..3 are blocked by three overlapping rectangles together, none alone
    blocked = "blocked = [[10, 0, 1, 4], [12, 0, 3, 2], [11, 0, 5, 4]]\n"
    text = mutate(VALID, "blocked = [[10, 0, 1, 4]]\n", blocked)
    text = mutate(text, "at = [12, 3]", "at = [17, 3]")  # the market, off the new walls
    find(
        problems_of(write(tmp_path, mutate(text, "area = [0, 0, 5, 5]", "area = [10, 0, 6, 4]"))),
        "s.toml",
        "communities[0].area",
        "has no walkable cell",
    )
    # one more row (y = 4) is walkable: fine
    s = load_scenario(write(tmp_path, mutate(text, "area = [0, 0, 5, 5]", "area = [10, 0, 6, 5]")))
    assert s.communities[0].area == (10, 0, 6, 5)
    # a facility on a cell blocked only by the third rectangle
    find(
        problems_of(write(tmp_path, mutate(text, "at = [17, 3]", "at = [15, 3]"))),
        "s.toml",
        "facilities[1].at",
        "cell (15, 3) is blocked",
    )


def test_list_sections_must_be_lists_of_tables(tmp_path):
    text = mutate(VALID[: VALID.index("[[facilities]]")], "seed = 7", "seed = 7\nfacilities = [1, 2]")
    find(problems_of(write(tmp_path, text)), "s.toml", "facilities", "must be a list of tables ([[facilities]])")


def test_toml_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, mutate(VALID, "height = 10", "height = = 10"), "broken.toml")
    (problem,) = problems_of(path)
    line = VALID.splitlines().index("height = 10") + 1
    assert (problem.file, problem.key, problem.line) == ("broken.toml", "", line)
    assert problem.message.startswith("TOML syntax error")
    assert str(problem).startswith(f"broken.toml:{line}: TOML syntax error")


def test_toml_syntax_error_at_end_of_file(tmp_path):
    path = write(tmp_path, VALID + 'note = "unterminated\n')
    (problem,) = problems_of(path)
    assert problem.line == len(VALID.splitlines()) + 1
    assert "TOML syntax error" in problem.message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a = " + "[" * 3000 + "]" * 3000, "nested too deeply"),
        ("a = 1\na = 2\n", "TOML syntax error"),  # a key given twice
        ("\x00", "TOML syntax error"),
    ],
    ids=["deep-nesting", "duplicate-key", "nul-byte"],
)
def test_unparseable_files(tmp_path, text, fragment):
    (problem,) = problems_of(write(tmp_path, text))
    assert problem.file == "s.toml"
    assert fragment in problem.message


def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "s.toml"
    path.write_bytes(VALID.encode("utf-8") + b'note = "\xff"\n')
    (problem,) = problems_of(path)
    assert (problem.file, problem.message) == ("s.toml", "not UTF-8 text")


def test_missing_file(tmp_path):
    # a file that cannot be read is named as given (with its folder), not by its bare name
    (problem,) = problems_of(tmp_path / "nowhere.toml")
    assert (problem.file, problem.key, problem.message) == (str(tmp_path / "nowhere.toml"), "", "file not found")


# --------------------------------------------------------------------------- every problem at once


def test_two_bad_facilities_are_two_problems(tmp_path):
    text = mutate(VALID, "at = [2, 2]", "at = [20, 2]")
    text = mutate(text, "at = [3, 7]", "at = [3, -1]")
    problems = problems_of(write(tmp_path, text))
    assert len(problems) == 2
    find(problems, "s.toml", "facilities[0].at", "cell (20, 2) is outside the 20x10 grid")
    find(problems, "s.toml", "facilities[2].at", "cell (3, -1) is outside the 20x10 grid")


def test_every_problem_in_every_section_is_reported(tmp_path):
    text = mutate(VALID, "cell_m = 50.0", "cel_m = 50.0")
    text = mutate(text, "mongol = 0.1 }", "mongol = 0.3 }")
    text = mutate(text, '"60-100" = 60.0 }', '"70-100" = 60.0 }')
    text = mutate(text, "residents = 100", "residents = -1")
    text = mutate(text, 'type = "park"', 'type = "prak"')
    text = mutate(text, "capacity = 99", "capacity = 0")
    text = mutate(text, 'day_end = "22:00"', 'day_end = "04:00"')
    problems = problems_of(write(tmp_path, text))
    expected = [
        ("grid.cel_m", "did you mean 'cell_m'?"),
        ("population.groups", "shares must sum to 1, not 1.2"),
        ("walking.m_per_min", "ages 60 to 69 have no band"),
        ("communities[0].residents", "must be positive, not -1"),
        ("facilities[0].type", "unknown facility type 'prak' (did you mean 'park'?)"),
        ("facilities[1].capacity", "must be positive, not 0"),
        ("simulation.day_end", "must end after it starts"),
    ]
    for key, fragment in expected:
        find(problems, "s.toml", key, fragment)
    assert len(problems) == len(expected)
    # the exception's message lists them one per line
    assert str(ScenarioError(problems)).splitlines() == [str(p) for p in problems]


def test_typo_suggestion_reads_as_promised(tmp_path):
    problems = problems_of(write(tmp_path, mutate(VALID, "capacity = 99", "capcity = 99")))
    assert [str(p) for p in problems] == ["s.toml: facilities[1].capcity: unknown key (did you mean 'capacity'?)"]


def test_no_suggestion_for_a_key_unlike_any(tmp_path):
    problems = problems_of(write(tmp_path, mutate(VALID, "seed = 7", "seed = 7\nzzzzzz = 1")))
    assert [str(p) for p in problems] == ["s.toml: zzzzzz: unknown key"]


def test_a_bad_override_does_not_also_make_its_facilities_unknown(tmp_path):
    text = mutate(VALID, "[grid]", "[facility_types.park]\ncapacity = -5\n\n[grid]")
    problems = problems_of(write(tmp_path, text))
    assert [p.key for p in problems] == ["facility_types.park.capacity"]


def test_a_name_used_twice_in_one_file_is_reported_not_merged(tmp_path):
    park = '\n[[facilities]]\ntype = "park"\nat = [{0}, {0}]\nname = "P"\n'
    text = VALID + park.format(5) + park.format(6)
    find(problems_of(write(tmp_path, text)), "s.toml", "facilities[4].name", "facility name 'P' is used twice")
    text = VALID + '\n[[communities]]\nname = "north"\narea = [6, 6, 2, 2]\nresidents = 5\n'
    find(problems_of(write(tmp_path, text)), "s.toml", "communities[2].name", "community name 'north' is used twice")


def test_automatic_facility_names_do_not_repeat_given_names(tmp_path):
    # the unnamed park would be "park 1", but the market is called that
    text = mutate(VALID, 'name = "Big market"', 'name = "park 1"')
    text += '\n[[facilities]]\ntype = "park"\nat = [5, 5]\nname = "park 3"\n'
    text += '\n[[facilities]]\ntype = "park"\nat = [6, 6]\n'
    s = load_scenario(write(tmp_path, text))
    assert [f.name for f in s.facilities] == ["park 2", "park 1", "kindergarten 1", "park 3", "park 4"]


def test_spec_example_message_on_a_copy_of_the_demo(tmp_path):
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    demo = tmp_path / "scenarios" / "demo.toml"
    # facilities[3] of demo.toml is the primary school
    demo.write_text(mutate(demo.read_text(encoding="utf-8"), "at = [20, 10]", "at = [70, 5]"), encoding="utf-8")
    problems = problems_of(demo)
    assert [str(p) for p in problems] == ["demo.toml: facilities[3].at: cell (70, 5) is outside the 60x40 grid"]


def cost(call) -> tuple[float, int]:
    """The CPU seconds (best of 3) and the peak of traced memory in bytes of ``call()``: measures of
    this process alone, the same whatever else the machine runs (numpy's arrays are traced)."""
    call()  # caches filled (the catalogue, imports)
    seconds = []
    for _ in range(3):
        start = time.process_time()
        call()
        seconds.append(time.process_time() - start)
    tracemalloc.start()
    try:
        call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return min(seconds), peak


def no_dearer_than_valid(tmp_path, call) -> None:
    """``call()`` costs about what loading VALID costs, measured in the same process: within 1 MB
    of its peak memory (a mask of the grids below, one byte a cell, is 49 MB or more) and within 20
    times its CPU time (loading VALID takes a few ms; a Python loop over 49 million cells, a second
    or more)."""
    valid = write(tmp_path, VALID, "valid.toml")
    base_s, base_bytes = cost(lambda: load_scenario(valid))
    seconds, peak = cost(call)
    assert peak < base_bytes + 1_000_000, (peak, base_bytes)
    assert seconds < 20 * base_s + 0.01, (seconds, base_s)


def test_huge_grid_is_refused_without_allocating_it(tmp_path):
    big = 9_000_000_000_000_000_000  # a 64-bit TOML integer; a numpy mask of this size cannot exist
    text = mutate(VALID, "width = 20", f"width = {big}")
    text = mutate(text, "height = 10", f"height = {big}")
    path = write(tmp_path, text)
    find(problems_of(path), "s.toml", "grid", "more than this version handles")
    no_dearer_than_valid(tmp_path, lambda: problems_of(path))


def test_large_grid_is_checked_without_allocating_it(tmp_path):
    side = 7_000  # 49 million cells: just within the limit; the checks must not build a mask of it
    text = mutate(VALID, "width = 20", f"width = {side}")
    text = mutate(text, "height = 10", f"height = {side}")
    text = mutate(text, "blocked = [[10, 0, 1, 4]]", f"blocked = [[10, 0, 1, 4], [0, 100, {side - 1}, 1]]")
    path = write(tmp_path, mutate(text, "at = [12, 3]", f"at = [{side - 1}, {side - 1}]"))
    assert load_scenario(path).grid.width == side
    no_dearer_than_valid(tmp_path, lambda: load_scenario(path))
    find(
        problems_of(write(tmp_path, mutate(text, "at = [12, 3]", f"at = [{side - 2}, 100]"))),
        "s.toml",
        "facilities[1].at",
        "is blocked",
    )


# --------------------------------------------------------------------------- one problem per wrong value


def _section(text: str, header: str) -> str:
    """The lines of ``header``'s section of VALID (up to the next blank line), to cut or move."""
    start = text.index(header)
    return text[start : text.index("\n\n", start) + 2]


def _without_communities(text: str) -> str:
    return text[: text.index("[[communities]]")] + text[text.index("[[facilities]]") :]


# (id, text of the scenario, key path, message fragment): each required key given with a wrong
# type is reported once, for its type, and not also as "required key is missing"
WRONG_TYPE_OF_REQUIRED = [
    ("name", mutate(VALID, 'name = "mini"', "name = 5"), "name", "must be a string"),
    ("grid-width", mutate(VALID, "width = 20", 'width = "40"'), "grid.width", "must be an integer"),
    ("grid-height", mutate(VALID, "height = 10", "height = 1.5"), "grid.height", "must be an integer"),
    (
        "population-groups",
        mutate(VALID, "groups = { han = 0.9, mongol = 0.1 }", 'groups = "han"'),
        "population.groups",
        "table of shares",
    ),
    (
        "population-ages",
        mutate(VALID, 'ages = { "0-17" = 0.2, "18-59" = 0.5, "60-100" = 0.3 }', "ages = [0.2, 0.8]"),
        "population.ages",
        "table of shares",
    ),
    (
        "walking-m-per-min",
        mutate(VALID, 'm_per_min = { "0-59" = 78.0, "60-100" = 60.0 }', "m_per_min = 70.0"),
        "walking.m_per_min",
        "table of speeds",
    ),
    ("community-name", mutate(VALID, 'name = "north"', "name = 1"), "communities[0].name", "must be a string"),
    ("community-area", mutate(VALID, "area = [0, 0, 5, 5]", 'area = "0 0 5 5"'), "communities[0].area", "[x, y"),
    (
        "community-residents",
        mutate(VALID, "residents = 100", 'residents = "100"'),
        "communities[0].residents",
        "must be an integer",
    ),
    ("facility-type", mutate(VALID, 'type = "park"', "type = 3"), "facilities[0].type", "must be a string"),
    ("facility-at", mutate(VALID, "at = [2, 2]", "at = 22"), "facilities[0].at", "[x, y] (two integers)"),
    ("grid-table", mutate(VALID, _section(VALID, "[grid]"), "grid = 5\n\n"), "grid", "must be a table"),
    (
        "population-table",
        "population = 5\n" + mutate(VALID, _section(VALID, "[population]"), ""),
        "population",
        "must be a table",
    ),
    ("walking-table", "walking = 5\n" + mutate(VALID, _section(VALID, "[walking]"), ""), "walking", "must be a table"),
    (
        "communities-list",
        "communities = 5\n" + _without_communities(VALID),
        "communities",
        "must be a list of tables",
    ),
]


@pytest.mark.parametrize(("text", "key", "fragment"), [pytest.param(*c[1:], id=c[0]) for c in WRONG_TYPE_OF_REQUIRED])
def test_a_required_key_of_the_wrong_type_is_one_problem(tmp_path, text, key, fragment):
    problems = problems_of(write(tmp_path, text))
    assert [p.key for p in problems] == [key], "\n".join(map(str, problems))
    assert fragment in problems[0].message


def test_a_new_type_field_of_the_wrong_type_is_not_also_missing(tmp_path):
    gym = {f: v for f, v in load_catalogue()["park"].items() if f != "source"}
    text = VALID + "\n" + tomli_w.dumps({"facility_types": {"gym": gym}})
    assert load_scenario(write(tmp_path, text)).types["gym"].capacity == gym["capacity"]
    text = mutate(text, f"capacity = {gym['capacity']}", 'capacity = "big"')
    problems = problems_of(write(tmp_path, text))
    assert [str(p) for p in problems] == ["s.toml: facility_types.gym.capacity: must be an integer, not 'big'"]
    # another field really missing is still reported, alone
    problems = problems_of(write(tmp_path, mutate(text, f"tries = {gym['tries']}\n", "")))
    assert [str(p) for p in problems] == [
        "s.toml: facility_types.gym.capacity: must be an integer, not 'big'",
        "s.toml: facility_types.gym: a new facility type must give every field; missing: tries",
    ]


def test_a_wrong_type_in_a_base_is_not_a_missing_key_of_the_variant(tmp_path):
    write(tmp_path, mutate(VALID, "width = 20", 'width = "20"'), "parts/base.toml")
    problems = problems_of(write(tmp_path, 'name = "v"\nextends = "parts/base.toml"\n', "v.toml"))
    assert [str(p) for p in problems] == ["base.toml: grid.width: must be an integer, not '20'"]


def test_a_missing_name_is_reported_even_if_the_base_has_a_bad_one(tmp_path):
    write(tmp_path, mutate(VALID, 'name = "mini"', "name = 5"), "parts/base.toml")
    problems = problems_of(write(tmp_path, 'extends = "parts/base.toml"\n', "v.toml"))
    assert [str(p) for p in problems] == [
        "base.toml: name: must be a string, not 5",
        "v.toml: name: required key is missing",
    ]


# --------------------------------------------------------------------------- counts in messages


def _type_field(field: str, value: str) -> str:
    return mutate(VALID, "[grid]", f"[facility_types.park]\n{field} = {value}\n\n[grid]")


def _wide_grid() -> str:  # a facility beyond a 2,000-column grid: coordinates plain, the grid's size a count
    return mutate(mutate(VALID, "width = 20", "width = 2000"), "at = [12, 3]", "at = [2500, 3]")


def _whole_day() -> str:  # 00:00-24:00 in steps of 7 minutes
    text = mutate(mutate(VALID, 'day_start = "06:00"', 'day_start = "00:00"'), 'day_end = "22:00"', 'day_end = "24:00"')
    return mutate(text, "tick_min = 5", "tick_min = 7")


COUNTS = [
    ("residents", mutate(VALID, "residents = 100", "residents = -1500"), "communities[0].residents", "not -1,500"),
    ("capacity", mutate(VALID, "capacity = 99", "capacity = -2000"), "facilities[1].capacity", "not -2,000"),
    ("grid-size", _wide_grid(), "facilities[1].at", "cell (2500, 3) is outside the 2,000x10 grid"),
    ("day-minutes", _whole_day(), "simulation.tick_min", "must divide the day's 1,440 minutes"),
    ("type-capacity", _type_field("capacity", "-1000"), "facility_types.park.capacity", "not -1,000"),
    ("type-tries", _type_field("tries", "1000"), "facility_types.park.tries", "at most 10 (facilities tried"),
    ("type-tries-value", _type_field("tries", "1000"), "facility_types.park.tries", "trip), not 1,000"),
    ("type-patience", _type_field("patience_min", "-1440"), "facility_types.park.patience_min", "not -1,440"),
]


@pytest.mark.parametrize(("text", "key", "fragment"), [pytest.param(*c[1:], id=c[0]) for c in COUNTS])
def test_counts_in_messages_have_thousands_separators(tmp_path, text, key, fragment):
    find(problems_of(write(tmp_path, text)), "s.toml", key, fragment)


def test_grid_cells_have_thousands_separators(tmp_path):
    text = mutate(mutate(VALID, "width = 20", "width = 10000"), "height = 10", "height = 6000")
    (problem,) = problems_of(write(tmp_path, text))
    assert str(problem) == (
        "s.toml: grid: 10,000x6,000 = 60,000,000 cells is more than this version handles (50,000,000)"
    )


# --------------------------------------------------------------------------- warnings


def _crowded(blocked: str) -> str:
    """VALID with ``blocked`` rectangles over the north community (area [0, 0, 5, 5]); its park moved off them."""
    return mutate(mutate(VALID, "blocked = [[10, 0, 1, 4]]", f"blocked = {blocked}"), "at = [2, 2]", "at = [4, 4]")


def test_a_community_on_mostly_blocked_cells_loads_with_a_warning(tmp_path):
    # [0, 0, 4, 3] and [1, 2, 4, 2] overlap on 3 cells: 12 + 8 - 3 = 17 of 25 blocked, 8 walkable
    s = load_scenario(write(tmp_path, _crowded("[[0, 0, 4, 3], [1, 2, 4, 2], [10, 0, 1, 4]]")))
    assert [str(w) for w in s.warnings] == [
        "s.toml: communities[0].area: only 8 of 25 cells (32%) are walkable; the community's homes crowd onto them"
    ]
    assert s.communities[0].area == (0, 0, 5, 5)


def test_a_community_with_half_its_cells_walkable_does_not_warn(tmp_path):
    # 12 of the 24 cells of [0, 0, 4, 6] blocked: half walkable is enough
    text = mutate(_crowded("[[0, 0, 4, 3]]"), "area = [0, 0, 5, 5]", "area = [0, 0, 4, 6]")
    text = mutate(text, "area = [0, 5, 5, 5]", "area = [4, 5, 5, 5]")
    assert load_scenario(write(tmp_path, text)).warnings == ()
    assert load_scenario(write(tmp_path, VALID)).warnings == ()


def test_warnings_name_the_file_of_the_community(tmp_path):
    write(tmp_path, mutate(VALID, "at = [2, 2]", "at = [4, 4]"), "parts/base.toml")
    text = 'name = "v"\nextends = "parts/base.toml"\n[grid]\nblocked = [[0, 0, 5, 4]]\n'
    s = load_scenario(write(tmp_path, text, "v.toml"))
    assert [(w.file, w.key) for w in s.warnings] == [("base.toml", "communities[0].area")]
    assert "only 5 of 25 cells (20%)" in s.warnings[0].message


def test_blocked_cells_are_counted_like_a_mask(tmp_path):
    rng = random.Random(5)
    for _ in range(300):
        grid = Grid(30, 20, 50.0, tuple(_random_rect(rng, 30, 20) for _ in range(rng.randrange(0, 6))))
        area = _random_rect(rng, 30, 20)
        mask = np.zeros((20, 30), dtype=bool)
        for x, y, w, h in grid.blocked:
            mask[y : y + h, x : x + w] = True
        x, y, w, h = area
        assert _blocked_cells(grid, area) == int(mask[y : y + h, x : x + w].sum())


def _random_rect(rng: random.Random, width: int, height: int) -> tuple[int, int, int, int]:
    x, y = rng.randrange(width), rng.randrange(height)
    return (x, y, rng.randint(1, width - x), rng.randint(1, height - y))


def test_no_bundled_scenario_warns():
    for path in BUNDLED:
        assert load_scenario(path).warnings == (), path.name


# --------------------------------------------------------------------------- extends

BASE = """\
name = "base"
seed = 1

[grid]
width = 20
height = 10
cell_m = 25.0

[population]
groups = { han = 0.9, mongol = 0.1 }
ages = { "0-17" = 0.2, "18-59" = 0.5, "60-100" = 0.3 }
mixing = 0.2

[walking]
m_per_min = { "0-59" = 78.0, "60-100" = 60.0 }

[simulation]
tick_min = 2
cutoff_min = 20.0

[[communities]]
name = "north"
area = [0, 0, 5, 5]
residents = 100

[[facilities]]
type = "park"
at = [2, 2]
name = "P"

[[facilities]]
type = "market"
at = [12, 3]
"""

VARIANT = """\
name = "variant"
extends = "parts/base.toml"

[grid]
width = 30

[population]
groups = { hui = 1.0 }

[walking]
m_per_min = { "0-100" = 70.0 }

[simulation]
cutoff_min = 15.0

[[communities]]
name = "east"
area = [25, 0, 5, 5]
residents = 40

[[facilities]]
type = "park"
at = [27, 7]
name = "P"

[[facilities]]
type = "convenience"
at = [26, 1]
"""


@pytest.fixture
def chain(tmp_path):
    """tmp/variant.toml extends tmp/parts/base.toml."""
    write(tmp_path, BASE, "parts/base.toml")
    return write(tmp_path, VARIANT, "variant.toml")


def test_extends_merges_tables_key_by_key(chain):
    s = load_scenario(chain)
    assert (s.name, s.seed) == ("variant", 1)  # own name; seed from the base
    assert (s.grid.width, s.grid.height, s.grid.cell_m) == (30, 10, 25.0)
    assert s.mixing == 0.2  # population merged key by key ...
    assert (s.simulation.tick_min, s.simulation.cutoff_min) == (2, 15.0)


def test_extends_replaces_share_and_speed_tables_whole(chain):
    s = load_scenario(chain)
    assert s.groups == {"hui": 1.0}  # not {han, mongol, hui}, which would not sum to 1
    assert s.ages == {AgeBand(0, 17): 0.2, AgeBand(18, 59): 0.5, AgeBand(60, 100): 0.3}  # from the base
    assert s.speeds == {AgeBand(0, 100): 70.0}


def test_extends_appends_lists_and_replaces_same_name(chain):
    s = load_scenario(chain)
    assert [c.name for c in s.communities] == ["north", "east"]
    # "P" replaced in place (same position, new cell); the market kept; the convenience appended
    assert [(f.type, f.name, f.x, f.y) for f in s.facilities] == [
        ("park", "P", 27, 7),
        ("market", "market 1", 12, 3),
        ("convenience", "convenience 1", 26, 1),
    ]


def test_extends_path_is_relative_to_the_extending_file(tmp_path, monkeypatch):
    # variant -> parts/base.toml -> "common.toml", which is parts/common.toml, not tmp/common.toml
    write(
        tmp_path,
        BASE.replace('name = "base"\n', 'extends = "common.toml"\n').replace("seed = 1\n", ""),
        "parts/base.toml",
    )
    write(tmp_path, 'seed = 99\ndescription = "from parts/common.toml"\n', "parts/common.toml")
    write(tmp_path, 'seed = 5\ndescription = "decoy in the top folder"\n', "common.toml")
    path = write(tmp_path, VARIANT, "variant.toml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    s = load_scenario(path)
    assert (s.seed, s.description) == (99, "from parts/common.toml")


def test_extends_name_is_not_inherited(tmp_path):
    write(tmp_path, BASE, "parts/base.toml")
    path = write(tmp_path, VARIANT.replace('name = "variant"\n', ""), "variant.toml")
    (problem,) = problems_of(path)
    assert (problem.file, problem.key, problem.message) == ("variant.toml", "name", "required key is missing")


def test_extends_problems_name_the_file_that_has_them(tmp_path):
    write(
        tmp_path,
        BASE.replace("mongol = 0.1 }", "mongol = 0.2 }").replace("at = [12, 3]", "at = [12, 30]"),
        "parts/base.toml",
    )
    variant = VARIANT.replace("groups = { hui = 1.0 }\n", "").replace("at = [26, 1]", "at = [26, 1]\ncapcity = 3")
    problems = problems_of(write(tmp_path, variant, "variant.toml"))
    find(problems, "base.toml", "population.groups", "shares must sum to 1, not 1.1")
    find(problems, "base.toml", "facilities[1].at", "cell (12, 30) is outside the 30x10 grid")
    find(problems, "variant.toml", "facilities[1].capcity", "did you mean 'capacity'?")
    assert len(problems) == 3


def test_extends_missing_base_file(tmp_path):
    problems = problems_of(write(tmp_path, VARIANT, "variant.toml"))  # no parts/base.toml
    (problem,) = problems
    assert (problem.file, problem.key) == ("variant.toml", "extends")
    assert "file not found" in problem.message
    assert "base.toml" in problem.message


def test_extends_cycle(tmp_path):
    write(tmp_path, 'name = "a"\nextends = "b.toml"\n', "a.toml")
    write(tmp_path, 'name = "b"\nextends = "a.toml"\n', "b.toml")
    (problem,) = problems_of(tmp_path / "a.toml")
    assert (problem.file, problem.key) == ("b.toml", "extends")
    assert problem.message == "extends cycle: a.toml -> b.toml -> a.toml"


def test_extends_itself(tmp_path):
    (problem,) = problems_of(write(tmp_path, 'extends = "s.toml"\n' + VALID))
    assert (problem.file, problem.key, problem.message) == ("s.toml", "extends", "extends cycle: s.toml -> s.toml")


def test_extends_must_be_a_string(tmp_path):
    find(problems_of(write(tmp_path, 'extends = ["a.toml"]\n' + VALID)), "s.toml", "extends", "must be a string")


def test_bundled_part_is_not_a_scenario_by_itself():
    problems = problems_of(ROOT / "scenarios" / "parts" / "inner_mongolia.toml")
    keys = {p.key for p in problems}
    assert {"name", "grid", "communities"} <= keys


# --------------------------------------------------------------------------- command line


def test_cli_validate_bad_file_exits_2_with_clean_messages(tmp_path):
    text = mutate(VALID, "at = [12, 3]", "at = [25, 3]")
    text = mutate(text, "capacity = 99", "capcity = 99")
    path = write(tmp_path, text, "bad.toml")
    proc = run_cli("validate", str(path))
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert "bad.toml: facilities[1].at: cell (25, 3) is outside the 20x10 grid" in lines
    assert "bad.toml: facilities[1].capcity: unknown key (did you mean 'capacity'?)" in lines
    assert len(lines) == 2
    assert "Traceback" not in proc.stderr


def test_cli_validate_syntax_error(tmp_path):
    path = write(tmp_path, mutate(VALID, "height = 10", "height = = 10"), "bad.toml")
    proc = run_cli("validate", str(path))
    line = VALID.splitlines().index("height = 10") + 1
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"bad.toml:{line}: TOML syntax error")
    assert "Traceback" not in proc.stderr


def test_cli_validate_reports_every_file(tmp_path):
    good = write(tmp_path, VALID, "good.toml")
    bad = write(tmp_path, mutate(VALID, "width = 20", "width = -20"), "bad.toml")
    missing = tmp_path / "missing.toml"
    proc = run_cli("validate", str(bad), str(good), str(missing))
    assert proc.returncode == 2
    assert f"{good}: ok (mini: 2 communities, 150 residents, 3 facilities)" in proc.stdout
    assert "bad.toml: grid.width: must be positive, not -20" in proc.stderr
    assert "missing.toml: file not found" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_validate_extends_cycle(tmp_path):
    write(tmp_path, 'name = "a"\nextends = "b.toml"\n', "a.toml")
    write(tmp_path, 'name = "b"\nextends = "a.toml"\n', "b.toml")
    proc = run_cli("validate", str(tmp_path / "a.toml"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == "b.toml: extends: extends cycle: a.toml -> b.toml -> a.toml"


@pytest.mark.parametrize(
    "text",
    [mutate(VALID, "at = [2, 2]", "at = [2, 20]"), VALID.replace("[grid]", "[grid", 1)],
    ids=["bad-value", "syntax-error"],
)
def test_cli_run_bad_scenario_writes_nothing(tmp_path, text):
    path = write(tmp_path, text, "bad.toml")
    out = tmp_path / "x"
    proc = run_cli("run", str(path), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 2
    assert "bad.toml:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_cli_run_missing_scenario_writes_nothing(tmp_path):
    out = tmp_path / "x"
    proc = run_cli("run", str(tmp_path / "nope.toml"), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 2
    assert "nope.toml: file not found" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_bundled_scenarios_exist():
    assert ROOT / "scenarios" / "demo.toml" in BUNDLED


@pytest.mark.parametrize("path", BUNDLED, ids=[p.name for p in BUNDLED])
def test_cli_validate_bundled_scenario(path):
    proc = run_cli("validate", str(path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{path}: ok (")
    assert proc.stderr == ""


def test_cli_validate_all_bundled_scenarios_at_once():
    paths = sorted((ROOT / "scenarios").glob("*.toml"))  # globbed now, not at collection
    assert paths
    proc = run_cli("validate", *map(str, paths), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == len(paths)


# --------------------------------------------------------------------------- the examples in docs/scenarios.md


def _doc_examples() -> list[str]:
    text = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    return [block.split("```", 1)[0] for block in text.split("```toml\n")[1:]]


def test_doc_complete_example_loads(tmp_path):
    complete = next(b for b in _doc_examples() if b.startswith('name = "riverside"'))
    s = load_scenario(write(tmp_path, complete))
    assert [c.name for c in s.communities] == ["East compound", "West compound"]
    assert [f.capacity for f in s.facilities] == [40, 600]
    assert s.types["market"].close_min == 22 * 60


def test_doc_extends_example_loads_beside_the_demo(tmp_path):
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    variant = next(b for b in _doc_examples() if 'extends = "demo.toml"' in b)
    s = load_scenario(write(tmp_path / "scenarios", variant, "demo_new_canteen.toml"))
    demo = load_scenario(ROOT / "scenarios" / "demo.toml")
    assert len(s.facilities) == len(demo.facilities) + 1
    moved = s.facilities[0]
    assert (moved.name, moved.x, moved.y) == ("Xinda elderly care centre and canteen", 26, 18)
    assert s.facilities[-1].name == "Second canteen"
    assert list(s.ages.values()) == [0.12, 0.48, 0.40]
    assert s.groups == demo.groups


def test_doc_new_type_example_is_complete(tmp_path):
    gym = next(b for b in _doc_examples() if b.startswith("[facility_types.gym]"))
    s = load_scenario(write(tmp_path, VALID + "\n" + gym))
    assert s.types["gym"].label == "Community gym"
