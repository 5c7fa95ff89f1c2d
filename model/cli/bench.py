"""``lifecircle bench``: the benchmark harness of a source checkout (experiments/benchmarks)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from model.cli.common import BadArgument

HARNESS = Path("experiments") / "benchmarks" / "harness.py"


def checkout_root(start: Path) -> Path | None:
    """The lifecircle source checkout that holds ``start`` (a folder with the benchmark harness), if any."""
    for folder in (start, *start.parents):
        pyproject = folder / "pyproject.toml"
        if (folder / HARNESS).is_file() and pyproject.is_file() and 'name = "lifecircle"' in pyproject.read_text():
            return folder
    return None


def cmd_bench(bench_args: list[str]) -> int:
    """Run ``python -m experiments.benchmarks`` in the checkout; the harness parses its own options."""
    root = checkout_root(Path.cwd().resolve())
    if root is None:
        raise BadArgument(
            "bench: the benchmark harness is part of the source checkout (experiments/benchmarks), "
            "not of the installed package; run `lifecircle bench` inside a clone of the project"
        )
    return subprocess.run([sys.executable, "-m", "experiments.benchmarks", *bench_args], cwd=root).returncode
