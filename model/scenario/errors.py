"""What a scenario file can get wrong: :class:`Problem`, and :class:`ScenarioError` carrying them all."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario file.

    Attributes:
        file: File name the problem is in.
        key: Key path inside the file, e.g. ``facilities[3].at`` ("" for the whole file).
        message: What is wrong, for a person.
        line: Line number when known (TOML syntax errors).

    """

    file: str
    key: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        """Format as ``file[:line]: key: message``."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ScenarioError(Exception):
    """Bad input in a scenario file: carries every problem found."""

    def __init__(self, problems: list[Problem]):
        """Store the problems; the message lists them one per line."""
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
