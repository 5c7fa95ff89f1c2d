"""``lifecircle calibrate``: fit behaviour parameters to observed figures, locally or on Dask (docs/calibration.md)."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from model.cli.common import (
    MAX_WORKERS,
    BadArgument,
    check_scheduler,
    input_file,
    scheduler_address,
    workers_type,
    writable_folder,
)


def add_parser(sub) -> None:
    """The ``calibrate`` subcommand's arguments (those of ``batch``)."""
    import os

    calibrate = sub.add_parser(
        "calibrate", help="fit parameters to observed figures: a calibration file (docs/calibration.md)"
    )
    calibrate.add_argument("calibration", type=input_file, help="calibration file (TOML)")
    calibrate.add_argument(
        "--workers",
        type=workers_type,
        default=min(os.cpu_count() or 1, MAX_WORKERS),
        help=f"local worker processes, 1 to {MAX_WORKERS:,} (default: the cores)",
    )
    calibrate.add_argument(
        "--scheduler", type=scheduler_address, help="run on a Dask cluster: its scheduler's address, tcp://HOST:PORT"
    )
    calibrate.add_argument(
        "--out", type=Path, help="output folder (default: results/<calibration name> in this folder)"
    )
    calibrate.add_argument("--resume", action="store_true", help="keep the runs already done in --out, run the rest")
    calibrate.add_argument(
        "--overwrite", action="store_true", help="remove an earlier calibration's files from --out first"
    )
    calibrate.add_argument("--quiet", action="store_true", help="no progress output")
    calibrate.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Check the file and the observations, search, write the tables; exit 1 if every point failed."""
    from model.batch.calibration.file import load_calibration

    if args.resume and args.overwrite:
        raise BadArgument("calibrate: --resume keeps the runs in --out, --overwrite removes them: give one")
    if args.scheduler:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise BadArgument(
                "calibrate: --scheduler needs Dask: pip install 'lifecircle[dask]' (dask and distributed)"
            ) from None
        check_scheduler(args.scheduler)
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise BadArgument("calibrate needs optuna: pip install 'lifecircle[calibrate]'") from None
    calibration = load_calibration(args.calibration)
    from model.batch.calibration.calibrate import clear, earlier_calibration, run_calibration
    from model.batch.calibration.observations import read_observations, scenario_facts

    observations = read_observations(calibration.observations, scenario_facts(calibration.scenario, calibration.days))
    out = args.out or Path.cwd() / "results" / calibration.name
    writable_folder(out)
    if earlier_calibration(out) and not (args.resume or args.overwrite):
        raise BadArgument(
            f"--out: {out} already holds a calibration; add --resume to finish it or --overwrite to replace it"
        )
    if args.overwrite:
        clear(out)
    result = run_calibration(
        calibration, observations, out, workers=args.workers, scheduler=args.scheduler, quiet=args.quiet
    )
    _print_summary(calibration, result)
    print(f"results written to {out}")
    if result["failed"] == result["points"]:
        print("lifecircle calibrate: every point failed; see trials.csv and runs/", file=sys.stderr)
        return 1
    return 0


def _print_summary(calibration, result: dict) -> None:
    """Best value and 95% interval per parameter, and the observations that fit worst."""
    print(
        f"{calibration.name}: {result['points']:,} points ({result['runs']:,} runs, "
        f"{len(calibration.seeds)} seeds each), {result['failed']:,} failed"
    )
    for _, row in result["parameters"].iterrows():
        if math.isnan(row["best"]):
            print(f"  {row['parameter']}: no point evaluated")
            continue
        edge = "  (reaches the end of the range: widen it)" if row["at_range_end"] else ""
        print(
            f"  {row['parameter']}: best {row['best']:.4g}, 95% interval {row['ci95_low']:.4g} to "
            f"{row['ci95_high']:.4g} (range {row['min']:.4g} to {row['max']:.4g}){edge}"
        )
    fit = result["fit"]
    if fit is not None:
        worst = fit.loc[fit["residual"].abs().idxmax()]
        print(
            f"  {len(fit)} observations; largest standardised residual {worst['residual']:+.2f} "
            f"(line {worst['line']}, {worst['figure']})"
        )
