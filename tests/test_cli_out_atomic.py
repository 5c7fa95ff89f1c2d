"""Results written whole or not at all by run, compare and optimize (issue 20, item 7), end to end.

Ctrl-C (in the process, and a real SIGINT), SIGTERM and an error while a command writes leave
nothing at ``--out`` and no hidden work folder, and a rerun works; with ``--overwrite`` the
earlier result survives a failure. ``--out`` inside a result, or over a folder of the user's own
files, is refused (exit 2) before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from model.cli import main
from model.report import files, folders, results
from tests.conftest import write_small
from tests.in_process import lifecircle

VARIANT = 'name = "more_care"\nextends = "small.toml"\n\n[[facilities]]\ntype = "elderly_care"\nat = [4, 6]\n'


def cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "model.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``, hidden ones too, with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def hidden(folder: Path) -> list[str]:
    """Work folders or files left anywhere under ``folder``."""
    return [p.name for p in folder.rglob("*") if ".partial-" in p.name or ".old-" in p.name]


def refused(proc, *words):
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in proc.stderr, proc.stderr


def complete(folder: Path) -> None:
    """Every file of the folder is in its manifest and none names the work folder (a final path only)."""
    manifest = json.loads((folder / folders.MANIFEST).read_text(encoding="utf-8"))
    assert manifest["files"] == folders.files_in(folder)
    for name in manifest["files"]:
        if name.endswith((".json", ".csv", ".md", ".toml")):
            assert ".partial-" not in (folder / name).read_text(encoding="utf-8"), name


def interrupt_at(monkeypatch, module, name: str, when) -> None:
    """Make ``module.name`` raise KeyboardInterrupt (Ctrl-C) on the call for which ``when(*args)`` holds."""
    real = getattr(module, name)

    def cut(*args, **kwargs):
        if when(*args):
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, cut)


@pytest.fixture
def place(tmp_path, monkeypatch):
    small = write_small(tmp_path, residents=60)
    (tmp_path / "more_care.toml").write_text(VARIANT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path, small


# --------------------------------------------------------------------------- run


def test_a_run_cut_short_while_writing_leaves_nothing_and_a_rerun_works(place, monkeypatch, capsys):
    tmp_path, small = place
    out = tmp_path / "out"
    # Ctrl-C after summary.json and residents.csv, while the maps are drawn
    interrupt_at(monkeypatch, files, "write_csv", lambda path, frame: path.name == "facilities.csv")
    assert main(["run", str(small), "--out", str(out), "--quiet", "--log-visits"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not out.exists() and hidden(tmp_path) == []
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(small), "--out", str(out), "--quiet", "--log-visits"]) == 0
    assert {"summary.json", "run.json", "visits.csv", "facilities.csv", "maps/access_park.png"} <= set(tree(out))
    complete(out)
    assert hidden(tmp_path) == []


def test_overwrite_that_fails_keeps_the_earlier_run(place, monkeypatch):
    tmp_path, small = place
    out = tmp_path / "out"
    assert main(["run", str(small), "--out", str(out), "--quiet", "--contacts"]) == 0
    before = tree(out)
    interrupt_at(monkeypatch, files, "write_csv", lambda path, frame: path.name == "residents.csv")
    assert main(["run", str(small), "--out", str(out), "--quiet", "--overwrite", "--seed", "9"]) == 130
    assert tree(out) == before and hidden(tmp_path) == []
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(small), "--out", str(out), "--quiet", "--overwrite", "--seed", "9"]) == 0
    assert "contacts.graphml" not in tree(out)  # the earlier run's, gone with it
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["seed"] == 9
    complete(out)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_the_simulation_leaves_nothing(tmp_path, sig, monkeypatch):
    """A real signal while the demo's days are simulated (visits.csv is streamed as they go)."""
    out = tmp_path / "out"
    # a terminal's Ctrl-C raises KeyboardInterrupt; a job started in the background ignores SIGINT,
    # and so would this child if the tests were started so
    code = (
        "import signal, sys\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from model.cli import main\n"
        f"sys.exit(main(['run', 'demo', '--days', '3', '--log-visits', '--quiet', '--out', {str(out)!r}]))"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while not (list(tmp_path.glob(".out.partial-*/visits.csv")) or (out / "visits.csv").exists()):
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before its first visits"
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 128 + sig, err  # 130: interrupted, 143: terminated (not 0: it was still running)
    assert "Traceback" not in err
    assert os.listdir(tmp_path) == []
    small = write_small(tmp_path, residents=60)
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(small), "--out", str(out), "--quiet"]) == 0  # the rerun, in this process
    assert sorted(os.listdir(tmp_path)) == ["out", "small.toml"]


