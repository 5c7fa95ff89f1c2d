"""Experienced isolation against relative exposure (docs/metrics.md, "Experienced isolation and relative exposure").

With C the residents who had company (n, n_g of group g, p_g = n_g / n), X_g = Σ_{r ∈ C ∩ g} (1 − e_rg)
and Y_g = Σ_{r ∈ C \\ g} e_rg, the doc proves

    experienced_isolation[g] − (1 − relative_exposure[g])
        = (X_g − Y_g) / (n − n_g) + exposure[g] · (1 / (1 − π_g) − 1 / (1 − p_g)),

so the identity isolation = 1 − relative exposure is exact when company is symmetric and everyone
had company, and that with two groups experienced isolation is one number for both. Checked on
hand-worked visit logs, on residential count tables (where the identity is exact) and on a run with
two groups, whose per-resident exposures e_rh are recomputed from the visit log minute by minute.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from model.cli.run import print_usage
from model.measures import segregation
from model.measures.activity import activity_mixing
from model.model import LifeCircleModel
from tests.conftest import ROOT


def mixing(visits: list[tuple[int, int, int, int]], groups: list[int], names=("a", "b")) -> dict:
    """activity_mixing of (resident, facility, arrive, leave) visits, one day."""
    r, f, a, b = (np.array(column) for column in zip(*visits, strict=True))
    return activity_mixing(r, f, a, b, np.array(groups), names, len(groups), 1.0)


def test_symmetric_company_gives_the_identity_exactly():
    # three of a and one of b together for 10 minutes: each a has e_a = 2/3, e_b = 1/3; b has e_a = 1.
    # exposure a = 1/3, b = 1; pi = (3/4, 1/4); relative a = (1/3) / (1/4) = 4/3, b = 1 / (3/4) = 4/3;
    # isolation a = 2/3 - 1 = -1/3, b = 0 - 1/3 = -1/3: both 1 - 4/3
    act = mixing([(r, 0, 0, 10) for r in range(4)], [0, 0, 0, 1])
    assert act["exposure"] == pytest.approx({"a": 1 / 3, "b": 1.0}, abs=1e-15)
    assert act["relative_exposure"] == pytest.approx({"a": 4 / 3, "b": 4 / 3}, abs=1e-15)
    for g in "ab":
        assert act["experienced_isolation"][g] == pytest.approx(-1 / 3, abs=1e-15)
        assert act["experienced_isolation"][g] == pytest.approx(1 - act["relative_exposure"][g], abs=1e-15)


def test_three_groups_with_symmetric_company():
    # two facilities, everyone 30 minutes: {a, a, b} at one, {a, b, c, c} at the other
    visits = [(0, 0, 0, 30), (1, 0, 0, 30), (2, 0, 0, 30), (3, 1, 0, 30), (4, 1, 0, 30), (5, 1, 0, 30), (6, 1, 0, 30)]
    groups = [0, 0, 1, 0, 1, 2, 2]
    act = mixing(visits, groups, ("a", "b", "c"))
    # by hand: e_ra over r of a: 1/2, 1/2, 0 -> X_a = 1/2 + 1/2 + 1 = 2; others' e_ra: b at f0 1, b at f1 1/3,
    # c's 1/3 each -> Y_a = 2; exposure a = 2/3, pi_a = 3/7: relative = (2/3) / (4/7) = 7/6, isolation = 1/3 - 1/2
    assert act["exposure"]["a"] == pytest.approx(2 / 3, abs=1e-15)
    assert act["relative_exposure"]["a"] == pytest.approx(7 / 6, abs=1e-15)
    assert act["experienced_isolation"]["a"] == pytest.approx(-1 / 6, abs=1e-15)
    for g in "abc":  # all at facilities for 30 minutes: the identity holds for every group
        assert act["experienced_isolation"][g] == pytest.approx(1 - act["relative_exposure"][g], abs=1e-14), g


def test_unequal_company_minutes_and_a_resident_without_company():
    # a1 and b1 at the facility 0-10, a2 0-5, a3 alone elsewhere:
    #   a1: 5 min with (b1, a2) shares a 1/2 b 1/2, 5 min with b1: e_a = 1/4, e_b = 3/4
    #   a2: 5 min with (a1, b1): e_a = 1/2;  b1: always with a's: e_a = 1, e_b = 0
    # exposure a = (3/4 + 1/2) / 2 = 5/8, b = 1; isolation a = (1/4 + 1/2) / 2 - 1 = -5/8 = isolation b
    # X_a = 3/4 + 1/2 = 5/4, Y_a = 1; n = 3, n_a = 2, p_a = 2/3; pi_a = 3/4 (a3 counts in the shares)
    visits = [(0, 0, 0, 10), (1, 0, 0, 5), (2, 0, 0, 10), (3, 1, 0, 10)]
    act = mixing(visits, [0, 0, 1, 0])
    assert act["exposure"] == pytest.approx({"a": 5 / 8, "b": 1.0}, abs=1e-15)
    assert act["experienced_isolation"] == pytest.approx({"a": -5 / 8, "b": -5 / 8}, abs=1e-15)
    assert act["relative_exposure"]["a"] == pytest.approx((5 / 8) / (1 / 4), abs=1e-15)
    gap = act["experienced_isolation"]["a"] - (1 - act["relative_exposure"]["a"])
    assert gap == pytest.approx(7 / 8, abs=1e-15)  # -5/8 - (1 - 5/2)
    # the doc's two terms: asymmetry (5/4 - 1) / 1, coverage 5/8 * (1 / (1/4) - 1 / (1/3)) = 5/8
    assert gap == pytest.approx((5 / 4 - 1) / 1 + (5 / 8) * (4 - 3), abs=1e-15)
    # b: X_b = 1 - 0 = 1, Y_b = 3/4 + 1/2 = 5/4, n - n_b = 2; pi_b = 1/4, p_b = 1/3
    gap_b = act["experienced_isolation"]["b"] - (1 - act["relative_exposure"]["b"])
    assert gap_b == pytest.approx((1 - 5 / 4) / 2 + 1.0 * (1 / (3 / 4) - 1 / (2 / 3)), abs=1e-15)


@pytest.mark.parametrize("n_groups", [2, 3, 4])
def test_on_homes_athey_isolation_is_exactly_one_minus_relative_exposure(n_groups):
    rng = np.random.default_rng(n_groups)
    counts = rng.integers(0, 40, size=(25, n_groups))
    counts[rng.random(counts.shape) < 0.2] = 0
    t = counts.sum(axis=1)
    counts, t = counts[t > 0], t[t > 0]
    shares = counts.sum(axis=0) / counts.sum()
    for g in range(n_groups):
        m, others = counts[:, g], t - counts[:, g]
        athey = (m / m.sum() * m / t).sum() - (others / others.sum() * m / t).sum()
        relative = segregation.relative_exposure(segregation.exposure(counts, g), float(shares[g]))
        assert athey == pytest.approx(1 - relative, abs=1e-12)
        assert segregation.isolation(counts, g) == pytest.approx(1 - segregation.exposure(counts, g), abs=1e-12)


# ------------------------------------------------------------------ a run with two groups

TWO_GROUPS = """name = "demo_two_groups"
extends = "{demo}"

