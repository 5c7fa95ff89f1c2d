"""Benchmarks of lifecircle: whole `lifecircle run` commands timed in fresh processes.

Run as ``python -m experiments.benchmarks`` or ``lifecircle bench``; see ``--help``.
"""

from experiments.benchmarks.harness import main

__all__ = ["main"]
