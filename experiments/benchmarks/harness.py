"""Benchmark harness: each case is one whole ``lifecircle run`` in a fresh process.

For each case it measures the wall time of the command from outside (interpreter start, scenario
build, access, simulation and outputs), the child's peak resident memory (``os.wait4``), and
reads the stage times the run wrote to run.json. A warm-up run first fills the numba kernels'
on-disk cache, so that the one-time compilation after installing is not counted in the
cases. Resident-days per second = residents x days / wall seconds;
"ratio" compares each case's resident-days per second with the per-agent engine's in the same
benchmark run. A separate in-process case times the access fields of every facility type.

Machines of the same kind differ by more than 2x in wall time (and a loaded machine by more), so
every benchmark run also times a fixed reference in the same run, before the first case and after
every case run: a bare numpy pass over 532,100 residents (Wuhai's population) x 960 one-minute
ticks, five vectorised operations a tick, nothing of lifecircle (:func:`reference_pass`). Each
case run's wall time over the mean of the two references timed just before and just after it is
the figure to compare across machines and sessions (the same machine's speed was seen to drift by
25% within minutes, so a reference timed once for the whole suite would not do): the table gives
it ("x ref"), with ``--repeat N`` the run of median x ref of N, and the harness compares it with
the ratios recorded in ``experiments/benchmarks/recorded.json`` (the README's last measurement)
and names every case more than 20% slower than recorded.

The table printed at the end is what the README's performance section quotes, with the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from model.cli.common import MAX_REPEATS, days_type, scenario_name, shown, whole_number

REFERENCE_RESIDENTS = 532_100
"""Residents of the reference pass: wuhai_city's population."""
REFERENCE_TICKS = 960
"""Ticks of the reference pass: one day of 06:00-22:00 at one minute."""
RECORDED = Path(__file__).with_name("recorded.json")
"""The ratios to the reference of the README's last measurement: case -> ratio."""
REGRESSION = 1.2
"""A case whose ratio exceeds its recorded ratio by this factor is named a regression (issue 19)."""

# (scenario, engine, days): the default suite
DEFAULT_CASES = (
    ("wuhai_life_circle", "agents", 1),
    ("wuhai_life_circle", "fast", 1),
    ("wuhai_city", "fast", 1),
    ("qingshan_city", "fast", 1),
)


class CaseFailed(Exception):
    """A benchmark case's run did not succeed (its error output is the message)."""


@dataclass
class Result:
    """One benchmark case's measurements."""

    scenario: str
    engine: str
    residents: int
    ticks: int
    wall_s: float
    peak_rss_mb: float
    stages: dict
    x_ref: float | None = None
    """Wall time over the reference timed beside this run (None: compare with a suite-wide reference)."""

    @property
    def resident_days_per_s(self) -> float:
        """Residents times days simulated, per wall second."""
        days = self.ticks / self.stages.get("ticks_per_day", self.ticks)
        return self.residents * days / self.wall_s


