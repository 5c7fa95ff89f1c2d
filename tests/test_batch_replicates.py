"""Enough replicates (``replicates = { target_halfwidth, min, max }``), with a fake run of known noise.

The fake run gives ``usage.park.visits = 10 + d · (-1)^seed`` (values alternate ±d about 10), d
set by the mixing of the grid point, so the half-width after n seeds is known by hand:

- d = 0: every value 10, s = 0: met at min = 4 seeds;
- d = 1: after 4 seeds s = √(4/3) = 1.1547 and the half-width t(0.975, 3) · s / 2 = 1.837 > 0.5.
  With that s, N values reach 0.5 first at N = 23 (t(0.975, 21) · s / √22 = 0.5115,
  t(0.975, 22) · s / √23 = 0.4994): round 2 runs seeds 5..23; after 23 seeds (12 odd, 11 even)
  s² = (23 - 1/23) / 22, half-width 2.0739 · 1.02151 / √23 = 0.4417 <= 0.5: met;
- d = 5: the same rule asks for about 530 seeds, capped at max = 30; after 30 seeds
  s = 5 √(30/29), half-width 2.0452 · 5.0855 / √30 = 1.899: not met, stopped by the maximum.

``access.park.mean_min`` is undefined (None) in every fake run: no reason for seeds. The numbers
above are checked here with scipy, not with the module's own functions.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from model.batch import replicates
from model.batch.batch import run_batch
from model.batch.experiment import Replicates, load_experiment
from model.cli import main
from tests.conftest import read_exact_csv, write_small

MIX = "population.mixing"
VISITS = "usage.park.visits"
UNDEFINED = "access.park.mean_min"
NOISE = {0.0: 0.0, 0.5: 1.0, 1.0: 5.0}  # d of each grid point
EXPECTED_SEEDS = {0.0: 4, 0.5: 23, 1.0: 30}  # worked out in the module docstring
PNG = b"\x89PNG\r\n\x1a\n"

EXPERIMENT = f"""
name = "reps"
scenarios = ["small.toml"]
metrics = ["{VISITS}", "{UNDEFINED}"]
replicates = {{ target_halfwidth = 0.5, min = 4, max = 30 }}

