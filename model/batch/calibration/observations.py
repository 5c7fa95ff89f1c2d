"""The observed figures: a CSV, one row per observation, checked against the scenario (docs/calibration.md).

Columns (``figure`` and ``value`` required; the others as the figure needs them, empty otherwise):

- ``figure``: ``summary`` (a scalar of summary.json, named in ``key``), ``visits_per_day`` (at a
  ``facility``), ``occupancy`` (at a ``facility`` or a facility ``type``, in clock ``hour``) or
  ``share_using`` (of a facility ``type``), as :mod:`model.batch.calibration.figures` defines them;
- ``key``: the dotted summary key of a ``summary`` row;
- ``facility``: a facility's ``id`` in facilities.csv, or its ``name`` there;
- ``type``: a facility type of the scenario;
- ``hour``: a clock hour, 0-23, that the simulated day covers;
- ``value``: the observed figure (visits, people and shares are never negative; a share is at most 1);
- ``sd``: the observation's own uncertainty, a standard deviation in the figure's unit (empty: 0,
  :data:`DEFAULT_SD`).

Blank lines and lines whose first cell starts with ``#`` (comments: where the figures come from)
are skipped. Every problem names the file, the line and the column; all are reported together.
"""

from __future__ import annotations

import csv
import difflib
import math
from dataclasses import dataclass
from pathlib import Path

from model.scenario import Problem, ScenarioError
from model.scenario.reading import Unreadable, read_regular

FIGURES = ("summary", "visits_per_day", "occupancy", "share_using")
COLUMNS = ("figure", "key", "facility", "type", "hour", "value", "sd")
REQUIRED = ("figure", "value")
# which of key, facility, type, hour each figure takes: "need" (one of a tuple), else must be empty
_NEEDS = {
    "summary": ("key",),
    "visits_per_day": ("facility",),
    "occupancy": (("facility", "type"), "hour"),
    "share_using": ("type",),
}
DEFAULT_SD = 0.0  # an observation without sd: exact but for the day's own chance, which the seeds give


@dataclass(frozen=True)
class Observation:
    """One observed figure.

    Attributes:
        line: Its line in the CSV (the header is line 1).
        figure: One of :data:`FIGURES`.
        key: The summary key (``summary``), else "".
        facility: The facility id, or None.
        type: The facility type, else "".
        hour: The clock hour, or None.
        value: The observed figure.
        sd: Its standard deviation (:data:`DEFAULT_SD` when not given).
    """

    line: int
    figure: str
    key: str
    facility: int | None
    type: str
    hour: int | None
    value: float
    sd: float

    @property
    def name(self) -> str:
        """The figure's name in a run record: a summary key (``metrics``) or a ``figures`` key."""
        if self.figure == "summary":
            return self.key
        if self.figure == "visits_per_day":
            return f"visits_per_day.{self.facility}"
        if self.figure == "share_using":
            return f"share_using.{self.type}"
        if self.facility is not None:
            return f"occupancy.facility.{self.facility}.{self.hour}"
        return f"occupancy.type.{self.type}.{self.hour}"


@dataclass(frozen=True)
class ScenarioFacts:
    """What the observations are checked against: the scenario's facilities, types, hours and summary keys.

    Attributes:
        name: The scenario's name.
        facilities: Facility id -> (type, name).
        types: The facility types present.
        hours: The clock hours the simulated day covers.
        summary_keys: The numeric scalars of summary.json.
    """

    name: str
    facilities: dict[int, tuple[str, str]]
    types: tuple[str, ...]
    hours: tuple[int, ...]
    summary_keys: tuple[str, ...]


def scenario_facts(scenario_file: Path, days: int = 1) -> ScenarioFacts:
    """Build the scenario's city once (no run) and read its facilities, types, hours and summary keys.

    ``days``: the calibration's (a run of several days has day-by-day figures that one day has not).
    """
    from model.batch.calibration.figures import day_hours
    from model.batch.runner import IDENTITY
    from model.model import LifeCircleModel
    from model.scenario import load_scenario

    model = LifeCircleModel(load_scenario(scenario_file), days=days, engine="fast")
    table = model.city.facilities
    facilities = {int(i): (str(t), str(n)) for i, t, n in zip(table["id"], table["type"], table["name"], strict=True)}
    sim = model.clock.sim
    return ScenarioFacts(
        name=model.spec.name,
        facilities=facilities,
        types=tuple(dict.fromkeys(t for t, _ in facilities.values())),
        hours=tuple(day_hours(sim.day_start_min, sim.day_end_min)),
        summary_keys=tuple(k for k in model.summary_keys if k not in IDENTITY),
    )


def read_observations(path: Path, facts: ScenarioFacts) -> list[Observation]:
    """Read and check the observations CSV against the scenario.

    Raises:
        ScenarioError: With every problem, each naming the file, the line and the column.
    """
    file = path.name
    data = read_regular(path)  # a folder, a pipe, a device, a huge file: refused before it is opened
    if isinstance(data, Unreadable):
        raise ScenarioError([Problem(file, "", data.message)])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem(file, "", "not UTF-8 text", data.count(b"\n", 0, exc.start) + 1)]) from None
    reader = csv.reader(text.splitlines())
    try:
        header = [h.strip() for h in next(_rows(reader), [])]
        rows = [(reader.line_num, row) for row in _rows(reader)]
    except csv.Error as exc:  # a field over csv's size limit
        raise ScenarioError([Problem(file, "", f"not a CSV file: {exc}", reader.line_num)]) from None
    problems = _header_problems(file, header)
    if problems:
        raise ScenarioError(problems)
    out: list[Observation] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        if len(row) != len(header):
            problems.append(Problem(file, "", f"has {len(row)} fields, the header {len(header)}", line))
            continue
        cells = {h: c.strip() for h, c in zip(header, row, strict=True)}
        observation = _row(file, line, cells, facts, problems)
        if observation is None:
            continue
        if observation.name in seen:
            problems.append(
                Problem(file, "figure", f"the same figure as line {seen[observation.name]} ({observation.name})", line)
            )
        seen.setdefault(observation.name, line)
        out.append(observation)
    if not out and not problems:
        problems.append(Problem(file, "", "no observations: one row per observed figure after the header"))
    if problems:
        raise ScenarioError(problems)
    return out