[population]
groups = {{ han = 0.7, mongol = 0.3 }}
"""


def company_shares(visits: dict, group_of: np.ndarray, n_groups: int) -> pd.DataFrame:
    """e_rh of every resident who had company, from the visit log one visitor-minute at a time."""
    lengths = visits["leave_min"] - visits["arrive_min"]
    rows = pd.DataFrame(
        {
            "resident": np.repeat(visits["resident"], lengths),
            "facility": np.repeat(visits["facility"], lengths),
            "minute": np.concatenate([np.arange(a, b) for a, b in zip(visits["arrive_min"], visits["leave_min"])]),
        }
    )
    rows["group"] = group_of[rows["resident"]]
    heads = rows.groupby(["facility", "minute", "group"]).size().unstack(fill_value=0)
    heads = heads.reindex(columns=range(n_groups), fill_value=0)
    at = heads.loc[pd.MultiIndex.from_frame(rows[["facility", "minute"]])].to_numpy()
    others = at - (rows["group"].to_numpy()[:, None] == np.arange(n_groups)[None, :])
    n = others.sum(axis=1)
    company = n >= 1
    share = pd.DataFrame(others[company] / n[company, None])
    share["resident"] = rows["resident"].to_numpy()[company]
    return share.groupby("resident").mean()


@pytest.fixture(scope="module")
def two_groups(tmp_path_factory):
    path = tmp_path_factory.mktemp("two") / "two.toml"
    path.write_text(TWO_GROUPS.format(demo=(ROOT / "scenarios" / "demo.toml").as_posix()), encoding="utf-8")
    model = LifeCircleModel(path, seed=1)
    model.run()
    return model


def test_on_a_run_with_two_groups(two_groups):
    model = two_groups
    act = model.summary()["mixing"]["activity"]
    names = model.population.group_names
    assert len(names) == 2
    g, h = names
    # two groups: one experienced isolation for both, exactly
    assert act["experienced_isolation"][g] == pytest.approx(act["experienced_isolation"][h], abs=1e-12)
    assert act["experienced_isolation"][g] == pytest.approx(1 - act["exposure"][g] - act["exposure"][h], abs=1e-12)
    # the decomposition, with X, Y, n_g and p_g recomputed from the visit log
    group_of = model.population.group
    e = company_shares(model.visit_log.columns(), group_of, 2)
    own = group_of[e.index.to_numpy()]
    n = len(e)
    pi = np.bincount(group_of, minlength=2) / group_of.size
    gaps = {}
    for k, name in enumerate(names):
        mine = own == k
        x, y = (1 - e.loc[mine, k]).sum(), e.loc[~mine, k].sum()
        n_g = mine.sum()
        p = n_g / n
        exposure = act["exposure"][name]
        assert exposure == pytest.approx(x / n_g, abs=1e-12)
        gap = act["experienced_isolation"][name] - (1 - act["relative_exposure"][name])
        assert gap == pytest.approx((x - y) / (n - n_g) + exposure * (1 / (1 - pi[k]) - 1 / (1 - p)), abs=1e-12)
        gaps[name] = gap
    # the identity itself does not hold here: company is not symmetric in the mean over own minutes
    assert all(abs(gap) > 1e-6 for gap in gaps.values())


def test_the_printed_table_gives_isolation_once_with_two_groups_and_per_group_with_three(two_groups):
    out = io.StringIO()
    print_usage(two_groups.summary(), out)
    lines = out.getvalue().splitlines()
    header = next(line for line in lines if line.split()[:2] == ["group", "blocks"])
    assert "experienced isolation" not in header and "activity" in header
    act = two_groups.summary()["mixing"]["activity"]
    once = [line for line in lines if "experienced isolation" in line]
    assert len(once) == 1 and once[0].endswith(f"{act['experienced_isolation']['han']:.3f}")
    for g in ("han", "mongol"):  # relative exposure at facilities, per group
        row = next(line for line in lines if line.split()[:1] == [g])
        assert row.split()[5] == f"{act['relative_exposure'][g]:.3f}"

    three = LifeCircleModel("demo", seed=1)
    three.run()
    out = io.StringIO()
    print_usage(three.summary(), out)
    lines = out.getvalue().splitlines()
    header = next(line for line in lines if line.split()[:2] == ["group", "blocks"])
    assert "experienced isolation" in header
    act = three.summary()["mixing"]["activity"]
    for g in ("han", "mongol", "hui"):
        row = next(line for line in lines if line.split()[:1] == [g])
        assert row.split()[5:7] == [f"{act['relative_exposure'][g]:.3f}", f"{act['experienced_isolation'][g]:.3f}"]
