"""Tests for overrides: scenario values given by dotted keys (load_scenario(..., overrides=...)),
applied as if a variant file extending the scenario had set them, and override_kind.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from model.scenario import (
    DEFAULT_SCENARIO,
    Problem,
    Scenario,
    ScenarioError,
    bundled_scenarios,
    load_scenario,
    override_kind,
)
from tests.test_scenario import VALID, mutate, write

replace = dataclasses.replace


def problems_of(path, overrides: dict, overrides_file: str = "overrides") -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides=overrides, overrides_file=overrides_file)
    assert info.value.problems
    return info.value.problems


def variant(folder: Path, body: str, base: Path = DEFAULT_SCENARIO, name: str = "demo") -> Scenario:
    """Load a hand-written variant file that extends ``base`` (keeping its name) and sets ``body``."""
    text = f'name = "{name}"\nextends = "{base.resolve().as_posix()}"\n{body}\n'
    return load_scenario(write(folder, text, "variant.toml"))


def with_type(s: Scenario, tname: str, **changes) -> Scenario:
    """``s`` with fields of facility type ``tname`` changed (and its facilities' capacity if that changes)."""
    types = {**s.types, tname: replace(s.types[tname], **changes)}
    facilities = s.facilities
    if "capacity" in changes:  # facilities without a capacity of their own take their type's
        base_capacity = s.types[tname].capacity
        facilities = tuple(
            replace(f, capacity=changes["capacity"]) if f.type == tname and f.capacity == base_capacity else f
            for f in s.facilities
        )
    return replace(s, types=types, facilities=facilities)


PLAIN = load_scenario("demo")

# overrides, the same values in a variant file, what the plain demo scenario becomes
CHANGES = [
    pytest.param(
        {"population.mixing": 0.5}, "[population]\nmixing = 0.5", lambda s: replace(s, mixing=0.5), id="mixing"
    ),
    pytest.param(
        {"facility_types.elderly_care.capacity": 80},
        "[facility_types.elderly_care]\ncapacity = 80",
        lambda s: with_type(s, "elderly_care", capacity=80),
        id="type-capacity",
    ),
    pytest.param(
        {"facility_types.park.beta_per_min": 0.25},
        "[facility_types.park]\nbeta_per_min = 0.25",
        lambda s: with_type(s, "park", beta_per_min=0.25),
        id="type-beta",
    ),
    pytest.param(
        {"simulation.cutoff_min": 20.0},
        "[simulation]\ncutoff_min = 20.0",
        lambda s: replace(s, simulation=replace(s.simulation, cutoff_min=20.0)),
        id="cutoff",
    ),
    pytest.param({"seed": 3}, "seed = 3", lambda s: replace(s, seed=3), id="seed"),
    pytest.param(
        {"grid.cell_m": 40.0},
        "[grid]\ncell_m = 40.0",
        lambda s: replace(s, grid=replace(s.grid, cell_m=40.0)),
        id="cell",
    ),
    pytest.param(
        {"population.groups": {"han": 0.8, "mongol": 0.2}},
        "[population]\ngroups = { han = 0.8, mongol = 0.2 }",  # replaces the base's table whole (hui is gone)
        lambda s: replace(s, groups={"han": 0.8, "mongol": 0.2}),
        id="share-table",
    ),
    pytest.param(
        {"population.mixing": 0.0, "seed": 7, "simulation.cutoff_min": 30.0},
        "seed = 7\n[population]\nmixing = 0.0\n[simulation]\ncutoff_min = 30.0",
        lambda s: replace(s, mixing=0.0, seed=7),
        id="several",
    ),
]


@pytest.mark.parametrize(("overrides", "body", "expected"), CHANGES)
def test_an_override_changes_exactly_that_value(tmp_path, overrides, body, expected):
    s = load_scenario("demo", overrides=overrides)
    assert s == expected(PLAIN)
    assert s != PLAIN
    assert s == variant(tmp_path, body)
    assert s.name == "demo" and s.files == PLAIN.files


def test_overrides_apply_on_top_of_a_variant_chain(tmp_path):
    # wuhai_life_circle_embedded sets mixing itself and inherits the rest from wuhai_life_circle
    path = bundled_scenarios()["wuhai_life_circle_embedded"]
    overrides = {"population.mixing": 0.3, "walking.m_per_min": {"0-59": 80.0, "60-100": 60.0}}
    s = load_scenario(path, overrides=overrides)
    body = '[population]\nmixing = 0.3\n[walking]\nm_per_min = { "0-59" = 80.0, "60-100" = 60.0 }'
    assert s == variant(tmp_path, body, base=path, name="wuhai_life_circle_embedded")
    assert s.mixing == 0.3 and len(s.speeds) == 2  # the speed table is replaced whole


def test_overrides_of_a_small_scenario_in_a_folder(tmp_path):
    path = write(tmp_path, VALID)
    s = load_scenario(path, overrides={"grid.blocked": [[0, 9, 3, 1]], "simulation.day_start": "07:00"})
    assert s.grid.blocked == ((0, 9, 3, 1),)
    assert s.simulation.day_start_min == 7 * 60
    assert s == variant(tmp_path, '[grid]\nblocked = [[0, 9, 3, 1]]\n[simulation]\nday_start = "07:00"', path, "mini")


@pytest.mark.parametrize("name", sorted(bundled_scenarios()))
def test_no_overrides_change_nothing(name):
    plain = load_scenario(name)
    for overrides in (None, {}):
        s = load_scenario(name, overrides=overrides, overrides_file="x.toml")
        assert s == plain and repr(s) == repr(plain)
        assert s.files == plain.files and s.warnings == plain.warnings


def test_the_callers_values_are_not_changed():
    groups = {"han": 0.8, "mongol": 0.2, "bad": "x"}
    problems_of("demo", {"population.groups": groups})
    assert groups == {"han": 0.8, "mongol": 0.2, "bad": "x"}


# --------------------------------------------------------------------------- problems


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("population.mixing", 1.5, "must be between 0 and 1, not 1.5"),
        ("seed", -1, "must not be negative, not -1"),
        ("facility_types.elderly_care.capacity", 0, "must be positive, not 0"),
        ("simulation.tick_min", 7, "must divide the day's 960 minutes"),
        ("grid.cell_m", "x", "must be a number, not 'x'"),
        ("population.mixing", True, "must be a number, not True"),
        ("facility_types.elderly_care.capacity", 40.5, "must be an integer, not 40.5"),
        ("seed", 3.0, "must be an integer, not 3.0"),
        ("population.groups", {"han": 0.8}, "shares must sum to 1, not 0.8"),
    ],
)
def test_a_bad_value_is_one_problem_naming_the_overrides_file_and_key(key, value, message):
    problems = problems_of("demo", {key: value}, overrides_file="embedded.toml")
    assert problems == [Problem("embedded.toml", key, message)]


