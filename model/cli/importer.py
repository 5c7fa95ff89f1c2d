"""``lifecircle import osm`` and ``lifecircle import gis``: a street scenario of a real place.

Both write a scenario folder, ``scenario.toml`` and ``streets/*.csv`` (docs/streets.md), from an
OpenStreetMap extract or from a planner's own GIS layers, and print what they kept and dropped.
The work is model/places/ (docs/places.md); this module parses the options, checks the folder,
and prints. Bad input is reported like a bad scenario file, before anything is written: one line
naming the file and what is wrong, exit status 2. Geopandas and pyrosm are imported only when a
command runs, so that ``lifecircle --help`` stays quick.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from model.cli.common import BadArgument, input_file, input_layer, whole_number, writable_folder
from model.scenario.limits import MAX_RESIDENTS

_UNSAFE_NAME = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f]')
_MAX_NAME_BYTES = 200  # as scenario names (model/scenario/limits.py): a results folder adds a time stamp


def add_parser(sub) -> None:
    """The ``import`` subcommand and its two sources."""
    imp = sub.add_parser("import", help="make a street scenario of a real place (OpenStreetMap or GIS layers)")
    sources = imp.add_subparsers(dest="source", required=True, metavar="{osm,gis}")
    osm = sources.add_parser(
        "osm", help="from an OpenStreetMap extract (.osm.pbf, .osm, .osm.bz2, .osm.gz)", description=_OSM_TEXT
    )
    osm.add_argument("file", type=input_file, help="the extract")
    osm.add_argument("--bbox", type=_bbox, help="only this box: W,S,E,N in WGS84 degrees (default: the whole file)")
    _common(osm)
    osm.set_defaults(func=cmd_import_osm)
    gis = sources.add_parser(
        "gis", help="from a planner's GIS layers (GeoJSON, GeoPackage, shapefile)", description=_GIS_TEXT
    )
    gis.add_argument(
        "--streets", type=input_layer, required=True, help="lines: the walkable streets (optional column length_m)"
    )
    gis.add_argument("--buildings", type=input_layer, help="polygons: optional columns levels, residential")
    gis.add_argument("--facilities", type=input_layer, help="points: columns type, name; optional capacity")
    gis.add_argument("--barriers", type=input_layer, help="lines: fences and walls that ways may not cross")
    gis.add_argument(
        "--gates", type=input_layer, help="points: gates in the fences (and where communities' guidance maps start)"
    )
    _common(gis)
    gis.set_defaults(func=cmd_import_gis)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--communities",
        type=input_layer,
        help="polygons: column name, optional residents (default: OSM's areas / one community)",
    )
    parser.add_argument(
        "--population",
        type=whole_number(1, MAX_RESIDENTS, "a number of residents"),
        help=f"residents in all, 1 to {MAX_RESIDENTS:,}, shared by floor area (default: the communities' residents, "
        "or 1 per 40 m² of floor)",
    )
    parser.add_argument(
        "--out", type=Path, help="the scenario folder to make (default: ./<name>); must be new or empty"
    )
    parser.add_argument("--name", help="the scenario's name (default: from the file's name)")


_OSM_TEXT = (
    "Write a scenario folder (scenario.toml, streets/*.csv) of the walkable ways, homes, facilities and "
    "gates of an OpenStreetMap extract. docs/places.md gives every rule."
)
_GIS_TEXT = (
    "Write a scenario folder (scenario.toml, streets/*.csv) from a planner's layers, in any CRS. A GeoPackage "
    "of several layers is read at the layer named after the option (streets, buildings, ...). docs/places.md "
    "gives the columns read."
)


# --------------------------------------------------------------------------- checks


def default_name(path: Path) -> str:
    """A scenario name from a file name: its stem without .osm/.pbf, lower case, runs of other characters as "_"."""
    stem = path.name
    for suffix in (".bz2", ".gz", ".pbf", ".osm", ".geojson", ".gpkg", ".shp", ".json"):
        stem = stem.removesuffix(suffix) if stem.lower().endswith(suffix) else stem
    return re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_") or "place"


def _check_name(name: str) -> str:
    if not name.strip(". ") or _UNSAFE_NAME.search(name):
        raise BadArgument(
            f'--name: must be usable in a folder name (no / \\ : * ? " < > | or control characters), not {name!r}'
        )
    if len(name.encode("utf-8")) > _MAX_NAME_BYTES:
        raise BadArgument(f"--name: must be at most {_MAX_NAME_BYTES} bytes long in UTF-8")
    return name


def _check_out(out: Path) -> Path:
    """A folder that is new or empty and can be made (the house rule: an import never writes over files)."""
    writable_folder(out)
    if out.is_dir() and any(out.iterdir()):
        raise BadArgument(
            f"--out: {out} exists and is not empty: name a new folder (an import never writes over files)"
        )
    return out


def _bbox(text: str) -> tuple[float, ...] | list[float]:
    """An argparse type: ``W,S,E,N`` in WGS84 degrees, checked by the reader's rule (model.places.osm.check_bbox).

    Checked as the command line is read, before the extract is looked at, so that the message
    names ``--bbox``.
    """
    from model.scenario import ScenarioError

    parts = text.split(",") if len(text) <= 200 else []
    try:
        values = [float(part) for part in parts]
    except ValueError:
        values = []
    try:
        from model.places.osm import check_bbox
    except ImportError:  # no osm extra: the command says which to install
        return values
    try:
        return check_bbox(values or [text[:40]], "--bbox")
    except ScenarioError as exc:
        message = exc.problems[0].message
        if "W,S,E,N" not in message:
            message += " (the box is W,S,E,N in WGS84 degrees)"
        raise argparse.ArgumentTypeError(message) from None


def _command(args: argparse.Namespace, name: str) -> str:
    """The command as run, with file names only (no folders: the header is the same on every machine)."""
    words = ["lifecircle", "import", args.source]
    if args.source == "osm":
        words.append(Path(args.file).name)
        if args.bbox:
            words += ["--bbox", ",".join(f"{v:g}" for v in args.bbox)]
    for option in ("streets", "buildings", "communities", "facilities", "barriers", "gates"):
        value = getattr(args, option, None)
        if value is not None:
            words += [f"--{option}", Path(value).name]
    if args.population is not None:
        words += ["--population", str(args.population)]
    return " ".join(words + ["--name", name])


# --------------------------------------------------------------------------- the commands


def cmd_import_osm(args: argparse.Namespace) -> int:
    """Read the extract, build the scenario, write the folder, print the summary."""
    t0 = time.perf_counter()
    name = _check_name(args.name or default_name(args.file))
    out = _check_out(args.out or Path.cwd() / name)
    try:
        from model.places import read_osm
        from model.places.source import osm_source
    except ImportError as exc:
        raise BadArgument(f"import osm needs the osm extra: pip install 'lifecircle[osm]' ({exc})") from None
    place = read_osm(args.file, args.bbox)
    source = osm_source(place, args.communities, args.population)
    inputs = (Path(args.file), *([Path(args.communities)] if args.communities else []))
    return _finish(args, name, out, source, inputs, t0)


def cmd_import_gis(args: argparse.Namespace) -> int:
    """Read the layers, build the scenario, write the folder, print the summary."""
    t0 = time.perf_counter()
    name = _check_name(args.name or default_name(args.streets))
    out = _check_out(args.out or Path.cwd() / name)
    try:
        from model.places.source import GisFiles, gis_source
    except ImportError as exc:
        raise BadArgument(f"import gis needs geopandas: pip install 'lifecircle[osm]' ({exc})") from None
    files = GisFiles(args.streets, args.buildings, args.communities, args.facilities, args.barriers, args.gates)
    source = gis_source(files, args.population)
    given = (args.streets, args.buildings, args.communities, args.facilities, args.barriers, args.gates)
    inputs = tuple(Path(p) for p in given if p is not None)
    return _finish(args, name, out, source, inputs, t0)


def _finish(args, name: str, out: Path, source, inputs: tuple[Path, ...], t0: float) -> int:
    from model.places.build import build
    from model.places.write import Header, folder_files, write_folder

    built = build(source, name, args.population)
    header = Header(_command(args, name), source.kind, inputs, tuple(source.real), tuple(source.assumed))
    files = folder_files(built, header)
    try:
        write_folder(out, files)
    except OSError as exc:
        raise BadArgument(f"--out: cannot write to {out}: {exc.strerror or exc}") from None
    for warning in built.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print_summary(built, inputs[0], out, time.perf_counter() - t0)
    return 0


def print_summary(built, source: Path, out: Path, seconds: float) -> None:
    """What was written, kept and dropped, in a few lines."""
    from model.places.build import counted

    c = built.counts
    residents = sum(r for _, r in built.communities)
    print(f"{built.name}: imported {source.name} in {seconds:.1f} s into {out}")
    print(
        f"  network: {len(built.nodes):,} nodes, {len(built.edges):,} edges (dropped: {c['edges_fenced']:,} edges "
        f"crossing a fence away from a gate; {c['nodes_small_parts']:,} nodes and {c['edges_small_parts']:,} edges "
        f"of {c['parts'] - 1:,} smaller parts)"
    )
    communities = counted(len(built.communities), "community", "communities")
    print(f"  homes: {len(built.homes):,} in {communities}, {residents:,} residents")
    print(f"  residents: {built.population_words}")
    by_type = built.facilities["type"].value_counts().sort_index() if len(built.facilities) else {}
    kinds = ", ".join(f"{t} {n:,}" for t, n in dict(by_type).items())
    print(f"  facilities: {len(built.facilities):,}" + (f" ({kinds})" if kinds else ""))
    print(f"  gates: {len(built.gates):,}")
    for note in built.notes:
        print(f"  note: {note}")
