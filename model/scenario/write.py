"""Write a loaded scenario back as one TOML file: every value resolved, nothing inherited.

:func:`scenario_toml` is the inverse of :func:`~model.scenario.load_scenario`: loading the text
it returns gives a scenario equal to the one written (and with its types, communities and
facilities in the same order). A run writes it, so that its results folder says exactly what
was simulated, whatever the scenario file ``extends`` and whatever the catalogue held then.

A street scenario's data files are not copied: its ``[streets]`` table names them by absolute
path (``Streets.digest`` in run.json says which contents were read), or by their path relative to
the written file's folder for a file that should move with them (the page's saved plans), and
the facilities of its facilities file stay there. :func:`extend_toml` names its base so that the
file can be moved: a bundled scenario by name, any other file by a relative path.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tomli_w

from .errors import Problem
from .fields import type_entry
from .files import SCENARIO_DIR, base_path, bundled_scenarios, read_chain
from .kinds import AgeBand, format_time
from .spec import FacilitySite, Scenario


def _bands(table: dict[AgeBand, float]) -> dict[str, float]:
    return {str(band): value for band, value in table.items()}


def _data_file(path: Path, folder: Path | None) -> str:
    """A street data file as the written ``[streets]`` table names it.

    By absolute path without ``folder``; with one, relative to it (forward slashes), unless the
    file is bundled with the package (a relative path into an installation breaks when the file is
    moved) or lies on another drive.
    """
    if folder is None or Path(path).resolve().is_relative_to(SCENARIO_DIR.resolve()):
        return str(path)
    try:
        return Path(os.path.relpath(Path(path).resolve(), folder)).as_posix()
    except ValueError:  # another drive (Windows)
        return str(path)


def _place(s: Scenario, folder: Path | None = None) -> tuple[str, dict[str, Any]]:
    """("grid", its table) or ("streets", its table, the data files as :func:`_data_file` names them)."""
    if s.streets is None:
        grid: dict[str, Any] = {"width": s.grid.width, "height": s.grid.height, "cell_m": s.grid.cell_m}
        if s.grid.origin is not None:  # only when given: no origin is not a value TOML can write
            grid["origin"] = list(s.grid.origin)
        grid["blocked"] = [list(r) for r in s.grid.blocked]
        return "grid", grid
    files = dict(zip(s.streets.file_keys, s.streets.files, strict=True))
    return "streets", {"crs": s.streets.crs, **{key: _data_file(path, folder) for key, path in files.items()}}


def _facility(f: FacilitySite, on_streets: bool) -> dict[str, Any]:
    """A ``[[facilities]]`` entry: ``at`` a cell on the grid, ``at_m`` metres on streets."""
    at = {"at_m": [float(f.x), float(f.y)]} if on_streets else {"at": [f.x, f.y]}
    entry = {"type": f.type, **at, "capacity": f.capacity, "name": f.name}
    if f.osm_id is not None:
        entry["osm_id"] = f.osm_id
    return entry


def _facilities(s: Scenario, place: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``[[facilities]]`` entries; on streets those not left in the facilities file.

    The facilities file's rows stay in the file when the scenario's facilities still start with
    them unchanged; otherwise (a facility of the file removed or changed) every facility is
    written as an entry and the ``[streets]`` table (``place``, changed) names no facilities file.
    """
    if s.streets is None:
        return [_facility(f, False) for f in s.facilities]
    kept = s.streets.file_facilities
    if "facilities" in place and tuple(s.facilities[: len(kept)]) == kept:
        return [_facility(f, True) for f in s.facilities[len(kept) :]]
    place.pop("facilities", None)
    return [_facility(f, True) for f in s.facilities]


