"""``lifecircle run``: build a scenario, simulate its days, write the results folder, print the tables."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from model.cli.common import BadArgument, fmt, positive_int, print_warnings, seed_type
from model.scenario import load_scenario


def add_parser(sub) -> None:
    """The ``run`` subcommand's arguments."""
    run = sub.add_parser("run", help="run a scenario and write a results folder")
    run.add_argument(
        "scenario", nargs="?", help="scenario file or bundled name (default: demo; `lifecircle scenarios` lists them)"
    )
    run.add_argument("--seed", type=seed_type, help="random seed (default: the scenario's seed)")
    run.add_argument("--out", type=Path, help="results folder (default: results/<scenario>-<time> in this folder)")
    run.add_argument(
        "--overwrite", action="store_true", help="replace the run already in --out (its files are removed first)"
    )
    run.add_argument("--days", type=positive_int, default=1, help="days of daily life to simulate (default 1)")
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
    run.add_argument(
        "--geojson", action="store_true", help="write geo/*.geojson: facilities, communities, blocked land, bands"
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    """Build the scenario, simulate the days, write the results folder."""
    from tqdm import tqdm

    from model.model import LifeCircleModel
    from model.report import results
    from model.report.files import VisitsCsv

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise BadArgument(f"--out: {args.out} exists and is not a folder")
    scenario = load_scenario(args.scenario)
    timings["load_s"] = time.perf_counter() - t0
    out = args.out or results.default_out_dir(scenario, Path.cwd() / "results")
    earlier = results.run_files_in(out)
    if earlier and not args.overwrite:
        names = ", ".join(p.name for p in earlier[:3]) + (", ..." if len(earlier) > 3 else "")
        raise BadArgument(f"--out: {out} already holds a run ({names}); add --overwrite to replace it")
    print_warnings(scenario)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for path in earlier:
            path.unlink()
    except OSError as exc:
        raise BadArgument(f"--out: cannot write to {out}: {exc.strerror or exc}") from None
    results.write_scenario(scenario, out)
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
        visit_sink=VisitsCsv(out / "visits.csv", scenario.simulation.day_start_min) if args.log_visits else None,
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
    summary = results.write_results(model, out, timings, contacts=args.contacts, geojson=args.geojson)
    timings["total_s"] = time.perf_counter() - t0
    print_access(summary, sys.stdout)
    print_usage(summary, sys.stdout)
    print(f"results written to {out}")
    return 0


def print_access(summary: dict, out) -> None:
    """The access table: users, walking minutes and shares within the bands, per facility type."""
    from model.measures.access import BANDS_MIN

    access = summary["access"]
    print(f"{summary['scenario']}: {summary['residents']:,} residents (seed {summary['seed']})", file=out)
    print("  walking access of each type's users (minutes at their own pace; shares of users):", file=out)
    bands = "".join(f"{f'<={k} min':>9}" for k in BANDS_MIN)
    print(f"  {'facility type':<16}{'users':>9}{'mean min':>10}{'p90 min':>9}{bands}{'unreachable':>13}", file=out)
    for t, a in access.items():
        shares = "".join(fmt(a[f"within_{k}"], ">9.0%") for k in BANDS_MIN)
        print(
            f"  {t:<16}{a['users']:>9,}{fmt(a['mean_min'], '>10.1f')}{fmt(a['p90_min'], '>9.1f')}{shares}"
            f"{a['unreachable']:>13,}",
            file=out,
        )
    complete = summary["life_circle_complete"]
    if complete is not None:
        print(f"  life circle complete (every needed type within its level): {complete:.1%}", file=out)


def print_usage(summary: dict, out) -> None:
    """The usage table (per day and shares, with units in the headers) and exposure by group."""
    print(f"  daily life over {summary['days']:,} day(s), {summary['engine']} engine:", file=out)
    print(
        f"  {'facility type':<16}{'visits/day':>12}{'turned away/day':>17}{'unmet % wanted':>16}"
        f"{'mean walk min':>15}{'walk <=15 min %':>17}{'peak/capacity':>15}",
        file=out,
    )
    for t, u in summary["usage"].items():
        print(
            f"  {t:<16}{u['visits']:>12,.1f}{u['turned_away']:>17,.1f}{fmt(u['unmet_share'], '>16.1%')}"
            f"{fmt(u['mean_walk_min'], '>15.1f')}{fmt(u['fifteen_minute_usage'], '>17.0%')}"
            f"{fmt(u['peak_occupancy_ratio'], '>15.2f')}",
            file=out,
        )
    act = summary["mixing"]["activity"]
    res = summary["mixing"]["residential"]["blocks"]
    print("  exposure to other groups (share of company; residential blocks -> activity):", file=out)
    for g, e in act["exposure"].items():
        print(f"    {g:<12}{fmt(res['exposure'].get(g), '>8.3f')} -> {fmt(e, '.3f')}", file=out)
