"""numba's OpenMP threads sleep while they wait, unless the user says otherwise (issue 19).

Spinning threads take the cores from the threads with work beside them (a run's drawing thread,
a batch's other workers); the package sets ``OMP_WAIT_POLICY=PASSIVE`` when it is imported, before
numba loads OpenMP, and keeps a value the user set.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CODE = (
    "import os, numba, numpy as np\n"
    "import model\n"
    "@numba.njit(parallel=True)\n"
    "def total(x):\n"
    "    s = 0.0\n"
    "    for i in numba.prange(x.size):\n"
    "        s += x[i]\n"
    "    return s\n"
    "assert total(np.ones(1000)) == 1000.0\n"
    "print(os.environ.get('OMP_WAIT_POLICY'), numba.threading_layer())"
)


@pytest.mark.parametrize("given, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_waiting_threads_sleep_unless_the_user_chose(given, expected):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    policy, layer = proc.stdout.split()
    assert policy == expected
    assert layer in {"omp", "tbb", "workqueue"}
