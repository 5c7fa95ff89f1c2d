"""Scenario files on disk: finding them, reading TOML, merging a file with the bases it ``extends``.

Also reads the built-in facility catalogue (model/catalogue.toml). The bundled scenarios are the
package data of ``model.bundled_scenarios`` (the repository's scenarios/ folder), found with
importlib.resources so that an installed wheel finds them as well as a checkout.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import Problem
from .schema import SCHEMA, check_shape, suggest

SCENARIO_DIR = Path(str(resources.files("model.bundled_scenarios")))
DEFAULT_SCENARIO = SCENARIO_DIR / "demo.toml"
LIST_SECTIONS = ("communities", "facilities")
# share and speed tables are replaced as a whole by a variant, so that they still sum to 1 (and
# the bands still fit together)
_REPLACED_WHOLE = ("groups", "ages", "m_per_min", "reduced_mobility")


@dataclass
class Entry:
    """A [[communities]] or [[facilities]] entry and where it was written.

    Attributes:
        data: The entry's keys and values.
        file: The name of the file that wrote it.
        index: Its position among the entries of its list in that file.

    """

    data: dict[str, Any]
    file: str
    index: int


@dataclass
class Raw:
    """Merged raw data of a scenario and its bases, with the origin of every value.

    Attributes:
        data: The merged tables (keys and shapes checked, values not yet).
        origin: Which file set each value: dotted key ("grid.width") -> file name.
        lists: The ``[[communities]]`` and ``[[facilities]]`` entries, merged.
        files: Resolved paths: the file itself first, then its base, the base's base, ...
        folders: The folder of the file that set each path value ("streets.nodes" -> folder):
            a path is relative to the file that gives it.

    """

    data: dict[str, Any]
    origin: dict[str, str]  # "grid.width" -> file name that set it
    lists: dict[str, list[Entry]]
    files: list[Path]  # resolved paths: the file itself first, then its base, the base's base, ...
    folders: dict[str, Path] = field(default_factory=dict)  # "streets.nodes" -> folder of the file that set it


def _read_toml(path: Path, referrer: tuple[str, str] | None, problems: list[Problem], given: str) -> dict | None:
    """Read one TOML file; on failure record a problem and return None.

    A base that cannot be read is reported at the ``extends`` key of the file naming it
    (``referrer``); the top-level file under the path as the user gave it (``given``).
    """
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        if referrer:
            problems.append(Problem(referrer[0], referrer[1], f"file not found: {path}"))
        else:
            problems.append(Problem(given, "", _not_found(given)))
        return None
    except OSError as exc:
        if referrer:
            problems.append(Problem(referrer[0], referrer[1], f"cannot read {path}: {exc.strerror or exc}"))
        elif isinstance(exc, IsADirectoryError) or _is_dir(path):
            problems.append(Problem(given, "", "is a folder, not a scenario file"))
        else:
            problems.append(Problem(given, "", f"cannot read file: {exc.strerror or exc}"))
        return None
    try:
        return tomllib.loads(text.decode("utf-8-sig"))  # -sig: tolerate the BOM some editors write
    except UnicodeDecodeError:
        problems.append(Problem(path.name, "", "not UTF-8 text"))
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        problems.append(Problem(path.name, "", "TOML syntax error: arrays or tables nested too deeply"))
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line = int(m.group(1)) if m else None
        if line is None and "end of document" in msg:
            line = text.count(b"\n") + 1
        problems.append(Problem(path.name, "", f"TOML syntax error: {msg}", line))
    return None


def merge_tables(base: dict, over: dict, origin: dict, file: str, path: str = "") -> None:
    """Merge ``over`` into ``base`` key by key, recording which file set each value.

    Share and speed tables are replaced whole, so that they still sum to 1 (and their bands fit).

    Args:
        base: The merged tables so far (changed in place).
        over: The tables of the file on top.
        origin: Dotted key -> file that set it (changed in place).
        file: The name of the file on top.
        path: The key path of ``base`` ("" for the whole file).

    """
    for key, value in over.items():
        kpath = f"{path}.{key}" if path else key
        if isinstance(value, dict) and isinstance(base.get(key), dict) and key not in _REPLACED_WHOLE:
            merge_tables(base[key], value, origin, file, kpath)
        else:
            base[key] = value
            origin[kpath] = file
            if isinstance(value, dict):
                _mark_origin(value, origin, file, kpath)


def _mark_origin(value: dict, origin: dict, file: str, path: str) -> None:
    for key, sub in value.items():
        origin[f"{path}.{key}"] = file
        if isinstance(sub, dict):
            _mark_origin(sub, origin, file, f"{path}.{key}")


def read_chain(
    path: Path, chain: tuple[Path, ...], referrer: tuple[str, str] | None, problems: list[Problem], given: str = ""
) -> Raw | None:
    """Read ``path`` and its ``extends`` bases into one merged :class:`Raw`.

    Each file's keys and value shapes are checked (:func:`~.schema.check_shape`) before it is
    merged on top of its base.

    Args:
        path: The file to read.
        chain: The files that led to it (a file that extends itself is a cycle); () at the top.
        referrer: (file, key) of the ``extends`` that names ``path``; None for the top-level file.
        problems: Where problems are recorded.
        given: The top-level path as the user gave it: its reading problems name it so.

    Returns:
        The merged data, or None when a file of the chain could not be read (recorded).

    """
    path = _resolved(path, referrer or (given, ""), problems)
    if path is None:
        return None
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        problems.append(Problem(chain[-1].name, "extends", f"extends cycle: {cycle}"))
        return None
    data = _read_toml(path, referrer, problems, given)
    if data is None:
        return None
    file = path.name
    check_shape(data, SCHEMA, "", file, problems)
    if "extends" in data:
        base = read_chain(path.parent / data["extends"], (*chain, path), (file, "extends"), problems)
        if base is None:
            return None
    else:
        base = Raw({}, {}, {k: [] for k in LIST_SECTIONS}, [])
    base.files.insert(0, path)
    base.data.pop("name", None)  # every file names itself; a base's name is not inherited
    tables = {k: v for k, v in data.items() if k not in LIST_SECTIONS and k != "extends"}
    merge_tables(base.data, tables, base.origin, file)
    for key in data.get("streets", {}):  # its paths are relative to this file's folder
        base.folders[f"streets.{key}"] = path.parent
    for section in LIST_SECTIONS:
        _merge_entries(base.lists[section], data.get(section, []), file)
    return base


def _resolved(path: Path, where: tuple[str, str], problems: list[Problem]) -> Path | None:
    """``path`` resolved, or None after recording why it cannot be (at ``where``: file, key)."""
    if "\x00" in str(path):  # the OS refuses such names; only an ``extends`` string can hold one
        problems.append(Problem(*where, "a file path must not contain a NUL character"))
        return None
    try:
        return path.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symbolic link loop (Python 3.11, 3.12)
        why = getattr(exc, "strerror", None) or exc
        problems.append(Problem(*where, f"cannot read {path}: {why}" if where[1] else f"cannot read file: {why}"))
        return None


def _merge_entries(entries: list[Entry], new: list[dict], file: str) -> None:
    """Append a file's entries of a list section to its base's, an entry named as one of the base's replacing it."""
    n_base, replaced = len(entries), set()
    for i, entry in enumerate(new):
        name = entry.get("name")
        # only an entry of a base is replaced: a name used twice in this file is reported later
        same = [j for j in range(n_base) if name is not None and entries[j].data.get("name") == name]
        if same and same[0] not in replaced:
            entries[same[0]] = Entry(entry, file, i)
            replaced.add(same[0])
        else:
            entries.append(Entry(entry, file, i))


