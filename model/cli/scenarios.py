"""``lifecircle scenarios`` and ``lifecircle validate``: what is bundled, and whether files are good."""

from __future__ import annotations

import argparse
import sys

from model.cli.common import EXIT_BAD_INPUT, print_warnings, scenario_refusal
from model.scenario import ScenarioError, bundled_scenarios, load_scenario


def add_parsers(sub) -> None:
    """The ``scenarios`` and ``validate`` subcommands."""
    listing = sub.add_parser("scenarios", help="list the bundled scenarios (name, residents, description)")
    listing.set_defaults(func=cmd_scenarios)
    val = sub.add_parser("validate", help="check scenario files and report every problem")
    val.add_argument("scenarios", nargs="+", help="scenario files or bundled names")
    val.set_defaults(func=cmd_validate)


def cmd_scenarios(args: argparse.Namespace) -> int:
    """List the bundled scenarios: name, residents, the first sentence of the description."""
    rows = []
    for name in bundled_scenarios():
        s = load_scenario(name)
        rows.append((name, sum(c.residents for c in s.communities), s.description))
    width = max((len(r[0]) for r in rows), default=4)
    print(f"{'name':<{width}}  {'residents':>10}  description")
    for name, residents, description in rows:
        print(f"{name:<{width}}  {residents:>10,}  {description}")
    print("run one with: lifecircle run NAME")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Check scenario files, report every problem (exit 2 if any) and every warning.

    A path that is a folder, device or FIFO is reported (and not opened), and the next file checked.
    """
    status = 0
    for path in args.scenarios:
        reason = scenario_refusal(path)
        if reason:
            name = path if len(path) <= 80 else f"{path[:80]}..."  # named as the loader names a file
            print(f"{name}: cannot read: {reason}", file=sys.stderr)
            status = EXIT_BAD_INPUT
            continue
        try:
            s = load_scenario(path)
        except ScenarioError as exc:
            for p in exc.problems:
                print(p, file=sys.stderr)
            status = EXIT_BAD_INPUT
        else:
            print_warnings(s)
            n = sum(c.residents for c in s.communities)
            print(
                f"{path}: ok ({s.name}: {len(s.communities):,} communities, {n:,} residents, "
                f"{len(s.facilities):,} facilities)"
            )
    return status
