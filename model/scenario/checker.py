"""The checker: what the semantic checks of a merged scenario share.

:class:`Checker` holds the merged data, collects problems and warnings with file and key path,
and gives the checks that recur (a positive number, shares, age bands, a rectangle in the grid).
"""

from __future__ import annotations

from typing import Any

from .errors import Problem
from .files import Raw
from .kinds import AgeBand, is_finite, parse_band
from .limits import MAX_AGE, SHARE_TOLERANCE
from .spec import Grid


class Checker:
    """Semantic checks on merged data: collects problems and warnings with file and key path.

    The checks of model/scenario/checks.py and model/scenario/sites.py record what they find
    here, so that every problem is reported, not only the first.

    Attributes:
        raw: The merged data of the scenario and its bases.
        top: The name of the top-level file (where a problem without a better file goes).
        problems: The problems found so far.
        warnings: Things that do not stop a run (e.g. a community on mostly blocked cells).

    """

    def __init__(self, raw: Raw, top_file: str, problems: list[Problem]):
        """Check ``raw``, read from ``top_file`` and its bases, recording problems in ``problems``."""
        self.raw = raw
        self.top = top_file
        self.problems = problems
        self.warnings: list[Problem] = list(raw.warnings)

    def where(self, key: str) -> str:
        """Return the file that set ``key`` (its own, or the nearest table that set it)."""
        k = key
        while k:
            if k in self.raw.origin:
                return self.raw.origin[k]
            # an element of a list value ("grid.blocked[0]") was set with the list
            k = k[: k.rindex("[")] if k.endswith("]") and "[" in k else k.rpartition(".")[0]
        return self.top

    def bad(self, key: str, message: str, file: str | None = None) -> None:
        """Record a problem at ``key``."""
        self.problems.append(Problem(file or self.where(key), key, message))

    def warn(self, key: str, message: str, file: str | None = None) -> None:
        """Record a warning at ``key``: something odd that does not stop a run."""
        self.warnings.append(Problem(file or self.where(key), key, message))

    def reported(self, key: str, file: str | None = None) -> bool:
        """Whether a problem at ``key`` (in ``file``, if given) is recorded already, e.g. a wrong type."""
        return any(p.key == key and (file is None or p.file == file) for p in self.problems)

    def missing(self, key: str, file: str, what: str = "required key is missing", any_file: bool = False) -> None:
        """Record that ``key`` is missing from ``file``, unless it was given with a wrong type.

        A value of the wrong type is reported, then removed; it is not missing as well. With
        ``any_file``, a wrong value in any file counts (a table merged from the bases); without,
        only one in ``file`` (an entry of a list, the scenario's name: a base's is not inherited).
        """
        if not self.reported(key, None if any_file else file):
            self.bad(key, what, file)

    def table(self, key: str) -> dict:
        """Return a merged top-level table (empty if absent)."""
        return self.raw.data.get(key, {})

    def require(self, table: dict, key: str, path: str) -> Any:
        """Return the value of a required key, or None after recording its absence."""
        if key not in table:
            self.missing(path, self.where(path.rpartition(".")[0]) if "." in path else self.top, any_file=True)
            return None
        return table[key]

    def positive(self, value: Any, path: str, file: str | None = None) -> bool:
        """Check that a number is finite and > 0."""
        if value is None:
            return False
        if not is_finite(value):
            self.bad(path, f"must be a finite number, not {value}", file)
            return False
        if value <= 0:
            shown = f"{value:,}" if isinstance(value, int) else value  # counts with thousands separators
            self.bad(path, f"must be positive, not {shown}", file)
            return False
        return True

    def shares(self, value: dict, path: str, file: str | None = None) -> dict[str, float] | None:
        """Check a table of non-negative shares summing to 1."""
        ok = True
        for k, v in value.items():
            if not is_finite(v) or v < 0:
                self.bad(f"{path}.{k}", f"must be a share between 0 and 1, not {v!r}", file)
                ok = False
        if not value:
            self.bad(path, "must list at least one share", file)
            return None
        if ok:
            total = sum(value.values())
            if abs(total - 1.0) > SHARE_TOLERANCE:
                self.bad(path, f"shares must sum to 1, not {total:.6g}", file)
                ok = False
        return {k: float(v) for k, v in value.items()} if ok else None

    def bands(self, value: dict, path: str, cover_all: bool) -> dict[AgeBand, float] | None:
        """Parse age-band keys; reject overlaps and, if ``cover_all``, gaps in 0..100."""
        out: dict[AgeBand, float] = {}
        for k, v in value.items():
            band = parse_band(k)
            if band is None:
                self.bad(f"{path}.{k}", f'age band must be "lo-hi" with 0 <= lo <= hi <= {MAX_AGE}')
                return None
            if band in out:  # the same band written twice, e.g. "0-2" and "0 - 2"
                self.bad(path, f'age bands "{band}" and "{band}" overlap')
                return None
            out[band] = v
        ordered = sorted(out, key=lambda b: b.lo)
        for a, b in zip(ordered, ordered[1:], strict=False):
            if b.lo <= a.hi:
                self.bad(path, f'age bands "{a}" and "{b}" overlap')
                return None
        if cover_all:
            edge = 0
            for b in ordered:
                if b.lo > edge:
                    self.bad(path, f"ages {edge} to {b.lo - 1} have no band")
                    return None
                edge = b.hi + 1
            if edge <= MAX_AGE:
                self.bad(path, f"ages {edge} to {MAX_AGE} have no band")
                return None
        return dict(sorted(out.items(), key=lambda kv: kv[0].lo))

    def rect_in_grid(self, rect: list[int], grid: Grid | None, path: str, file: str | None = None) -> bool:
        """Check a rectangle has positive size and lies inside the grid."""
        x, y, w, h = rect
        if w <= 0 or h <= 0:
            self.bad(path, f"width and height must be positive, not {w}x{h}", file)
            return False
        if grid and (x < 0 or y < 0 or x + w > grid.width or y + h > grid.height):
            self.bad(path, f"rectangle {rect} is not inside the {grid.width:,}x{grid.height:,} grid", file)
            return False
        return True
