"""What every command shares: bad-input errors, argument types, output on a terminal."""

from __future__ import annotations

import argparse
import math
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

EXIT_BAD_INPUT = 2


class BadArgument(Exception):
    """A command-line value that cannot be used (reported like a scenario problem, exit 2)."""


# The bounds of the command lines' numbers (issue 23). Each is an assumption of this
# implementation, stated in the flag's help and in docs/commands.md, so that a typing error
# (1e9 days, a million workers) is a message at once rather than a run that never ends.
MAX_DAYS = 366  # a year of daily life: a run keeps per-day tables (1,000,000,000 days asked for 89 GiB)
# seeds, and the seeds s + 1, ..., s + N - 1 of N replicates after them, fit the 64-bit integers
# of the results' tables (2^63 is about 9.2 x 10^18)
MAX_SEED = 10**18
MAX_REPLICATES = 1_000  # compare runs every scenario once per replicate; its default is 5
MAX_WORKERS = 1_024  # local processes, each holding a model: more than the cores of any one machine
MAX_PORT = 65_535  # TCP's largest port
MAX_MINUTES = 24 * 60  # a walking standard of more than a day means nothing (warned beyond 60)
MAX_REPEATS = 100  # bench: runs of each timed case
# A number of more characters than this is not read at all: no bound above needs more, and
# int() of a longer text costs time or raises (Python's 4,300-digit limit).
_LONGEST_NUMBER = 40


def shown(text: str, longest: int = 40) -> str:
    """``text`` quoted for a message, cut to ``longest`` characters (a 5,000-digit number is not echoed whole)."""
    if len(text) <= longest:
        return repr(text)
    return f"{text[:longest]!r}... ({len(text):,} characters)"


def whole_number(lo: int, hi: int, words: str = "a whole number"):
    """An argparse type: an integer from ``lo`` to ``hi``; the error gives the range (argparse adds the flag).

    Args:
        lo: The smallest value allowed.
        hi: The largest value allowed (a stated limit: see the MAX_ constants above).
        words: What the value is, for the message ("a port number").

    Returns:
        The function argparse calls with the text given.

    """
    expected = f"{words} from {lo:,} to {hi:,}"

    def parse(text: str) -> int:
        value = None
        if len(text) <= _LONGEST_NUMBER:
            try:
                value = int(text)
            except ValueError:
                pass
        if value is None or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be {expected}, not {shown(text)}")
        return value

    return parse


def finite_number(lo: float, hi: float, *, above: bool = False, words: str = "a number"):
    """An argparse type: a finite number from ``lo`` (or, with ``above``, greater than ``lo``) to ``hi``.

    NaN, infinities and texts that are not numbers are refused with the range the flag allows.

    Args:
        lo: The smallest value allowed, or (with ``above``) the value it must exceed.
        hi: The largest value allowed.
        above: Whether ``lo`` itself is refused.
        words: What the value is, for the message ("a share", "minutes").

    Returns:
        The function argparse calls with the text given.

    """
    start = f"greater than {lo:g}" if above else f"from {lo:g}"
    expected = f"{words} {start} {'and at most' if above else 'to'} {hi:g}"

    def parse(text: str) -> float:
        value = math.nan
        if len(text) <= _LONGEST_NUMBER:
            try:
                value = float(text)
            except ValueError:
                pass
        low_ok = value > lo if above else value >= lo
        if not (math.isfinite(value) and low_ok and value <= hi):
            raise argparse.ArgumentTypeError(f"must be {expected}, not {shown(text)}")
        return value

    return parse


port_type = whole_number(1, MAX_PORT, "a port number")
# how long --scheduler's address is tried before the command says it cannot be reached (an
# assumption: a scheduler on the same network answers in milliseconds; Dask itself waits 30 s)
SCHEDULER_CONNECT_S = 10.0
_SCHEDULER_SCHEMES = ("tcp", "tls")


def scheduler_address(text: str) -> str:
    """An argparse type: a Dask scheduler's address, ``tcp://HOST:PORT`` (or ``tls://``), the port 1 to 65,535."""
    scheme, _, rest = text.rpartition("://")
    host, _, port = rest.rpartition(":")
    if len(text) > 300 or scheme not in ("", *_SCHEDULER_SCHEMES) or not host.strip("[]"):
        raise argparse.ArgumentTypeError(f"must be a scheduler's address, tcp://HOST:PORT, not {shown(text)}")
    try:
        port_type(port)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"the PORT of tcp://HOST:PORT {exc}") from None
    return text


