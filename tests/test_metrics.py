"""Tests for model.metrics: hand-worked cases and independent brute-force references."""

from __future__ import annotations

import json
import math
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from model.measures.activity import activity_mixing
from model.measures.segregation import (
    count_table,
    dissimilarity,
    exposure,
    information_theory,
    isolation,
    multigroup_dissimilarity,
    residential_mixing,
)

NAN = float("nan")


def assert_same(actual: float, expected: float, tol: float = 1e-12) -> None:
    """Equal within tol, or both NaN."""
    if math.isnan(expected):
        assert math.isnan(actual), f"expected NaN, got {actual}"
    else:
        assert not math.isnan(actual), f"expected {expected}, got NaN"
        assert abs(actual - expected) <= tol, f"expected {expected}, got {actual}"


# --------------------------------------------------------------------------------------------------
# count_table
# --------------------------------------------------------------------------------------------------


def test_count_table_small_example():
    # residents:   0  1  2  3  4  5
    # unit:        7  3  7  7  3  9
    # group:       0  1  1  0  0  2
    # unit 3 -> residents 1 (g1), 4 (g0)          -> [1, 1, 0, 0]
    # unit 7 -> residents 0 (g0), 2 (g1), 3 (g0)  -> [2, 1, 0, 0]
    # unit 9 -> resident 5 (g2)                   -> [0, 0, 1, 0]   (group 3 has nobody)
    keys, counts = count_table(np.array([7, 3, 7, 7, 3, 9]), np.array([0, 1, 1, 0, 0, 2]), 4)
    np.testing.assert_array_equal(keys, [3, 7, 9])
    np.testing.assert_array_equal(counts, [[1, 1, 0, 0], [2, 1, 0, 0], [0, 0, 1, 0]])


def test_count_table_composite_keys():
    # (bx, by) blocks: (0, 1) holds g0, g0; (1, 0) holds g1.
    keys, counts = count_table(np.array([[0, 1], [1, 0], [0, 1]]), np.array([0, 1, 0]), 2)
    np.testing.assert_array_equal(keys, [[0, 1], [1, 0]])
    np.testing.assert_array_equal(counts, [[2, 0], [0, 1]])


def test_count_table_rejects_bad_groups():
    with pytest.raises(ValueError, match="group_ids"):
        count_table(np.array([0, 1]), np.array([0, 2]), 2)
    with pytest.raises(ValueError, match="rows"):
        count_table(np.array([0, 1, 2]), np.array([0, 1]), 2)


# --------------------------------------------------------------------------------------------------
# Residential indices: hand-worked cases
# --------------------------------------------------------------------------------------------------


def test_symmetric_two_by_two():
    # counts = [[3, 1], [1, 3]]: M_0 = M_1 = 4, T = 8, t_i = 4.
    # D_0   = ½ (|3/4 − 1/4| + |1/4 − 3/4|) = ½ (½ + ½) = 0.5
    # xPx_0 = (3/4)(3/4) + (1/4)(1/4) = 10/16 = 0.625
    # xPy_0 = (3/4)(1/4) + (1/4)(3/4) = 6/16 = 0.375
    # multigroup: π = (½, ½), I = ½; Σ_g Σ_i t_i |π_gi − π_g| = 2 groups · 2 units · 4 · ¼ = 4;
    #             D = 4 / (2 · 8 · ½) = 0.5
    # H: E = ln 2, E_i = entropy(¾, ¼) for both units;
    #    H = (E − E_i)/E = 1 − h2(¼) with h2 the binary entropy in bits.
    counts = np.array([[3, 1], [1, 3]])
    h2 = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))
    for g in (0, 1):
        assert_same(dissimilarity(counts, g), 0.5)
        assert_same(isolation(counts, g), 0.625)
        assert_same(exposure(counts, g), 0.375)
    assert_same(multigroup_dissimilarity(counts), 0.5)
    assert_same(information_theory(counts), 1 - h2)


