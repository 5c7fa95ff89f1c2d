"""What every command shares: bad-input errors, argument types, output on a terminal."""

from __future__ import annotations

import argparse
import re
import sys

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


def fmt(value, spec: str, missing: str = "-") -> str:
    """``format(value, spec)``, or ``missing`` right-aligned to the spec's width for None."""
    if value is None:
        width = re.match(r"(?:.?[<>=^])?[+\- ]?#?0?(\d*)", spec).group(1)
        return missing.rjust(int(width or 0))
    return format(value, spec)
