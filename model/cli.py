"""The ``lifecircle`` command: run and validate scenarios.

Bad input (a scenario with problems, a bad flag value) prints one line per problem on stderr,
names the file and key, writes nothing and exits with status 2; it never prints a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from model.scenario import ROOT, ScenarioError, load_scenario

EXIT_BAD_INPUT = 2


class _BadArgument(Exception):
    """A command-line value that cannot be used (reported like a scenario problem)."""


def _results_root() -> Path:
    """results/ of the source checkout when there is one, else ./results."""
    if (ROOT / "pyproject.toml").exists() and (ROOT / "model").is_dir():
        return ROOT / "results"
    return Path.cwd() / "results"


def _check_out(out: Path | None) -> None:
    if out is not None and out.exists() and not out.is_dir():
        raise _BadArgument(f"--out: {out} exists and is not a folder")


def _print_access(summary: dict, out) -> None:
    from model.measures.access import BANDS_MIN

    access = summary["access"]
    print(f"{summary['scenario']}: {summary['residents']:,} residents (seed {summary['seed']})", file=out)
    bands = "".join(f"{f'<={k}':>7}" for k in BANDS_MIN)
    header = f"  {'facility type':<16}{'users':>9}{'mean min':>10}{'p90 min':>9}{bands}{'unreach':>9}"
    print(header, file=out)
    for t, a in access.items():
        mean = f"{a['mean_min']:.1f}" if a["mean_min"] is not None else "-"
        p90 = f"{a['p90_min']:.1f}" if a["p90_min"] is not None else "-"
        shares = "".join(
            f"{a[f'within_{k}']:>7.0%}" if a[f"within_{k}"] is not None else f"{'-':>7}" for k in BANDS_MIN
        )
        print(f"  {t:<16}{a['users']:>9,}{mean:>10}{p90:>9}{shares}{a['unreachable']:>9,}", file=out)
    complete = summary["life_circle_complete"]
    if complete is not None:
        print(f"  life circle complete (every needed type within its level): {complete:.1%}", file=out)


def _print_usage(summary: dict, out) -> None:
    print(f"  daily life over {summary['days']} day(s), {summary['engine']} engine:", file=out)
    print(
        f"  {'facility type':<16}{'visits/day':>11}{'turned away':>12}{'unmet':>8}"
        f"{'walk min':>9}{'<=15 min':>9}{'peak/cap':>9}",
        file=out,
    )
    for t, u in summary["usage"].items():

        def fmt(v, spec):
            return format(v, spec) if v is not None else "-"

        print(
            f"  {t:<16}{u['visits']:>11,.1f}{u['turned_away']:>12,.1f}{fmt(u['unmet_share'], '>8.1%')}"
            f"{fmt(u['mean_walk_min'], '>9.1f')}{fmt(u['fifteen_minute_usage'], '>9.0%')}"
            f"{fmt(u['peak_occupancy_ratio'], '>9.2f')}",
            file=out,
        )
    act = summary["mixing"]["activity"]
    res = summary["mixing"]["residential"]["blocks"]
    print("  exposure to other groups (residential blocks -> activity):", file=out)
    for g, e in act["exposure"].items():
        r = res["exposure"].get(g)
        r_txt = f"{r:.3f}" if r is not None else "-"
        e_txt = f"{e:.3f}" if e is not None else "-"
        print(f"    {g:<12}{r_txt:>8} -> {e_txt}", file=out)


def cmd_run(args: argparse.Namespace) -> int:
    """``lifecircle run``: build the scenario, simulate the days, write the results folder."""
    from tqdm import tqdm

    from model.model import LifeCircleModel
    from model.report.files import VisitsCsv
    from model.report.results import default_out_dir, write_results

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    _check_out(args.out)
    scenario = load_scenario(args.scenario)
    timings["load_s"] = time.perf_counter() - t0
    out = args.out or default_out_dir(scenario, _results_root())
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _BadArgument(f"--out: cannot create {out}: {exc.strerror or exc}") from None
    show = not args.quiet and sys.stderr.isatty()  # stage lines, like the progress bar, only on a terminal

    def stage(text: str) -> None:
        if show:
            print(text, file=sys.stderr, flush=True)

    residents = sum(c.residents for c in scenario.communities)
    stage(f"{scenario.name}: building the city, {residents:,} residents and their walking access ...")
    t1 = time.perf_counter()
    model = LifeCircleModel(
        scenario,
        seed=args.seed,
        days=args.days,
        engine=args.engine,
        visit_sink=VisitsCsv(out / "visits.csv") if args.log_visits else None,
    )
    timings["build_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    with tqdm(
        total=model.total_ticks,
        unit="tick",
        desc=f"{scenario.name} ({args.engine})",
        disable=args.quiet or None,
        file=sys.stderr,
        leave=False,
    ) as bar:
        model.run(progress=lambda done: bar.update(done - bar.n))
    timings["simulate_s"] = time.perf_counter() - t2
    stage("writing tables, maps and charts ...")
    summary = write_results(model, out, timings, contacts=args.contacts)
    timings["total_s"] = time.perf_counter() - t0
    _print_access(summary, sys.stdout)
    _print_usage(summary, sys.stdout)
    print(f"results written to {out}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """``lifecircle validate``: check scenario files, report every problem."""
    status = 0
    for path in args.scenarios:
        try:
            s = load_scenario(path)
        except ScenarioError as exc:
            for p in exc.problems:
                print(p, file=sys.stderr)
            status = EXIT_BAD_INPUT
        else:
            n = sum(c.residents for c in s.communities)
            print(
                f"{path}: ok ({s.name}: {len(s.communities)} communities, {n:,} residents, "
                f"{len(s.facilities)} facilities)"
            )
    return status


def _int_at_least(minimum: int, words: str):
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


_seed = _int_at_least(0, "a non-negative integer")
_positive_int = _int_at_least(1, "a positive integer")


def cmd_bench(args: argparse.Namespace) -> int:
    """``lifecircle bench``: the benchmark harness of experiments/benchmarks."""
    sys.path.insert(0, str(ROOT))
    from experiments.benchmarks.harness import main as bench_main

    return bench_main(args.bench_args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of all subcommands."""
    parser = argparse.ArgumentParser(
        prog="lifecircle", description="Simulate 15-minute community life circles (一刻钟社区生活圈)."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario and write a results folder")
    run.add_argument("scenario", nargs="?", help="scenario file or bundled name (default: scenarios/demo.toml)")
    run.add_argument("--seed", type=_seed, help="random seed (default: the scenario's seed)")
    run.add_argument("--out", type=Path, help="results folder (default: results/<scenario>-<time>)")
    run.add_argument("--days", type=_positive_int, default=1, help="days of daily life to simulate (default 1)")
    run.add_argument(
        "--engine",
        choices=("fast", "agents"),
        default="fast",
        help="fast: vectorised; agents: one Mesa agent per resident, the readable reference",
    )
    run.add_argument("--log-visits", action="store_true", help="write visits.csv, one row per completed visit")
    run.add_argument(
        "--contacts",
        action="store_true",
        help="write contacts.graphml, the network of who met whom, and its group assortativity",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)
    val = sub.add_parser("validate", help="check scenario files and report every problem")
    val.add_argument("scenarios", nargs="+", help="scenario files")
    val.set_defaults(func=cmd_validate)
    bench = sub.add_parser(
        "bench", help="time whole runs of the benchmark scenarios (experiments/benchmarks)", add_help=False
    )
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lifecircle`` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # the harness parses its own options
        return cmd_bench(argparse.Namespace(bench_args=argv[1:]))
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ScenarioError as exc:
        for p in exc.problems:
            print(p, file=sys.stderr)
        return EXIT_BAD_INPUT
    except _BadArgument as exc:
        print(f"lifecircle: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("lifecircle: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