def test_a_bad_override_in_a_variant_chain_names_the_overrides_file():
    path = bundled_scenarios()["wuhai_life_circle_embedded"]
    problems = problems_of(path, {"population.mixing": 1.5}, overrides_file="embedded.toml")
    assert [str(p) for p in problems] == ["embedded.toml: population.mixing: must be between 0 and 1, not 1.5"]


def test_a_bad_element_of_an_overridden_list_names_the_overrides_file(tmp_path):
    problems = problems_of(write(tmp_path, VALID), {"grid.blocked": [[0, 0, 1, 1], [18, 0, 5, 1]]})
    assert problems == [Problem("overrides", "grid.blocked[1]", "rectangle [18, 0, 5, 1] is not inside the 20x10 grid")]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("population.mixng", "unknown key (did you mean 'mixing'?)"),
        ("populaton.mixing", "unknown table 'populaton' (did you mean 'population'?)"),
        ("facility_types.park.capacty", "unknown key (did you mean 'capacity'?)"),
        ("simulaton", "unknown key (did you mean 'simulation'?)"),
        ("nonsense.key", "unknown table 'nonsense'"),
    ],
)
def test_an_unknown_key_suggests_the_close_one(key, message):
    assert problems_of("demo", {key: 1}) == [Problem("overrides", key, message)]


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("communities", [], "lists cannot be overridden; change the scenario file"),
        ("communities[0].residents", 10, "lists cannot be overridden"),
        ("facilities[2].at", [1, 1], "lists cannot be overridden"),
        ("facilities", [{"type": "park", "at": [1, 1]}], "lists cannot be overridden"),
        ("name", "other", "name cannot be overridden"),
        ("extends", "parts/inner_mongolia.toml", "cannot be overridden"),
        ("grid.blocked[0]", [0, 0, 1, 1], "an element of a list cannot be overridden"),
        ("population.mixing.x", 0.5, "'population.mixing' is not a table"),
        ("seed.value", 1, "'seed' is not a table"),
        ("population..mixing", 0.5, "must be a dotted key"),
        ("", 0.5, "must be a dotted key"),
    ],
)
def test_keys_that_cannot_be_overridden_are_refused(key, value, fragment):
    problems = problems_of("demo", {key: value, "population.mixing": 0.5})
    assert len(problems) == 1, problems
    assert problems[0].file == "overrides" and problems[0].key == key and fragment in problems[0].message