def _rows(reader):
    """The rows of a CSV reader without blank lines and comment lines (a first cell starting with #)."""
    for row in reader:
        if any(cell.strip() for cell in row) and not row[0].lstrip().startswith("#"):
            yield row


def _header_problems(file: str, header: list[str]) -> list[Problem]:
    problems = []
    for column in header:
        if column not in COLUMNS:
            problems.append(Problem(file, column or "(empty)", f"unknown column{_suggest(column, COLUMNS)}", 1))
    for column in REQUIRED:
        if column not in header:
            problems.append(Problem(file, column, f"missing column (the columns: {', '.join(COLUMNS)})", 1))
    if len(set(header)) != len(header):
        problems.append(Problem(file, "", "a column is named twice", 1))
    return problems


def _suggest(word: str, allowed) -> str:
    close = difflib.get_close_matches(word, [str(a) for a in allowed], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _row(file: str, line: int, cells: dict, facts: ScenarioFacts, problems: list) -> Observation | None:
    """One row's observation, or None with its problems added."""
    before = len(problems)

    def bad(column: str, message: str) -> None:
        problems.append(Problem(file, column, message, line))

    figure = cells.get("figure", "")
    if figure not in FIGURES:
        bad("figure", f"must be one of {', '.join(FIGURES)}, not {figure!r}{_suggest(figure, FIGURES)}")
        return None
    _check_fields(figure, cells, bad)
    key = _key(cells.get("key", ""), facts, bad) if cells.get("key") else ""
    facility = _facility(cells.get("facility", ""), facts, bad) if cells.get("facility") else None
    kind = _type(cells.get("type", ""), facts, bad) if cells.get("type") else ""
    hour = _hour(cells.get("hour", ""), facts, bad) if cells.get("hour") else None
    value = _number(cells.get("value", ""), "value", bad)
    sd = _number(cells["sd"], "sd", bad) if cells.get("sd") else DEFAULT_SD
    if value is not None and figure != "summary" and value < 0:
        bad("value", f"{figure} counts people or visits: it cannot be negative ({value:g})")
    if value is not None and figure == "share_using" and value > 1:
        bad("value", f"a share is at most 1, not {value:g}")
    if sd is not None and sd < 0:
        bad("sd", f"a standard deviation cannot be negative ({sd:g})")
    if len(problems) > before:
        return None
    return Observation(line, figure, key, facility, kind, hour, value, sd)


def _check_fields(figure: str, cells: dict, bad) -> None:
    """The columns a figure needs are given, and those it does not take are empty."""
    wanted: set[str] = set()
    for need in _NEEDS[figure]:
        options = need if isinstance(need, tuple) else (need,)
        wanted.update(options)
        given = [o for o in options if cells.get(o)]
        if not given:
            bad(" or ".join(options), f"{figure} needs {' or '.join(options)}")
        elif len(given) > 1:
            bad(" and ".join(given), f"{figure} takes {' or '.join(options)}, not both")
    for column in ("key", "facility", "type", "hour"):
        if column not in wanted and cells.get(column):
            bad(column, f"{figure} takes no {column}: leave it empty")


def _key(text: str, facts: ScenarioFacts, bad) -> str:
    if text not in facts.summary_keys:
        bad("key", f"{text!r} is not a number of the summary of {facts.name}{_suggest(text, facts.summary_keys)}")
    return text


def _facility(text: str, facts: ScenarioFacts, bad) -> int | None:
    """A facility by id (facilities.csv) or by name; the closest id or name suggested."""
    ids = sorted(facts.facilities)
    try:
        fid = int(text)
    except ValueError:
        fid = None
    if fid is not None:
        if fid in facts.facilities:
            return fid
        nearest = min(ids, key=lambda i: abs(i - fid)) if ids else None
        hint = f" (ids {ids[0]} to {ids[-1]}; the closest: {nearest}, {facts.facilities[nearest][1]!r})" if ids else ""
        bad("facility", f"no facility {fid} in {facts.name}{hint}")
        return None
    by_name = {name: i for i, (_, name) in facts.facilities.items()}
    if text in by_name:
        return by_name[text]
    bad("facility", f"no facility named {text!r} in {facts.name}{_suggest(text, by_name)}")
    return None


def _type(text: str, facts: ScenarioFacts, bad) -> str:
    if text not in facts.types:
        bad("type", f"{text!r} is no facility type of {facts.name}{_suggest(text, facts.types)}")
    return text


def _hour(text: str, facts: ScenarioFacts, bad) -> int | None:
    try:
        hour = int(text)
    except ValueError:
        bad("hour", f"must be a whole clock hour, 0 to 23, not {text!r}")
        return None
    if hour not in facts.hours:
        bad(
            "hour",
            f"hour {hour} is outside the simulated day of {facts.name} (hours {facts.hours[0]} to {facts.hours[-1]})",
        )
        return None
    return hour


def _number(text: str, column: str, bad) -> float | None:
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        bad(column, f"must be a number, not {text!r}")
        return None
    return value
