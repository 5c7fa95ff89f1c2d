"""Results folders written whole (issue 20, item 7): model/report/folders.py on hand-made folders.

What a target may be (new, empty, an earlier result with --overwrite; never inside a result, never
over files that are not lifecircle's), and how it is written: a hidden work folder beside it,
renamed at the end; an exception, SIGTERM or a kill's leftovers leave nothing behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from model.report import folders


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def old_run(folder: Path, *extra: str) -> Path:
    """A run folder as versions before this one wrote it (no manifest), with ``extra`` files."""
    (folder / "maps").mkdir(parents=True)
    for name in ("summary.json", "run.json", "scenario.toml", "maps/access_park.png", *extra):
        (folder / name).write_text(f"{name} of the earlier run", encoding="utf-8")
    return folder


def dead_pid() -> int:
    """The number of a process that has ended (a finished child, reaped)."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(child.stdout)


# --------------------------------------------------------------------------- refusal


def test_a_new_or_empty_folder_is_fine(tmp_path):
    (tmp_path / "empty").mkdir()
    assert folders.refusal(tmp_path / "new" / "deeper", overwrite=False) is None
    assert folders.refusal(tmp_path / "empty", overwrite=False) is None


def test_a_folder_with_other_files_is_refused_even_with_overwrite(tmp_path):
    mine = tmp_path / "mine"
    (mine / "drafts").mkdir(parents=True)
    for name in ("notes.txt", "a.docx", "b.xlsx"):
        (mine / name).write_text("the user's")
    for overwrite in (False, True):
        reason = folders.refusal(mine, overwrite)
        # the first three entries, sorted, then "..."
        assert reason == (
            f"{mine} is a folder that holds other files (a.docx, b.xlsx, drafts/, ...); choose a new or an empty folder"
        )


def test_an_earlier_result_needs_overwrite(tmp_path):
    run = old_run(tmp_path / "run")
    assert folders.refusal(run, overwrite=False) == (
        f"{run} already holds a run (maps/access_park.png, run.json, scenario.toml, ...); add --overwrite to replace it"
    )
    assert folders.refusal(run, overwrite=True) is None


def test_a_result_with_the_users_files_among_its_own_is_refused_even_with_overwrite(tmp_path):
    run = old_run(tmp_path / "run", "notes.txt", "maps/my_sketch.png")
    reason = folders.refusal(run, overwrite=True)
    assert reason.startswith(f"{run} holds a run and files that are not lifecircle's (maps/my_sketch.png, notes.txt)")


def test_a_manifest_lists_a_results_files(tmp_path):
    """A folder written by atomic is known by its manifest: any file in it counts as its own, no other."""
    with folders.atomic(tmp_path / "r", "comparison") as work:
        (work / "report.html").write_text("a file no earlier version wrote")
        (work / "base").mkdir()
        (work / "base" / "x.csv").write_text("1")
    manifest = json.loads((tmp_path / "r" / folders.MANIFEST).read_text(encoding="utf-8"))
    assert manifest == {"kind": "comparison", "files": ["base/x.csv", "report.html"]}
    assert folders.refusal(tmp_path / "r", overwrite=True) is None
    (tmp_path / "r" / "base" / "notes.txt").write_text("mine")
    assert "base/notes.txt" in folders.refusal(tmp_path / "r", overwrite=True)


def test_a_run_cut_short_by_an_older_version_counts_as_a_run(tmp_path):
    """scenario.toml and part of visits.csv (Ctrl-C before this version): --overwrite may replace it."""
    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / "scenario.toml").write_text('name = "x"')
    (cut / "visits.csv").write_text("resident,facility\n1,")
    assert "already holds a run" in folders.refusal(cut, overwrite=False)
    assert folders.refusal(cut, overwrite=True) is None


@pytest.mark.parametrize(
    ("where", "result", "kind"),
    [
        ("run/maps", "run", "run"),
        ("run/maps/new", "run", "run"),
        ("cmp/base", "cmp", "comparison"),
        ("cmp/maps", "cmp", "comparison"),
        ("cmp/base/maps", "cmp/base", "run"),  # the nearest result around it
    ],
)
def test_inside_a_result_is_refused_even_with_overwrite(tmp_path, where, result, kind):
    old_run(tmp_path / "run")
    old_run(tmp_path / "cmp" / "base")
    (tmp_path / "cmp" / "comparison.csv").write_text("metric,base\n")
    target = tmp_path / where
    reason = folders.refusal(target, overwrite=True)
    assert reason == f"{target} is inside the {kind} in {tmp_path / result}; choose a place outside it"


def test_a_file_only_replaces_one_the_command_wrote(tmp_path):
    plan, mine = tmp_path / "plan.toml", tmp_path / "mine.toml"
    plan.write_text("# lifecircle optimize --add 1 --type park\nname = 'p'\n")
    mine.write_text("name = 'my own scenario'\n")
    marker = "# lifecircle optimize"
    assert folders.file_refusal(tmp_path / "new.toml", False, marker) is None
    assert folders.file_refusal(plan, False, marker) == f"{plan} exists; add --overwrite to replace it"
    assert folders.file_refusal(plan, True, marker) is None
    expected = f"{mine} exists and was not written by lifecircle optimize; choose another file"
    assert folders.file_refusal(mine, True, marker) == expected
    old_run(tmp_path / "run")
    assert "is inside the run" in folders.file_refusal(tmp_path / "run" / "p.toml", True, marker)


# --------------------------------------------------------------------------- atomic


