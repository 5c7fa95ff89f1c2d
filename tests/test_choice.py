"""The destination-choice kernels (model/simulation/choice.py, model/city/candidates.py) against exact
probabilities and brute force."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from model.city.candidates import candidate_table
from model.simulation import rules
from model.simulation.choice import choose_many
from tests.conftest import ROOT

FALSE_ALARM = 1e-3  # each statistical test below fails with at most this probability when correct


def draw(
    metres,
    facility,
    speed,
    beta,
    tries,
    n,
    cutoff=30.0,
    max_ticks=10_000,
    seed=0,
    uniforms=None,
    kernel=None,
    remembered=None,
    penalty_min=0.0,
):
    """Departures from one origin, 1-minute ticks; the walk limit is what rules.walk_limit_min
    makes of ``cutoff`` and ``max_ticks`` (a walk of m minutes takes ceil(m - 1e-9) ticks).
    Departure i is resident i; ``remembered`` (None: nothing) gives every resident the same
    remembered turn-aways, {facility id: count}."""
    n_fac = int(max(facility)) + 1 if len(facility) else 1
    pairs = sorted((remembered or {}).items())
    keys = np.array([r * n_fac + f for r in range(n) for f, _ in pairs], dtype=np.int64)
    counts_m = np.array([c for _ in range(n) for _, c in pairs], dtype=np.int64)
    indptr = np.array([0, len(metres)])
    rng = np.random.default_rng(seed)
    limit_min = min(cutoff, max_ticks + rules.ROUNDING)
    out_f = np.full((n, tries), -1, dtype=np.int64)
    out_m = np.zeros((n, tries))
    counts = (kernel or choose_many)(
        indptr,
        np.asarray(facility, dtype=np.int64),
        np.asarray(metres, dtype=float),
        np.zeros(n, dtype=np.int64),
        np.full(n, speed),
        np.full(n, beta),
        np.full(n, tries, dtype=np.int64),
        np.full(n, limit_min),
        rng.random((n, tries)) if uniforms is None else np.asarray(uniforms, dtype=float).reshape(n, tries),
        out_f,
        out_m,
        np.arange(n, dtype=np.int64),
        keys,
        counts_m,
        n_fac,
        float(penalty_min),
    )
    return counts, out_f, out_m


def test_infinite_beta_takes_the_nearest_ties_by_id():
    counts, f, m = draw([300.0, 100.0, 100.0, 50.0], [7, 9, 4, 8], speed=50.0, beta=math.inf, tries=3, n=5)
    assert (counts == 3).all()
    assert (f == [8, 4, 9]).all()  # 50 m, then the 100 m tie in id order
    assert (m == [50.0, 100.0, 100.0]).all()


def test_cutoff_and_walk_ticks_bound_the_candidates():
    metres = [100.0, 200.0, 400.0]  # 2, 4 and 8 minutes at 50 m/min
    counts, f, _ = draw(metres, [0, 1, 2], speed=50.0, beta=0.1, tries=3, n=200, cutoff=5.0)
    assert (counts == 2).all() and set(f[:, :2].ravel()) == {0, 1} and (f[:, 2] == -1).all()
    counts, f, _ = draw(metres, [0, 1, 2], speed=50.0, beta=0.1, tries=3, n=50, max_ticks=2)
    assert (counts == 1).all() and (f[:, 0] == 0).all()
    counts, _, _ = draw(metres, [0, 1, 2], speed=50.0, beta=0.1, tries=3, n=10, cutoff=1.0)
    assert (counts == 0).all()


def test_choices_are_distinct():
    counts, f, _ = draw(np.linspace(10, 500, 12), range(12), speed=60.0, beta=0.05, tries=4, n=3000, seed=3)
    assert (counts == 4).all()
    assert all(len(set(row)) == 4 for row in f)


def test_first_and_second_choice_follow_the_rank_ordered_logit():
    metres = np.array([60.0, 150.0, 240.0, 480.0])
    speed, beta, n = 60.0, 0.35, 40_000
    counts, f, _ = draw(metres, range(4), speed, beta, tries=2, n=n, seed=11)
    w = np.exp(-beta * metres / speed)
    p_first = w / w.sum()
    observed = np.bincount(f[:, 0], minlength=4)
    assert stats.chisquare(observed, p_first * n).pvalue > FALSE_ALARM / 2
    # the ordered pair (first, second): P = p(i) * w_j / (W - w_i)
    pairs = list(itertools.permutations(range(4), 2))
    p_pair = np.array([p_first[i] * w[j] / (w.sum() - w[i]) for i, j in pairs])
    index = {p: k for k, p in enumerate(pairs)}
    observed = np.bincount([index[(a, b)] for a, b in f], minlength=len(pairs))
    assert stats.chisquare(observed, p_pair * n).pvalue > FALSE_ALARM / 2


def test_beta_zero_is_uniform():
    counts, f, _ = draw([10.0, 900.0, 1500.0], range(3), speed=78.0, beta=0.0, tries=1, n=30_000, seed=5)
    assert stats.chisquare(np.bincount(f[:, 0], minlength=3)).pvalue > FALSE_ALARM


def test_candidate_table_groups_like_a_brute_force():
    rng = np.random.default_rng(2)
    n_cells, n_fac, n_origins, n_types = 6, 9, 5, 3
    fac_cell = rng.integers(0, n_cells, n_fac)
    fac_type = rng.integers(0, n_types, n_fac)
    entries = [
        (c, o, float(rng.integers(1, 100))) for c in range(n_cells) for o in range(n_origins) if rng.random() < 0.6
    ]
    cell_idx = np.array([e[0] for e in entries])
    origin = np.array([e[1] for e in entries])
    metres = np.array([e[2] for e in entries])
    by_cell = np.argsort(fac_cell, kind="stable")
    cell_indptr = np.concatenate([[0], np.cumsum(np.bincount(fac_cell, minlength=n_cells))])
    indptr, facility, got_m = candidate_table(
        cell_idx, origin, metres, cell_indptr, by_cell, fac_type, n_types, n_origins
    )
    for o in range(n_origins):
        for t in range(n_types):
            g = o * n_types + t
            got = sorted(zip(facility[indptr[g] : indptr[g + 1]].tolist(), got_m[indptr[g] : indptr[g + 1]].tolist()))
            expected = sorted(
                (int(f), d)
                for c, oo, d in entries
                if oo == o
                for f in range(n_fac)
                if fac_cell[f] == c and fac_type[f] == t
            )
            assert got == expected


@pytest.mark.parametrize("tries", range(1, 11))
def test_every_accepted_tries_terminates_even_when_rounding_lands_on_a_chosen_facility(tries):
    """Uniform numbers at 0 and just below 1 push the inverse-CDF draw onto intervals already chosen
    (rounding in the cumulative weights). An earlier version stepped to a free neighbour by going
    down and bouncing at 0, and looped for ever when every position below was taken (found by a
    search with these minutes, beta 50 and 5 tries). Run in a child process so that a regression
    fails on a time limit instead of hanging the suite."""
    code = f"""
