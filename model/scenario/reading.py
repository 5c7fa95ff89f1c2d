"""Reading an input file totally: for any bytes, the data or problems; never an exception, never a hang.

Every reader of the project goes through here: scenario files and their bases, the catalogue,
experiment and calibration files, candidates and observed-data CSVs, street data files, and the
OpenStreetMap and GIS imports (which hand the path to a library after :func:`file_problem`).

* :func:`read_regular` refuses, before opening it, a path that is not a regular file (a folder,
  ``/dev/zero``, a FIFO: opening a FIFO blocks until a writer comes), a name the system refuses
  (too long, a NUL character) and a file over its limit (:data:`~.limits.MAX_TOML_BYTES` for
  TOML, :data:`~.limits.MAX_FILE_BYTES` for CSV); it opens with
  ``O_NONBLOCK`` and checks again, so that a file replaced by a pipe in between cannot block.
* :func:`parse_toml` turns each failure of :mod:`tomllib` into a problem naming the file (and the
  line where there is one): a syntax error, text that is not UTF-8, an integer of more digits
  than Python converts (a ``ValueError``), nesting deep enough for a ``RecursionError``.
* :func:`value_problems` then finds what parses but the model cannot hold: integers outside
  TOML's 64-bit range (a float, numpy and ``math.isfinite`` overflow on them) and nesting
  deeper than :data:`~.limits.MAX_NESTING`, each at its key.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import Problem, ScenarioError
from .limits import MAX_FILE_BYTES, MAX_NESTING, MAX_TOML_BYTES, TOML_INT_MAX, TOML_INT_MIN


@dataclass(frozen=True)
class Unreadable:
    """Why a file cannot be read.

    Attributes:
        why: "missing", "folder", "special" (a device, a pipe or a socket), "large" or "refused"
            (the system refused: a name too long, no permission, ...).
        message: For a person, without the path ("file not found", "cannot read file: ...").
        path: The path as given.

    """

    why: str
    message: str
    path: Path

    def about(self) -> str:
        """The message with the path in it, for a problem that names another file (an ``extends``)."""
        if self.why == "missing":
            return f"file not found: {self.path}"
        return f"cannot read {self.path}: {self.message.removeprefix('cannot read file: ')}"


def _stat_problem(path: Path, limit: int | None) -> Unreadable | None:
    """Why ``path`` cannot be read, from ``os.stat`` alone (nothing is opened); None if it can."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return Unreadable("missing", "file not found", path)
    except (OSError, ValueError) as exc:  # ENAMETOOLONG, EACCES, ELOOP; ValueError: a NUL character
        why = getattr(exc, "strerror", None) or ("the name holds a NUL character" if "null" in str(exc) else exc)
        return Unreadable("refused", f"cannot read file: {why}", path)
    if stat.S_ISDIR(st.st_mode):
        return Unreadable("folder", "is a folder, not a file", path)
    if not stat.S_ISREG(st.st_mode):
        return Unreadable("special", "is not a regular file (a device, a pipe or a socket): only files are read", path)
    if limit is not None and st.st_size > limit:
        why = f"is {st.st_size:,} bytes, more than the {limit:,} bytes an input file may have"
        return Unreadable("large", why, path)
    return None


def file_problem(path: str | Path, limit: int | None = MAX_FILE_BYTES) -> Unreadable | None:
    """Why ``path`` cannot be read as an input file, or None: for a reader that hands the path to a library.

    Args:
        path: The file.
        limit: The most bytes it may have (None: any size).

    Returns:
        None for a regular file within the limit; else why not (nothing has been opened).

    """
    return _stat_problem(Path(path), limit)


def check_readable(path: str | Path, limit: int | None = MAX_FILE_BYTES) -> None:
    """Refuse a path that is not a regular file within ``limit`` bytes, before a reader opens it.

    Raises:
        ScenarioError: Naming the file and why (:func:`file_problem`).
    """
    problem = file_problem(path, limit)
    if problem is not None:
        raise ScenarioError([Problem(str(path), "", problem.message)])