def test_the_work_folder_is_hidden_beside_the_target_and_renamed_at_the_end(tmp_path):
    target = tmp_path / "a" / "b" / "out"
    with folders.atomic(target, "run") as work:
        assert work == tmp_path / "a" / "b" / f".out.partial-{os.getpid()}"
        assert not target.exists()
        (work / "summary.json").write_text("{}")
    assert sorted(os.listdir(tmp_path / "a" / "b")) == ["out"]
    manifest = b'{\n "kind": "run",\n "files": [\n  "summary.json"\n ]\n}\n'
    assert tree(target) == {folders.MANIFEST: manifest, "summary.json": b"{}"}


@pytest.mark.parametrize("error", [KeyboardInterrupt, ValueError, SystemExit])
def test_an_error_leaves_no_folder_nor_the_parents_made_for_it(tmp_path, error):
    target = tmp_path / "made" / "for" / "out"
    with pytest.raises(error), folders.atomic(target, "run") as work:
        (work / "scenario.toml").write_text("x")
        raise error
    assert os.listdir(tmp_path) == []


def test_an_error_with_overwrite_keeps_the_earlier_result(tmp_path):
    run = old_run(tmp_path / "run")
    before = tree(run)
    with pytest.raises(KeyboardInterrupt), folders.atomic(run, "run") as work:
        (work / "summary.json").write_text("new")
        raise KeyboardInterrupt
    assert tree(run) == before and sorted(os.listdir(tmp_path)) == ["run"]
    with folders.atomic(run, "run") as work:
        (work / "summary.json").write_text("new")
    assert set(tree(run)) == {"summary.json", folders.MANIFEST} and sorted(os.listdir(tmp_path)) == ["run"]


def test_an_empty_folder_is_replaced(tmp_path):
    (tmp_path / "empty").mkdir()
    with folders.atomic(tmp_path / "empty", "run") as work:
        (work / "a.csv").write_text("1")
    assert set(tree(tmp_path / "empty")) == {"a.csv", folders.MANIFEST}


def test_sigterm_raises_so_the_work_folder_is_removed(tmp_path):
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    with pytest.raises(SystemExit) as ended, folders.atomic(tmp_path / "out", "run") as work:
        (work / "visits.csv").write_text("resident\n")
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10**6):  # Python runs the handler between instructions
            pass
    assert ended.value.code == 128 + signal.SIGTERM
    assert os.listdir(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # given back


def test_a_mount_point_is_written_through_a_work_folder_inside_it(tmp_path, monkeypatch):
    """A container's volume cannot be renamed: the work folder is inside it, its files moved in at the end."""
    volume = tmp_path / "volume"
    old_run(volume)
    monkeypatch.setattr(folders.os.path, "ismount", lambda p: Path(p) == volume)
    with pytest.raises(KeyboardInterrupt), folders.atomic(volume, "run") as work:
        assert work == volume / f".partial-{os.getpid()}"
        raise KeyboardInterrupt
    assert tree(volume) == tree(old_run(tmp_path / "again"))
    with folders.atomic(volume, "run") as work:
        (work / "summary.json").write_text("new")
    assert tree(volume)["summary.json"] == b"new" and set(tree(volume)) == {"summary.json", folders.MANIFEST}
    assert sorted(os.listdir(tmp_path)) == ["again", "volume"]


def test_the_current_folder_stays_where_it_is(tmp_path, monkeypatch):
    """``--out .`` in an empty folder: renamed aside and removed, it would leave the shell nowhere."""
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    inode = here.stat().st_ino
    with folders.atomic(Path("."), "run") as work:
        assert work == here / f".partial-{os.getpid()}"
        (work / "summary.json").write_text("{}")
    assert here.stat().st_ino == inode and set(tree(here)) == {"summary.json", folders.MANIFEST}


def test_a_killed_commands_leftovers_are_removed_by_the_next_and_a_live_ones_kept(tmp_path):
    gone, alive = dead_pid(), os.getppid()
    for pid in (gone, alive):
        (tmp_path / f".out.partial-{pid}").mkdir()
        (tmp_path / f".out.partial-{pid}" / "visits.csv").write_text("part")
    (tmp_path / f".other.partial-{gone}").mkdir()  # another target's: not this command's to judge
    with folders.atomic(tmp_path / "out", "run") as work:
        (work / "a.csv").write_text("1")
    assert sorted(os.listdir(tmp_path)) == [f".other.partial-{gone}", f".out.partial-{alive}", "out"]


def test_a_set_aside_result_is_removed_only_when_the_new_one_is_in_place(tmp_path):
    """Killed while removing the earlier result: removed. Killed between the two renames: kept, to rename back."""
    gone = dead_pid()
    old_run(tmp_path / f".out.old-{gone}")
    assert folders.remove_leftovers(tmp_path / "out") == []
    (tmp_path / "out").mkdir()
    assert folders.remove_leftovers(tmp_path / "out") == [tmp_path / f".out.old-{gone}"]
    assert os.listdir(tmp_path) == ["out"]


def test_a_file_is_written_whole(tmp_path):
    plan = tmp_path / "new" / "plan.toml"
    with pytest.raises(KeyboardInterrupt), folders.atomic_file(plan) as work:
        assert work == tmp_path / "new" / f".plan.partial-{os.getpid()}.toml"
        work.write_text("half")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []
    with folders.atomic_file(plan) as work:
        work.write_text("whole")
    assert plan.read_text() == "whole" and os.listdir(plan.parent) == ["plan.toml"]
