"""Experiment files checked like scenario files (issue 21 item 4): every message names the file and the full key.

- an integer scenario key refuses a non-integer in a grid list or a case (``20.5``, and ``40.0``
  as a scenario file does) with a scenario file's words, at ``parameters."<key>"[i]``;
- a value repeated in a grid list, a case repeated, a case that is a grid combination, a metric
  listed twice: errors naming both places;
- a key through an unknown facility type: an unknown type with the closest (or every) type, once
  per list or range, not "a new facility type must give every field";
- a value that makes the scenario invalid is named at its full key; a problem the scenario's own
  file has only with a value says which value;
- through the command: exit 2, every line names the file, no traceback, nothing written.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from model.batch.experiment import load_experiment
from model.cli import main
from model.scenario import ScenarioError, load_scenario
from tests.conftest import write_small

CAP = "facility_types.elderly_care.capacity"
MIX = "population.mixing"
HEAD = 'name = "bad"\nscenarios = ["small.toml"]\nseeds = [1]\n'
TYPES = (
    "elderly_care, nursery, kindergarten, primary_school, middle_school, health_station, health_centre, "
    "market, convenience, park, culture_room, service_centre"
)  # model/catalogue.toml's sections in order
NEW_TYPE = "an override changes a type of the catalogue or of the scenario: define a new type in a scenario file"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("files")
    write_small(folder, residents=60)
    return folder


def problems(folder: Path, body: str, name: str = "bad.toml") -> list[str]:
    """The problems of an experiment file (HEAD + body) next to the small scenario, as printed."""
    path = folder / name
    path.write_text(HEAD + body, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_experiment(path)
    return [str(p) for p in info.value.problems]


# --------------------------------------------------------------------------- integer keys


def test_a_fraction_for_an_integer_key_in_a_grid_is_refused_with_the_scenario_files_words(folder):
    assert problems(folder, f'[parameters]\n"{CAP}" = [20.5, 40]\n') == [
        f'bad.toml: parameters."{CAP}"[0]: must be an integer, not 20.5'
    ]
    # the same words as a scenario file that gives 20.5 (model/scenario/kinds.py)
    (folder / "frac").mkdir()
    scenario = write_small(folder / "frac", residents=60, extra="\n[facility_types.elderly_care]\ncapacity = 20.5\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario)
    assert [str(p) for p in info.value.problems] == [f"small.toml: {CAP}: must be an integer, not 20.5"]


def test_an_integer_valued_float_is_refused_as_a_scenario_file_refuses_it(folder):
    assert problems(folder, f'[parameters]\n"{CAP}" = [40, 80.0]\n') == [
        f'bad.toml: parameters."{CAP}"[1]: must be an integer, not 80.0'
    ]
    assert problems(folder, f'[[cases]]\n"{CAP}" = 40.0\n"seed" = true\n') == [
        f'bad.toml: cases[0]."{CAP}": must be an integer, not 40.0',
        'bad.toml: cases[0]."seed": must be an integer, not True',
    ]


def test_integers_stay_integers_and_a_float_key_takes_an_integer(folder):
    path = folder / "good.toml"
    path.write_text(HEAD + f'[parameters]\n"{CAP}" = [20, 40]\n"{MIX}" = [0, 1]\n', encoding="utf-8")
    experiment = load_experiment(path)
    assert experiment.grid == {CAP: (20, 40), MIX: (0.0, 1.0)}
    assert [type(v) for v in experiment.grid[CAP]] == [int, int]
    assert [type(v) for v in experiment.grid[MIX]] == [float, float]


# --------------------------------------------------------------------------- duplicates


def test_a_value_twice_in_a_grid_list_names_both_places(folder):
    assert problems(folder, f'[parameters]\n"{MIX}" = [0.5, 1.0, 0.5]\n"{CAP}" = [40, 40.0, 20]\n') == [
        f'bad.toml: parameters."{MIX}"[2]: repeats [0] (0.5): every value once',
        f'bad.toml: parameters."{CAP}"[1]: must be an integer, not 40.0',
        f'bad.toml: parameters."{CAP}"[1]: repeats [0] (40): every value once',
    ]
    # 1 and 1.0 of a float key are one value
    assert problems(folder, f'[parameters]\n"{MIX}" = [1, 1.0]\n') == [
        f'bad.toml: parameters."{MIX}"[1]: repeats [0] (1): every value once'
    ]


def test_a_case_twice_names_both_cases(folder):
    body = f'[[cases]]\n"{MIX}" = 0.2\n"{CAP}" = 40\n[[cases]]\n"{MIX}" = 0.3\n[[cases]]\n"{CAP}" = 40\n"{MIX}" = 0.2\n'
    assert problems(folder, body) == ["bad.toml: cases[2]: repeats cases[0]: every combination once"]


def test_a_case_that_is_a_grid_combination_is_refused(folder):
    body = f'[parameters]\n"{MIX}" = [0.0, 1.0]\n"{CAP}" = [20, 40]\n'
    body += f'[[cases]]\n"{MIX}" = 0.5\n"{CAP}" = 40\n'  # not in the grid
    body += f'[[cases]]\n"{CAP}" = 40\n"{MIX}" = 1.0\n'  # the grid's (1.0, 40)
    body += f'[[cases]]\n"{MIX}" = 1.0\n'  # not a whole combination: another point
    assert problems(folder, body) == [
        f'bad.toml: cases[1]: repeats a combination of [parameters] ("{CAP}" = 40, "{MIX}" = 1.0): '
        "every combination once"
    ]


def test_a_scenario_twice_by_any_name(folder):
    path = folder / "twice.toml"
    path.write_text('name = "twice"\nscenarios = ["demo", "small.toml", "demo.toml"]\nseeds = [1]\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_experiment(path)
    assert [str(p) for p in info.value.problems] == [
        "twice.toml: scenarios[2]: repeats scenarios[0] (demo.toml): every scenario once"
    ]


def test_a_metric_twice(folder):
    assert problems(folder, 'metrics = ["usage.park.visits", "access.park.mean_min", "usage.park.visits"]\n') == [
        "bad.toml: metrics[2]: repeats metrics[0] ('usage.park.visits')"
    ]


# --------------------------------------------------------------------------- unknown facility types


def test_an_unknown_facility_type_is_named_once_per_list_with_the_types(folder):
    body = '[parameters]\n"facility_types.spaceport.capacity" = [10, 20, 30]\n"facility_types.parc.capacity" = [5]\n'
    body += '[[cases]]\n"facility_types.spaceport.daily_prob" = 0.1\n'
    found = problems(folder, body)
    assert found == [
        f'bad.toml: parameters."facility_types.spaceport.capacity": unknown facility type (the types are {TYPES}); '
        + NEW_TYPE,
        "bad.toml: parameters.\"facility_types.parc.capacity\"[0]: unknown facility type (did you mean 'park'?); "
        + NEW_TYPE,
        f'bad.toml: cases[0]."facility_types.spaceport.daily_prob": unknown facility type (the types are {TYPES}); '
        + NEW_TYPE,
    ]
    assert not any("must give every field" in p for p in found)


def test_an_unknown_facility_type_in_a_sensitivity_range_is_named_once(folder):
    body = '[sensitivity]\nmethod = "morris"\n[sensitivity.parameters]\n'
    body += '"facility_types.spaceport.capacity" = { min = 1, max = 5 }\n'
    body += f'"{MIX}" = {{ min = 0.5, max = 1.5 }}\n'
    assert problems(folder, body) == [
        f'bad.toml: sensitivity.parameters."facility_types.spaceport.capacity": unknown facility type '
        f"(the types are {TYPES}); " + NEW_TYPE,
        f'bad.toml: sensitivity.parameters."{MIX}".max: must be between 0 and 1, not 1.5',
    ]


# --------------------------------------------------------------------------- full keys everywhere


def test_invalid_values_are_named_at_their_full_keys(folder):
    body = f'[parameters]\n"{MIX}" = [0.5, 1.5]\n"grid.blocked" = [[[0, 0, 1, 1]], [[18, 0, 50, 1]]]\n'
    body += f'[[cases]]\n"{MIX}" = 3.0\n"seed" = -1\n'
    assert sorted(problems(folder, body)) == sorted(
        [
            f'bad.toml: parameters."{MIX}"[1]: must be between 0 and 1, not 1.5',
            'bad.toml: parameters."grid.blocked"[1][0]: rectangle [18, 0, 50, 1] is not inside the 20x12 grid',
            f'bad.toml: cases[0]."{MIX}": must be between 0 and 1, not 3.0',
            'bad.toml: cases[0]."seed": must not be negative, not -1',
        ]
    )


def test_a_key_that_is_not_a_scenario_key_is_named_at_every_place(folder):
    body = '[parameters]\n"population.mixng" = [0.5]\n[[cases]]\n"seed" = 2\n[[cases]]\n"population.mixng" = 0.5\n'
    found = problems(folder, body)
    assert found[:2] == [
        'bad.toml: parameters."population.mixng": not a scenario key '
        '(e.g. "population.mixing", "facility_types.park.capacity")',
        'bad.toml: cases[1]."population.mixng": not a scenario key '
        '(e.g. "population.mixing", "facility_types.park.capacity")',
    ]


def test_an_unquoted_dotted_key_in_a_case(folder):
    assert problems(folder, "[[cases]]\npopulation.mixing = 0.5\n") == [
        'bad.toml: cases[0].population: write the dotted key in quotes: "population.mixing" = 0.5'
    ]


def test_a_list_valued_key_can_be_a_case_value(folder):
    """A range (two numbers) is one value of a case (the old check took any list for several values)."""
    path = folder / "pace.toml"
    path.write_text(HEAD + '[[cases]]\n"walking.pace_limits" = [0.7, 1.4]\n', encoding="utf-8")
    assert load_experiment(path).cases == ({"walking.pace_limits": [0.7, 1.4]},)


def test_a_problem_of_the_scenario_file_that_a_value_brings_up_says_which_value(folder):
    # the small scenario's communities give shares of groups a and b: a table without b leaves them unknown
    sub = folder / "groups"
    sub.mkdir()
    write_small(sub, residents=60)
    (sub / "bad.toml").write_text(HEAD + '[parameters]\n"population.groups" = [{ a = 1.0 }]\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_experiment(sub / "bad.toml")
    found = info.value.problems
    assert found, found
    assert all(p.file == "small.toml" for p in found), found
    assert all(
        p.message.endswith("""(with bad.toml's parameters."population.groups"[0] = {'a': 1.0})""") for p in found
    )