def test_out_inside_a_run_or_over_the_users_files_is_refused(place):
    """The first refusal as a real subprocess (exit status, stderr), the others by ``main`` in this process."""
    tmp_path, small = place
    assert main(["run", str(small), "--out", "run", "--quiet"]) == 0
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("the user's")
    before = tree(tmp_path)
    refused(
        cli("run", str(small), "--out", "run/maps", "--quiet", cwd=tmp_path),
        "--out: run/maps is inside the run in",
        "choose a place outside it",
    )
    for out, words in (
        ("run/maps", ("--out: run/maps is inside the run in", "choose a place outside it")),
        ("run/maps/new", ("is inside the run in",)),
        ("mine", ("--out: mine is a folder that holds other files (notes.txt)",)),
    ):
        for overwrite in ([], ["--overwrite"]):
            refused(lifecircle("run", str(small), "--out", out, "--quiet", *overwrite, cwd=tmp_path), *words)
    (tmp_path / "run" / "notes.txt").write_text("the user's, among the run's files")
    refused(
        lifecircle("run", str(small), "--out", "run", "--quiet", "--overwrite", cwd=tmp_path),
        "holds a run and files that are not lifecircle's (notes.txt)",
    )
    (tmp_path / "run" / "notes.txt").unlink()
    assert tree(tmp_path) == before


# --------------------------------------------------------------------------- compare


def test_compare_writes_its_whole_folder_or_nothing(place, monkeypatch):
    tmp_path, small = place
    out = tmp_path / "cmp"
    # 2 seeds, not the default 5: the replicates/ folder is still written, by more than one seed
    args = ["compare", str(small), "more_care.toml", "--replicates", "2", "--out", str(out), "--quiet"]
    # Ctrl-C once the first scenario's folder is written, while the second's is
    interrupt_at(monkeypatch, results, "write_results", lambda model, folder, *rest: folder.name == "more_care")
    assert main(args) == 130
    assert not out.exists() and hidden(tmp_path) == []
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    assert main(args) == 0
    complete(out)
    report = (out / "comparison.md").read_text(encoding="utf-8")
    images = re.findall(r"!\[[^]]*\]\(([^)]+)\)", report)
    assert images and all((out / image).is_file() for image in images)  # relative to the folder, found there
    assert main(args) == 2
    before = tree(out)
    assert main([*args, "--overwrite", "--seed", "7"]) == 0
    assert tree(out) != before and hidden(tmp_path) == []
    complete(out)


def test_compare_refuses_an_out_over_the_users_files_or_inside_a_result(place):
    """The first refusal as a real subprocess, the second by ``main`` in this process."""
    tmp_path, small = place
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("the user's")
    assert main(["run", str(small), "--out", "run", "--quiet"]) == 0
    before = tree(tmp_path)
    args = ("compare", str(small), "more_care.toml", "--quiet", "--out")
    refused(cli(*args, "mine", cwd=tmp_path), "holds other files (notes.txt)")
    refused(lifecircle(*args, "run/maps", cwd=tmp_path), "is inside the run in")
    assert tree(tmp_path) == before


# --------------------------------------------------------------------------- optimize


def test_optimize_writes_its_file_and_folder_whole_or_not_at_all(place, monkeypatch, capsys):
    tmp_path, small = place
    args = ["optimize", str(small), "--type", "elderly_care", "--add", "1", "--out", "plan.toml", "--simulate"]
    # Ctrl-C while the proposal's run is written: the scenario and its table by community are written by then
    interrupt_at(monkeypatch, results, "write_results", lambda model, folder, *rest: folder.name != "small")
    assert main(args) == 130
    assert sorted(os.listdir(tmp_path)) == ["more_care.toml", "small.toml"]
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    assert main(args) == 0
    assert "simulated both: plan/comparison.md" in capsys.readouterr().out
    plan, folder = tmp_path / "plan.toml", tmp_path / "plan"
    complete(folder)
    written = ["more_care.toml", "plan", "plan.toml", "plan_communities.csv", "small.toml"]
    assert sorted(os.listdir(tmp_path)) == written
    # the proposal's run records the file where it now is, not the work file it was read from
    new = folder / "small_elderly_care_coverage"  # the proposal's run: <scenario>_<type>_<objective>
    run = json.loads((new / "run.json").read_text(encoding="utf-8"))
    assert run["scenario_file"] == str(plan.resolve())
    assert run["scenario_files"][0]["path"] == str(plan.resolve())
    assert run["scenario_files"][0]["sha256"] == hashlib.sha256(plan.read_bytes()).hexdigest()
    assert main(args) == 2
    assert "plan.toml exists; add --overwrite to replace it" in capsys.readouterr().err
    assert main([*args, "--overwrite", "--seed", "5"]) == 0
    assert sorted(os.listdir(tmp_path)) == written
    assert "seed 5" in plan.read_text(encoding="utf-8").splitlines()[0]


def test_optimize_overwrites_only_a_file_it_wrote(place):
    tmp_path, small = place
    before = tree(tmp_path)
    proc = cli(
        "optimize", str(small), "--type", "park", "--add", "1", "--out", "more_care.toml", "--overwrite", cwd=tmp_path
    )
    refused(proc, "--out: more_care.toml exists and was not written by lifecircle optimize; choose another file")
    assert tree(tmp_path) == before
