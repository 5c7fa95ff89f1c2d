"""Scenario files on disk: finding them, reading TOML, merging a file with the bases it ``extends``.

Also reads the built-in facility catalogue (model/catalogue.toml).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import Problem
from .schema import _SCHEMA, _check_shape

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_DIR = ROOT / "scenarios"
DEFAULT_SCENARIO = SCENARIO_DIR / "demo.toml"
LIST_SECTIONS = ("communities", "facilities")
# share and speed tables are replaced as a whole by a variant, so that they still sum to 1
_REPLACED_WHOLE = ("groups", "ages", "m_per_min")


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


def _read_toml(path: Path, referrer: tuple[str, str] | None, problems: list[Problem]) -> dict | None:
    """Read one TOML file; on failure record a problem and return None."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        if referrer:
            problems.append(Problem(referrer[0], referrer[1], f"file not found: {path}"))
        else:
            problems.append(Problem(path.name, "", "file not found"))
        return None
    except OSError as exc:
        if referrer:
            problems.append(Problem(referrer[0], referrer[1], f"cannot read {path}: {exc.strerror or exc}"))
        else:
            problems.append(Problem(path.name, "", f"cannot read file: {exc.strerror or exc}"))
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


def _read_chain(path: Path, chain: tuple[Path, ...], referrer, problems: list[Problem]) -> _Raw | None:
    """Read ``path`` and its ``extends`` bases into one merged :class:`_Raw`."""
    if "\x00" in str(path):  # the OS refuses such names; only an ``extends`` string can hold one
        problems.append(Problem(*(referrer or (path.name, "")), "a file path must not contain a NUL character"))
        return None
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        problems.append(Problem(chain[-1].name, "extends", f"extends cycle: {cycle}"))
        return None
    data = _read_toml(path, referrer, problems)
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
        base = _Raw({}, {}, {k: [] for k in LIST_SECTIONS})
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


def resolve_scenario_path(name: str | Path | None) -> Path:
    """Find a scenario file: the bundled default for None, a bundled file for a bare name."""
    if name is None:
        return DEFAULT_SCENARIO
    path = Path(name)
    if _exists(path):
        return path
    if not path.suffix and _exists(SCENARIO_DIR / f"{path}.toml"):
        return SCENARIO_DIR / f"{path}.toml"
    if path.parent == Path(".") and _exists(SCENARIO_DIR / path.name):
        return SCENARIO_DIR / path.name
    return path


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; False for names the OS refuses (too long, NUL characters)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False
