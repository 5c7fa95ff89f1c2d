"""ruff finds nothing in model, experiments, tests and scenarios: the checks selected in pyproject.toml
(pycodestyle, pyflakes, import order, bugbear, pyupgrade) and Google-style docstrings (pydocstyle's D rules).
"""

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