def read_regular(path: str | Path, limit: int | None = MAX_FILE_BYTES) -> bytes | Unreadable:
    """The bytes of a regular file, or why it cannot be read; never opens a folder, a pipe or a device.

    Args:
        path: The file.
        limit: The most bytes it may have (None: any size).

    Returns:
        Its bytes, or an :class:`Unreadable`.

    """
    path = Path(path)
    problem = _stat_problem(path, limit)
    if problem is not None:
        return problem
    try:
        # O_NONBLOCK: a file replaced by a pipe since the stat above does not block the open
        with open(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return Unreadable("special", "is not a regular file (a device, a pipe or a socket)", path)
            data = fh.read(-1 if limit is None else limit + 1)  # a file that grew since the stat
    except OSError as exc:
        return Unreadable("refused", f"cannot read file: {exc.strerror or exc}", path)
    if limit is not None and len(data) > limit:
        return Unreadable("large", f"is more than the {limit:,} bytes an input file may have", path)
    return data


def is_file(path: str | Path) -> bool:
    """Whether ``path`` is an existing file; False for names the system refuses (too long, NUL characters)."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


_LONG_NUMBER = re.compile(rb"[0-9_]{%d,}" % (sys.get_int_max_str_digits() or 4300))


def read_toml_bytes(path: str | Path) -> bytes | Unreadable:
    """The bytes of a TOML file: :func:`read_regular` within :data:`~.limits.MAX_TOML_BYTES`."""
    return read_regular(path, MAX_TOML_BYTES)


def parse_toml(data: bytes, file: str) -> tuple[dict | None, list[Problem]]:
    """Parse the bytes of a TOML file, then check what the model can hold of its values.

    Args:
        data: The file's bytes (a UTF-8 byte order mark is allowed).
        file: The name problems give.

    Returns:
        (the tables, []) or (None, the problems): a syntax error, text that is not UTF-8, a number
        of too many digits, nesting too deep, an integer outside TOML's 64-bit range.

    """
    try:
        text = data.decode("utf-8-sig")  # -sig: tolerate the BOM some editors write
    except UnicodeDecodeError:
        return None, [Problem(file, "", "not UTF-8 text")]
    try:
        tables = tomllib.loads(text)
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        why = f"TOML syntax error: arrays or tables nested too deeply (at most {MAX_NESTING})"
        return None, [Problem(file, "", why)]
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line = int(m.group(1)) if m else None
        if line is None and "end of document" in msg:
            line = data.count(b"\n") + 1
        return None, [Problem(file, "", f"TOML syntax error: {msg}", line)]
    except ValueError:  # int() of a decimal literal longer than Python converts (4,300 digits)
        m = _LONG_NUMBER.search(data)
        line = data.count(b"\n", 0, m.start()) + 1 if m else None
        return None, [Problem(file, "", f"a number of more digits than any value may have: {_range()}", line)]
    problems = value_problems(tables, file)
    return (None, problems) if problems else (tables, [])


def _range() -> str:
    return f"integers are 64-bit, from {TOML_INT_MIN:,} to {TOML_INT_MAX:,}"


def _shown(v: int) -> str:
    """A huge integer for a message: its first digits and its length."""
    digits = str(abs(v)) if v.bit_length() < 10_000 else None
    if digits is None or len(digits) > 30:
        return f"an integer of {v.bit_length():,} bits"
    return f"{v}"


def _key(key: str) -> str:
    """A key as a key path writes it: quoted unless bare (``"population.mixing"``, as in a file)."""
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'


def _all_held(data: Any) -> bool:
    """Whether every integer is within 64 bits and nothing nested too deep (:func:`value_problems`, no key paths).

    The paths cost more than the walk (a list of 50,000 scenario names): they are made only for a
    file with a problem.
    """
    todo: list[tuple[Any, int]] = [(data, 0)]
    while todo:
        value, depth = todo.pop()
        if not isinstance(value, dict | list):
            return not _too_large(value)  # only the data itself can be a bare value (an override's)
        if depth > MAX_NESTING:
            return False
        for v in value.values() if isinstance(value, dict) else value:
            if isinstance(v, dict | list):
                todo.append((v, depth + 1))
            elif _too_large(v):
                return False
    return True


def _too_large(v: Any) -> bool:
    """An integer outside TOML's 64-bit range."""
    return isinstance(v, int) and not isinstance(v, bool) and not TOML_INT_MIN <= v <= TOML_INT_MAX


def value_problems(data: Any, file: str, path: str = "") -> list[Problem]:
    """Integers outside TOML's 64-bit range, and nesting deeper than the limit, each at its key path.

    Walks the data without recursion, so that any depth is looked at safely.

    Args:
        data: Parsed TOML (tables, arrays, values).
        file: The name problems give.
        path: The key path of ``data`` ("" for a whole file).

    Returns:
        The problems; empty when every value can be held.

    """
    if _all_held(data):
        return []
    problems: list[Problem] = []
    todo: list[tuple[Any, str, int]] = [(data, path, 0)]
    while todo:
        value, where, depth = todo.pop()
        if isinstance(value, dict | list):
            if depth > MAX_NESTING:
                problems.append(Problem(file, where, f"arrays or tables nested more than {MAX_NESTING} deep"))
                continue
            items = list(value.items() if isinstance(value, dict) else enumerate(value))
            for k, v in reversed(items):  # reversed: the stack gives them back in file order
                sub = f"{where}[{k}]" if isinstance(value, list) else f"{where}.{_key(k)}" if where else _key(k)
                todo.append((v, sub, depth + 1))
        elif _too_large(value):
            problems.append(Problem(file, where, f"out of range, {_shown(value)}: {_range()}"))
    return problems
