"""The scenario folder of an imported place: ``scenario.toml`` and ``streets/*.csv`` (docs/streets.md).

The folder is written whole or not at all: into a temporary folder beside it, renamed at the end
(:func:`write_folder`). Files are byte-for-byte the same for the same input: rows sorted, numbers
rounded (metres to 0.01 m, longitude and latitude to 7 decimals, about 1 cm), no time stamps and no
absolute paths.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
import shutil
import tempfile
import textwrap
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.scenario import SCENARIO_DIR

from .build import Built, counted

STREETS_FOLDER = "streets"
FILES = ("nodes", "edges", "homes", "facilities", "gates")
ASSUMED_PARTS = "parts/inner_mongolia.toml"
"""The bundled file whose population and walking tables an imported scenario copies, as assumptions."""
OSM_COPYRIGHT = "© OpenStreetMap contributors, ODbL (https://www.openstreetmap.org/copyright)"

_COLUMNS = {
    "nodes": ["node_id", "x_m", "y_m", "lon", "lat"],
    "edges": ["u", "v", "length_m", "way_id", "highway", "feature"],
    "homes": [
        "home_id", "community", "x_m", "y_m", "floor_m2", "lon", "lat",
        "osm_id", "osm_type", "building", "levels", "levels_assumed",
    ],
    "facilities": ["type", "name", "x_m", "y_m", "capacity", "lon", "lat", "osm_id", "osm_type"],
    "gates": ["community", "x_m", "y_m", "lon", "lat", "osm_id", "tag"],
}  # fmt: skip
"""Each file's columns in order: docs/streets.md's first, then those for readers (when the source has them)."""

_DECIMALS = {"x_m": 2, "y_m": 2, "length_m": 2, "floor_m2": 2, "lon": 7, "lat": 7}
_INTEGERS = ("node_id", "u", "v", "way_id", "feature", "home_id", "osm_id", "capacity")


@dataclass(frozen=True)
class Header:
    """What the scenario file's comment says beside the tables.

    Attributes:
        command: The command as run, for the first line ("lifecircle import osm Helsinki.osm.pbf ...").
        kind: "osm" or "gis".
        inputs: Every input file read (its name and sha256 are written).
        real: Lines on what is real (the source's).
        assumed: Lines on what the source's reading assumed.

    """

    command: str
    kind: str
    inputs: tuple[Path, ...]
    real: tuple[str, ...]
    assumed: tuple[str, ...] = ()


# --------------------------------------------------------------------------- CSV


def _cell(value: Any, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if column in _DECIMALS:
        text = f"{float(value):.{_DECIMALS[column]}f}"
        return "0.00" if text == "-0.00" else text
    if column in _INTEGERS:
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return str(value)


def csv_text(table: pd.DataFrame, kind: str) -> str:
    """One data file's text: its columns (those the table has) in order, a header row, Unix line ends."""
    columns = [c for c in _COLUMNS[kind] if c in table.columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in zip(*(table[c].tolist() for c in columns), strict=True):
        writer.writerow([_cell(v, c) for v, c in zip(row, columns, strict=True)])
    return out.getvalue()


# --------------------------------------------------------------------------- TOML


def toml_value(value: Any) -> str:
    """A TOML value: strings in double quotes (JSON's escapes are TOML's), inline tables, arrays."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def toml_key(key: str) -> str:
    """A bare key when it is a word (``han``), else a quoted one (``"0-9"``, as the bundled files write age bands)."""
    return key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else json.dumps(key, ensure_ascii=False)


def _comment(lines: list[str], text: str, indent: str = "") -> None:
    """``text`` as comment lines of at most about 100 characters (a continuation indented two more)."""
    for line in text.splitlines() or [""]:
        wrapped = textwrap.wrap(line, width=98 - len(indent), break_on_hyphens=False, break_long_words=False)
        for i, part in enumerate(wrapped or [""]):
            lines.append(f"# {indent}{'  ' if i else ''}{part}".rstrip())


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def assumed_tables() -> dict[str, dict[str, Any]]:
    """The [population] and [walking] tables of :data:`ASSUMED_PARTS`, as read."""
    with open(SCENARIO_DIR / ASSUMED_PARTS, "rb") as fh:
        data = tomllib.load(fh)
    return {section: data[section] for section in ("population", "walking")}


def _header(built: Built, header: Header) -> list[str]:
    lines: list[str] = []
    c = built.counts
    _comment(lines, f"{built.name}: a real place, imported by `{header.command}` (docs/places.md).")
    _comment(lines, "Rebuild it with the same command; the streets/ files are data, read by the scenario loader.")
    lines.append("#")
    source = f"OpenStreetMap, {OSM_COPYRIGHT}" if header.kind == "osm" else "the planner's GIS layers"
    _comment(lines, f"REAL, from {source}:")
    for path in header.inputs:
        _comment(lines, f"{Path(path).name} (sha256 {_sha256(path)})", "  ")
    for line in header.real:
        _comment(lines, line, "  ")
    _comment(
        lines,
        f"network kept: {len(built.nodes):,} nodes and {len(built.edges):,} edges, the largest connected part; "
        f"dropped: {c['edges_fenced']:,} edges that cross a fence or wall away from a gate, then "
        f"{c['nodes_small_parts']:,} nodes and {c['edges_small_parts']:,} edges of {c['parts'] - 1:,} smaller parts",
        "  ",
    )
    _comment(
        lines,
        f"kept: {counted(len(built.homes), 'home')} in {counted(len(built.communities), 'community', 'communities')}, "
        f"{len(built.facilities):,} facilities, {len(built.gates):,} gates",
        "  ",
    )
    for note in built.notes:
        _comment(lines, note, "  ")
    lines.append("#")
    _comment(lines, "ASSUMED:")
    residents = sum(r for _, r in built.communities)
    _comment(lines, f"residents: {built.population_words}; {residents:,} in all", "  ")
    _comment(
        lines,
        "shared over communities in proportion to their homes' floor area (largest remainders), and within a "
        "community over its homes by floor area (docs/streets.md)",
        "  ",
    )
    _comment(
        lines,
        f"groups, ages, mixing and walking paces: copied from scenarios/{ASSUMED_PARTS} (Inner Mongolia's 2020 "
        "census ages, assumed group shares and paces; its comments give the sources): not figures of this place",
        "  ",
    )
    for line in header.assumed:
        _comment(lines, line, "  ")
    _comment(lines, "facility capacities: the catalogue's defaults (model/catalogue.toml)", "  ")
    return lines


def scenario_text(built: Built, header: Header) -> str:
    """The scenario file: the header comment, name, description, [streets], the assumed tables, communities."""
    lines = _header(built, header)
    residents = sum(r for _, r in built.communities)
    origin = "OpenStreetMap" if header.kind == "osm" else "GIS layers"
    description = (
        f"Imported from {origin} ({Path(header.inputs[0]).name}): real streets and buildings; "
        f"{residents:,} residents assumed"
    )
    lines += ["", f"name = {toml_value(built.name)}", f"description = {toml_value(description)}", "", "[streets]"]
    lines.append(f'crs = "EPSG:{built.epsg}"   # WGS84 / UTM, the zone of the centre: metres east and north')
    for kind in FILES:
        lines.append(f'{kind} = "{STREETS_FOLDER}/{kind}.csv"')
    for section, table in assumed_tables().items():
        lines += ["", f"[{section}]", f"# ASSUMPTION: every value copied from scenarios/{ASSUMED_PARTS}"]
        lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items()]
    homes = built.homes.groupby("community")["floor_m2"].agg(["size", "sum"])
    for name, count in built.communities:
        n, floor = int(homes.loc[name, "size"]), float(homes.loc[name, "sum"])
        homes_word = "1 home" if n == 1 else f"{n:,} homes"
        lines += ["", "[[communities]]", f"# {homes_word}, {floor:,.0f} m² of floor area"]
        lines += [f"name = {toml_value(name)}", f"residents = {count}"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the folder


def folder_files(built: Built, header: Header) -> dict[str, str]:
    """Every file of the scenario folder: relative path -> text."""
    tables = {
        "nodes": built.nodes,
        "edges": built.edges,
        "homes": built.homes,
        "facilities": built.facilities,
        "gates": built.gates,
    }
    files = {"scenario.toml": scenario_text(built, header)}
    for kind, table in tables.items():
        files[f"{STREETS_FOLDER}/{kind}.csv"] = csv_text(table, kind)
    return files


def write_folder(target: Path, files: dict[str, str]) -> None:
    """Write the files into a new folder ``target`` whole or not at all.

    They go into a temporary folder beside ``target`` first, renamed to ``target`` at the end; on
    any failure the temporary folder is removed. ``target`` must not exist, or be an empty folder.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        for relative, text in files.items():
            path = tmp / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
        os.chmod(tmp, 0o777 & ~_umask())
        if target.is_dir():
            target.rmdir()  # empty: checked before; an entry appearing since makes this fail, and nothing is lost
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