def check_scheduler(address: str) -> None:
    """Raise BadArgument unless a TCP connection to the scheduler at ``address`` opens now.

    Called before anything is written: Dask would otherwise try for 30 s and end in a traceback,
    after the results folder was made.
    """
    import socket

    rest = address.rpartition("://")[2]
    host, _, port = rest.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=SCHEDULER_CONNECT_S).close()
    except (OSError, UnicodeError) as exc:  # UnicodeError: a name part longer than 63 characters
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise BadArgument(f"--scheduler: cannot reach {shown(address)} ({reason})") from None


seed_type = whole_number(0, MAX_SEED, "a seed, a whole number")
days_type = whole_number(1, MAX_DAYS, "days, a whole number")
workers_type = whole_number(1, MAX_WORKERS, "a number of worker processes")


def _not_a_file(path: Path, folders: bool = False) -> str | None:
    """Why ``path`` cannot be read as an input file, or None (also when nothing is there: its reader says so).

    Looks with ``os.stat`` only, which neither opens the file nor waits on a FIFO: a folder
    (unless ``folders``), a device (/dev/zero reads for ever), a FIFO or socket (reading one
    waits for a writer), or a name the system refuses to look up (too long, a NUL character).
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # a name too long, a file where a folder should be, NUL
        return getattr(exc, "strerror", None) or str(exc)
    if stat.S_ISREG(mode) or (folders and stat.S_ISDIR(mode)):
        return None
    return _kind_words(mode)


def _kind_words(mode: int) -> str:
    """What a path that is not a regular file is, from its ``st_mode``, as the reason of a message."""
    if stat.S_ISDIR(mode):
        return "it is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "it is a FIFO (a named pipe), not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "it is a device, not a file"
    return "it is not a regular file (a socket?)"


def input_file(text: str) -> Path:
    """An argparse type: a file to read; a folder, device, FIFO or socket is refused before it is opened.

    A path where nothing is is passed on: the command's reader reports it, naming the file
    (and suggesting a close bundled name where it has them).
    """
    reason = _not_a_file(Path(text))
    if reason:
        raise argparse.ArgumentTypeError(f"cannot read {shown(text, 80)}: {reason}")
    return Path(text)


def input_layer(text: str) -> Path:
    """An argparse type: a GIS layer to read, a file or a folder GDAL reads (a File Geodatabase, shapefiles).

    A device, FIFO or socket is refused before it is opened, as by :func:`input_file`.
    """
    reason = _not_a_file(Path(text), folders=True)
    if reason:
        raise argparse.ArgumentTypeError(f"cannot read {shown(text, 80)}: {reason}")
    return Path(text)


def scenario_refusal(text: str) -> str | None:
    """Why the scenario ``text`` cannot be read (a folder, device, FIFO, socket, a name refused), or None.

    A bundled name is taken as such when no regular file of that name is here, as the loader
    (model.scenario.resolve_scenario_path) does; nothing is opened.
    """
    from model.scenario import resolve_scenario_path

    return _not_a_file(resolve_scenario_path(text))


def scenario_name(text: str) -> str:
    """An argparse type: a scenario file or a bundled name, refused by :func:`scenario_refusal` before it is opened."""
    reason = scenario_refusal(text)
    if reason:
        raise argparse.ArgumentTypeError(f"cannot read {shown(text, 80)}: {reason}")
    return text


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
            return _kind_words(mode)
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


def results_folder(path: Path, overwrite: bool, flag: str = "--out") -> Path:
    """Check a results folder before any work: it can be written, and may be (:func:`model.report.folders.refusal`).

    Raises:
        BadArgument: As :func:`writable_folder`; and for a folder inside another result, a
            folder with files that are not lifecircle's, or an earlier result without ``overwrite``.
    """
    from model.report import folders

    writable_folder(path, flag)
    reason = folders.refusal(path, overwrite)
    if reason:
        raise BadArgument(f"{flag}: {reason}")
    return Path(path)


@contextmanager
def staged(path: Path, kind: str | None, flag: str = "--out") -> Iterator[Path]:
    """Write a result whole or not at all (:func:`model.report.folders.atomic`; a file when ``kind`` is None).

    Yields where to write; the result is put at ``path`` when the block ends, and nothing is
    left there, nor any work folder, when it ends with an exception (Ctrl-C), SIGTERM or SIGHUP.
    """
    from model.report import folders

    try:
        with folders.atomic_file(path) if kind is None else folders.atomic(path, kind) as work:
            yield work
    except folders.OutputError as exc:
        raise BadArgument(f"{flag}: {exc}") from None


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
