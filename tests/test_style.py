"""The code reads as ../shared/STYLE.md asks: ruff's checks, Google-style docstrings included."""

import subprocess
import sys

from tests.conftest import ROOT


def test_ruff_finds_nothing():
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "model", "experiments", "tests", "scenarios"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
