"""``lifecircle batch``: run an experiment file's scenarios x parameters x seeds, locally or on Dask."""

from __future__ import annotations

import argparse
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
    """The ``batch`` subcommand's arguments."""
    import os

    batch = sub.add_parser("batch", help="run an experiment file: scenarios x parameters x seeds (docs/experiments.md)")
    batch.add_argument("experiment", type=input_file, help="experiment file (TOML)")
    batch.add_argument(
        "--workers",
        type=workers_type,
        default=min(os.cpu_count() or 1, MAX_WORKERS),
        help=f"local worker processes, 1 to {MAX_WORKERS:,} (default: the cores)",
    )
    batch.add_argument(
        "--scheduler", type=scheduler_address, help="run on a Dask cluster: its scheduler's address, tcp://HOST:PORT"
    )
    batch.add_argument("--out", type=Path, help="output folder (default: results/<experiment name> in this folder)")
    batch.add_argument("--resume", action="store_true", help="keep the runs already done in --out, run the rest")
    batch.add_argument("--overwrite", action="store_true", help="remove an earlier batch's files from --out first")
    batch.add_argument("--quiet", action="store_true", help="no progress output")
    batch.add_argument(
        "--check-convergence",
        action="store_true",
        help="[sensitivity] only: run the design at N and at 2N and write convergence.csv (the change of every index)",
    )
    batch.set_defaults(func=cmd_batch)


def cmd_batch(args: argparse.Namespace) -> int:
    """Check the experiment, run what is missing, write the tables; exit 1 if some runs failed."""
    from model.batch.experiment import load_experiment

    if args.resume and args.overwrite:
        raise BadArgument("batch: --resume keeps the runs in --out, --overwrite removes them: give one")
    if args.scheduler:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise BadArgument(
                "batch: --scheduler needs Dask: pip install 'lifecircle[dask]' (dask and distributed)"
            ) from None
        check_scheduler(args.scheduler)
    experiment = load_experiment(args.experiment)
    if args.check_convergence and experiment.sensitivity is None:
        raise BadArgument(
            f"--check-convergence: {args.experiment.name} has no [sensitivity] table: "
            "only a sensitivity design has indices to converge"
        )
    from model.batch.batch import check_convergence, check_metrics, clear, earlier_batch, run_batch  # the runner

    check_metrics(experiment)
    out = args.out or Path.cwd() / "results" / experiment.name
    writable_folder(out)
    if earlier_batch(out) and not (args.resume or args.overwrite):
        raise BadArgument(f"--out: {out} already holds a batch; add --resume to finish it or --overwrite to replace it")
    if args.overwrite:
        clear(out)
    command = ["lifecircle", *getattr(args, "argv", ["batch", str(args.experiment)])]
    batch = check_convergence if args.check_convergence else run_batch
    counts = batch(experiment, out, workers=args.workers, scheduler=args.scheduler, quiet=args.quiet, command=command)
    print(f"{experiment.name}: {counts['done']:,} of {counts['runs']:,} runs done, {counts['failed']:,} failed")
    print(f"results written to {out}")
    if counts["failed"]:
        print(f"lifecircle batch: {counts['failed']:,} run(s) failed; see runs.csv (status, error)", file=sys.stderr)
        return 1
    return 0
