"""Scenario files on disk: finding them, reading TOML, merging a file with the bases it ``extends``.

Also reads the built-in facility catalogue (model/catalogue.toml). The bundled scenarios are the
package data of ``model.bundled_scenarios`` (the repository's scenarios/ folder), found with
importlib.resources so that an installed wheel finds them as well as a checkout.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import Problem
from .schema import _SCHEMA, _check_shape, _suggest

SCENARIO_DIR = Path(str(resources.files("model.bundled_scenarios")))
DEFAULT_SCENARIO = SCENARIO_DIR / "demo.toml"
LIST_SECTIONS = ("communities", "facilities")
# share and speed tables are replaced as a whole by a variant, so that they still sum to 1 (and
# the bands still fit together)
_REPLACED_WHOLE = ("groups", "ages", "m_per_min", "reduced_mobility")


@dataclass
class _Entry:
    """A [[communities]] or [[facilities]] entry and where it was written."""

    data: dict[str, Any]
    file: str
    index: int


@dataclass
class _Raw:
    """Merged raw data of a scenario and its bases, with the origin of every value."""

    data: dict[str, Any]
    origin: dict[str, str]  # "grid.width" -> file name that set it
    lists: dict[str, list[_Entry]]
    files: list[Path]  # resolved paths: the file itself first, then its base, the base's base, ...


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


def _merge_tables(base: dict, over: dict, origin: dict, file: str, path: str = "") -> None:
    """Merge ``over`` into ``base`` key by key, recording which file set each value."""
    for key, value in over.items():
        kpath = f"{path}.{key}" if path else key
        if isinstance(value, dict) and isinstance(base.get(key), dict) and key not in _REPLACED_WHOLE:
            _merge_tables(base[key], value, origin, file, kpath)
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


def _read_chain(
    path: Path, chain: tuple[Path, ...], referrer: tuple[str, str] | None, problems: list[Problem], given: str = ""
) -> _Raw | None:
    """Read ``path`` and its ``extends`` bases into one merged :class:`_Raw`.

    ``referrer`` is (file, key) of the ``extends`` that names ``path``, None for the top-level
    file, whose reading problems name it ``given`` (the path as the user gave it).
    """
    where = referrer or (given, "")
    if "\x00" in str(path):  # the OS refuses such names; only an ``extends`` string can hold one
        problems.append(Problem(*where, "a file path must not contain a NUL character"))
        return None
    try:
        path = path.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symbolic link loop (Python 3.11, 3.12)
        why = getattr(exc, "strerror", None) or exc
        problems.append(Problem(*where, f"cannot read {path}: {why}" if referrer else f"cannot read file: {why}"))
        return None
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        problems.append(Problem(chain[-1].name, "extends", f"extends cycle: {cycle}"))
        return None
    data = _read_toml(path, referrer, problems, given)
    if data is None:
        return None
    file = path.name
    _check_shape(data, _SCHEMA, "", file, problems)
    base: _Raw | None = None
    if "extends" in data:
        base = _read_chain(path.parent / data["extends"], (*chain, path), (file, "extends"), problems)
        if base is None:
            return None
    if base is None:
        base = _Raw({}, {}, {k: [] for k in LIST_SECTIONS}, [])
    base.files.insert(0, path)
    base.data.pop("name", None)  # every file names itself; a base's name is not inherited
    tables = {k: v for k, v in data.items() if k not in LIST_SECTIONS and k != "extends"}
    _merge_tables(base.data, tables, base.origin, file)
    for section in LIST_SECTIONS:
        entries = base.lists[section]
        n_base, replaced = len(entries), set()
        for i, entry in enumerate(data.get(section, [])):
            new = _Entry(entry, file, i)
            name = entry.get("name")
            # only an entry of a base is replaced: a name used twice in this file is reported later
            same = [j for j in range(n_base) if name is not None and entries[j].data.get("name") == name]
            if same and same[0] not in replaced:
                entries[same[0]] = new
                replaced.add(same[0])
            else:
                entries.append(new)
    return base


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
        hint = _suggest(_stem(given), names)
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