def machine() -> str:
    """A one-line description of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024**2:.0f} GB memory"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, {platform.system()}"


def reference_pass(residents: int = REFERENCE_RESIDENTS, ticks: int = REFERENCE_TICKS) -> float:
    """Seconds of the fixed reference: a bare numpy pass over ``residents`` x ``ticks``, best of 3.

    Each tick: who is due, their next time, a state flip and a count by state, five vectorised
    operations over every resident, in this process (no interpreter start, no lifecircle code).
    The work is fixed, so its time measures the machine and its load at the moment of the run.
    """
    import numpy as np

    pace = np.linspace(40.0, 90.0, residents)
    best = float("inf")
    for _ in range(3):
        timer = np.zeros(residents)
        state = np.zeros(residents, dtype=np.int8)
        t0 = time.perf_counter()
        for tick in range(ticks):
            due = timer <= tick
            timer = np.where(due, timer + pace * 0.1 + 5.0, timer)
            state ^= due.view(np.int8)
            np.bincount(state, minlength=2)
        best = min(best, time.perf_counter() - t0)
    return best


def run_case(scenario: str, engine: str, days: int, extra: list[str]) -> Result:
    """Run one ``lifecircle run`` in a fresh process and measure it."""
    with tempfile.TemporaryDirectory(prefix="lifecircle-bench-") as tmp:
        out = Path(tmp) / "out"
        cmd = [
            sys.executable,
            "-m",
            "model.cli",
            "run",
            scenario,
            "--engine",
            engine,
            "--days",
            str(days),
            "--out",
            str(out),
            "--quiet",
            *extra,
        ]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        if os.waitstatus_to_exitcode(status) != 0:
            raise CaseFailed(f"{scenario} ({engine}): lifecircle run failed:\n{stderr.strip()}")
        summary = json.loads((out / "summary.json").read_text())
        run = json.loads((out / "run.json").read_text())
    stages = dict(run["wall_s"])
    stages["ticks_per_day"] = run["ticks"] // days
    return Result(scenario, engine, summary["residents"], run["ticks"], wall, usage.ru_maxrss / 1024, stages)


def time_access(scenario: str) -> tuple[float, int, int]:
    """Seconds to compute the walking-time field of every facility type (in this process), cells, types."""
    from model.city.candidates import type_fields
    from model.city.grid import build_city
    from model.city.surface import GridSurface
    from model.scenario import load_scenario

    city = build_city(load_scenario(scenario))
    surface = GridSurface(city)
    type_fields(surface, city)  # warm up (imports, caches)
    t0 = time.perf_counter()
    type_fields(surface, city)
    return time.perf_counter() - t0, city.n_cells, len(city.types)


def case_key(r: Result) -> str:
    """The name of a case in recorded.json: ``scenario:engine:days``."""
    return f"{r.scenario}:{r.engine}:{r.ticks // r.stages.get('ticks_per_day', r.ticks)}"


def table(results: list[Result], reference_s: float | None = None) -> str:
    """The results as a Markdown table; with ``reference_s``, each wall time over the reference's too."""
    agents = [r for r in results if r.engine == "agents"]
    base = agents[0].resident_days_per_s if agents else None
    lines = [
        "| scenario | engine | residents | ticks | wall s | x ref | resident-days/s | peak RSS MB | ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ratio = f"{r.resident_days_per_s / base:,.0f}x" if base else "-"
        of_ref = _of_ref(r, reference_s)
        of_ref = f"{of_ref:.2f}" if of_ref else "-"
        lines.append(
            f"| {r.scenario} | {r.engine} | {r.residents:,} | {r.ticks:,} | {r.wall_s:.1f} | {of_ref} | "
            f"{r.resident_days_per_s:,.0f} | {r.peak_rss_mb:,.0f} | {ratio} |"
        )
    return "\n".join(lines)


def _of_ref(r: Result, reference_s: float | None) -> float | None:
    """The run's own x ref if it has one, else its wall time over ``reference_s`` (None without either)."""
    if r.x_ref is not None:
        return r.x_ref
    return r.wall_s / reference_s if reference_s else None


def regressions(results: list[Result], reference_s: float | None, recorded: dict[str, float]) -> list[str]:
    """One line per case whose ratio to the reference exceeds its recorded ratio by more than 20%."""
    lines = []
    for r in results:
        was = recorded.get(case_key(r))
        now = _of_ref(r, reference_s)
        if was and now and now > REGRESSION * was:
            lines.append(f"REGRESSION {case_key(r)}: {now:.2f} x ref against {was:.2f} recorded (+{now / was - 1:.0%})")
    return lines


def _recorded() -> dict[str, float]:
    try:
        data = json.loads(RECORDED.read_text())
    except (OSError, ValueError):
        return {}
    ratios = data.get("ratios", {}) if isinstance(data, dict) else {}
    return {k: float(v) for k, v in ratios.items() if isinstance(v, (int, float))}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark suite (or the cases given) and print the table."""
    parser = argparse.ArgumentParser(prog="lifecircle bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--case",
        action="append",
        metavar="SCENARIO:ENGINE[:DAYS]",
        help="a case to run (repeatable); default: the standard suite",
    )
    parser.add_argument(
        "--access", type=scenario_name, default="wuhai_city", help="scenario whose access fields are timed"
    )
    parser.add_argument(
        "--repeat",
        type=whole_number(1, MAX_REPEATS, "a number of runs"),
        default=1,
        help=f"runs of each case, 1 to {MAX_REPEATS}; the table gives the run of median x ref (default 1)",
    )
    args = parser.parse_args(argv)
    cases = DEFAULT_CASES
    if args.case:
        cases = []
        for spec in args.case:
            parts = spec.split(":")
            if len(parts) not in (2, 3) or parts[1] not in ("agents", "fast"):
                parser.error(f"--case must be SCENARIO:ENGINE[:DAYS], not {shown(spec)}")
            try:
                scenario_name(parts[0])
            except argparse.ArgumentTypeError as exc:
                parser.error(f"--case {shown(spec)}: SCENARIO {exc}")
            try:
                days = days_type(parts[2]) if len(parts) == 3 else 1
            except argparse.ArgumentTypeError as exc:
                parser.error(f"--case {shown(spec)}: DAYS {exc}")
            cases.append((parts[0], parts[1], days))
    from model.scenario import ScenarioError, load_scenario

    try:  # check every scenario first, so that a typo fails in a second, not after the slow cases
        for scenario in {c[0] for c in cases} | ({args.access} if args.access else set()):
            load_scenario(scenario)
    except ScenarioError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    try:
        return _run_suite(cases, args.access, args.repeat)
    except CaseFailed as exc:
        print(f"lifecircle bench: {exc}", file=sys.stderr)
        return 2


def _run_suite(cases, access: str, repeat: int = 1) -> int:
    print(f"machine: {machine()}", flush=True)
    # the numba kernels compile once per installation (cached on disk); do it before timing
    warm = run_case("demo", "fast", 1, [])
    print(f"warm-up (compiles the numba kernels if not cached yet): demo in {warm.wall_s:.1f} s", file=sys.stderr)
    references = [reference_pass()]
    print(f"reference before the cases: {references[0]:.2f} s", file=sys.stderr, flush=True)
    results = []
    for scenario, engine, days in cases:
        print(f"running {scenario} with the {engine} engine for {days} day(s) ...", file=sys.stderr, flush=True)
        runs = []
        for _ in range(repeat):
            result = run_case(scenario, engine, days, [])
            references.append(reference_pass())  # the machine's speed just after the run
            result.x_ref = result.wall_s / ((references[-2] + references[-1]) / 2)
            stages = ", ".join(f"{k} {v:.2f}" for k, v in result.stages.items() if k.endswith("_s"))
            print(
                f"  {result.wall_s:.1f} s wall ({stages}), peak RSS {result.peak_rss_mb:,.0f} MB, "
                f"{result.x_ref:.2f} x ref (reference {references[-2]:.2f} s before, {references[-1]:.2f} s after)",
                file=sys.stderr,
                flush=True,
            )
            runs.append(result)
        runs.sort(key=lambda r: r.x_ref)
        results.append(runs[(len(runs) - 1) // 2])  # the median run (the lower of two)
        if repeat > 1:
            print(f"  x ref over {repeat} runs: {runs[0].x_ref:.2f} to {runs[-1].x_ref:.2f}", file=sys.stderr)
    reference_s = sum(references) / len(references)
    print(
        f"fixed reference (numpy pass over {REFERENCE_RESIDENTS:,} residents x {REFERENCE_TICKS} ticks, best of 3): "
        f"{min(references):.2f} to {max(references):.2f} s over {len(references)} passes, one before the cases and"
        f" one after each run; x ref divides each run by the mean of the passes just before and after it"
    )
    print(table(results, reference_s))
    by_key = {case_key(r): r for r in results}
    city, qingshan = by_key.get("wuhai_city:fast:1"), by_key.get("qingshan_city:fast:1")
    if city:
        print(
            f"\nwuhai_city: {city.wall_s:.1f} s wall (target at most 10 s), "
            f"peak {city.peak_rss_mb:,.0f} MB (at most 1,500)"
        )
    if city and qingshan:
        print(
            f"qingshan_city / wuhai_city: {qingshan.x_ref / city.x_ref:.2f} in x ref, "
            f"{qingshan.wall_s / city.wall_s:.2f} in wall time (target at most 1.5)"
        )
    recorded = _recorded()
    slower = regressions(results, reference_s, recorded)
    for line in slower:
        print(line)
    if recorded and not slower:
        print(f"no case more than 20% slower than recorded in {RECORDED.name}")
    if access:
        seconds, cells, types = time_access(access)
        print(f"\naccess fields of {types} facility types on {access} ({cells:,} cells): {seconds:.3f} s")
    return 0