def _data(s: Scenario, folder: Path | None = None) -> dict[str, Any]:
    """The scenario as the tables of a scenario file, without ``extends``."""
    sim = s.simulation
    communities = []
    for com in s.communities:
        entry: dict[str, Any] = {"name": com.name}
        if com.area is not None:  # none on streets
            entry["area"] = list(com.area)
        entry["residents"] = com.residents
        if com.groups is not None:
            entry["groups"] = dict(com.groups)
        if com.gates is not None:  # only when given: without, the default gate is a rule, not a value
            entry["gates"] = [list(cell) for cell in com.gates]
        communities.append(entry)
    key, place = _place(s, folder)
    return {
        "name": s.name,
        "description": s.description,
        "seed": s.seed,
        key: place,
        "population": {"groups": dict(s.groups), "ages": _bands(s.ages), "mixing": s.mixing},
        "walking": {
            "m_per_min": _bands(s.speeds),
            "pace_cv": s.pace.cv,
            "pace_limits": list(s.pace.limits),
            "reduced_mobility": _bands(s.pace.reduced_mobility),
            "reduced_pace": s.pace.reduced_pace,
        },
        "simulation": {
            "tick_min": sim.tick_min,
            "day_start": format_time(sim.day_start_min),
            "day_end": format_time(sim.day_end_min),
            "cutoff_min": sim.cutoff_min,
            "block_m": sim.block_m,
            "contact_min": sim.contact_min,
            "first_weekday": sim.first_weekday,
            "reference_m_per_min": sim.reference_m_per_min,
            "learning": sim.learning,
            "learning_penalty_min": sim.learning_penalty_min,
        },
        "households": {
            "on": s.households.on,
            "escort": s.households.escort,
            "compositions": dict(s.households.compositions),
            "adult_age": s.households.adult_age,
            "elder_age": s.households.elder_age,
            "two_children": s.households.two_children,
            "two_grandparents": s.households.two_grandparents,
        },
        "communities": communities,
        "facilities": _facilities(s, place),
        # every type, the catalogue's too: the file does not depend on the catalogue it is read with
        "facility_types": {tid: type_entry(t) for tid, t in s.types.items()},
    }


def _comment(text: str) -> str:
    """``text`` made safe for a TOML comment (which must not hold control characters)."""
    return re.sub(r"[\x00-\x08\x0a-\x1f\x7f]", "?", text)


@functools.cache
def _key(key: str) -> str:
    """A key as TOML writes it: bare if it can be, else quoted."""
    return tomli_w.dumps({key: 0})[: -len(" = 0\n")]


def _value(v: Any) -> str:
    """A value as TOML: arrays and tables inline, an array of arrays one per line.

    Scalars are written by tomli_w (strings escaped, floats as their repr, so they read back
    exactly; ``inf`` is TOML too).
    """
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    if isinstance(v, list):
        if v and all(isinstance(x, list) for x in v):
            return "[\n" + "".join(f"    {_value(x)},\n" for x in v) + "]"
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }" if v else "{}"
    return tomli_w.dumps({"v": v})[len("v = ") : -1]


def _lines(table: dict[str, Any]) -> list[str]:
    return [f"{_key(k)} = {_value(v)}" for k, v in table.items()]


def _text(data: dict[str, Any]) -> str:
    """Lay out the tables of a scenario file as the bundled files do.

    One ``[table]`` per section, one ``[[communities]]`` or ``[[facilities]]`` per entry, one
    ``[facility_types.<id>]`` per type followed by its ``.source`` table. (tomli_w alone would
    write every array over several lines: ten lines for each facility.)
    """
    blocks = ["\n".join(_lines({k: v for k, v in data.items() if not isinstance(v, (dict, list))}))]
    for key in ("grid", "streets", "population", "walking", "simulation"):
        if key not in data:  # a scenario has [grid] or [streets]
            continue
        blocks.append("\n".join([f"[{key}]", *_lines(data[key])]))
    for key in ("communities", "facilities"):
        blocks.extend("\n".join([f"[[{key}]]", *_lines(entry)]) for entry in data[key])
    for tid, fields in data["facility_types"].items():
        header = f"facility_types.{_key(tid)}"
        blocks.append("\n".join([f"[{header}]", *_lines({k: v for k, v in fields.items() if k != "source"})]))
        if fields.get("source"):
            blocks.append("\n".join([f"[{header}.source]", *_lines(fields["source"])]))
    return "\n\n".join(blocks) + "\n"