def test_store_description_and_their_words(folder):
    assert problems(folder, 'store = "some"\ndescription = 3\n') == [
        "bad.toml: description: must be a string, not 3",
        'bad.toml: store: must be "listed" (the listed metrics) or "all" (every scalar), not \'some\'',
    ]


# --------------------------------------------------------------------------- through the command


BAD = {
    "fraction": (f'[parameters]\n"{CAP}" = [20.5, 40]\n', f'parameters."{CAP}"[0]: must be an integer, not 20.5'),
    "duplicate_value": (f'[parameters]\n"{MIX}" = [0.5, 0.5]\n', f'parameters."{MIX}"[1]: repeats [0]'),
    "duplicate_case": (f'[[cases]]\n"{MIX}" = 0.5\n[[cases]]\n"{MIX}" = 0.5\n', "cases[1]: repeats cases[0]"),
    "spaceport": ('[parameters]\n"facility_types.spaceport.capacity" = [1, 2]\n', "unknown facility type"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_files_through_the_command(case, tmp_path, monkeypatch, capsys):
    body, expected = BAD[case]
    write_small(tmp_path, residents=60)
    experiment = tmp_path / f"{case}.toml"
    experiment.write_text(HEAD + body, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["batch", str(experiment), "--workers", "1", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines() and all(line.startswith(f"{case}.toml: ") for line in err.splitlines()), err
    assert expected in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_a_bad_file_in_a_subprocess(tmp_path):
    write_small(tmp_path, residents=60)
    experiment = tmp_path / "bad.toml"
    experiment.write_text(HEAD + BAD["fraction"][0], encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "model.cli", "batch", str(experiment), "--out", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f'bad.toml: parameters."{CAP}"[0]: must be an integer, not 20.5\n'
    assert not (tmp_path / "out").exists()