[parameters]
"{MIX}" = [0.0, 0.5, 1.0]
"""


def fake_run(spec) -> dict:
    """A run record whose park visits alternate ±d about 10 over the seeds (module level: pool workers import it)."""
    d = NOISE[spec.parameters[MIX]]
    metrics = {VISITS: 10 + d * (-1) ** spec.seed, UNDEFINED: None}
    return {"run_id": spec.run_id, "status": "done", "error": "", "metrics": metrics, "wall_s": 0.0}


def slow_fake_run(spec) -> dict:
    """fake_run, a little slower: a batch that can be killed in its second round."""
    time.sleep(0.03)
    return fake_run(spec)


class Interrupted(BaseException):
    """A stop in the middle of a batch (what Ctrl-C is to the runner: not a failed run)."""


def half_width(values) -> float:
    """The 95% half-width of the mean, by scipy."""
    x = np.asarray(values, dtype=float)
    return stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)


def experiment_in(folder: Path, text: str = EXPERIMENT, name: str = "reps.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_small(folder, residents=60)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def read_csv(path: Path) -> pd.DataFrame:
    return read_exact_csv(path, keep_default_na=False, na_values=[""])


TABLES = ("runs.csv", "results.csv", "summary.csv", "replicates.csv")


# ---------------------------------------------------------------------------------------------
# the rule on hand-worked values


def test_the_hand_worked_numbers_of_the_docstring():
    s = math.sqrt(4 / 3)
    assert half_width([9, 11, 9, 11]) == pytest.approx(stats.t.ppf(0.975, 3) * s / 2) == pytest.approx(1.837, abs=1e-3)
    at = {n: stats.t.ppf(0.975, n - 1) * s / math.sqrt(n) for n in (22, 23)}
    assert at[22] > 0.5 >= at[23]
    assert half_width([10 + (-1) ** seed for seed in range(1, 24)]) == pytest.approx(0.4417, abs=1e-4)
    assert half_width([10 + 5 * (-1) ** seed for seed in range(1, 31)]) == pytest.approx(1.899, abs=1e-3)


def test_assess_met_undefined_and_asking():
    constant = replicates.assess(np.array([3.0, 3.0, 3.0]), 0.01)
    assert (constant.state, constant.n, constant.half_width, constant.wanted) == ("target", 3, 0.0, 3)
    undefined = replicates.assess(np.full(5, np.nan), 0.01)
    assert (undefined.state, undefined.n, undefined.wanted) == ("undefined", 0, 5)
    assert math.isnan(undefined.half_width)
    one = replicates.assess(np.array([np.nan, 5.0, np.nan]), 0.01)
    assert (one.state, one.n, one.wanted) == ("asks", 1, 6)  # no spread yet: twice the seeds
    asks = replicates.assess(np.array([9.0, 11.0, 9.0, 11.0]), 0.5)
    assert (asks.state, asks.n, asks.wanted) == ("asks", 4, 23)
    assert asks.half_width == pytest.approx(half_width([9, 11, 9, 11]), rel=1e-12)
    # 3 defined values of 6 seeds, s = √(4/3) again: 23 values, at one value in two 46 seeds
    sparse = replicates.assess(np.array([2.0, np.nan, 4.0, np.nan, 2.0, np.nan]), 0.5)
    assert (sparse.state, sparse.n, sparse.wanted) == ("asks", 3, 46)
    assert sparse.mean == pytest.approx(8 / 3)
    assert sparse.half_width == pytest.approx(half_width([2, 4, 2]), rel=1e-12)


def test_next_total_is_capped_and_stops_when_every_metric_is_met_or_undefined():
    rule = Replicates(target_halfwidth={"a": 0.5, "b": 0.5}, min_seeds=4, max_seeds=30)
    noisy, calm, none = np.array([9.0, 11.0, 9.0, 11.0]), np.full(4, 2.0), np.full(4, np.nan)
    assert replicates.next_total({"a": noisy, "b": calm}, rule) == 23
    assert replicates.next_total({"a": calm, "b": none}, rule) == 4  # stops
    wide = np.array([5.0, 15.0, 5.0, 15.0])  # asks for hundreds of seeds
    assert replicates.next_total({"a": wide, "b": calm}, rule) == 30
    assert replicates.next_total({"a": np.tile(wide, 8)[:30], "b": calm}, rule) == 30  # at the maximum


# ---------------------------------------------------------------------------------------------
# a whole batch


@pytest.fixture(scope="module")
def experiment(tmp_path_factory) -> Path:
    return experiment_in(tmp_path_factory.mktemp("reps"))


@pytest.fixture(scope="module")
def batch(experiment) -> Path:
    out = experiment.parent / "out"
    counts = run_batch(load_experiment(experiment), out, workers=1, run=fake_run, quiet=True)
    assert counts == {"runs": 57, "done": 57, "failed": 0}
    return out


def test_each_combination_gets_the_seeds_worked_out_by_hand(batch):
    runs = read_csv(batch / "runs.csv")
    assert list(runs.columns[-1:]) == ["round"]  # added at the end, after the existing columns
    assert list(runs.columns[:4]) == ["run_id", "scenario", "seed", MIX]
    for mixing, n in EXPECTED_SEEDS.items():
        mine = runs[runs[MIX] == mixing]
        assert list(mine["seed"]) == list(range(1, n + 1))  # seeds 1, 2, 3, ... in order
        assert list(mine["round"]) == [1 if seed <= 4 else 2 for seed in mine["seed"]]


def test_replicates_csv_says_where_each_combination_stopped_and_why(batch):
    table = read_csv(batch / "replicates.csv")
    assert list(table.columns) == [
        "scenario",
        MIX,
        "metric",
        "seeds",
        "n",
        "mean",
        "half_width",
        "target",
        "met",
        "stopped_by",
    ]
    visits = table[table["metric"] == VISITS].set_index(MIX)
    for mixing, n in EXPECTED_SEEDS.items():
        values = [10 + NOISE[mixing] * (-1) ** seed for seed in range(1, n + 1)]
        row = visits.loc[mixing]
        assert (row["seeds"], row["n"], row["target"]) == (n, n, 0.5)
        assert row["mean"] == pytest.approx(np.mean(values), rel=1e-12)
        assert row["half_width"] == pytest.approx(half_width(values), rel=1e-12, abs=1e-12)
    assert list(visits["met"]) == [True, True, False]
    assert list(visits["stopped_by"]) == ["target", "target", "max"]
    undefined = table[table["metric"] == UNDEFINED]
    assert list(undefined["n"]) == [0, 0, 0]
    assert set(undefined["stopped_by"]) == {"undefined"} and not undefined["met"].any()
    # the same interval as summary.csv's
    summary = read_csv(batch / "summary.csv")
    rows = summary[summary["metric"] == VISITS].set_index(MIX)
    for mixing in (0.5, 1.0):
        half = (rows.loc[mixing, "ci95_high"] - rows.loc[mixing, "ci95_low"]) / 2
        assert visits.loc[mixing, "half_width"] == pytest.approx(half, rel=1e-9)
        assert rows.loc[mixing, "n"] == EXPECTED_SEEDS[mixing]


def test_running_means_and_their_chart(batch, experiment):
    from model.batch.design import build_runs
    from model.batch.replicates import Rounds

    assert (batch / "plots" / f"replicates_{VISITS}.png").read_bytes().startswith(PNG)
    assert (batch / "plots" / f"replicates_{UNDEFINED}.png").read_bytes().startswith(PNG)  # all undefined: drawn empty
    exp = load_experiment(experiment)
    runs, points, _, _ = build_runs(exp, {("small", p): range(1, EXPECTED_SEEDS[m] + 1) for p, m in enumerate(NOISE)})
    members = {}
    for spec in runs:
        members.setdefault((spec.scenario, spec.point), []).append(spec.run_id)
    records = {spec.run_id: fake_run(spec) for spec in runs}
    running = replicates.running_table(Rounds(runs, points, members, records, None), VISITS, [MIX])
    mine = running[running["combination"] == f"small, {MIX} = 0.5"]
    assert list(mine["replicates"]) == list(range(1, 24))
    values = [10 + (-1) ** seed for seed in range(1, 24)]
    for j in (1, 2, 7, 23):
        row = mine[mine["replicates"] == j].iloc[0]
        assert row["mean"] == pytest.approx(np.mean(values[:j]), rel=1e-12)
        if j == 1:
            assert math.isnan(row["half_width"])
        else:
            assert row["half_width"] == pytest.approx(half_width(values[:j]), rel=1e-12)


def test_the_chart_draws_the_first_combinations_and_their_target_bands(tmp_path, monkeypatch):
    """Ten combinations: the first eight are drawn, each with its dashed band at its final mean ± target."""
    import matplotlib.figure

    from model.report.drawing import batch as charts

    drawn = []
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda fig, path, **kw: drawn.append(fig))
    running = pd.DataFrame(
        {
            "combination": [f"c{i}" for i in range(10) for _ in range(3)],
            "replicates": [1, 2, 3] * 10,
            "n": [1, 2, 3] * 10,
            "mean": [v for i in range(10) for v in (i, i + 1.0, i + 0.5)],
            "half_width": [np.nan, 2.0, 0.25] * 10,
        }
    )
    charts.plot_replicates(tmp_path / "chart.png", running, VISITS, 0.3)
    (ax,) = drawn[0].axes
    assert [line.get_label() for line in ax.get_lines()] == [f"c{i}" for i in range(charts.MAX_LINES)]
    assert "first 8 of 10 combinations" in ax.get_title()
    bands = [c for c in ax.collections if c.get_linestyle()[0][1] is not None]  # the dashed ones
    assert len(bands) == charts.MAX_LINES
    for i, band in enumerate(bands):  # two segments from replicate 1 to 3 at the final mean (i + 0.5) ± 0.3
        ends = sorted(np.asarray(seg).ravel().tolist() for seg in band.get_segments())
        assert ends[0] == pytest.approx([1, i + 0.2, 3, i + 0.2])
        assert ends[1] == pytest.approx([1, i + 0.8, 3, i + 0.8])


def test_same_seeds_and_tables_on_a_pool_of_two(batch, experiment):
    out = experiment.parent / "pool"
    run_batch(load_experiment(experiment), out, workers=2, run=fake_run, quiet=True)
    for name in TABLES:
        assert (out / name).read_bytes() == (batch / name).read_bytes(), name


def test_interrupted_in_the_second_round_then_resumed(batch, experiment):
    out = experiment.parent / "interrupted"
    calls = []

    def stops_after_20(spec):
        if len(calls) == 20:
            raise Interrupted
        calls.append(spec.seed)
        return fake_run(spec)

    with pytest.raises(Interrupted):
        run_batch(load_experiment(experiment), out, workers=1, run=stops_after_20, quiet=True)
    assert len(list((out / "runs").glob("*.json"))) == 20  # the 12 of round 1 and 8 of round 2
    assert not (out / "runs.csv").exists()
    again = []

    def counted(spec):
        again.append(spec.seed)
        return fake_run(spec)

    run_batch(load_experiment(experiment), out, workers=1, run=counted, quiet=True)
    assert len(again) == 57 - 20  # only the runs without a record
    for name in TABLES:
        assert (out / name).read_bytes() == (batch / name).read_bytes(), name


def test_kill_minus_nine_in_the_second_round_then_resume(batch, experiment, tmp_path, monkeypatch):
    """The command killed by SIGKILL in its second round, then --resume: the same seeds, the same tables."""
    from model.batch import runner

    out = tmp_path / "killed"
    records = out / "runs"
    script = (
        "import sys; from model.batch import runner; import tests.test_batch_replicates as t; "
        "runner.run_one = t.slow_fake_run; from model.cli import main; "
        f"sys.exit(main(['batch', {str(experiment)!r}, '--workers', '1', '--out', {str(out)!r}, '--quiet']))"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parents[1], stderr=subprocess.PIPE)
    try:
        while proc.poll() is None and len(list(records.glob("*.json"))) < 16:
            time.sleep(0.005)
        assert proc.poll() is None, proc.stderr.read().decode()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stderr.close()
    before = len(list(records.glob("*.json")))
    assert 16 <= before < 57
    assert not (out / "runs.csv").exists()
    monkeypatch.setattr(runner, "run_one", fake_run)
    assert main(["batch", str(experiment), "--workers", "1", "--out", str(out), "--resume", "--quiet"]) == 0
    assert len(list(records.glob("*.json"))) == 57
    for name in TABLES:
        assert (out / name).read_bytes() == (batch / name).read_bytes(), name


def test_fixed_seeds_have_no_round_column_and_no_replicates_table(experiment, tmp_path):
    fixed = experiment_in(
        tmp_path, EXPERIMENT.replace("replicates = { target_halfwidth = 0.5, min = 4, max = 30 }", "replicates = 3")
    )
    run_batch(load_experiment(fixed), tmp_path / "out", workers=1, run=fake_run, quiet=True)
    runs = read_csv(tmp_path / "out" / "runs.csv")
    assert "round" not in runs.columns and len(runs) == 9
    assert not (tmp_path / "out" / "replicates.csv").exists()


# ---------------------------------------------------------------------------------------------
# the file


def reps_file(rule: str, metrics: str = f'["{VISITS}", "{UNDEFINED}"]') -> str:
    return f'name = "reps"\nscenarios = ["small.toml"]\nmetrics = {metrics}\nreplicates = {rule}\n'


def test_one_target_for_every_listed_metric_or_a_table_of_some(tmp_path):
    every = load_experiment(experiment_in(tmp_path, reps_file("{ target_halfwidth = 0.2, max = 40 }")))
    assert every.adaptive == Replicates(target_halfwidth={VISITS: 0.2, UNDEFINED: 0.2}, min_seeds=5, max_seeds=40)
    assert every.seeds == (1, 2, 3, 4, 5)  # the first round: min (default 5) seeds
    some = load_experiment(
        experiment_in(tmp_path, reps_file(f'{{ target_halfwidth = {{ "{VISITS}" = 3 }}, min = 2, max = 9 }}'))
    )
    assert some.adaptive == Replicates(target_halfwidth={VISITS: 3.0}, min_seeds=2, max_seeds=9)
    assert some.seeds == (1, 2)
    assert load_experiment(experiment_in(tmp_path, reps_file("7"))).adaptive is None  # replicates = N as before


BAD = {
    "no_metrics": (reps_file("{ target_halfwidth = 0.5, max = 30 }", "[]"), ["metrics:", "list of metrics"]),
    "min_below_two": (reps_file("{ target_halfwidth = 0.5, min = 1, max = 30 }"), ["replicates.min:", "at least 2"]),
    "max_below_min": (
        reps_file("{ target_halfwidth = 0.5, min = 8, max = 6 }"),
        ["replicates.max:", "at least min (8)"],
    ),
    "max_above_limit": (reps_file("{ target_halfwidth = 0.5, max = 20000 }"), ["replicates.max:", "10,000"]),
    "no_max": (reps_file("{ target_halfwidth = 0.5 }"), ["replicates.max:", "required"]),
    "no_target": (reps_file("{ max = 30 }"), ["replicates.target_halfwidth:", "required"]),
    "target_zero": (reps_file("{ target_halfwidth = 0, max = 30 }"), ["replicates.target_halfwidth:", "positive"]),
    "target_negative": (
        reps_file(f'{{ target_halfwidth = {{ "{VISITS}" = -0.1 }}, max = 30 }}'),
        [f'replicates.target_halfwidth."{VISITS}":', "positive"],
    ),
    "unlisted_metric": (
        reps_file('{ target_halfwidth = { "usage.park.visit" = 0.1 }, max = 30 }'),
        ['replicates.target_halfwidth."usage.park.visit":', f"did you mean '{VISITS}'"],
    ),
    "unknown_key": (
        reps_file("{ target_halfwidth = 0.5, mx = 30, max = 30 }"),
        ["replicates.mx:", "did you mean 'max'"],
    ),
    "integer_min": (reps_file("{ target_halfwidth = 0.5, min = 4.5, max = 30 }"), ["replicates.min:", "4.5"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_replicates_are_refused(case, tmp_path, monkeypatch, capsys):
    text, words = BAD[case]
    path = experiment_in(tmp_path, text, f"{case}.toml")
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["batch", str(path), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err and all(line.startswith(f"{case}.toml: ") for line in err.splitlines()), err
    for word in words:
        assert word in err, (word, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written
