"""The results folder around the work: its name, what it already holds, scenario.toml, and writing it whole.

Kept apart from :mod:`model.report.results` (which draws and writes the run's outputs, and so
imports matplotlib, pandas and the measures) so that a command checks its folder, and refuses a
bad one, before it pays for those imports.

A results folder is written whole or not at all (docs/outputs.md): :func:`atomic` hands the
command a hidden folder beside the target, ``.<name>.partial-<pid>`` (the same parent, so the
same file system), and renames it to the target when every file is written; an earlier result
there (``--overwrite``) is renamed aside first and removed only once the new one is in place.
Ctrl-C, an error, SIGTERM or SIGHUP remove the hidden folder instead. A killed process (SIGKILL,
a power cut) cannot clean up: the next command that writes the same target removes its
leftovers. :func:`refusal` says why a target may not be written: inside another result, a
folder with files that are not lifecircle's, or an earlier result without ``--overwrite``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from model.scenario import Scenario, scenario_toml


def default_out_dir(scenario: Scenario, root: Path) -> Path:
    """A new folder under ``root`` named after the scenario and the time."""
    return new_folder(root, scenario.name)


def new_folder(root: Path, stem: str) -> Path:
    """A folder ``root/<stem>-<time>`` that does not exist yet (a number appended if needed)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = root / f"{stem}-{stamp}"
    n = 1
    while out.exists():
        n += 1
        out = root / f"{stem}-{stamp}-{n}"
    return out


# Every file a run may write (maps/ holds access_<type>.png and guidance_<n>.png besides).
RUN_FILES = (
    "summary.json",
    "run.json",
    "scenario.toml",
    "residents.csv",
    "facilities.csv",
    "visits.csv",
    "turned_away.csv",
    "timeseries.csv",
    "coverage.csv",
    "contacts.graphml",
    "coverage.png",
    "occupancy.png",
    "exposure.png",
)
MAP_PATTERNS = ("access_*.png", "guidance_*.png")


def run_files_in(folder: Path) -> list[Path]:
    """The files of an earlier run in ``folder`` (none if it holds no run or does not exist)."""
    if not folder.is_dir():
        return []
    found = [folder / name for name in RUN_FILES if (folder / name).is_file()]
    maps = folder / "maps"
    if maps.is_dir():
        found += sorted(p for pattern in MAP_PATTERNS for p in maps.glob(pattern))
    geo = folder / "geo"
    if geo.is_dir():
        found += sorted([*geo.glob("*.geojson"), *geo.glob("*.gpkg")])
    return found


def write_scenario(scenario: Scenario, out: Path) -> None:
    """scenario.toml: the resolved scenario (no ``extends``, every catalogue entry written out).

    ``lifecircle run <out>/scenario.toml --seed <seed>`` reproduces the run's deterministic files.
    """
    (out / "scenario.toml").write_text(scenario_toml(scenario), encoding="utf-8")


# --------------------------------------------------------------------------- what a folder holds

# Every result folder lifecircle writes lists its files here (written last, with the folder's
# kind): the files of a later --overwrite it may remove, and the sign that a folder is a result.
MANIFEST = ".lifecircle-outputs.json"
COMPARISON_FILES = ("comparison.csv", "comparison.md", "groups.csv", "communities.csv")
SHOWN = 3  # files named in a refusal
_INSIDE_LEFTOVER = re.compile(r"\.partial-(\d+)")  # the work folder inside a target (see atomic)


class OutputError(Exception):
    """The finished outputs could not be put in place (the target appeared meanwhile, a rename failed)."""


def result_kind(folder: Path) -> str | None:
    """What lifecircle result ``folder`` is ("run", "comparison", ...), or None for any other folder.

    A folder written since results are written whole says so in its manifest; an older one is
    known by its run.json or comparison.csv.
    """
    manifest = _manifest(folder)
    if manifest is not None:
        return manifest["kind"]
    if (folder / "comparison.csv").is_file():
        return "comparison"
    if (folder / "run.json").is_file():
        return "run"
    return None


