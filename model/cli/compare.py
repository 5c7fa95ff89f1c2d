"""``lifecircle compare``: placement options side by side (model/planning/compare.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model.cli.common import (
    MAX_DAYS,
    MAX_REPLICATES,
    MAX_SEED,
    BadArgument,
    add_language_options,
    check_geojson,
    days_type,
    print_warnings,
    results_folder,
    scenario_name,
    seed_type,
    staged,
    use_language,
    whole_number,
)
from model.planning import DEFAULT_REPLICATES
from model.report.lang import Phrases
from model.scenario import load_scenario

_ = Phrases({"results written to {out}": "结果已写入 {out}"})


def add_parser(sub) -> None:
    """The ``compare`` subcommand's arguments."""
    cmp = sub.add_parser("compare", help="run scenarios with the same seed and report what changed for whom")
    cmp.add_argument(
        "scenarios",
        nargs="+",
        type=scenario_name,
        help="two or more scenario files or bundled names; the first is the base",
    )
    cmp.add_argument(
        "--seed", type=seed_type, help=f"the seed of every run, 0 to {MAX_SEED:,} (default: the first scenario's)"
    )
    cmp.add_argument("--days", type=days_type, default=1, help=f"days of daily life, 1 to {MAX_DAYS} (default 1)")
    cmp.add_argument(
        "--replicates",
        type=whole_number(1, MAX_REPLICATES, "a number of seeds"),
        default=DEFAULT_REPLICATES,
        help=f"seeds every scenario runs on, paired: --seed, --seed + 1, ..., 1 to {MAX_REPLICATES:,} "
        f"(default {DEFAULT_REPLICATES}; 1: one seed, no intervals)",
    )
    cmp.add_argument("--out", type=Path, help="output folder (default: results/compare-<first>-<time>)")
    cmp.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the comparison already in --out (once the new one is complete)",
    )
    cmp.add_argument(
        "--geojson",
        action="store_true",
        help="write geo/*.geojson into each scenario's folder (geo/<scenario>.gpkg for a grid without [grid] origin)",
    )
    add_language_options(cmp)
    cmp.add_argument("--quiet", action="store_true", help="no progress lines")
    cmp.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    """Run every scenario, write each run's folder, the comparison tables, maps and report."""
    if len(args.scenarios) < 2:
        raise BadArgument("compare: give at least two scenarios (the first is the base)")
    use_language(args)
    scenarios = [load_scenario(s) for s in args.scenarios]
    names = [s.name for s in scenarios]
    if len(set(names)) < len(names):
        raise BadArgument(f"compare: the scenarios must have different names, not {names}")
    from model.report import folders

    out = args.out or folders.new_folder(Path.cwd() / "results", f"compare-{scenarios[0].name}")
    results_folder(out, args.overwrite)
    notes = check_geojson(scenarios) if args.geojson else []
    for s in scenarios:
        print_warnings(s)
    for note in notes:
        print(note, file=sys.stderr)
    from model.planning.compare import compare
    from model.report import drawing

    drawing.start_drawing_process()  # draws each run's maps beside its tables
    with staged(out, "comparison") as work:  # the whole comparison folder, renamed to out when complete
        report = compare(
            scenarios,
            work,
            seed=args.seed,
            days=args.days,
            quiet=args.quiet,
            geojson=args.geojson,
            replicates=args.replicates,
        )
    print(report, end="")
    print(_("results written to {out}", out=out))
    return 0
