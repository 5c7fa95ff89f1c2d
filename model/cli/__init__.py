"""The ``lifecircle`` command: one module per subcommand, each a thin layer over the stages.

Bad input (a scenario with problems, a bad flag value) prints one line per problem on stderr,
names the file and key, writes nothing and exits with status 2; it never prints a traceback.
A reader that stops reading (``lifecircle run | head -3``) ends the command quietly. Every
flag's value is read by one of the argument types of model/cli/common.py (whole and finite
numbers with stated limits, input files refused before they are opened when they are folders,
devices or FIFOs, outputs checked before any work); docs/commands.md lists what each accepts.

Subcommands: ``run`` (model/cli/run.py), ``batch`` (model/cli/batch.py), ``calibrate``
(model/cli/calibrate.py), ``compare`` (model/cli/compare.py), ``optimize``
(model/cli/optimize.py), ``scenarios`` and ``validate`` (model/cli/scenarios.py), ``serve``
(model/cli/serve.py: the browser page), ``assets`` (model/cli/assets.py: its front-end files for
offline use), ``bench`` (model/cli/bench.py). A new command gets a module of its own with an
``add_parser`` function, registered in :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import os
import sys

from model.cli import assets, batch, bench, calibrate, compare, importer, optimize, run, scenarios, serve
from model.cli.common import EXIT_BAD_INPUT, BadArgument
from model.scenario import ScenarioError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of all subcommands."""
    parser = argparse.ArgumentParser(
        prog="lifecircle", description="Simulate 15-minute community life circles (一刻钟社区生活圈)."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run.add_parser(sub)
    batch.add_parser(sub)
    calibrate.add_parser(sub)
    compare.add_parser(sub)
    optimize.add_parser(sub)
    scenarios.add_parsers(sub)
    serve.add_parser(sub)
    assets.add_parser(sub)
    importer.add_parser(sub)
    sub.add_parser(
        "bench",
        help="time whole runs of the benchmark scenarios (needs the source checkout: experiments/benchmarks)",
        add_help=False,
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lifecircle`` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv[:1] == ["bench"]:  # the harness parses its own options
            return bench.cmd_bench(argv[1:])
        args = build_parser().parse_args(argv)
        args.argv = list(argv)  # the command line as given, for the records of a run (batch.json)
        return args.func(args)
    except ScenarioError as exc:
        for p in exc.problems:
            print(p, file=sys.stderr)
        return EXIT_BAD_INPUT
    except BadArgument as exc:
        print(f"lifecircle: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("lifecircle: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of our output went away: stop quietly, and keep Python from complaining
        # again when it flushes stdout at exit (the recipe of the signal module's documentation)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    finally:
        lang = sys.modules.get("model.report.lang")
        if lang is not None:
            lang.use()  # the next command in this process (a test's) starts in English again
        drawing = sys.modules.get("model.report.drawing")  # loaded only by commands that draw
        if drawing is not None:
            drawing.stop_drawing_process()  # the command's drawing process ends with it
