"""Outputs that cannot be written and requests nobody counts for, on the command line (issue 24).

Every ``--out`` of run, batch, compare and optimize, and serve's ``--save-dir``, that cannot be
created (a name longer than the file system allows, a path inside a file, a system folder that
refuses new entries, a device) is a message naming the path and the reason, exit 2, no
traceback, and nothing written. ``optimize --type T`` on a scenario with no facility of T to
remove, or no resident who needs T, says which, and the types that would do.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_small
from tests.in_process import lifecircle

LONG = "x" * 300  # longer than the 255 bytes a name may have on Linux file systems


def cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "model.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def refused(proc, *words):
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in proc.stderr, proc.stderr


@pytest.fixture
def place(tmp_path):
    small = write_small(tmp_path, residents=60)
    (tmp_path / "a_file").write_text("mine")
    experiment = tmp_path / "exp.toml"
    experiment.write_text(f'name = "e"\nscenarios = ["{small.as_posix()}"]\nseeds = [1]\n', encoding="utf-8")
    return tmp_path, small, experiment


def bad_outs(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """Folders that cannot be made, with a word of the reason each message must give."""
    return {
        "too long": (str(tmp_path / LONG), "too long"),
        "inside a file": (str(tmp_path / "a_file" / "out"), "Not a directory"),
        "a system folder": ("/proc/lifecircle_out", "/proc/lifecircle_out"),
    }


@pytest.mark.parametrize("case", ["too long", "inside a file", "a system folder"])
@pytest.mark.parametrize("command", ["run", "batch", "compare", "optimize"])
def test_an_out_that_cannot_be_made_is_refused_before_any_work(place, command, case):
    tmp_path, small, experiment = place
    out, reason = bad_outs(tmp_path)[case]
    if command == "optimize":
        out += ".toml"
    args = {
        "run": ["run", str(small), "--out", out],
        "batch": ["batch", str(experiment), "--out", out, "--quiet"],
        "compare": ["compare", str(small), "demo", "--out", out],
        "optimize": ["optimize", str(small), "--type", "elderly_care", "--add", "1", "--out", out],
    }[command]
    before = snapshot(tmp_path)
    # a real process for one case of each command; the other cases by main in this process
    proc = (cli if case == "too long" else lifecircle)(*args, cwd=tmp_path)
    refused(proc, "--out: cannot write to", reason)
    assert out[:40] in proc.stderr
    assert snapshot(tmp_path) == before
    assert not os.path.exists("/proc/lifecircle_out")


def test_optimize_refuses_a_device_and_makes_a_missing_folder(place):
    tmp_path, small, _ = place
    refused(
        lifecircle("optimize", str(small), "--type", "park", "--add", "1", "--out", "/dev/null", cwd=tmp_path), "device"
    )
    done = lifecircle(
        "optimize", str(small), "--type", "park", "--add", "1", "--out", "new/sub/plan.toml", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "new" / "sub" / "plan.toml").is_file()


def test_optimize_simulate_folder_that_cannot_be_made(place):
    tmp_path, small, _ = place
    (tmp_path / "plan").write_text("a file where the --simulate folder would go")
    before = snapshot(tmp_path)
    proc = lifecircle(
        "optimize", str(small), "--type", "park", "--add", "1", "--out", "plan.toml", "--simulate", cwd=tmp_path
    )
    refused(proc, "--simulate")
    assert snapshot(tmp_path) == before


def test_serve_refuses_a_save_folder_it_cannot_write(place):
    tmp_path, small, _ = place
    refused(cli("serve", str(small), "--save-dir", "/proc", cwd=tmp_path), "--save-dir: cannot write to /proc")


def test_optimize_remove_of_a_type_the_scenario_has_no_facility_of(place):
    tmp_path, small, _ = place
    before = snapshot(tmp_path)
    proc = lifecircle("optimize", str(small), "--type", "nursery", "--remove", "1", "--out", "o.toml", cwd=tmp_path)
    refused(proc, "no facility of type 'nursery' to remove", "park", "elderly_care")
    assert snapshot(tmp_path) == before


def test_optimize_add_of_a_type_no_resident_needs(place):
    tmp_path, small, _ = place
    adults = tmp_path / "adults.toml"
    adults.write_text('name = "adults"\nextends = "small.toml"\n[population]\nages = { "30-59" = 1.0 }\n')
    before = snapshot(tmp_path)
    proc = lifecircle("optimize", str(adults), "--type", "nursery", "--add", "1", "--out", "o.toml", cwd=tmp_path)
    refused(proc, "no resident of adults needs 'nursery' (ages 0-2)", "market")
    assert "elderly_care" not in proc.stderr.split("need:")[1]  # nobody is 60 or over
    assert snapshot(tmp_path) == before


def test_optimize_add_of_a_type_with_users_but_no_facility_yet(place):
    """The first nursery of a place: its users are the residents of its ages, though none is served yet."""
    tmp_path, small, _ = place
    done = lifecircle("optimize", str(small), "--type", "nursery", "--add", "1", "--out", "o.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    covered_after = float(done.stdout.split("covered after:")[1].split("(")[1].split("%")[0])
    assert "covered before: 0 (0.0%)" in done.stdout and covered_after > 0


def test_compare_with_a_type_the_base_has_no_facility_of(place):
    """compare takes no --type: a type present in one scenario only is a new (or closed) site, not a failure."""
    import csv

    tmp_path, small, _ = place
    variant = tmp_path / "with_nursery.toml"
    variant.write_text(
        'name = "with_nursery"\nextends = "small.toml"\n\n'
        '[[facilities]]\ntype = "nursery"\nat = [4, 5]\nname = "first"\n'
    )
    done = lifecircle("compare", str(small), str(variant), "--out", "c", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "c" / "sites_nursery.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["scenario"], r["status"], r["name"], r["x"], r["y"]) for r in rows] == [
        ("with_nursery", "new", "first", "4", "5")
    ]


@pytest.mark.parametrize(
    "command",
    [
        ("run", "{bad}", "--out", "{tmp}/out"),
        ("optimize", "{bad}", "--type", "park", "--add", "1", "--out", "{tmp}/p.toml"),
        ("compare", "{bad}", "{small}", "--out", "{tmp}/out"),
        ("batch", "{bad_experiment}", "--out", "{tmp}/out"),
    ],
    ids=lambda c: c[0],
)
def test_a_bad_file_is_reported_before_the_model_is_imported(place, command):
    """A bad scenario or experiment is checked before the model, Mesa and matplotlib are imported (issue 19).

    Those imports take about 2 seconds a command; a user's typo is reported at once instead.
    """
    tmp, small, _ = place
    bad = tmp / "bad.toml"
    bad.write_text('name = "bad"\n[simulation]\ncutoff_min = -3\n', encoding="utf-8")
    bad_experiment = tmp / "bad_exp.toml"
    bad_experiment.write_text('name = "e"\nscenarios = ["nowhere.toml"]\nseeds = [1]\n', encoding="utf-8")
    names = {"bad": bad, "small": small, "tmp": tmp, "bad_experiment": bad_experiment}
    argv = [a.format(**{k: Path(v).as_posix() for k, v in names.items()}) for a in command]
    code = (
        "import sys\nfrom model.cli import main\n"
        f"status = main({argv!r})\n"
        "heavy = sorted(m for m in ('mesa', 'matplotlib', 'model.model', 'model.report.results') if m in sys.modules)\n"
        "print('STATUS', status, 'HEAVY', heavy)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "STATUS 2 HEAVY []", proc.stdout + proc.stderr
    assert "bad" in proc.stderr
    assert not (tmp / "out").exists() and not (tmp / "p.toml").exists()
