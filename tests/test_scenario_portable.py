"""Portable scenarios: ``extends`` by bundled name, and files written by the tools that can be moved.

A bundled base is found by its name wherever the file and the package are; a base of the user's
own is named by a path relative to the file, so that the two can be moved together. Each test
moves the written files to another folder and loads them there: the scenario must be the one
loaded before the move (compared field by field, without the paths it was read from).
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from model.scenario import ScenarioError, bundled_scenarios, extend_toml, load_scenario
from tests.conftest import ROOT, write_small


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "model.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def same_scenario(a, b) -> bool:
    """Whether two scenarios are equal but for the files they were read from."""
    return dataclasses.replace(a, path=b.path, files=b.files) == b


def problem_of(path: Path):
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    (problem,) = err.value.problems
    return problem


# --------------------------------------------------------------------------- extends by name


@pytest.mark.parametrize("value", ["wuhai_life_circle", "wuhai_life_circle.toml"])
def test_extends_names_a_bundled_scenario(tmp_path, value):
    base = load_scenario("wuhai_life_circle")
    x, y = base.facilities[0].x, base.facilities[0].y  # a walkable cell
    variant = tmp_path / "mine.toml"
    variant.write_text(
        f'name = "mine"\nextends = "{value}"\n[[facilities]]\ntype = "park"\nat = [{x}, {y}]\nname = "My park"\n'
    )
    s = load_scenario(variant)
    assert s.files[0] == variant.resolve()
    assert s.files[1:] == base.files  # the bundled file and its parts, as `lifecircle run` reads them
    assert s.files[1] == bundled_scenarios()["wuhai_life_circle"].resolve()
    assert s.facilities[: len(base.facilities)] == base.facilities
    assert [(f.type, f.x, f.y, f.name) for f in s.facilities[len(base.facilities) :]] == [("park", x, y, "My park")]
    assert s.communities == base.communities and s.name == "mine"


def test_a_file_beside_the_referring_file_takes_precedence_over_the_bundled_one(tmp_path):
    own = write_small(tmp_path)  # small.toml: not the bundled demo
    (tmp_path / "demo.toml").write_text(own.read_text().replace('name = "small"', 'name = "demo"'))
    variant = tmp_path / "v.toml"
    variant.write_text('name = "v"\nextends = "demo.toml"\n')
    s = load_scenario(variant)
    assert s.files[1] == (tmp_path / "demo.toml").resolve()
    assert [c.name for c in s.communities] == ["West", "East"]  # the small scenario's, not the demo's
    assert s.communities != load_scenario("demo").communities


def test_an_unknown_extends_names_file_key_and_the_closest_bundled_names(tmp_path):
    variant = tmp_path / "v.toml"
    variant.write_text('name = "v"\nextends = "wuhai_life_circl"\n')
    problem = problem_of(variant)
    assert (problem.file, problem.key) == ("v.toml", "extends")
    assert problem.message == (
        f"no file {tmp_path / 'wuhai_life_circl'} and no bundled scenario 'wuhai_life_circl' (did you mean the "
        "bundled 'wuhai_life_circle' or 'wuhai_life_circle_gated' or 'wuhai_life_circle_embedded'?); "
        "`lifecircle scenarios` lists them"
    )


def test_an_extends_path_with_a_folder_is_never_a_bundled_name(tmp_path):
    variant = tmp_path / "v.toml"
    variant.write_text('name = "v"\nextends = "parts/demo.toml"\n')  # no such file here: not the bundled demo
    problem = problem_of(variant)
    assert (problem.file, problem.key) == ("v.toml", "extends")
    assert problem.message == f"file not found: {tmp_path / 'parts' / 'demo.toml'} (did you mean the bundled 'demo'?)"


def test_cli_validate_names_the_extends_problem_and_exits_2(tmp_path):
    (tmp_path / "v.toml").write_text('name = "v"\nextends = "dmeo"\n')
    done = cli("validate", "v.toml", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("v.toml: extends: no file ") and "did you mean the bundled 'demo'" in done.stderr
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------- files written, then moved


def test_extend_toml_names_a_bundled_base_and_the_file_moves_anywhere(tmp_path):
    target = tmp_path / "a" / "plan.toml"
    target.parent.mkdir()
    base = load_scenario("demo")
    target.write_text(extend_toml(base.path, target, "plan", [("park", 10, 10, "New park")], "test"))
    assert tomllib.loads(target.read_text())["extends"] == "demo"
    before = load_scenario(target)
    moved = tmp_path / "elsewhere" / "deeper" / "plan.toml"
    moved.parent.mkdir(parents=True)
    shutil.move(target, moved)
    after = load_scenario(moved)
    assert same_scenario(after, before)
    assert after.files[1:] == base.files


def test_extend_toml_names_a_users_base_relatively_and_both_move_together(tmp_path):
    project = tmp_path / "project"
    (project / "plans").mkdir(parents=True)
    base = write_small(project)
    target = project / "plans" / "plan.toml"
    target.write_text(extend_toml(base, target, "plan", [("park", 16, 3, "North park")], "test"))
    assert tomllib.loads(target.read_text())["extends"] == "../small.toml"
    before = load_scenario(target)
    shutil.move(project, tmp_path / "moved")
    after = load_scenario(tmp_path / "moved" / "plans" / "plan.toml")
    assert same_scenario(after, before)
    assert after.files[1] == (tmp_path / "moved" / "small.toml").resolve()


def test_extend_toml_writes_a_path_when_a_file_beside_would_shadow_the_bundled_name(tmp_path):
    (tmp_path / "demo").write_text("not a scenario\n")  # `extends = "demo"` would read this file
    target = tmp_path / "plan.toml"
    target.write_text(extend_toml(bundled_scenarios()["demo"], target, "plan", [], ""))
    written = tomllib.loads(target.read_text())["extends"]
    assert written != "demo" and written.endswith("demo.toml")
    assert same_scenario(load_scenario(target), dataclasses.replace(load_scenario("demo"), name="plan"))


def test_a_saved_page_plan_moves_with_its_base(tmp_path):
    from model.web.state import PageModel, save_plan

    project = tmp_path / "project"
    (project / "plans").mkdir(parents=True)
    base = write_small(project, residents=100)
    model = PageModel(str(base), days=1)
    model.plan.add(model.base_scenario, "elderly_care", 4, 5)
    target = project / "plans" / "plan.toml"
    save_plan(model, target)
    assert tomllib.loads(target.read_text())["extends"] == "../small.toml"
    before = load_scenario(target)
    shutil.move(project, tmp_path / "moved")
    assert same_scenario(load_scenario(tmp_path / "moved" / "plans" / "plan.toml"), before)


def test_a_saved_page_plan_of_a_bundled_scenario_names_it(tmp_path):
    from model.web.state import PageModel, save_plan

    model = PageModel("huimin_block", days=1)
    base = model.base_scenario
    taken = {(f.x, f.y) for f in base.facilities}
    x, y = next(
        (x, y)
        for y in range(base.grid.height)
        for x in range(base.grid.width)
        if (x, y) not in taken and not any(bx <= x < bx + w and by <= y < by + h for bx, by, w, h in base.grid.blocked)
    )
    model.plan.add(base, "park", x, y)
    target = tmp_path / "plan.toml"
    save_plan(model, target)
    assert tomllib.loads(target.read_text())["extends"] == "huimin_block"
    before = load_scenario(target)
    moved = tmp_path / "other" / "plan.toml"
    moved.parent.mkdir()
    shutil.move(target, moved)
    assert same_scenario(load_scenario(moved), before)


def test_a_saved_street_plan_with_a_removal_moves_with_its_data_files(tmp_path):
    from model.web.state import PageModel, save_plan

    project = tmp_path / "project"
    shutil.copytree(ROOT / "tests" / "data" / "streets_small", project / "s")
    (project / "plans").mkdir()
    model = PageModel(str(project / "s" / "small.toml"), days=1)
    model.plan.remove(model.base_scenario, "market", 385300.0, 6671000.0)  # a row of the facilities file
    target = project / "plans" / "less.toml"
    save_plan(model, target)
    streets = tomllib.loads(target.read_text())["streets"]
    assert streets["nodes"] == "../s/csv/nodes.csv" and "facilities" not in streets  # a row removed: all written
    before = load_scenario(target)
    assert "market" not in [f.type for f in before.facilities]
    shutil.move(project, tmp_path / "moved")
    after = load_scenario(tmp_path / "moved" / "plans" / "less.toml")
    assert dataclasses.replace(after, path=before.path, files=before.files, streets=before.streets) == before
    assert after.streets.digest == before.streets.digest  # the same contents, read from their new place


def test_optimize_writes_a_file_that_moves_with_its_base(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    write_small(project, residents=120)
    done = cli("optimize", "small.toml", "--type", "elderly_care", "--add", "1", "--out", "plans/new.toml", cwd=project)
    assert done.returncode == 0, done.stderr
    written = project / "plans" / "new.toml"
    assert tomllib.loads(written.read_text())["extends"] == "../small.toml"
    before = load_scenario(written)
    shutil.move(project, tmp_path / "moved")
    assert same_scenario(load_scenario(tmp_path / "moved" / "plans" / "new.toml"), before)


def test_a_runs_scenario_toml_stands_alone_and_moves_anywhere(tmp_path):
    write_small(tmp_path, residents=60)
    variant = tmp_path / "v.toml"
    variant.write_text('name = "v"\nextends = "small.toml"\n')
    out = tmp_path / "run"
    done = cli("run", "v.toml", "--quiet", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = tomllib.loads((out / "scenario.toml").read_text())
    assert "extends" not in data
    moved = tmp_path / "elsewhere" / "scenario.toml"
    moved.parent.mkdir()
    shutil.copy(out / "scenario.toml", moved)
    assert same_scenario(load_scenario(moved), load_scenario(variant))