def test_asymmetric_two_by_two():
    # counts = [[2, 0], [1, 1]]: M_0 = 3, M_1 = 1, T = 4, t = (2, 2).
    # D_0   = ½ (|2/3 − 0/1| + |1/3 − 1/1|) = ½ (2/3 + 2/3) = 2/3   (= D_1 with two groups)
    # xPx_0 = (2/3)(2/2) + (1/3)(1/2) = 5/6;   xPy_0 = (2/3)(0) + (1/3)(1/2) = 1/6
    # xPx_1 = (0)(0) + (1/1)(1/2) = 1/2;       xPy_1 = (1/1)(1/2) = 1/2
    # multigroup: π = (¾, ¼), I = 2 · ¾ · ¼ = 3/8;
    #   unit 0: 2 · (|1 − ¾| + |0 − ¼|) = 1;  unit 1: 2 · (|½ − ¾| + |½ − ¼|) = 1
    #   D = 2 / (2 · 4 · 3/8) = 2/3
    # H: E = entropy(¾, ¼), E_0 = 0, E_1 = ln 2
    #   H = [2 (E − 0) + 2 (E − ln 2)] / (4 E) = 1 − ln 2 / (2 E) = 1 − 1 / (2 h2(¼))
    counts = np.array([[2, 0], [1, 1]])
    h2 = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))
    assert_same(dissimilarity(counts, 0), 2 / 3)
    assert_same(dissimilarity(counts, 1), 2 / 3)
    assert_same(isolation(counts, 0), 5 / 6)
    assert_same(exposure(counts, 0), 1 / 6)
    assert_same(isolation(counts, 1), 0.5)
    assert_same(exposure(counts, 1), 0.5)
    assert_same(multigroup_dissimilarity(counts), 2 / 3)
    assert_same(information_theory(counts), 1 - 1 / (2 * h2))


def test_perfect_segregation():
    # Every unit holds one group only: D = 1, H = 1, xPx = 1, xPy = 0.
    counts = np.array([[5, 0, 0], [0, 3, 0], [0, 0, 2], [0, 4, 0]])
    for g in range(3):
        assert_same(dissimilarity(counts, g), 1.0)
        assert_same(isolation(counts, g), 1.0)
        assert_same(exposure(counts, g), 0.0)
    assert_same(multigroup_dissimilarity(counts), 1.0)
    assert_same(information_theory(counts), 1.0)


def test_perfect_evenness():
    # Every unit has the city's composition (1:2:3): D = 0, H = 0, xPx_g = π_g, xPy_g = 1 − π_g.
    counts = np.array([[2, 4, 6], [1, 2, 3], [3, 6, 9]])
    pi = np.array([1, 2, 3]) / 6
    for g in range(3):
        assert_same(dissimilarity(counts, g), 0.0)
        assert_same(isolation(counts, g), pi[g])
        assert_same(exposure(counts, g), 1 - pi[g])
    assert_same(multigroup_dissimilarity(counts), 0.0)
    assert_same(information_theory(counts), 0.0)


def test_zero_total_units_are_ignored():
    counts = np.array([[3, 1, 2], [1, 3, 0], [0, 2, 5]])
    padded = np.array([[0, 0, 0], [3, 1, 2], [0, 0, 0], [1, 3, 0], [0, 2, 5], [0, 0, 0]])
    for g in range(3):
        assert dissimilarity(padded, g) == dissimilarity(counts, g)
        assert isolation(padded, g) == isolation(counts, g)
        assert exposure(padded, g) == exposure(counts, g)
    assert multigroup_dissimilarity(padded) == multigroup_dissimilarity(counts)
    assert information_theory(padded) == information_theory(counts)


def test_absent_group_is_nan_and_does_not_change_multigroup_indices():
    with_absent = np.array([[3, 0, 1], [1, 0, 3]])
    without = np.array([[3, 1], [1, 3]])
    assert math.isnan(dissimilarity(with_absent, 1))
    assert math.isnan(isolation(with_absent, 1))
    assert math.isnan(exposure(with_absent, 1))
    assert_same(dissimilarity(with_absent, 0), dissimilarity(without, 0))
    assert_same(multigroup_dissimilarity(with_absent), multigroup_dissimilarity(without))
    assert_same(information_theory(with_absent), information_theory(without))


def test_single_group_present():
    # Only group 0 lives here: nobody to compare with, so D_0 and the multigroup indices are
    # undefined; g0 meets only itself (xPx = 1, xPy = 0).
    counts = np.array([[4, 0], [2, 0]])
    assert math.isnan(dissimilarity(counts, 0))
    assert_same(isolation(counts, 0), 1.0)
    assert_same(exposure(counts, 0), 0.0)
    assert math.isnan(multigroup_dissimilarity(counts))
    assert math.isnan(information_theory(counts))
    assert math.isnan(information_theory(np.zeros((2, 2))))


def test_bad_tables_are_rejected():
    with pytest.raises(ValueError, match="2-D"):
        dissimilarity(np.array([1, 2]), 0)
    with pytest.raises(ValueError, match="non-negative"):
        isolation(np.array([[1, -1]]), 0)