import numpy as np
from tests.test_choice import draw
minutes = [0.4, 0.62, 0.01, 0.99, 0.64, 0.02, 0.5, 0.77, 0.3, 0.9, 0.1, 0.6]
uniforms = np.resize([0.999999999999, 1 - 2**-53, 0.5093994100896208, 1 - 2**-53, 0.999999999999, 0.0], 3 * {tries})
u = max(5, {tries})
counts, f, _ = draw(np.array(minutes[:u]) * 60.0, range(u), 60.0, 50.0, {tries}, 3, uniforms=uniforms)
assert (counts == {tries}).all()
assert all(len(set(row)) == {tries} for row in f), f
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_the_compiled_kernel_is_its_own_source():
    """numba's on-disk cache of choose_many does not notice a change in the rulebook function it calls
    (rules.nearest_first, another file): the compiled kernel must give what its Python source gives."""
    for beta in (math.inf, 0.3):
        args = dict(speed=50.0, beta=beta, tries=3, n=40, cutoff=9.0, seed=4)
        metres = [300.0, 100.0, 100.0, 50.0, 420.0, 250.0]
        compiled = draw(metres, [7, 9, 4, 8, 1, 3], **args)
        source = draw(metres, [7, 9, 4, 8, 1, 3], kernel=choose_many.py_func, **args)
        for a, b in zip(compiled, source):
            np.testing.assert_array_equal(a, b)


def test_the_kernel_uses_the_candidates_the_rulebook_finds_usable():
    """Every candidate that rules.usable accepts, and no other, can be drawn (all tries, beta 0)."""
    metres = np.array([0.0, 49.99, 50.0, 100.0, 149.0, 150.0, 151.0, 300.0])  # at 50 m/min: 0 .. 6 min
    for cutoff, max_ticks in [(30.0, 10_000), (3.0, 10_000), (30.0, 2), (2.98, 3), (30.0, 0), (30.0, -1)]:
        limit = min(cutoff, max_ticks + rules.ROUNDING)
        expected = set(np.flatnonzero(rules.usable(metres / 50.0, limit)).tolist())
        counts, f, _ = draw(
            metres, range(metres.size), speed=50.0, beta=0.0, tries=metres.size, n=3, cutoff=cutoff, max_ticks=max_ticks
        )
        assert (counts == len(expected)).all()
        assert all(set(row[: len(expected)].tolist()) == expected for row in f), (cutoff, max_ticks)
