"""Scenario files on disk: finding them, reading TOML, merging a file with the bases it ``extends``.

A base is a file relative to the folder of the file that names it or, when there is no such file,
a bundled scenario by name (:func:`base_path`). A ``[[facilities]]`` entry replaces the base's
facility of its ``name``, or the one it names in ``replaces`` (an unknown name there is a
problem; a new name close to one of the base's, a warning).

Also reads the built-in facility catalogue (model/catalogue.toml). The bundled scenarios are the
package data of ``model.bundled_scenarios`` (the repository's scenarios/ folder), found with
importlib.resources so that an installed wheel finds them as well as a checkout.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import Problem, ScenarioError
from .reading import Unreadable, parse_toml, read_toml_bytes
from .reading import is_file as _is_file
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
        warnings: Warnings found while merging: an entry whose new name is close to a name of
            the base (a move that a typo turned into an addition?).

    """

    data: dict[str, Any]
    origin: dict[str, str]  # "grid.width" -> file name that set it
    lists: dict[str, list[Entry]]
    files: list[Path]  # resolved paths: the file itself first, then its base, the base's base, ...
    folders: dict[str, Path] = field(default_factory=dict)  # "streets.nodes" -> folder of the file that set it
    warnings: list[Problem] = field(default_factory=list)  # found while merging (a name close to a base's)


def _read_toml(path: Path, referrer: tuple[str, str] | None, problems: list[Problem], given: str) -> dict | None:
    """Read one TOML file (:mod:`.reading`: regular files only, any bytes); on failure record a problem and return None.

    A base that cannot be read is reported at the ``extends`` key of the file naming it
    (``referrer``); the top-level file under the path as the user gave it (``given``).
    """
    data = read_toml_bytes(path)
    if isinstance(data, Unreadable):
        if referrer:
            problems.append(Problem(referrer[0], referrer[1], data.about()))
        elif data.why == "missing":
            problems.append(Problem(given, "", _not_found(given)))
        elif data.why == "folder":
            problems.append(Problem(given, "", "is a folder, not a scenario file"))
        else:
            problems.append(Problem(given, "", data.message))
        return None
    tables, found = parse_toml(data, path.name)
    problems.extend(found)
    return tables


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
        found = base_path(path.parent, data["extends"])
        if found is None:
            problems.append(Problem(file, "extends", _base_not_found(path.parent, data["extends"])))
            return None
        base = read_chain(found, (*chain, path), (file, "extends"), problems)
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
    _merge_entries(base.lists["communities"], data.get("communities", []), file)
    # an unnamed facility of a base is known by its generated name only on a grid (on streets the
    # facilities file's rows, read later, are numbered first)
    _merge_facilities(base, data.get("facilities", []), file, problems, generated="streets" not in base.data)
    return base


def base_path(folder: Path, extends: str) -> Path | None:
    """The file an ``extends`` value names: a file beside the referring file, else a bundled scenario.

    A path relative to ``folder`` (the referring file's folder) is taken when such a file exists;
    otherwise a bare name ("wuhai_life_circle" or "wuhai_life_circle.toml", no folder part) is the
    bundled scenario of that name, as ``lifecircle run NAME`` finds it. A name the OS refuses (a
    NUL character, too long) is kept as a path: reading it reports why.

    Args:
        folder: The folder of the file that holds the ``extends``.
        extends: Its value.

    Returns:
        The base file, or None when there is neither such a file nor such a bundled scenario.

    """
    path = folder / extends
    if _is_file(path) or "\x00" in extends:
        return path
    if _is_bare(extends):
        found = bundled_scenarios().get(_stem(extends))
        if found is not None:
            return found
    if _is_dir(path) or _exists(path) is not False:
        return path  # a folder, or a path that cannot be looked at: reading it says what is wrong
    return None


def _base_not_found(folder: Path, extends: str) -> str:
    """Say that an ``extends`` names no file and no bundled scenario, with the closest bundled names."""
    names = list(bundled_scenarios())
    close = difflib.get_close_matches(_stem(Path(extends).name), names, n=3, cutoff=0.6)
    hint = f" (did you mean the bundled {' or '.join(repr(n) for n in close)}?)" if close else ""
    path = os.path.normpath(folder / extends)
    if not _is_bare(extends):
        return f"file not found: {path}{hint}"
    return f"no file {path} and no bundled scenario {_stem(extends)!r}{hint}; `lifecircle scenarios` lists them"


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


def _merge_entries(
    entries: list[Entry],
    new: list[dict],
    file: str,
    indexes: Sequence[int] | None = None,
    skip: set[int] | None = None,
) -> None:
    """Append a file's entries of a list section to its base's, an entry named as one of the base's replacing it.

    Args:
        entries: The base's entries (changed in place).
        new: The file's entries.
        file: The file's name.
        indexes: Each new entry's position in its list in the file (default: 0, 1, ...).
        skip: Base entries replaced already (by ``replaces``): a same name is then a second entry.

    """
    n_base, replaced = len(entries), set(skip or ())
    for i, entry in zip(range(len(new)) if indexes is None else indexes, new, strict=True):
        name = entry.get("name")
        # only an entry of a base is replaced: a name used twice in this file is reported later
        same = [j for j in range(n_base) if name is not None and entries[j].data.get("name") == name]
        if same and same[0] not in replaced:
            entries[same[0]] = Entry(entry, file, i)
            replaced.add(same[0])
        else:
            entries.append(Entry(entry, file, i))


