"""Plausible ranges (warnings naming file, key and range) and facility names that match nothing.

The expected messages are worked out by hand from the ranges of docs/scenarios.md: e.g. a pace of
3.3 m/min lies below 30 m/min, and 3.3 km/h is 3.3 x 1000 / 60 = 55 m/min, inside the range.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from model.scenario import ScenarioError, load_catalogue, load_scenario
from model.scenario.plausible import RANGES, docs_table
from tests.conftest import ROOT, write_small

PACE_WORDS = "is outside the plausible range of a walking pace, 30 to 120 m/min"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "model.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def warnings_of(tmp_path: Path, extra: str = "", replace: tuple[str, str] = ("", "")) -> list[str]:
    path = write_small(tmp_path, residents=50, extra=extra)
    if replace[0]:
        text = path.read_text()
        assert text.count(replace[0]) == 1
        path.write_text(text.replace(*replace))
    return [str(w) for w in load_scenario(path).warnings]


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    return [str(p) for p in err.value.problems]


# --------------------------------------------------------------------------- the ranges, value by value

SPEEDS = '"0-11" = 55.0, "12-59" = 78.0, "60-100" = 60.0'


@pytest.mark.parametrize(
    ("pace", "expected"),
    [
        (30.0, None),  # the ends of the range are inside
        (120.0, None),
        (29.9, f"29.9 m/min {PACE_WORDS}"),  # no unit brings it inside: no hint
        (120.5, f"120.5 m/min {PACE_WORDS}"),
        (3.3, f"3.3 m/min {PACE_WORDS}; written in km/h? 3.3 km/h is 55 m/min"),
        (1.3, f"1.3 m/min {PACE_WORDS}; written in m/s? 1.3 m/s is 78 m/min"),  # 1.3 km/h = 21.7: still out
    ],
)
def test_a_walking_pace_outside_30_to_120_m_per_min_is_a_warning(tmp_path, pace, expected):
    got = warnings_of(tmp_path, replace=(f"{SPEEDS}", SPEEDS.replace("78.0", repr(pace))))
    assert got == ([] if expected is None else [f"small.toml: walking.m_per_min.12-59: {expected}"])


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("10.0", None),
        ("500", None),
        ("0.05", "0.05 m is outside the plausible range of a cell's side, 10 to 500 m; written in km? 0.05 km is 50 m"),
        ("9.5", "9.5 m is outside the plausible range of a cell's side, 10 to 500 m"),
        ("750.0", "750 m is outside the plausible range of a cell's side, 10 to 500 m"),
    ],
)
def test_a_cell_outside_10_to_500_m_is_a_warning(tmp_path, cell, expected):
    got = warnings_of(tmp_path, replace=("cell_m = 50.0", f"cell_m = {cell}"))
    assert got == ([] if expected is None else [f"small.toml: grid.cell_m: {expected}"])


def test_minutes_and_capacities_outside_their_ranges_are_warnings(tmp_path):
    extra = """
