"""lifecircle as a published package: installed from a wheel, run from anywhere, reproducible from
its own output folder, with provenance in run.json, and a command line without rough edges."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import mesa
import pytest

from model.measures.summary import flatten
from model.model import LifeCircleModel
from tests.conftest import ROOT, write_small

DETERMINISTIC = ("summary.json", "residents.csv", "facilities.csv")
UNTRACKED = (
    ".git",
    "build",
    "dist",
    "results",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    "venv",
    ".venv",
    ".venv-ci",  # .ci/run's environment
)


def cli(*args, cwd, env=None, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "model.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


# --------------------------------------------------------------------------- installed from a wheel


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory):
    """The project installed as a new user installs it (``pip install .``: a wheel is built and
    installed, not an editable link), into a folder of its own outside the source tree. Its
    dependencies, and the setuptools that builds it, are those of the test environment."""
    base = tmp_path_factory.mktemp("wheel")
    # a copy of the sources: setuptools would reuse (and leave behind) a build/ folder in the checkout
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*UNTRACKED))
    site = base / "site"
    # built with the test environment's setuptools (no isolated build environment, which pip would
    # fill from the index again, 20 s), once pip has checked that it meets [build-system] requires
    build = ["--no-build-isolation", "--check-build-dependencies"]
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", *build, "--target", str(site), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    assert (site / "model" / "bundled_scenarios" / "demo.toml").is_file()
    assert not (site / "model" / "bundled_scenarios" / "generators").exists()  # scripts stay in the checkout
    return site


@pytest.fixture(scope="module")
def from_wheel(wheel_site, tmp_path_factory):
    """Run the installed wheel's command in an empty folder far from the checkout."""
    empty = tmp_path_factory.mktemp("empty")
    env = {**os.environ, "PYTHONPATH": str(wheel_site)}
    # The test environment holds an editable install of the checkout, whose import hook would
    # supply any module the wheel lacks: switch it off, so that only the wheel's files are used.
    only_the_wheel = (
        "import sys, runpy; "
        "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]; "
        "sys.argv[0] = 'lifecircle'; runpy.run_module('model.cli', run_name='__main__')"
    )

    def run(*args):
        return subprocess.run(
            [sys.executable, "-c", only_the_wheel, *args],
            capture_output=True,
            text=True,
            cwd=empty,
            env=env,
            timeout=600,
        )

    code = (
        "import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]; "
        "import model.cli, model.model, model.report.results; "
        "print(model.cli.__file__, model.model.__file__, model.report.results.__file__)"
    )
    where = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=empty, env=env)
    assert where.returncode == 0, where.stderr
    for module_file in where.stdout.split():
        assert Path(module_file).is_relative_to(wheel_site), module_file  # not the checkout's
    return run, empty


def test_the_wheel_runs_the_default_and_a_bundled_scenario_from_an_empty_folder(from_wheel):
    run, folder = from_wheel
    default = run("run", "--quiet")
    assert default.returncode == 0, default.stderr
    named = run("run", "huimin_block", "--quiet")
    assert named.returncode == 0, named.stderr
    outs = sorted((folder / "results").iterdir())  # results/<scenario>-<time>/ under the current folder
    assert [p.name.split("-")[0] for p in outs] == ["demo", "huimin_block"]
    for out in outs:
        assert (out / "summary.json").is_file() and (out / "scenario.toml").is_file()


def test_the_wheel_lists_its_scenarios(from_wheel):
    run, _ = from_wheel
    listing = run("scenarios")
    assert listing.returncode == 0, listing.stderr
    names = [line.split()[0] for line in listing.stdout.splitlines()[1:-1]]
    assert names == sorted(names)
    assert {"demo", "huimin_block", "wuhai_life_circle", "wuhai_city", "qingshan_city"} <= set(names)
    demo = next(line for line in listing.stdout.splitlines() if line.startswith("demo "))
    assert "3,000" in demo and "Wuhai" in demo


def test_the_wheel_lists_every_subpackage():
    """pyproject.toml lists the packages by hand (one of them is mapped from scenarios/): none of
    model/'s subpackages may be missing."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "model").rglob("__init__.py")} | {
        "model.bundled_scenarios"
    }
    assert listed == found


def test_an_unknown_name_suggests_the_closest(from_wheel):
    run, folder = from_wheel
    before = set(folder.rglob("*"))
    bad = run("run", "dmeo")
    assert bad.returncode == 2
    assert "did you mean 'demo'?" in bad.stderr and "Traceback" not in bad.stderr
    assert set(folder.rglob("*")) == before  # nothing written


def test_bench_says_it_needs_a_checkout(from_wheel):
    run, _ = from_wheel
    bench = run("bench")
    assert bench.returncode == 2
    assert "source checkout" in bench.stderr and "Traceback" not in bench.stderr


# --------------------------------------------------------------------------- reproducible from the folder


VARIANT = """
name = "demo_variant"
extends = "{base}"
seed = 5

[facility_types.park]
capacity = 30