def test_residential_mixing_assembles_and_serialises():
    counts = np.array([[2, 0, 0], [1, 1, 0]])
    names = ["low", "high", "absent"]
    result = residential_mixing(counts, names)
    assert set(result) == {
        "dissimilarity",
        "isolation",
        "exposure",
        "relative_exposure",
        "multigroup_dissimilarity",
        "information_theory",
    }
    # Hand values from test_asymmetric_two_by_two (the empty third group changes nothing).
    assert_same(result["dissimilarity"]["low"], 2 / 3)
    assert_same(result["isolation"]["low"], 5 / 6)
    assert_same(result["exposure"]["high"], 0.5)
    assert_same(result["multigroup_dissimilarity"], 2 / 3)
    # relative to random mixing: low (3 of 4 residents) 1/6 / (1 - 3/4); high 1/2 / (1 - 1/4)
    assert_same(result["relative_exposure"]["low"], 2 / 3)
    assert_same(result["relative_exposure"]["high"], 2 / 3)
    for index in ("dissimilarity", "isolation", "exposure", "relative_exposure"):
        assert list(result[index]) == names
        assert math.isnan(result[index]["absent"])

    def nan_to_none(value):
        if isinstance(value, dict):
            return {k: nan_to_none(v) for k, v in value.items()}
        return None if math.isnan(value) else value

    json.dumps(nan_to_none(result), allow_nan=False)
    with pytest.raises(ValueError, match="group names"):
        residential_mixing(counts, ["a", "b"])


# --------------------------------------------------------------------------------------------------
# Residential indices vs straightforward loops
# --------------------------------------------------------------------------------------------------


def reference_single(counts: np.ndarray, g: int) -> tuple[float, float, float]:
    """(D_g, xPx_g, xPy_g) by the docs/metrics.md formulas, one unit at a time."""
    rows = [[int(c) for c in row] for row in counts if sum(row) > 0]
    total = sum(sum(row) for row in rows)
    m_g = sum(row[g] for row in rows)
    if m_g == 0:
        return NAN, NAN, NAN
    iso = sum((row[g] / m_g) * (row[g] / sum(row)) for row in rows)
    exp = sum((row[g] / m_g) * ((sum(row) - row[g]) / sum(row)) for row in rows)
    if total - m_g == 0:
        return NAN, iso, exp
    dis = 0.5 * sum(abs(row[g] / m_g - (sum(row) - row[g]) / (total - m_g)) for row in rows)
    return dis, iso, exp


def reference_multigroup(counts: np.ndarray) -> tuple[float, float]:
    """(multigroup D, Theil's H) by the docs/metrics.md formulas, one unit and group at a time."""
    rows = [[int(c) for c in row] for row in counts if sum(row) > 0]
    n_groups = counts.shape[1]
    total = sum(sum(row) for row in rows)
    if total == 0:
        return NAN, NAN
    pi = [sum(row[g] for row in rows) / total for g in range(n_groups)]
    simpson = sum(p * (1 - p) for p in pi)
    entropy = -sum(p * math.log(p) for p in pi if p > 0)
    spread = 0.0
    theil = 0.0
    for row in rows:
        t_i = sum(row)
        e_i = 0.0
        for g in range(n_groups):
            p_gi = row[g] / t_i
            spread += t_i * abs(p_gi - pi[g])
            if p_gi > 0:
                e_i -= p_gi * math.log(p_gi)
        theil += t_i * (entropy - e_i)
    dis = spread / (2 * total * simpson) if simpson > 0 else NAN
    h = theil / (total * entropy) if entropy > 0 else NAN
    return dis, h


count_tables = hnp.arrays(
    np.int64,
    shape=st.tuples(st.integers(1, 8), st.integers(1, 4)),
    elements=st.integers(0, 20),
)


@settings(max_examples=300, deadline=None)
@given(count_tables)
def test_single_group_indices_match_loops(counts):
    for g in range(counts.shape[1]):
        dis, iso, exp = reference_single(counts, g)
        assert_same(dissimilarity(counts, g), dis)
        assert_same(isolation(counts, g), iso)
        assert_same(exposure(counts, g), exp)


@settings(max_examples=300, deadline=None)
@given(count_tables)
def test_multigroup_indices_match_loops(counts):
    dis, h = reference_multigroup(counts)
    assert_same(multigroup_dissimilarity(counts), dis)
    assert_same(information_theory(counts), h)