def facility_names(types: Sequence[object], names: Sequence[str | None]) -> list[str]:
    """The name of each facility: its own, or "<type> <n>" for an unnamed one.

    n is the facility's position among those of its type, in order; if a facility was given
    that name explicitly, the next free number, so that names stay unique.

    Args:
        types: Each facility's type.
        names: Each facility's own name; None or "" for an unnamed one.

    Returns:
        The names, in order.

    """
    counts: dict[object, int] = {}
    taken = {n for n in names if n}
    out = []
    for ftype, name in zip(types, names, strict=True):
        counts[ftype] = counts.get(ftype, 0) + 1
        if name:
            out.append(name)
            continue
        n = counts[ftype]
        while f"{ftype} {n}" in taken:
            n += 1
        taken.add(f"{ftype} {n}")
        out.append(f"{ftype} {n}")
    return out


def _merge_facilities(base: Raw, new: list[dict], file: str, problems: list[Problem], generated: bool) -> None:
    """Merge a file's ``[[facilities]]`` into its base's: ``replaces`` and same names replace, others append.

    An entry with ``replaces`` takes the place of the base's facility of that name (a generated
    name, "park 2", too when ``generated``), with that facility's values for the keys it does not
    give, its name included: a problem if no facility of the base has the name (with the closest
    names), or if another entry of the file replaces it already. An entry without ``replaces``
    is merged as a community entry is (:func:`_merge_entries`); if its name is new but close to
    a name of the base (not only in its numbers), a warning asks whether a move was meant.
    """
    entries = base.lists["facilities"]
    n_base = len(entries)
    own = [e.data.get("name") for e in entries]
    names = facility_names([e.data.get("type") for e in entries], own) if generated else own
    replaced: dict[int, int] = {}  # base entry -> the entry of this file that replaces it
    plain = []
    for i, entry in enumerate(new):
        target = entry.get("replaces")
        if target is None:
            plain.append((i, entry))
            continue
        key = f"facilities[{i}].replaces"
        j = next((j for j in range(n_base) if names[j] == target), None)
        if j is None:
            problems.append(Problem(file, key, _no_such_facility(target, names, n_base, generated)))
        elif j in replaced:
            problems.append(Problem(file, key, f"facility {target!r} is replaced already by facilities[{replaced[j]}]"))
        else:
            replaced[j] = i
            merged = {**entries[j].data, "name": target, **{k: v for k, v in entry.items() if k != "replaces"}}
            entries[j] = Entry(merged, file, i)
    base_names = [n for n in names if n]
    for i, entry in plain:
        name = entry.get("name")
        if name is None or name in own:
            continue
        if name in names:  # the generated name of an unnamed facility of the base
            base.warnings.append(Problem(file, f"facilities[{i}].name", _generated_name(name)))
        else:
            _warn_close_name(base, name, base_names, file, i)
    _merge_entries(entries, [e for _, e in plain], file, [i for i, _ in plain], skip=set(replaced))


def _no_such_facility(target: str, names: list, n_base: int, generated: bool) -> str:
    """Say that no facility of the base is named ``target``, with the closest names."""
    streets = (
        ""
        if generated
        else " (on streets only a base's named [[facilities]] entries can be replaced, not rows of its facilities file)"
    )
    if not n_base:
        return f"replaces names a facility of a base, but the files below this one have no [[facilities]]{streets}"
    close = difflib.get_close_matches(target, [n for n in names if n], n=3, cutoff=0.6)
    hint = f" (did you mean {' or '.join(repr(n) for n in close)}?)" if close else ""
    return f"no facility of the base is named {target!r}{hint}{streets}"


def _generated_name(name: str) -> str:
    """The warning for a new entry given the generated name of an unnamed facility of the base: it adds one."""
    return (
        f"{name!r} is the generated name of an unnamed facility of the base: this entry adds a facility "
        f"of that name and the base's is renamed; to move it, replaces = {name!r}"
    )


def _letters(name: str) -> str:
    """``name`` without digits, spaces and punctuation: what tells a new facility from a numbered sibling."""
    return re.sub(r"[\d\W_]+", "", name)


def _warn_close_name(base: Raw, name: str, base_names: list[str], file: str, i: int) -> None:
    """Warn if a new facility name is close to one of the base's: a move that a typo made an addition?

    Names that differ only in their numbers, spaces or punctuation ("Canteen 2" beside "Canteen 1",
    "park added 1 (2)" beside "park added 1") are new facilities.
    """
    close = difflib.get_close_matches(name, base_names, n=1, cutoff=0.8)
    if not close or _letters(close[0]) == _letters(name):
        return
    base.warnings.append(
        Problem(
            file,
            f"facilities[{i}].name",
            f"no facility of the base is named {name!r}, so this entry adds a facility; did you mean "
            f"{close[0]!r}? To move that one, give its name exactly, or replaces = {close[0]!r} (which is checked)",
        )
    )


def load_catalogue() -> dict[str, dict]:
    """Read the built-in facility catalogue (model/catalogue.toml) as plain tables.

    Raises:
        ScenarioError: If the installed file cannot be read or is not good TOML (:mod:`.reading`).
    """
    path = Path(str(resources.files("model").joinpath("catalogue.toml")))
    data = read_toml_bytes(path)
    if isinstance(data, Unreadable):
        raise ScenarioError([Problem(str(path), "", data.message)])
    tables, problems = parse_toml(data, path.name)
    if tables is None:
        raise ScenarioError(problems)
    return tables


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


def _exists(path: Path) -> bool | None:
    """Whether anything exists at ``path``; None for names the OS refuses to look at (too long)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return None


def _is_dir(path: Path) -> bool:
    """Whether ``path`` is an existing folder; False for names the OS refuses."""
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False