[[facilities]]
type = "park"
at = [10, 5]
"""


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    """A variant that extends the bundled demo, run; then its output folder's scenario.toml, run."""
    base = tmp_path_factory.mktemp("repro")
    variant = base / "variant.toml"
    variant.write_text(VARIANT.format(base=(ROOT / "scenarios" / "demo.toml").as_posix()), encoding="utf-8")
    first = cli("run", str(variant), "--seed", "3", "--out", "first", "--quiet", cwd=base)
    assert first.returncode == 0, first.stderr
    second = cli("run", "first/scenario.toml", "--seed", "3", "--out", "second", "--quiet", cwd=base)
    assert second.returncode == 0, second.stderr
    return base, variant


def test_the_folders_scenario_toml_reproduces_the_run_byte_for_byte(reproduced):
    base, _ = reproduced
    for name in DETERMINISTIC:
        assert (base / "first" / name).read_bytes() == (base / "second" / name).read_bytes(), name
    text = (base / "first" / "scenario.toml").read_text(encoding="utf-8")
    assert "extends" not in text.replace("# ", "")  # resolved: no base file needed
    assert "[facility_types.elderly_care]" in text  # the catalogue entries are written out


def test_run_json_names_every_input_by_its_hash(reproduced):
    base, variant = reproduced
    run = json.loads((base / "first" / "run.json").read_text(encoding="utf-8"))
    files = run["scenario_files"]
    chain = [variant, ROOT / "scenarios" / "demo.toml", ROOT / "scenarios" / "parts" / "inner_mongolia.toml"]
    assert [Path(f["path"]) for f in files] == [p.resolve() for p in chain]
    for f in files:
        assert f["sha256"] == hashlib.sha256(Path(f["path"]).read_bytes()).hexdigest()
    assert run["catalogue"]["sha256"] == hashlib.sha256((ROOT / "model" / "catalogue.toml").read_bytes()).hexdigest()
    assert run["version"]["lifecircle"] == metadata.version("lifecircle")
    for dependency in ("mesa", "numpy", "scipy", "pandas", "networkx", "matplotlib", "numba", "pyarrow", "tqdm"):
        assert run["versions"][dependency] != "not installed", dependency
    if (ROOT / ".git").exists():
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
        assert run["version"]["git"]["commit"] == head.stdout.strip()
        assert isinstance(run["version"]["git"]["dirty"], bool)


# --------------------------------------------------------------------------- --out and --overwrite