# --------------------------------------------------------------------------------------------------
# Activity-space mixing
# --------------------------------------------------------------------------------------------------


def brute_activity(resident, facility, arrive, leave, group_of, n_groups, n_residents, days):
    """docs/metrics.md taken literally: build V(f, t) for every facility and minute."""
    present = defaultdict(set)  # (f, t) -> V(f, t)
    for r, f, a, b in zip(resident, facility, arrive, leave, strict=True):
        for t in range(a, b):
            present[(f, t)].add(int(r))
    share_total = defaultdict(lambda: [0.0] * n_groups)
    company_minutes = defaultdict(int)
    cross = 0
    for visitors in present.values():
        n = len(visitors) - 1
        for r in visitors:
            others = visitors - {r}
            cross += sum(group_of[s] != group_of[r] for s in others)
            if n >= 1:
                company_minutes[r] += 1
                for h in range(n_groups):
                    share_total[r][h] += sum(group_of[s] == h for s in others) / n
    matrix = [[NAN] * n_groups for _ in range(n_groups)]
    for g in range(n_groups):
        members = [r for r in company_minutes if group_of[r] == g]
        if members:
            for h in range(n_groups):
                matrix[g][h] = sum(share_total[r][h] / company_minutes[r] for r in members) / len(members)
    expo = [sum(matrix[g][h] for h in range(n_groups) if h != g) for g in range(n_groups)]
    return expo, matrix, cross / (n_residents * days)


def random_visit_log(seed: int):
    """Small log: several facilities, overlapping stays, repeat and solitary visitors."""
    rng = np.random.default_rng(seed)
    n_residents = int(rng.integers(2, 16))
    n_groups = int(rng.integers(1, 4))
    n_facilities = int(rng.integers(1, 4))
    group_of = rng.integers(0, n_groups, n_residents)
    rows = []
    for r in range(n_residents):
        t = int(rng.integers(0, 30))
        for _ in range(int(rng.integers(0, 5))):  # some residents never go out
            arrive = t + int(rng.integers(0, 10))
            leave = arrive + int(rng.integers(0, 25))  # zero-length stays included
            rows.append((r, int(rng.choice([3, 17, 42][:n_facilities])), arrive, leave))
            t = leave
    rows = [rows[i] for i in rng.permutation(len(rows))]
    columns = np.array(rows, dtype=np.int64).reshape(-1, 4).T
    return columns, group_of, n_groups, n_residents


def assert_activity_matches_brute(columns, group_of, n_groups, n_residents, days):
    names = [f"g{g}" for g in range(n_groups)]
    result = activity_mixing(*columns, group_of, names, n_residents, days)
    expo, matrix, cross = brute_activity(*columns, group_of, n_groups, n_residents, days)
    for g, name in enumerate(names):
        assert_same(result["exposure"][name], expo[g], tol=1e-9)
        for h, other in enumerate(names):
            assert_same(result["exposure_matrix"][name][other], matrix[g][h], tol=1e-9)
    assert_same(result["cross_group_person_minutes_per_resident_day"], cross, tol=1e-9)


@pytest.mark.parametrize("seed", range(60))
def test_activity_mixing_matches_brute_force(seed):
    columns, group_of, n_groups, n_residents = random_visit_log(seed)
    assert_activity_matches_brute(columns, group_of, n_groups, n_residents, days=1)


def test_activity_mixing_crowded_facility_over_several_days():
    # One busy facility across two days: many simultaneous visitors, long absolute minutes.
    rng = np.random.default_rng(7)
    n_residents, n_groups = 60, 3
    group_of = rng.integers(0, n_groups, n_residents)
    rows = []
    for r in range(n_residents):
        for day in range(2):
            arrive = day * 1440 + 480 + int(rng.integers(0, 60))
            rows.append((r, 5, arrive, arrive + int(rng.integers(1, 90))))
    columns = np.array(rows, dtype=np.int64).T
    assert_activity_matches_brute(columns, group_of, n_groups, n_residents, days=2)


