"""What every command shares: bad-input errors, argument types, output on a terminal."""

from __future__ import annotations

import argparse
import os
import re
import stat
import sys
import tempfile
from pathlib import Path

EXIT_BAD_INPUT = 2


class BadArgument(Exception):
    """A command-line value that cannot be used (reported like a scenario problem, exit 2)."""


def int_at_least(minimum: int, words: str):
    """An argparse type: an integer of at least ``minimum``, described as ``words`` in errors."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"must be {words}, not {text!r}")
        return value

    return parse


seed_type = int_at_least(0, "a non-negative integer")
positive_int = int_at_least(1, "a positive integer")


def print_warnings(scenario) -> None:
    """A scenario's warnings (problems that do not stop a run), one line each on stderr."""
    for warning in getattr(scenario, "warnings", ()):
        print(f"warning: {warning}", file=sys.stderr)
    if _has_cjk(_names(scenario)):
        from model.report import fonts

        missing = fonts.missing_message()
        if missing:
            print(f"warning: {scenario.name}: {missing}", file=sys.stderr)


def _names(scenario) -> list[str]:
    """The names a scenario's pictures show as written: its own, its groups', communities' and facilities'."""
    names = [scenario.name, *scenario.groups]
    names += [c.name for c in scenario.communities]
    names += [f.name for f in scenario.facilities if getattr(f, "name", None)]
    return names


def _has_cjk(names: list[str]) -> bool:
    """Whether any name holds a Chinese, Japanese or Korean character (from U+2E80 on, below the private area)."""
    return any("\u2e80" <= c < "\ue000" or "\uf900" <= c <= "\ufaff" for name in names for c in str(name))


def fmt(value, spec: str, missing: str = "-") -> str:
    """``format(value, spec)``, or ``missing`` right-aligned to the spec's width for None."""
    if value is None:
        width = re.match(r"(?:.?[<>=^])?[+\- ]?#?0?(\d*)", spec).group(1)
        return missing.rjust(int(width or 0))
    return format(value, spec)


def writable_folder(path: Path, flag: str = "--out") -> Path:
    """Check that a results folder exists or can be made, and can be written to; create nothing.

    Raises:
        BadArgument: Naming the path and the reason: a name longer than the file system allows,
            a path inside a file, a path that is not a folder, a folder that cannot be written
            (read-only, no permission, a system folder such as /proc).
    """
    reason = _unwritable(Path(path), folder=True)
    if reason:
        raise BadArgument(f"{flag}: cannot write to {path}: {reason}")
    return Path(path)


def writable_file(path: Path, flag: str = "--out") -> Path:
    """Check that a new file can be written at ``path`` (its folder made if need be); create nothing.

    Raises:
        BadArgument: As :func:`writable_folder`, and when the path is a folder or a device.
    """
    reason = _unwritable(Path(path), folder=False)
    if reason:
        raise BadArgument(f"{flag}: cannot write to {path}: {reason}")
    return Path(path)


def _unwritable(path: Path, folder: bool) -> str | None:
    """Why nothing can be written at ``path``, or None.

    Walks up to the nearest part of the path that exists, checks every missing name against the
    file system's limit, and tries to make (and at once remove) a folder in that nearest existing
    folder: the only test that every file system, read-only mount and permission answers alike.
    """
    path = Path(os.path.abspath(path))
    missing: list[str] = []
    here = path
    while True:
        try:
            mode = os.stat(here).st_mode
            break
        except FileNotFoundError:
            missing.append(here.name)
            here = here.parent
        except OSError as exc:  # a name too long, a file where a folder should be, a loop of links
            return exc.strerror or str(exc)
    if not missing:
        if folder and not stat.S_ISDIR(mode):
            return "it exists and is not a folder"
        if not folder and stat.S_ISDIR(mode):
            return "it is a folder, not a file"
        if not folder and not stat.S_ISREG(mode):
            return "it exists and is not a regular file (a device?)"
        base = here if folder else here.parent
    elif not stat.S_ISDIR(mode):
        return f"{here} is a file, not a folder"
    else:
        base = here
    try:
        longest = os.pathconf(base, "PC_NAME_MAX")
    except (OSError, ValueError):
        longest = 255
    for name in missing:
        if len(os.fsencode(name)) > longest:
            return f"the name {name[:24]}... is longer than the file system allows ({longest} bytes)"
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".lifecircle-", dir=base))
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def add_language_options(parser: argparse.ArgumentParser) -> None:
    """``--lang en|zh`` and ``--excel``: the language of pictures and reports, CSV for Excel (model/report/lang.py)."""
    parser.add_argument(
        "--lang",
        choices=("en", "zh"),
        default="en",
        help="language of titles, legends, tables and reports: en (English, the default) or zh (中文); "
        "names are shown as written",
    )
    parser.add_argument(
        "--excel",
        action="store_true",
        help="write CSV files with a UTF-8 byte-order mark, so that Excel reads Chinese names correctly",
    )


def use_language(args: argparse.Namespace) -> None:
    """Set the language and CSV encoding of the command's outputs; refuse Chinese when its font is missing.

    Raises:
        BadArgument: ``--lang zh`` without the Chinese font (model/report/fonts.py says how to install it).
    """
    from model.report import fonts, lang

    if args.lang == "zh":
        missing = fonts.missing_message()
        if missing:
            raise BadArgument(f"--lang zh: {missing}")
    lang.use(args.lang, args.excel)


def check_geojson(scenarios) -> list[str]:
    """``--geojson``: a BadArgument for a grid GeoJSON cannot hold, else the notes to print on stderr.

    A note for each scenario on a grid without ``[grid] origin``, which gets a GeoPackage instead
    (model/report/geo.py); a BadArgument naming the file and key for a grid that crosses the
    antimeridian or a pole. Called before anything is written.
    """
    from model.report.geo import geography_note, geojson_problem

    for scenario in scenarios:
        problem = geojson_problem(scenario)
        if problem:
            raise BadArgument(f"--geojson: {problem}")
    return [note for note in map(geography_note, scenarios) if note]
