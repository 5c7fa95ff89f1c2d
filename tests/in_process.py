"""``lifecircle ARGS`` run by ``model.cli.main`` in the test's own process, reported as ``subprocess.run`` reports it.

For tests that are not about the process itself: the same code as the command line, without a new
interpreter and its imports (several seconds a command). Each command keeps at least one test that
runs it as a real subprocess.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
from pathlib import Path


def lifecircle(*args, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``lifecircle ARGS`` in ``cwd`` by ``main``; its exit status, stdout and stderr as a CompletedProcess.

    An exit by ``SystemExit`` (argparse's usage errors) is reported by its status, as the process's would be.
    """
    from model.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv = [str(a) for a in args]
    with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    return subprocess.CompletedProcess(["lifecircle", *argv], code, out.getvalue(), err.getvalue())