def test_activity_mixing_hand_worked():
    # Facility 0:  A (group a) minutes [0, 10), B (group b) [5, 10), D (group a) [8, 12).
    # Facility 1:  C (group c) minutes [0, 30), alone.
    #   t 0–4  : {A}        A alone
    #   t 5–7  : {A, B}     n = 1 for each (3 minutes)
    #   t 8–9  : {A, B, D}  n = 2 for each (2 minutes)
    #   t 10–11: {D}        D alone
    # A: 5 company minutes; share of b = (3·1 + 2·½)/5 = 0.8; share of a = (2·½)/5 = 0.2
    # B: 5 company minutes; share of a = (3·1 + 2·1)/5 = 1;   share of b = 0
    # D: 2 company minutes; share of a = (2·½)/2 = 0.5;       share of b = 0.5
    # C never has company: left out, so row c is NaN.
    # matrix[a] = mean over A, D = (a: (0.2+0.5)/2 = 0.35, b: (0.8+0.5)/2 = 0.65, c: 0)
    # matrix[b] = B's row = (a: 1, b: 0, c: 0)
    # exposure: a = 0.65 + 0 = 0.65, b = 1 + 0 = 1, c = NaN
    # out-group person-minutes: A 5 (B at t 5–9), B 3·1 + 2·2 = 7, D 2 (B at t 8–9), C 0 → 14;
    # per capita per day = 14 / (4 residents · 1 day) = 3.5, and 1.75 over 2 days.
    a, b, c = 0, 1, 2
    resident = np.array([0, 1, 2, 3])  # A, B, C, D
    facility = np.array([0, 0, 1, 0])
    arrive = np.array([0, 5, 0, 8])
    leave = np.array([10, 10, 30, 12])
    group_of = np.array([a, b, c, a])
    names = ["a", "b", "c"]
    result = activity_mixing(resident, facility, arrive, leave, group_of, names, 4, 1)
    expected = {
        "a": {"a": 0.35, "b": 0.65, "c": 0.0},
        "b": {"a": 1.0, "b": 0.0, "c": 0.0},
        "c": {"a": NAN, "b": NAN, "c": NAN},
    }
    for g in names:
        for h in names:
            assert_same(result["exposure_matrix"][g][h], expected[g][h])
    assert_same(result["exposure"]["a"], 0.65)
    assert_same(result["exposure"]["b"], 1.0)
    assert math.isnan(result["exposure"]["c"])
    assert_same(result["cross_group_person_minutes_per_resident_day"], 3.5)
    two_days = activity_mixing(resident, facility, arrive, leave, group_of, names, 4, 2)
    assert_same(two_days["cross_group_person_minutes_per_resident_day"], 1.75)


def test_activity_mixing_split_visit_and_row_order_do_not_matter():
    # Splitting B's stay [5, 10) into [5, 7) + [7, 10) leaves every V(f, t) unchanged.
    base = (np.array([0, 1, 2]), np.array([0, 0, 0]), np.array([0, 5, 3]), np.array([10, 10, 9]))
    split = (np.array([2, 1, 0, 1]), np.array([0, 0, 0, 0]), np.array([3, 7, 0, 5]), np.array([9, 10, 10, 7]))
    group_of = np.array([0, 1, 1])
    first = activity_mixing(*base, group_of, ["x", "y"], 3, 1)
    second = activity_mixing(*split, group_of, ["x", "y"], 3, 1)
    for g in ("x", "y"):
        assert_same(second["exposure"][g], first["exposure"][g])
    assert_same(
        second["cross_group_person_minutes_per_resident_day"], first["cross_group_person_minutes_per_resident_day"]
    )


def test_activity_mixing_empty_log():
    empty = np.array([], dtype=np.int64)
    result = activity_mixing(empty, empty, empty, empty, np.array([0, 1]), ["x", "y"], 2, 1)
    assert math.isnan(result["exposure"]["x"])
    assert math.isnan(result["exposure_matrix"]["y"]["x"])
    assert result["cross_group_person_minutes_per_resident_day"] == 0.0


def test_activity_mixing_rejects_bad_logs():
    group_of = np.array([0, 1])
    with pytest.raises(ValueError, match="overlapping"):
        activity_mixing(
            np.array([0, 0]), np.array([1, 2]), np.array([0, 5]), np.array([10, 12]), group_of, ["x", "y"], 2, 1
        )
    with pytest.raises(ValueError, match="resident ids"):
        activity_mixing(np.array([2]), np.array([1]), np.array([0]), np.array([10]), group_of, ["x", "y"], 2, 1)
    with pytest.raises(ValueError, match="group_of"):
        activity_mixing(
            np.array([0]), np.array([1]), np.array([0]), np.array([10]), np.array([0, 1, 1]), ["x", "y"], 2, 1
        )
    with pytest.raises(ValueError, match="leave_min"):
        activity_mixing(np.array([0]), np.array([1]), np.array([10]), np.array([0]), group_of, ["x", "y"], 2, 1)
