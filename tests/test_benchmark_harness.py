"""The benchmark harness's comparison with its fixed reference (issue 19): hand-worked cases, nothing timed."""

from experiments.benchmarks.harness import Result, case_key, reference_pass, regressions, table


def _result(scenario: str, wall_s: float, days: int = 1) -> Result:
    return Result(scenario, "fast", 1000, 960 * days, wall_s, 100.0, {"ticks_per_day": 960})


def test_a_case_more_than_20_percent_slower_than_recorded_is_named():
    # reference 2 s: 25 s is 12.5 x ref against 10 recorded (+25%), 12 s is 6.0 against 5.5 (+9%)
    results = [_result("wuhai_city", 25.0), _result("qingshan_city", 12.0)]
    lines = regressions(results, 2.0, {"wuhai_city:fast:1": 10.0, "qingshan_city:fast:1": 5.5})
    assert lines == ["REGRESSION wuhai_city:fast:1: 12.50 x ref against 10.00 recorded (+25%)"]


def test_exactly_20_percent_is_not_a_regression_and_unrecorded_cases_are_not_compared():
    results = [_result("wuhai_city", 24.0), _result("demo", 99.0)]
    assert regressions(results, 2.0, {"wuhai_city:fast:1": 10.0}) == []


def test_the_key_names_the_days():
    assert case_key(_result("wuhai_city", 1.0, days=7)) == "wuhai_city:fast:7"


def test_the_table_gives_each_wall_time_over_the_reference():
    row = table([_result("wuhai_city", 9.0)], reference_s=3.0).splitlines()[2]
    assert "| 9.0 | 3.00 |" in row


def test_the_reference_pass_runs_on_a_small_size():
    assert reference_pass(residents=1000, ticks=10) > 0


def test_a_run_timed_beside_its_own_reference_is_compared_by_it():
    """x ref of a run measured between two reference passes wins over the suite-wide reference."""
    own = _result("wuhai_city", 30.0)
    own.x_ref = 11.0  # e.g. 30 s between passes of 2.6 and 2.85 s
    assert "| 30.0 | 11.00 |" in table([own], reference_s=2.0).splitlines()[2]
    assert regressions([own], 2.0, {"wuhai_city:fast:1": 10.0}) == []  # 11 against 10: +10%, not 15 x ref (+50%)
    own.x_ref = 12.5
    assert regressions([own], None, {"wuhai_city:fast:1": 10.0}) == [
        "REGRESSION wuhai_city:fast:1: 12.50 x ref against 10.00 recorded (+25%)"
    ]