def test_a_value_given_twice_is_a_problem():
    problems = problems_of("demo", {"population.groups": {"han": 1.0}, "population.groups.han": 1.0})
    assert problems == [
        Problem("overrides", "population.groups.han", "overlaps the override 'population.groups'; give each value once")
    ]


def test_problems_of_the_file_and_of_the_overrides_are_reported_together(tmp_path):
    path = write(tmp_path, mutate(VALID, "seed = 7", "seed = -2"))
    problems = problems_of(path, {"population.mixing": 2.0})
    assert Problem("overrides", "population.mixing", "must be between 0 and 1, not 2.0") in problems
    assert any(p.file == "s.toml" and p.key == "seed" for p in problems)


def test_overrides_must_be_a_mapping():
    with pytest.raises(TypeError):
        load_scenario("demo", overrides=[("seed", 1)])


# --------------------------------------------------------------------------- override_kind


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("facility_types.park.capacity", "int"),
        ("facility_types.park.beta_per_min", "float"),
        ("facility_types.a_new_type.weekdays_only", "bool"),
        ("facility_types.park.open", "time"),
        ("facility_types.park.label", "str"),
        ("population.mixing", "float"),
        ("population.groups", "shares"),
        ("walking.m_per_min", "speeds"),
        ("seed", "int"),
        ("description", "str"),
        ("grid.cell_m", "float"),
        ("grid.blocked", "rects"),
        ("simulation.tick_min", "int"),
        ("simulation.cutoff_min", "float"),
        ("nonsense.key", None),
        ("population.mixng", None),
        ("population.mixing.x", None),
        ("communities", None),
        ("facilities[0].capacity", None),
        ("name", None),
        ("extends", None),
    ],
)
def test_override_kind(key, kind):
    assert override_kind(key) == kind


# --------------------------------------------------------------------------- facility types


CATALOGUE_TYPES = (
    "elderly_care, nursery, kindergarten, primary_school, middle_school, health_station, health_centre, "
    "market, convenience, park, culture_room, service_centre"
)  # model/catalogue.toml's sections, in its order
NEW_TYPE = "define a new type in a scenario file"


def test_an_unknown_facility_type_is_refused_with_the_closest_type():
    problems = problems_of("demo", {"facility_types.parc.capacity": 40})
    assert len(problems) == 1, problems
    assert problems[0].file == "overrides" and problems[0].key == "facility_types.parc"
    assert problems[0].message.startswith("unknown facility type (did you mean 'park'?);")
    assert NEW_TYPE in problems[0].message
    assert "must give every field" not in problems[0].message


def test_an_unknown_facility_type_far_from_every_type_lists_the_types():
    overrides = {"facility_types.spaceport.capacity": 40, "facility_types.spaceport.daily_prob": 0.1}
    problems = problems_of("demo", overrides, overrides_file="e.toml")
    assert [str(p) for p in problems] == [
        f"e.toml: facility_types.spaceport: unknown facility type (the types are {CATALOGUE_TYPES}); "
        f"an override changes a type of the catalogue or of the scenario: {NEW_TYPE}"
    ]


def test_a_whole_new_type_cannot_come_from_an_override(tmp_path):
    gym = {
        "label": "Gym", "level_min": 10, "ages": [16, 70], "daily_prob": 0.1, "weekdays_only": False,
        "depart": ["18:00", "20:00"], "visit_min": 60, "open": "06:00", "close": "22:00",
    }  # fmt: skip
    problems = problems_of("demo", {"facility_types.gym": gym})
    assert [(p.key, NEW_TYPE in p.message) for p in problems] == [("facility_types.gym", True)]


def test_a_type_the_scenario_defines_can_be_overridden(tmp_path):
    """A new type of the scenario file itself is a known type for its overrides."""
    gym = (
        '[facility_types.gym]\nlabel = "Gym"\nlevel_min = 10\nages = [16, 70]\ndaily_prob = 0.1\n'
        'weekdays_only = false\ndepart = ["18:00", "20:00"]\nvisit_min = 60\nopen = "06:00"\nclose = "22:00"\n'
        "capacity = 30\nbeta_per_min = 0.2\npatience_min = 5\ntries = 1\n"
    )
    base = load_scenario(write(tmp_path, VALID + gym))
    assert base.types["gym"].capacity == 30
    s = load_scenario(write(tmp_path, VALID + gym), overrides={"facility_types.gym.capacity": 45})
    assert s.types["gym"].capacity == 45
    assert s == replace(base, types={**base.types, "gym": replace(base.types["gym"], capacity=45)})