def outputs_in(folder: Path) -> tuple[str | None, set[str]]:
    """The kind of result in ``folder`` and its files (paths relative to it, with /), or (None, set()).

    The manifest's list, or for an older folder the files a run or a comparison writes (a
    comparison's runs are its sub-folders); a run cut short by older versions (scenario.toml and
    part of visits.csv, no run.json) counts as a run.
    """
    manifest = _manifest(folder)
    if manifest is not None:
        return manifest["kind"], set(manifest["files"])
    if (folder / "comparison.csv").is_file():
        names = [folder / n for n in COMPARISON_FILES] + sorted(folder.glob("sites_*.csv"))
        names += sorted((folder / "maps").glob("*.png"))
        names += sorted(p for p in (folder / "replicates").rglob("*") if p.is_file())  # compare --replicates
        for sub in sorted(p for p in folder.iterdir() if p.is_dir() and p.name not in ("maps", "replicates")):
            names += run_files_in(sub)
        return "comparison", {p.relative_to(folder).as_posix() for p in names if p.is_file()}
    found = run_files_in(folder)
    if found:
        return "run", {p.relative_to(folder).as_posix() for p in found}
    return None, set()


def _manifest(folder: Path) -> dict | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get("kind"), str) and isinstance(data.get("files"), list):
        return data
    return None


def files_in(folder: Path) -> list[str]:
    """Every file under ``folder`` (links too), relative with /, sorted; not the manifest nor a work folder."""
    found = []
    for here, dirs, names in os.walk(folder):
        top = Path(here) == folder
        if top:
            dirs[:] = [d for d in dirs if not _INSIDE_LEFTOVER.fullmatch(d)]
        names += [d for d in dirs if os.path.islink(os.path.join(here, d))]
        for name in names:
            if not (top and name == MANIFEST):
                found.append(Path(here, name).relative_to(folder).as_posix())
    return sorted(found)


def refusal(target: Path, overwrite: bool) -> str | None:
    """Why a command may not write its result folder at ``target``, or None.

    Refused: a target inside another result (a run's maps/, a comparison's run); a folder that
    holds files that are not lifecircle's outputs (even with ``--overwrite``, which replaces only
    a folder of outputs: the user's own files are never removed); an earlier result without
    ``overwrite``. A new folder, or an empty one, is always fine.
    """
    path = Path(target).resolve()
    inside = _inside_result(path, target)
    if inside:
        return inside
    if not path.is_dir():
        return None  # new (a file in the way is writable_folder's refusal)
    present = files_in(path)
    entries = [e for e in os.listdir(path) if not _INSIDE_LEFTOVER.fullmatch(e)]
    if not entries:
        return None
    kind, ours = outputs_in(path)
    if kind is None:
        shown = sorted(e + ("/" if (path / e).is_dir() else "") for e in entries)
        return f"{target} is a folder that holds other files ({_few(shown)}); choose a new or an empty folder"
    others = [p for p in present if p not in ours]
    if others:
        return (
            f"{target} holds a {kind} and files that are not lifecircle's ({_few(others)}); move them or choose"
            " another folder (--overwrite replaces only a folder of lifecircle's outputs)"
        )
    if not overwrite:
        return f"{target} already holds a {kind} ({_few(present)}); add --overwrite to replace it"
    return None


def file_refusal(target: Path, overwrite: bool, marker: str) -> str | None:
    """Why a command may not write the file ``target``, or None.

    Refused: a file inside a result folder; an existing file without ``overwrite``; an existing
    file whose first line does not start with ``marker`` (not one the command wrote) even with it.
    """
    path = Path(target).resolve()
    inside = _inside_result(path, target)
    if inside:
        return inside
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as fh:
            first = fh.readline(len(marker.encode()) + 1).decode("utf-8", "replace")
    except OSError as exc:
        return exc.strerror or str(exc)
    if not first.startswith(marker):
        return f"{target} exists and was not written by {marker.lstrip('# ')}; choose another file"
    if not overwrite:
        return f"{target} exists; add --overwrite to replace it"
    return None


def _inside_result(path: Path, target: Path) -> str | None:
    for above in path.parents:
        kind = result_kind(above)
        if kind:
            return f"{target} is inside the {kind} in {above}; choose a place outside it"
    return None


def _few(names: list[str]) -> str:
    names = names or [MANIFEST]  # a result whose files were all removed but its list
    return ", ".join(names[:SHOWN]) + (", ..." if len(names) > SHOWN else "")


# --------------------------------------------------------------------------- writing it whole