def load_catalogue() -> dict[str, dict]:
    """Read the built-in facility catalogue (model/catalogue.toml) as plain tables."""
    with resources.files("model").joinpath("catalogue.toml").open("rb") as fh:
        return tomllib.load(fh)


def bundled_scenarios() -> dict[str, Path]:
    """Return the bundled scenarios: name -> file, sorted by name.

    These are the top-level ``*.toml`` files of the bundled folder; the parts they extend
    (parts/) are not scenarios by themselves.
    """
    files = sorted(SCENARIO_DIR.glob("*.toml"), key=lambda p: p.stem)
    return {p.stem: p for p in files if p.is_file()}


def resolve_scenario_path(name: str | Path | None) -> Path:
    """Find a scenario file.

    Args:
        name: None for the bundled default (demo); an existing file; or a bare name ("demo") or
            file name ("demo.toml") without a folder, for the bundled scenario of that name.

    Returns:
        The file found, or ``name`` as a path when there is none (reading it reports the problem).

    """
    if name is None:
        return DEFAULT_SCENARIO
    path = Path(name)
    if _is_file(path):
        return path
    if _is_bare(str(name)):
        found = bundled_scenarios().get(_stem(str(name)))
        if found is not None:
            return found
    return path


def _is_bare(name: str) -> bool:
    """Whether ``name`` is a file name without any folder part ("demo", not "./demo")."""
    return bool(name) and Path(name).name == name


def _stem(name: str) -> str:
    """The scenario name a file name stands for: "demo" for "demo" and "demo.toml"."""
    return name.removesuffix(".toml")


def _not_found(given: str) -> str:
    """Say that the top-level file ``given`` does not exist, suggesting a bundled scenario if one is close."""
    names = list(bundled_scenarios())
    if _is_bare(given):
        hint = suggest(_stem(given), names)
        return f"no such file, and no bundled scenario of that name{hint}; `lifecircle scenarios` lists them"
    close = difflib.get_close_matches(_stem(Path(given).name), names, n=1, cutoff=0.6)
    return f"file not found (did you mean the bundled scenario '{close[0]}'?)" if close else "file not found"


def _is_file(path: Path) -> bool:
    """Whether ``path`` is an existing file; False for names the OS refuses (too long, NUL characters)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _is_dir(path: Path) -> bool:
    """Whether ``path`` is an existing folder; False for names the OS refuses."""
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False