[facility_types.market]
visit_min = 1
level_min = 0.25
capacity = 10000
[facility_types.park]
visit_min = 900
catchment_min = 90.0
[facility_types.elderly_care]
visit_min = 5
level_min = 60.0
[simulation]
reference_m_per_min = 5.0
"""
    got = warnings_of(tmp_path, extra=extra, replace=("at = [5, 8]", "at = [5, 8]\ncapacity = 10001"))
    assert got == [
        "small.toml: simulation.reference_m_per_min: 5 m/min is outside the plausible range of a walking pace, "
        "30 to 120 m/min; written in km/h? 5 km/h is 83.33 m/min",
        "small.toml: facility_types.market.level_min: 0.25 minutes is outside the plausible range of a walking "
        "standard, 1 to 60 minutes; written in hours? 0.25 hours is 15 minutes",
        "small.toml: facility_types.market.visit_min: 1 minutes is outside the plausible range of a visit, "
        "5 to 720 minutes; written in hours? 1 hours is 60 minutes",
        "small.toml: facility_types.park.catchment_min: 90 minutes is outside the plausible range of a walking "
        "standard, 1 to 60 minutes; written in seconds? 90 seconds is 1.5 minutes",
        "small.toml: facility_types.park.visit_min: 900 minutes is outside the plausible range of a visit, "
        "5 to 720 minutes; written in seconds? 900 seconds is 15 minutes",
        "small.toml: facilities[3].capacity: 10,001 people is outside the plausible range of a facility's "
        "capacity, 1 to 10,000 people",
    ]


def test_a_warning_names_the_file_that_set_the_value(tmp_path):
    base = write_small(tmp_path, residents=50)
    base.write_text(base.read_text().replace("cell_m = 50.0", "cell_m = 0.05"))
    variant = tmp_path / "v.toml"
    variant.write_text('name = "v"\nextends = "small.toml"\n[walking]\nm_per_min = { "0-100" = 4.5 }\n')
    got = [(w.file, w.key) for w in load_scenario(variant).warnings]
    assert got == [("small.toml", "grid.cell_m"), ("v.toml", "walking.m_per_min.0-100")]
    overridden = load_scenario(base, overrides={"grid.cell_m": 5000.0}).warnings
    assert [(w.file, w.key) for w in overridden] == [("overrides", "grid.cell_m")]


def test_impossible_values_stay_errors(tmp_path):
    path = write_small(tmp_path, residents=50)
    path.write_text(path.read_text().replace("cell_m = 50.0", "cell_m = 0.0"))
    assert problems_of(path) == ["small.toml: grid.cell_m: must be positive, not 0.0"]


def test_the_catalogue_and_the_bundled_scenarios_lie_inside_every_range():
    for tname, fields in load_catalogue().items():
        for field in ("level_min", "catchment_min", "visit_min", "capacity"):
            if field in fields:
                assert RANGES[f"facility_types.*.{field}"].outside(fields[field]) is None, (tname, field)
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        assert load_scenario(path).warnings == (), path.name


def test_the_docs_give_the_current_table_of_ranges():
    docs = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    assert docs_table() in docs, "docs/scenarios.md: paste the output of model.scenario.plausible.docs_table()"


# --------------------------------------------------------------------------- the command line


def test_cli_validate_and_run_print_the_warning_and_exit_0(tmp_path):
    path = write_small(tmp_path, residents=30)
    path.write_text(path.read_text().replace("cell_m = 50.0", "cell_m = 0.05"))
    warning = "warning: small.toml: grid.cell_m: 0.05 m is outside the plausible range of a cell's side"
    done = cli("validate", "small.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert warning in done.stderr and "small.toml: ok" in done.stdout
    done = cli("run", "small.toml", "--quiet", "--out", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert warning in done.stderr and (tmp_path / "out" / "summary.json").is_file()


def test_cli_run_with_an_impossible_value_exits_2_and_writes_nothing(tmp_path):
    path = write_small(tmp_path, residents=30)
    path.write_text(path.read_text().replace('"12-59" = 78.0', '"12-59" = 0.0'))
    done = cli("run", "small.toml", "--quiet", "--out", "out", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == "small.toml: walking.m_per_min.12-59: must be positive, not 0.0"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.toml"]


def test_cli_optimize_minutes_outside_the_range_warns_and_0_or_inf_is_refused(tmp_path):
    write_small(tmp_path, residents=60)
    args = ("optimize", "small.toml", "--type", "elderly_care", "--add", "1")
    done = cli(*args, "--minutes", "0.3", "--out", "a.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (
        "warning: --minutes: 0.3 minutes is outside the plausible range of a walking standard, 1 to 60 minutes; "
        "written in hours? 0.3 hours is 18 minutes"
    ) in done.stderr
    for bad in ("0", "-2", "inf", "nan"):
        done = cli(*args, "--minutes", bad, "--out", "b.toml", cwd=tmp_path)
        assert done.returncode == 2, bad
        assert (
            "--minutes: must be minutes greater than 0 and at most 1440" in done.stderr
            and "Traceback" not in done.stderr
        )
        assert not (tmp_path / "b.toml").exists()


# --------------------------------------------------------------------------- facility names that match nothing

NAMED = """
[[facilities]]
type = "elderly_care"
at = [4, 5]
name = "Riverside canteen"
capacity = 25
"""


def variant(tmp_path: Path, text: str) -> Path:
    write_small(tmp_path, residents=50, extra=NAMED)
    path = tmp_path / "v.toml"
    path.write_text('name = "v"\nextends = "small.toml"\n' + text)
    return path


def test_replaces_moves_a_facility_keeping_its_other_values(tmp_path):
    base = load_scenario(write_small(tmp_path, residents=50, extra=NAMED))
    s = load_scenario(variant(tmp_path, '[[facilities]]\nreplaces = "Riverside canteen"\nat = [6, 9]\n'))
    assert [(f.type, f.x, f.y, f.capacity, f.name) for f in s.facilities] == [
        (f.type, f.x, f.y, f.capacity, f.name) for f in base.facilities[:4]
    ] + [("elderly_care", 6, 9, 25, "Riverside canteen")]  # in its place (the last), capacity kept
    assert s.warnings == ()


def test_replaces_finds_an_unnamed_facility_by_its_generated_name(tmp_path):
    # small.toml's parks are unnamed: "park 1" at (3, 3), "park 2" at (15, 9)
    s = load_scenario(variant(tmp_path, '[[facilities]]\nreplaces = "park 2"\nat = [16, 3]\nname = "North park"\n'))
    assert [(f.x, f.y, f.name) for f in s.facilities if f.type == "park"] == [(3, 3, "park 1"), (16, 3, "North park")]


def test_an_unknown_name_in_replaces_is_an_error_with_the_closest_names(tmp_path):
    path = variant(tmp_path, '[[facilities]]\nreplaces = "Riversid canteen"\nat = [6, 9]\n')
    assert problems_of(path) == [
        "v.toml: facilities[0].replaces: no facility of the base is named 'Riversid canteen' "
        "(did you mean 'Riverside canteen'?)"
    ]
    path.write_text('name = "v"\nextends = "small.toml"\n[[facilities]]\nreplaces = "Market"\nat = [6, 9]\n')
    assert problems_of(path) == [
        "v.toml: facilities[0].replaces: no facility of the base is named 'Market' (did you mean 'market 1'?)"
    ]


def test_replacing_twice_or_without_a_base_is_an_error(tmp_path):
    twice = '[[facilities]]\nreplaces = "park 1"\nat = [6, 9]\n[[facilities]]\nreplaces = "park 1"\nat = [6, 8]\n'
    assert problems_of(variant(tmp_path, twice)) == [
        "v.toml: facilities[1].replaces: facility 'park 1' is replaced already by facilities[0]"
    ]
    alone = write_small(tmp_path, residents=50, extra='[[facilities]]\nreplaces = "park 1"\nat = [6, 9]\n')
    assert problems_of(alone) == [
        "small.toml: facilities[4].replaces: replaces names a facility of a base, but the files below this one "
        "have no [[facilities]]"
    ]


def test_a_new_name_close_to_a_base_name_adds_a_facility_with_a_warning(tmp_path):
    path = variant(tmp_path, '[[facilities]]\ntype = "elderly_care"\nat = [6, 9]\nname = "Riverside canten"\n')
    s = load_scenario(path)
    assert len(s.facilities) == 6  # added: the base's canteen stays
    assert [str(w) for w in s.warnings] == [
        "v.toml: facilities[0].name: no facility of the base is named 'Riverside canten', so this entry adds a "
        "facility; did you mean 'Riverside canteen'? To move that one, give its name exactly, or "
        "replaces = 'Riverside canteen' (which is checked)"
    ]


@pytest.mark.parametrize("name", ["Riverside canteen 2", "Riverside canteen (2)", "Hilltop clinic"])
def test_a_new_name_that_is_a_numbered_sibling_or_far_from_every_base_name_is_quiet(tmp_path, name):
    s = load_scenario(variant(tmp_path, f'[[facilities]]\ntype = "elderly_care"\nat = [6, 9]\nname = "{name}"\n'))
    assert len(s.facilities) == 6 and s.warnings == ()


def test_the_same_name_moves_quietly_and_a_generated_name_warns(tmp_path):
    moved = load_scenario(
        variant(tmp_path, '[[facilities]]\ntype = "elderly_care"\nat = [6, 9]\nname = "Riverside canteen"\n')
    )
    assert len(moved.facilities) == 5 and moved.warnings == ()
    added = load_scenario(variant(tmp_path, '[[facilities]]\ntype = "park"\nat = [6, 9]\nname = "park 1"\n'))
    assert len(added.facilities) == 6
    assert [str(w) for w in added.warnings] == [
        "v.toml: facilities[0].name: 'park 1' is the generated name of an unnamed facility of the base: this entry "
        "adds a facility of that name and the base's is renamed; to move it, replaces = 'park 1'"
    ]


def test_cli_validate_prints_the_name_warning_and_exits_0(tmp_path):
    variant(tmp_path, '[[facilities]]\ntype = "elderly_care"\nat = [6, 9]\nname = "Riverside canten"\n')
    done = cli("validate", "v.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "warning: v.toml: facilities[0].name: no facility of the base is named 'Riverside canten'" in done.stderr


def test_a_capacity_of_the_streets_facilities_file_warns_with_its_line(tmp_path):
    shutil.copytree(ROOT / "tests" / "data" / "streets_small", tmp_path / "s")
    facilities = tmp_path / "s" / "csv" / "facilities.csv"
    text = facilities.read_text()
    assert text.count("Kamppi care,385090,6671110,30,") == 1
    facilities.write_text(text.replace("Kamppi care,385090,6671110,30,", "Kamppi care,385090,6671110,30000,"))
    warnings = load_scenario(tmp_path / "s" / "small.toml").warnings
    assert [str(w) for w in warnings] == [
        "csv/facilities.csv:3: capacity: 30,000 people is outside the plausible range of a facility's capacity, "
        "1 to 10,000 people"
    ]


def test_on_streets_replaces_finds_a_bases_entries_never_a_row_of_the_facilities_file(tmp_path):
    shutil.copytree(ROOT / "tests" / "data" / "streets_small", tmp_path / "s")
    path = tmp_path / "s" / "v.toml"
    head = 'name = "v"\nextends = "small.toml"\n[[facilities]]\n'
    path.write_text(head + 'replaces = "New care station"\nat_m = [385100.0, 6671100.0]\n')
    moved = [f for f in load_scenario(path).facilities if f.name == "New care station"]
    assert [(f.type, f.x, f.y) for f in moved] == [("elderly_care", 385100.0, 6671100.0)]
    path.write_text(head + 'replaces = "market 1"\nat_m = [385100.0, 6671100.0]\n')
    assert problems_of(path) == [
        "v.toml: facilities[0].replaces: no facility of the base is named 'market 1' (on streets only a base's "
        "named [[facilities]] entries can be replaced, not rows of its facilities file)"
    ]
