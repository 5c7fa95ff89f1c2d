"""Sensitivity that cannot mislead (issue 21 item 1), checked without the model where it is not needed.

- the minimum design sizes, worked by hand from the stated rules; a smaller design refused (exit 2,
  file and key, the minimum, nothing written) unless ``allow_small = true`` (then a warning);
- the flags of sensitivity.csv on hand-made index tables;
- the seeds' share of the variance against a computation written out here with numpy;
- sensitivity.csv's new columns and the announcement before the runs, on a run function that
  costs nothing (a known function of the parameters plus a known noise per seed);
- ``--check-convergence``: the design at 2N begins with the design at N (SALib, same seed), its
  runs are reused, and convergence.csv holds the indices of both designs, the 2N ones recomputed
  here with SALib on the known function;
- the Sobol' chart keeps its axis to shares of variance and marks the flagged parameters.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from model.batch import sensitivity as sa
from model.batch import sizes
from model.batch.batch import check_convergence, run_batch
from model.batch.design import build_runs
from model.batch.experiment import load_experiment
from model.cli import main
from tests.conftest import read_exact_csv, write_small

MIX = "population.mixing"
CAP = "facility_types.park.capacity"
CALLS: list[str] = []  # run ids the fake run function was asked for (runs in this process: workers = 1)


def noise(seed: int) -> float:
    """A known noise per seed, the same at every design point."""
    return ((seed * 7919) % 13) / 13.0


def known(parameters: dict) -> float:
    """y without noise: non-linear in mixing, with an interaction (so that Morris' indices move with N)."""
    mix, cap = parameters[MIX], parameters[CAP]
    return 3.0 * mix**2 + 0.05 * cap + 0.02 * mix * cap


def fake_run(spec) -> dict:
    """A run record of a known function of the parameters plus the seed's noise (:func:`known`); z: the noise only."""
    CALLS.append(spec.run_id)
    y = known(spec.parameters) + noise(spec.seed)
    return {
        "run_id": spec.run_id,
        "status": "done",
        "error": "",
        "metrics": {"fake.y": y, "fake.z": noise(spec.seed)},
        "wall_s": 0.0,
    }


def experiment_file(folder, body: str, name: str = "sens.toml"):
    folder.mkdir(parents=True, exist_ok=True)
    write_small(folder, residents=60)
    path = folder / name
    path.write_text(
        f'name = "sens"\nscenarios = ["small.toml"]\nmetrics = ["fake.y", "fake.z"]\n{body}', encoding="utf-8"
    )
    return path


def design(method: str, size: int | None, seeds: str = "[1, 2, 3]", extra: str = "") -> str:
    key = "trajectories" if method == "morris" else "samples"
    n = f"{key} = {size}\n" if size is not None else ""
    return (
        f'seeds = {seeds}\n[sensitivity]\nmethod = "{method}"\n{n}{extra}[sensitivity.parameters]\n'
        f'"{CAP}" = {{ min = 2, max = 40 }}\n"{MIX}" = {{ min = 0.0, max = 1.0 }}\n'
    )


# ---------------------------------------------------------------------------------------------
# 1. minimum sizes and the refusal


def test_minimum_sizes_worked_by_hand():
    assert sizes.minimum_size("morris", 2) == sizes.minimum_size("morris", 15) == 10
    # Sobol': the smallest power of 2 N with N (k + 2) >= 5,000 k
    assert sizes.minimum_size("sobol", 1) == 2048  # 5,000 / 3 = 1,667 -> 2,048
    assert sizes.minimum_size("sobol", 2) == 4096  # 10,000 / 4 = 2,500 -> 4,096
    assert sizes.minimum_size("sobol", 6) == 4096  # 30,000 / 8 = 3,750 -> 4,096
    assert sizes.minimum_size("sobol", 14) == 8192  # 70,000 / 16 = 4,375 -> 8,192
    assert sizes.why_small("sobol", 4096, 2) is None and sizes.why_small("sobol", 2048, 2)


@pytest.mark.parametrize(
    ("method", "size", "key", "words"),
    [
        ("sobol", 8, "sensitivity.samples", ["below the minimum of 4,096", "2 parameter", "allow_small"]),
        ("sobol", 2, "sensitivity.samples", ["4,096"]),
        ("morris", 4, "sensitivity.trajectories", ["below the minimum of 10", "allow_small"]),
    ],
)
def test_a_small_design_is_refused(tmp_path, monkeypatch, capsys, method, size, key, words):
    path = experiment_file(tmp_path, design(method, size))
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["batch", str(path), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith(f"sens.toml: {key}: "), err
    for word in words:
        assert word in err, (word, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_default_sobol_samples_are_the_minimum_and_allow_small_must_be_a_boolean(tmp_path):
    assert load_experiment(experiment_file(tmp_path / "a", design("sobol", None))).sensitivity.samples == 4096
    assert load_experiment(experiment_file(tmp_path / "b", design("morris", None))).sensitivity.trajectories == 10
    bad = experiment_file(tmp_path / "c", design("sobol", 8, extra='allow_small = "yes"\n'))
    with pytest.raises(Exception, match=r"sensitivity.allow_small: must be true or false"):
        load_experiment(bad)


def test_the_bundled_sensitivity_experiment_loads():
    from tests.conftest import ROOT

    experiment = load_experiment(ROOT / "experiments" / "care_sensitivity.toml")
    assert experiment.sensitivity.trajectories >= sizes.MIN_TRAJECTORIES


# ---------------------------------------------------------------------------------------------
# 2. flags on hand-made tables


def test_sobol_flags():
    table = pd.DataFrame(
        [
            {"S1": 0.5, "S1_conf": 0.1, "ST": 0.6, "ST_conf": 0.1},  # fine
            {"S1": -0.05, "S1_conf": 0.1, "ST": 0.1, "ST_conf": 0.1},  # negative but 0 inside the interval
            {"S1": -0.3, "S1_conf": 0.1, "ST": 0.1, "ST_conf": 0.1},  # below 0 beyond its interval
            {"S1": 2.08, "S1_conf": 0.5, "ST": 2.0, "ST_conf": 0.3},  # both above 1
            {"S1": 0.71, "S1_conf": 0.05, "ST": 0.56, "ST_conf": 0.05},  # ST below S1 beyond both
            {"S1": 0.71, "S1_conf": 0.1, "ST": 0.56, "ST_conf": 0.1},  # ST below S1 within them
            {"S1": math.nan, "S1_conf": math.nan, "ST": math.nan, "ST_conf": math.nan},
        ]
    )
    got = list(sa.flags(table, "sobol"))
    assert got[0] == got[1] == got[5] == got[6] == ""
    assert got[2] == "S1 below 0 beyond its interval"
    assert got[3] == "S1 above 1 beyond its interval; ST above 1 beyond its interval"
    assert got[4] == "ST below S1 beyond their intervals"


def test_morris_flags():
    table = pd.DataFrame(
        [
            {"mu_star": 1.0, "mu_star_conf": 0.2},
            {"mu_star": 0.1, "mu_star_conf": 0.3},
            {"mu_star": 0.0, "mu_star_conf": 0.0},  # a parameter that changes nothing: ranked last, not flagged
        ]
    )
    cannot = "mu_star_conf above mu_star: the screen cannot rank this parameter"
    assert list(sa.flags(table, "morris")) == ["", cannot, ""]


# ---------------------------------------------------------------------------------------------
# 3. seed noise against numpy


def test_seed_noise_share_against_numpy():
    rng = np.random.default_rng(7)
    points, seeds = 9, 4
    level = rng.normal(0, 3, points)
    y = level[:, None] + rng.normal(0, 1, (points, seeds))  # one row per point, one column per seed
    y[2, 1] = np.nan  # a run without a value: left out
    rows = [r[np.isfinite(r)] for r in y]
    within = np.mean([np.sum((r - r.mean()) ** 2) / (len(r) - 1) for r in rows])
    flat = np.concatenate(rows)
    total = np.sum((flat - flat.mean()) ** 2) / (len(flat) - 1)
    means = np.array([r.mean() for r in rows])
    between = np.sum((means - means.mean()) ** 2) / (points - 1)
    n = np.mean([len(r) for r in rows])
    share, in_means = sa.seed_noise(list(y))
    assert share == pytest.approx(within / total, rel=1e-12)
    assert in_means == pytest.approx(within / n / between, rel=1e-12)
    assert 0 < share < 1 and in_means < share


def test_seed_noise_is_nan_with_one_seed_and_one_without_spread():
    assert all(math.isnan(v) for v in sa.seed_noise([np.array([1.0]), np.array([2.0])]))
    # seeds only: W = (0.5 + 0.5) / 2 = 0.5; T = 4 x 0.25 / 3 = 1/3 (each n - 1): 1.5, above 1 by
    # sampling error, as the docs say; the point means do not vary, so their noise share is undefined
    share, in_means = sa.seed_noise([np.array([0.0, 1.0]), np.array([0.0, 1.0])])
    assert share == pytest.approx(1.5)
    assert math.isnan(in_means)


# ---------------------------------------------------------------------------------------------
# 4. a whole batch on the fake run function


@pytest.fixture(scope="module")
def morris_batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("morris")
    path = experiment_file(folder, design("morris", 10))
    experiment = load_experiment(path)
    CALLS.clear()
    run_batch(experiment, folder / "out", workers=1, run=fake_run, quiet=True)
    return experiment, folder / "out"


def test_sensitivity_csv_records_the_design_and_the_seed_noise(morris_batch):
    experiment, out = morris_batch
    table = read_exact_csv(out / "sensitivity.csv", keep_default_na=False, na_values=[""])
    assert list(table.columns) == [
        *("parameter", "metric", "mu_star", "mu_star_conf", "sigma", "mu", "scenario"),
        *("method", "N", "minimum_N", "seeds_per_point", "design_points"),
        *("seed_variance_share", "seed_noise_in_means", "flag"),
    ]
    assert set(table["method"]) == {"morris"} and set(table["N"]) == {10} and set(table["seeds_per_point"]) == {3}
    assert set(table["minimum_N"]) == {10}  # Morris: 10 trajectories whatever the number of parameters
    assert set(table["design_points"]) == {10 * (2 + 1)}
    # the seeds' share recomputed from results.csv: one variance per distinct point
    results = read_exact_csv(out / "results.csv")
    for metric in ("fake.y", "fake.z"):
        rows = results[results["metric"] == metric]
        groups = [g["value"].to_numpy() for _, g in rows.groupby([CAP, MIX], sort=False)]
        within = np.mean([np.var(g, ddof=1) for g in groups])
        total = np.var(rows["value"].to_numpy(), ddof=1)
        got = table.loc[table["metric"] == metric, "seed_variance_share"]
        assert np.allclose(got, within / total, rtol=1e-12)
    # z is the seeds' noise alone (about all of its variance); y is mostly the parameters'
    assert table.loc[table["metric"] == "fake.z", "seed_variance_share"].iloc[0] > 0.9
    assert table.loc[table["metric"] == "fake.y", "seed_variance_share"].iloc[0] < 0.2
    # z does not depend on the parameters: mu_star 0, not flagged (nothing to rank)
    assert (table.loc[table["metric"] == "fake.z", "mu_star"] == 0).all()
    assert table["flag"].isna().all()  # written empty: nothing flagged


def test_announce_times_the_first_run_and_keeps_it(tmp_path, capsys):
    path = experiment_file(tmp_path, design("morris", 10, seeds="[1, 2]"))
    experiment = load_experiment(path)
    runs = build_runs(experiment)[0]
    CALLS.clear()
    run_batch(experiment, tmp_path / "out", workers=2, run=fake_run, quiet=False)
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith(f"sens: {len(runs):,} runs; timing the first of the {len(runs):,} to run"), err
    assert f"the other {len(runs) - 1:,} on 2 worker(s): about" in err
    assert "(an estimate from one run)" in err
    assert CALLS == [runs[0].run_id]  # the first, here; the other runs in the pool's processes
    # every run has its progress line, the first numbered among the batch's (stderr is not a terminal)
    lines = [line for line in err.splitlines() if line.startswith("run ")]
    assert len(lines) == len(runs) and lines[0].startswith(f"run 1/{len(runs)} {runs[0].run_id}")
    assert len(list((tmp_path / "out" / "runs").glob("*.json"))) == len(runs)
    # resumed with everything recorded: said so, nothing run
    CALLS.clear()
    run_batch(experiment, tmp_path / "out", workers=1, run=fake_run, quiet=False)
    assert f"sens: {len(runs):,} runs, {len(runs):,} already recorded: nothing left to run" in capsys.readouterr().err
    assert CALLS == []
    # quiet: no announcement
    run_batch(experiment, tmp_path / "out", workers=1, run=fake_run, quiet=True)
    assert capsys.readouterr().err == ""


def test_allow_small_warns_even_when_quiet(tmp_path, capsys):
    path = experiment_file(tmp_path, design("morris", 4, extra="allow_small = true\n"))
    run_batch(load_experiment(path), tmp_path / "out", workers=1, run=fake_run, quiet=True)
    err = capsys.readouterr().err
    assert err.startswith("lifecircle batch: warning: sensitivity.trajectories: 4 trajectories is below the minimum")


# ---------------------------------------------------------------------------------------------
# 5. convergence


@pytest.mark.parametrize("method", ["morris", "sobol"])
def test_the_design_at_2n_begins_with_the_design_at_n(tmp_path, method):
    import dataclasses

    experiment = load_experiment(experiment_file(tmp_path, design(method, 8, extra="allow_small = true\n")))
    s = experiment.sensitivity
    doubled = dataclasses.replace(s, **{sizes.size_key(method): 16})
    small, large = sa.sample(s), sa.sample(doubled)
    assert len(large) == 2 * len(small)
    assert np.array_equal(large[: len(small)], small)


def test_check_convergence(tmp_path, capsys):
    path = experiment_file(tmp_path, design("morris", 4, extra="allow_small = true\n"))
    experiment = load_experiment(path)
    out = tmp_path / "out"
    CALLS.clear()
    counts = check_convergence(experiment, out, workers=1, run=fake_run, quiet=True)
    runs_n = build_runs(experiment)[0]
    import dataclasses

    doubled = dataclasses.replace(experiment, sensitivity=dataclasses.replace(experiment.sensitivity, trajectories=8))
    runs_2n, points, design_2n, members = build_runs(doubled)
    assert {r.run_id for r in runs_n} <= {r.run_id for r in runs_2n}  # N's runs are 2N's
    assert sorted(CALLS) == sorted(r.run_id for r in runs_2n)  # every run once: N's not run again
    assert counts == {"runs": len(runs_2n), "done": len(runs_2n), "failed": 0}
    table = read_exact_csv(out / "convergence.csv")
    assert list(table.columns) == ["scenario", "parameter", "metric", "index", "value_N", "value_2N", "change"]
    assert len(table) == 2 * 2 * 3  # parameters x metrics x (mu_star, sigma, mu)
    assert np.allclose(table["change"], table["value_2N"] - table["value_N"], rtol=0, atol=1e-15)
    # value_N is sensitivity.csv's; value_2N is SALib's Morris on the known function at 2N's seed means
    at_n = read_exact_csv(out / "sensitivity.csv").set_index(["parameter", "metric"])
    from SALib.analyze import morris

    seeds_mean = np.mean([noise(s) for s in experiment.seeds])
    y = np.array([known(p) + seeds_mean for p in points])
    expected = morris.analyze(sa.problem(doubled.sensitivity), design_2n, y, num_levels=4, seed=1)
    for _, r in table[table["metric"] == "fake.y"].iterrows():
        assert r["value_N"] == at_n.loc[(r["parameter"], "fake.y"), r["index"]]
        i = list(expected["names"]).index(r["parameter"])
        assert r["value_2N"] == pytest.approx(float(expected[r["index"]][i]), rel=1e-9, abs=1e-12)
    assert (table["change"].abs() > 1e-6).any()  # the known function's effects differ along the trajectories
    printed = capsys.readouterr().out
    for index in ("mu_star", "sigma", "mu"):
        assert f"largest change of {index}:" in printed


def test_check_convergence_needs_a_sensitivity_design(tmp_path, monkeypatch, capsys):
    path = experiment_file(tmp_path, 'seeds = [1]\n[parameters]\n"population.mixing" = [0.0, 1.0]\n')
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["batch", str(path), "--workers", "1", "--check-convergence"]) == 2
    err = capsys.readouterr().err
    assert "--check-convergence" in err and "[sensitivity]" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# ---------------------------------------------------------------------------------------------
# 6. the Sobol' chart


def test_sobol_chart_keeps_to_shares_and_marks_the_flags(tmp_path, monkeypatch):
    from model.report.drawing import batch as charts

    table = pd.DataFrame(
        {
            "parameter": ["a", "b"],
            "metric": ["m", "m"],
            "S1": [2.08, 0.2],
            "S1_conf": [0.3, 0.05],
            "ST": [1.83, 0.3],
            "ST_conf": [0.2, 0.05],
            "N": [2, 2],
            "seeds_per_point": [3, 3],
            "seed_variance_share": [0.25, 0.25],
            "seed_noise_in_means": [0.1, 0.1],
        }
    )
    table["flag"] = sa.flags(table, "sobol")
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    charts.plot_sobol(tmp_path / "sobol.png", table, "m")
    (fig,) = figures
    ax = fig.axes[0]
    assert ax.get_ylim()[1] <= 1.1  # no bar above 1 is drawn as a share
    texts = [t.get_text() for t in ax.texts]
    assert "2.08" in texts and "1.83" in texts  # the estimates cut at the axis are written there
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("flagged:") for t in legend)
    assert "seeds alone: 25% of single-run variance" in ax.get_title()
    assert "estimation error" in ax.get_ylabel()
    assert (tmp_path / "sobol.png").read_bytes().startswith(b"\x89PNG")
    plt.close("all")


def test_morris_chart_marks_what_it_cannot_rank(tmp_path, monkeypatch):
    from model.report.drawing import batch as charts

    table = pd.DataFrame(
        {
            "parameter": ["a", "b"],
            "metric": ["m", "m"],
            "mu_star": [1.0, 0.1],
            "mu_star_conf": [0.2, 0.3],
            "sigma": [0.5, 0.1],
            "mu": [1.0, 0.0],
            "N": [10, 10],
            "seeds_per_point": [1, 1],
            "seed_variance_share": [math.nan, math.nan],
            "seed_noise_in_means": [math.nan, math.nan],
        }
    )
    table["flag"] = sa.flags(table, "morris")
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    charts.plot_morris(tmp_path / "morris.png", table, "m")
    (fig,) = figures
    ax = fig.axes[0]
    assert "interval wider than mu*: cannot be ranked" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert "seed noise unknown (one seed per point)" in ax.get_title()
    plt.close("all")


def test_sensitivity_charts_draw_in_chinese_with_every_glyph(tmp_path):
    import warnings

    from model.report import lang
    from model.report.drawing import batch as charts

    table = pd.DataFrame(
        {
            "parameter": ["a"],
            "metric": ["m"],
            "S1": [1.5],
            "S1_conf": [0.1],
            "ST": [1.4],
            "ST_conf": [0.1],
            "N": [8],
            "seeds_per_point": [3],
            "seed_variance_share": [0.2],
            "seed_noise_in_means": [0.05],
        }
    )
    table["flag"] = sa.flags(table, "sobol")
    assert table["flag"].iloc[0]
    lang.use("zh")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a glyph the fonts lack is a warning
            charts.plot_sobol(tmp_path / "sobol.png", table, "m")
    finally:
        lang.use()
    assert (tmp_path / "sobol.png").read_bytes().startswith(b"\x89PNG")


def test_sobol_bootstrap_is_seeded_also_with_seed_0():
    """SALib's sobol.analyze reads seed 0 as "no seed"; the analysis passes a Generator instead."""
    from model.batch.experiment import Bounds, Sensitivity

    s = Sensitivity(method="sobol", parameters={"a": Bounds(0, 1), "b": Bounds(0, 1)}, samples=64, seed=0)
    x = sa.sample(s)
    y = {"m": x[:, 0] + 0.5 * x[:, 1] ** 2}
    first = sa.analyze(s, x, y)
    np.random.seed(12345)  # numpy's global state, which an unseeded bootstrap would draw from
    np.random.random(1000)
    again = sa.analyze(s, x, y)
    pd.testing.assert_frame_equal(first, again)
