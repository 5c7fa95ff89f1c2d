"""How large a sensitivity design must be: the smallest Morris and Sobol' designs, and why.

Read when the experiment file is read (``model.batch.experiment``): a smaller design is refused,
naming ``sensitivity.trajectories`` or ``sensitivity.samples``, the minimum and why, unless the
file says ``allow_small = true`` (then ``lifecircle batch`` warns on stderr before the runs).
docs/experiments.md, "Sensitivity analysis", states the same rules.
"""

from __future__ import annotations

import math

# The smallest designs, and where the rule comes from (docs/experiments.md, "Sensitivity analysis").
# Morris: at least 10 trajectories whatever the number of parameters (so 10 x (k + 1) design
# points). The primer of the group behind the method SALib implements (Saltelli et al. 2008,
# ch. 3) reports that p = 4 levels with r = 10 trajectories have given valuable results, and
# r = 10 to 20 is the usual range; Campolongo et al. (2007) pick their r trajectories among 500 to
# 1,000 candidates (SALib's morris.sample docstring). With fewer, mu_star and its bootstrap
# interval rest on fewer than 10 elementary effects per parameter.
MIN_TRAJECTORIES = 10
# Sobol': at least 5,000 model runs per parameter, i.e. N x (k + 2) >= 5,000 x k base samples N
# (first and total order, the design SALib's sample.sobol makes with calc_second_order=False),
# N a power of 2 (SALib: "ideally a power of 2"). The rule of thumb of SALib's maintainers
# (SALib issue #599, 2023: "at least 5k simulations per parameters"; SALib's documentation
# gives no number, its examples use N = 512 to 1024 for 3 parameters). Far below it, S1 = 2.08
# and ST < S1 are what designs of N = 2 and 32 gave on this model (issue 21).
SOBOL_RUNS_PER_PARAMETER = 5_000


def minimum_size(method: str, parameters: int) -> int:
    """The smallest ``trajectories`` (Morris) or ``samples`` (Sobol') for ``parameters`` parameters.

    Morris: :data:`MIN_TRAJECTORIES`. Sobol': the smallest power of 2 ``N`` with
    ``N x (parameters + 2) >= SOBOL_RUNS_PER_PARAMETER x parameters``.
    """
    if method == "morris":
        return MIN_TRAJECTORIES
    need = math.ceil(SOBOL_RUNS_PER_PARAMETER * parameters / (parameters + 2))
    return 1 << max(0, need - 1).bit_length()


def size_key(method: str) -> str:
    """The ``[sensitivity]`` key that sets the size of the design: trajectories or samples."""
    return "trajectories" if method == "morris" else "samples"


def size(sensitivity) -> int:
    """N of the design: Morris trajectories or Sobol' base samples."""
    return sensitivity.trajectories if sensitivity.method == "morris" else sensitivity.samples


def why_small(method: str, n: int, parameters: int) -> str | None:
    """What is wrong with a design of size ``n`` for ``parameters`` parameters, or None if it is large enough."""
    low = minimum_size(method, parameters)
    if n >= low:
        return None
    if method == "morris":
        return (
            f"{n:,} trajectories is below the minimum of {low} (Saltelli et al. 2008: r = 10 with 4 levels; "
            f"usually 10 to 20): mu_star and its interval would rest on {n:,} effects per parameter"
        )
    return (
        f"{n:,} base samples is below the minimum of {low:,} for {parameters} parameter(s): "
        f"SALib's rule of thumb is {SOBOL_RUNS_PER_PARAMETER:,} runs per parameter, N x (k + 2) >= "
        f"{SOBOL_RUNS_PER_PARAMETER:,} x k, N a power of 2; smaller designs can give indices outside [0, 1]"
    )