def test_out_refuses_an_earlier_run_unless_overwrite_which_clears_it(tmp_path):
    small = write_small(tmp_path, residents=60)
    first = cli("run", str(small), "--out", "out", "--quiet", "--log-visits", "--contacts", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    out = tmp_path / "out"
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    again = cli("run", str(small), "--out", "out", "--quiet", cwd=tmp_path)
    assert again.returncode == 2 and "--overwrite" in again.stderr and "Traceback" not in again.stderr
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before  # nothing written or removed
    (out / "notes.txt").write_text("mine")  # not a file of a run: --overwrite would remove it, so it refuses
    kept = cli("run", str(small), "--out", "out", "--quiet", "--overwrite", cwd=tmp_path)
    assert kept.returncode == 2 and "notes.txt" in kept.stderr and (out / "visits.csv").is_file()
    (out / "notes.txt").unlink()
    replaced = cli("run", str(small), "--out", "out", "--quiet", "--overwrite", cwd=tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    assert not (out / "visits.csv").exists() and not (out / "contacts.graphml").exists()  # the old run's
    assert (out / "summary.json").is_file()


# --------------------------------------------------------------------------- Mesa's batch_run


def test_batch_run_rows_carry_the_figures_of_lifecircle_run(tmp_path):
    small = write_small(tmp_path, residents=120)
    done = cli("run", str(small), "--seed", "4", "--out", "out", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    expected = flatten(json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8")))
    ticks = LifeCircleModel(small, seed=4).total_ticks
    rows = mesa.batch_run(
        LifeCircleModel,
        parameters={"scenario": str(small), "days": 1},
        rng=[4],  # Mesa 3.5 passes it to the model's seed (a "seed" parameter would be overwritten)
        max_steps=ticks,
        number_processes=1,
        display_progress=False,
    )
    (row,) = rows
    assert len(expected) > 50
    for key, value in expected.items():
        assert row[key] == value, key
    assert "access.park.within_15" in row and "mixing.activity.exposure.a" in row


def _readme_batch_run_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in readme.split("```python\n")[1:]]
    (block,) = [b for b in blocks if "mesa.batch_run(" in b]
    return block


def test_the_readmes_batch_run_gives_the_figures_of_lifecircle_run(tmp_path, capsys):
    """The README's block, run as written: a row per seed and mixing, each the summary.json of that run."""
    import runpy

    script = tmp_path / "readme_batch_run.py"
    script.write_text(_readme_batch_run_block(), encoding="utf-8")
    rows = runpy.run_path(str(script), run_name="__main__")["rows"]
    printed = capsys.readouterr().out.split()
    assert [(r["seed"], r["mixing"]) for r in rows] == [(s, m) for s in (1, 2, 3) for m in (0.1, 0.9)]
    assert printed == [str(rows[0]["access.elderly_care.within_level"]), str(rows[0]["usage.elderly_care.unmet_share"])]
    demo = ROOT / "scenarios" / "demo.toml"
    started = {}
    for seed, mixing in ((1, 0.1), (3, 0.9)):  # the two runs at once: independent processes
        variant = tmp_path / f"demo_{seed}.toml"
        variant.write_text(f'name = "demo"\nextends = "{demo.as_posix()}"\n[population]\nmixing = {mixing}\n')
        command = [sys.executable, "-m", "model.cli", "run", str(variant), "--seed", str(seed), "--out", f"out{seed}"]
        started[seed, mixing] = subprocess.Popen(
            [*command, "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
        )
    for (seed, mixing), done in started.items():
        _, stderr = done.communicate(timeout=600)
        assert done.returncode == 0, stderr
        expected = flatten(json.loads((tmp_path / f"out{seed}" / "summary.json").read_text(encoding="utf-8")))
        (row,) = [r for r in rows if r["seed"] == seed and r["mixing"] == mixing]
        assert len(expected) > 300
        assert {key: row[key] for key in expected} == expected


def test_summary_reporters_are_empty_until_the_run_ends(tmp_path):
    model = LifeCircleModel(write_small(tmp_path, residents=40), seed=1)
    for _ in range(5):
        model.step()
    frame = model.datacollector.get_model_vars_dataframe()
    assert frame["usage.park.visits"].isna().all()
    model.run()
    assert (
        model.datacollector.get_model_vars_dataframe()["usage.park.visits"].iloc[-1]
        == model.summary()["usage"]["park"]["visits"]
    )


# --------------------------------------------------------------------------- rough edges


def test_a_closed_pipe_ends_the_run_quietly(tmp_path):
    """A small scenario (60 residents a community, not the demo's 3,000): its tables are printed
    after the run as the demo's are, far more than the 3 lines read."""
    small = write_small(tmp_path, residents=60)
    run = subprocess.Popen(
        [sys.executable, "-m", "model.cli", "run", str(small), "--quiet", "--out", "out"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    head = subprocess.run(["head", "-3"], stdin=run.stdout, capture_output=True, text=True, timeout=600)
    run.stdout.close()
    _, stderr = run.communicate(timeout=600)
    assert len(head.stdout.splitlines()) == 3
    assert b"Traceback" not in stderr and b"BrokenPipe" not in stderr, stderr.decode()


def test_the_printed_tables_say_their_units(tmp_path):
    done = cli("run", str(write_small(tmp_path, residents=60)), "--out", "out", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for label in ("visits/day", "turned away/day", "unmet % wanted", "mean walk min", "<=15 min"):
        assert label in done.stdout, label


# --------------------------------------------------------------------------- a clone stands alone


def project_files() -> list[Path]:
    if (ROOT / ".git").exists():
        listed = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=True)
        return [ROOT / line for line in listed.stdout.splitlines()]
    skip = {".git", "results", "build", "dist", "__pycache__", ".venv", "venv", ".venv-ci"}
    return [p for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.relative_to(ROOT).parts)]


def test_no_file_points_outside_the_project_or_edits_the_import_path():
    outside, path_edits = [], []
    for path in project_files():
        if path.suffix not in {".py", ".md", ".toml", ".txt", ".cfg", ""} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if "../" + "shared" in text:
            outside.append(str(path.relative_to(ROOT)))
        if path.suffix == ".py" and ("sys.path." + "insert" in text or "sys.path." + "append" in text):
            path_edits.append(str(path.relative_to(ROOT)))
    assert outside == [] and path_edits == []


def test_a_mostly_blocked_community_warns_but_runs(tmp_path):
    """West spans [1, 1, 7, 10]; blocking 4 of its 7 columns (not those of its facilities) leaves
    30 of 70 cells walkable."""
    small = write_small(tmp_path, residents=30)
    text = small.read_text(encoding="utf-8").replace(
        "blocked = [[9, 0, 1, 5], [9, 6, 1, 6]]",
        "blocked = [[9, 0, 1, 5], [9, 6, 1, 6], [2, 1, 1, 10], [4, 1, 1, 10], [6, 1, 2, 10]]",
    )
    small.write_text(text, encoding="utf-8")
    checked = cli("validate", str(small), cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "warning: small.toml: communities[0].area" in checked.stderr and "30 of 70" in checked.stderr


# --------------------------------------------------------------------------- the Python and Mesa it needs


def test_python_and_mesa_bounds_match_the_installed_mesa():
    """requires-python is Mesa's own (3.12 since Mesa 3.4), and the Mesa installed is one the bounds allow."""
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["requires-python"] == metadata.metadata("mesa")["Requires-Python"] == ">=3.12"
    (mesa_bounds,) = [Requirement(r) for r in project["dependencies"] if Requirement(r).name == "mesa"]
    assert mesa_bounds.specifier.contains(metadata.version("mesa")), (mesa_bounds, metadata.version("mesa"))
    assert sys.version_info >= (3, 12)