def scenario_toml(scenario: Scenario, relative_to: Path | None = None) -> str:
    """Write the resolved scenario as the text of a TOML scenario file.

    Every value is written out: the grid, population, walking and simulation tables with every
    key (defaults too), each community and facility (with its capacity and name, generated or
    not) and every facility type with all its catalogue fields and sources. There is no
    ``extends``: the file stands alone, and loading it gives a scenario equal to ``scenario``.
    The optional ``grid.origin`` and a community's ``gates`` are written only when given.

    A street scenario's ``[streets]`` table names its data files by absolute path (a run's
    scenario.toml), or relative to ``relative_to``; the facilities of its facilities file stay in
    that file (while ``scenario.facilities`` starts with them unchanged:
    ``Streets.file_facilities``), the others are written with ``at_m``.

    Args:
        scenario: A loaded scenario.
        relative_to: The folder the file will be written in, for a file that should move with the
            street data files of the user's (the page's saved plans): they are then named by their
            path relative to it; the package's own data files still by absolute path. None: every
            data file by absolute path.

    Returns:
        The TOML text, starting with a comment that says where it comes from.

    """
    origin = str(scenario.path)
    if len(scenario.files) > 1:
        origin += f" (with its bases {', '.join(p.name for p in scenario.files[1:])})"
    header = [
        f"# The resolved scenario {scenario.name!r}, written by lifecircle from {origin}.",
        "# Every value is written out, nothing is left to a base file or the catalogue: loading this",
        "# file gives the same scenario. Where the facility types' numbers come from: their source tables.",
    ]
    if scenario.streets is not None:
        how = "by absolute path" if relative_to is None else "relative to this file"
        header.append(f"# The street network's data files ({how}) had sha256 {scenario.streets.digest}.")
    header.append("")
    folder = None if relative_to is None else Path(relative_to).resolve()
    return "\n".join(_comment(line) for line in header) + "\n" + _text(_data(scenario, folder))


def _on_streets(source: Path) -> bool:
    """Whether the scenario file ``source`` (with its bases) has a ``[streets]`` table; False if it cannot be read."""
    problems: list[Problem] = []
    raw = read_chain(Path(source), (), None, problems, str(source))
    return raw is not None and "streets" in raw.data


def extends_value(source: Path, target: Path) -> str:
    """What a file written at ``target`` puts in ``extends`` to name ``source``, so that it can be moved.

    A bundled scenario is named by its name ("wuhai_life_circle"): the file then finds it wherever
    it is moved and wherever the package is installed. Any other file is named by its path
    relative to ``target``'s folder, with forward slashes: the two can be moved together. (A
    file named as the bundled scenario beside ``target`` would take precedence over it: the
    relative path is written then.)

    Args:
        source: The base scenario file.
        target: Where the file that extends it will be written.

    Returns:
        The value of ``extends``.

    """
    source = Path(source).resolve()
    folder = Path(target).resolve().parent
    bundled = {p.resolve(): stem for stem, p in bundled_scenarios().items()}
    if source in bundled and base_path(folder, bundled[source]) == bundled_scenarios()[bundled[source]]:
        return bundled[source]
    try:
        return Path(os.path.relpath(source, folder)).as_posix()
    except ValueError:  # another drive (Windows): no relative path
        return source.as_posix()


def extend_toml(
    source: Path,
    target: Path,
    name: str,
    facilities: Sequence[tuple[str, int | float, int | float, str]],
    how: str,
    *,
    streets: bool | None = None,
) -> str:
    """Write a scenario that ``extends`` another and adds facilities to it.

    The planners' tools save what they propose this way (``lifecircle optimize``, the browser
    page's plan): a variant file that states only what it adds, laid out as the bundled files
    are (one ``[[facilities]]`` block per facility, ``at = [x, y]`` on one line, or
    ``at_m = [x_m, y_m]`` on streets); every value is written by tomli_w, so any name (quotes,
    backslashes, any script) reads back as given.

    Args:
        source: The scenario file to extend.
        target: Where the new file will be written; ``extends`` names ``source`` so that the
            file can be moved (:func:`extends_value`): a bundled scenario by its name, any other
            file by its path relative to ``target``'s folder (with forward slashes).
        name: The new scenario's name.
        facilities: The added facilities as (type, x, y, name): a cell on the grid, metres on
            streets. A name that a facility of the base already has replaces that facility
            instead of adding one (docs/scenarios.md, extends); on streets, not one of the
            facilities file (a name used twice is a problem).
        how: How the facilities were chosen: the leading comment (one ``#`` line per line).
        streets: Whether ``source`` is a street scenario (``at_m``); None: read ``source`` (and
            its bases) to see whether it has a ``[streets]`` table.

    Returns:
        The TOML text of the new scenario file.

    """
    on_streets = _on_streets(source) if streets is None else streets
    blocks = ["\n".join(_lines({"name": name, "extends": extends_value(source, target)}))]
    for t, x, y, n in facilities:
        at = {"at_m": [float(x), float(y)]} if on_streets else {"at": [x, y]}
        blocks.append("\n".join(["[[facilities]]", *_lines({"type": t, **at, "name": n})]))
    comment = "".join(f"# {_comment(line)}\n" for line in how.splitlines() or [""])
    return comment + "\n\n".join(blocks) + "\n"