@contextmanager
def atomic(target: Path, kind: str) -> Iterator[Path]:
    """Write a result folder whole or not at all: yield the folder to write in, put it at ``target`` at the end.

    The work folder is ``.<name>.partial-<pid>`` beside the target; when the block ends it gets the
    manifest (:data:`MANIFEST`, the ``kind`` and every file) and is renamed to the target. An
    earlier result or an empty folder at the target (checked by :func:`refusal` before) is first
    renamed to ``.<name>.old-<pid>``, and removed once the new folder is in place: an error keeps
    it. When the target's folder cannot be written, or the target is a mount point (a container's
    volume) or the current folder, the work folder is ``<target>/.partial-<pid>`` and its files
    are moved into the target at the end, the earlier result's removed just before. An exception (Ctrl-C among them)
    and SIGTERM or SIGHUP (made to raise ``SystemExit(128 + signal)`` meanwhile) remove the work
    folder and the parents made for it. Leftovers of a killed process are removed first.

    Raises:
        OutputError: When the target appeared while the command ran, or the renames failed.
    """
    final = Path(target).resolve()
    made = _make_parents(final.parent)
    existed = os.path.lexists(final)
    inside = existed and final.is_dir() and _pinned(final)
    remove_leftovers(final)
    work = final / f".partial-{os.getpid()}" if inside else _work_name(final)
    aside = None
    with _terminate_raises():
        try:
            _remove(work)  # left by an earlier process that had this process's number
            work.mkdir()
            yield work
            _write_manifest(work, kind)
            with _signals_deferred():
                if inside:
                    _move_into(work, final)
                else:
                    aside = _rename_into_place(work, final, existed)
        except BaseException:
            with _signals_deferred():
                _remove(work)
                _remove_made(made)
            raise
    if aside is not None:
        _remove(aside)


# Files being written whole (atomic_file), final path -> work file: what reads them meanwhile
# (the run record's sha256 of a scenario proposed and simulated in one command) reads the work file
_STAGED: dict[Path, Path] = {}


def readable(path: Path) -> Path:
    """Where to read ``path`` now: its work file while a command writes it whole (:func:`atomic_file`), else itself."""
    return _STAGED.get(Path(path), Path(path))


@contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Write a file whole or not at all: yield ``.<stem>.partial-<pid><suffix>`` beside it, rename it at the end.

    The rename (``os.replace``) replaces an earlier file (checked by :func:`file_refusal`).
    Exceptions, SIGTERM and SIGHUP remove the work file and the parents made for it, as in
    :func:`atomic`. Until the rename, :func:`readable` of the target is the work file: what the
    command writes with the file (a run of the scenario it holds) records the target's path.
    """
    final = Path(target).resolve()
    made = _make_parents(final.parent)
    existed = os.path.lexists(final)
    remove_leftovers(final)
    work = _work_name(final)
    _STAGED[final] = work
    with _terminate_raises():
        try:
            yield work
            with _signals_deferred():
                if not existed and os.path.lexists(final):
                    raise OutputError(f"{target} was made by another program meanwhile; nothing written")
                try:
                    os.replace(work, final)
                except OSError as exc:
                    raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
        except BaseException:
            with _signals_deferred():
                _remove(work)
                _remove_made(made)
            raise
        finally:
            _STAGED.pop(final, None)


def _work_name(final: Path) -> Path:
    """``.<stem>.partial-<pid><suffix>`` beside ``final`` (a file keeps its suffix: a scenario stays a .toml)."""
    return final.with_name(f".{final.stem}.partial-{os.getpid()}{final.suffix}")


def _leftover(name: str, final: Path) -> tuple[str, int] | None:
    """("partial" or "old", pid) when ``name`` is a work or set-aside name of ``final``, else None."""
    pattern = rf"\.{re.escape(final.stem)}\.(partial|old)-(\d+){re.escape(final.suffix)}"
    found = re.fullmatch(pattern, name)
    return (found.group(1), int(found.group(2))) if found else None


def remove_leftovers(final: Path) -> list[Path]:
    """Remove what killed processes left of writing ``final``; return what was removed.

    Work folders and files (``.<name>.partial-<pid>`` beside it, ``.partial-<pid>`` inside it)
    of a process that no longer runs; a set-aside earlier result (``.<name>.old-<pid>``) only
    when the target is there (the new result was in place: only its removal was cut short). A
    set-aside result without a target (a kill between the two renames) is kept, for the user to
    rename back. Where no process can be asked whether it runs (not POSIX), nothing is removed.
    """
    removed = []
    candidates = []
    if final.parent.is_dir():
        candidates += [(final.parent / n, _leftover(n, final)) for n in os.listdir(final.parent)]
    if final.is_dir() and not final.is_symlink():
        for n in os.listdir(final):
            found = _INSIDE_LEFTOVER.fullmatch(n)
            candidates.append((final / n, ("partial", int(found.group(1))) if found else None))
    for path, found in candidates:
        if found is None or not _gone(found[1]):
            continue
        if found[0] == "old" and not os.path.lexists(final):
            continue
        _remove(path)
        removed.append(path)
    return removed


def _gone(pid: int) -> bool:
    """Whether the process ``pid`` no longer runs (this process's own number: a leftover of an earlier one)."""
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return False  # os.kill would end the process there, not ask about it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # another user's process
        return False
    return False


def _pinned(final: Path) -> bool:
    """Whether the folder ``final`` must stay: a mount point, in a folder we cannot write, or the current folder.

    The current folder (``--out .``) is the shell's too: renamed aside and removed, it would leave
    the shell in a folder that no longer exists.
    """
    here = Path.cwd().resolve()
    return os.path.ismount(final) or not os.access(final.parent, os.W_OK | os.X_OK) or here == final


def _make_parents(folder: Path) -> list[Path]:
    """Make ``folder`` and its missing parents; return the ones made, innermost first."""
    missing = []
    here = folder
    while not os.path.lexists(here):
        missing.append(here)
        here = here.parent
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def _remove_made(made: list[Path]) -> None:
    for folder in made:
        try:
            folder.rmdir()
        except OSError:
            return


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _write_manifest(work: Path, kind: str) -> None:
    data = {"kind": kind, "files": files_in(work)}
    (work / MANIFEST).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _rename_into_place(work: Path, final: Path, existed: bool) -> Path | None:
    """Rename ``work`` to ``final``, the earlier folder there first set aside; return where it was set aside."""
    if not os.path.lexists(final):
        _rename(work, final)
        return None
    if not existed:
        raise OutputError(f"{final} was made by another program meanwhile; nothing written")
    aside = final.with_name(f".{final.stem}.old-{os.getpid()}{final.suffix}")
    _remove(aside)
    _rename(final, aside)
    try:
        _rename(work, final)
    except BaseException:
        os.rename(aside, final)
        raise
    return aside


def _rename(source: Path, target: Path) -> None:
    try:
        os.rename(source, target)
    except OSError as exc:
        raise OutputError(f"cannot rename {source} to {target}: {exc.strerror or exc}") from None


def _move_into(work: Path, final: Path) -> None:
    """Inside a pinned target: remove the earlier result's entries, move the work folder's in, remove it."""
    for name in os.listdir(final):
        if final / name != work and not _INSIDE_LEFTOVER.fullmatch(name):
            _remove(final / name)
    for name in os.listdir(work):
        _rename(work / name, final / name)
    work.rmdir()


# --------------------------------------------------------------------------- signals

_ENDING = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _raise_exit(signum, frame) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def _terminate_raises() -> Iterator[None]:
    """SIGTERM and SIGHUP raise ``SystemExit(128 + signal)`` meanwhile: cleanup runs (their default ends at once).

    Only signals at their default (one that is ignored, as SIGHUP under nohup, stays ignored),
    and only on the main thread, the one Python runs handlers on.
    """
    installed = {}
    if threading.current_thread() is threading.main_thread():
        for sig in _ENDING:
            if signal.getsignal(sig) == signal.SIG_DFL:
                installed[sig] = signal.signal(sig, _raise_exit)
    try:
        yield
    finally:
        for sig, old in installed.items():
            signal.signal(sig, old)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP wait until the block ends (renames and removals are not cut in two), then act."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    held = {}
    for sig in (signal.SIGINT, *_ENDING):
        handler = signal.getsignal(sig)
        if handler not in (signal.SIG_IGN, None):
            held[sig] = signal.signal(sig, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for sig, old in held.items():
            signal.signal(sig, old)
        if caught:
            signal.raise_signal(caught[0])
